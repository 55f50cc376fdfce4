import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DirtyExtents } from '../src/bridge/extents.js';
import type { SyncBridge, SyncBridgeOptions } from '../src/bridge/index.js';
import { Decoder, Encoder, type Value } from '../src/bridge/protocol.js';
import type { VfsStorage, VfsSyncStorage } from '../src/index.js';
import { ensureDist } from './build-dist.js';

// The bridge's worker loads the built package, so the tests use the built package throughout.
ensureDist();
const core = (await import(
  new URL('../dist/index.js', import.meta.url).href
)) as typeof import('../src/index.js');
const { isVfsError, nsToMs, msAtOrBefore, STORAGE_OPERATIONS, toAsync } = core;
const { createSyncBridge, serveStorage } = (await import(
  new URL('../dist/bridge/index.js', import.meta.url).href
)) as typeof import('../src/bridge/index.js');

const fixtureUrl = new URL('./fixtures/async-map-backend.mjs', import.meta.url);
const fixturePath = fileURLToPath(fixtureUrl);
interface FixtureModule {
  mapBackend(options?: FixtureOptions): VfsStorage;
  COUNTER: { ops: number; writes: number; bytesWritten: number; reads: number; stats: number; lists: number };
}
interface FixtureOptions {
  msTimes?: boolean;
  counters?: SharedArrayBuffer;
  mirror?: string;
  delay?: number;
  failStartup?: string;
  hangStartup?: boolean;
}
const fixture = (await import(fixtureUrl.href)) as FixtureModule;
const { COUNTER } = fixture;

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const open: SyncBridge[] = [];
function bridge(options: SyncBridgeOptions = {}, backend: FixtureOptions = {}): SyncBridge {
  const b = createSyncBridge({ module: fixturePath, export: 'mapBackend', options: backend }, options);
  open.push(b);
  return b;
}
afterEach(() => {
  for (const b of open.splice(0)) {
    try {
      b.close();
    } catch {
      // Tests that break the bridge on purpose leave it failing.
    }
  }
});

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

function expectCode(fn: () => unknown, code: string): void {
  const error = caught(fn);
  expect(isVfsError(error), String(error)).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

/** Compares bytes without a deep-equality walk over millions of elements. */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected)).toBe(0);
}

