import { VfsError } from '../errors.js';
import { normalizePath } from '../path.js';
import type { VfsStorage, VfsSyncStorage } from '../types.js';
import { ioPoll, monotonicClock } from './clocks.js';
import { type ErrorListener, filesystemErrorCode } from './errors.js';
import { Descriptor, DirectoryEntryStream, type HostContext, rootDescriptor } from './filesystem.js';
import { offerLowerings } from './jco.js';
import { loweringSet } from './lower.js';
import { Mount } from './mount.js';
import type { ORPHANS_DIRECTORY, sweepOrphans } from './orphans.js';
import { shim } from './shim.js';
import {
  bytesStream,
  type CapturedOutput,
  captureStream,
  sourceStream,
  type WasiStdinSource,
} from './stdio.js';
import { InputStream, IoError, OutputStream } from './streams.js';
import { MountTree } from './tree.js';

/** A mount with options. */
export interface WasiMount {
  /** The storage the guest sees at the mount's path. */
  storage: VfsSyncStorage | VfsStorage;
  /**
   * When `true`, every write, creation, removal, rename and time change fails with `read-only`
   * (EROFS). Default: the storage's own `readOnly` flag when it has one (`hostDirectory` and
   * `restrictedFiles` made with `readOnly: true`), else `false`.
   */
  readOnly?: boolean;
}

/**
 * What may be mounted: a {@link VfsSyncStorage}, a {@link VfsStorage} that has a `.sync` twin
 * (memory, SQLite), or either with options. A storage that is only asynchronous (Postgres, S3)
 * must be wrapped in the sync bridge first (`createSyncBridge`).
 */
export type WasiMountSource = VfsSyncStorage | VfsStorage | WasiMount;

/** Options of {@link createWasiHost}. */
export interface WasiHostOptions {
  /**
   * Guest path (absolute, e.g. `/data`) -> storage. Each becomes one preopened directory; mounts
   * may nest (`/` and `/data`, or `/host` and `/host/etc`). Mount a real host directory with
   * `hostDirectory(...)` and single host files with `restrictedFiles(...)`.
   */
  mounts: Record<string, WasiMountSource>;
  /**
   * What the guest reads on stdin: fixed bytes (a string is UTF-8 encoded), or a
   * {@link WasiStdinSource} called at each read, which may block until input arrives. Empty by
   * default.
   */
  stdin?: Uint8Array | string | WasiStdinSource;
  /** Environment variables of the guest. */
  env?: Record<string, string>;
  /** Command-line arguments, `argv[0]` included. */
  args?: string[];
  /**
   * The guest's initial working directory, reported by `wasi:cli/environment.initial-cwd`. Guests
   * decide whether to use it: C guests built with Debian's wasi-libc (2022) start at `/` whatever
   * it says and must `chdir` themselves.
   */
  cwd?: string;
  /** Called with each chunk the guest writes to stdout, as it writes it (it is captured as well). */
  onStdout?: (chunk: Uint8Array) => void;
  /** Called with each chunk the guest writes to stderr, as it writes it (it is captured as well). */
  onStderr?: (chunk: Uint8Array) => void;
  /**
   * Called with every failure that is not a `VfsError` (a backend bug, a driver error) before the
   * guest sees it as the `io` error code.
   */
  onError?: ErrorListener;
}

/**
 * The import object for a jco-transpiled component (`jco transpile --instantiation async`), keyed
 * by interface name without version, as jco looks them up: pass it to `instantiate()`.
 */
export type WasiImports = Record<string, Record<string, unknown>>;

/** One isolated WASI environment: see {@link createWasiHost}. */
export interface WasiHost {
  /** The imports to instantiate the component with. */
  readonly imports: WasiImports;
  /** What the guest wrote to stdout. */
  readonly stdout: CapturedOutput;
  /** What the guest wrote to stderr. */
  readonly stderr: CapturedOutput;
  /** The status the guest passed to `exit`, `undefined` while it has not called it. */
  readonly exitCode: number | undefined;
  /**
   * Ends the execution: deletes the files the guest unlinked while open and still had open (their
   * orphans; a deletion that fails is left to {@link sweepOrphans}), then flushes every mount's
   * storage durably (`flush(undefined, { durable: true })`: the sync bridge stores its buffered
   * writes, SQLite fsyncs its log once). It does not close the storage, which belongs to the caller
   * and may serve later executions.
   *
   * @throws the failures of those flushes, and of the flushes that ran when the guest closed a
   *   written file (which the guest cannot be told of), and any failure to store a file that none
   *   of its descriptors reported to the guest at a sync: data the guest wrote may not be stored.
   */
  close(): void;
}

