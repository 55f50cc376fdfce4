import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Descriptor } from '@bytecodealliance/preview2-shim/interfaces/wasi-filesystem-types';
import {
  hostDirectory,
  isVfsError,
  restrictedFiles,
  type VfsErrorCode,
  type VfsStorage,
} from '@eryx/vfs-core';
import { createWasiHost, type WasiHost } from '@eryx/vfs-core/wasi';
import { memory } from '@eryx/vfs-memory';
import { sqlite } from '@eryx/vfs-sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { decode, R, RW, text, wasiCodeOf } from './descriptors.js';

/*
 * The router at the TypeScript level: the host-directory and restricted-files storages called
 * directly, and the host's tree of mounts through its `wasi:filesystem` descriptors. (The whole
 * contract of hostDirectory is checked by the conformance kit in conformance/test.)
 */

const temp = mkdtempSync(join(tmpdir(), 'eryx-router-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** A fresh host directory with `rw/sub/ok.txt`, `outside/secret.txt` and `rw` returned. */
function fixture(): { root: string; rw: string; outside: string } {
  const root = mkdtempSync(join(temp, 't-'));
  const rw = join(root, 'rw');
  const outside = join(root, 'outside');
  mkdirSync(join(rw, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(rw, 'sub/ok.txt'), 'inside');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  return { root, rw, outside };
}

function codeOf(fn: () => unknown): VfsErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (error) {
    if (isVfsError(error)) return error.code;
    throw error;
  }
}

function preopens(host: WasiHost): Map<string, Descriptor> {
  const { getDirectories } = host.imports['wasi:filesystem/preopens'] as {
    getDirectories(): Array<[Descriptor, string]>;
  };
  return new Map(getDirectories().map(([descriptor, path]) => [path, descriptor]));
}

function names(dir: Descriptor): string[] {
  const stream = dir.readDirectory();
  const out: string[] = [];
  for (let entry = stream.readDirectoryEntry(); entry; entry = stream.readDirectoryEntry())
    out.push(entry.name);
  return out;
}

describe('hostDirectory', () => {
  it('refuses absolute, relative and chained symlinks that leave the root, for every operation', () => {
    const { rw, outside } = fixture();
    symlinkSync('/etc/passwd', join(rw, 'abs'));
    symlinkSync('../outside/secret.txt', join(rw, 'rel'));
    symlinkSync('../outside', join(rw, 'reldir'));
    symlinkSync('rel', join(rw, 'chain'));
    symlinkSync('../../outside', join(rw, 'sub/up'));
    const storage = hostDirectory(rw);
    for (const path of ['/abs', '/rel', '/chain', '/reldir/secret.txt', '/sub/up/secret.txt']) {
      expect(
        codeOf(() => storage.read(path)),
        path,
      ).toBe('permission-denied');
      expect(
        codeOf(() => storage.readAt(path, 0, 1)),
        path,
      ).toBe('permission-denied');
      expect(
        codeOf(() => storage.stat(path)),
        path,
      ).toBe('permission-denied');
      expect(
        codeOf(() => storage.write(path, text('x'))),
        path,
      ).toBe('permission-denied');
      expect(
        codeOf(() => storage.writeAt(path, 0, text('x'))),
        path,
      ).toBe('permission-denied');
      expect(
        codeOf(() => storage.append(path, text('x'))),
        path,
      ).toBe('permission-denied');
      expect(
        codeOf(() => storage.setSize(path, 0)),
        path,
      ).toBe('permission-denied');
      expect(
        codeOf(() => storage.setTimes(path, { modified: 1 })),
        path,
      ).toBe('permission-denied');
      expect(storage.exists(path), path).toBe(false);
    }
    expect(codeOf(() => storage.list('/reldir'))).toBe('permission-denied');
    expect(codeOf(() => storage.write('/reldir/planted', text('x')))).toBe('permission-denied');
    expect(codeOf(() => storage.mkdir('/reldir/planted'))).toBe('permission-denied');
    expect(codeOf(() => storage.rename('/sub/ok.txt', '/reldir/moved'))).toBe('permission-denied');
    expect(
      storage
        .list('/')
        .map((e) => e.name)
        .sort(),
    ).toEqual(['sub']);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
    expect(existsSync(join(outside, 'planted'))).toBe(false);
  });

  it('follows symlinks that stay inside; delete and rename act on the link, never its target', () => {
    const { rw } = fixture();
    symlinkSync('sub/ok.txt', join(rw, 'file-link'));
    symlinkSync('sub', join(rw, 'dir-link'));
    const storage = hostDirectory(rw);
    expect(decode(storage.read('/file-link'))).toBe('inside');
    expect(decode(storage.read('/dir-link/ok.txt'))).toBe('inside');
    expect(storage.stat('/dir-link').kind).toBe('directory');
    expect(
      storage
        .list('/')
        .map((e) => `${e.name}:${e.kind}:${e.size}`)
        .sort(),
    ).toEqual(['dir-link:directory:0', 'file-link:file:6', 'sub:directory:0']);
    storage.rename('/file-link', '/moved-link');
    expect(readlinkSync(join(rw, 'moved-link'))).toBe('sub/ok.txt');
    storage.delete('/moved-link');
    storage.delete('/dir-link');
    expect(readFileSync(join(rw, 'sub/ok.txt'), 'utf8')).toBe('inside');
    expect(storage.list('/sub').map((e) => e.name)).toEqual(['ok.txt']);
  });

  it('never opens a FIFO (it would block the guest), and does not list it', () => {
    const { rw } = fixture();
    expect(spawnSync('mkfifo', [join(rw, 'pipe')]).status).toBe(0);
    const storage = hostDirectory(rw);
    expect(codeOf(() => storage.read('/pipe'))).toBe('permission-denied');
    expect(codeOf(() => storage.write('/pipe', text('x')))).toBe('permission-denied');
    expect(storage.list('/').map((e) => e.name)).toEqual(['sub']);
  });

  it('read-only refuses every write, creation, removal, rename and time change', () => {
    const { rw } = fixture();
    const storage = hostDirectory(rw, { readOnly: true });
    expect(storage.readOnly).toBe(true);
    const before = lstatSync(join(rw, 'sub/ok.txt'));
    const writes: Array<() => unknown> = [
      () => storage.write('/sub/ok.txt', text('x')),
      () => storage.write('/new', text('x')),
      () => storage.writeAt('/sub/ok.txt', 0, text('x')),
      () => storage.append('/sub/ok.txt', text('x')),
      () => storage.setSize('/sub/ok.txt', 0),
      () => storage.setTimes('/sub/ok.txt', { modified: 1 }),
      () => storage.setTimes('/sub', { modified: 1 }),
      () => storage.delete('/sub/ok.txt'),
      () => storage.rename('/sub/ok.txt', '/sub/moved'),
      () => storage.mkdir('/dir'),
      () => storage.rmdir('/sub'),
    ];
    for (const write of writes) expect(codeOf(write)).toBe('read-only');
    expect(decode(storage.read('/sub/ok.txt'))).toBe('inside');
    expect(lstatSync(join(rw, 'sub/ok.txt')).mtimeMs).toBe(before.mtimeMs);
  });

  it('reports guest paths in errors, never the host path', () => {
    const { rw } = fixture();
    symlinkSync('/etc/passwd', join(rw, 'abs'));
    const storage = hostDirectory(rw);
    for (const fn of [
      () => storage.read('/missing'),
      () => storage.read('/abs'),
      () => storage.list('/sub/ok.txt'),
    ]) {
      let message = '';
      try {
        fn();
      } catch (error) {
        message = String(error);
      }
      expect(message).not.toBe('');
      expect(message).not.toContain(rw);
    }
  });

  it('needs an existing directory as its root, and resolves a symlinked root once', () => {
    const { root, rw } = fixture();
    expect(codeOf(() => hostDirectory(join(root, 'missing')))).toBe('not-found');
    expect(codeOf(() => hostDirectory(join(rw, 'sub/ok.txt')))).toBe('not-a-directory');
    symlinkSync(rw, join(root, 'alias'));
    const storage = hostDirectory(join(root, 'alias'));
    expect(storage.root).toBe(rw);
    expect(decode(storage.read('/sub/ok.txt'))).toBe('inside');
  });
});

describe('restrictedFiles', () => {
  it('exposes only the named files', () => {
    const { root } = fixture();
    writeFileSync(join(root, 'a.conf'), 'A');
    const storage = restrictedFiles({ 'a.conf': join(root, 'a.conf'), 'b.conf': join(root, 'b.conf') });
    expect(storage.list('/')).toEqual([{ name: 'a.conf', kind: 'file', size: 1 }]);
    expect(decode(storage.read('/a.conf'))).toBe('A');
    expect(storage.exists('/b.conf')).toBe(false);
    storage.write('/b.conf', text('B'));
    expect(readFileSync(join(root, 'b.conf'), 'utf8')).toBe('B');
    expect(storage.append('/b.conf', text('B'))).toBe(1);
    storage.writeAt('/a.conf', 3, text('!'));
    expect(readFileSync(join(root, 'a.conf'))).toEqual(Buffer.from('A\0\0!'));
    storage.setSize('/a.conf', 1);
    storage.setTimes('/a.conf', { modified: 1_000_000_000_000 });
    expect(storage.stat('/a.conf').modified).toBeCloseTo(1_000_000_000_000, -1);
    expect(codeOf(() => storage.read('/c.conf'))).toBe('not-found');
    expect(codeOf(() => storage.read('/rw/sub/ok.txt'))).toBe('not-found');
    expect(codeOf(() => storage.write('/c.conf', text('x')))).toBe('permission-denied');
    expect(codeOf(() => storage.write('/a.conf/x', text('x')))).toBe('not-a-directory');
    expect(codeOf(() => storage.mkdir('/dir'))).toBe('permission-denied');
    expect(codeOf(() => storage.delete('/a.conf'))).toBe('permission-denied');
    expect(codeOf(() => storage.rename('/a.conf', '/b.conf'))).toBe('permission-denied');
    expect(codeOf(() => storage.rmdir('/'))).toBe('busy');
    expect(existsSync(join(root, 'c.conf'))).toBe(false);
  });

  it('creates a named file exclusively (O_EXCL on the host), and nothing else', () => {
    const { root } = fixture();
    writeFileSync(join(root, 'a.conf'), 'A');
    const storage = restrictedFiles({ 'a.conf': join(root, 'a.conf'), 'b.conf': join(root, 'b.conf') });
    expect(storage.capabilities.exclusiveCreate).toBe(true);
    expect(codeOf(() => storage.create('/a.conf'))).toBe('already-exists');
    expect(readFileSync(join(root, 'a.conf'), 'utf8')).toBe('A');
    storage.create('/b.conf');
    expect(readFileSync(join(root, 'b.conf'), 'utf8')).toBe('');
    expect(codeOf(() => storage.create('/b.conf'))).toBe('already-exists');
    expect(codeOf(() => storage.create('/'))).toBe('already-exists');
    expect(codeOf(() => storage.create('/c.conf'))).toBe('permission-denied');
    expect(codeOf(() => storage.create('/a.conf/x'))).toBe('not-a-directory');
    expect(codeOf(() => storage.create('/d/x'))).toBe('not-found');
    expect(existsSync(join(root, 'c.conf'))).toBe(false);
  });

  it('read-only refuses every write', () => {
    const { root } = fixture();
    writeFileSync(join(root, 'a.conf'), 'A');
    const storage = restrictedFiles({ 'a.conf': join(root, 'a.conf') }, { readOnly: true });
    for (const write of [
      () => storage.write('/a.conf', text('x')),
      () => storage.writeAt('/a.conf', 0, text('x')),
      () => storage.append('/a.conf', text('x')),
      () => storage.setSize('/a.conf', 0),
      () => storage.setTimes('/a.conf', { modified: 1 }),
      () => storage.delete('/a.conf'),
      () => storage.rename('/a.conf', '/b'),
      () => storage.mkdir('/d'),
      () => storage.create('/a.conf'),
      () => storage.create('/b.conf'),
      () => storage.write('/other', text('x')),
    ]) {
      expect(codeOf(write)).toBe('read-only');
    }
    expect(readFileSync(join(root, 'a.conf'), 'utf8')).toBe('A');
  });

  it('refuses a symlink put in place of a named file later (O_NOFOLLOW), and bad names', () => {
    const { root } = fixture();
    writeFileSync(join(root, 'a.conf'), 'A');
    const storage = restrictedFiles({ 'a.conf': join(root, 'a.conf') });
    unlinkSync(join(root, 'a.conf'));
    symlinkSync('/etc/passwd', join(root, 'a.conf'));
    expect(codeOf(() => storage.read('/a.conf'))).toBe('permission-denied');
    expect(codeOf(() => storage.write('/a.conf', text('x')))).toBe('permission-denied');
    expect(storage.list('/')).toEqual([]);
    for (const name of ['', '.', '..', 'a/b']) {
      expect(codeOf(() => restrictedFiles({ [name]: join(root, 'x') }))).toBe('invalid-argument');
    }
    expect(codeOf(() => restrictedFiles({ x: 'relative/path' }))).toBe('invalid-argument');
  });
});

describe('the host tree of mounts', () => {
  it('shows the mount points in synthetic read-only parents, preopened at /', () => {
    const host = createWasiHost({
      mounts: { '/data': memory(), '/host/etc': memory(), '/host/var/log': memory() },
    });
    const dirs = preopens(host);
    expect([...dirs.keys()]).toEqual(['/data', '/host/etc', '/host/var/log', '/']);
    const root = dirs.get('/') as Descriptor;
    expect(names(root)).toEqual(['data', 'host']);
    expect(root.getFlags().mutateDirectory).toBe(false);
    const hostDir = root.openAt({}, 'host', { directory: true }, R);
    expect(names(hostDir)).toEqual(['etc', 'var']);
    expect(names(hostDir.openAt({}, 'var', {}, R))).toEqual(['log']);
    expect(wasiCodeOf(() => root.createDirectoryAt('new'))).toBe('read-only');
    expect(wasiCodeOf(() => root.openAt({}, 'new.txt', { create: true }, RW))).toBe('read-only');
    expect(wasiCodeOf(() => hostDir.createDirectoryAt('new'))).toBe('read-only');
    expect(wasiCodeOf(() => root.removeDirectoryAt('host'))).toBe('read-only');
    expect(wasiCodeOf(() => root.renameAt('host', root, 'h'))).toBe('read-only');
    expect(wasiCodeOf(() => root.setTimesAt({}, 'host', { tag: 'now' }, { tag: 'now' }))).toBe('read-only');
    expect(wasiCodeOf(() => root.statAt({}, 'nothing'))).toBe('no-entry');
    expect(wasiCodeOf(() => root.openAt({}, '..', {}, R))).toBe('not-permitted');
    // Descending from the synthetic root reaches the mounts, with their own rights.
    const data = root.openAt({}, 'data', { directory: true }, R);
    expect(data.getFlags().mutateDirectory).toBe(true);
    data.openAt({}, 'via-root.txt', { create: true }, RW).write(text('x'), 0n);
    expect(root.statAt({}, 'data/via-root.txt').size).toBe(1n);
    expect(wasiCodeOf(() => hostDir.renameAt('etc', data, 'etc'))).toBe('cross-device');
  });

  it('lists nested mounts in the storage mounted at /, hiding same-named entries', () => {
    const top = memory();
    top.sync.write('/data', text('a file the mount hides'));
    top.sync.write('/top.txt', text('t'));
    const data = memory();
    const host = createWasiHost({ mounts: { '/': top, '/data': data } });
    const dirs = preopens(host);
    expect([...dirs.keys()]).toEqual(['/', '/data']);
    const root = dirs.get('/') as Descriptor;
    expect(names(root)).toEqual(['data', 'top.txt']);
    expect(root.statAt({}, 'data').type).toBe('directory');
    root.openAt({}, 'data/inner.txt', { create: true }, RW).write(text('in'), 0n);
    expect(decode(data.sync.read('/inner.txt'))).toBe('in');
    expect(wasiCodeOf(() => root.renameAt('top.txt', root, 'data/top.txt'))).toBe('cross-device');
    expect(wasiCodeOf(() => root.removeDirectoryAt('data'))).toBe('busy');
    // `..` from a mount's root never climbs into the mount above it.
    expect(wasiCodeOf(() => (dirs.get('/data') as Descriptor).statAt({}, '../top.txt'))).toBe(
      'not-permitted',
    );
  });

  it('mounts a storage that declares readOnly read-only, with the host directory and restricted files', () => {
    const { root, rw } = fixture();
    writeFileSync(join(root, 'a.conf'), 'A');
    const host = createWasiHost({
      mounts: {
        '/ro': hostDirectory(rw, { readOnly: true }),
        '/cfg': restrictedFiles({ 'a.conf': join(root, 'a.conf') }, { readOnly: true }),
        '/rw': hostDirectory(rw),
      },
    });
    const dirs = preopens(host);
    expect(dirs.get('/ro')?.getFlags().mutateDirectory).toBe(false);
    expect(dirs.get('/cfg')?.getFlags().mutateDirectory).toBe(false);
    expect(dirs.get('/rw')?.getFlags().mutateDirectory).toBe(true);
    const cfg = dirs.get('/cfg') as Descriptor;
    expect(names(cfg)).toEqual(['a.conf']);
    expect(decode(cfg.openAt({}, 'a.conf', {}, R).read(10n, 0n)[0])).toBe('A');
    expect(wasiCodeOf(() => cfg.openAt({}, 'a.conf', {}, RW))).toBe('read-only');
    expect(wasiCodeOf(() => (dirs.get('/ro') as Descriptor).openAt({}, 'sub/ok.txt', {}, RW))).toBe(
      'read-only',
    );
    // The same host directory mounted twice is still two mounts: no rename between them.
    expect(
      wasiCodeOf(() => (dirs.get('/rw') as Descriptor).renameAt('sub', dirs.get('/ro') as Descriptor, 'x')),
    ).toBe('cross-device');
  });
});

const STORAGES: [string, () => VfsStorage][] = [
  ['memory', () => memory()],
  ['sqlite', () => sqlite({ path: ':memory:' })],
];

describe.each(STORAGES)('error codes as Linux gives them (%s)', (_name, make) => {
  const now = { tag: 'now' } as const;

  it('a missing parent is no-entry in the synthetic root and a read-only mount; a present one read-only', () => {
    const host = createWasiHost({
      mounts: { '/data': make(), '/host/etc': make(), '/ro': { storage: make(), readOnly: true } },
    });
    const dirs = preopens(host);
    for (const [dir, prefix] of [
      [dirs.get('/') as Descriptor, ''],
      [dirs.get('/') as Descriptor, 'host/'],
      [dirs.get('/ro') as Descriptor, ''],
    ] as const) {
      const missing = `${prefix}nothing/x`;
      expect(wasiCodeOf(() => dir.openAt({}, missing, { create: true }, RW))).toBe('no-entry');
      for (const flags of [
        { create: true, truncate: true },
        { create: true, exclusive: true },
      ]) {
        expect(wasiCodeOf(() => dir.openAt({}, missing, flags, RW))).toBe('no-entry');
      }
      expect(wasiCodeOf(() => dir.createDirectoryAt(missing))).toBe('no-entry');
      expect(wasiCodeOf(() => dir.unlinkFileAt(missing))).toBe('no-entry');
      expect(wasiCodeOf(() => dir.removeDirectoryAt(missing))).toBe('no-entry');
      expect(wasiCodeOf(() => dir.setTimesAt({}, missing, now, now))).toBe('no-entry');
      expect(wasiCodeOf(() => dir.renameAt(missing, dir, `${prefix}y`))).toBe('no-entry');
      // In a directory that is there, the mount is read-only (EROFS), as before.
      expect(wasiCodeOf(() => dir.openAt({}, `${prefix}new.txt`, { create: true }, RW))).toBe('read-only');
      expect(wasiCodeOf(() => dir.createDirectoryAt(`${prefix}new`))).toBe('read-only');
    }
  });

  it('a rename or link across mounts looks both parents up first (ENOENT, ENOTDIR), then is cross-device', () => {
    const a = make();
    a.sync?.write('/f.txt', text('f'));
    a.sync?.mkdir('/d');
    const dirs = preopens(createWasiHost({ mounts: { '/a': a, '/b': make() } }));
    const [from, to] = [dirs.get('/a') as Descriptor, dirs.get('/b') as Descriptor];
    expect(wasiCodeOf(() => from.renameAt('f.txt', to, 'missing/f.txt'))).toBe('no-entry');
    expect(wasiCodeOf(() => from.renameAt('missing/f.txt', to, 'f.txt'))).toBe('no-entry');
    expect(wasiCodeOf(() => from.renameAt('f.txt/x', to, 'f.txt'))).toBe('not-directory');
    expect(wasiCodeOf(() => from.renameAt('d', to, 'missing/d'))).toBe('no-entry');
    expect(wasiCodeOf(() => from.linkAt({}, 'f.txt', to, 'missing/f.txt'))).toBe('no-entry');
    // Linux checks the mounts before it looks the source itself up: a missing file is EXDEV.
    expect(wasiCodeOf(() => from.renameAt('nothing.txt', to, 'f.txt'))).toBe('cross-device');
    expect(wasiCodeOf(() => from.renameAt('f.txt', to, 'f.txt'))).toBe('cross-device');
    expect(wasiCodeOf(() => from.linkAt({}, 'f.txt', to, 'f.txt'))).toBe('cross-device');
    expect(decode(a.sync?.read('/f.txt') ?? new Uint8Array())).toBe('f');
  });

  it('a mount point belongs to the directory it is in: renaming it, or onto it, is EROFS or EBUSY', () => {
    const synthetic = preopens(createWasiHost({ mounts: { '/data': make(), '/host/etc': make() } }));
    const root = synthetic.get('/') as Descriptor;
    expect(wasiCodeOf(() => root.renameAt('data', root, 'x'))).toBe('read-only');
    expect(wasiCodeOf(() => root.renameAt('host/etc', root, 'etc'))).toBe('read-only');
    expect(wasiCodeOf(() => root.renameAt('host', root, 'data'))).toBe('read-only');
    const data = synthetic.get('/data') as Descriptor;
    expect(wasiCodeOf(() => root.renameAt('data', data, 'x'))).toBe('cross-device');
    // wasi-libc sends rename("/data", "/data/x") as `.` of the /data preopen: EXDEV, as in Linux.
    expect(wasiCodeOf(() => data.renameAt('.', data, 'x'))).toBe('cross-device');

    const top = make();
    top.sync?.write('/top.txt', text('t'));
    const nested = preopens(createWasiHost({ mounts: { '/': top, '/data': make() } }));
    const writable = nested.get('/') as Descriptor;
    expect(wasiCodeOf(() => writable.renameAt('data', writable, 'moved'))).toBe('busy');
    expect(wasiCodeOf(() => writable.renameAt('top.txt', writable, 'data'))).toBe('busy');
    expect(wasiCodeOf(() => writable.renameAt('top.txt', writable, 'data/top.txt'))).toBe('cross-device');
    expect(top.sync?.exists('/top.txt')).toBe(true);
  });
});
