// Measures the sync bridge against the async Map fixture: `node test/bench-bridge.mjs` after a build.
// Numbers depend heavily on the machine and its load; compare runs on the same machine only.
import { fileURLToPath } from 'node:url';
import { createSyncBridge } from '../dist/bridge/index.js';
import { mapBackend } from './fixtures/async-map-backend.mjs';

const module = fileURLToPath(new URL('./fixtures/async-map-backend.mjs', import.meta.url));
const spec = { module, export: 'mapBackend' };
const seconds = Number(process.env.BENCH_SECONDS ?? 1);

function rate(name, fn, unit = 'ops/s', perOp = 1) {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    fn(n);
    n++;
  }
  const elapsed = (performance.now() - start) / 1000;
  const value = (n * perOp) / elapsed;
  console.log(`${name.padEnd(48)} ${value.toFixed(unit === 'ops/s' ? 0 : 1).padStart(10)} ${unit}`);
}

async function rateAsync(name, fn) {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await fn(n);
    n++;
  }
  console.log(
    `${name.padEnd(48)} ${(n / ((performance.now() - start) / 1000)).toFixed(0).padStart(10)} ops/s`,
  );
}

const direct = mapBackend();
await direct.write('/f', new Uint8Array(10));
await rateAsync('direct async stat (no bridge, baseline)', () => direct.stat('/f'));

const startup = performance.now();
const bridge = createSyncBridge(spec);
console.log(
  `${'bridge startup (worker + module load)'.padEnd(48)} ${(performance.now() - startup).toFixed(0).padStart(10)} ms`,
);
bridge.write('/f', new Uint8Array(10));
rate('bridge stat (one round trip)', () => bridge.stat('/f'));
rate('bridge exists (one round trip)', () => bridge.exists('/f'));

const file = new Uint8Array(8 * 1024 * 1024).fill(1);
bridge.write('/big', file);
rate('bridge readAt 4 KiB, cached', (n) => bridge.readAt('/big', (n * 4096) % (4 * 1024 * 1024), 4096));

const KiB64 = new Uint8Array(64 * 1024).fill(2);
bridge.write('/w', new Uint8Array(0));
rate(
  'bridge writeAt 64 KiB, buffered (+flush each 8 MiB)',
  (n) => {
    bridge.writeAt('/w', (n % 1024) * 65536, KiB64);
    if (n % 128 === 127) bridge.flush('/w');
  },
  'MiB/s',
  1 / 16,
);
bridge.flush();
rate('bridge writeAt 4 KiB, buffered', (n) =>
  bridge.writeAt('/w', (n % 16384) * 4096, KiB64.subarray(0, 4096)),
);
bridge.close();

const unbuffered = createSyncBridge(spec, { dirtyBytes: 64 * 1024 });
unbuffered.write('/w', new Uint8Array(0));
rate(
  'bridge writeAt 64 KiB, each one stored at once',
  (n) => unbuffered.writeAt('/w', (n % 1024) * 65536, KiB64),
  'MiB/s',
  1 / 16,
);
unbuffered.close();

// With 1 ms per backend operation, roughly a database or object store round trip.
const slowSpec = { ...spec, options: { delay: 1 } };
const slow = createSyncBridge(slowSpec);
slow.write('/w', new Uint8Array(0));
rate('1 ms backend: writeAt 4 KiB, buffered', (n) => {
  slow.writeAt('/w', (n % 16384) * 4096, KiB64.subarray(0, 4096));
});
slow.close();
const slowDirect = createSyncBridge(slowSpec, { dirtyBytes: 4096 });
slowDirect.write('/w', new Uint8Array(0));
rate('1 ms backend: writeAt 4 KiB, each one stored at once', (n) => {
  slowDirect.writeAt('/w', (n % 16384) * 4096, KiB64.subarray(0, 4096));
});
slowDirect.close();