/**
 * Thrown out of the guest's entry point when the guest calls `exit` (`wasi:cli/exit`); `code` is
 * its status. jco's preview1 adapter reports every non-zero status as `1`.
 */
export class WasiExit extends Error {
  override readonly name = 'WasiExit';
  /** Marks the error as an exit for code written against preview2-shim's `ComponentExit`. */
  readonly exitError = true;

  constructor(readonly code: number) {
    super(`guest exited with status ${code}`);
  }
}

function toSyncStorage(guestPath: string, source: VfsSyncStorage | VfsStorage): VfsSyncStorage {
  const needsBridge = () =>
    new VfsError(
      'invalid-argument',
      `mount ${guestPath}: this storage is asynchronous only (no .sync); WASI guests call synchronously, so wrap it with createSyncBridge(...) and mount the bridge`,
    );
  if ('sync' in source) {
    if (source.sync) return source.sync;
    throw needsBridge();
  }
  const probe: unknown = (source as VfsSyncStorage).exists('/');
  if (typeof probe === 'object' && probe !== null && typeof (probe as Promise<unknown>).then === 'function') {
    (probe as Promise<unknown>).catch(() => undefined);
    throw needsBridge();
  }
  return source as VfsSyncStorage;
}

function isMountOptions(source: WasiMountSource): source is WasiMount {
  return typeof source === 'object' && source !== null && 'storage' in source;
}

/** A storage that declares itself read-only (`hostDirectory`, `restrictedFiles`). */
function declaresReadOnly(storage: VfsSyncStorage | VfsStorage): boolean {
  return (storage as { readOnly?: unknown }).readOnly === true;
}

/**
 * A storage over the host's own files (`hostDirectory`, `restrictedFiles`: they declare `readOnly`
 * either way), whose unlinked open files the host keeps in memory rather than in the user's
 * directory (see `Mount`).
 */
function isHostFiles(storage: VfsSyncStorage | VfsStorage): boolean {
  return typeof (storage as { readOnly?: unknown }).readOnly === 'boolean';
}

/**
 * Creates one isolated WASI environment for a component transpiled by jco: a `wasi:filesystem`
 * whose preopened directories are the given storage mounts, captured stdout/stderr, the given
 * stdin, environment and arguments, and the remaining interfaces (clocks, random, sockets, poll)
 * from preview2-shim's browser flavour, so that every stream the guest sees comes from one
 * `wasi:io/streams` implementation.
 *
 * **One tree.** The guest sees every mount at its path, and the directories leading to mount points
 * as synthetic read-only directories: with mounts `/data` and `/host/etc`, listing `/` shows
 * `data` and `host`, and `/host` shows `etc` (a preopen `/` is added when something is mounted,
 * but not there; a host without mounts preopens nothing). A mount point hides a same-named entry
 * of the storage it lies in. Paths resolve within the directory they are relative to, as WASI
 * defines capabilities: `..` above it is `not-permitted` (as in wasmtime), and a rename or link
 * between two mounts is `cross-device`.
 *
 * **Symbolic links** live in mounts whose storage stores them (`capabilities.symlinks`: memory,
 * SQLite, PostgreSQL, S3); the host resolves them itself, within the directory a path is relative
 * to and within the link's own mount (a target leaving either is `not-permitted`, more than 40
 * links `loop`; see `resolvePath`). Elsewhere (a host directory, storage without links) `symlink`
 * is `unsupported`. Hard links are `not-permitted` everywhere.
 *
 * Every call is its own world: two hosts never see each other's mounts or output. Guest failures
 * are always reported as `wasi:filesystem` error codes, never as traps: a storage error becomes
 * its code (see `toWasiErrorCode`) and anything unexpected `io`.
 *
 * Open files behave as POSIX expects: a file unlinked (or replaced by a rename) while open stays
 * readable and writable through its open descriptors and never reappears at its path; an append
 * descriptor always writes at the current end of the file (`storage.append`). Such an orphan stays
 * in the mount's storage, under its limits, in the reserved directory {@link ORPHANS_DIRECTORY}
 * that guests cannot see or reach; it is deleted at its last close or at {@link WasiHost.close},
 * and {@link sweepOrphans} collects what a crashed host left. A host directory keeps them in host
 * memory instead, at most 64 MiB per mount (`busy` for an open file larger than that).
 *
 * @example
 * ```ts
 * const host = createWasiHost({ mounts: { '/data': memory() }, args: ['notes', 'add', 'hi'] });
 * const component = await instantiate(getCoreModule, host.imports);
 * try {
 *   component.run.run();
 * } catch (error) {
 *   if (!(error instanceof WasiExit)) throw error;
 * }
 * host.close();
 * console.log(host.stdout.text(), host.exitCode ?? 0);
 * ```
 *
 * @throws {VfsError} `invalid-path` for a mount path that is not absolute; `invalid-argument` for
 *   an asynchronous-only storage (use the sync bridge).
 */
