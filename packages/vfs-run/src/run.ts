import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import {
  isUint8Array,
  STORAGE_OPERATIONS,
  type StoreBackend,
  VfsError,
  type VfsErrorCode,
} from '@eryx/vfs-core';
import { type ComponentSource, load, type PreparedComponent } from './component.js';
import { type DescribedMounts, describeMounts, type RunMount } from './mounts.js';
import { acquireWorker, discardWorker, releaseWorker } from './pool.js';
import {
  CONTROL_SLOTS,
  type PreloadRequest,
  type RunRequest,
  STDIN_BUFFER_BYTES,
  STDIN_EMPTY,
  STDIN_EOF,
  STDIN_LENGTH,
  STDIN_READY,
  STDIN_STATE,
  STOP,
  STOP_ABORT,
  STOP_TIMEOUT,
  type WorkerMessage,
} from './protocol.js';

/** Options of {@link run}. */
export interface RunOptions {
  /**
   * The program: a WASI 0.2 command component or a WASI preview1 module (wrapped with jco's
   * preview1 adapter), as a path (relative to the working directory), a `file:` URL, its bytes, or
   * what `prepareComponent` returned.
   */
  component: ComponentSource | PreparedComponent;
  /** Guest path (absolute) -> what is mounted there. See {@link RunMount}. */
  mounts?: Record<string, RunMount>;
  /** Command-line arguments, `argv[0]` included (jco's preview1 adapter passes them as they are). */
  args?: string[];
  /** Environment variables of the guest (none of the caller's are passed unless given here). */
  env?: Record<string, string>;
  /** The guest's initial working directory (`wasi:cli/environment.initial-cwd`). */
  cwd?: string;
  /**
   * What the guest reads on stdin: fixed bytes (a string is UTF-8 encoded) or a stream read as the
   * guest asks for it (`process.stdin`; the stream is paused, never closed, when the run ends).
   * Empty by default.
   */
  stdin?: string | Uint8Array | Readable;
  /**
   * Milliseconds the guest may run; then it is stopped (status `timeout`). Counted from when the
   * guest starts, once instantiated over its mounts: transpiling, compiling and opening the
   * stores do not count.
   */
  timeout?: number;
  /** Aborting it stops the guest (status `aborted`). */
  signal?: AbortSignal;
  /**
   * Milliseconds a stopped guest has to end at its next host call (storing its buffered writes)
   * before its worker is terminated. Default 250.
   */
  stopGrace?: number;
  /** Called with each chunk the guest writes to stdout, as it writes it. */
  onStdout?: (chunk: Uint8Array) => void;
  /** Called with each chunk the guest writes to stderr, as it writes it. */
  onStderr?: (chunk: Uint8Array) => void;
  /** Where transpiled components are cached (see `prepareComponent`). */
  cacheDir?: string;
  /** Backends for store URL mounts; by default `@eryx/vfs-<scheme>` is imported for each scheme. */
  stores?: readonly StoreBackend[];
  /** What relative `sqlite:` paths and `host:` directories are relative to. Default `process.cwd()`. */
  hostCwd?: string;
}

/** A file whose buffered writes were not stored because the guest was killed. */
export interface UnstoredFile {
  /** The guest path of the mount. */
  mount: string;
  /** The file's path within the mount's storage. */
  path: string;
  /** Buffered bytes not stored: at least this many (reported when they changed state or doubled). */
  bytes: number;
}

/** How a run ended. */
export type RunStatus = 'exited' | 'timeout' | 'aborted' | 'trapped';

/** What {@link run} returns. */
export interface RunResult {
  /**
   * `exited`: the guest returned or called `exit`; `timeout` / `aborted`: it was stopped;
   * `trapped`: it trapped (an `unreachable`, out of memory, a host failure it could not handle)
   * or its worker crashed.
   */
  status: RunStatus;
  /**
   * The guest's exit status when it exited (jco's preview1 adapter reports every failure as 1);
   * 1 when it trapped; 124 on timeout and 130 when aborted (as `timeout(1)` and a shell's Ctrl-C).
   */
  exitCode: number;
  /** Everything the guest wrote to stdout (UTF-8 decoded). */
  stdout: string;
  /** Everything the guest wrote to stderr (UTF-8 decoded). */
  stderr: string;
  /** Wall time of the whole call, in milliseconds. */
  durationMs: number;
  /**
   * Files whose buffered writes were lost because the guest's worker had to be terminated (a guest
   * that stopped at a host call stores them first). Only the sync bridge buffers writes
   * (PostgreSQL, S3 and storage objects mounts); SQLite, memory and host directories store each
   * write before it returns.
   */
  unstored: UnstoredFile[];
  /** Why the guest trapped, or why storing its writes at the end failed. */
  error?: string;
}

