import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { type GuestBindings, instantiateGuest } from '@eryx/test-guests/run';
import { startPostgres, startS3 } from '@eryx/test-servers';
import {
  createSyncBridge,
  createWasiHost,
  type VfsSyncStorage,
  type WasiImports,
  type WasiStdinSource,
} from '@eryx/vfs-core';
import { memory } from '@eryx/vfs-memory';
import { postgres } from '@eryx/vfs-postgres';
import { sqlite } from '@eryx/vfs-sqlite';
import { FilesystemClock, instrumentFilesystem, useClock } from './fs-clock.js';
import { MIN_ROUNDS, type PairedRatio, pairedRatio, type Verdict, verdict } from './paired.js';
import { dropPrefix } from './s3-prefix.js';

/*
 * The guest-level benchmark: the C guest guests/src/bench.c (fixture transpiled by the guests'
 * build into guests/dist/bench/) runs its phases under /data on every backend through
 * createWasiHost, and on two baselines in the same process: preview2-shim's own in-memory
 * filesystem (its browser flavour) and its Node flavour over a real directory. The guest times
 * each phase itself (clock_gettime), so instantiation and the host's setup are not measured.
 */

/**
 * How the bench guest is transpiled (BENCH_GUEST_BINDINGS): `hybrid` (the default, what
 * @eryx/vfs-core recommends: the core module calls a host's direct lowerings where it has them,
 * jco's glue elsewhere) or `js` (jco's glue for every call). The same transpiled guest runs on
 * every target of a run.
 */
export const GUEST_BINDINGS: GuestBindings = guestBindings(process.env.BENCH_GUEST_BINDINGS);

/** @internal The bindings a BENCH_GUEST_BINDINGS value names. */
export function guestBindings(value: string | undefined): GuestBindings {
  if (value === undefined || value === '' || value === 'hybrid') return 'hybrid';
  if (value === 'js') return 'js';
  throw new Error(`BENCH_GUEST_BINDINGS must be hybrid or js, not ${JSON.stringify(value)}`);
}

/** One phase as the guest reported it. */
export interface GuestPhase {
  name: string;
  ops: number;
  bytes: number;
  ms: number;
  /**
   * Of `ms`, the time spent inside the filesystem's own code (see {@link FilesystemClock}), for
   * the targets measured phase by phase in turn. Kept apart from `ms`: the best of each is kept.
   */
  fsMs?: number;
  /**
   * Every time measured for the phase (ms), in the order measured, of which `ms` is the least.
   * For two targets measured phase by phase in turn, the k-th of one and the k-th of the other
   * were measured one right after the other (in the JSON results, for analysis).
   */
  samples?: number[];
}

/** What one target (a backend or a baseline) got, or why it failed. */
export interface GuestResult {
  target: string;
  phases: GuestPhase[];
  error?: string;
}

/** The guest's arguments at a scale (1 = the issue's sizes). */
export function guestArgs(scale: number): string[] {
  const count = (n: number) => Math.max(1, Math.round(n * scale));
  const bytes = (n: number, unit: number) => Math.max(1, Math.round((n * scale) / unit)) * unit;
  return [
    `seq=${bytes(16 * 1024 * 1024, 64 * 1024)}`,
    `rand=${count(2000)}`,
    `randfile=${bytes(16 * 1024 * 1024, 4096)}`,
    `append=${count(10_000)}`,
    `files=${count(1000)}`,
    'readdir=5',
  ];
}

/** Thrown by the baselines' `wasi:cli/exit` (the Node flavour's own would end the process). */
class GuestExit extends Error {
  constructor(readonly code: number) {
    super(`guest exited with status ${code}`);
  }
}

/**
 * Instantiates the guest with `imports` and runs it; `exitCode` is what the guest passed to exit
 * (0 when it returned), recognised by the `code` of what its entry point threw. With a `gate`, its
 * clock times the filesystem of `imports` meanwhile (see instrumentFilesystem).
 */
async function execute(imports: WasiImports, gate?: GuestGate): Promise<number> {
  if (gate) {
    instrumentFilesystem(
      imports['wasi:filesystem/types'] as Record<string, unknown>,
      imports['wasi:io/streams'] as Parameters<typeof instrumentFilesystem>[1],
    );
  }
  useClock(gate?.clock);
  try {
    const component = await instantiateGuest('bench', imports, GUEST_BINDINGS);
    component.run.run();
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if ((error instanceof GuestExit || (error as Error).name === 'WasiExit') && typeof code === 'number') {
      return code;
    }
    throw error;
  } finally {
    useClock(undefined);
  }
}

/**
 * `phase <name> <ops> <bytes> <ns>` lines of the guest's stdout; with `iterations=` a phase has one
 * line per iteration, and the fastest is kept. `fsMs`: the filesystem time of each line, in order.
 */
