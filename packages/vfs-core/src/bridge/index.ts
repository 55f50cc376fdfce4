import { Worker } from 'node:worker_threads';
import { VfsError } from '../errors.js';
import { normalizePath } from '../path.js';
import { createSyncStorage, fromOperations } from '../storage.js';
import {
  type Capabilities,
  type FlushOptions,
  resolveCapabilities,
  type StorageLimits,
  type VfsSyncDriver,
  type VfsSyncStorage,
} from '../types.js';
import { BlockCache, type DirtyListener } from './cache.js';
import {
  allocateShared,
  CallerEndpoint,
  Decoder,
  Encoder,
  FAILED,
  Op,
  type OpCode,
  type Shared,
  type Value,
  type WaitFailure,
  type WireError,
  wireToError,
} from './protocol.js';
import type { ServerHello, SyncBridgeChannel } from './serve.js';
import type { WorkerInit } from './worker.js';

export type { DirtyListener } from './cache.js';
export {
  type ServedStorage,
  type ServeStorageOptions,
  type StorageServer,
  type SyncBridgeChannel,
  serveStorage,
} from './serve.js';

/**
 * Which asynchronous backend the bridge's worker builds, in a form that can cross to a worker
 * thread: a module, one of its exports (a factory), and the factory's options.
 *
 * @example
 * ```ts
 * const spec: SyncBridgeSpec = {
 *   module: import.meta.resolve('@eryx/vfs-postgres'),
 *   export: 'postgres',
 *   options: { connectionString: process.env.DATABASE_URL, namespace: 'sandbox-1' },
 * };
 * ```
 */
export interface SyncBridgeSpec {
  /**
   * The module the worker imports. The worker resolves it from `@eryx/vfs-core`'s own location, not
   * from yours, so pass something already resolved: `import.meta.resolve('@eryx/vfs-postgres')` in
   * your module, a `file:` URL (string or `URL`) or an absolute file path. A bare specifier works
   * only where `@eryx/vfs-core` itself can import it (not in a strict pnpm layout).
   */
  module: string | URL;
  /** The export to call, `(options) => VfsStorage | Promise<VfsStorage>`. Default `default`. */
  export?: string;
  /**
   * What the factory is called with. It must survive `structuredClone` (no functions, no class
   * instances such as a `pg.Pool`): the worker builds its own client from it.
   */
  options?: unknown;
}

/** Tuning of {@link createSyncBridge}; every member has a default. */
export interface SyncBridgeOptions {
  /** Bytes of file blocks kept by the read cache (LRU). Default 32 MiB. */
  cacheBytes?: number;
  /**
   * Bytes of buffered writes held before they are stored: reaching this flushes every buffered
   * write. A single write larger than half of it is not buffered. Default 8 MiB.
   */
  dirtyBytes?: number;
  /** Size of a cached block, and of the reads that fill the cache. Default 64 KiB. */
  blockSize?: number;
  /**
   * Size of the shared buffer that carries requests and responses; larger payloads travel in
   * several pieces through it. Default 1 MiB.
   */
  bufferBytes?: number;
  /**
   * Milliseconds to wait for one answer of the worker (a request, or one piece of a large one)
   * before giving up with an `io` error. The bridge is unusable afterwards: the worker is
   * terminated, since it might still complete the operation. Default 60 000.
   */
  timeout?: number;
  /** Milliseconds to wait for the worker to load the module and build the backend. Default 30 000. */
  startupTimeout?: number;
  /**
   * Told the bytes of buffered writes of a file each time they change, 0 once they are stored or
   * dropped: who must know which files would lose writes if this thread died now (a supervisor
   * that may kill it). Called synchronously, inside the storage call; it must not throw.
   */
  onDirty?: DirtyListener;
}

/** Tuning of {@link connectSyncBridge}: the {@link SyncBridgeOptions} but the buffer size, which the server chose. */
export type ConnectSyncBridgeOptions = Omit<SyncBridgeOptions, 'bufferBytes'>;

/** A {@link VfsSyncStorage} served by a worker; `flush` is always there. */
export interface SyncBridge extends VfsSyncStorage {
  /**
   * Stores the buffered writes of `path` (every file when omitted), then forgets what the cache
   * holds about it so that the next access reads what the backend has (close-to-open
   * consistency). Reports, once, a failure of an earlier background store of that file (one made
   * before a rename is reported under the file's new name; `flush()` reports every file's at once).
   * `durable` also calls the backend's own `flush(path, { durable: true })` when it has one
   * (SQLite fsyncs its log); PostgreSQL and S3 have none: what they stored is durable once the
   * call returns.
   * @throws the backend's error (for example `quota-exceeded`, `io`)
   */
  flush(path?: string, options?: FlushOptions): void;
  /** Flushes everything, closes the backend and ends the worker. Later calls fail with `io`. */
  close(): void;
}

