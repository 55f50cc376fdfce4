import { randomUUID } from 'node:crypto';
import { runConformance } from '@eryx/vfs-conformance';
import { createSyncBridge, toAsync, type VfsStorage } from '@eryx/vfs-core';
import { postgres } from '../src/index.js';

const url = process.env.VFS_POSTGRES_URL;

// The whole kit through the sync bridge (worker thread + Atomics.wait + block cache), as the WASI
// host serves a guest: the worker builds the store from plain options out of the built package.
// Small blocks and caches, so that eviction and write-back reach the database within a test.
const module = new URL('../dist/index.js', import.meta.url);
const namespaces = new WeakMap<VfsStorage, string>();

runConformance({
  name: 'postgres through the sync bridge',
  forms: ['sync'],
  create: () => {
    const namespace = `bridge-${randomUUID()}`;
    const storage = toAsync(
      createSyncBridge(
        { module, export: 'postgres', options: { connectionString: url, namespace } },
        { blockSize: 4096, cacheBytes: 1 << 20, dirtyBytes: 256 * 1024 },
      ),
    );
    namespaces.set(storage, namespace);
    return storage;
  },
  async destroy(storage) {
    await storage.close();
    await postgres({ connectionString: url, namespace: namespaces.get(storage)! }).destroy();
  },
});
