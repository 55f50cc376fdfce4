import { randomUUID } from 'node:crypto';
import { BRIDGE_TEST_OPTIONS, runConformance } from '@eryx/vfs-conformance';
import { toAsync, type VfsStorage } from '@eryx/vfs-core';
import { createSyncBridge } from '@eryx/vfs-core/bridge';
import { postgres } from '../src/index.js';

const url = process.env.VFS_POSTGRES_URL;

// The whole kit through the sync bridge (worker thread + Atomics.wait + block cache), as the WASI
// host serves a guest: the worker builds the store from plain options out of the built package.
// Small blocks and caches, so that eviction and write-back reach the database within a test.
const module = new URL('../dist/index.js', import.meta.url);
// Keyed by the bridge: the kit hands reopen its own async view of it (`storage.sync` is the bridge).
const namespaces = new WeakMap<object, string>();
const namespaceOf = (storage: VfsStorage) => namespaces.get(storage.sync!)!;

function bridge(namespace: string): VfsStorage {
  const sync = createSyncBridge(
    { module, export: 'postgres', options: { connectionString: url, namespace } },
    BRIDGE_TEST_OPTIONS,
  );
  namespaces.set(sync, namespace);
  return toAsync(sync);
}

runConformance({
  name: 'postgres through the sync bridge',
  forms: ['sync'],
  create: () => bridge(`bridge-${randomUUID()}`),
  // A second host on the same namespace: its own worker, pool and cache.
  reopen: (storage) => bridge(namespaceOf(storage)),
  async destroy(storage) {
    await storage.close();
    await postgres({ connectionString: url, namespace: namespaceOf(storage) }).destroy();
  },
});
