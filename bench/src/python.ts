import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PostgresServer, type S3TestServer, startPostgres, startS3 } from '@eryx/test-servers';
import { memory } from '@eryx/vfs-memory';
import { dropPostgresUrl } from '@eryx/vfs-postgres';
import { python } from '@eryx/vfs-python';
import type { RunMount, RunResult } from '@eryx/vfs-run';
import { dropS3Url } from '@eryx/vfs-s3';
import { type CliRunTimes, summarize } from './cli-run.js';

/*
 * The Python workload. Start-up: `python({ code: 'pass' })` again and again in this process after a
 * warm-up (its worker and compiled interpreter kept), a fresh `node -e` process that imports
 * @eryx/vfs-python and runs `-c pass` once, and the host's `python3 -c pass`, taking turns. Then the
 * file-heavy script (src/file-heavy.py) with /data on every backend and by the host's CPython on a
 * temporary directory, taking turns in each round after an untimed warm-up at a small size. The
 * script times its own work (time.perf_counter); the call's wall time adds the interpreter's start
 * and the opening and closing of the mount. Ratios are guest median ÷ host median.
 */

/** Median and best of a series of times, in milliseconds. */
export type Times = CliRunTimes;

/** The targets: start-up in ms (median), and the file-heavy script on SQLite ÷ host CPython. */
export const PYTHON_TARGETS = { warmMs: 60, freshMs: 400, sqliteRatio: 3 } as const;

/** Every guest target of the file-heavy script, in the order of the table. */
export const PYTHON_BACKENDS = ['memory', 'memory-object', 'sqlite', 'postgres', 's3'] as const;

/** The targets that `BENCH_BACKENDS` names (`memory` brings `memory-object`); all without a list. */
export function selectPythonBackends(only?: readonly string[]): string[] {
  if (!only) return [...PYTHON_BACKENDS];
  return PYTHON_BACKENDS.filter(
    (name) => only.includes(name) || (name === 'memory-object' && only.includes('memory')),
  );
}

/** `ok` when `value` is within `target` (at most), else `MISSED`. */
export function mark(value: number, target: number): 'ok' | 'MISSED' {
  return value <= target ? 'ok' : 'MISSED';
}

/** The file-heavy script's own times, in milliseconds. */
export interface ScriptTimes {
  files: number;
  sqlite: number;
}

/** Reads the JSON line the file-heavy script prints last. */
export function parseScriptOutput(stdout: string): ScriptTimes {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  let parsed: { files_ms?: unknown; sqlite_ms?: unknown };
  try {
    parsed = JSON.parse(last) as typeof parsed;
  } catch {
    throw new Error(`file-heavy script: no JSON times in its output: ${JSON.stringify(stdout.slice(-200))}`);
  }
  if (typeof parsed.files_ms !== 'number' || typeof parsed.sqlite_ms !== 'number') {
    throw new Error(`file-heavy script: unexpected output ${last}`);
  }
  return { files: parsed.files_ms, sqlite: parsed.sqlite_ms };
}

/** The host's CPython: the command and its version. */
export interface HostPython {
  command: string;
  version: string;
}

/**
 * `python3` on `PATH`, else `/usr/bin/python3.11`, if either runs: its real executable, since a
 * shim on `PATH` (pyenv's) would add its own start-up to every host run.
 */
export function findHostPython(): HostPython | undefined {
  for (const command of ['python3', '/usr/bin/python3.11']) {
    const found = spawnSync(
      command,
      ['-c', 'import platform, sys; print(platform.python_version()); print(sys.executable)'],
      {
        encoding: 'utf8',
      },
    );
    const [version, executable] = found.stdout?.trim().split('\n') ?? [];
    if (found.status === 0 && version && executable) return { command: executable, version };
  }
  return undefined;
}

/** Start-up times of `-c pass`. */
export interface PythonStartup {
  /** `python({ code: 'pass' })` again in this process, after a warm-up. */
  warm: Times;
  /** A fresh `node -e` process that imports @eryx/vfs-python and runs `-c pass` once. */
  fresh: Times;
  /** The host's `python3 -c pass`, when there is a host CPython. */
  host?: Times;
}