function parsePhases(stdout: string, fsMs?: readonly number[]): GuestPhase[] {
  const phases: GuestPhase[] = [];
  let line = 0;
  for (const text of stdout.split('\n')) {
    const m = /^phase (\S+) (\d+) (\d+) (\d+)$/.exec(text.trim());
    if (!m) continue;
    const ms = Number(m[4]) / 1e6;
    const phase: GuestPhase = { name: m[1]!, ops: Number(m[2]), bytes: Number(m[3]), ms, samples: [ms] };
    if (fsMs) {
      // One report per gated phase: a missing or extra one would pair times with the wrong phase.
      if (line >= fsMs.length) throw new Error(`no filesystem time for phase report ${line + 1}`);
      phase.fsMs = fsMs[line];
    }
    line++;
    const seen = phases.findIndex((p) => p.name === phase.name);
    if (seen < 0) phases.push(phase);
    else phases[seen] = bestOf([phases[seen]!], [phase])[0]!;
  }
  if (fsMs && line !== fsMs.length) throw new Error(`${fsMs.length} timed phases, ${line} reported`);
  return phases;
}

function outcome(
  target: string,
  code: number,
  stdout: string,
  stderr: string,
  clock?: FilesystemClock,
): GuestPhase[] {
  if (code !== 0) throw new Error(`${target}: the guest exited with status ${code}: ${stderr.trim()}`);
  const phases = parsePhases(stdout, clock?.phases);
  if (phases.length === 0) throw new Error(`${target}: the guest reported no phase: ${stderr.trim()}`);
  return phases;
}

/**
 * How a gated run is fed and timed: the guest reads its go from `stdin` before each phase, and its
 * filesystem's time is measured by `clock` from that read to the phase's report.
 */
interface GuestGate {
  stdin: WasiStdinSource;
  clock: FilesystemClock;
}

/** One store (or directory) a target's runs share; each run is a fresh component instance. */
interface GuestSession {
  /** `gate`: for a target that is {@link GuestTarget.gated}, run with `gate=1`. */
  run(args: string[], gate?: GuestGate): Promise<GuestPhase[]>;
  close(): Promise<void>;
}

/** The createWasiHost options that feed a gated run and mark where its phases end. */
function gateOptions(gate: GuestGate | undefined) {
  if (!gate) return {};
  return {
    stdin: (max: number) => {
      const go = gate.stdin(max);
      gate.clock.phaseStarted();
      return go;
    },
    // The guest writes nothing to stdout but its reports: the first write after a go ends the phase.
    onStdout: () => gate.clock.phaseEnded(),
  };
}

interface GuestTarget {
  name: string;
  /** Its guest's stdin can be fed as it runs (createWasiHost's stdio), so it can be paired. */
  gated?: boolean;
  /** Run only when `BENCH_BACKENDS` names it. */
  optIn?: boolean;
  /**
   * Starts the target's server once, in the parent process, and returns the environment through
   * which the measuring processes find it (`VFS_POSTGRES_URL`, `VFS_S3_*`).
   */
  serverEnv?(): Promise<Record<string, string>>;
  open(): Promise<GuestSession>;
  shutdown?(): Promise<void>;
}

/** A backend served by createWasiHost, mounted at /data. */
function hostSession(name: string, storage: VfsSyncStorage, close: () => Promise<void>): GuestSession {
  return {
    async run(args, gate) {
      const host = createWasiHost({
        mounts: { '/data': storage },
        args: ['bench', ...args],
        ...gateOptions(gate),
      });
      let code: number;
      try {
        code = await execute(host.imports, gate);
      } finally {
        host.close();
      }
      return outcome(name, code, host.stdout.text(), host.stderr.text(), gate?.clock);
    },
    close,
  };
}

const require = createRequire(import.meta.url);
/** A module URL the bridge's worker can import whatever the package layout. */
const moduleUrl = (specifier: string) => pathToFileURL(require.resolve(specifier)).href;

/**
 * preview2-shim, from the guests package that depends on it (the bench does not). Its `exports`
 * map sends Node to the Node flavour; the browser flavour's files are next to it, loaded by path
 * as @eryx/vfs-core does, so they are the same module instances as the host's streams.
 */
const shimNodeEntry = createRequire(new URL('../../guests/package.json', import.meta.url)).resolve(
  '@bytecodealliance/preview2-shim',
);
const shimFile = (path: string) => new URL(path, pathToFileURL(shimNodeEntry)).href;

interface ShimFilesystem {
  types: Record<string, unknown>;
  preopens: { getDirectories(): Array<[unknown, string]> };
}

interface BrowserFilesystemModule {
  createFilesystem(config: { adapter: unknown; preopens: Record<string, unknown> }): ShimFilesystem;
}

interface InMemoryModule {
  InMemoryFilesystemAdapter: new () => unknown;
}

interface NodeDescriptor {
  openAt(
    pathFlags: Record<string, boolean>,
    path: string,
    openFlags: Record<string, boolean>,
    flags: Record<string, boolean>,
  ): NodeDescriptor;
  writeViaStream(offset: bigint): unknown;
}

interface NodeShim {
  cli: Record<string, Record<string, unknown>>;
  clocks: Record<string, Record<string, unknown>>;
  filesystem: {
    createFilesystem(config: { preopens: Record<string, string> }): ShimFilesystem;
  };
  io: Record<string, Record<string, unknown>>;
  random: Record<string, Record<string, unknown>>;
  sockets: Record<string, Record<string, unknown>>;
}

/** `normal` (the backend's default) or `full`, as for the storage-level bench: BENCH_SQLITE_SYNCHRONOUS. */
const SQLITE_SYNCHRONOUS = process.env.BENCH_SQLITE_SYNCHRONOUS === 'full' ? 'full' : 'normal';