function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('sync bridge: operations', { timeout: 60_000 }, () => {
  it('serves every operation synchronously', () => {
    const b = bridge();
    expect(b.capabilities.nativeAppend).toBe(true);
    expect(b.exists('/')).toBe(true);
    b.mkdir('/d');
    b.write('/d/a', enc('hello'));
    expect(dec(b.read('/d/a'))).toBe('hello');
    b.writeAt('/d/a', 5, enc(' world'));
    expect(dec(b.readAt('/d/a', 3, 5))).toBe('lo wo');
    expect(b.append('/d/a', enc('!'))).toBe(11);
    expect(dec(b.read('/d/a'))).toBe('hello world!');
    b.setSize('/d/a', 5);
    expect(dec(b.read('/d/a'))).toBe('hello');
    b.setSize('/d/a', 7);
    expect([...b.read('/d/a')]).toEqual([...enc('hello'), 0, 0]);
    const meta = b.stat('/d/a');
    expect(meta).toMatchObject({ kind: 'file', size: 7 });
    expect(typeof meta.modified).toBe('number');
    expect(b.stat('/d').kind).toBe('directory');
    b.writeAt('/d/b', 2, enc('x'));
    expect([...b.read('/d/b')]).toEqual([0, 0, 120]);
    expect(b.list('/d').sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { name: 'a', kind: 'file', size: 7 },
      { name: 'b', kind: 'file', size: 3 },
    ]);
    b.setTimes('/d/a', { modified: 1_000, accessed: 2_000 });
    expect(b.stat('/d/a')).toMatchObject({ modified: 1_000, accessed: 2_000 });
    b.rename('/d', '/e');
    expect(b.exists('/d')).toBe(false);
    expect(dec(b.readAt('/e/a', 0, 5))).toBe('hello');
    b.delete('/e/a');
    b.delete('/e/b');
    b.rmdir('/e');
    expect(b.list('/')).toEqual([]);
    expectCode(() => b.readAt('/', 0, 0), 'is-a-directory');
    expectCode(() => b.readAt('/', 0, 10), 'is-a-directory');
  });

  it('normalizes and validates arguments like createSyncStorage', () => {
    const b = bridge();
    b.mkdir('/x/../y/');
    expect(b.exists('/y')).toBe(true);
    expectCode(() => b.stat('relative'), 'invalid-path');
    expectCode(() => b.readAt('/y', -1, 1), 'invalid-offset');
    expectCode(() => b.write('/y/f', 'text' as unknown as Uint8Array), 'invalid-argument');
  });

  it('reports backend errors with their code, path, message and cause', async () => {
    const b = bridge();
    const direct = fixture.mapBackend();
    b.write('/f', enc('x'));
    await direct.write('/f', enc('x'));
    const cases: [string, () => unknown, () => Promise<unknown>][] = [
      ['not-found', () => b.stat('/missing'), () => direct.stat('/missing')],
      ['not-found', () => b.write('/no/f', enc('x')), () => direct.write('/no/f', enc('x'))],
      ['already-exists', () => b.mkdir('/f'), () => direct.mkdir('/f')],
      ['not-a-directory', () => b.list('/f'), () => direct.list('/f')],
      ['not-a-directory', () => b.writeAt('/f/g', 0, enc('x')), () => direct.writeAt('/f/g', 0, enc('x'))],
      ['is-a-directory', () => b.read('/'), () => direct.read('/')],
      ['busy', () => b.rmdir('/'), () => direct.rmdir('/')],
      ['invalid-path', () => b.rename('/', '/z'), () => direct.rename('/', '/z')],
      ['io', () => b.stat('/__plain'), () => direct.stat('/__plain')],
    ];
    b.mkdir('/full');
    b.write('/full/x', enc('1'));
    await direct.mkdir('/full');
    await direct.write('/full/x', enc('1'));
    cases.push(['directory-not-empty', () => b.rmdir('/full'), () => direct.rmdir('/full')]);
    for (const [code, viaBridge, viaDirect] of cases) {
      const error = caught(viaBridge) as Error & { code: string; path?: string };
      const expected = (await viaDirect().then(
        () => undefined,
        (e: unknown) => e,
      )) as Error & { code: string; path?: string };
      if (code === 'invalid-path') {
        // Checked by the backend as `busy` first (root), the same on both sides.
        expect(error.code).toBe(expected.code);
      } else {
        expect(error.code).toBe(code);
      }
      expect(isVfsError(error)).toBe(true);
      expect(error.name).toBe('VfsError');
      expect(error.message).toBe(expected.message);
      expect(error.path).toBe(expected.path);
      expect((error.cause as Error | undefined)?.message).toBe(
        (expected.cause as Error | undefined)?.message,
      );
    }
    expect(((caught(() => b.stat('/__plain')) as Error).cause as Error).message).toBe('plain failure');
  });

  it('reports startup failures', () => {
    const error = caught(() => createSyncBridge({ module: join(tmpdir(), 'no-such-module.mjs') })) as Error;
    expect(isVfsError(error, 'io')).toBe(true);
    expect(error.message).toMatch(/no-such-module/);
    expectCode(() => createSyncBridge({ module: fixtureUrl, export: 'nothing' }), 'invalid-argument');
    const failed = caught(() =>
      createSyncBridge({
        module: fixtureUrl.href,
        export: 'mapBackend',
        options: { failStartup: 'no volume' },
      }),
    ) as Error;
    expect(isVfsError(failed, 'invalid-argument')).toBe(true);
    expect(failed.message).toBe('invalid-argument: no volume');
    expectCode(() => createSyncBridge({ module: fixturePath }, { cacheBytes: -1 }), 'invalid-argument');
    const unclonable = caught(() =>
      createSyncBridge({ module: fixturePath, options: { f: () => 1 } }),
    ) as Error;
    expect(isVfsError(unclonable, 'io')).toBe(true);
  });

  it('gives up on a backend that is never built', () => {
    const started = Date.now();
    const error = caught(() =>
      createSyncBridge(
        { module: fixturePath, export: 'mapBackend', options: { hangStartup: true } },
        { startupTimeout: 300 },
      ),
    ) as Error;
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(isVfsError(error, 'io')).toBe(true);
    expect(error.message).toMatch(/did not answer while starting within 300 ms/);
  });

  it('fails every call after close', () => {
    const b = bridge();
    b.close();
    b.close();
    expectCode(() => b.stat('/'), 'io');
    expectCode(() => b.flush(), 'io');
  });
});

describe('sync bridge: write buffer', () => {
  it('merges writes into sorted, disjoint extents that read back like a flat file', () => {
    for (let seed = 1; seed <= 50; seed++) {
      let x = seed;
      const rand = (n: number) => {
        x = (x * 1103515245 + 12345) >>> 0;
        return (x >>> 8) % n;
      };
      const extents = new DirtyExtents();
      const flat = new Uint8Array(600);
      const written = new Uint8Array(600);
      for (let step = 0; step < 80; step++) {
        const offset = rand(500);
        const data = pattern(rand(3) === 0 ? rand(100) + 1 : rand(8) + 1, seed * 100 + step);
        extents.write(offset, data);
        flat.set(data, offset);
        written.fill(1, offset, offset + data.length);
        const out = new Uint8Array(600);
        extents.overlay(out, 0);
        expectBytes(out, flat);
        expect(extents.bytes).toBe(written.reduce((n, b) => n + b, 0));
        const list = extents.list;
        for (let i = 1; i < list.length; i++) {
          expect(list[i]!.offset).toBeGreaterThan(list[i - 1]!.offset + list[i - 1]!.length);
        }
        const a = rand(550);
        const b = a + rand(50);
        expect(extents.covers(a, b)).toBe(written.subarray(a, b).every((v) => v === 1));
      }
    }
  });
});

describe('sync bridge: wire', () => {
  it('pairs every answer with its request over many quick round trips', () => {
    const b = bridge();
    b.mkdir('/yes');
    const paths = ['/yes', '/no'];
    let wrong = 0;
    for (let i = 0; i < 20_000; i++) {
      if (b.exists(paths[i % 2]!) !== (i % 2 === 0)) wrong++;
    }
    expect(wrong).toBe(0);
    expectCode(() => b.rmdir('/no'), 'not-found');
  });
});

