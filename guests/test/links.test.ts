import type { Descriptor, PathFlags } from '@bytecodealliance/preview2-shim/interfaces/wasi-filesystem-types';
import type { VfsStorage, VfsSyncStorage } from '@eryx/vfs-core';
import { createWasiHost, type WasiHost, type WasiMountSource } from '@eryx/vfs-core/wasi';
import { memory } from '@eryx/vfs-memory';
import { afterAll, describe, expect, it } from 'vitest';
import { allBackends, type TestStore } from './backends.js';
import { wasiCodeOf as codeOf, decode, R, RW, root, text } from './descriptors.js';

/*
 * Issue #22: symbolic links stored in the store and resolved by the host, per descriptor
 * (`resolvePath`), on every backend. Confinement without links and the phantom preopen are in
 * confinement.test.ts.
 */

const FOLLOW = { symlinkFollow: true };

function syncOf(storage: VfsStorage | VfsSyncStorage): VfsSyncStorage {
  return 'sync' in storage && storage.sync ? storage.sync : (storage as VfsSyncStorage);
}

const entries = (dir: Descriptor): string[] => {
  const stream = dir.readDirectory();
  const out: string[] = [];
  for (let entry = stream.readDirectoryEntry(); entry; entry = stream.readDirectoryEntry())
    out.push(`${entry.name}:${entry.type}`);
  return out;
};

const readAll = (dir: Descriptor, path: string, flags: PathFlags = FOLLOW): string =>
  decode(dir.openAt(flags, path, {}, R).read(1000n, 0n)[0]);

