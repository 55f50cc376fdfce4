import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchCliRun, type CliRunRow, formatCliRun } from './cli-run.js';
import {
  formatGuest,
  GUEST_BINDINGS,
  guestArgs,
  guestRatios,
  runGuestBench,
  selectGuestTargets,
} from './guest.js';
import { benchPython, formatPython, type PythonBenchResult, selectPythonBackends } from './python.js';
import { benchTar, formatTar, type TarRow } from './tar.js';
import type { BenchBackend } from './types.js';
import { type Phase, sizes, WORKLOADS } from './workloads.js';

/*
 * `pnpm bench`: every backend in src/backends (or BENCH_BACKENDS=a,b), every workload, against the
 * backend's raw ceiling in the same run. Prints a table per backend and writes bench/results/*.json.
 * BENCH_SCALE (default 1) shrinks the workloads for a quick look. Then the guest-level benchmark
 * (src/guest.ts: the C guest on every backend and on preview2-shim's own filesystems), unless
 * BENCH_GUEST=0; BENCH_BACKENDS selects its targets too.
 */
const here = dirname(fileURLToPath(import.meta.url));
const scale = Number(process.env.BENCH_SCALE ?? '1');
const only = process.env.BENCH_BACKENDS?.split(',').map((s) => s.trim());
const onlyWorkloads = process.env.BENCH_WORKLOADS?.split(',').map((s) => s.trim());
const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? '2'));
/** Measured guest runs per measuring process, and iterations of the phases per run (see runGuestBench). */
const guestRuns = Math.max(1, Number(process.env.BENCH_GUEST_RUNS ?? '2'));
const guestIterations = Math.max(1, Number(process.env.BENCH_GUEST_ITERATIONS ?? '3'));
/** Rounds of the CLI run workload (src/cli-run.ts). */
const cliRounds = Math.max(1, Number(process.env.BENCH_CLI_ROUNDS ?? '9'));
/** Rounds of the Python workload's file-heavy script, and start-ups of each kind (src/python.ts). */
const pythonRounds = Math.max(1, Number(process.env.BENCH_PYTHON_ROUNDS ?? '3'));
const pythonStarts = Math.max(1, Number(process.env.BENCH_PYTHON_STARTS ?? '15'));

interface Row {
  workload: string;
  phase: string;
  ops: number;
  vfs: { opsPerSec: number; mbPerSec: number; ms: number };
  raw: { opsPerSec: number; mbPerSec: number; ms: number };
  ratio: number;
}

const rate = (p: Phase) => ({
  opsPerSec: p.ops / (p.ms / 1000),
  mbPerSec: p.bytes / (1024 * 1024) / (p.ms / 1000),
  ms: p.ms,
});

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

async function loadBackends(): Promise<BenchBackend[]> {
  const files = readdirSync(join(here, 'backends'))
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort((a, b) => (a === 'memory.ts' ? -1 : b === 'memory.ts' ? 1 : a.localeCompare(b)));
  const backends: BenchBackend[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(here, 'backends', f)).href)) as { default: BenchBackend };
    if (!only || only.includes(mod.default.name)) backends.push(mod.default);
  }
  return backends;
}

async function benchBackend(backend: BenchBackend): Promise<Row[]> {
  const rows: Row[] = [];
  const s = sizes(scale);
  for (const [name, workload] of Object.entries(WORKLOADS)) {
    if (onlyWorkloads && !onlyWorkloads.includes(name)) continue;
    const { storage, raw, close } = await backend.open();
    try {
      // A small untimed pass warms up the JIT and connections for both targets alike.
      await storage.mkdir('/warm');
      await raw.mkdir('/warm');
      await workload(raw, '/warm', sizes(0.02));
      await workload(storage, '/warm', sizes(0.02));
      // Then alternate raw and VFS, each on its own directory of the same store, keeping the best
      // time of each phase over BENCH_REPEAT rounds.
      let rawBest: Phase[] = [];
      let vfsBest: Phase[] = [];
      const best = (a: Phase[], b: Phase[]) =>
        a.length === 0 ? b : a.map((p, i) => (b[i]!.ms < p.ms ? b[i]! : p));
      for (let round = 0; round < repeat; round++) {
        await raw.mkdir(`/raw${round}`);
        await storage.mkdir(`/vfs${round}`);
        rawBest = best(rawBest, await workload(raw, `/raw${round}`, s));
        vfsBest = best(vfsBest, await workload(storage, `/vfs${round}`, s));
      }
      vfsBest.forEach((p, i) => {
        const v = rate(p);
        const c = rate(rawBest[i]!);
        rows.push({ workload: name, phase: p.name, ops: p.ops, vfs: v, raw: c, ratio: c.ms / v.ms });
      });
    } finally {
      await close();
    }
  }
  return rows;
}