describe('sync bridge: times in nanoseconds', () => {
  /** 2024-11-30T20:53:20.123456789Z, every nanosecond digit set. */
  const N = 1_733_000_000_123_456_789n;

  it('carries a bigint as a signed 64-bit value (tag 9), both ends of the range', () => {
    const roundTrip = (value: Value) => {
      const { parts } = new Encoder().value(value).finish();
      return new Decoder(Buffer.concat(parts)).value();
    };
    for (const n of [0n, -1n, N, 2n ** 63n - 1n, -(2n ** 63n)]) expect(roundTrip(n)).toBe(n);
    // Pinned: a worker and a caller of different versions must agree on the bytes.
    expect([...Buffer.concat(new Encoder().value(-2n).finish().parts)]).toEqual([
      9, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    expect(roundTrip({ modified: N, accessed: 1.5, modifiedNs: N })).toEqual({
      modified: N,
      accessed: 1.5,
      modifiedNs: N,
    });
  });

  it("declares the store's nanosecondTimes and passes exact times both ways", () => {
    const b = bridge();
    expect(b.capabilities.nanosecondTimes).toBe(true);
    b.write('/f', enc('x'));
    b.setTimes('/f', { modified: N, accessed: N + 1n });
    expect(b.stat('/f')).toMatchObject({
      modified: nsToMs(N),
      modifiedNs: N,
      accessed: nsToMs(N + 1n),
      accessedNs: N + 1n,
    });
    b.setTimes('/f', { modified: N - 100n });
    expect(b.stat('/f')).toMatchObject({ modifiedNs: N - 100n, accessedNs: N + 1n });
    b.setTimes('/f', { modified: 1_000.5 });
    const meta = b.stat('/f');
    expect(meta.modified).toBe(1_000.5);
    expect('modifiedNs' in meta).toBe(false);
  });

  it('never shows an exact time that buffered writes will move', () => {
    const b = bridge();
    b.write('/f', enc('x'));
    b.setTimes('/f', { modified: N, accessed: N });
    b.writeAt('/f', 1, enc('y'));
    const buffered = b.stat('/f');
    expect(buffered.size).toBe(2);
    expect(buffered.modified).toBeGreaterThan(nsToMs(N));
    expect(buffered.modifiedNs).toBeUndefined();
    expect(buffered.accessedNs).toBeUndefined();
    b.flush('/f');
    const stored = b.stat('/f');
    expect(stored.modifiedNs).toBeUndefined();
    expect(stored.accessedNs).toBeUndefined();
    // And a time set after buffered writes is the one that stands.
    b.writeAt('/f', 0, enc('z'));
    b.setTimes('/f', { modified: N });
    expect(b.stat('/f').modifiedNs).toBe(N);
    b.flush('/f');
    expect(b.stat('/f').modifiedNs).toBe(N);
  });

  it('gives a store of milliseconds only a double, never a bigint', () => {
    const b = bridge({}, { msTimes: true });
    expect(b.capabilities.nanosecondTimes).toBe(false);
    b.write('/f', enc('x'));
    b.setTimes('/f', { modified: N });
    const meta = b.stat('/f');
    expect(meta.modified).toBe(msAtOrBefore(N));
    expect(meta.modifiedNs).toBeUndefined();
  });
});

describe('sync bridge: large payloads', { timeout: 60_000 }, () => {
  it('moves several MiB through a small shared buffer, both ways', () => {
    const b = bridge({ bufferBytes: 64 * 1024 });
    const data = pattern(6 * 1024 * 1024 + 123);
    b.write('/big', data);
    expectBytes(b.read('/big'), data);
    expectBytes(
      b.readAt('/big', 1_000_001, 3 * 1024 * 1024),
      data.subarray(1_000_001, 1_000_001 + 3 * 1024 * 1024),
    );
    const patch = pattern(5 * 1024 * 1024, 7);
    b.writeAt('/big', 4 * 1024 * 1024, patch);
    const expected = new Uint8Array(9 * 1024 * 1024);
    expected.set(data);
    expected.set(patch, 4 * 1024 * 1024);
    expect(b.stat('/big').size).toBe(expected.length);
    expectBytes(b.read('/big'), expected);
    b.flush();
    expectBytes(b.read('/big'), expected);
    expect(b.append('/big', pattern(2 * 1024 * 1024, 3))).toBe(expected.length);
  });

  it('keeps the cache within cacheBytes while reading a file much larger than it', () => {
    const cacheBytes = 256 * 1024;
    const counters = new SharedArrayBuffer(64);
    const c = new Int32Array(counters);
    const b = bridge({ cacheBytes, blockSize: 16 * 1024 }, { counters });
    const data = pattern(4 * 1024 * 1024);
    b.write('/big', data);
    for (let at = 0; at < data.length; at += 10_000) {
      expectBytes(b.readAt('/big', at, 5_000), data.subarray(at, at + 5_000));
    }
    // 420 reads, each 16 KiB block fetched once.
    expect(c[COUNTER.reads]).toBe(256);
    // Reading it again from the start: the first blocks were evicted long ago.
    expectBytes(b.readAt('/big', 0, 100), data.subarray(0, 100));
    expect(c[COUNTER.reads]).toBe(257);
  });
});

describe('sync bridge: cache coherence', { timeout: 60_000 }, () => {
  it('shows buffered writes to read, readAt, stat, list and exists', () => {
    const counters = new SharedArrayBuffer(64);
    const c = new Int32Array(counters);
    const b = bridge({}, { counters });
    b.mkdir('/d');
    b.writeAt('/d/f', 0, enc('ab'));
    const stored = c[COUNTER.writes];
    b.writeAt('/d/f', 2, enc('cd'));
    b.writeAt('/d/f', 10, enc('z'));
    expect(c[COUNTER.writes]).toBe(stored);
    expect(b.stat('/d/f').size).toBe(11);
    expect(b.list('/d')).toEqual([{ name: 'f', kind: 'file', size: 11 }]);
    expect(dec(b.readAt('/d/f', 0, 4))).toBe('abcd');
    expect([...b.readAt('/d/f', 3, 100)]).toEqual([100, 0, 0, 0, 0, 0, 0, 122]);
    expect(b.read('/d/f').length).toBe(11);
    expect(b.exists('/d/f')).toBe(true);
    expect(c[COUNTER.writes]).toBe(stored);
  });

  it('orders metadata operations after the buffered writes they depend on', () => {
    const b = bridge();
    b.mkdir('/d');
    b.write('/d/f', enc('0123456789'));
    b.writeAt('/d/f', 8, enc('abcd'));
    b.setSize('/d/f', 10);
    expect(dec(b.read('/d/f'))).toBe('01234567ab');
    b.writeAt('/d/f', 10, enc('XY'));
    expect(b.append('/d/f', enc('!'))).toBe(12);
    expect(dec(b.read('/d/f'))).toBe('01234567abXY!');
    b.writeAt('/d/f', 0, enc('R'));
    b.rename('/d', '/e');
    expect(dec(b.read('/e/f'))).toBe('R1234567abXY!');
    b.writeAt('/e/f', 1, enc('S'));
    b.rename('/e/f', '/e/g');
    expect(dec(b.readAt('/e/g', 0, 2))).toBe('RS');
    b.writeAt('/e/g', 2, enc('T'));
    b.setTimes('/e/g', { modified: 5 });
    expect(b.stat('/e/g').modified).toBe(5);
    b.flush();
    expect(b.stat('/e/g').modified).toBe(5);
    b.writeAt('/e/g', 0, enc('lost'));
    b.write('/e/g', enc('new'));
    expect(dec(b.read('/e/g'))).toBe('new');
    b.writeAt('/e/g', 0, enc('gone'));
    b.delete('/e/g');
    expect(b.exists('/e/g')).toBe(false);
    expectCode(() => b.readAt('/e/g', 0, 1), 'not-found');
    b.flush();
    expect(b.list('/e')).toEqual([]);
  });

  it('matches the backend under random operation sequences', async () => {
    const configs: SyncBridgeOptions[] = [
      { blockSize: 16, cacheBytes: 96, dirtyBytes: 80 },
      { blockSize: 7, cacheBytes: 1024, dirtyBytes: 4096 },
      {},
    ];
    for (let run = 0; run < 15; run++) {
      const config = configs[run % configs.length]!;
      const b = bridge(config);
      const model = fixture.mapBackend();
      await compareRandom(b, model, run + 1, 400);
      b.close();
    }
  }, 120_000);
});

type Outcome = { ok: unknown } | { error: string };

async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    return { ok: normalize(await fn()) };
  } catch (error) {
    if (!isVfsError(error)) throw error;
    return { error: error.code };
  }
}

