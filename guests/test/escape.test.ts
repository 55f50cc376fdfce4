import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostDirectory, restrictedFiles } from '@eryx/vfs-core';
import { memory } from '@eryx/vfs-memory';
import { afterAll, describe, expect, it } from 'vitest';
import { runGuest } from '../src/run.js';
import { BINDINGS } from './backends.js';

/*
 * guests/src/escape.c tries every way out of the mounts and every write into read-only mounts; it
 * prints one line per attempt and this test checks every line, then checks the host itself.
 */

const temp = mkdtempSync(join(tmpdir(), 'eryx-escape-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** What the guest must see for each check (errno names; "=..." is what a read returned). */
const EXPECTED: Record<string, string> = {
  // `..` never leaves the mount the path starts in (EPERM, as wasmtime reports it).
  'dotdot.rw': 'EPERM',
  'dotdot.rw-sub': 'EPERM',
  'dotdot.rw-inside': '=inside|',
  'dotdot.root': 'EPERM',
  'dotdot.root-chain': 'EPERM',
  'dotdot.ls-rw-parent': 'EPERM',
  'dotdot.create': 'EPERM',
  'dotdot.mkdir': 'EPERM',
  'dotdot.cfg': 'EPERM',
  'dotdot.host-etc': 'EPERM',
  'dotdot.cwd-relative': 'EPERM',
  'dotdot.cwd-inside': '=inside|',
  // Symlinks leaving the host directory (absolute, relative, as a directory component) are refused
  // with EACCES for every use; one that stays inside works.
  'symlink.absolute-read': 'EACCES',
  'symlink.absolute-stat': 'EACCES',
  'symlink.absolute-write': 'EACCES',
  'symlink.absolute-append': 'EACCES',
  'symlink.relative-read': 'EACCES',
  'symlink.relative-write': 'EACCES',
  'symlink.dir-read': 'EACCES',
  'symlink.dir-create': 'EACCES',
  'symlink.dir-mkdir': 'EACCES',
  'symlink.dir-ls': 'EACCES',
  'symlink.inside': '=inside|',
  'symlink.ls': '=inner,sub',
  'symlink.create-absolute': 'ENOTSUP',
  'symlink.create-relative': 'ENOTSUP',
  'symlink.readlink': 'EACCES',
  // No hard links anywhere; between mounts it is EXDEV.
  'link.same-mount': 'EPERM',
  'link.to-data': 'EXDEV',
  'link.from-data': 'EXDEV',
  'link.to-outside': 'EPERM',
  // Renames never cross a mount.
  'rename.file-to-data': 'EXDEV',
  'rename.dir-to-data': 'EXDEV',
  'rename.from-data': 'EXDEV',
  'rename.to-parent': 'EPERM',
  'rename.to-root': 'EXDEV',
  'rename.to-host-etc': 'EXDEV',
  // rename("/data", "/data2"): both names are in the read-only root (Linux: EROFS).
  'rename.mount-point': 'EROFS',
  'rename.inside': 'ok',
  'rename.back': 'ok',
  // Special names: "." is the directory, ".." at a mount root is refused, "..." is an ordinary
  // name; a 10,000-byte name is ENAMETOOLONG (the host's limit), read-only mount or not.
  'name.dot-stat': 'ok',
  'name.dot-open': 'ok',
  'name.dotdot-open': 'EPERM',
  'name.dotdotdot-create': 'ok',
  'name.dotdotdot-stat': 'ok',
  'name.dotdotdot-mkdir': 'ok',
  'name.long-create': 'ENAMETOOLONG',
  'name.long-mkdir': 'ENAMETOOLONG',
  'name.long-stat': 'ENAMETOOLONG',
  'name.long-create-ro': 'ENAMETOOLONG',
  ...readOnlyExpectations('ro', '=read only|', true),
  ...readOnlyExpectations('cfg', '=setting=1|', false),
  // Read-write restricted files: the named file is writable, nothing else can be made or removed.
  'cfgrw.write': 'ok',
  'cfgrw.read': '=written|',
  'cfgrw.create-other': 'EACCES',
  'cfgrw.mkdir': 'EACCES',
  'cfgrw.unlink': 'EACCES',
  'cfgrw.rename': 'EACCES',
  'cfgrw.ls': '=rw.conf',
  // One tree: / and /host are synthetic, read-only directories that list the mount points.
  'tree.ls-root': '=cfg,cfgrw,data,host,ro,rw',
  'tree.ls-host': '=etc',
  'tree.ls-cfg': '=app.conf',
  'tree.stat-host': 'ok',
  'tree.host-is-dir': 'yes',
  'tree.read-host-etc': '=hosts|',
  'tree.missing': 'ENOENT',
  'tree.create-in-root': 'EROFS',
  'tree.mkdir-in-root': 'EROFS',
  'tree.mkdir-in-host': 'EROFS',
  'tree.rmdir-host': 'EROFS',
  'tree.rmdir-mount-point': 'EROFS',
  'tree.rename-host': 'EROFS',
  'tree.unlink-mount-point': 'EISDIR',
  'tree.utimensat-host': 'EROFS',
};

/** Every kind of write into a read-only mount fails: EROFS, EBADF on a read-only descriptor. */
function readOnlyExpectations(prefix: string, content: string, hasDir: boolean): Record<string, string> {
  return {
    [`${prefix}.read`]: content,
    [`${prefix}.open-write`]: 'EROFS',
    [`${prefix}.open-rdwr`]: 'EROFS',
    [`${prefix}.open-append`]: 'EROFS',
    [`${prefix}.open-trunc`]: 'EROFS',
    [`${prefix}.create`]: 'EROFS',
    [`${prefix}.create-excl`]: 'EROFS',
    [`${prefix}.truncate`]: 'EROFS',
    [`${prefix}.mkdir`]: 'EROFS',
    [`${prefix}.unlink`]: 'EROFS',
    [`${prefix}.rename`]: 'EROFS',
    [`${prefix}.rename-in`]: 'EXDEV',
    [`${prefix}.utimensat`]: 'EROFS',
    [`${prefix}.symlink`]: 'EROFS',
    [`${prefix}.link`]: 'EROFS',
    ...(hasDir ? { [`${prefix}.rmdir`]: 'EROFS' } : {}),
    [`${prefix}.fd-write`]: 'EBADF',
    [`${prefix}.fd-ftruncate`]: 'EBADF',
    [`${prefix}.fd-futimens`]: 'EROFS',
    [`${prefix}.read-after`]: content,
  };
}

function parse(stdout: string): Record<string, string> {
  const results: Record<string, string> = {};
  for (const line of stdout.trimEnd().split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    results[line.slice(0, space)] = line.slice(space + 1);
  }
  return results;
}

describe.each(BINDINGS)('C guest escape, %s bindings', (bindings) => {
  it('cannot leave its mounts or write into read-only ones, whatever it tries', async () => {
    const t = mkdtempSync(join(temp, 'run-'));
    for (const dir of ['rw/sub', 'ro/d', 'outside', 'etc', 'cfg'])
      mkdirSync(join(t, dir), { recursive: true });
    writeFileSync(join(t, 'rw/sub/ok.txt'), 'inside\n');
    writeFileSync(join(t, 'outside/secret.txt'), 'secret\n');
    writeFileSync(join(t, 'ro/file.txt'), 'read only\n');
    writeFileSync(join(t, 'etc/hosts'), 'hosts\n');
    writeFileSync(join(t, 'cfg/app.conf'), 'setting=1\n');
    symlinkSync('/etc/passwd', join(t, 'rw/passwd'));
    symlinkSync('../outside/secret.txt', join(t, 'rw/rel'));
    symlinkSync('../outside', join(t, 'rw/reldir'));
    symlinkSync('sub/ok.txt', join(t, 'rw/inner'));
    const passwd = readFileSync('/etc/passwd');
    const data = memory();
    data.sync.write('/keep.txt', new TextEncoder().encode('keep\n'));

    const run = await runGuest('escape', {
      bindings,
      mounts: {
        '/rw': hostDirectory(join(t, 'rw')),
        '/ro': hostDirectory(join(t, 'ro'), { readOnly: true }),
        '/cfg': restrictedFiles({ 'app.conf': join(t, 'cfg/app.conf') }, { readOnly: true }),
        '/cfgrw': restrictedFiles({ 'rw.conf': join(t, 'cfg/rw.conf') }),
        '/data': data,
        '/host/etc': hostDirectory(join(t, 'etc'), { readOnly: true }),
      },
    });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout.endsWith('done\n')).toBe(true);
    const { done: _done, ...results } = parse(run.stdout);
    expect(results).toEqual(EXPECTED);

    // The host: nothing outside a mount changed, read-only files are intact, the links are links.
    expect(readFileSync('/etc/passwd').equals(passwd)).toBe(true);
    expect(readdirSync(join(t, 'outside'))).toEqual(['secret.txt']);
    expect(readFileSync(join(t, 'outside/secret.txt'), 'utf8')).toBe('secret\n');
    expect(readdirSync(t).sort()).toEqual(['cfg', 'etc', 'outside', 'ro', 'rw']);
    expect(readdirSync(join(t, 'rw')).sort()).toEqual(['...', 'inner', 'passwd', 'rel', 'reldir', 'sub']);
    expect(readdirSync(join(t, 'rw/sub')).sort()).toEqual(['...', 'ok.txt']);
    expect(readFileSync(join(t, 'rw/sub/ok.txt'), 'utf8')).toBe('inside\n');
    expect(readlinkSync(join(t, 'rw/passwd'))).toBe('/etc/passwd');
    expect(lstatSync(join(t, 'rw/rel')).isSymbolicLink()).toBe(true);
    expect(readdirSync(join(t, 'ro')).sort()).toEqual(['d', 'file.txt']);
    expect(readFileSync(join(t, 'ro/file.txt'), 'utf8')).toBe('read only\n');
    expect(lstatSync(join(t, 'ro/file.txt')).mtimeMs).toBeGreaterThan(1000);
    expect(readdirSync(join(t, 'cfg')).sort()).toEqual(['app.conf', 'rw.conf']);
    expect(readFileSync(join(t, 'cfg/app.conf'), 'utf8')).toBe('setting=1\n');
    expect(readFileSync(join(t, 'cfg/rw.conf'), 'utf8')).toBe('written\n');
    expect(readdirSync(join(t, 'etc'))).toEqual(['hosts']);
    expect(data.sync.list('/').map((entry) => entry.name)).toEqual(['keep.txt']);
  });
});
