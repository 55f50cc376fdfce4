import { runInNewContext } from 'node:vm';
import type { ErrorCode } from '@bytecodealliance/preview2-shim/interfaces/wasi-filesystem-types';
import { isVfsError, limits, toAsync, type VfsStorage, type VfsSyncStorage } from '@eryx/vfs-core';
import { createWasiHost } from '@eryx/vfs-core/wasi';
import { memory } from '@eryx/vfs-memory';
import { sqlite } from '@eryx/vfs-sqlite';
import { describe, expect, it, vi } from 'vitest';
import { runGuest } from '../src/run.js';
import { wasiCodeOf as codeOf, decode, drop, R, RW, root, text } from './descriptors.js';

/*
 * The host's `wasi:filesystem` methods called directly, as jco's generated code calls them: every
 * failure must be thrown as an error-code string (jco lowers it into the method's `err` case).
 */

/** A storage that behaves like `storage` except for the given operations. */
function override(storage: VfsSyncStorage, overrides: Partial<VfsSyncStorage>): VfsSyncStorage {
  return new Proxy(storage, {
    get(target, property) {
      if (property in overrides) return overrides[property as keyof VfsSyncStorage];
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('createWasiHost', () => {
  it('gives each host its own mounts: two hosts never see each other', () => {
    const a = createWasiHost({ mounts: { '/data': memory() } });
    const b = createWasiHost({ mounts: { '/data': memory() } });
    root(a).openAt({}, 'only-in-a.txt', { create: true }, RW).write(text('a'), 0n);
    expect(codeOf(() => root(b).statAt({}, 'only-in-a.txt'))).toBe('no-entry');
    expect(root(a).statAt({}, 'only-in-a.txt').size).toBe(1n);
  });

  it('uses the sync twin of a VfsStorage, and refuses an asynchronous-only storage with a pointer to the bridge', () => {
    const storage = memory();
    const host = createWasiHost({ mounts: { '/data': storage } });
    root(host).createDirectoryAt('made');
    expect(storage.sync.stat('/made').kind).toBe('directory');

    const asyncOnly: VfsStorage = { ...toAsync(memory().sync), sync: undefined };
    const { sync: _sync, ...withoutSyncKey } = toAsync(memory().sync);
    for (const source of [asyncOnly, withoutSyncKey as VfsStorage]) {
      let error: unknown;
      try {
        createWasiHost({ mounts: { '/pg': source } });
      } catch (e) {
        error = e;
      }
      expect(isVfsError(error, 'invalid-argument')).toBe(true);
      expect(String(error)).toContain('createSyncBridge');
    }
    expect(() => createWasiHost({ mounts: { data: memory() } })).toThrow(/absolute/);
  });

  it('enforces a read-only mount on every open and every change', () => {
    const storage = memory();
    storage.sync.write('/file.txt', text('keep'));
    storage.sync.mkdir('/dir');
    const dir = root(createWasiHost({ mounts: { '/ro': { storage, readOnly: true } } }));
    expect(dir.getFlags().mutateDirectory).toBe(false);
    expect(codeOf(() => dir.openAt({}, 'file.txt', {}, RW))).toBe('read-only');
    expect(codeOf(() => dir.openAt({}, 'file.txt', {}, { write: true }))).toBe('read-only');
    expect(codeOf(() => dir.openAt({}, 'file.txt', { truncate: true }, R))).toBe('read-only');
    expect(codeOf(() => dir.openAt({}, 'new.txt', { create: true }, R))).toBe('read-only');
    expect(codeOf(() => dir.openAt({}, 'file.txt', { create: true, truncate: true }, RW))).toBe('read-only');
    expect(codeOf(() => dir.openAt({}, 'new.txt', { create: true, truncate: true }, RW))).toBe('read-only');
    expect(codeOf(() => dir.createDirectoryAt('sub'))).toBe('read-only');
    expect(codeOf(() => dir.unlinkFileAt('file.txt'))).toBe('read-only');
    expect(codeOf(() => dir.removeDirectoryAt('dir'))).toBe('read-only');
    expect(codeOf(() => dir.renameAt('file.txt', dir, 'moved.txt'))).toBe('read-only');
    expect(codeOf(() => dir.setTimesAt({}, 'file.txt', { tag: 'now' }, { tag: 'now' }))).toBe('read-only');
    const file = dir.openAt({}, 'file.txt', {}, R);
    expect(codeOf(() => file.write(text('x'), 0n))).toBe('bad-descriptor');
    expect(codeOf(() => file.setSize(0n))).toBe('bad-descriptor');
    expect(decode(file.read(100n, 0n)[0])).toBe('keep');
    expect(decode(storage.sync.read('/file.txt'))).toBe('keep');
  });

  it('answers bad-descriptor for a descriptor the guest dropped', () => {
    const dir = root(createWasiHost({ mounts: { '/data': memory() } }));
    const file = dir.openAt({}, 'f', { create: true }, RW);
    expect(file.getType()).toBe('regular-file');
    expect(file.getFlags()).toMatchObject({ read: true, write: true });
    drop(file);
    expect(codeOf(() => file.getType())).toBe('bad-descriptor');
    expect(codeOf(() => file.getFlags())).toBe('bad-descriptor');
    expect(codeOf(() => file.stat())).toBe('bad-descriptor');
    expect(dir.getType()).toBe('directory');
  });

  it('reports hard links and escapes as clean error codes (links: links.test.ts)', () => {
    const dir = root(createWasiHost({ mounts: { '/data': memory() } }));
    dir.openAt({}, 'a.txt', { create: true }, RW);
    expect(codeOf(() => dir.symlinkAt('a.txt', 'a.txt'))).toBe('exist');
    // Memory stores hard links (hard-links.test.ts); a second one of the name exists.
    expect(codeOf(() => dir.linkAt({}, 'a.txt', dir, 'hard'))).toBe('ok');
    expect(codeOf(() => dir.linkAt({}, 'a.txt', dir, 'hard'))).toBe('exist');
    expect(codeOf(() => dir.readlinkAt('a.txt'))).toBe('invalid');
    expect(codeOf(() => dir.readlinkAt('missing'))).toBe('no-entry');
    expect(codeOf(() => dir.openAt({}, '../escape', { create: true }, RW))).toBe('not-permitted');
    expect(codeOf(() => dir.openAt({}, '/absolute', {}, R))).toBe('not-permitted');
  });

  it('resolves every form of relative path to the same storage path', () => {
    const storage = memory();
    const dir = root(createWasiHost({ mounts: { '/data': storage } }));
    dir.createDirectoryAt('sub');
    dir.openAt({}, 'sub/.hidden', { create: true }, RW).write(text('dot'), 0n);
    dir.openAt({}, 'sub/f', { create: true }, RW).write(text('f'), 0n);
    for (const path of ['sub/f', './sub/f', 'sub//f', 'sub/./f', 'sub/../sub/f']) {
      expect(dir.statAt({}, path).size, path).toBe(1n);
    }
    // Memory stores links, so `..` is resolved after looking `x` up, as POSIX does: it is missing.
    expect(codeOf(() => dir.statAt({}, 'sub/x/../f'))).toBe('no-entry');
    for (const path of ['sub/.hidden', 'sub/./.hidden', './/sub/.hidden']) {
      expect(dir.statAt({}, path).size, path).toBe(3n);
    }
    expect(dir.statAt({}, 'sub/').type).toBe('directory');
    expect(codeOf(() => dir.statAt({}, 'sub/f/'))).toBe('not-directory');
    expect(codeOf(() => dir.statAt({}, 'sub/../..'))).toBe('not-permitted');
    expect(codeOf(() => dir.statAt({}, 'sub/f\0'))).toBe('invalid');
    expect(storage.sync.list('/sub').map((e) => e.name)).toEqual(['.hidden', 'f']);
    // A relative path from a directory below the root joins that directory's path.
    const sub = dir.openAt({}, 'sub', { directory: true }, R);
    expect(sub.statAt({}, '.hidden').size).toBe(3n);
    // Climbing above the opened directory is refused, even back into it (WASI capabilities).
    expect(codeOf(() => sub.statAt({}, '../sub/f'))).toBe('not-permitted');
    expect(codeOf(() => sub.statAt({}, '../../x'))).toBe('not-permitted');
  });

  it('maps every other failure to io (never a trap) and tells onError', () => {
    const broken = new TypeError('driver exploded');
    // Writes through a descriptor carry the file's identity: they are writeExtents calls.
    const storage = override(memory().sync, {
      writeAt: () => {
        throw broken;
      },
      writeExtents: () => {
        throw broken;
      },
    });
    const onError = vi.fn();
    const host = createWasiHost({ mounts: { '/data': storage }, onError });
    const file = root(host).openAt({}, 'f', { create: true }, RW);
    expect(codeOf(() => file.write(text('x'), 0n))).toBe('io');
    expect(onError).toHaveBeenCalledWith(broken);

    const stream = file.writeViaStream(0n);
    let streamError: unknown;
    try {
      stream.blockingWriteAndFlush(text('x'));
    } catch (error) {
      streamError = error;
    }
    expect(streamError).toMatchObject({ tag: 'last-operation-failed' });
    const { filesystemErrorCode } = host.imports['wasi:filesystem/types'] as {
      filesystemErrorCode(error: unknown): ErrorCode | undefined;
    };
    expect(filesystemErrorCode((streamError as { val: unknown }).val)).toBe('io');
  });

  it('a guest sees a failing backend as EIO and exits cleanly', async () => {
    const inner = memory().sync;
    const storage = override(inner, {
      append: (path, data) => {
        if (data.length > 0) throw new Error('connection reset');
        return inner.append(path, data);
      },
    });
    const run = await runGuest('notes', { mounts: { '/data': storage }, args: ['add', 'x'] });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe('notes: write notes.txt: I/O error\n');
  });

  it('keeps the metadata hash stable while a file is written, and knows the same object', () => {
    const dir = root(createWasiHost({ mounts: { '/data': memory() } }));
    const a = dir.openAt({}, 'a', { create: true }, RW);
    const before = a.metadataHash();
    a.write(text('grow'), 0n);
    a.setSize(100n);
    expect(a.metadataHash()).toEqual(before);
    expect(dir.metadataHashAt({}, 'a')).toEqual(before);
    const b = dir.openAt({}, 'b', { create: true }, RW);
    expect(b.metadataHash()).not.toEqual(before);
    expect(a.isSameObject(dir.openAt({}, 'a', {}, R))).toBe(true);
    expect(a.isSameObject(b)).toBe(false);
    expect(dir.isSameObject(root(createWasiHost({ mounts: { '/data': memory() } })))).toBe(false);
  });

  it('gives every file its own metadata hash: across names, mounts and re-creations', () => {
    const host = createWasiHost({ mounts: { '/data': memory(), '/other': memory() } });
    const data = root(host, 0);
    const other = root(host, 1);
    const seen = new Set<string>();
    const add = (hash: { upper: bigint; lower: bigint }) => {
      expect(typeof hash.upper).toBe('bigint');
      expect(hash.upper >= 0n && hash.upper < 2n ** 64n && hash.lower >= 0n).toBe(true);
      seen.add(`${hash.upper}:${hash.lower}`);
    };
    for (const dir of [data, other]) {
      for (let i = 0; i < 1000; i++) {
        dir.openAt({}, `f${i}`, { create: true }, RW);
        add(dir.metadataHashAt({}, `f${i}`));
      }
    }
    // The same path again, once removed and created anew (at another creation time).
    data.unlinkFileAt('f0');
    data.openAt({}, 'f0', { create: true }, RW);
    add(data.metadataHashAt({}, 'f0'));
    expect(seen.size).toBe(2001);
  });

  it('reports real timestamps and sets them', () => {
    const dir = root(createWasiHost({ mounts: { '/data': memory() } }));
    const file = dir.openAt({}, 'f', { create: true }, RW);
    const stat = file.stat();
    const now = Date.now() / 1000;
    expect(Number(stat.dataModificationTimestamp?.seconds)).toBeGreaterThan(now - 60);
    expect(Number(stat.dataModificationTimestamp?.seconds)).toBeLessThanOrEqual(now + 1);
    expect(stat.type).toBe('regular-file');
    file.setTimes(
      { tag: 'no-change' },
      { tag: 'timestamp', val: { seconds: 1_234_567_890n, nanoseconds: 5e8 } },
    );
    const after = dir.statAt({}, 'f');
    expect(after.dataModificationTimestamp).toEqual({ seconds: 1_234_567_890n, nanoseconds: 5e8 });
    expect(after.dataAccessTimestamp).toEqual(stat.dataAccessTimestamp);
  });

  it('O_TRUNC marks an existing file modified, even an empty one; O_CREAT alone does not', () => {
    const storage = memory();
    storage.sync.write('/empty', text(''));
    storage.sync.write('/full', text('12345'));
    const past = { seconds: 1_000_000_000n, nanoseconds: 0 };
    const dir = root(createWasiHost({ mounts: { '/data': storage } }));
    for (const name of ['empty', 'full']) {
      dir.setTimesAt({}, name, { tag: 'timestamp', val: past }, { tag: 'timestamp', val: past });
      drop(dir.openAt({}, name, { create: true }, RW));
      expect(dir.statAt({}, name).dataModificationTimestamp).toEqual(past);
      drop(dir.openAt({}, name, { create: true, truncate: true }, RW));
      expect(dir.statAt({}, name).dataModificationTimestamp?.seconds).toBeGreaterThan(past.seconds);
    }
  });

  it('keeps a file unlinked while open alive through its descriptors, without it reappearing', () => {
    const storage = memory();
    const dir = root(createWasiHost({ mounts: { '/data': storage } }));
    const file = dir.openAt({}, 'ghost', { create: true }, RW);
    file.write(text('abc'), 0n);
    dir.unlinkFileAt('ghost');
    expect(file.write(text('def'), 3n)).toBe(3n);
    const appended = file.appendViaStream();
    appended.blockingWriteAndFlush(text('!'));
    expect(storage.sync.exists('/ghost')).toBe(false);
    expect(decode(file.read(100n, 0n)[0])).toBe('abcdef!');
    expect(file.stat().size).toBe(7n);
    expect(file.stat().linkCount).toBe(0n);
    // A new file at the same path is a different file.
    const fresh = dir.openAt({}, 'ghost', { create: true, exclusive: true }, RW);
    expect(fresh.stat().size).toBe(0n);
    expect(fresh.isSameObject(file)).toBe(false);
    drop(file);
    expect(decode(storage.sync.read('/ghost'))).toBe('');
  });

  it('replacing an open file by rename detaches it; open descriptors follow renamed directories', () => {
    const storage = memory();
    const dir = root(createWasiHost({ mounts: { '/data': storage } }));
    const old = dir.openAt({}, 'target', { create: true }, RW);
    old.write(text('old'), 0n);
    const next = dir.openAt({}, 'next', { create: true }, RW);
    next.write(text('new'), 0n);
    dir.renameAt('next', dir, 'target');
    old.write(text('OLD'), 0n);
    expect(decode(storage.sync.read('/target'))).toBe('new');
    expect(decode(old.read(10n, 0n)[0])).toBe('OLD');

    dir.createDirectoryAt('d');
    const inner = dir.openAt({}, 'd/inner', { create: true }, RW);
    dir.renameAt('d', dir, 'e');
    inner.write(text('moved'), 0n);
    expect(decode(storage.sync.read('/e/inner'))).toBe('moved');
    expect(storage.sync.exists('/d')).toBe(false);
  });

  it('a rename that storage refuses leaves the target as it was: an empty directory, an open file', () => {
    for (const make of [() => memory(), () => sqlite({ path: ':memory:' })]) {
      // A limit refuses the rename after the host removed the empty target (the moved file's path
      // would be too long); a failing storage rename must restore it the same way.
      const storage = limits(make(), { maxPathLength: 40 });
      const target = `/${'t'.repeat(30)}`;
      storage.sync?.mkdir('/a');
      storage.sync?.write(`/a/${'f'.repeat(20)}`, text('kept'));
      storage.sync?.mkdir(target);
      storage.sync?.setTimes(target, { modified: 1_000_000 });
      const dir = root(createWasiHost({ mounts: { '/data': storage } }));
      const open = dir.openAt({}, target.slice(1), { directory: true }, R);
      expect(codeOf(() => dir.renameAt('a', dir, target.slice(1)))).toBe('name-too-long');
      expect(storage.sync?.stat(target)).toMatchObject({ kind: 'directory', modified: 1_000_000 });
      expect(decode(storage.sync?.read(`/a/${'f'.repeat(20)}`) ?? new Uint8Array())).toBe('kept');
      // A descriptor of the target still works, since the directory is still there.
      open.openAt({}, 'new.txt', { create: true }, RW).write(text('n'), 0n);
      expect(storage.sync?.exists(`${target}/new.txt`)).toBe(true);

      const failing = make();
      failing.sync?.mkdir('/a');
      failing.sync?.mkdir('/b');
      const refusing = override(failing.sync as VfsSyncStorage, {
        rename: () => {
          throw new Error('backend down');
        },
      });
      const other = root(createWasiHost({ mounts: { '/data': refusing } }));
      expect(codeOf(() => other.renameAt('a', other, 'b'))).toBe('io');
      expect(failing.sync?.stat('/b').kind).toBe('directory');
      // A file rename that fails leaves an open target writing to storage, not to a detached copy.
      failing.sync?.write('/f', text('f'));
      failing.sync?.write('/g', text('g'));
      const g = other.openAt({}, 'g', {}, RW);
      expect(codeOf(() => other.renameAt('f', other, 'g'))).toBe('io');
      g.write(text('G'), 0n);
      expect(decode(failing.sync?.read('/g') ?? new Uint8Array())).toBe('G');
    }
  });

  it('appends at the current end even when another descriptor wrote meanwhile', () => {
    const storage = memory();
    const dir = root(createWasiHost({ mounts: { '/data': storage } }));
    const appender = dir.openAt({}, 'log', { create: true }, { write: true }).appendViaStream();
    const writer = dir.openAt({}, 'log', {}, { write: true });
    appender.blockingWriteAndFlush(text('x'));
    writer.write(text('YYYY'), 0n);
    appender.blockingWriteAndFlush(text('z'));
    storage.sync.append('/log', text('(other host)'));
    appender.blockingWriteAndFlush(text('!'));
    expect(decode(storage.sync.read('/log'))).toBe('YYYYz(other host)!');
  });

  it('gives file streams pollables that are ready at once (storage calls never wait)', () => {
    const dir = root(createWasiHost({ mounts: { '/data': memory() } }));
    const file = dir.openAt({}, 'f', { create: true }, RW);
    for (const stream of [file.readViaStream(0n), file.writeViaStream(0n), file.appendViaStream()]) {
      const pollable = stream.subscribe();
      expect(pollable.ready()).toBe(true);
      pollable.block();
      (pollable as unknown as Disposable)[Symbol.dispose]();
      (stream as unknown as Disposable)[Symbol.dispose]();
    }
  });

  it('lists a directory without . and .., sorted', () => {
    const storage = memory();
    storage.sync.write('/b', text(''));
    storage.sync.mkdir('/a');
    storage.sync.write('/c', text(''));
    const stream = root(createWasiHost({ mounts: { '/data': storage } })).readDirectory();
    const entries = [];
    for (let e = stream.readDirectoryEntry(); e; e = stream.readDirectoryEntry()) entries.push(e);
    expect(entries).toEqual([
      { name: 'a', type: 'directory' },
      { name: 'b', type: 'regular-file' },
      { name: 'c', type: 'regular-file' },
    ]);
  });

  it('flushes durably on sync, O_SYNC writes and close(), and plainly when a written file is closed', () => {
    const flush = vi.fn();
    const storage = override(memory().sync, { flush });
    const host = createWasiHost({ mounts: { '/data': storage } });
    const durable = { durable: true };
    const file = root(host).openAt({}, 'f', { create: true }, RW);
    file.write(text('x'), 0n);
    file.syncData();
    expect(flush).toHaveBeenLastCalledWith('/f', durable);
    flush.mockClear();
    file.sync();
    expect(flush).toHaveBeenLastCalledWith('/f', durable);
    flush.mockClear();
    root(host).sync(); // a directory's fsync covers the whole mount
    expect(flush).toHaveBeenLastCalledWith(undefined, durable);
    flush.mockClear();
    file.write(text('y'), 1n);
    const reader = root(host).openAt({}, 'f', {}, R);
    drop(file);
    expect(flush).not.toHaveBeenCalled();
    drop(reader);
    // Closing stores what a cache holds back, but does not fsync (as on POSIX).
    expect(flush).toHaveBeenCalledTimes(1);
    expect(flush).toHaveBeenCalledWith('/f');
    flush.mockClear();
    host.close();
    expect(flush).toHaveBeenCalledWith(undefined, durable);

    // O_SYNC / O_DSYNC: every write is durable before it returns.
    flush.mockClear();
    const synced = root(host).openAt({}, 'g', { create: true }, { write: true, dataIntegritySync: true });
    synced.writeViaStream(0n).blockingWriteAndFlush(text('abc'));
    expect(flush).toHaveBeenCalledWith('/g', durable);
  });

  it('O_CREAT never clobbers a file another process created after the lookup', () => {
    const inner = memory().sync;
    let hide = true;
    // Another process creates and writes the file at the host's first storage call for it: a
    // lookup (exists or stat, whichever the host asks) then misses it, and a creation finds it.
    const race = (path: string) => {
      if (path !== '/race' || !hide) return false;
      hide = false;
      inner.write('/race', text('theirs'));
      return true;
    };
    const storage = override(inner, {
      exists: (path) => (race(path) ? false : inner.exists(path)),
      stat: (path) => (race(path) ? inner.stat('/nothing-here') : inner.stat(path)),
      append: (path, data) => {
        race(path);
        return inner.append(path, data);
      },
    });
    const dir = root(createWasiHost({ mounts: { '/data': storage } }));
    const file = dir.openAt({}, 'race', { create: true }, RW);
    expect(hide).toBe(false);
    expect(decode(file.read(100n, 0n)[0])).toBe('theirs');
    // With O_TRUNC as well, the open truncates what the other process wrote, as if it came first.
    hide = true;
    const truncated = dir.openAt({}, 'race', { create: true, truncate: true }, RW);
    expect(hide).toBe(false);
    expect(file.stat().size).toBe(0n);
    drop(truncated);
  });

  it('O_CREAT|O_TRUNC of an existing file works in a full store, and of a new one reports ENOSPC', async () => {
    const storage = limits(memory(), { maxFiles: 1 });
    await storage.write('/file', text('12345'));
    const dir = root(createWasiHost({ mounts: { '/data': storage } }));
    const createTruncate = { create: true, truncate: true };
    expect(dir.openAt({}, 'file', createTruncate, RW).stat().size).toBe(0n);
    expect(codeOf(() => dir.openAt({}, 'new', createTruncate, RW))).toBe('insufficient-space');
    expect(await storage.exists('/new')).toBe(false);
    expect((await storage.list('/')).map((entry) => entry.name)).toEqual(['file']);
  });

  it('O_CREAT|O_EXCL is the storage create: a file another process made after the lookup wins', () => {
    const inner = memory().sync;
    const calls: string[] = [];
    // Another writer of the store creates the file between this host's lookup and its creation.
    const racing = override(inner, {
      exists(path: string) {
        const there = inner.exists(path);
        if (path === '/lock' && !there) inner.write(path, text('theirs'));
        return there;
      },
      create(path: string) {
        calls.push(path);
        inner.create(path);
      },
    });
    const dir = root(createWasiHost({ mounts: { '/data': racing } }));
    expect(codeOf(() => dir.openAt({}, 'lock', { create: true, exclusive: true }, RW))).toBe('exist');
    expect(decode(inner.read('/lock'))).toBe('theirs');
    // Without the race it creates an empty file, through create.
    const mine = dir.openAt({}, 'mine', { create: true, exclusive: true }, RW);
    expect(mine.stat().size).toBe(0n);
    expect(calls).toEqual(['/lock', '/mine']);
    // Plain O_CREAT does not need exclusivity, and keeps its single-call path.
    drop(dir.openAt({}, 'plain', { create: true }, RW));
    expect(calls).toEqual(['/lock', '/mine']);
  });

  it('follows POSIX for open flags on directories and missing paths', () => {
    const storage = memory();
    storage.sync.mkdir('/dir');
    storage.sync.write('/file', text('12345'));
    const dir = root(createWasiHost({ mounts: { '/data': storage } }));
    expect(codeOf(() => dir.openAt({}, 'dir', { create: true }, R))).toBe('is-directory');
    expect(codeOf(() => dir.openAt({}, 'dir', {}, RW))).toBe('is-directory');
    expect(dir.openAt({}, 'dir', { directory: true }, R).getType()).toBe('directory');
    expect(codeOf(() => dir.openAt({}, 'file', { directory: true }, R))).toBe('not-directory');
    expect(codeOf(() => dir.openAt({}, 'file/', {}, R))).toBe('not-directory');
    expect(codeOf(() => dir.openAt({}, 'missing', {}, R))).toBe('no-entry');
    expect(codeOf(() => dir.openAt({}, 'missing/x', { create: true }, RW))).toBe('no-entry');
    expect(codeOf(() => dir.openAt({}, 'file', { create: true, exclusive: true }, RW))).toBe('exist');
    expect(dir.openAt({}, 'file', { truncate: true }, RW).stat().size).toBe(0n);
    // O_CREAT|O_TRUNC asks storage nothing first (see openAt): the same answers all the same.
    const createTruncate = { create: true, truncate: true };
    expect(codeOf(() => dir.openAt({}, 'dir', createTruncate, RW))).toBe('is-directory');
    expect(codeOf(() => dir.openAt({}, 'dir', createTruncate, R))).toBe('is-directory');
    expect(codeOf(() => dir.openAt({}, 'missing/x', createTruncate, RW))).toBe('no-entry');
    expect(codeOf(() => dir.openAt({}, 'file/x', createTruncate, RW))).toBe('not-directory');
    expect(codeOf(() => dir.openAt({}, 'file/', createTruncate, RW))).toBe('not-directory');
    expect(codeOf(() => dir.openAt({}, 'new/', createTruncate, RW))).toBe('invalid');
    expect(storage.sync.exists('/new')).toBe(false);
    expect(storage.sync.stat('/dir').kind).toBe('directory');
    storage.sync.write('/file', text('12345'));
    expect(dir.openAt({}, 'file', createTruncate, RW).stat().size).toBe(0n);
    const file = dir.openAt({}, 'file', {}, RW);
    expect(codeOf(() => file.openAt({}, 'x', {}, R))).toBe('not-directory');
    expect(codeOf(() => file.readDirectory())).toBe('not-directory');
    expect(codeOf(() => dir.read(1n, 0n))).toBe('is-directory');
  });

  it('reports a failed flush at file close from close(), since the guest cannot be told', () => {
    const failure = new Error('store failed');
    let fail = true;
    const storage = override(memory().sync, {
      flush: () => {
        if (fail) throw failure;
      },
    });
    const host = createWasiHost({ mounts: { '/data': storage } });
    const file = root(host).openAt({}, 'f', { create: true }, RW);
    file.write(text('x'), 0n);
    drop(file);
    fail = false;
    expect(() => host.close()).toThrow(failure);
    expect(() => host.close()).not.toThrow();
  });

  it('serves a storage mounted at / and several mounts at once', async () => {
    const rootStorage = memory();
    rootStorage.sync.mkdir('/data');
    const run = await runGuest('notes', { mounts: { '/': rootStorage }, args: ['add', 'at the root'] });
    expect(run.stderr).toBe('');
    expect(decode(rootStorage.sync.read('/data/notes.txt'))).toBe('1: at the root\n');

    const data = memory();
    const other = memory();
    const both = await runGuest('notes', { mounts: { '/other': other, '/data': data }, args: ['add', 'x'] });
    expect(both.exitCode).toBe(0);
    expect(data.sync.exists('/notes.txt')).toBe(true);
    expect(other.sync.list('/')).toEqual([]);
  });

  it('feeds stdin to the guest and captures stdout', async () => {
    const storage = memory();
    const run = await runGuest('notes', {
      mounts: { '/data': storage },
      args: ['import'],
      stdin: 'first line\nsecond line\n',
    });
    expect(run.stdout).toBe('run 1: imported 2 notes\n');
    expect(decode(storage.sync.read('/notes.txt'))).toBe('1: first line\n1: second line\n');
  });

  it('reads stdin from a source called at each read, until it returns null', async () => {
    const storage = memory();
    // One line per call, the last one longer than any read asks for: the rest comes next time.
    const long = `${'x'.repeat(5000)}\n`;
    const chunks = ['first line\n', 'second ', 'line\n', long];
    const asked: number[] = [];
    const run = await runGuest('notes', {
      mounts: { '/data': storage },
      args: ['import'],
      stdin: (maxBytes) => {
        asked.push(maxBytes);
        const chunk = chunks.shift();
        return chunk === undefined ? null : new TextEncoder().encode(chunk);
      },
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('run 1: imported 13 notes\n');
    const notes = decode(storage.sync.read('/notes.txt')).split('\n');
    expect(notes.slice(0, 2)).toEqual(['1: first line', '1: second line']);
    // notes.c reads lines of at most 479 bytes: the 5000 x's arrive as 11 notes.
    expect(notes.slice(2, -1).join('').replace(/1: /g, '')).toBe('x'.repeat(5000));
    expect(asked.length).toBe(5);
    for (const max of asked) expect(max).toBeGreaterThan(0);
    expect(Math.max(...asked)).toBeLessThan(5000);
  });

  it('takes stdin chunks made in another realm (a vm context) as bytes', async () => {
    const storage = memory();
    const chunks = ['first line\n', 'second line\n'];
    const run = await runGuest('notes', {
      mounts: { '/data': storage },
      args: ['import'],
      stdin: () => {
        const chunk = chunks.shift();
        return chunk === undefined
          ? null
          : (runInNewContext('(s) => Uint8Array.from(s, (c) => c.charCodeAt(0))')(chunk) as Uint8Array);
      },
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('run 1: imported 2 notes\n');
  });

  it('reports a stdin source that throws as a failed read, not a trap', async () => {
    const storage = memory();
    const run = await runGuest('notes', {
      mounts: { '/data': storage },
      args: ['import'],
      stdin: () => {
        throw new Error('the pipe broke');
      },
    });
    // fgets sees an error, as at the end of input: nothing imported, and no trap.
    expect(run.stdout).toBe('run 1: imported 0 notes\n');
    expect(run.exitCode).toBe(0);
    // So does a source that returns something other than bytes.
    const wrong = await runGuest('notes', {
      mounts: { '/data': storage },
      args: ['import'],
      stdin: (() => 42) as unknown as () => Uint8Array,
    });
    expect(wrong.stdout).toBe('run 2: imported 0 notes\n');
    expect(wrong.exitCode).toBe(0);
  });
});
