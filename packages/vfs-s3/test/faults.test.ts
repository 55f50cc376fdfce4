import { type FaultProxy, startFaultProxy } from '@eryx/test-servers';
import { runFaultConformance } from '@eryx/vfs-conformance';
import { afterAll, beforeAll } from 'vitest';
import { s3 } from '../src/index.js';
import { serverOptions } from './helpers.js';

// Single-writer mode (s3rver ignores conditional writes), where the storage object caches entries
// and listings: a failed request must never leave those caches saying what the bucket does not.
let proxy: FaultProxy;
const endpoint = new URL(serverOptions().endpoint!);

beforeAll(async () => {
  proxy = await startFaultProxy({ host: endpoint.hostname, port: Number(endpoint.port) });
});
afterAll(() => proxy.close());

runFaultConformance({
  name: 's3 (single writer)',
  hardLinks: true,
  faults: {
    // Two attempts per request (below), so a fault hits a request and its retry; a lone retry
    // still absorbs what s3rver answers 500 to (two deletions of one key at once).
    fail: (spec) => proxy.fail({ ...spec, count: 2 }),
    heal: () => proxy.heal(),
    get stats() {
      return proxy.stats;
    },
  },
  async open(namespace) {
    const options = { ...serverOptions(), prefix: namespace, chunkSize: 64 * 1024, inlineThreshold: 4096 };
    const faulty = s3({ ...options, endpoint: `http://${proxy.host}:${proxy.port}`, maxAttempts: 2 });
    return { faulty, direct: async () => s3(options) };
  },
});