// The backends that store links so far; S3 is the next step of issue #22.
describe.each(allBackends)('symbolic links on $name', (backend) => {
  const stores: TestStore[] = [];
  afterAll(async () => {
    for (const store of stores) await store.destroy();
  });

  /** A host on a new store with `sub/f` ("file") and a directory `a/b`. */
  function setup(mounts: Record<string, WasiMountSource> = {}): {
    host: WasiHost;
    dir: Descriptor;
    storage: VfsSyncStorage;
  } {
    const store = backend.store();
    stores.push(store);
    const source = store.open();
    const host = createWasiHost({ mounts: { '/data': source, ...mounts } });
    const dir = root(host);
    dir.createDirectoryAt('sub');
    dir.openAt({}, 'sub/f', { create: true }, RW).write(text('file'), 0n);
    dir.createDirectoryAt('a');
    dir.createDirectoryAt('a/b');
    return { host, dir, storage: syncOf(source) };
  }

  it('creates, reads and lists links; stat follows only when asked', () => {
    const { dir, storage } = setup();
    dir.symlinkAt('sub/f', 'l');
    expect(dir.readlinkAt('l')).toBe('sub/f');
    expect(storage.readlink('/l')).toBe('sub/f');
    const own = dir.statAt({}, 'l');
    expect(own.type).toBe('symbolic-link');
    expect(own.size).toBe(5n);
    expect(dir.statAt(FOLLOW, 'l')).toMatchObject({ type: 'regular-file', size: 4n });
    expect(entries(dir)).toEqual(['a:directory', 'l:symbolic-link', 'sub:directory']);
    expect(readAll(dir, 'l')).toBe('file');
    // Written through the link, the target changes; the link stays a link.
    dir.openAt(FOLLOW, 'l', {}, RW).write(text('FI'), 0n);
    expect(decode(storage.read('/sub/f'))).toBe('FIle');
    expect(storage.stat('/l').kind).toBe('symlink');
  });

  it('refuses to open a link it must not follow, and O_CREAT|O_EXCL of one', () => {
    const { dir } = setup();
    dir.symlinkAt('sub/f', 'l');
    dir.symlinkAt('missing', 'dangling');
    expect(codeOf(() => dir.openAt({}, 'l', {}, R))).toBe('loop');
    expect(codeOf(() => dir.openAt({}, 'l', { create: true, truncate: true }, RW))).toBe('loop');
    expect(codeOf(() => dir.openAt(FOLLOW, 'l', { create: true, exclusive: true }, RW))).toBe('exist');
    expect(codeOf(() => dir.openAt(FOLLOW, 'dangling', { create: true, exclusive: true }, RW))).toBe('exist');
    expect(codeOf(() => dir.symlinkAt('x', 'l'))).toBe('exist');
    expect(codeOf(() => dir.symlinkAt('x', 'sub'))).toBe('exist');
    expect(codeOf(() => dir.createDirectoryAt('l'))).toBe('exist');
    expect(codeOf(() => dir.createDirectoryAt('dangling/'))).toBe('exist');
  });

  it('creates the target of a dangling link it follows, as O_CREAT does', () => {
    const { dir, storage } = setup();
    dir.symlinkAt('sub/new', 'dangling');
    expect(codeOf(() => dir.openAt(FOLLOW, 'dangling', {}, R))).toBe('no-entry');
    dir.openAt(FOLLOW, 'dangling', { create: true }, RW).write(text('made'), 0n);
    expect(decode(storage.read('/sub/new'))).toBe('made');
    expect(storage.stat('/dangling').kind).toBe('symlink');
  });

  it('follows links on the way, resolving `..` after them as POSIX does', () => {
    const { dir, storage } = setup();
    dir.symlinkAt('a/b', 'ab');
    dir.symlinkAt('sub', 'dl');
    expect(readAll(dir, 'dl/f', {})).toBe('file');
    dir.openAt({}, 'dl/g', { create: true }, RW).write(text('g'), 0n);
    expect(decode(storage.read('/sub/g'))).toBe('g');
    dir.createDirectoryAt('dl/made');
    expect(storage.stat('/sub/made').kind).toBe('directory');
    // `ab/..` is `a` (physically), not the root (lexically).
    dir.openAt({}, 'a/x', { create: true }, RW).write(text('ax'), 0n);
    expect(readAll(dir, 'ab/../x', {})).toBe('ax');
    expect(dir.statAt({}, 'dl/').type).toBe('directory');
    expect(dir.statAt({}, 'dl').type).toBe('symbolic-link');
    dir.symlinkAt('sub/f', 'fl');
    expect(codeOf(() => dir.statAt({}, 'fl/'))).toBe('not-directory');
    expect(codeOf(() => dir.statAt({}, 'fl/x'))).toBe('not-directory');
    const sub = dir.openAt(FOLLOW, 'ab', { directory: true }, R);
    expect(sub.getType()).toBe('directory');
    expect(entries(dir.openAt(FOLLOW, 'dl', { directory: true }, R))).toContain('f:regular-file');
    // Not followed (O_NOFOLLOW), a link to a directory cannot be opened either.
    expect(codeOf(() => dir.openAt({}, 'ab', { directory: true }, R))).toBe('loop');
  });

  it('reports loops after 40 links, and a chain shorter than that resolves', () => {
    const { dir } = setup();
    dir.symlinkAt('self', 'self');
    dir.symlinkAt('p2', 'p1');
    dir.symlinkAt('p1', 'p2');
    expect(codeOf(() => dir.statAt(FOLLOW, 'self'))).toBe('loop');
    expect(codeOf(() => dir.openAt(FOLLOW, 'p1', {}, R))).toBe('loop');
    expect(codeOf(() => dir.statAt({}, 'p1/x'))).toBe('loop');
    let previous = 'sub/f';
    for (let i = 0; i < 40; i++) {
      dir.symlinkAt(previous, `c${i}`);
      previous = `c${i}`;
    }
    expect(readAll(dir, 'c39')).toBe('file');
    dir.symlinkAt('c39', 'c40');
    expect(codeOf(() => dir.statAt(FOLLOW, 'c40'))).toBe('loop');
  });

  it('never follows a link out of the directory a path is relative to, or out of its mount', () => {
    const inner = memory();
    inner.sync.write('/secret', text('inner'));
    const { dir } = setup({ '/data/inner': inner });
    dir.symlinkAt('../../etc/passwd', 'up');
    dir.symlinkAt('/etc/passwd', 'abs-out');
    dir.symlinkAt('/data/sub/f', 'abs-in');
    dir.symlinkAt('inner/secret', 'into-mount');
    dir.symlinkAt('../sub/f', 'sub/up');
    dir.symlinkAt('..', 'a/b/dotdot');
    for (const path of ['up', 'abs-out', 'into-mount']) {
      expect(
        codeOf(() => dir.statAt(FOLLOW, path)),
        path,
      ).toBe('not-permitted');
      expect(
        codeOf(() => dir.openAt(FOLLOW, path, {}, R)),
        path,
      ).toBe('not-permitted');
      expect(
        codeOf(() => dir.openAt(FOLLOW, path, { create: true }, RW)),
        path,
      ).toBe('not-permitted');
    }
    // An absolute target is a guest path: inside the directory looked up from, it resolves.
    expect(readAll(dir, 'abs-in')).toBe('file');
    // The mount itself is reachable without a link.
    expect(readAll(dir, 'inner/secret', {})).toBe('inner');
    // From `sub` itself, `sub/up` leaves it; from the mount root, it does not.
    const sub = dir.openAt({}, 'sub', { directory: true }, R);
    expect(codeOf(() => sub.statAt(FOLLOW, 'up'))).toBe('not-permitted');
    expect(dir.statAt(FOLLOW, 'sub/up').type).toBe('regular-file');
    expect(codeOf(() => sub.statAt(FOLLOW, 'abs-in'))).toBe('no-entry');
    const a = dir.openAt({}, 'a', { directory: true }, R);
    expect(codeOf(() => a.statAt({}, 'b/dotdot/..'))).toBe('not-permitted');
    expect(a.statAt({}, 'b/dotdot/b').type).toBe('directory');
    // The link itself is always there to read and remove.
    expect(dir.readlinkAt('abs-out')).toBe('/etc/passwd');
  });

  it('unlinks, renames and times the link itself, never its target', () => {
    const { dir, storage } = setup();
    dir.symlinkAt('sub/f', 'l');
    dir.symlinkAt('sub', 'dl');
    const target = storage.stat('/sub/f');
    dir.setTimesAt(
      {},
      'l',
      { tag: 'timestamp', val: { seconds: 1000n, nanoseconds: 0 } },
      { tag: 'no-change' },
    );
    expect(storage.stat('/l').accessed).toBe(1_000_000);
    expect(storage.stat('/sub/f').accessed).toBe(target.accessed);
    dir.setTimesAt(
      FOLLOW,
      'l',
      { tag: 'timestamp', val: { seconds: 2000n, nanoseconds: 0 } },
      { tag: 'no-change' },
    );
    expect(storage.stat('/sub/f').accessed).toBe(2_000_000);
    dir.renameAt('l', dir, 'a/moved');
    expect(storage.readlink('/a/moved')).toBe('sub/f');
    expect(codeOf(() => dir.removeDirectoryAt('dl'))).toBe('not-directory');
    expect(codeOf(() => dir.unlinkFileAt('dl/'))).toBe('is-directory');
    dir.unlinkFileAt('dl');
    dir.unlinkFileAt('a/moved');
    expect(
      storage
        .list('/')
        .map((e) => e.name)
        .sort(),
    ).toEqual(['a', 'sub']);
    expect(decode(storage.read('/sub/f'))).toBe('file');
    expect(storage.list('/sub').map((e) => e.name)).toEqual(['f']);
  });

  it('replaces a link by a rename, and a file by a link', () => {
    const { dir, storage } = setup();
    dir.symlinkAt('sub/f', 'l');
    dir.openAt({}, 'plain', { create: true }, RW).write(text('plain'), 0n);
    dir.renameAt('plain', dir, 'l');
    expect(storage.stat('/l').kind).toBe('file');
    dir.symlinkAt('sub/f', 'l2');
    dir.renameAt('l2', dir, 'l');
    expect(storage.readlink('/l')).toBe('sub/f');
    expect(codeOf(() => dir.renameAt('l', dir, 'a'))).toBe('is-directory');
    expect(codeOf(() => dir.renameAt('a', dir, 'l'))).toBe('not-directory');
  });

  it('refuses bad targets with the codes Linux gives', () => {
    const { dir } = setup();
    expect(codeOf(() => dir.symlinkAt('', 'l'))).toBe('no-entry');
    expect(codeOf(() => dir.symlinkAt('x'.repeat(4097), 'l'))).toBe('name-too-long');
    expect(codeOf(() => dir.symlinkAt('x\0y', 'l'))).toBe('invalid');
    expect(codeOf(() => dir.symlinkAt('x', 'missing/l'))).toBe('no-entry');
    expect(codeOf(() => dir.symlinkAt('x', '../l'))).toBe('not-permitted');
    dir.symlinkAt('x'.repeat(4096), 'long');
    expect(dir.readlinkAt('long').length).toBe(4096);
    expect(codeOf(() => dir.readlinkAt('sub/f'))).toBe('invalid');
    expect(codeOf(() => dir.readlinkAt('sub'))).toBe('invalid');
  });

  it('keeps links across executions', () => {
    const store = backend.store();
    stores.push(store);
    const first = createWasiHost({ mounts: { '/data': store.open() } });
    root(first).symlinkAt('target/of/link', 'kept');
    first.close();
    const second = createWasiHost({ mounts: { '/data': store.open() } });
    expect(root(second).readlinkAt('kept')).toBe('target/of/link');
    second.close();
  });
});