const MiB = 1024 * 1024;

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new VfsError('invalid-argument', `${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Serves an asynchronous backend (Postgres, S3, anything returning a `VfsStorage`) to synchronous
 * callers such as WASI guests. A `worker_threads` worker imports `spec.module`, calls its
 * `spec.export` with `spec.options` and runs the operations; each call on the returned storage
 * blocks the calling thread (`Atomics.wait` on a `SharedArrayBuffer`) until the worker answers.
 * Blocks until the backend is built.
 *
 * In front of the worker sits a block cache with this durability contract:
 * - Reads are served from an LRU cache of `blockSize` blocks (`cacheBytes` at most); a read too
 *   large for the cache goes straight to the backend. Nothing ever loads a whole store.
 * - `writeAt` to a file that exists is buffered (`dirtyBytes` at most; reaching it stores every
 *   buffered write). Everything else — write, writeExtents, append, create, setSize, mkdir, rmdir,
 *   delete, rename, setTimes, symlink — goes to the backend before returning, after storing the buffered
 *   writes it depends on, so the backend sees operations in the order they were made.
 * - A file's buffered writes are stored with one `writeExtents` call (one round trip to the worker),
 *   with the time of the last of them as the modification time: SQLite and PostgreSQL store them in
 *   one transaction, so other readers see all of them or none, and a flush costs the chunks it
 *   touches, not one backend call per write.
 * - What the caller sees is always current: reads, `stat`, `list` and `exists` include buffered
 *   writes.
 * - Buffered writes are stored by `flush(path)` (the WASI host calls it on sync, sync-data and file
 *   close), by `flush()` (the host calls it at the end of an execution) and by `close()`. A crash of the host process
 *   loses at most the writes made since the file's last flush. Errors only the backend can see
 *   while storing (`io`, a limit another writer used up) are reported by the file's next flush, as
 *   an OS reports them at fsync, under its current name (they follow renames made through the
 *   bridge); the failed file's unstored writes are then dropped.
 * - When the backend declares `maxBytes` (or `maxFileSize`), a `writeAt` that grows a file (past
 *   `maxFileSize`) is not buffered: the backend refuses it at once (`quota-exceeded`), so nothing
 *   the caller was told is written can be refused later by those limits.
 * - Another process's changes are seen after a `flush` of the file (close-to-open), or when `stat`
 *   finds the size changed.
 * - If the worker dies or does not answer within `timeout`, the call fails with an `io`
 *   `VfsError` and so do all later calls; buffered writes are lost.
 * - The backend's capabilities and declared limits are the bridge's; the name and path limits
 *   (`maxNameLength`, `maxPathLength`) are enforced by the bridge too, before its cache.
 *
 * @throws `invalid-argument` (bad options, module without the export); `io` (the worker failed to
 *   start); the factory's own errors
 */
export function createSyncBridge(spec: SyncBridgeSpec, options: SyncBridgeOptions = {}): SyncBridge {
  const bufferBytes = positive('bufferBytes', options.bufferBytes, MiB);
  const tuning = checkTuning(options);
  if (typeof spec?.module !== 'string' && !(spec?.module instanceof URL)) {
    throw new VfsError('invalid-argument', 'spec.module must be a string or a URL');
  }

  const shared = allocateShared(Math.max(bufferBytes, 4096));
  const init: WorkerInit = {
    ...shared,
    module: String(spec.module),
    export: spec.export ?? 'default',
    options: spec.options,
  };
  let worker: Worker;
  try {
    worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
  } catch (error) {
    throw new VfsError('io', 'cannot start the sync bridge worker', { cause: error });
  }
  // The worker must not keep the process alive, and its errors are reported through the wire.
  worker.unref();
  worker.on('error', () => {});
  return connect(shared, tuning, () => void worker.terminate());
}

/**
 * Connects to a storage that another thread serves with {@link serveStorage} (`channel` is the
 * server's `channel`, posted to this thread): the same {@link SyncBridge}, block cache and
 * durability contract as {@link createSyncBridge}, without a worker of its own. Blocks until the
 * server answers (it answers from its event loop, so that thread must be free to run). `close()`
 * ends the serving, never the served storage; a durable `flush` reaches the served storage's own
 * `flush` (SQLite fsyncs). One channel serves one bridge.
 *
 * @throws `invalid-argument` (bad options or channel); `io` (the server is gone or did not answer
 *   within `startupTimeout`)
 */
export function connectSyncBridge(
  channel: SyncBridgeChannel,
  options: ConnectSyncBridgeOptions = {},
): SyncBridge {
  if (!(channel?.control instanceof SharedArrayBuffer) || !(channel.data instanceof SharedArrayBuffer)) {
    throw new VfsError('invalid-argument', 'channel must be the channel of a serveStorage() server');
  }
  // Giving up on the channel tells the server, which then stops serving it.
  return connect(channel, checkTuning(options), (endpoint) => endpoint.die('the sync bridge client is gone'));
}

interface Tuning {
  blockSize: number;
  cacheBytes: number;
  dirtyBytes: number;
  timeout: number;
  startupTimeout: number;
  onDirty: DirtyListener | undefined;
}

function checkTuning(options: ConnectSyncBridgeOptions): Tuning {
  if (options.onDirty !== undefined && typeof options.onDirty !== 'function') {
    throw new VfsError('invalid-argument', 'onDirty must be a function');
  }
  return {
    blockSize: positive('blockSize', options.blockSize, 64 * 1024),
    cacheBytes: positive('cacheBytes', options.cacheBytes, 32 * MiB),
    dirtyBytes: positive('dirtyBytes', options.dirtyBytes, 8 * MiB),
    timeout: positive('timeout', options.timeout, 60_000),
    startupTimeout: positive('startupTimeout', options.startupTimeout, 30_000),
    onDirty: options.onDirty,
  };
}

/** The bridge over a channel whose serving end is starting; `release` lets go of that end for good. */
function connect(shared: Shared, tuning: Tuning, release: (endpoint: CallerEndpoint) => void): SyncBridge {
  const { blockSize, cacheBytes, dirtyBytes, timeout, startupTimeout } = tuning;
  const endpoint = new CallerEndpoint(shared);
  const end = () => release(endpoint);
  let broken: VfsError | undefined;

  function fail(failure: WaitFailure, what: string, limit: number): never {
    broken =
      'dead' in failure
        ? new VfsError('io', `sync bridge: ${failure.dead}`)
        : new VfsError('io', `sync bridge: the backend did not answer ${what} within ${limit} ms`);
    end();
    throw broken;
  }

  function answer(response: Buffer): Value {
    const decoder = new Decoder(response);
    const status = decoder.byte();
    const value = decoder.value();
    if (status === FAILED) throw wireToError(value as WireError);
    return value;
  }

  const started = endpoint.wait(startupTimeout);
  if (started) fail(started, 'while starting', startupTimeout);
  const ready = endpoint.receive(startupTimeout);
  if (!Buffer.isBuffer(ready)) fail(ready, 'while starting', startupTimeout);
  let capabilities: Capabilities;
  let limits: StorageLimits | undefined;
  let flushes: boolean;
  try {
    const {
      limits: declared,
      flushes: hasFlush,
      ...claims
    } = answer(ready) as Partial<Capabilities> & Partial<ServerHello> & { limits?: StorageLimits };
    capabilities = resolveCapabilities(claims);
    limits = declared && Object.keys(declared).length > 0 ? declared : undefined;
    flushes = hasFlush === true;
  } catch (error) {
    end();
    throw error;
  }

  const remote = (op: OpCode, ...args: Value[]): Value => {
    if (broken) throw broken;
    const encoder = new Encoder().byte(op);
    for (const arg of args) encoder.value(arg);
    const name = opName(op);
    const sent = endpoint.send(encoder.finish(), timeout);
    if (sent) fail(sent, `to ${name}`, timeout);
    const response = endpoint.receive(timeout);
    if (!Buffer.isBuffer(response)) fail(response, `to ${name}`, timeout);
    return answer(response);
  };

  // Size limits the store declares make the cache write growth through (see CacheLimits).
  const { maxBytes, maxFileSize } = limits ?? {};
  const cache = new BlockCache(
    remote,
    { blockSize, cacheBytes, dirtyBytes, maxBytes, maxFileSize, hardLinks: capabilities.hardLinks },
    tuning.onDirty,
  );
  let closed = false;
  const storage = createSyncStorage({
    ...bind(cache),
    // The guard must hand writeExtents' ifFile to the cache, which buffers the write and passes it
    // on when it stores it: the backend's storage checks it then (itself, or core with a stat).
    capabilities: { ...capabilities, nativeIfFile: true },
    ...(limits ? { limits } : {}),
    close() {
      closed = true;
      try {
        cache.flush();
      } finally {
        try {
          if (!broken) remote(Op.close);
        } finally {
          broken ??= new VfsError('io', 'storage is closed');
          end();
        }
      }
    },
  });
  return {
    ...storage,
    capabilities,
    flush(path?: string, options?: FlushOptions) {
      if (closed) throw new VfsError('io', 'storage is closed');
      const normalized = path === undefined ? undefined : normalizePath(path);
      cache.flush(normalized);
      // A backend whose commits are not durable by themselves (SQLite) is asked to make them so.
      if (options?.durable && flushes) remote(Op.flush, normalized);
    },
  };
}

const bind = (cache: BlockCache) =>
  fromOperations<Omit<VfsSyncDriver, 'capabilities'>>((op) => {
    // An operation the cache leaves out is one core emulates: the guard does it through the cache.
    const fn = (cache as unknown as Record<string, ((...a: unknown[]) => unknown) | undefined>)[op];
    return fn?.bind(cache) as (...a: unknown[]) => unknown;
  });

const OP_NAMES = new Map<number, string>(Object.entries(Op).map(([name, code]) => [code, name]));

function opName(op: OpCode): string {
  return OP_NAMES.get(op) ?? String(op);
}