const EXIT_TIMEOUT = 124;
const EXIT_ABORTED = 130;

function checkOptions(options: RunOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new VfsError('invalid-argument', 'run: options must be an object');
  }
  for (const name of ['timeout', 'stopGrace'] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))) {
      throw new VfsError('invalid-argument', `run: ${name} must be a non-negative number of milliseconds`);
    }
  }
  if (
    options.args !== undefined &&
    (!Array.isArray(options.args) || options.args.some((a) => typeof a !== 'string'))
  ) {
    throw new VfsError('invalid-argument', 'run: args must be an array of strings');
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new VfsError('invalid-argument', 'run: signal must be an AbortSignal');
  }
}

function fixedStdin(stdin: RunOptions['stdin']): Uint8Array | undefined {
  if (stdin === undefined) return new Uint8Array();
  if (typeof stdin === 'string') return new TextEncoder().encode(stdin);
  if (stdin instanceof Uint8Array) return stdin;
  // Bytes from another realm (a vm context) fail instanceof: view them from this one.
  if (isUint8Array(stdin)) return new Uint8Array(stdin.buffer, stdin.byteOffset, stdin.byteLength);
  if (typeof (stdin as Readable)?.on === 'function') return undefined;
  throw new VfsError('invalid-argument', 'run: stdin must be a string, a Uint8Array or a Readable stream');
}

/**
 * Runs a WASI program once, in a worker thread, over the given mounts, and reports how it ended.
 * The first run of a component transpiles it with jco into the cache (see `prepareComponent`);
 * later runs, in any process, use the cache.
 *
 * The guest runs in a `worker_threads` worker, so a `timeout` or an aborted `signal` stops it even
 * in a loop that never calls the host: the guest is ended at its next host call (storage, stdout,
 * stderr, stdin), after its mounts stored their buffered writes; one still running after
 * `stopGrace` milliseconds is terminated, and the files whose buffered writes were lost are listed
 * in `unstored`. A trap or a crash of the worker is reported (`trapped`), never thrown, and the
 * caller's storage objects stay usable. Several runs may use one store (or one storage object) at
 * once.
 *
 * @example
 * ```ts
 * const result = await run({
 *   component: 'notes.component.wasm',
 *   mounts: { '/data': 'sqlite:./state.db#user-42' },
 *   args: ['notes', 'add', 'hello'],
 *   timeout: 5_000,
 * });
 * console.log(result.status, result.exitCode, result.stdout);
 * ```
 *
 * @throws {VfsError} before the guest starts: `not-found` (no such component file),
 *   `invalid-argument` (not a WebAssembly component or module, a bad option or mount),
 *   `invalid-path` (a mount path that is not absolute), `unsupported` (a backend package or jco's
 *   preview1 adapter is not installed), or what opening a store failed with (`io` for an
 *   unreachable server)
 */
export async function run(options: RunOptions): Promise<RunResult> {
  const started = performance.now();
  checkOptions(options);
  const stdin = fixedStdin(options.stdin);
  const hostCwd = options.hostCwd ?? process.cwd();
  // The worker starts (or a warm one is taken) while the component is loaded.
  const worker = acquireWorker();
  const [loaded, described] = await Promise.allSettled([
    load(
      options.component,
      { ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }) },
      // The worker imports the component's JS while its core modules compile here.
      (js) => worker.postMessage({ type: 'preload', js } satisfies PreloadRequest),
    ),
    describeMounts(options.mounts ?? {}, {
      cwd: hostCwd,
      ...(options.stores ? { stores: options.stores } : {}),
    }),
  ]);
  if (loaded.status === 'rejected' || described.status === 'rejected') {
    if (described.status === 'fulfilled') for (const server of described.value.servers) server.close();
    releaseWorker(worker);
    throw loaded.status === 'rejected' ? loaded.reason : (described as PromiseRejectedResult).reason;
  }
  const control = new SharedArrayBuffer(CONTROL_SLOTS * 4);
  const stdinBuffer = stdin ? undefined : new SharedArrayBuffer(STDIN_BUFFER_BYTES);
  const request: RunRequest = {
    type: 'run',
    js: loaded.value.js,
    modules: loaded.value.modules,
    mounts: described.value.descriptors,
    operations: STORAGE_OPERATIONS,
    args: options.args ?? [],
    env: { ...options.env },
    cwd: options.cwd,
    stdin: stdin ?? 'stream',
    control,
    stdinBuffer,
  };
  return new Execution(worker, options, request, described.value, started).result;
}

