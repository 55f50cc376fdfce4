import { runStoreBackendConformance } from '@eryx/vfs-conformance';
import { createSyncBridge } from '@eryx/vfs-core/bridge';
import { expect, it } from 'vitest';
import {
  dropMemoryUrl,
  memoryBridgeSpec,
  memoryNamespaces,
  memoryStore,
  migrateMemoryUrl,
  openMemoryUrl,
} from '../src/index.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const quota = expect.objectContaining({ code: 'quota-exceeded' });

// The built package, as users import it: its bridge spec names the module the worker loads.
const built: typeof import('../src/index.js') = await import('../dist/index.js' as string);
runStoreBackendConformance({
  name: 'memory',
  backend: built.memoryStore,
  url: (namespace, params) => `memory:?${new URLSearchParams(params)}#${encodeURIComponent(namespace)}`,
  foreignUrl: 'sqlite:x.db',
});

it('opens a new, empty store per call, with the sync twin', async () => {
  const a = openMemoryUrl('memory:#scratch');
  await a.write('/f', bytes('hi'));
  expect(a.sync?.read('/f')).toEqual(bytes('hi'));
  const b = await memoryStore.open('memory:#scratch');
  expect(await b.exists('/f')).toBe(false);
  await Promise.all([a.close(), b.close()]);
});

it("enforces the URL's limits: maxBytes natively, the others through the limits wrapper", async () => {
  const storage = openMemoryUrl('memory:?maxBytes=1KiB&maxFiles=2&maxFileSize=600');
  expect(storage.limits).toEqual({ maxBytes: 1024, maxFiles: 2, maxFileSize: 600 });
  await expect(storage.write('/big', new Uint8Array(700))).rejects.toEqual(quota);
  await storage.write('/a', new Uint8Array(500));
  await storage.write('/b', new Uint8Array(500));
  await expect(storage.write('/c', new Uint8Array(1))).rejects.toEqual(quota);
  await expect(storage.append('/b', new Uint8Array(100))).rejects.toEqual(quota);
  expect(storage.sync?.limits).toEqual(storage.limits);
  const only = openMemoryUrl('memory:?maxBytes=10');
  expect(only.limits).toEqual({ maxBytes: 10 });
  await expect(only.write('/f', new Uint8Array(11))).rejects.toEqual(quota);
});

it('serves the sync bridge from its spec', async () => {
  const spec = built.memoryBridgeSpec('memory:?maxBytes=100');
  expect(spec).toMatchObject({
    module: new URL('../dist/index.js', import.meta.url).href,
    export: 'openMemoryUrl',
    options: { scheme: 'memory', limits: { maxBytes: 100 } },
  });
  const bridge = createSyncBridge(spec);
  try {
    bridge.write('/f', bytes('hello'));
    expect(bridge.read('/f')).toEqual(bytes('hello'));
    expect(() => bridge.write('/g', new Uint8Array(200))).toThrow(quota);
  } finally {
    bridge.close();
  }
});

it('drops nothing and refuses URLs of other schemes', async () => {
  await dropMemoryUrl('memory:#x');
  await memoryStore.drop('memory:');
  expect(memoryStore.schemes).toEqual(['memory']);
  expect(() => openMemoryUrl('sqlite:x.db')).toThrow(/this backend opens memory URLs, not sqlite/);
  await expect(memoryStore.open('s3://b')).rejects.toThrow(
    expect.objectContaining({ code: 'invalid-argument' }),
  );
  expect(() => memoryBridgeSpec('memory:?chunkSize=1')).toThrow(/unknown parameter "chunkSize"/);
});

it('lists no namespaces, has nothing to migrate and no gc; checks the URL', async () => {
  const open = openMemoryUrl('memory:#listed');
  await open.write('/f', bytes('x'));
  expect(await memoryStore.namespaces('memory:#listed')).toEqual([]);
  expect(await memoryNamespaces('memory:')).toEqual([]);
  const current = { from: 0, to: 0, steps: [], applied: false };
  expect(await migrateMemoryUrl('memory:', { dryRun: true })).toEqual(current);
  expect(await memoryStore.migrate('memory:#x')).toEqual(current);
  expect(memoryStore.gc).toBeUndefined();
  await expect(memoryStore.namespaces('sqlite:x.db')).rejects.toThrow(/this backend opens memory URLs/);
  await expect(memoryStore.migrate('memory:?chunkSize=1')).rejects.toThrow(
    expect.objectContaining({ code: 'invalid-argument' }),
  );
  await open.close();
});