function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) {
    return value
      .map((e: { name: string; kind: string; size: number }) => `${e.name}:${e.kind}:${e.size}`)
      .sort();
  }
  if (value && typeof value === 'object' && 'kind' in value) {
    const { kind, size } = value as { kind: string; size: number };
    return { kind, size };
  }
  return value;
}

async function compareRandom(
  b: VfsSyncStorage,
  model: VfsStorage,
  seed: number,
  steps: number,
): Promise<void> {
  let x = seed;
  const rand = (n: number) => {
    x = (x * 1103515245 + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const paths = ['/a', '/b', '/d', '/d/x', '/d/y', '/e', '/e/z'];
  const pick = () => paths[rand(paths.length)]!;
  const log: string[] = [];
  for (let step = 0; step < steps; step++) {
    const p = pick();
    const data = pattern(rand(6) === 0 ? rand(200) : rand(12), step + seed * 1000);
    const offset = rand(4) === 0 ? rand(300) : rand(40);
    const kind = rand(17);
    let sync: () => unknown;
    let async: () => Promise<unknown>;
    let name: string;
    switch (kind) {
      case 0:
        name = `write ${p} ${data.length}`;
        sync = () => b.write(p, data);
        async = () => model.write(p, data);
        break;
      case 1:
      case 2:
      case 3:
        name = `writeAt ${p} ${offset} ${data.length}`;
        sync = () => b.writeAt(p, offset, data);
        async = () => model.writeAt(p, offset, data);
        break;
      case 4:
        name = `append ${p} ${data.length}`;
        sync = () => b.append(p, data);
        async = () => model.append(p, data);
        break;
      case 5:
      case 6: {
        const length = rand(3) === 0 ? rand(400) : rand(30);
        name = `readAt ${p} ${offset} ${length}`;
        sync = () => b.readAt(p, offset, length);
        async = () => model.readAt(p, offset, length);
        break;
      }
      case 7:
        name = `read ${p}`;
        sync = () => b.read(p);
        async = () => model.read(p);
        break;
      case 8:
        name = `setSize ${p} ${offset}`;
        sync = () => b.setSize(p, offset);
        async = () => model.setSize(p, offset);
        break;
      case 9:
        name = `stat ${p}`;
        sync = () => b.stat(p);
        async = () => model.stat(p);
        break;
      case 10: {
        const dir = ['/', '/d', '/e'][rand(3)]!;
        name = `list ${dir}`;
        sync = () => b.list(dir);
        async = () => model.list(dir);
        break;
      }
      case 11:
        name = rand(2) ? `mkdir ${p}` : `rmdir ${p}`;
        sync = name.startsWith('mkdir') ? () => b.mkdir(p) : () => b.rmdir(p);
        async = name.startsWith('mkdir') ? () => model.mkdir(p) : () => model.rmdir(p);
        break;
      case 12:
        name = `delete ${p}`;
        sync = () => b.delete(p);
        async = () => model.delete(p);
        break;
      case 13: {
        const to = pick();
        name = `rename ${p} ${to}`;
        sync = () => b.rename(p, to);
        async = () => model.rename(p, to);
        break;
      }
      case 14: {
        const target = ['a', '/d', '../e/z', 'x'][rand(4)]!;
        name = `symlink ${p} ${target}`;
        sync = () => b.symlink(p, target);
        async = () => model.symlink(p, target);
        break;
      }
      case 15:
        name = `readlink ${p}`;
        sync = () => b.readlink(p);
        async = () => model.readlink(p);
        break;
      default:
        name = rand(2) ? `flush ${p}` : 'flush';
        sync = name === 'flush' ? () => b.flush?.() : () => b.flush?.(p);
        async = async () => undefined;
        break;
    }
    log.push(name);
    const [got, want] = [await outcome(sync), await outcome(async)];
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      throw new Error(
        `seed ${seed}, step ${step}: ${name}\n  bridge: ${JSON.stringify(got).slice(0, 300)}\n  model:  ${JSON.stringify(want).slice(0, 300)}\n  after: ${log.slice(-12).join('; ')}`,
      );
    }
  }
}

describe('sync bridge: durability', { timeout: 60_000 }, () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const mirrorDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfs-bridge-'));
    dirs.push(dir);
    return dir;
  };
  const mirrored = (dir: string, path: string) => {
    try {
      return dec(readFileSync(join(dir, encodeURIComponent(path))));
    } catch {
      return undefined;
    }
  };

  it('stores buffered writes at flush(path), in one round trip', () => {
    const counters = new SharedArrayBuffer(64);
    const c = new Int32Array(counters);
    const mirror = mirrorDir();
    const b = bridge({}, { counters, mirror });
    b.writeAt('/log', 0, enc('x'));
    expect(c[COUNTER.writes]).toBe(1);
    expect(mirrored(mirror, '/log')).toBe('x');
    const ops = c[COUNTER.ops]!;
    for (let i = 1; i <= 1000; i++) b.writeAt('/log', i, enc('y'));
    expect(c[COUNTER.ops]).toBe(ops);
    expect(mirrored(mirror, '/log')).toBe('x');
    b.flush('/log');
    expect(c[COUNTER.writes]).toBe(2);
    expect(mirrored(mirror, '/log')).toBe(`x${'y'.repeat(1000)}`);
  });

  it('stores buffered writes with the modified time stat showed before they were stored', async () => {
    const b = bridge();
    b.write('/m', enc('x'));
    b.writeAt('/m', 1, enc('y'));
    const shown = b.stat('/m');
    await new Promise((resolve) => setTimeout(resolve, 30));
    b.flush('/m');
    // A guest's write() sets the modification time, not the close that stores it.
    const stored = b.stat('/m');
    expect(stored.size).toBe(2);
    expect(stored.modified).toBe(shown.modified);
  });

  it('buffers writes to a file it just created or truncated without asking the backend again', () => {
    const counters = new SharedArrayBuffer(64);
    const c = new Int32Array(counters);
    const b = bridge({}, { counters });
    // How the WASI host creates (O_CREAT) and truncates (O_TRUNC) files.
    b.write('/b', enc('old'));
    b.flush();
    b.append('/a', new Uint8Array(0));
    b.setSize('/b', 0);
    const ops = c[COUNTER.ops]!;
    b.writeAt('/a', 0, enc('new a'));
    b.writeAt('/b', 0, enc('new b'));
    expect(c[COUNTER.ops]).toBe(ops);
    expect(dec(b.read('/a'))).toBe('new a');
    expect(dec(b.read('/b'))).toBe('new b');
  });

  it('stores everything at close, and at flush()', () => {
    const mirror = mirrorDir();
    const b = bridge({}, { mirror });
    b.write('/a', enc('1'));
    b.write('/b', enc('1'));
    b.writeAt('/a', 1, enc('2'));
    b.writeAt('/b', 1, enc('2'));
    b.flush();
    expect(mirrored(mirror, '/a')).toBe('12');
    expect(mirrored(mirror, '/b')).toBe('12');
    b.writeAt('/a', 2, enc('3'));
    b.writeAt('/b', 2, enc('3'));
    expect(mirrored(mirror, '/a')).toBe('12');
    b.close();
    expect(mirrored(mirror, '/a')).toBe('123');
    expect(mirrored(mirror, '/b')).toBe('123');
  });

  it('stores buffered writes when they exceed dirtyBytes', () => {
    const counters = new SharedArrayBuffer(64);
    const c = new Int32Array(counters);
    const mirror = mirrorDir();
    const b = bridge({ dirtyBytes: 1024 }, { counters, mirror });
    b.write('/f', new Uint8Array(0));
    for (let i = 0; i < 200; i++) b.writeAt('/f', i * 20, pattern(10, i));
    expect(c[COUNTER.writes]).toBeGreaterThan(1);
    expect(readFileSync(join(mirror, encodeURIComponent('/f'))).length).toBeGreaterThan(1000);
    b.flush('/f');
    expect(b.stat('/f').size).toBe(199 * 20 + 10);
  });

  it('loses at most the unflushed writes when the host loses the worker', () => {
    const mirror = mirrorDir();
    const b = bridge({}, { mirror });
    b.write('/f', enc('a'));
    b.writeAt('/f', 1, enc('b'));
    b.flush('/f');
    b.writeAt('/f', 2, enc('c'));
    expectCode(() => b.stat('/__exit'), 'io');
    expect(mirrored(mirror, '/f')).toBe('ab');
  });

  it('reports a failed store at the flush of the file, and drops its unstored writes', () => {
    // The fixture refuses writes at an offset > 0 to /__quota*.
    const b = bridge();
    b.write('/__quota', enc('x'));
    b.writeAt('/__quota', 1, enc('buffered'));
    expect(b.stat('/__quota').size).toBe(9);
    expectCode(() => b.flush('/__quota'), 'quota-exceeded');
    expect(dec(b.read('/__quota'))).toBe('x');
    b.flush('/__quota');
  });

  it('reports a failed background store once, at the next flush of that file only', () => {
    const b = bridge({ dirtyBytes: 64 });
    b.write('/__quota', enc('x'));
    b.writeAt('/__quota', 1, enc('buffered'));
    b.write('/g', enc(''));
    for (let i = 0; i < 10; i++) b.writeAt('/g', i * 10, pattern(10, i));
    b.flush('/g');
    expect(b.stat('/g').size).toBe(100);
    expect(b.stat('/__quota').size).toBe(1);
    const error = caught(() => b.flush('/__quota')) as Error & { path: string };
    expect(isVfsError(error, 'quota-exceeded')).toBe(true);
    expect(error.path).toBe('/__quota');
    b.flush('/__quota');
    b.flush();
  });
});

