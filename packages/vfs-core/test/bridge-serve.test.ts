import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { SyncBridgeChannel } from '../src/bridge/index.js';
import type { VfsStorage } from '../src/index.js';
import { ensureDist } from './build-dist.js';

// The connecting worker loads the built package, so these tests use the built package throughout.
ensureDist();
const { createSyncBridge, serveStorage } = (await import(
  new URL('../dist/bridge/index.js', import.meta.url).href
)) as typeof import('../src/bridge/index.js');
const fixtureUrl = new URL('./fixtures/async-map-backend.mjs', import.meta.url);
const { mapBackend } = (await import(fixtureUrl.href)) as { mapBackend(options?: object): VfsStorage };

type Step = [string, ...unknown[]];
interface Outcome {
  results: Array<{ value?: unknown; error?: { code: string; message: string }; ms?: number }>;
  dirty: Array<[string, number]>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Runs `steps` on a sync bridge connected to `channel` from a worker thread. */
function client(channel: SyncBridgeChannel, steps: Step[], options: object = {}): Promise<Outcome> {
  const worker = new Worker(new URL('./bridge-serve-client.mjs', import.meta.url), {
    workerData: { channel, steps, options },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (outcome: Outcome) => {
      void worker.terminate();
      resolve(outcome);
    });
    worker.once('error', reject);
  });
}

describe('serveStorage: a storage served from this thread to a worker', { timeout: 60_000 }, () => {
  it('serves every operation synchronously, buffering writes, and leaves the storage open', async () => {
    const storage = mapBackend();
    const server = serveStorage(storage);
    const { results } = await client(server.channel, [
      ['mkdir', '/d'],
      ['write', '/d/a', enc('hello')],
      ['writeAt', '/d/a', 5, enc(' world')],
      ['read', '/d/a'],
      ['stat', '/d/a'],
      ['list', '/d'],
      ['exists', '/d/missing'],
      ['rename', '/d/a', '/d/b'],
      ['read', '/d/a'],
      ['close'],
    ]);
    expect(results.map((r) => r.error?.code)).toEqual([...Array(8).fill(undefined), 'not-found', undefined]);
    expect(results[3]!.value).toBe('hello world');
    expect((results[4]!.value as { size: number }).size).toBe(11);
    expect((results[5]!.value as Array<{ name: string }>).map((e) => e.name)).toEqual(['a']);
    expect(results[6]!.value).toBe(false);
    await server.done;
    // Closing the bridge ended the serving, not the storage: the caller still uses it.
    expect(dec(await storage.read('/d/b'))).toBe('hello world');
    await storage.write('/d/c', enc('after'));
    expect(await storage.exists('/d/c')).toBe(true);
  });

  it('serves one storage to several workers at once', async () => {
    const storage = mapBackend();
    await storage.write('/log', new Uint8Array());
    const steps: Step[] = Array.from({ length: 40 }, (_, i) => ['append', '/log', enc(`${i % 10}`)]);
    const servers = [serveStorage(storage), serveStorage(storage), serveStorage(storage)];
    const outcomes = await Promise.all(
      servers.map((server) => client(server.channel, [...steps, ['close']])),
    );
    for (const { results } of outcomes) expect(results.every((r) => r.error === undefined)).toBe(true);
    expect((await storage.read('/log')).length).toBe(120);
  });

  it('fails a client blocked in a call at once when the server is closed', async () => {
    // The first step tells this thread (through the backend) that the client is connected.
    const storage = mapBackend();
    const connected = new Promise<void>((resolve) => {
      const stat = storage.stat.bind(storage);
      storage.stat = (path: string) => {
        if (path === '/__hang') resolve();
        return stat(path);
      };
    });
    const server = serveStorage(storage);
    const outcome = client(
      server.channel,
      [
        ['stat', '/__hang'],
        ['stat', '/'],
      ],
      { timeout: 60_000 },
    );
    await connected;
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.close();
    const { results } = await outcome;
    expect(results[0]!.error?.code).toBe('io');
    expect(results[0]!.error?.message).toMatch(/closed/);
    expect(results[0]!.ms!).toBeLessThan(10_000);
    expect(results[1]!.error?.code).toBe('io');
    await server.done;
  });

  it('stops serving when the client gives up on a slow call', async () => {
    const server = serveStorage(mapBackend({ delay: 1500 }));
    const { results } = await client(server.channel, [['stat', '/']], {
      timeout: 300,
      startupTimeout: 30_000,
    });
    expect(results[0]!.error?.code).toBe('io');
    expect(results[0]!.error?.message).toMatch(/did not answer/);
    // No close() here: once the slow call is over, the server sees the client gave up, and stops.
    await server.done;
  });

  it("passes a durable flush to the storage's own flush, not a plain one", async () => {
    const base = mapBackend();
    const flushes: unknown[] = [];
    const storage = Object.assign(Object.create(base) as VfsStorage, {
      flush: (path?: string, options?: object) => flushes.push([path ?? null, options]),
    });
    const server = serveStorage(storage);
    await client(server.channel, [
      ['write', '/f', enc('x')],
      ['flush', '/f'],
      ['flush', '/f', { durable: true }],
      ['flush', undefined, { durable: true }],
      ['close'],
    ]);
    expect(flushes).toEqual([
      ['/f', { durable: true }],
      [null, { durable: true }],
    ]);
  });

  it('reports which files hold buffered writes through onDirty, as their state changes', async () => {
    const storage = mapBackend();
    const server = serveStorage(storage);
    const { dirty, results } = await client(server.channel, [
      ['write', '/a', enc('0123456789')],
      ['writeAt', '/a', 0, enc('ab')],
      ['writeAt', '/a', 4, enc('cd')],
      ['flush', '/a'],
      ['write', '/b', enc('')],
      ['writeAt', '/b', 0, enc('xyz')],
      ['delete', '/b'],
      ['close'],
    ]);
    expect(results.every((r) => r.error === undefined)).toBe(true);
    expect(dirty).toEqual([
      ['/a', 2],
      ['/a', 4],
      ['/a', 0],
      ['/b', 3],
      ['/b', 0],
    ]);
    expect(dec(await storage.read('/a'))).toBe('ab23cd6789');
    expect(await storage.exists('/b')).toBe(false);
  });

  it('rejects what is not a storage, and a bridge without a channel', () => {
    expect(() => serveStorage({} as VfsStorage)).toThrow(/expected a VfsStorage/);
    expect(() =>
      createSyncBridge({ module: fixtureUrl.href, export: 'mapBackend' }, { onDirty: 1 as never }),
    ).toThrow(/onDirty must be a function/);
  });
});

describe('createSyncBridge over serveStorage', { timeout: 60_000 }, () => {
  it('reports buffered writes through onDirty in the calling thread too', () => {
    const dirty: Array<[string, number]> = [];
    const bridge = createSyncBridge(
      { module: fixtureUrl.href, export: 'mapBackend' },
      { onDirty: (path, bytes) => dirty.push([path, bytes]) },
    );
    try {
      bridge.write('/f', enc('abc'));
      bridge.writeAt('/f', 1, enc('Z'));
      bridge.write('/f', enc('replaced'));
      expect(dec(bridge.read('/f'))).toBe('replaced');
    } finally {
      bridge.close();
    }
    expect(dirty).toEqual([
      ['/f', 1],
      ['/f', 0],
    ]);
  });
});