function sqliteTarget(name: string, synchronous: 'full' | 'normal'): GuestTarget {
  return {
    name,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'eryx-bench-guest-sqlite-'));
      const storage = sqlite({ path: join(dir, 'vfs.db'), synchronous });
      return hostSession(name, storage.sync!, async () => {
        await storage.close();
        rmSync(dir, { recursive: true, force: true });
      });
    },
  };
}

interface ShimIo {
  outputStreamCreate(handler: {
    write(buffer: Uint8Array): void;
    flush(): void;
    blockingFlush(): void;
  }): unknown;
  inputStreamCreate(handler: { blockingRead(len: bigint): Uint8Array }): unknown;
  error: Record<string, unknown>;
  poll: Record<string, unknown>;
  streams: Record<string, unknown>;
}

/**
 * stdin, stdout and stderr made of preview2-shim's own (browser) streams, fed and read as
 * createWasiHost's are (see gateOptions): a filesystem's streams and stdio's must be of one
 * `wasi:io/streams` implementation, and the baseline's are preview2-shim's.
 */
function shimStdio(io: ShimIo, gate: GuestGate | undefined) {
  const { stdin: source, onStdout } = gateOptions(gate) as {
    stdin?: WasiStdinSource;
    onStdout?: (chunk: Uint8Array) => void;
  };
  const captured = (forward?: (chunk: Uint8Array) => void) => {
    const chunks: Uint8Array[] = [];
    const stream = io.outputStreamCreate({
      write(buffer) {
        chunks.push(buffer.slice());
        forward?.(buffer);
      },
      flush() {},
      blockingFlush() {},
    });
    return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
  };
  const stdout = captured(onStdout);
  const stderr = captured();
  const stdin = io.inputStreamCreate({
    blockingRead(len) {
      const chunk = len > 0n ? (source?.(Number(len)) ?? null) : new Uint8Array(0);
      if (chunk === null || (chunk.length === 0 && len > 0n)) throw { tag: 'closed' };
      return chunk.slice(0, Number(len));
    },
  });
  return {
    imports: {
      'wasi:cli/stdin': { getStdin: () => stdin },
      'wasi:cli/stdout': { getStdout: () => stdout.stream },
      'wasi:cli/stderr': { getStderr: () => stderr.stream },
      'wasi:io/error': io.error,
      'wasi:io/streams': io.streams,
    },
    stdout: stdout.text,
    stderr: stderr.text,
  };
}

/**
 * preview2-shim's browser in-memory filesystem, with its own streams (for files and stdio alike),
 * and the same clocks and poll as the backends (createWasiHost without mounts): only
 * wasi:filesystem and the streams it returns differ.
 */
function p2shimMemoryTarget(name: string): GuestTarget {
  return {
    name,
    gated: true,
    async open() {
      const { createFilesystem } = (await import(
        shimFile('../browser/filesystem.js')
      )) as BrowserFilesystemModule;
      const { InMemoryFilesystemAdapter } = (await import(
        shimFile('../browser/in-memory-filesystem.js')
      )) as InMemoryModule;
      const io = (await import(shimFile('../browser/io.js'))) as ShimIo;
      const root = { dir: {} };
      return {
        async run(args, gate) {
          const host = createWasiHost({ mounts: {}, args: ['bench', ...args] });
          // The host's poll blocks on preview2-shim's pollables: the streams' must be the same class.
          if (host.imports['wasi:io/poll']?.Pollable !== io.poll.Pollable) {
            throw new Error("preview2-shim is loaded twice: its pollables are not the host's");
          }
          const stdio = shimStdio(io, gate);
          const fs = createFilesystem({
            adapter: new InMemoryFilesystemAdapter(),
            preopens: { '/data': root },
          });
          const imports = {
            ...host.imports,
            ...stdio.imports,
            'wasi:filesystem/types': fs.types,
            'wasi:filesystem/preopens': fs.preopens,
          };
          let code: number;
          try {
            code = await execute(imports, gate);
          } finally {
            host.close();
          }
          return outcome(name, code, stdio.stdout(), stdio.stderr(), gate?.clock);
        },
        async close() {},
      };
    },
  };
}