/**
 * Runs `steps` (`[operation, ...args]`) on a bridge connected from a worker thread to `storage`,
 * served from this thread; resolves with what each step returned or threw.
 */
async function servedSteps(
  storage: VfsStorage,
  steps: [string, ...unknown[]][],
  options: SyncBridgeOptions = {},
): Promise<{ value?: unknown; error?: { code: string; message: string } }[]> {
  const server = serveStorage(storage);
  const worker = new Worker(new URL('./bridge-serve-client.mjs', import.meta.url), {
    workerData: { channel: server.channel, steps, options },
  });
  try {
    return await new Promise((resolve, reject) => {
      worker.once('message', (outcome: { results: never }) => resolve(outcome.results));
      worker.once('error', reject);
    });
  } finally {
    server.close();
    await worker.terminate();
  }
}

/**
 * `storage` as a remote backend: every call is counted and costs a timer turn (at least a
 * millisecond), as a round trip to a database server does.
 */
function remoteBackend(storage: VfsStorage, calls: Record<string, number>): VfsStorage {
  const out: Record<string, unknown> = { ...storage, sync: undefined };
  for (const op of STORAGE_OPERATIONS) {
    const fn = storage[op] as (...args: unknown[]) => Promise<unknown>;
    out[op] = async (...args: unknown[]) => {
      calls[op] = (calls[op] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 1));
      return fn.apply(storage, args);
    };
  }
  return out as unknown as VfsStorage;
}

