// What writing growth through costs on a store that declares maxBytes (issue #18, class 3):
// sequential writes of a 64 MiB file in 64 KiB pieces through the sync bridge, then a flush, on the
// same backend with and without a declared maxBytes. `node test/bench-bridge-limits.mjs` after a
// build; memory and SQLite are measured when their packages are built. Compare runs on one machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSyncBridge } from '../dist/bridge/index.js';

const MiB = 1024 * 1024;
const total = Number(process.env.BENCH_MIB ?? 64) * MiB;
const piece = 64 * 1024;
const runs = Number(process.env.BENCH_RUNS ?? 3);

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const cases = [
  [
    'map fixture',
    { module: here('./fixtures/limited-map-backend.mjs'), export: 'limitedMap' },
    (limits) => ({ limits }),
  ],
  ['memory', { module: here('../../vfs-memory/dist/index.js'), export: 'memory' }, (limits) => ({ limits })],
  [
    'sqlite',
    { module: here('../../vfs-sqlite/dist/index.js'), export: 'sqlite' },
    (limits, dir) => ({ path: join(dir, 'db.sqlite'), limits }),
  ],
];

const data = new Uint8Array(piece).map((_, i) => i & 0xff);

function once(spec, options) {
  const bridge = createSyncBridge({ ...spec, options });
  try {
    bridge.write('/f', new Uint8Array(0));
    const start = performance.now();
    for (let at = 0; at < total; at += piece) bridge.writeAt('/f', at, data);
    bridge.flush('/f');
    const ms = performance.now() - start;
    if (bridge.stat('/f').size !== total) throw new Error('wrong size');
    return ms;
  } finally {
    bridge.close();
  }
}

for (const [name, spec, options] of cases) {
  for (const [label, limits] of [
    ['unlimited', {}],
    ['maxBytes 1 GiB', { maxBytes: 1024 * MiB }],
  ]) {
    const times = [];
    for (let i = 0; i < runs; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'bench-limits-'));
      try {
        times.push(once(spec, options(limits, dir)));
      } catch (error) {
        times.length = 0;
        console.log(`${name}: skipped (${error.message})`);
        break;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    if (times.length === 0) break;
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    console.log(
      `${`${name}, ${label}`.padEnd(32)} ${median.toFixed(0).padStart(6)} ms median of ${runs}  (${(total / MiB / (median / 1000)).toFixed(0)} MiB/s)`,
    );
  }
}