function print(backend: string, rows: Row[]): void {
  const header = ['phase', 'ops', 'vfs ops/s', 'vfs MB/s', 'raw ops/s', 'raw MB/s', 'vfs/raw'];
  const lines = rows.map((r) => [
    r.phase,
    String(r.ops),
    fmt(r.vfs.opsPerSec),
    r.vfs.mbPerSec ? fmt(r.vfs.mbPerSec) : '-',
    fmt(r.raw.opsPerSec),
    r.raw.mbPerSec ? fmt(r.raw.mbPerSec) : '-',
    r.ratio.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(
    `\n## ${backend} (scale ${scale}, best of ${repeat}; vfs/raw = raw time / vfs time, 1.0 = as fast as raw)\n`,
  );
  console.log(row(header));
  console.log(
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  );
  for (const l of lines) console.log(row(l));
  const sizeRows = rows.filter((r) => r.workload === 'fileSizeIndependence');
  if (sizeRows.length === 4) {
    const [smallFirst, smallOver, bigFirst, bigOver] = sizeRows as [Row, Row, Row, Row];
    const x = (big: Row, small: Row, side: 'vfs' | 'raw') => (big[side].ms / small[side].ms).toFixed(2);
    console.log(
      `\nwriteAt 4K, 1 GiB file vs 1 MiB file (time ratio; 1.00 = independent of size): ` +
        `first touch ${x(bigFirst, smallFirst, 'vfs')}x (raw ${x(bigFirst, smallFirst, 'raw')}x), ` +
        `overwrite ${x(bigOver, smallOver, 'vfs')}x (raw ${x(bigOver, smallOver, 'raw')}x)`,
    );
  }
}

const results: Record<string, Row[]> = {};
// The tar workload (src/tar.ts) runs with the others, or alone with BENCH_WORKLOADS=tar.
const tarResults: Record<string, TarRow> = {};
const runTar = !onlyWorkloads || onlyWorkloads.includes('tar');
for (const backend of await loadBackends()) {
  try {
    results[backend.name] = await benchBackend(backend);
    if (results[backend.name]!.length > 0) print(backend.name, results[backend.name]!);
    if (runTar)
      tarResults[backend.name] = await benchTar(backend, Math.max(1, Math.round(10_000 * scale)), repeat);
  } finally {
    await backend.shutdown?.();
  }
}

if (runTar && Object.keys(tarResults).length > 0) console.log(formatTar(tarResults, repeat).join('\n'));

// The CLI run workload, with the others or alone with BENCH_WORKLOADS=cli-run; BENCH_BACKENDS picks its mounts.
let cliRun: CliRunRow[] | undefined;
const cliMounts = ['memory', 'sqlite'].filter((m) => !only || only.includes(m));
if ((!onlyWorkloads || onlyWorkloads.includes('cli-run')) && cliMounts.length > 0) {
  cliRun = await benchCliRun({ mounts: cliMounts, rounds: cliRounds, log: (line) => console.error(line) });
  console.log(formatCliRun(cliRun, cliRounds).join('\n'));
}

// The Python workload, with the others or alone with BENCH_WORKLOADS=python; BENCH_BACKENDS picks its mounts.
let pythonResult: PythonBenchResult | undefined;
if (!onlyWorkloads || onlyWorkloads.includes('python')) {
  pythonResult = await benchPython({
    backends: selectPythonBackends(only),
    files: Math.max(1, Math.round(1000 * scale)),
    rounds: pythonRounds,
    starts: pythonStarts,
    log: (line) => console.error(line),
  });
  console.log(formatPython(pythonResult).join('\n'));
  if (pythonResult.fileHeavy.some((row) => 'error' in row)) process.exitCode = 1;
}

// The guest-level benchmark, after every storage-level table.
let guest: object | undefined;
if (process.env.BENCH_GUEST !== '0') {
  const targets = selectGuestTargets(only);
  if (targets.length > 0) {
    const guestResults = await runGuestBench({
      scale,
      repeat,
      runs: guestRuns,
      iterations: guestIterations,
      targets,
      log: (line) => console.error(line),
    });
    console.log(formatGuest(guestResults, scale, repeat, guestRuns, guestIterations).join('\n'));
    guest = {
      bindings: GUEST_BINDINGS,
      args: guestArgs(scale),
      repeat,
      runs: guestRuns,
      iterations: guestIterations,
      results: guestResults,
      ratios: guestRatios(guestResults, repeat),
    };
    if (guestResults.some((r) => r.error)) process.exitCode = 1;
  }
}

const outDir = join(here, '..', 'results');
mkdirSync(outDir, { recursive: true });
const out = join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const json = JSON.stringify(
  {
    scale,
    node: process.version,
    date: new Date().toISOString(),
    results,
    tar: tarResults,
    cliRun,
    python: pythonResult,
    guest,
  },
  null,
  2,
);
writeFileSync(out, json);
writeFileSync(join(outDir, 'latest.json'), json);
console.log(`\nresults written to ${out}`);
