import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Datetime } from '@bytecodealliance/preview2-shim/interfaces/wasi-clocks-wall-clock';
import type {
  Descriptor,
  NewTimestamp,
} from '@bytecodealliance/preview2-shim/interfaces/wasi-filesystem-types';
import { createSyncStorage, hostDirectory, limits } from '@eryx/vfs-core';
import { createWasiHost, type WasiHost } from '@eryx/vfs-core/wasi';
import { memory } from '@eryx/vfs-memory';
import { afterAll, describe, expect, it } from 'vitest';
import { allBackends, type TestStore } from './backends.js';
import { wasiCodeOf as codeOf, drop, R, RW, root, text } from './descriptors.js';

/*
 * Issue #22, item 3: what a guest sets with `set-times` in nanoseconds reads back exactly through
 * `stat`, and a time 100 ns earlier is never silently ignored, on every backend (PostgreSQL and S3
 * through the sync bridge, so the exact times cross its wire both ways).
 */

/** 2024-11-30T20:53:20.123456789Z, every nanosecond digit set. */
const T: Datetime = { seconds: 1_733_000_000n, nanoseconds: 123_456_789 };
const at = (time: Datetime): NewTimestamp => ({ tag: 'timestamp', val: time });
const NO_CHANGE: NewTimestamp = { tag: 'no-change' };
const NOW: NewTimestamp = { tag: 'now' };
/** A stat's time in nanoseconds (jco's type leaves every time optional). */
const ns = (time: Datetime | undefined): bigint => {
  if (!time) throw new Error('stat gave no time');
  return time.seconds * 1_000_000_000n + BigInt(time.nanoseconds);
};

describe.each(allBackends)('times in nanoseconds on $name', (backend) => {
  const stores: TestStore[] = [];
  const hosts: WasiHost[] = [];
  afterAll(async () => {
    for (const host of hosts.splice(0)) host.close();
    for (const store of stores) await store.destroy();
  });

  /** A host on a new store with a file `f`. */
  function setup(): Descriptor {
    const store = backend.store();
    stores.push(store);
    const host = createWasiHost({ mounts: { '/data': store.open() } });
    hosts.push(host);
    const dir = root(host);
    const file = dir.openAt({}, 'f', { create: true }, RW);
    file.write(text('x'), 0n);
    drop(file);
    return dir;
  }

  it('set-times-at in nanoseconds reads back exactly through stat-at, and 100 ns earlier too', () => {
    const dir = setup();
    dir.setTimesAt({}, 'f', at({ ...T, nanoseconds: T.nanoseconds + 11 }), at(T));
    const stat = dir.statAt({}, 'f');
    expect(stat.dataModificationTimestamp).toEqual(T);
    expect(stat.dataAccessTimestamp).toEqual({ ...T, nanoseconds: T.nanoseconds + 11 });
    const earlier = { ...T, nanoseconds: T.nanoseconds - 100 };
    dir.setTimesAt({}, 'f', NO_CHANGE, at(earlier));
    expect(dir.statAt({}, 'f').dataModificationTimestamp).toEqual(earlier);
    // The access time set before stays exact.
    expect(dir.statAt({}, 'f').dataAccessTimestamp).toEqual({ ...T, nanoseconds: T.nanoseconds + 11 });
    // A directory's times too.
    dir.createDirectoryAt('d');
    dir.setTimesAt({}, 'd', NO_CHANGE, at(earlier));
    expect(dir.statAt({}, 'd').dataModificationTimestamp).toEqual(earlier);
  });

  it('set-times through an open descriptor reads back exactly through its stat and stat-at', () => {
    const dir = setup();
    const file = dir.openAt({}, 'f', {}, RW);
    file.setTimes(NO_CHANGE, at(T));
    expect(file.stat().dataModificationTimestamp).toEqual(T);
    const earlier = { ...T, nanoseconds: T.nanoseconds - 100 };
    file.setTimes(NO_CHANGE, at(earlier));
    expect(file.stat().dataModificationTimestamp).toEqual(earlier);
    expect(dir.statAt({}, 'f').dataModificationTimestamp).toEqual(earlier);
    drop(file);
  });

  it('set-times `now` sets the current time, and a write afterwards moves an exact time', () => {
    const dir = setup();
    const before = BigInt(Date.now() - 1) * 1_000_000n;
    dir.setTimesAt({}, 'f', NOW, NOW);
    const now = ns(dir.statAt({}, 'f').dataModificationTimestamp);
    expect(now >= before && now <= BigInt(Date.now() + 1) * 1_000_000n, `${now}`).toBe(true);

    dir.setTimesAt({}, 'f', at(T), at(T));
    const file = dir.openAt({}, 'f', {}, RW);
    file.write(text('y'), 1n);
    // Seen at once (a write buffered by the sync bridge shows in stat), and once stored.
    expect(ns(file.stat().dataModificationTimestamp)).toBeGreaterThan(ns(T) + 1_000_000_000n);
    file.syncData();
    expect(ns(dir.statAt({}, 'f').dataModificationTimestamp)).toBeGreaterThan(ns(T) + 1_000_000_000n);
    drop(file);
  });
});