/** The file-heavy script on one target (`host` or a backend). */
export interface FileHeavyTimes {
  target: string;
  /** In-script time of the files phase, of the sqlite3 phase, and of both. */
  files: Times;
  sqlite: Times;
  script: Times;
  /** Wall time of the whole call (or process, for the host). */
  wall: Times;
  /** Median in-script time ÷ the host's; absent without a host CPython. */
  scriptRatio?: number;
  /** Median wall time ÷ the host's. */
  wallRatio?: number;
}

/** A target that failed, with its error. */
export interface FileHeavyFailure {
  target: string;
  error: string;
}

export type FileHeavyRow = FileHeavyTimes | FileHeavyFailure;

/** What {@link benchPython} measured. */
export interface PythonBenchResult {
  /** Files (and sqlite3 inserts) of the file-heavy script. */
  files: number;
  rounds: number;
  starts: number;
  /** The host's CPython, absent when the machine has none (then there are no ratios). */
  host?: HostPython;
  startup: PythonStartup;
  fileHeavy: FileHeavyRow[];
}

/** Options of {@link benchPython}. */
export interface PythonBenchOptions {
  /** Guest targets of the file-heavy script (see {@link PYTHON_BACKENDS}). */
  backends: readonly string[];
  /** Files and sqlite3 inserts of the file-heavy script (the issue's: 1,000). */
  files: number;
  /** Measured rounds of the file-heavy script. */
  rounds: number;
  /** Measured start-ups of each kind. */
  starts: number;
  /** The host's CPython; found with {@link findHostPython} when not given, `null` for none. */
  host?: HostPython | null;
  log?: (line: string) => void;
}

const require = createRequire(import.meta.url);
const FILE_HEAVY = new URL('./file-heavy.py', import.meta.url);
/** A guest that stops answering should fail the bench, not hang it (S3 at scale 1 takes minutes). */
const GUEST_TIMEOUT_MS = 30 * 60_000;

/** What a user scripting it pays: a fresh process importing the package and running Python once. */
const FRESH_SCRIPT = `
const [modulePath, cacheDir] = process.argv.slice(1);
import(modulePath)
  .then(({ python }) => python({ code: 'pass', cacheDir }))
  .then((result) => {
    process.stderr.write(result.stderr);
    process.exitCode = result.exitCode;
  });
`;

/** Runs a process to its end; its wall time and stdout, or an error unless it exits 0. */
function spawnTimed(command: string, args: string[]): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve({ ms, stdout });
      else reject(new Error(`${command} exited with ${code}: ${stderr.trim().slice(-1000)}`));
    });
  });
}

function checkExited(result: RunResult): void {
  if (result.status !== 'exited' || result.exitCode !== 0 || result.unstored.length > 0) {
    const why = [result.error, result.stderr.trim().slice(-1000)].filter(Boolean).join(': ');
    throw new Error(`python(): ${result.status}, exit code ${result.exitCode}: ${why}`);
  }
}

/** Measures start-up and the file-heavy script (see the comment at the top of this file). */
export async function benchPython(options: PythonBenchOptions): Promise<PythonBenchResult> {
  const host = options.host === undefined ? findHostPython() : (options.host ?? undefined);
  const dir = await mkdtemp(join(tmpdir(), 'eryx-bench-python-'));
  // A cache of its own, so the first call transpiles here and no other cache is touched.
  const cacheDir = join(dir, 'cache');
  try {
    const startup = await benchStartup(options, host, cacheDir);
    const fileHeavy = await benchFileHeavy(options, host, dir, cacheDir);
    return { files: options.files, rounds: options.rounds, starts: options.starts, host, startup, fileHeavy };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchStartup(
  options: PythonBenchOptions,
  host: HostPython | undefined,
  cacheDir: string,
): Promise<PythonStartup> {
  const modulePath = require.resolve('@eryx/vfs-python');
  const ways: Record<string, () => Promise<number>> = {
    warm: async () => {
      const started = performance.now();
      const result = await python({ code: 'pass', cacheDir });
      const ms = performance.now() - started;
      checkExited(result);
      return ms;
    },
    fresh: async () => (await spawnTimed(process.execPath, ['-e', FRESH_SCRIPT, modulePath, cacheDir])).ms,
  };
  if (host) ways.host = async () => (await spawnTimed(host.command, ['-c', 'pass'])).ms;
  const names = Object.keys(ways);
  // Untimed: the first call unpacks and transpiles the interpreter into the cache.
  for (const name of names) await ways[name]!();
  const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let i = 0; i < options.starts; i++) {
    // Each way goes first in turn, so that load on the machine falls on all alike.
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length]!;
      samples[name]!.push(await ways[name]!());
    }
  }
  const startup: PythonStartup = { warm: summarize(samples.warm!), fresh: summarize(samples.fresh!) };
  if (host) startup.host = summarize(samples.host!);
  options.log?.(
    `python start-up: again in process ${startup.warm.median.toFixed(0)} ms, fresh node ${startup.fresh.median.toFixed(0)} ms`,
  );
  return startup;
}

