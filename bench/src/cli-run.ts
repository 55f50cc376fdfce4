import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The CLI run workload: a small component (guests/fixtures/notes.component.wasm, `notes add`) run
 * over one mount three ways, taking turns within each round: (1) `eryx-vfs run`, the built CLI
 * spawned as a process, its transpile cache warm; (2) `run()` of @eryx/vfs-run called in this
 * process after a warm-up (its worker and compiled modules kept); (3) a fresh `node -e` process that
 * imports @eryx/vfs-run and calls `run()` once (what a user scripting it pays). Times are wall
 * times from spawn (or call) to exit (or return); each row gives the median and the best, and the
 * ratios of the medians: CLI ÷ (2) and CLI ÷ (3). The target is CLI ÷ in-process ≤ 1.5.
 */

/** The target for the CLI ÷ in-process ratios. */
export const CLI_RUN_TARGET = 1.5;

/** Times of one way of running, in milliseconds. */
export interface CliRunTimes {
  median: number;
  best: number;
  samples: number[];
}

/** What {@link benchCliRun} measured over one mount. */
export interface CliRunRow {
  /** The mount's kind: `memory` (a fresh `memory:` store per run) or `sqlite` (one temp file). */
  mount: string;
  /** (1) `eryx-vfs run`, a process. */
  cli: CliRunTimes;
  /** (2) `run()` in this process, warm. */
  warm: CliRunTimes;
  /** (3) `run()` in a fresh `node -e` process. */
  script: CliRunTimes;
  /** Median of (1) ÷ median of (2). */
  cliOverWarm: number;
  /** Median of (1) ÷ median of (3). */
  cliOverScript: number;
}

/** Options of {@link benchCliRun}. */
export interface CliRunOptions {
  /** Mount kinds to measure: `memory`, `sqlite`. */
  mounts: readonly string[];
  /** Measured rounds; each runs the three ways once. */
  rounds: number;
  log?: (line: string) => void;
}

const require = createRequire(import.meta.url);
const COMPONENT = fileURLToPath(new URL('../../guests/fixtures/notes.component.wasm', import.meta.url));
const ARGS = ['add', 'bench'];

/**
 * The same program as the CLI runs: the guest's output passed on, its exit code returned. CommonJS
 * `-e` (no `--input-type=module`): a worker inherits the process's flags, and Node refuses that one
 * for a worker's file.
 */
const SCRIPT = `
const [modulePath, component, mount, cacheDir, ...args] = process.argv.slice(1);
import(modulePath)
  .then(({ run }) => run({ component, mounts: { '/data': mount }, args: ['notes', ...args], cacheDir }))
  .then((result) => {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.exitCode;
  });
`;

/** Runs a process to its end; resolves with its wall time, rejects unless it exits 0 saying `added`. */
function timed(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      out += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      out += text;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0 && out.includes('added')) resolve(ms);
      else reject(new Error(`cli-run: ${args.join(' ')} exited with ${code}: ${out.trim()}`));
    });
  });
}

/** The median and the best of `samples`. */
export function summarize(samples: number[]): CliRunTimes {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, best: sorted[0]!, samples };
}

/** Measures the three ways over each mount (see the comment at the top of this file). */
export async function benchCliRun(options: CliRunOptions): Promise<CliRunRow[]> {
  const bin = join(dirname(require.resolve('@eryx/vfs-cli/package.json')), 'dist', 'bin.js');
  const runModule = require.resolve('@eryx/vfs-run');
  const { run } = await import('@eryx/vfs-run');
  const dir = await mkdtemp(join(tmpdir(), 'eryx-bench-cli-'));
  const cacheDir = join(dir, 'cache');
  const rows: CliRunRow[] = [];
  try {
    for (const kind of options.mounts) {
      const mount = kind === 'sqlite' ? `sqlite:${join(dir, 'run.db')}#bench` : 'memory:';
      const ways = {
        cli: () =>
          timed([bin, 'run', '--cache-dir', cacheDir, '--mount', `/data=${mount}`, COMPONENT, '--', ...ARGS]),
        warm: async () => {
          const started = performance.now();
          const result = await run({
            component: COMPONENT,
            mounts: { '/data': mount },
            args: ['notes', ...ARGS],
            cacheDir,
          });
          const ms = performance.now() - started;
          if (result.exitCode !== 0)
            throw new Error(`cli-run: run() exited with ${result.exitCode}: ${result.stderr}`);
          return ms;
        },
        script: () => timed(['-e', SCRIPT, runModule, COMPONENT, mount, cacheDir, ...ARGS]),
      };
      const names = Object.keys(ways) as (keyof typeof ways)[];
      // Untimed: the first CLI run fills the transpile cache; then each way once more.
      for (const name of names) await ways[name]();
      await ways.warm();
      const samples: Record<keyof typeof ways, number[]> = { cli: [], warm: [], script: [] };
      for (let round = 0; round < options.rounds; round++) {
        // Each way goes first in turn, so that load on the machine falls on all alike.
        for (let i = 0; i < names.length; i++) {
          const name = names[(round + i) % names.length]!;
          samples[name].push(await ways[name]());
        }
      }
      const cli = summarize(samples.cli);
      const warm = summarize(samples.warm);
      const script = summarize(samples.script);
      const row = {
        mount: kind,
        cli,
        warm,
        script,
        cliOverWarm: cli.median / warm.median,
        cliOverScript: cli.median / script.median,
      };
      options.log?.(
        `cli-run ${kind}: cli ${cli.median.toFixed(0)} ms, warm run() ${warm.median.toFixed(0)} ms, node -e ${script.median.toFixed(0)} ms`,
      );
      rows.push(row);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

/** The Markdown table of the CLI run workload, one row per mount. */
export function formatCliRun(rows: readonly CliRunRow[], rounds: number): string[] {
  const ms = (t: CliRunTimes) => `${t.median.toFixed(0)} (${t.best.toFixed(0)})`;
  const verdict = (ratio: number) => `${ratio.toFixed(2)} ${ratio <= CLI_RUN_TARGET ? 'ok' : 'MISSED'}`;
  const lines = [
    `\n## eryx-vfs run vs run() (notes add; ${rounds} rounds; ms median (best); ratios of medians, target ≤ ${CLI_RUN_TARGET})\n`,
    '| mount | eryx-vfs run | run() warm, in process | run() in a fresh node -e | cli ÷ warm | cli ÷ node -e |',
    '|:--|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.mount} | ${ms(r.cli)} | ${ms(r.warm)} | ${ms(r.script)} | ${verdict(r.cliOverWarm)} | ${verdict(r.cliOverScript)} |`,
    );
  }
  return lines;
}
