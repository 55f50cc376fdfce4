import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Descriptor } from '@bytecodealliance/preview2-shim/interfaces/wasi-filesystem-types';
import { hostDirectory, type VfsStorage, type VfsSyncStorage } from '@eryx/vfs-core';
import { createWasiHost, ORPHANS_DIRECTORY, sweepOrphans, type WasiHost } from '@eryx/vfs-core/wasi';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { allBackends, type TestStore } from './backends.js';
import { wasiCodeOf as codeOf, decode, drop, R, RW, root, text } from './descriptors.js';

/*
 * Issue #18, class 7: a file unlinked (or replaced by a rename) while open stays in storage as an
 * orphan under ORPHANS_DIRECTORY, so it stays under the store's limits and never lives whole in host
 * memory; orphans are collected at the last close, at the host's close, and after a crash by
 * sweepOrphans. Driven through the host's `wasi:filesystem` methods, as jco's generated code calls
 * them, on every backend.
 */

const MiB = 1024 * 1024;
const RESERVED = ORPHANS_DIRECTORY.slice(1);

/** The storage a test store hands out, in its synchronous form. */
function syncOf(storage: VfsStorage | VfsSyncStorage): VfsSyncStorage {
  return 'sync' in storage && storage.sync ? storage.sync : (storage as VfsSyncStorage);
}

/** What the host asked of a storage: each call, and the bytes its reads returned. */
interface Recorder {
  calls: string[];
  bytesRead: number;
  reset(): void;
}

/** `storage`, recording every call the host makes and the bytes it reads back. */
function recording(storage: VfsSyncStorage): [VfsSyncStorage, Recorder] {
  const recorder: Recorder = {
    calls: [],
    bytesRead: 0,
    reset() {
      this.calls = [];
      this.bytesRead = 0;
    },
  };
  const proxy = new Proxy(storage, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        recorder.calls.push(String(property));
        const result = value.apply(target, args);
        if (result instanceof Uint8Array) recorder.bytesRead += result.length;
        return result;
      };
    },
  });
  return [proxy, recorder];
}

/** Bytes of every file of a store, orphans included. */
function usage(storage: VfsSyncStorage): number {
  let bytes = 0;
  const pending = ['/'];
  while (pending.length > 0) {
    const dir = pending.pop() as string;
    for (const entry of storage.list(dir)) {
      const path = dir === '/' ? `/${entry.name}` : `${dir}/${entry.name}`;
      if (entry.kind === 'directory') pending.push(path);
      else bytes += entry.size;
    }
  }
  return bytes;
}

const orphanNames = (storage: VfsSyncStorage): string[] =>
  storage.exists(ORPHANS_DIRECTORY) ? storage.list(ORPHANS_DIRECTORY).map((entry) => entry.name) : [];

const names = (dir: Descriptor): string[] => {
  const stream = dir.readDirectory();
  const out: string[] = [];
  for (let entry = stream.readDirectoryEntry(); entry; entry = stream.readDirectoryEntry())
    out.push(entry.name);
  return out;
};

/** Writes `size` bytes of `byte` through a descriptor, 1 MiB at a time. */
function fill(file: Descriptor, size: number, byte: number): void {
  const block = new Uint8Array(Math.min(size, MiB)).fill(byte);
  for (let at = 0; at < size; at += block.length) {
    file.write(block.subarray(0, Math.min(block.length, size - at)), BigInt(at));
  }
}