describe('sync bridge: flushing many small writes', { timeout: 120_000 }, () => {
  it('stores 20,000 scattered one-byte writes with one backend call, within the timeout', async () => {
    const inner = fixture.mapBackend();
    const calls: Record<string, number> = {};
    const size = 1 << 20;
    const expected = new Uint8Array(size);
    const writes: [string, ...unknown[]][] = [];
    for (let i = 0; i < 20_000; i++) {
      // Out of order and never touching: 20,000 extents, far below dirtyBytes.
      const offset = ((i * 7919) % 20_000) * 50 + (i % 7);
      expected[offset] = (i % 255) + 1;
      writes.push(['writeAt', '/f', offset, Uint8Array.of((i % 255) + 1)]);
    }
    const results = await servedSteps(
      remoteBackend(inner, calls),
      [['write', '/f', new Uint8Array(size)], ...writes, ['flush', '/f'], ['stat', '/f'], ['close']],
      // One call per write would take 20 s at least: far past the timeout.
      { timeout: 5_000 },
    );
    expect(results.filter((r) => r.error).slice(0, 1)).toEqual([]);
    // The file's writes reached the backend in one call, not one per write (nor per extent).
    expect(calls).toEqual({ write: 1, writeExtents: 1, stat: 1 });
    expect((results[results.length - 2]!.value as { size: number }).size).toBe(size);
    expectBytes(await inner.read('/f'), expected);
  });

  it('stores a writeExtents at once, after the writes buffered before it', () => {
    const counters = new SharedArrayBuffer(64);
    const c = new Int32Array(counters);
    const mirror = mkdtempSync(join(tmpdir(), 'vfs-bridge-'));
    try {
      const b = bridge({}, { counters, mirror });
      b.write('/g', enc('abc'));
      b.writeAt('/g', 3, enc('d'));
      const ops = c[COUNTER.ops]!;
      b.writeExtents('/g', [
        [1, enc('X')],
        [6, enc('Z')],
      ]);
      expect(c[COUNTER.ops]! - ops).toBeGreaterThan(0);
      expect([...readFileSync(join(mirror, encodeURIComponent('/g')))]).toEqual([97, 88, 99, 100, 0, 0, 90]);
      expect([...b.read('/g')]).toEqual([97, 88, 99, 100, 0, 0, 90]);
      b.writeExtents('/g', [], { modified: 5_000 });
      expect(b.stat('/g')).toMatchObject({ size: 7, modified: 5_000, accessed: 5_000 });
    } finally {
      rmSync(mirror, { recursive: true, force: true });
    }
  });
});

