import { type FaultProxy, startFaultProxy } from '@eryx/test-servers';
import { runFaultConformance } from '@eryx/vfs-conformance';
import { afterAll, beforeAll } from 'vitest';
import { postgres } from '../src/index.js';

// Every query of the storage object under test goes through a proxy that resets its connection,
// before PostgreSQL sees the request or after it answered (a COMMIT whose outcome is unknown).
const url = new URL(process.env.VFS_POSTGRES_URL!);
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await startFaultProxy({ host: url.hostname, port: Number(url.port || 5432) });
});
afterAll(() => proxy.close());

runFaultConformance({
  name: 'postgres',
  hardLinks: true,
  faults: {
    fail: (spec) => proxy.fail(spec),
    heal: () => proxy.heal(),
    get stats() {
      return proxy.stats;
    },
  },
  async open(namespace) {
    const proxied = new URL(url);
    proxied.hostname = proxy.host;
    proxied.port = String(proxy.port);
    const faulty = postgres({ connectionString: proxied.href, namespace });
    return { faulty, direct: async () => postgres({ connectionString: url.href, namespace }) };
  },
});