describe.each(allBackends)('files unlinked while open, on $name', (backend) => {
  const stores: TestStore[] = [];
  const hosts: WasiHost[] = [];
  afterEach(async () => {
    for (const host of hosts.splice(0)) {
      try {
        host.close();
      } catch {
        // A test may have left a host to "crash"; its close is only cleanup here.
      }
    }
    for (const store of stores.splice(0)) await store.destroy();
  });

  /** A fresh store, its (recorded) synchronous storage, and a host mounting it at /data. */
  function setup(options?: { maxBytes?: number }) {
    const store = backend.store(options);
    stores.push(store);
    const storage = syncOf(store.open());
    const [mounted, recorder] = recording(storage);
    const host = createWasiHost({ mounts: { '/data': mounted } });
    hosts.push(host);
    return { store, storage, recorder, host, dir: root(host) };
  }

  it("keeps an unlinked open file under the store's maxBytes (ENOSPC, nothing in host memory)", () => {
    const { storage, dir } = setup({ maxBytes: MiB });
    const file = dir.openAt({}, 'victim', { create: true }, RW);
    file.write(text('kept'), 0n);
    dir.unlinkFileAt('victim');
    const before = process.memoryUsage().arrayBuffers;
    // The sync bridge buffers writes and stores them (meeting the store's limits) at the latest at
    // fsync, as it does for any file; the other backends refuse the write itself.
    const writeAndSync = (file: Descriptor, data: Uint8Array, offset = 0) =>
      codeOf(() => {
        file.write(data, BigInt(offset));
        file.sync();
      });
    expect(writeAndSync(file, new Uint8Array(2 * MiB))).toBe('insufficient-space');
    expect(codeOf(() => file.setSize(BigInt(1.5 * 1024 * MiB)))).toBe('insufficient-space');
    expect(writeAndSync(file, text('!'), 1024 * MiB)).toBe('insufficient-space');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * MiB);
    // What fits still goes through, into storage.
    expect(file.write(new Uint8Array(100 * 1024).fill(7), 4n)).toBe(BigInt(100 * 1024));
    expect(file.stat().size).toBe(BigInt(4 + 100 * 1024));
    expect(decode(file.read(4n, 0n)[0])).toBe('kept');
    expect(usage(storage)).toBe(4 + 100 * 1024);
    // The rename over an open file keeps it under the limit too.
    const other = dir.openAt({}, 'other', { create: true }, RW);
    dir.openAt({}, 'next', { create: true }, RW).write(text('next'), 0n);
    dir.renameAt('next', dir, 'other');
    expect(writeAndSync(other, new Uint8Array(MiB))).toBe('insufficient-space');
  });

  it('never reads an open file into memory to unlink or replace it; a huge size stays sparse', () => {
    const { dir, recorder } = setup({ maxBytes: 4 * 1024 * MiB });
    const size = 16 * MiB;
    const big = dir.openAt({}, 'big', { create: true }, RW);
    fill(big, size, 1);
    const target = dir.openAt({}, 'target', { create: true }, RW);
    fill(target, size, 2);
    const source = dir.openAt({}, 'source', { create: true }, RW);
    source.write(text('source'), 0n);

    recorder.reset();
    dir.unlinkFileAt('big');
    dir.renameAt('source', dir, 'target');
    expect(recorder.bytesRead).toBe(0);
    expect(recorder.calls).not.toContain('read');

    const before = process.memoryUsage().arrayBuffers;
    big.setSize(BigInt(1024 * MiB));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * MiB);
    expect(big.stat().size).toBe(BigInt(1024 * MiB));
    expect([...big.read(4n, BigInt(1024 * MiB - 4))[0]]).toEqual([0, 0, 0, 0]);
    expect([...big.read(2n, BigInt(size - 1))[0]]).toEqual([1, 0]);
    expect([...target.read(2n, BigInt(size - 2))[0]]).toEqual([2, 2]);
    expect(target.stat().size).toBe(BigInt(size));
  });

  it('keeps POSIX semantics: the old descriptors work, the path is gone, a new file there is another file', () => {
    const { storage, dir } = setup();
    const file = dir.openAt({}, 'f', { create: true }, RW);
    file.write(text('hello'), 0n);
    const reader = dir.openAt({}, 'f', {}, R);
    dir.unlinkFileAt('f');

    expect(file.write(text('HELLO world'), 0n)).toBe(11n);
    expect(decode(reader.read(100n, 0n)[0])).toBe('HELLO world');
    expect(file.stat()).toMatchObject({ type: 'regular-file', size: 11n, linkCount: 0n });
    file.setSize(5n);
    file.appendViaStream().blockingWriteAndFlush(text('!'));
    expect(decode(reader.read(100n, 0n)[0])).toBe('HELLO!');
    file.setTimes(
      { tag: 'no-change' },
      { tag: 'timestamp', val: { seconds: 1_000_000_000n, nanoseconds: 0 } },
    );
    expect(reader.stat().dataModificationTimestamp?.seconds).toBe(1_000_000_000n);
    file.sync();

    expect(names(dir)).toEqual([]);
    expect(codeOf(() => dir.statAt({}, 'f'))).toBe('no-entry');
    expect(codeOf(() => dir.openAt({}, 'f', {}, R))).toBe('no-entry');
    expect(storage.exists('/f')).toBe(false);

    const fresh = dir.openAt({}, 'f', { create: true, exclusive: true }, RW);
    expect(fresh.stat().size).toBe(0n);
    fresh.write(text('new'), 0n);
    expect(fresh.isSameObject(file)).toBe(false);
    expect(file.isSameObject(reader)).toBe(true);
    expect(decode(file.read(100n, 0n)[0])).toBe('HELLO!');
    expect(decode(storage.read('/f'))).toBe('new');

    // Replaced by a rename: the same, and the new file is the one at the path.
    const old = dir.openAt({}, 'target', { create: true }, RW);
    old.write(text('old target'), 0n);
    dir.openAt({}, 'next', { create: true }, RW).write(text('next'), 0n);
    dir.renameAt('next', dir, 'target');
    expect(decode(old.read(100n, 0n)[0])).toBe('old target');
    old.write(text('OLD'), 0n);
    old.setSize(3n);
    expect(old.stat()).toMatchObject({ size: 3n, linkCount: 0n });
    expect(decode(old.read(100n, 0n)[0])).toBe('OLD');
    expect(dir.statAt({}, 'target').size).toBe(4n);
    expect(decode(dir.openAt({}, 'target', {}, R).read(100n, 0n)[0])).toBe('next');
    expect(names(dir)).toEqual(['f', 'target']);
    expect(orphanNames(storage)).toHaveLength(2);
  });

  it('hides the orphan directory from the guest: listings, lookups, creation, renames', () => {
    const { storage, dir } = setup();
    const file = dir.openAt({}, 'f', { create: true }, RW);
    dir.unlinkFileAt('f');
    const [orphan] = orphanNames(storage);
    expect(orphan).toBeDefined();
    const inside = `${RESERVED}/${orphan}`;

    expect(names(dir)).toEqual([]);
    for (const path of [RESERVED, `${RESERVED}/`, `./${RESERVED}`, inside, `${inside}/`]) {
      expect(
        codeOf(() => dir.statAt({}, path)),
        path,
      ).toBe('no-entry');
    }
    expect(codeOf(() => dir.openAt({}, RESERVED, { directory: true }, R))).toBe('no-entry');
    expect(codeOf(() => dir.openAt({}, inside, {}, RW))).toBe('no-entry');
    expect(codeOf(() => dir.openAt({}, `${RESERVED}/new`, { create: true }, RW))).toBe('no-entry');
    expect(codeOf(() => dir.unlinkFileAt(inside))).toBe('no-entry');
    expect(codeOf(() => dir.removeDirectoryAt(RESERVED))).toBe('no-entry');
    expect(codeOf(() => dir.renameAt(inside, dir, 'stolen'))).toBe('no-entry');
    expect(codeOf(() => dir.renameAt(RESERVED, dir, 'stolen'))).toBe('no-entry');
    expect(codeOf(() => dir.setTimesAt({}, inside, { tag: 'now' }, { tag: 'now' }))).toBe('no-entry');
    expect(codeOf(() => dir.metadataHashAt({}, inside))).toBe('no-entry');
    expect(codeOf(() => dir.readlinkAt(inside))).toBe('no-entry');
    expect(codeOf(() => dir.linkAt({}, inside, dir, 'hard'))).toBe('no-entry');
    // Making the reserved name is refused outright, whether or not it exists in storage.
    expect(codeOf(() => dir.createDirectoryAt(RESERVED))).toBe('not-permitted');
    expect(codeOf(() => dir.openAt({}, RESERVED, { create: true }, RW))).toBe('not-permitted');
    expect(codeOf(() => dir.openAt({}, RESERVED, { create: true, truncate: true }, RW))).toBe(
      'not-permitted',
    );
    dir.openAt({}, 'g', { create: true }, RW);
    expect(codeOf(() => dir.renameAt('g', dir, RESERVED))).toBe('not-permitted');
    expect(codeOf(() => dir.renameAt('g', dir, inside))).toBe('no-entry');
    expect(codeOf(() => dir.symlinkAt('g', RESERVED))).toBe('not-permitted');
    expect(storage.exists('/g')).toBe(true);
    expect(storage.list(ORPHANS_DIRECTORY).map((e) => e.name)).toEqual([orphan]);
    // Only the mount root's entry is reserved: the name is ordinary anywhere else.
    dir.createDirectoryAt('sub');
    dir.createDirectoryAt(`sub/${RESERVED}`);
    expect(names(dir.openAt({}, 'sub', { directory: true }, R))).toEqual([RESERVED]);
    drop(file);
  });

  it('collects an orphan at the last close: store usage is back to what it was', () => {
    const { storage, dir } = setup();
    dir.openAt({}, 'kept', { create: true }, RW).write(text('kept'), 0n);
    const before = usage(storage);

    const a = dir.openAt({}, 'f', { create: true }, RW);
    fill(a, 64 * 1024, 3);
    const b = dir.openAt({}, 'f', {}, R);
    dir.unlinkFileAt('f');
    expect(usage(storage)).toBe(before + 64 * 1024);
    drop(a);
    expect(orphanNames(storage)).toHaveLength(1);
    expect(b.read(1n, 0n)[0][0]).toBe(3);
    drop(b);
    expect(orphanNames(storage)).toEqual([]);
    expect(storage.exists(ORPHANS_DIRECTORY)).toBe(false);
    expect(usage(storage)).toBe(before);

    const old = dir.openAt({}, 'target', { create: true }, RW);
    fill(old, 32 * 1024, 4);
    dir.openAt({}, 'next', { create: true }, RW);
    dir.renameAt('next', dir, 'target');
    expect(usage(storage)).toBe(before + 32 * 1024);
    drop(old);
    expect(storage.exists(ORPHANS_DIRECTORY)).toBe(false);
    expect(usage(storage)).toBe(before);
  });

  it("deletes a host's remaining orphans when it closes", () => {
    const { storage, host, dir } = setup();
    const before = usage(storage);
    const file = dir.openAt({}, 'f', { create: true }, RW);
    file.write(new Uint8Array(1000), 0n);
    dir.unlinkFileAt('f');
    expect(orphanNames(storage)).toHaveLength(1);
    host.close();
    expect(storage.exists(ORPHANS_DIRECTORY)).toBe(false);
    expect(usage(storage)).toBe(before);
  });

  it('after a crash, sweepOrphans collects what a dead host left, and never a live orphan', async () => {
    const { store, storage, dir } = setup();
    const before = usage(storage);
    const file = dir.openAt({}, 'f', { create: true }, RW);
    file.write(new Uint8Array(5000).fill(9), 0n);
    dir.unlinkFileAt('f');
    // The host "crashes": it is never closed. Another process opens the store.
    const elsewhere = store.open();
    const check = syncOf(elsewhere);
    expect(await sweepOrphans(elsewhere)).toEqual({ removed: 0, bytes: 0 });
    expect(file.read(1n, 4999n)[0][0]).toBe(9);
    expect(await sweepOrphans(elsewhere, { olderThanMs: 0 })).toEqual({ removed: 1, bytes: 5000 });
    expect(check.exists(ORPHANS_DIRECTORY)).toBe(false);
    expect(usage(check)).toBe(before);
  });

  it("a new host sweeps a dead host's stale orphans the first time it makes one of its own", () => {
    const { storage, dir } = setup();
    const week = 7 * 24 * 3600 * 1000;
    const stale = `${(Date.now() - week).toString(36)}-deadbeef-1`;
    const fresh = `${Date.now().toString(36)}-cafecafe-1`;
    storage.mkdir(ORPHANS_DIRECTORY);
    storage.write(`${ORPHANS_DIRECTORY}/${stale}`, new Uint8Array(700));
    storage.setTimes(`${ORPHANS_DIRECTORY}/${stale}`, { modified: Date.now() - week });
    storage.write(`${ORPHANS_DIRECTORY}/${fresh}`, new Uint8Array(300));

    const file = dir.openAt({}, 'f', { create: true }, RW);
    dir.unlinkFileAt('f');
    const left = orphanNames(storage);
    expect(left).not.toContain(stale);
    expect(left).toContain(fresh);
    expect(left).toHaveLength(2);
    drop(file);
    expect(orphanNames(storage)).toEqual([fresh]);
  });

  it('adds no storage call to the unlink of a file nobody has open', () => {
    const { dir, recorder } = setup();
    drop(dir.openAt({}, 'f', { create: true }, RW));
    recorder.reset();
    dir.unlinkFileAt('f');
    expect(recorder.calls).toEqual(['stat', 'delete']);
  });
});