/** A place for /data for one run, and how to remove it afterwards. */
interface Mount {
  mount: RunMount;
  drop(): Promise<void>;
}

interface Servers {
  postgres?: PostgresServer;
  s3?: S3TestServer;
}

function mountFor(backend: string, servers: Servers, dir: string): Mount {
  const none = async () => {};
  const name = `bench-python-${randomUUID().slice(0, 8)}`;
  switch (backend) {
    case 'memory':
      return { mount: 'memory:', drop: none };
    case 'memory-object':
      return { mount: memory(), drop: none };
    case 'sqlite': {
      const file = join(dir, `${name}.db`);
      return { mount: `sqlite:${file}#bench`, drop: () => rm(file, { force: true }) };
    }
    case 'postgres': {
      const url = servers.postgres!.storeUrl(name);
      return { mount: url, drop: () => dropPostgresUrl(url) };
    }
    case 's3': {
      const url = servers.s3!.storeUrl(name);
      return { mount: url, drop: () => dropS3Url(url) };
    }
    default:
      throw new Error(`python bench: unknown backend ${backend}`);
  }
}

/** One run of the file-heavy script: its own times and the call's wall time. */
type Sample = ScriptTimes & { wall: number };

async function runGuest(
  code: string,
  backend: string,
  files: number,
  servers: Servers,
  dir: string,
  cacheDir: string,
): Promise<Sample> {
  const { mount, drop } = mountFor(backend, servers, dir);
  try {
    const started = performance.now();
    const result = await python({
      code,
      args: ['/data', String(files)],
      mounts: { '/data': mount },
      timeout: GUEST_TIMEOUT_MS,
      cacheDir,
    });
    const wall = performance.now() - started;
    checkExited(result);
    return { ...parseScriptOutput(result.stdout), wall };
  } finally {
    await drop();
  }
}

async function runHost(code: string, host: HostPython, files: number, dir: string): Promise<Sample> {
  const base = await mkdtemp(join(dir, 'host-'));
  try {
    const { ms, stdout } = await spawnTimed(host.command, ['-c', code, base, String(files)]);
    return { ...parseScriptOutput(stdout), wall: ms };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

async function benchFileHeavy(
  options: PythonBenchOptions,
  host: HostPython | undefined,
  dir: string,
  cacheDir: string,
): Promise<FileHeavyRow[]> {
  const code = readFileSync(FILE_HEAVY, 'utf8');
  const servers: Servers = {};
  const [postgres, s3] = await Promise.all([
    options.backends.includes('postgres') ? startPostgres() : undefined,
    options.backends.includes('s3') ? startS3() : undefined,
  ]);
  if (postgres) servers.postgres = postgres;
  if (s3) servers.s3 = s3;
  try {
    const targets: Record<string, (files: number) => Promise<Sample>> = {};
    if (host) targets.host = (files) => runHost(code, host, files, dir);
    for (const backend of options.backends)
      targets[backend] = (files) => runGuest(code, backend, files, servers, dir, cacheDir);
    const names = Object.keys(targets);
    const samples: Record<string, Sample[]> = Object.fromEntries(names.map((name) => [name, []]));
    const errors: Record<string, string> = {};
    const attempt = async (name: string, files: number, measured: boolean) => {
      if (errors[name]) return;
      try {
        const sample = await targets[name]!(files);
        if (measured) samples[name]!.push(sample);
      } catch (error) {
        errors[name] = error instanceof Error ? error.message : String(error);
        options.log?.(`python file-heavy ${name}: FAILED: ${errors[name]}`);
      }
    };
    // Untimed: a small run on each target warms the backend's client and the JIT.
    for (const name of names) await attempt(name, Math.min(options.files, 50), false);
    for (let round = 0; round < options.rounds; round++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(round + i) % names.length]!;
        await attempt(name, options.files, true);
        const last = samples[name]!.at(-1);
        if (!errors[name] && last) {
          options.log?.(
            `python file-heavy ${name} round ${round + 1}: script ${(last.files + last.sqlite).toFixed(0)} ms, call ${last.wall.toFixed(0)} ms`,
          );
        }
      }
    }
    const rows: FileHeavyRow[] = names.map((target) => {
      const error = errors[target];
      if (error) return { target, error };
      const list = samples[target]!;
      return {
        target,
        files: summarize(list.map((s) => s.files)),
        sqlite: summarize(list.map((s) => s.sqlite)),
        script: summarize(list.map((s) => s.files + s.sqlite)),
        wall: summarize(list.map((s) => s.wall)),
      };
    });
    const base = rows.find((row): row is FileHeavyTimes => row.target === 'host' && !('error' in row));
    if (base) {
      for (const row of rows) {
        if ('error' in row) continue;
        row.scriptRatio = row.script.median / base.script.median;
        row.wallRatio = row.wall.median / base.wall.median;
      }
    }
    return rows;
  } finally {
    await Promise.all([servers.postgres?.stop(), servers.s3?.stop()]);
  }
}