/** One run in its worker: the messages, the stop, the stdin feed, the outcome. */
class Execution {
  readonly result: Promise<RunResult>;
  readonly #options: RunOptions;
  readonly #control: Int32Array;
  readonly #worker: Worker;
  readonly #mounts: DescribedMounts;
  readonly #started: number;
  readonly #stdout: Uint8Array[] = [];
  readonly #stderr: Uint8Array[] = [];
  readonly #unstored = new Map<string, { mount: string; path: string; bytes: number }>();
  #stop: 'timeout' | 'aborted' | undefined;
  #killed = false;
  #timers: NodeJS.Timeout[] = [];
  #settled = false;
  #resolve!: (result: RunResult) => void;
  #reject!: (error: unknown) => void;
  #stopStdin: (() => void) | undefined;
  readonly #onAbort = () => this.#requestStop('aborted');

  constructor(
    worker: Worker,
    options: RunOptions,
    request: RunRequest,
    mounts: DescribedMounts,
    started: number,
  ) {
    this.#options = options;
    this.#control = new Int32Array(request.control);
    this.#mounts = mounts;
    this.#started = started;
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#worker = worker;
    if (options.signal?.aborted) {
      // Aborted while the component was loading: the guest never starts.
      this.#stop = 'aborted';
      this.#outcome('aborted', undefined);
      return;
    }
    this.#worker.on('message', this.#onMessage);
    this.#worker.on('error', this.#onError);
    this.#worker.on('exit', this.#onExit);
    this.#worker.postMessage(request);
    if (request.stdin === 'stream') {
      this.#stopStdin = feedStdin(options.stdin as Readable, this.#control, request.stdinBuffer!);
    }
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  #requestStop(reason: 'timeout' | 'aborted'): void {
    if (this.#stop || this.#settled) return;
    this.#stop = reason;
    Atomics.store(this.#control, STOP, reason === 'timeout' ? STOP_TIMEOUT : STOP_ABORT);
    // A guest blocked reading stdin wakes up to the stop.
    Atomics.notify(this.#control, STDIN_STATE);
    this.#timers.push(
      setTimeout(() => {
        this.#killed = true;
        void discardWorker(this.#worker);
      }, this.#options.stopGrace ?? 250),
    );
  }

  readonly #onMessage = (message: WorkerMessage) => {
    switch (message.type) {
      case 'started':
        if (this.#options.timeout !== undefined) {
          this.#timers.push(setTimeout(() => this.#requestStop('timeout'), this.#options.timeout));
        }
        return;
      case 'stdout':
        this.#stdout.push(message.chunk);
        this.#callback(this.#options.onStdout, message.chunk);
        return;
      case 'stderr':
        this.#stderr.push(message.chunk);
        this.#callback(this.#options.onStderr, message.chunk);
        return;
      case 'dirty': {
        const key = `${message.mount}\0${message.path}`;
        if (message.bytes === 0) this.#unstored.delete(key);
        else this.#unstored.set(key, { mount: message.mount, path: message.path, bytes: message.bytes });
        return;
      }
      case 'setup-failed': {
        const { code, message: text, path } = message.error;
        const error = new VfsError(code as VfsErrorCode, text, { path });
        this.#finish(() => this.#reject(error), 'release');
        return;
      }
      case 'done': {
        const stopped = this.#stop !== undefined && message.exitCode === undefined;
        if (stopped) {
          this.#outcome(this.#stop!, message.flushError);
        } else if (message.trap !== undefined) {
          this.#outcome('trapped', [message.trap, message.flushError].filter(Boolean).join('; '), 1);
        } else {
          this.#outcome('exited', message.flushError, message.exitCode ?? 0);
        }
        return;
      }
    }
  };

  readonly #onError = (error: Error) => {
    if (this.#killed) return;
    this.#outcome('trapped', `the guest's worker crashed: ${error.message}`, 1, 'gone');
  };

  readonly #onExit = (code: number) => {
    if (this.#killed && this.#stop) {
      this.#outcome(this.#stop, undefined, undefined, 'gone');
      return;
    }
    this.#outcome('trapped', `the guest's worker exited unexpectedly (code ${code})`, 1, 'gone');
  };

  #callback(fn: ((chunk: Uint8Array) => void) | undefined, chunk: Uint8Array): void {
    if (!fn) return;
    try {
      fn(chunk);
    } catch (error) {
      // The caller's callback must not kill the run silently: report it as a failure of the guest.
      this.#outcome(
        'trapped',
        `onStdout/onStderr threw: ${error instanceof Error ? error.message : String(error)}`,
        1,
      );
    }
  }