const targets: GuestTarget[] = [
  {
    name: 'memory',
    gated: true,
    async open() {
      const storage = memory({ maxBytes: Number.POSITIVE_INFINITY });
      return hostSession('memory', storage.sync!, () => storage.close());
    },
  },
  sqliteTarget('sqlite', SQLITE_SYNCHRONOUS),
  // The same with synchronous=full, for what it costs: every write is an fsynced commit (the
  // baseline never fsyncs, and the guest never asks for it in these phases).
  ...(SQLITE_SYNCHRONOUS === 'full' ? [] : [sqliteTarget('sqlite-full', 'full')]),
  (() => {
    let server: ReturnType<typeof startPostgres> | undefined;
    return {
      name: 'postgres',
      async open() {
        server ??= startPostgres();
        const { url } = await server;
        const namespace = `bench-guest-${process.pid}-${Date.now()}`;
        const options = { connectionString: url, namespace };
        const bridge = createSyncBridge({
          module: moduleUrl('@eryx/vfs-postgres'),
          export: 'postgres',
          options,
        });
        return hostSession('postgres', bridge, async () => {
          bridge.close();
          await postgres(options).destroy();
        });
      },
      async serverEnv() {
        server ??= startPostgres();
        return { VFS_POSTGRES_URL: (await server).url };
      },
      async shutdown() {
        if (server) await (await server).stop();
        server = undefined;
      },
    };
  })(),
  (() => {
    let server: ReturnType<typeof startS3> | undefined;
    return {
      name: 's3',
      async open() {
        server ??= startS3();
        const info = await server;
        const connection = {
          endpoint: info.endpoint,
          region: info.region,
          credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
          forcePathStyle: true,
        };
        const prefix = `bench-guest-${process.pid}-${Date.now()}/`;
        const bridge = createSyncBridge({
          module: moduleUrl('@eryx/vfs-s3'),
          export: 's3',
          options: { ...connection, bucket: info.bucket, prefix },
        });
        return hostSession('s3', bridge, async () => {
          bridge.close();
          const client = new S3Client(connection);
          try {
            await dropPrefix(client, info.bucket, prefix);
          } finally {
            client.destroy();
          }
        });
      },
      async serverEnv() {
        server ??= startS3();
        const info = await server;
        return {
          VFS_S3_ENDPOINT: info.endpoint,
          VFS_S3_REGION: info.region,
          VFS_S3_ACCESS_KEY_ID: info.accessKeyId,
          VFS_S3_SECRET_ACCESS_KEY: info.secretAccessKey,
          VFS_S3_BUCKET: info.bucket,
        };
      },
      async shutdown() {
        if (server) await (await server).stop();
        server = undefined;
      },
    };
  })(),
  p2shimMemoryTarget('p2shim-memory'),
  // The same baseline again, compared with itself: what the memory comparison's ratios look like
  // when the two sides are the same code (run when BENCH_BACKENDS names it).
  { ...p2shimMemoryTarget('p2shim-memory-again'), optIn: true },
  {
    // preview2-shim's Node flavour (every filesystem call goes to real files, through its I/O
    // worker) with /data preopened to a temporary directory. Its streams are its own, so stdio
    // must be too: stdout goes to a file the guest's stream writes through the same shim.
    name: 'p2shim-disk',
    async open() {
      const shim = (await import(pathToFileURL(shimNodeEntry).href)) as NodeShim;
      const dir = mkdtempSync(join(tmpdir(), 'eryx-bench-guest-disk-'));
      const data = join(dir, 'data');
      const out = join(dir, 'out');
      mkdirSync(data);
      mkdirSync(out);
      const fs = shim.filesystem.createFilesystem({ preopens: { '/data': data } });
      const [[outDir]] = shim.filesystem
        .createFilesystem({ preopens: { '/': out } })
        .preopens.getDirectories() as [[NodeDescriptor, string]];
      let runs = 0;
      return {
        async run(args) {
          const name = `stdout-${runs++}.txt`;
          const file = outDir.openAt({}, name, { create: true, truncate: true }, { write: true });
          const stdout = file.writeViaStream(0n);
          const exit = (code: number): never => {
            throw new GuestExit(code);
          };
          const code = await execute({
            'wasi:cli/environment': {
              getEnvironment: () => [],
              getArguments: () => ['bench', ...args],
              initialCwd: () => undefined,
            },
            'wasi:cli/exit': {
              exit: (status: { tag: string }) => exit(status.tag === 'err' ? 1 : 0),
              exitWithCode: (status: number) => exit(status),
            },
            'wasi:cli/stdin': shim.cli.stdin!,
            'wasi:cli/stdout': { getStdout: () => stdout },
            'wasi:cli/stderr': shim.cli.stderr!,
            'wasi:cli/terminal-input': shim.cli.terminalInput!,
            'wasi:cli/terminal-output': shim.cli.terminalOutput!,
            'wasi:cli/terminal-stdin': shim.cli.terminalStdin!,
            'wasi:cli/terminal-stdout': shim.cli.terminalStdout!,
            'wasi:cli/terminal-stderr': shim.cli.terminalStderr!,
            'wasi:clocks/monotonic-clock': shim.clocks.monotonicClock!,
            'wasi:clocks/wall-clock': shim.clocks.wallClock!,
            'wasi:filesystem/types': fs.types,
            'wasi:filesystem/preopens': fs.preopens,
            'wasi:io/error': shim.io.error!,
            'wasi:io/poll': shim.io.poll!,
            'wasi:io/streams': shim.io.streams!,
            'wasi:random/random': shim.random.random!,
            'wasi:random/insecure': shim.random.insecure!,
            'wasi:random/insecure-seed': shim.random.insecureSeed!,
            'wasi:sockets/network': shim.sockets.network!,
            'wasi:sockets/instance-network': shim.sockets.instanceNetwork!,
            'wasi:sockets/ip-name-lookup': shim.sockets.ipNameLookup!,
            'wasi:sockets/tcp': shim.sockets.tcp!,
            'wasi:sockets/tcp-create-socket': shim.sockets.tcpCreateSocket!,
            'wasi:sockets/udp': shim.sockets.udp!,
            'wasi:sockets/udp-create-socket': shim.sockets.udpCreateSocket!,
          });
          // The guest's stderr went to the process's stderr; its stdout is in the file.
          return outcome('p2shim-disk', code, readFileSync(join(out, name), 'utf8'), '');
        },
        async close() {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

/** The targets' names, backends first, then the baselines. */
export const GUEST_TARGETS = targets.map((t) => t.name);

/**
 * Which baseline each target ratio compares with, and the largest time ratio that meets it (none:
 * the ratio is shown for information).
 */
export const GUEST_TARGET_RATIOS: readonly { target: string; baseline: string; max?: number }[] = [
  { target: 'memory', baseline: 'p2shim-memory', max: 1 },
  { target: 'sqlite', baseline: 'p2shim-disk', max: 3 },
  { target: 'sqlite-full', baseline: 'p2shim-disk' },
  { target: 'p2shim-memory-again', baseline: 'p2shim-memory' },
];

/**
 * The targets `BENCH_BACKENDS` selects (every one but the opt-in ones when it is not set): the named
 * ones, plus the baseline of each named backend that has a target ratio, so that the ratio can be
 * computed.
 */
export function selectGuestTargets(only: string[] | undefined): string[] {
  if (!only) return targets.filter((t) => !t.optIn).map((t) => t.name);
  // sqlite-full is a variant of sqlite.
  const named = only.includes('sqlite') ? [...only, 'sqlite-full'] : only;
  const baselines = GUEST_TARGET_RATIOS.filter((r) => named.includes(r.target)).map((r) => r.baseline);
  return GUEST_TARGETS.filter((name) => named.includes(name) || baselines.includes(name));
}

/**
 * Runs the guest on the selected targets. Servers (PostgreSQL, S3) start once, here. Then `repeat`
 * rounds run every target once, in turn (so that load on the machine falls on all of them alike),
 * each run in a fresh Node process ({@link runGuestTarget}): in one shared process the JIT state
 * that jco's glue code reaches depends on which filesystem ran before, and that alone moved a
 * phase by 15–20% depending on the order of the targets. The best time of each phase is kept. A
 * target that fails is reported, and the others go on.
 */
export async function runGuestBench(options: {
  scale: number;
  repeat: number;
  /** Target names (see {@link selectGuestTargets}); every target when omitted. */
  targets?: string[];
  /** Guest arguments that take precedence over the scale's (`seq=`, `rand=`, ...). */
  args?: string[];
  /**
   * Measured runs per measuring process (after its warm-up), the best of them kept, for the targets
   * and baselines of {@link GUEST_TARGET_RATIOS} (PostgreSQL and S3 get one). Default 1.
   */
  runs?: number;
  /**
   * Iterations of every phase within each measured run (the guest's `iterations=`), for the same
   * targets as `runs`. Default 1.
   */
  iterations?: number;
  log?: (line: string) => void;
}): Promise<GuestResult[]> {
  const extra = options.args ?? [];
  const log = options.log ?? (() => {});
  const selected = targets.filter((t) => !options.targets || options.targets.includes(t.name));
  const state = selected.map((target) => ({
    target,
    best: [] as GuestPhase[],
    error: undefined as string | undefined,
  }));
  const failed = (s: (typeof state)[number], error: unknown) => {
    s.error = error instanceof Error ? error.message : String(error);
    log(`guest: ${s.target.name} failed: ${s.error}`);
  };
  const env: Record<string, string> = {};
  const runs = Math.max(1, options.runs ?? 1);
  const iterations = Math.max(1, options.iterations ?? 1);
  try {
    for (const s of state) {
      try {
        if (s.target.serverEnv) {
          log(`guest: starting the server of ${s.target.name}`);
          Object.assign(env, await s.target.serverEnv());
        }
      } catch (error) {
        failed(s, error);
      }
    }
    const warm = ['dir=/data/warm', ...extra, ...guestArgs(Math.min(options.scale, 0.25))];
    const args = [...extra, ...guestArgs(options.scale)];
    const request = (s: (typeof state)[number]): GuestChildRequest => {
      // Only a compared target needs several runs; the network backends' runs are long.
      const compared = GUEST_TARGET_RATIOS.some(
        (r) => r.target === s.target.name || r.baseline === s.target.name,
      );
      return {
        target: s.target.name,
        args,
        warm,
        runs: compared ? runs : 1,
        iterations: compared ? iterations : 1,
      };
    };
    // A compared pair whose targets can both be gated runs phase by phase in turn (a baseline
    // compared with two targets, with the first of them not measured yet in the round).
    const partnerOf = (s: (typeof state)[number], measured: ReadonlySet<(typeof state)[number]>) => {
      const paired = (a: string, b: string) =>
        GUEST_TARGET_RATIOS.some(
          (r) => (r.target === a && r.baseline === b) || (r.target === b && r.baseline === a),
        );
      const other = state.find(
        (o) => o !== s && !measured.has(o) && !o.error && paired(s.target.name, o.target.name),
      );
      return s.target.gated && other?.target.gated ? other : undefined;
    };
    for (let round = 0; round < options.repeat; round++) {
      const measured = new Set<(typeof state)[number]>();
      for (const s of state) {
        if (s.error || measured.has(s)) continue;
        const partner = partnerOf(s, measured);
        const group = partner ? [s, partner] : [s];
        for (const g of group) measured.add(g);
        log(
          `guest: round ${round + 1}/${options.repeat}, ${group.map((g) => g.target.name).join(' and ')}` +
            (partner ? ', phase by phase in turn' : ''),
        );
        if (partner) {
          // Who goes first alternates from round to round.
          if (round % 2 === 1) group.reverse();
          const outcomes = await runGatedInChildren(group.map(request), env);
          outcomes.forEach((o, i) => {
            if (o.status === 'fulfilled') group[i]!.best = bestOf(group[i]!.best, o.value);
            else failed(group[i]!, o.reason);
          });
          continue;
        }
        try {
          s.best = bestOf(s.best, await runInChild(request(s), env));
        } catch (error) {
          failed(s, error);
        }
      }
    }
  } finally {
    for (const s of state) {
      try {
        await s.target.shutdown?.();
      } catch (error) {
        if (!s.error) failed(s, error);
      }
    }
  }
  return state.map((s) => ({ target: s.target.name, phases: s.error ? [] : s.best, error: s.error }));
}

/** What a measuring process is asked to run. */
export interface GuestChildRequest {
  target: string;
  /** The measured runs' guest arguments (each run gets its own `dir=`). */
  args: string[];
  /** How many measured runs, each a fresh component instance; the best time per phase is kept. */
  runs: number;
  /** Iterations of every phase within each measured run (the guest's `iterations=`). */
  iterations: number;
  /** The untimed warm-up run's guest arguments. */
  warm: string[];
  /**
   * The guest waits for a go on this process's stdin before each measured phase (`gate=1`), and the
   * process prints `guest-waiting` when it does (see runGatedInChildren).
   */
  gated?: boolean;
}

const RESULT_PREFIX = 'guest-result ';

/** Printed by a gated measuring process each time its guest waits for the go of its next phase. */
const WAITING = 'guest-waiting';

/** A measuring process: a fresh Node process with the same flags as this one (tsx, --expose-gc). */
function spawnChild(
  request: GuestChildRequest,
  env: Record<string, string>,
  onWaiting: () => void,
): { result: Promise<GuestPhase[]>; go(): void } {
  const script = fileURLToPath(new URL('./guest-child.ts', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, script, JSON.stringify(request)], {
    env: { ...process.env, ...env },
    stdio: [request.gated ? 'pipe' : 'ignore', 'pipe', 'inherit'],
  });
  const result = new Promise<GuestPhase[]>((resolve, reject) => {
    let out = '';
    let scanned = 0;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      out += text;
      for (let end = out.indexOf('\n', scanned); end >= 0; end = out.indexOf('\n', scanned)) {
        if (out.slice(scanned, end) === WAITING) onWaiting();
        scanned = end + 1;
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as GuestPhase[]);
      else
        reject(
          new Error(`${request.target}: the measuring process ended with ${signal ?? `status ${code}`}`),
        );
    });
  });
  // A process that ends while a go is on its way is reported by its exit, not by the broken pipe.
  child.stdin?.on('error', () => {});
  return { result, go: () => child.stdin?.write(new Uint8Array([1])) };
}

/** Runs one measurement in a measuring process. */
function runInChild(request: GuestChildRequest, env: Record<string, string>): Promise<GuestPhase[]> {
  return spawnChild(request, env, () => {}).result;
}

/**
 * Measures gated targets phase by phase in turn: each in its own measuring process (so that neither
 * shapes the JIT state of the other), with its guest waiting for a go before every phase. A go is
 * given only while every other process waits or has ended, in turn, so each phase of one target is
 * timed right after or before the same phase of the other, in the same moments of the machine
 * (whose speed drifts by tens of percent over seconds here), and never beside another process's
 * work. The warm-ups run before the first go.
 */
function runGatedInChildren(
  requests: GuestChildRequest[],
  env: Record<string, string>,
): Promise<PromiseSettledResult<GuestPhase[]>[]> {
  type Child = { state: 'busy' | 'waiting' | 'ended'; go(): void };
  const children: Child[] = [];
  let turn = 0;
  const schedule = () => {
    if (children.some((c) => c.state === 'busy')) return;
    for (let k = 0; k < children.length; k++) {
      const child = children[(turn + k) % children.length]!;
      if (child.state !== 'waiting') continue;
      turn = (turn + k + 1) % children.length;
      child.state = 'busy';
      child.go();
      return;
    }
  };
  const results = requests.map((request) => {
    const child: Child = { state: 'busy', go: () => {} };
    const spawned = spawnChild({ ...request, gated: true }, env, () => {
      child.state = 'waiting';
      schedule();
    });
    child.go = spawned.go;
    children.push(child);
    return spawned.result.finally(() => {
      child.state = 'ended';
      schedule();
    });
  });
  return Promise.allSettled(results);
}

/**
 * The body of a measuring process: opens the target's store (its server found through the
 * environment), runs the untimed warm-up, then the measured runs, each from a collected heap, and
 * prints the best time of each phase on one `guest-result` line.
 */
export async function runGuestTarget(request: GuestChildRequest): Promise<void> {
  const target = targets.find((t) => t.name === request.target);
  if (!target) throw new Error(`unknown guest target ${request.target}`);
  const session = await target.open();
  try {
    await session.run(request.warm);
    let best: GuestPhase[] = [];
    for (let run = 0; run < request.runs; run++) {
      (globalThis as { gc?: () => void }).gc?.();
      const gate = request.gated ? { stdin: waitForGo, clock: new FilesystemClock() } : undefined;
      const args = [
        `dir=/data/run${run}`,
        `iterations=${request.iterations}`,
        ...(gate ? ['gate=1'] : []),
        ...request.args,
      ];
      best = bestOf(best, await session.run(args, gate));
    }
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(best)}\n`);
  } finally {
    await session.close();
    await target.shutdown?.();
  }
}

/** A gated guest's stdin: says it waits, then blocks until the parent's go arrives on fd 0. */
function waitForGo(): Uint8Array | null {
  writeSync(1, `${WAITING}\n`);
  const go = new Uint8Array(1);
  for (;;) {
    try {
      return readSync(0, go, 0, 1, null) === 1 ? go : null;
    } catch (error) {
      // A pipe left non-blocking: wait a millisecond and ask again.
      if ((error as { code?: string }).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/**
 * The faster of each phase of two results (the first may be empty); the least filesystem time of
 * the two is kept apart, whichever run it came from, and the samples of both, in order.
 */
function bestOf(a: GuestPhase[], b: GuestPhase[]): GuestPhase[] {
  if (a.length === 0) return b;
  return a.map((p, i) => {
    const q = b[i]!;
    const best = q.ms < p.ms ? q : p;
    const fsMs = p.fsMs === undefined || q.fsMs === undefined ? undefined : Math.min(p.fsMs, q.fsMs);
    const samples = [...(p.samples ?? [p.ms]), ...(q.samples ?? [q.ms])];
    return fsMs === undefined ? { ...best, samples } : { ...best, fsMs, samples };
  });
}

/** Throughput of a phase: MB/s for the sequential phases, ops/s for the others. */
function throughput(phase: GuestPhase): { value: number; unit: 'MB/s' | 'ops/s' } {
  const seconds = phase.ms / 1000;
  return phase.name.startsWith('seq_')
    ? { value: phase.bytes / (1024 * 1024) / seconds, unit: 'MB/s' }
    : { value: phase.ops / seconds, unit: 'ops/s' };
}

/** One target ratio per phase: the target's time divided by the baseline's (lower is better). */
export interface GuestRatio {
  target: string;
  baseline: string;
  /** The largest ratio that meets the target; `undefined` when the ratio is for information. */
  max: number | undefined;
  /** The best-of ratio: the target's least time ÷ the baseline's least time. */
  phases: Record<string, number>;
  /**
   * The same ratio for the time inside the filesystems alone (see {@link FilesystemClock}), when
   * both were measured phase by phase in turn. For information: the target is on `phases`.
   */
  fsPhases: Record<string, number>;
  /** Whether every best-of ratio is within `max`. */
  met: boolean;
  /** The paired ratio of each phase (see paired.ts), when both kept every time of every round. */
  paired: Record<string, PairedRatio>;
  /**
   * What the paired ratios say about `max` (absent without one): `met` when every phase's interval
   * lies within it, `missed` when some phase's lies beyond, `unresolved` when some straddles it.
   */
  pairedVerdict?: Verdict;
}

/** The target ratios of the results of `rounds` rounds. */
export function guestRatios(results: GuestResult[], rounds: number): GuestRatio[] {
  const byName = new Map(results.filter((r) => !r.error).map((r) => [r.target, r.phases]));
  const ratios: GuestRatio[] = [];
  for (const { target, baseline, max } of GUEST_TARGET_RATIOS) {
    const a = byName.get(target);
    const b = byName.get(baseline);
    if (!a || !b) continue;
    const phases: Record<string, number> = {};
    const fsPhases: Record<string, number> = {};
    const paired: Record<string, PairedRatio> = {};
    for (const p of a) {
      const q = b.find((x) => x.name === p.name);
      if (!q) continue;
      phases[p.name] = p.ms / q.ms;
      if (p.fsMs !== undefined && q.fsMs !== undefined) fsPhases[p.name] = p.fsMs / q.fsMs;
      const ratio = p.samples && q.samples && pairedRatio(p.samples, q.samples, rounds);
      if (ratio) paired[p.name] = ratio;
    }
    const met = max === undefined || Object.values(phases).every((r) => r <= max);
    // The worst phase decides; a phase without a paired ratio leaves the target without a verdict.
    const verdicts = max === undefined ? [] : Object.values(paired).map((r) => verdict(r, max));
    const pairedVerdict =
      verdicts.length === 0 || verdicts.length < a.length
        ? undefined
        : (['missed', 'too few rounds', 'unresolved', 'met'] as const).find((v) => verdicts.includes(v));
    ratios.push({ target, baseline, max, phases, fsPhases, met, paired, pairedVerdict });
  }
  return ratios;
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtMs = (n: number | undefined) => (n === undefined ? '-' : fmt(n));

function table(header: string[], lines: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    row(header),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...lines.map(row),
  ];
}

/** A phase × target ratio table, one column per ratio, its cells from `cell`. */
function ratioTable(
  ratios: GuestRatio[],
  names: string[],
  cell: (r: GuestRatio, phase: string) => string,
): string[] {
  return table(
    [
      'phase',
      ...ratios.map(
        (r) => `${r.target} ÷ ${r.baseline} (${r.max === undefined ? 'no target' : `≤ ${r.max}`})`,
      ),
    ],
    names.map((name) => [name, ...ratios.map((r) => cell(r, name))]),
  );
}

const VERDICT_MARK: Record<Verdict, string> = {
  met: 'ok',
  missed: 'MISSED',
  unresolved: 'unresolved',
  'too few rounds': '',
};

/** The phase × target table and the target ratios, as Markdown lines. */
export function formatGuest(
  results: GuestResult[],
  scale: number,
  repeat: number,
  runs = 1,
  iterations = 1,
): string[] {
  const ok = results.filter((r) => !r.error && r.phases.length > 0);
  const names = ok[0]?.phases.map((p) => p.name) ?? [];
  const out = [
    `\n## guest: bench.c through WASI (${GUEST_BINDINGS} bindings, BENCH_GUEST_BINDINGS; scale ${scale}, best of ${repeat} rounds × ${runs} runs × ${iterations} iterations; MB/s for seq_*, ops/s otherwise)\n`,
  ];
  out.push(
    ...table(
      ['phase', 'ops', 'unit', ...ok.map((r) => r.target)],
      names.map((name, i) => {
        const first = ok[0]!.phases[i]!;
        return [
          name,
          String(first.ops),
          throughput(first).unit,
          ...ok.map((r) => {
            const p = r.phases.find((x) => x.name === name);
            return p ? fmt(throughput(p).value) : '-';
          }),
        ];
      }),
    ),
  );
  if (ok.some((r) => r.target.startsWith('sqlite'))) {
    out.push(
      `\nsqlite: synchronous=${SQLITE_SYNCHRONOUS} (BENCH_SQLITE_SYNCHRONOUS; normal is the backend's default: commits reach the disk at the guest's fsync, which these phases never call, and at the end of the run)` +
        (SQLITE_SYNCHRONOUS === 'full'
          ? ''
          : '; sqlite-full: synchronous=full, every write an fsynced commit'),
    );
  }
  for (const r of results.filter((x) => x.error)) out.push(`\n${r.target}: FAILED: ${r.error}`);
  const ratios = guestRatios(results, repeat);
  if (ratios.length > 0) {
    out.push('\ntarget ratios (time ÷ baseline time, per phase; lower is better)\n');
    out.push(
      ...ratioTable(ratios, names, (r, name) => {
        const v = r.phases[name];
        if (v === undefined) return '-';
        if (r.max === undefined) return v.toFixed(2);
        return `${v.toFixed(2)} ${v <= r.max ? 'ok' : 'MISSED'}`;
      }),
    );
    for (const r of ratios.filter((x) => x.max !== undefined)) {
      out.push(
        `\n${r.target} vs ${r.baseline}, best-of ratios: ${r.met ? 'target met on every phase' : 'target MISSED'}`,
      );
    }
  }
  const paired = ratios.filter((r) => Object.keys(r.paired).length > 0);
  if (paired.length > 0) {
    out.push(
      `\npaired ratios (median of the k-th time ÷ the baseline's k-th time of the same round, measured right next to it where the two run phase by phase in turn; over ${repeat} rounds, with the 95% interval from resampling rounds; lower is better)\n`,
    );
    out.push(
      ...ratioTable(paired, names, (r, name) => {
        const v = r.paired[name];
        if (!v) return '-';
        const interval = v.low === undefined ? '' : ` (${v.low.toFixed(2)}–${v.high!.toFixed(2)})`;
        const mark = r.max === undefined ? '' : VERDICT_MARK[verdict(v, r.max)];
        return `${v.median.toFixed(2)}${interval}${mark ? ` ${mark}` : ''}`;
      }),
    );
    for (const r of paired) {
      const { max, pairedVerdict: v } = r;
      if (max === undefined || v === undefined) continue;
      // The phases that gave the verdict (for missed and not resolved).
      const which = names.filter((n) => r.paired[n] && verdict(r.paired[n]!, max) === v).join(', ');
      const says: Record<Verdict, string> = {
        met: `target met on every phase (every interval within ≤ ${max})`,
        missed: `target MISSED on ${which} (interval above ${max})`,
        unresolved: `not resolved on ${which} (interval straddles ${max}; more rounds narrow it: BENCH_REPEAT)`,
        'too few rounds': `an interval needs ≥ ${MIN_ROUNDS} rounds (BENCH_REPEAT)`,
      };
      out.push(`\n${r.target} vs ${r.baseline}, paired ratios: ${says[v]}`);
    }
  }
  for (const r of ratios.filter((x) => Object.keys(x.fsPhases).length > 0)) {
    const fsMs = (target: string, phase: string) =>
      results.find((x) => x.target === target)?.phases.find((p) => p.name === phase)?.fsMs;
    out.push(
      `\ntime inside the filesystem alone, ${r.target} and ${r.baseline} (ms, best; ${
        GUEST_BINDINGS === 'hybrid'
          ? "with hybrid bindings a filesystem's direct lowerings count whole, their decoding and encoding of arguments and results included, which jco's glue does for a filesystem without them"
          : "the rest of a phase is jco's glue and the guest, the same code for both"
      }; for information)\n`,
    );
    out.push(
      ...table(
        ['phase', r.target, r.baseline, 'ratio'],
        names.map((name) => {
          const ratio = r.fsPhases[name];
          return [
            name,
            fmtMs(fsMs(r.target, name)),
            fmtMs(fsMs(r.baseline, name)),
            ratio === undefined ? '-' : ratio.toFixed(2),
          ];
        }),
      ),
    );
  }
  return out;
}