/** The Markdown tables of the Python workload: start-up, then the file-heavy script. */
export function formatPython(result: PythonBenchResult): string[] {
  const ms = (t: Times) => `${t.median.toFixed(0)} (${t.best.toFixed(0)})`;
  const { warm, fresh, host } = result.startup;
  const version = result.host ? `host CPython ${result.host.version}` : 'no host CPython';
  const lines = [
    `\n## Python start-up (-c pass; ms median (best) of ${result.starts}; targets on the median)\n`,
    '| how | ms | target | |',
    '|:--|--:|--:|:--|',
    `| python() again in this process | ${ms(warm)} | ≤ ${PYTHON_TARGETS.warmMs} | ${mark(warm.median, PYTHON_TARGETS.warmMs)} |`,
    `| a fresh node process: import, python() once | ${ms(fresh)} | ≤ ${PYTHON_TARGETS.freshMs} | ${mark(fresh.median, PYTHON_TARGETS.freshMs)} |`,
  ];
  if (host && result.host)
    lines.push(`| the host's python3 -c pass (CPython ${result.host.version}) | ${ms(host)} | | |`);
  lines.push(
    `\n## Python file-heavy script (${result.files} files created, written, read, listed, deleted; ${result.files} sqlite3 inserts, each committed; ms median (best) of ${result.rounds}; ratios of medians to ${version} on a temp dir)\n`,
    '| target | files | sqlite3 | script | call (wall) | script ÷ host | wall ÷ host |',
    '|:--|--:|--:|--:|--:|--:|--:|',
  );
  const ratio = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(2));
  let verdict: string | undefined;
  for (const row of result.fileHeavy) {
    if ('error' in row) {
      lines.push(`| ${row.target} | FAILED: ${row.error.replace(/\s+/g, ' ').slice(0, 300)} | | | | | |`);
      continue;
    }
    let scriptRatio = ratio(row.scriptRatio);
    if (row.target === 'sqlite' && row.scriptRatio !== undefined) {
      verdict = mark(row.scriptRatio, PYTHON_TARGETS.sqliteRatio);
      scriptRatio += ` ${verdict}`;
    }
    lines.push(
      `| ${row.target} | ${ms(row.files)} | ${ms(row.sqlite)} | ${ms(row.script)} | ${ms(row.wall)} | ${scriptRatio} | ${ratio(row.wallRatio)} |`,
    );
  }
  if (!result.host)
    lines.push('\nNo host CPython (python3, /usr/bin/python3.11): the ratios are unavailable.');
  else if (verdict) lines.push(`\nTarget: sqlite script ÷ host ≤ ${PYTHON_TARGETS.sqliteRatio}: ${verdict}.`);
  return lines;
}