describe('times in nanoseconds the host keeps itself', () => {
  it('a time before 1970 counts back from the second before it', () => {
    const storage = memory();
    storage.sync.write('/f', text('x'));
    storage.sync.setTimes('/f', { modified: -1n, accessed: -1_000_000_001n });
    const stat = root(createWasiHost({ mounts: { '/data': storage } })).statAt({}, 'f');
    expect(stat.dataModificationTimestamp).toEqual({ seconds: -1n, nanoseconds: 999_999_999 });
    expect(stat.dataAccessTimestamp).toEqual({ seconds: -2n, nanoseconds: 999_999_999 });
  });

  it('a rename refused after the empty target was removed makes it again with its exact times', () => {
    // A limit refuses the rename once the host removed the empty target (see host.test.ts).
    const storage = limits(memory(), { maxPathLength: 40 });
    const target = `/${'t'.repeat(30)}`;
    storage.sync?.mkdir('/a');
    storage.sync?.write(`/a/${'f'.repeat(20)}`, text('kept'));
    storage.sync?.mkdir(target);
    storage.sync?.setTimes(target, { modified: ns(T), accessed: ns(T) - 100n });
    const dir = root(createWasiHost({ mounts: { '/data': storage } }));
    expect(codeOf(() => dir.renameAt('a', dir, target.slice(1)))).toBe('name-too-long');
    expect(storage.sync?.stat(target)).toMatchObject({ modifiedNs: ns(T), accessedNs: ns(T) - 100n });
  });

  it('an unlinked open file of a host directory (a copy in memory) keeps exact times until written', () => {
    const temp = mkdtempSync(join(tmpdir(), 'eryx-times-'));
    try {
      const dir = root(createWasiHost({ mounts: { '/data': hostDirectory(temp) } }));
      const file = dir.openAt({}, 'f', { create: true }, RW);
      file.write(text('x'), 0n);
      dir.unlinkFileAt('f');
      file.setTimes(at(T), at(T));
      expect(file.stat()).toMatchObject({ dataModificationTimestamp: T, dataAccessTimestamp: T });
      const earlier = { ...T, nanoseconds: T.nanoseconds - 100 };
      file.setTimes(NO_CHANGE, at(earlier));
      expect(file.stat()).toMatchObject({ dataModificationTimestamp: earlier, dataAccessTimestamp: T });
      file.write(text('y'), 1n);
      expect(ns(file.stat().dataModificationTimestamp)).toBeGreaterThan(ns(T) + 1_000_000_000n);
      expect(file.stat().dataAccessTimestamp).toEqual(T);
      drop(file);
      expect(codeOf(() => dir.openAt({}, 'f', {}, R))).toBe('no-entry');
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });

  it('on stores without exact times, a guest that sets the time it was shown keeps it; 100 ns earlier moves it', () => {
    const temp = mkdtempSync(join(tmpdir(), 'eryx-times-'));
    // Memory with the capability taken away stores doubles of milliseconds; a host directory, microseconds.
    const inner = memory().sync;
    const msOnly = createSyncStorage({
      ...inner,
      capabilities: { ...inner.capabilities, nanosecondTimes: false },
    });
    try {
      for (const [name, storage] of [
        ['milliseconds', msOnly],
        ['host directory', hostDirectory(temp)],
      ] as const) {
        const dir = root(createWasiHost({ mounts: { '/data': storage } }));
        drop(dir.openAt({}, 'f', { create: true }, RW));
        for (const time of [
          T,
          { seconds: 1_733_000_000n, nanoseconds: 123_456_123 },
          { seconds: -3n, nanoseconds: 7 },
        ]) {
          dir.setTimesAt({}, 'f', NO_CHANGE, at(time));
          const shown = dir.statAt({}, 'f').dataModificationTimestamp;
          expect(ns(shown) <= ns(time), `${name}: ${ns(time)} shown as ${ns(shown)}`).toBe(true);
          dir.setTimesAt({}, 'f', NO_CHANGE, at(shown!));
          expect(dir.statAt({}, 'f').dataModificationTimestamp, `${name}: set again`).toEqual(shown);
          const earlier = ns(shown) - 100n;
          const seconds =
            earlier / 1_000_000_000n - (earlier < 0n && earlier % 1_000_000_000n !== 0n ? 1n : 0n);
          dir.setTimesAt(
            {},
            'f',
            NO_CHANGE,
            at({ seconds, nanoseconds: Number(earlier - seconds * 1_000_000_000n) }),
          );
          const after = ns(dir.statAt({}, 'f').dataModificationTimestamp);
          expect(after < ns(shown), `${name}: ${earlier} stored as ${after}, was ${ns(shown)}`).toBe(true);
        }
      }
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });
});