describe('sync bridge: failures', { timeout: 60_000 }, () => {
  it('turns a worker that exits into an io error, then fails every call', () => {
    const b = bridge();
    b.mkdir('/d');
    const error = caught(() => b.stat('/__exit')) as Error;
    expect(isVfsError(error, 'io')).toBe(true);
    expect(error.message).toMatch(/worker exited \(code 3\)/);
    expectCode(() => b.stat('/d'), 'io');
  });

  it('turns an uncaught exception in the worker into an io error', () => {
    const b = bridge();
    const error = caught(() => b.stat('/__throw')) as Error;
    expect(isVfsError(error, 'io')).toBe(true);
    expect(error.message).toMatch(/crashed: .*thrown outside of any operation/);
  });

  it('gives up on a backend that hangs after the timeout', () => {
    const b = bridge({ timeout: 300 });
    const started = Date.now();
    const error = caught(() => b.stat('/__hang')) as Error;
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(isVfsError(error, 'io')).toBe(true);
    expect(error.message).toMatch(/did not answer to stat within 300 ms/);
    expectCode(() => b.stat('/'), 'io');
  });

  it('waits for a slow backend within the timeout', () => {
    const b = bridge({ timeout: 2_000 }, { delay: 50 });
    b.write('/f', enc('slow'));
    expect(dec(b.read('/f'))).toBe('slow');
  });

  it('runs through toAsync as an async storage', async () => {
    const b = bridge();
    const storage = toAsync(b);
    await storage.write('/f', enc('async'));
    expect(dec(await storage.read('/f'))).toBe('async');
    expect(storage.sync).toBe(b);
  });
});

