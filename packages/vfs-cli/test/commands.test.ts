import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, cli, storeUrl, tempDir } from './helpers.js';

// Every store command, spawned as a real process, on every persistent backend.
describe.each(BACKENDS)('%s', (backend) => {
  let dir: string;
  let url: string;
  const big = randomBytes(3 * 1024 * 1024 + 17); // more than one 1 MiB chunk: streamed, temp + rename
  const run = (...args: string[]) => cli(args, { cwd: dir });

  beforeAll(async () => {
    dir = await tempDir();
    url = storeUrl(backend);
    await mkdir(join(dir, 'src/sub/empty'), { recursive: true });
    await writeFile(join(dir, 'src/a.txt'), 'alpha\n');
    await writeFile(join(dir, 'src/sub/b.bin'), big);
  });

  it('mkdir -p, cp -r host -> store, ls, ls -l, ls --json, tree, cat, stat --json, du --json', async () => {
    expect(await run('mkdir', '-p', url, '/data/x/y')).toMatchObject({ code: 0, stderr: '' });
    expect(await run('cp', '-r', '--to', url, 'src', '/data')).toMatchObject({ code: 0, stderr: '' });

    expect((await run('ls', url, '/data')).stdout).toBe('src/\nx/\n');
    const long = await run('ls', '-l', url, '/data/src');
    expect(long.code).toBe(0);
    expect(long.stdout).toMatch(
      /^- +6 \d{4}-\d\d-\d\d \d\d:\d\d a\.txt\nd +0 \d{4}-\d\d-\d\d \d\d:\d\d sub\/\n$/,
    );
    const json = JSON.parse((await run('ls', '--json', url, '/data/src/sub')).stdout);
    expect(json).toEqual({
      path: '/data/src/sub',
      kind: 'directory',
      entries: [
        { name: 'b.bin', kind: 'file', size: big.length },
        { name: 'empty', kind: 'directory', size: 0 },
      ],
    });

    const tree = await run('tree', url, '/data');
    expect(tree.stdout).toBe(
      [
        '/data/',
        '├── src/',
        '│   ├── a.txt',
        '│   └── sub/',
        '│       ├── b.bin',
        '│       └── empty/',
        '└── x/',
        '    └── y/',
        '',
        '5 directories, 2 files',
        '',
      ].join('\n'),
    );

    expect((await run('cat', url, '/data/src/a.txt', 'data/src/a.txt')).stdout).toBe('alpha\nalpha\n');
    expect((await run('cat', url, '/data/src/sub/b.bin')).bytes.equals(big)).toBe(true);

    const stat = JSON.parse((await run('stat', '--json', url, '/data/src/sub/b.bin')).stdout);
    expect(stat).toMatchObject({ path: '/data/src/sub/b.bin', kind: 'file', size: big.length });
    expect(Date.parse(stat.modified)).toBeGreaterThan(Date.now() - 10 * 60_000);
    expect((await run('stat', url, '/data/src')).stdout).toMatch(/^ +path: \/data\/src\n +kind: directory\n/);

    expect(JSON.parse((await run('du', '--json', url, '/data')).stdout)).toEqual({
      path: '/data',
      bytes: 6 + big.length,
      files: 2,
      directories: 5,
    });
    expect((await run('du', '-b', url, '/data/src')).stdout).toBe(
      `${6 + big.length}\t2 files\t2 directories\t/data/src\n`,
    );
  });

  it('cp store -> host (file, -r tree, stdout), cp stdin -> store', async () => {
    expect((await run('cp', '--from', url, '/data/src/sub/b.bin', 'out.bin')).code).toBe(0);
    expect((await readFile(join(dir, 'out.bin'))).equals(big)).toBe(true);

    expect((await run('cp', '-r', '--from', url, '/data/src', 'back')).code).toBe(0);
    expect(await readFile(join(dir, 'back/a.txt'), 'utf8')).toBe('alpha\n');
    expect((await readFile(join(dir, 'back/sub/b.bin'))).equals(big)).toBe(true);
    expect(existsSync(join(dir, 'back/sub/empty'))).toBe(true);

    expect((await run('cp', '--from', url, '/data/src/a.txt', '-')).stdout).toBe('alpha\n');
    expect(
      (await cli(['cp', '--to', url, '-', '/data/stdin.txt'], { cwd: dir, input: 'from stdin' })).code,
    ).toBe(0);
    expect((await run('cat', url, '/data/stdin.txt')).stdout).toBe('from stdin');

    // Without -r a directory is refused (exit 1), and nothing is written.
    const refused = await run('cp', '--from', url, '/data/src', 'nope');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^eryx-vfs: cp: \/data\/src: is a directory — use cp -r/);
    expect(existsSync(join(dir, 'nope'))).toBe(false);
  });

  it('mv within the store, store -> host, host -> store', async () => {
    expect((await run('cp', '-r', '--to', url, 'src', '/moving')).code).toBe(0);
    expect((await run('mv', '--from', url, '--to', url, '/moving/a.txt', '/data/x')).code).toBe(0);
    expect((await run('ls', url, '/data/x')).stdout).toBe('a.txt\ny/\n');
    expect((await run('mv', '--from', url, '--to', url, '/moving/sub', '/moved')).code).toBe(0);
    expect((await run('ls', url, '/moved')).stdout).toBe('b.bin\nempty/\n');

    expect((await run('mv', '--from', url, '/data/x/a.txt', 'moved.txt')).code).toBe(0);
    expect(await readFile(join(dir, 'moved.txt'), 'utf8')).toBe('alpha\n');
    expect((await run('cat', url, '/data/x/a.txt')).code).toBe(3);

    expect((await run('mv', '--to', url, 'moved.txt', '/data/back.txt')).code).toBe(0);
    expect(existsSync(join(dir, 'moved.txt'))).toBe(false);
    expect((await run('cat', url, '/data/back.txt')).stdout).toBe('alpha\n');

    expect((await run('mv', '--from', url, '/moved', 'moved-dir')).code).toBe(0);
    expect((await readFile(join(dir, 'moved-dir/b.bin'))).equals(big)).toBe(true);
    expect((await run('ls', url, '/moved')).code).toBe(3);
  });

  it('rm, rm -r, rm -f, mkdir on an existing path', async () => {
    expect((await run('cp', '-r', '--to', url, 'src', '/gone')).code).toBe(0);
    const refused = await run('rm', url, '/gone');
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toContain('use rm -r');
    expect((await run('rm', url, '/gone/a.txt')).code).toBe(0);
    expect((await run('ls', url, '/gone')).stdout).toBe('sub/\n');
    expect((await run('rm', '-r', url, '/gone')).code).toBe(0);
    expect((await run('stat', url, '/gone')).code).toBe(3);
    expect((await run('rm', url, '/gone')).code).toBe(3);
    expect((await run('rm', '-f', url, '/gone')).code).toBe(0);
    expect((await run('mkdir', url, '/data')).code).toBe(1);
    expect((await run('mkdir', '-p', url, '/data')).code).toBe(0);
  });

  it('export (file and stdout), import (file and stdin)', async () => {
    const exported = await run('export', url, '/data', '-o', 'data.tar');
    expect(exported).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const archive = await readFile(join(dir, 'data.tar'));
    // The same tree gives the same archive, whether written to a file or to stdout.
    expect((await run('export', url, '/data')).bytes.equals(archive)).toBe(true);

    const other = storeUrl(backend);
    expect((await run('import', other, 'data.tar', '/restored')).code).toBe(0);
    expect((await run('cat', other, '/restored/src/sub/b.bin')).bytes.equals(big)).toBe(true);
    expect((await run('tree', other, '/restored')).stdout).toContain('5 directories, 4 files');

    const piped = await cli(['import', other, '-'], { cwd: dir, input: archive });
    expect(piped.code).toBe(0);
    expect((await run('cat', other, '/src/a.txt')).stdout).toBe('alpha\n');
    // -n: an existing file is not replaced.
    const clobber = await run('import', '-n', other, 'data.tar');
    expect(clobber.code).toBe(1);
    expect(clobber.stderr).toMatch(/^eryx-vfs: import: .*already exists/);
  });

  it('namespaces (--json), migrate --dry-run, drop', async () => {
    const ns = url.slice(url.indexOf('#') + 1);
    const listed = JSON.parse((await run('namespaces', '--json', url)).stdout);
    const mine = listed.namespaces.find((n: { name: string }) => n.name === ns);
    expect(mine).toBeDefined();
    if (backend !== 's3')
      expect(mine).toMatchObject({ files: expect.any(Number), bytes: expect.any(Number) });
    expect((await run('namespaces', url)).stdout).toContain(ns);

    // A namespace the store does not hold is not found, and reading it does not create it.
    const typo = `${url.slice(0, url.indexOf('#'))}#${ns}-typo`;
    const missing = await run('ls', typo, '/');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(
      /^eryx-vfs: ls: no namespace "ns-[0-9a-f]+-typo" in .* \(nothing was created\) — /,
    );
    const after = JSON.parse((await run('namespaces', '--json', url)).stdout);
    expect(after.namespaces.map((n: { name: string }) => n.name)).not.toContain(`${ns}-typo`);

    const migrate = await run('migrate', '--dry-run', url);
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toMatch(/schema is current/);

    const unconfirmed = await run('drop', url);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('--yes');
    expect((await run('ls', url, '/data')).code).toBe(0);
    expect((await run('drop', '--yes', url)).code).toBe(0);
    expect((await run('ls', url, '/data')).code).toBe(3);
  });
});