describe('files unlinked while open, in a host directory', () => {
  const temp = mkdtempSync(join(tmpdir(), 'eryx-orphans-'));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('keeps them in host memory within a bound, and never writes into the host directory', () => {
    const dir = root(createWasiHost({ mounts: { '/host': hostDirectory(temp) } }));
    writeFileSync(join(temp, 'small'), 'small');
    const small = dir.openAt({}, 'small', {}, RW);
    dir.unlinkFileAt('small');
    small.write(text('SMALL and more'), 0n);
    expect(decode(small.read(100n, 0n)[0])).toBe('SMALL and more');
    expect(small.stat().linkCount).toBe(0n);
    expect(readdirSync(temp)).toEqual([]);
    // Growing it past the bound is ENOSPC, allocating nothing.
    expect(codeOf(() => small.setSize(BigInt(1024 * MiB)))).toBe('insufficient-space');
    expect(codeOf(() => small.write(text('!'), BigInt(1024 * MiB)))).toBe('insufficient-space');
    expect(decode(small.read(100n, 0n)[0])).toBe('SMALL and more');

    // An open file too large to keep in memory cannot be unlinked or replaced (EBUSY), and stays.
    const fd = openSync(join(temp, 'huge'), 'w');
    ftruncateSync(fd, 4 * 1024 * MiB);
    closeSync(fd);
    const huge = dir.openAt({}, 'huge', {}, R);
    expect(codeOf(() => dir.unlinkFileAt('huge'))).toBe('busy');
    writeFileSync(join(temp, 'other'), 'other');
    expect(codeOf(() => dir.renameAt('other', dir, 'huge'))).toBe('busy');
    expect(statSync(join(temp, 'huge')).size).toBe(4 * 1024 * MiB);
    expect(huge.stat().linkCount).toBe(1n);
    drop(huge);
    dir.unlinkFileAt('huge');
    expect(readdirSync(temp)).toEqual(['other']);
  });
});
