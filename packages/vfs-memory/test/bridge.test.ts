import { BRIDGE_TEST_OPTIONS, runConformance } from '@eryx/vfs-conformance';
import { toAsync } from '@eryx/vfs-core';
import { createSyncBridge } from '@eryx/vfs-core/bridge';

// The whole kit through the sync bridge (worker thread + Atomics.wait + block cache), with small
// blocks and caches so eviction and write-back are exercised. The worker loads memory's built dist.
const module = new URL('../dist/index.js', import.meta.url);

runConformance({
  name: 'memory through the sync bridge',
  create: () =>
    toAsync(
      createSyncBridge(
        { module, export: 'memory', options: { maxBytes: 256 * 1024 * 1024 } },
        BRIDGE_TEST_OPTIONS,
      ),
    ),
});