export function createWasiHost(options: WasiHostOptions): WasiHost {
  const { cli, clocks, random, sockets } = shim();
  offerLowerings(() => loweringSet(Descriptor, DirectoryEntryStream, filesystemErrorCode));
  const mounts = Object.entries(options.mounts).map(([guestPath, source]) => {
    const path = normalizePath(guestPath);
    const { storage, readOnly } = isMountOptions(source) ? source : { storage: source, readOnly: undefined };
    return new Mount(
      path,
      toSyncStorage(path, storage),
      readOnly ?? declaresReadOnly(storage),
      isHostFiles(storage) ? 'memory' : 'storage',
    );
  });
  const tree = new MountTree(mounts);
  const context: HostContext = { onError: options.onError, deferred: [], tree };
  const preopened = tree.hasSyntheticRoot ? [...mounts, tree.synthetic] : mounts;
  // Each call hands the guest new owned handles (jco disposes them when the guest drops them).
  const preopens = (): Array<[Descriptor, string]> =>
    preopened.map((mount) => [rootDescriptor(mount, context), mount.guestPath]);

  const [stdoutStream, stdout] = captureStream(options.onStdout);
  const [stderrStream, stderr] = captureStream(options.onStderr);
  const stdinStream =
    typeof options.stdin === 'function'
      ? sourceStream(options.stdin)
      : bytesStream(
          typeof options.stdin === 'string'
            ? new TextEncoder().encode(options.stdin)
            : (options.stdin ?? new Uint8Array()),
        );
  const env = Object.entries(options.env ?? {});
  const args = [...(options.args ?? [])];
  let exitCode: number | undefined;

  const exit = (code: number): never => {
    exitCode = code;
    throw new WasiExit(code);
  };

  const imports: WasiImports = {
    'wasi:cli/environment': {
      getEnvironment: () => env.map(([key, value]) => [key, value]),
      getArguments: () => [...args],
      initialCwd: () => options.cwd,
    },
    'wasi:cli/exit': {
      exit: (status: { tag: 'ok' | 'err' }) => exit(status.tag === 'err' ? 1 : 0),
      exitWithCode: (code: number) => exit(code),
    },
    'wasi:cli/stdin': { getStdin: () => stdinStream },
    'wasi:cli/stdout': { getStdout: () => stdoutStream },
    'wasi:cli/stderr': { getStderr: () => stderrStream },
    'wasi:cli/terminal-input': cli.terminalInput,
    'wasi:cli/terminal-output': cli.terminalOutput,
    'wasi:cli/terminal-stdin': cli.terminalStdin,
    'wasi:cli/terminal-stdout': cli.terminalStdout,
    'wasi:cli/terminal-stderr': cli.terminalStderr,
    'wasi:clocks/monotonic-clock': monotonicClock,
    'wasi:clocks/wall-clock': clocks.wallClock,
    'wasi:filesystem/types': { Descriptor, DirectoryEntryStream, filesystemErrorCode },
    'wasi:filesystem/preopens': { getDirectories: preopens },
    'wasi:io/error': { Error: IoError },
    'wasi:io/poll': ioPoll(),
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:random/random': random.random,
    'wasi:random/insecure': random.insecure,
    'wasi:random/insecure-seed': random.insecureSeed,
    'wasi:sockets/network': sockets.network,
    'wasi:sockets/instance-network': sockets.instanceNetwork,
    'wasi:sockets/ip-name-lookup': sockets.ipNameLookup,
    'wasi:sockets/tcp': sockets.tcp,
    'wasi:sockets/tcp-create-socket': sockets.tcpCreateSocket,
    'wasi:sockets/udp': sockets.udp,
    'wasi:sockets/udp-create-socket': sockets.udpCreateSocket,
  };

  return {
    imports,
    stdout,
    stderr,
    get exitCode() {
      return exitCode;
    },
    close() {
      const failures: unknown[] = context.deferred.splice(0);
      for (const mount of mounts) {
        try {
          mount.close();
          mount.storage.flush?.(undefined, { durable: true });
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, 'flushing the mounts failed');
    },
  };
}
