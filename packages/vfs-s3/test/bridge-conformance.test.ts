import { BRIDGE_TEST_OPTIONS, runConformance } from '@eryx/vfs-conformance';
import { toAsync } from '@eryx/vfs-core';
import { createSyncBridge } from '@eryx/vfs-core/bridge';
import { randomPrefix, serverOptions } from './helpers.js';

// The whole kit through the sync bridge (worker thread + Atomics.wait + block cache), as the WASI
// host serves a guest: the worker builds the store from plain options out of the built package.
// Small blocks and caches, so that eviction and write-back reach the bucket within a test.
const module = new URL('../dist/index.js', import.meta.url);

runConformance({
  name: 's3 through the sync bridge',
  forms: ['sync'],
  create: () =>
    toAsync(
      createSyncBridge(
        { module, export: 'openS3', options: { ...serverOptions(), prefix: randomPrefix('bridge') } },
        BRIDGE_TEST_OPTIONS,
      ),
    ),
});