describe('sync bridge: symbolic links', { timeout: 60_000 }, () => {
  it('carries symlink and readlink, and shows links as links in stat, list and exists', () => {
    const b = bridge();
    expect(b.capabilities.symlinks).toBe(true);
    b.mkdir('/d');
    b.write('/d/f', enc('data'));
    b.symlink('/d/l', '../d/f');
    expect(b.readlink('/d/l')).toBe('../d/f');
    expect(b.stat('/d/l')).toMatchObject({ kind: 'symlink', size: 6 });
    expect(b.exists('/d/l')).toBe(true);
    expect(b.list('/d').sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { name: 'f', kind: 'file', size: 4 },
      { name: 'l', kind: 'symlink', size: 6 },
    ]);
    // Targets travel verbatim, in UTF-8, up to the longest one the contract allows.
    const long = `/${'é'.repeat(2047)}x`;
    b.symlink('/long', long);
    expect(b.readlink('/long')).toBe(long);
    expect(b.stat('/long').size).toBe(4096);
    b.symlink('/odd', './a//b/../ ');
    expect(b.readlink('/odd')).toBe('./a//b/../ ');
    expectCode(() => b.symlink('/bad', ''), 'invalid-argument');
    expectCode(() => b.symlink('/bad', `${long}y`), 'invalid-argument');
    expect(b.exists('/bad')).toBe(false);
  });

  it("reports a link's errors as the backend does: never a file's data, never a directory", () => {
    const b = bridge();
    b.write('/f', enc('x'));
    b.symlink('/l', 'f');
    for (const [code, call] of [
      ['is-a-symlink', () => b.read('/l')],
      ['is-a-symlink', () => b.readAt('/l', 0, 1)],
      ['is-a-symlink', () => b.write('/l', enc('y'))],
      ['is-a-symlink', () => b.writeAt('/l', 0, enc('y'))],
      ['is-a-symlink', () => b.append('/l', enc('y'))],
      ['is-a-symlink', () => b.setSize('/l', 0)],
      ['is-a-symlink', () => b.writeExtents('/l', [[0, enc('y')]])],
      ['not-found', () => b.writeExtents('/l', [[0, enc('y')]], { ifFile: b.stat('/f') })],
      ['already-exists', () => b.create('/l')],
      ['already-exists', () => b.mkdir('/l')],
      ['already-exists', () => b.symlink('/l', 'g')],
      ['already-exists', () => b.symlink('/f', 'g')],
      ['not-a-directory', () => b.list('/l')],
      ['not-a-directory', () => b.rmdir('/l')],
      ['not-a-directory', () => b.write('/l/x', enc('y'))],
      ['not-a-directory', () => b.symlink('/l/x', 'y')],
      ['not-found', () => b.stat('/l/x')],
      ['invalid-argument', () => b.readlink('/f')],
      ['invalid-argument', () => b.readlink('/')],
      ['not-found', () => b.readlink('/missing')],
    ] as const) {
      expectCode(call, code);
    }
    expect(b.readlink('/l')).toBe('f');
    expect(dec(b.read('/f'))).toBe('x');
    b.flush();
  });

  it('never buffers a write for a path that holds a link', () => {
    const counters = new SharedArrayBuffer(64);
    const c = new Int32Array(counters);
    const b = bridge({}, { counters });
    // A file the cache knows, with buffered writes, deleted and replaced by a link.
    b.write('/p', enc('abc'));
    b.writeAt('/p', 3, enc('d'));
    b.delete('/p');
    b.symlink('/p', 'elsewhere');
    const writes = c[COUNTER.writes]!;
    expectCode(() => b.writeAt('/p', 0, enc('x')), 'is-a-symlink');
    expectCode(() => b.writeAt('/p', 0, enc('x')), 'is-a-symlink');
    expect(c[COUNTER.writes]).toBe(writes);
    expect(b.stat('/p')).toMatchObject({ kind: 'symlink', size: 9 });
    b.flush();
    expect(b.readlink('/p')).toBe('elsewhere');
  });

  it('follows renames and deletes of links: a link replaces a file with buffered writes and back', () => {
    const b = bridge();
    b.write('/f', enc('file'));
    b.writeAt('/f', 4, enc('!'));
    b.symlink('/l', 'target');
    // The link replaces the file: its buffered writes go with it.
    b.rename('/l', '/f');
    expect(b.stat('/f')).toMatchObject({ kind: 'symlink', size: 6 });
    expect(b.exists('/l')).toBe(false);
    expectCode(() => b.read('/f'), 'is-a-symlink');
    expectCode(() => b.writeAt('/f', 0, enc('x')), 'is-a-symlink');
    b.flush();
    expect(b.readlink('/f')).toBe('target');
    // A file with buffered writes replaces the link: they are stored under the new name.
    b.write('/g', enc('g'));
    b.writeAt('/g', 1, enc('h'));
    b.rename('/g', '/f');
    expect(b.stat('/f')).toMatchObject({ kind: 'file', size: 2 });
    expect(dec(b.read('/f'))).toBe('gh');
    // A directory holding a link moves with it; deleting the link leaves its target alone.
    b.mkdir('/d');
    b.symlink('/d/l', '../f');
    b.rename('/d', '/e');
    expect(b.readlink('/e/l')).toBe('../f');
    b.delete('/e/l');
    expect(b.exists('/e/l')).toBe(false);
    expect(dec(b.read('/f'))).toBe('gh');
    b.flush();
  });

  it('sees a file another writer replaced by a link once stat shows it, and buffers nothing for it', async () => {
    const inner = fixture.mapBackend();
    // `exists('/__swap')` lets the worker's steps have this thread replace /f by a link meanwhile.
    const storage = {
      ...inner,
      async exists(path: string) {
        if (path !== '/__swap') return inner.exists(path);
        await inner.delete('/f');
        await inner.symlink('/f', 'gone');
        return false;
      },
    } as VfsStorage;
    const results = await servedSteps(storage, [
      ['write', '/f', enc('abc')],
      ['readAt', '/f', 0, 3],
      ['exists', '/__swap'],
      ['stat', '/f'],
      ['writeAt', '/f', 0, enc('x')],
      ['readAt', '/f', 0, 3],
      ['flush'],
      ['readlink', '/f'],
    ]);
    expect(results.map((r) => r.error?.code)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      'is-a-symlink',
      'is-a-symlink',
      undefined,
      undefined,
    ]);
    expect(results[3]!.value).toMatchObject({ kind: 'symlink', size: 4 });
    expect(results[7]!.value).toBe('gone');
    expect(await inner.readlink('/f')).toBe('gone');
  });
});