describe('gc', () => {
  it('collects an S3 store (nothing to collect elsewhere), and a missing one is not found', async () => {
    const dir = await tempDir();
    const url = storeUrl('s3');
    await writeFile(join(dir, 'f.txt'), 'x'.repeat(5000));
    expect((await cli(['cp', '--to', url, 'f.txt', '/f.txt'], { cwd: dir })).code).toBe(0);
    const result = await cli(['gc', '--min-age', '0', url], { cwd: dir });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^examined [1-9]\d* objects?, deleted 0 \(0 B\)\n$/);
    // gc never deletes what is in use.
    expect((await cli(['cat', url, '/f.txt'], { cwd: dir })).stdout).toBe('x'.repeat(5000));

    expect((await cli(['gc', storeUrl('s3')], { cwd: dir })).code).toBe(3);
    const sqlite = await cli(['gc', storeUrl('sqlite')], { cwd: dir });
    expect(sqlite).toMatchObject({ code: 0, stdout: '' });
    expect(sqlite.stderr).toBe('eryx-vfs: gc: nothing to collect: sqlite frees space in each operation\n');
  });
});

describe('memory:', () => {
  // A memory store lives as long as the process that opened it: each command starts empty.
  it('works within one command, and is empty in the next', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'f.txt'), 'x');
    expect(await cli(['ls', 'memory:', '/'], { cwd: dir })).toMatchObject({ code: 0, stdout: '' });
    expect(await cli(['mkdir', '-p', 'memory:', '/a/b'], { cwd: dir })).toMatchObject({ code: 0 });
    expect(await cli(['cp', '--to', 'memory:', 'f.txt', '/f.txt'], { cwd: dir })).toMatchObject({ code: 0 });
    expect((await cli(['cat', 'memory:', '/f.txt'], { cwd: dir })).code).toBe(3);
    expect(JSON.parse((await cli(['namespaces', '--json', 'memory:'])).stdout).namespaces).toEqual([]);
    expect(JSON.parse((await cli(['du', '--json', 'memory:'])).stdout)).toEqual({
      path: '/',
      bytes: 0,
      files: 0,
      directories: 0,
    });
    // The memory limit applies within the command.
    const quota = await cli(['cp', '--to', 'memory:?maxBytes=0', 'f.txt', '/f.txt'], { cwd: dir });
    expect(quota.code).toBe(4);
  });
});