  #outcome(status: RunResult['status'], error: string | undefined, exitCode?: number, worker?: 'gone'): void {
    const code =
      status === 'timeout'
        ? EXIT_TIMEOUT
        : status === 'aborted'
          ? EXIT_ABORTED
          : status === 'trapped'
            ? 1
            : (exitCode ?? 0);
    // A worker whose guest exited or stopped at a host call is clean; any other is ended.
    const disposal = worker === 'gone' ? 'gone' : status === 'trapped' ? 'discard' : 'release';
    this.#finish(() => {
      const result: RunResult = {
        status,
        exitCode: code,
        stdout: decode(this.#stdout),
        stderr: decode(this.#stderr),
        durationMs: performance.now() - this.#started,
        unstored: [...this.#unstored.values()],
      };
      if (error !== undefined) result.error = error;
      this.#resolve(result);
    }, disposal);
  }

  #finish(settle: () => void, disposal: 'release' | 'discard' | 'gone'): void {
    if (this.#settled) return;
    this.#settled = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#stopStdin?.();
    this.#worker.off('message', this.#onMessage);
    this.#worker.off('error', this.#onError);
    this.#worker.off('exit', this.#onExit);
    for (const server of this.#mounts.servers) server.close();
    if (disposal === 'release') releaseWorker(this.#worker);
    else if (disposal === 'discard') void discardWorker(this.#worker);
    settle();
  }
}

function decode(chunks: Uint8Array[]): string {
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Feeds a stream to the worker's stdin, one chunk at a time through the shared buffer, as the guest
 * consumes them. Returns how to stop (the stream is paused and left open).
 */
function feedStdin(stream: Readable, control: Int32Array, buffer: SharedArrayBuffer): () => void {
  const data = new Uint8Array(buffer);
  const waitAsync = (
    Atomics as unknown as {
      waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<unknown> | string };
    }
  ).waitAsync;
  let stopped = false;
  const consumed = async () => {
    for (;;) {
      if (stopped) return false;
      const state = Atomics.load(control, STDIN_STATE);
      if (state === STDIN_EMPTY) return true;
      const waited = waitAsync(control, STDIN_STATE, state);
      if (waited.async) await waited.value;
    }
  };
  const put = async (chunk: Uint8Array) => {
    for (let at = 0; at < chunk.length; at += data.length) {
      if (!(await consumed())) return;
      const piece = chunk.subarray(at, at + data.length);
      data.set(piece);
      Atomics.store(control, STDIN_LENGTH, piece.length);
      Atomics.store(control, STDIN_STATE, STDIN_READY);
      Atomics.notify(control, STDIN_STATE);
    }
  };
  // Chunks are handed over in order, one at a time; the stream waits meanwhile.
  let queue = Promise.resolve();
  const onData = (chunk: Buffer | string) => {
    stream.pause();
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    queue = queue.then(() => put(bytes));
    void queue.then(() => {
      if (!stopped) stream.resume();
    });
  };
  const onEnd = () => {
    queue = queue.then(async () => {
      if (!(await consumed())) return;
      Atomics.store(control, STDIN_STATE, STDIN_EOF);
      Atomics.notify(control, STDIN_STATE);
    });
  };
  const onError = () => onEnd();
  stream.on('data', onData);
  stream.once('end', onEnd);
  stream.once('error', onError);
  stream.resume();
  return () => {
    stopped = true;
    // A hand-over waiting for the guest to take a chunk gives up.
    Atomics.notify(control, STDIN_STATE);
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.pause();
  };
}
