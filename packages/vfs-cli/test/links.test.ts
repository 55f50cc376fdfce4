import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, cli, storeUrl, tempDir } from './helpers.js';

/** The links of the imported tree, name -> target (made on the host, brought in by a tar archive). */
const LINKS: Record<string, string> = {
  rel: 'dir/file',
  abs: '/t/dir/file',
  'to-dir': 'dir',
  dangling: 'nowhere',
  loop1: 'loop2',
  loop2: 'loop1',
  'dir/up': '../rel',
};
const targetBytes = Object.values(LINKS).reduce((sum, t) => sum + Buffer.byteLength(t), 0);

// Symbolic links through every store command, on every persistent backend (real processes).
describe.each(BACKENDS)('symbolic links: %s', (backend) => {
  let dir: string;
  let url: string;
  const run = (...args: string[]) => cli(args, { cwd: dir });

  beforeAll(async () => {
    dir = await tempDir();
    url = storeUrl(backend);
    await mkdir(join(dir, 'src/dir'), { recursive: true });
    await writeFile(join(dir, 'src/dir/file'), 'hello');
    for (const [name, target] of Object.entries(LINKS)) await symlink(target, join(dir, 'src', name));
    execFileSync('tar', ['-cf', join(dir, 'links.tar'), '-C', join(dir, 'src'), '.']);
    expect(await run('import', url, 'links.tar', '/t')).toMatchObject({ code: 0, stderr: '' });
  });

  it('ls, stat, tree and du show links as links, with their targets', async () => {
    const long = await run('ls', '-l', url, '/t');
    expect(long.code).toBe(0);
    expect(long.stdout).toMatch(/^l +8 \d{4}-\d\d-\d\d \d\d:\d\d rel -> dir\/file$/m);
    expect(long.stdout).toMatch(/^l +3 .* to-dir -> dir$/m);
    expect(long.stdout).toMatch(/^d +0 .* dir\/$/m);
    expect((await run('ls', url, '/t')).stdout).toBe('abs\ndangling\ndir/\nloop1\nloop2\nrel\nto-dir\n');
    // A link named itself is shown as itself, never as what it points to.
    expect((await run('ls', '-l', url, '/t/to-dir')).stdout).toMatch(/^l +3 .* \/t\/to-dir -> dir\n$/);
    const json = JSON.parse((await run('ls', '--json', url, '/t/dir')).stdout);
    expect(json.entries).toEqual([
      { name: 'file', kind: 'file', size: 5 },
      { name: 'up', kind: 'symlink', size: 6, target: '../rel' },
    ]);

    const stat = await run('stat', url, '/t/rel');
    expect(stat.stdout).toMatch(/^ +path: \/t\/rel\n +kind: symlink\n +target: dir\/file\n +size: 8\n/);
    expect(JSON.parse((await run('stat', '--json', url, '/t/dangling')).stdout)).toMatchObject({
      kind: 'symlink',
      size: 7,
      target: 'nowhere',
    });

    const tree = (await run('tree', url, '/t')).stdout;
    expect(tree).toContain('├── abs -> /t/dir/file\n');
    expect(tree).toContain('│   └── up -> ../rel\n');
    expect(tree).toContain('└── to-dir -> dir\n');
    expect(tree).toMatch(/\n1 directory, 8 files\n$/);

    expect(JSON.parse((await run('du', '--json', url, '/t')).stdout)).toEqual({
      path: '/t',
      bytes: 5 + targetBytes,
      files: 8,
      directories: 1,
    });
  });

  it('cat follows links within the store: relative, absolute, chains, directories on the way', async () => {
    for (const path of ['/t/rel', '/t/abs', '/t/dir/up', '/t/to-dir/file', '/t/to-dir/../rel']) {
      const result = await run('cat', url, path);
      expect(result, path).toMatchObject({ code: 0, stdout: 'hello' });
    }
    expect((await run('cp', '--from', url, '/t/dir/up', '-')).stdout).toBe('hello');
    const dangling = await run('cat', url, '/t/dangling');
    expect(dangling.code).toBe(3);
    expect(dangling.stderr).toMatch(/^eryx-vfs: cat: \/t\/dangling: no such file or directory: \/t\/nowhere/);
    const loop = await run('cat', url, '/t/loop1');
    expect(loop.code).toBe(1);
    expect(loop.stderr).toMatch(/^eryx-vfs: cat: \/t\/loop1: too many levels of symbolic links/);
    expect((await run('cat', url, '/t/to-dir')).code).toBe(1);
  });

  it('cp and mv keep links as links, between stores and to the host', async () => {
    const other = storeUrl(backend);
    expect(await run('cp', '-r', '--from', url, '--to', other, '/t', '/copy')).toMatchObject({ code: 0 });
    for (const [name, target] of Object.entries(LINKS)) {
      const stat = JSON.parse((await run('stat', '--json', other, `/copy/${name}`)).stdout);
      expect(stat, name).toMatchObject({ kind: 'symlink', target });
    }
    expect((await run('cat', other, '/copy/to-dir/file')).stdout).toBe('hello');
    // One link, replacing a file; then moved to another store.
    await writeFile(join(dir, 'plain.txt'), 'plain');
    expect((await run('cp', '--to', other, 'plain.txt', '/copy/plain')).code).toBe(0);
    expect((await run('cp', '--from', url, '--to', other, '/t/rel', '/copy/plain')).code).toBe(0);
    expect(JSON.parse((await run('stat', '--json', other, '/copy/plain')).stdout).target).toBe('dir/file');
    expect((await run('mv', '--from', other, '--to', url, '/copy/plain', '/t/moved')).code).toBe(0);
    expect(JSON.parse((await run('stat', '--json', url, '/t/moved')).stdout).target).toBe('dir/file');
    expect((await run('stat', other, '/copy/plain')).code).toBe(3);
    expect((await run('rm', url, '/t/moved')).code).toBe(0);

    expect((await run('cp', '-r', '--from', url, '/t', 'back')).code).toBe(0);
    expect(readlinkSync(join(dir, 'back/rel'))).toBe('dir/file');
    expect(readlinkSync(join(dir, 'back/dangling'))).toBe('nowhere');
    expect(lstatSync(join(dir, 'back/to-dir')).isSymbolicLink()).toBe(true);
  });

  it('export writes symlink entries and import brings them back as links', async () => {
    expect((await run('export', '-o', 'out.tar', url, '/t')).code).toBe(0);
    const listed = execFileSync('tar', ['-tvf', join(dir, 'out.tar')], { encoding: 'utf8' });
    expect(listed).toMatch(/^lrwxrwxrwx .* rel -> dir\/file$/m);
    const other = storeUrl(backend);
    expect(await run('import', other, 'out.tar', '/in')).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse((await run('stat', '--json', other, '/in/dir/up')).stdout).target).toBe('../rel');
    expect((await run('cat', other, '/in/dir/up')).stdout).toBe('hello');
  });

  it('rm removes a link, never its target; a file copied onto a link is refused', async () => {
    await writeFile(join(dir, 'f.txt'), 'f');
    const onto = await run('cp', '--to', url, 'f.txt', '/t/rel');
    expect(onto.code).toBe(1);
    expect(onto.stderr).toMatch(/^eryx-vfs: cp: \/t\/rel: is a symbolic link — .*rm removes only the link/);
    expect((await run('cat', url, '/t/dir/file')).stdout).toBe('hello');

    expect((await run('rm', url, '/t/to-dir', '/t/rel')).code).toBe(0);
    expect((await run('stat', url, '/t/to-dir')).code).toBe(3);
    expect((await run('cat', url, '/t/dir/file')).stdout).toBe('hello');
    expect((await run('rm', '-r', url, '/t/dir')).code).toBe(0);
    // The link that pointed into it is left, dangling now.
    expect(JSON.parse((await run('stat', '--json', url, '/t/abs')).stdout).target).toBe('/t/dir/file');
    expect((await run('cat', url, '/t/abs')).code).toBe(3);
    expect(existsSync(join(dir, 'src/dir/file'))).toBe(true);
  });
});
