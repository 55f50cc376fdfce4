import type { BenchTarget } from './types.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Workload sizes; `BENCH_SCALE` (default 1) scales counts and file sizes for quick runs. */
export function sizes(scale: number) {
  const n = (x: number) => Math.max(1, Math.round(x * scale));
  return {
    seqBytes: n(64) * MiB,
    piece: 64 * KiB,
    randomFile: n(64) * MiB,
    randomOps: n(2000),
    appends: n(10_000),
    smallFiles: n(2000),
  };
}

/** One measured phase: how many operations and bytes it did, in how many milliseconds. */
export interface Phase {
  name: string;
  ops: number;
  bytes: number;
  ms: number;
}

/** A deterministic pseudo-random generator, so both targets get the same offsets. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

async function time(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

function payload(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  const r = rng(seed);
  for (let i = 0; i < n; i += 4) out[i] = (r() * 256) | 0;
  return out;
}

/** A workload: it prepares in `dir` of the target (untimed) and returns its measured phases. */
export type Workload = (t: BenchTarget, dir: string, s: ReturnType<typeof sizes>) => Promise<Phase[]>;

export const WORKLOADS: Record<string, Workload> = {
  async sequential(t, dir, s) {
    const file = `${dir}/seq`;
    const piece = payload(s.piece, 1);
    const count = s.seqBytes / s.piece;
    const write = await time(async () => {
      for (let i = 0; i < count; i++) await t.writeAt(file, i * s.piece, piece);
    });
    let total = 0;
    const read = await time(async () => {
      for (let i = 0; i < count; i++) total += (await t.readAt(file, i * s.piece, s.piece)).length;
    });
    if (total !== s.seqBytes) throw new Error(`sequential read returned ${total} bytes`);
    return [
      { name: 'seq write 64K', ops: count, bytes: s.seqBytes, ms: write },
      { name: 'seq read 64K', ops: count, bytes: s.seqBytes, ms: read },
    ];
  },

  async random(t, dir, s) {
    const file = `${dir}/rand`;
    const fill = payload(s.piece, 2);
    for (let at = 0; at < s.randomFile; at += s.piece) await t.writeAt(file, at, fill);
    const data = payload(4 * KiB, 3);
    const r = rng(42);
    const offsets = Array.from(
      { length: s.randomOps },
      () => Math.floor(r() * (s.randomFile / 4096 - 1)) * 4096,
    );
    const write = await time(async () => {
      for (const o of offsets) await t.writeAt(file, o, data);
    });
    const read = await time(async () => {
      for (const o of offsets) await t.readAt(file, o + 512, 4 * KiB);
    });
    const bytes = s.randomOps * 4 * KiB;
    return [
      { name: 'random writeAt 4K', ops: s.randomOps, bytes, ms: write },
      { name: 'random readAt 4K', ops: s.randomOps, bytes, ms: read },
    ];
  },

  async append(t, dir, s) {
    const file = `${dir}/log`;
    const records = Array.from({ length: 16 }, (_, i) => new TextEncoder().encode(`${'x'.repeat(70 + i)}\n`));
    let bytes = 0;
    const ms = await time(async () => {
      for (let i = 0; i < s.appends; i++) {
        const rec = records[i % 16]!;
        await t.append(file, rec);
        bytes += rec.length;
      }
    });
    const size = (await t.stat(file)).size;
    if (size !== bytes) throw new Error(`append: size ${size}, expected ${bytes}`);
    return [{ name: 'append ~80B', ops: s.appends, bytes, ms }];
  },

  async smallFiles(t, dir, s) {
    const d = `${dir}/small`;
    await t.mkdir(d);
    const names = Array.from({ length: s.smallFiles }, (_, i) => `file-${i}.txt`);
    const body = payload(200, 5);
    const create = await time(async () => {
      for (const n of names) await t.write(`${d}/${n}`, body);
    });
    let listed = 0;
    const list = await time(async () => {
      listed = (await t.list(d)).length;
    });
    if (listed !== s.smallFiles) throw new Error(`list returned ${listed} entries`);
    const stat = await time(async () => {
      for (const n of names) await t.stat(`${d}/${n}`);
    });
    const del = await time(async () => {
      for (const n of names) await t.delete(`${d}/${n}`);
    });
    const n = s.smallFiles;
    return [
      { name: 'small files create', ops: n, bytes: n * 200, ms: create },
      { name: `list ${n} entries`, ops: 1, bytes: 0, ms: list },
      { name: 'small files stat', ops: n, bytes: 0, ms: stat },
      { name: 'small files delete', ops: n, bytes: 0, ms: del },
    ];
  },

  async fileSizeIndependence(t, dir, s) {
    // Random 4 KiB writeAt into a 1 MiB and a 1 GiB (sparse) file: first the first touch of each
    // spot (in the big file that creates a chunk), then the same spots again (overwriting existing
    // chunks), so "cost independent of file size" is compared like with like.
    const data = payload(4 * KiB, 6);
    const ops = Math.max(50, Math.round(s.randomOps / 2));
    const phases: Phase[] = [];
    for (const [label, size] of [
      ['1 MiB', MiB],
      ['1 GiB', 1024 * MiB],
    ] as const) {
      const file = `${dir}/size-${label.replace(' ', '')}`;
      await t.write(file, new Uint8Array(0));
      await t.setSize(file, size);
      const r = rng(7);
      const offsets = Array.from({ length: ops }, () => Math.floor(r() * (size / 4096 - 1)) * 4096);
      for (const pass of ['first touch', 'overwrite']) {
        const ms = await time(async () => {
          for (const o of offsets) await t.writeAt(file, o, data);
        });
        phases.push({ name: `writeAt 4K in ${label} file, ${pass}`, ops, bytes: ops * 4 * KiB, ms });
      }
      await t.delete(file);
    }
    return phases;
  },
};
