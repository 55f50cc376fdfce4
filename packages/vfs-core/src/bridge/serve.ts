import { VfsError } from '../errors.js';
import { OPERATIONS, type ResultKind } from '../operations.js';
import type { DirEntry, FlushOptions, Metadata, VfsStorage, VfsSyncStorage } from '../types.js';
import {
  allocateShared,
  Decoder,
  Encoder,
  errorToWire,
  FAILED,
  OK,
  OPERATION_OF_CODE,
  Op,
  type Shared,
  type Value,
  WorkerEndpoint,
} from './protocol.js';

/**
 * The two `SharedArrayBuffer`s a sync bridge talks through. It survives `structuredClone`: post it
 * to a worker (`workerData`, `postMessage`) and connect there with `connectSyncBridge`.
 */
export interface SyncBridgeChannel {
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
}

/** What a served storage may be: asynchronous, or synchronous (a host directory, a `.sync` twin). */
export type ServedStorage = VfsStorage | VfsSyncStorage;

/** What the serving end answers the connecting end first: the storage's capabilities and more. */
export interface ServerHello {
  /** The storage's capabilities, plus its declared limits (`limits`), which the client declares too. */
  [key: string]: Value;
  /** Whether the storage has a `flush` worth forwarding (`flush(path, { durable: true })`). */
  flushes: boolean;
}

function ok(value: Value) {
  return new Encoder().byte(OK).value(value).finish();
}

function failed(error: unknown) {
  return new Encoder().byte(FAILED).value(errorToWire(error)).finish();
}

/** What crosses the wire for an operation's result: plain objects, whatever the backend returned. */
function toWire(result: unknown, kind: ResultKind): Value {
  if (kind === 'metadata') return { ...(result as Metadata) } as unknown as Value;
  if (kind === 'entries') return (result as DirEntry[]).map((e) => ({ ...e })) as unknown as Value;
  return result as Value;
}

/** The storage's `flush`, from itself or its `.sync` twin. */
function flushOf(storage: ServedStorage): ((path?: string, options?: FlushOptions) => void) | undefined {
  const own = (storage as VfsSyncStorage).flush;
  if (typeof own === 'function') return own.bind(storage);
  const twin = (storage as VfsStorage).sync;
  return typeof twin?.flush === 'function' ? twin.flush.bind(twin) : undefined;
}

async function handle(storage: ServedStorage, request: Decoder, ownsStorage: boolean): Promise<unknown> {
  const code = request.byte();
  const op = OPERATION_OF_CODE.get(code);
  if (op !== undefined) {
    const { args, result } = OPERATIONS[op];
    const values = args.map(() => request.value());
    const fn = storage[op] as (...a: unknown[]) => unknown;
    return toWire(await fn.apply(storage, values), result);
  }
  switch (code) {
    case Op.flush: {
      const path = request.value();
      flushOf(storage)?.(typeof path === 'string' ? path : undefined, { durable: true });
      return undefined;
    }
    case Op.close:
      // A storage served on behalf of its owner stays open: the owner closes it.
      return ownsStorage ? storage.close() : undefined;
    default:
      throw new VfsError('io', `sync bridge: unknown operation ${code}`);
  }
}

/**
 * The serving loop: answers the connecting end's first message with the storage's capabilities
 * (or with the error that `open` threw), then serves requests until `close` or until the channel
 * dies. `ownsStorage`: whether the `close` request closes the storage too.
 */
export async function serveChannel(
  endpoint: WorkerEndpoint,
  open: () => Promise<ServedStorage>,
  ownsStorage: boolean,
): Promise<void> {
  let storage: ServedStorage;
  if ((await endpoint.receive()) === undefined) return;
  try {
    storage = await open();
  } catch (error) {
    await endpoint.send(failed(error));
    return;
  }
  // The limits go along: the bridge's own guard enforces the name and path limits before its
  // cache, and its cache writes growth through when a size limit could refuse it at flush time.
  const declared = storage.limits ?? (storage as VfsStorage).sync?.limits ?? {};
  const { maxNameLength, maxPathLength, maxBytes, maxFiles, maxFileSize } = declared;
  const limits = Object.fromEntries(
    Object.entries({ maxNameLength, maxPathLength, maxBytes, maxFiles, maxFileSize }).filter(
      ([, v]) => v !== undefined,
    ),
  ) as Record<string, number>;
  const hello: ServerHello = { ...storage.capabilities, limits, flushes: flushOf(storage) !== undefined };
  if (!(await endpoint.send(ok(hello)))) return;
  for (;;) {
    const message = await endpoint.receive();
    if (message === undefined) return;
    const request = new Decoder(message);
    const closing = request.buffer[0] === Op.close;
    let response: ReturnType<typeof ok>;
    try {
      response = ok((await handle(storage, request, ownsStorage)) as Value);
    } catch (error) {
      response = failed(error);
    }
    if (endpoint.dead || !(await endpoint.send(response)) || closing) return;
  }
}

/** Tuning of {@link serveStorage}. */
export interface ServeStorageOptions {
  /**
   * Size of the shared buffer that carries requests and responses; larger payloads travel in
   * several pieces through it. Default 1 MiB.
   */
  bufferBytes?: number;
}

/** A storage served to a sync bridge in another thread: see {@link serveStorage}. */
export interface StorageServer {
  /** What the other thread connects to with `connectSyncBridge(channel)`. */
  readonly channel: SyncBridgeChannel;
  /**
   * Resolves when serving ends: the client closed the bridge, or gave up on it (a call timed out;
   * noticed once the storage answered that call), or {@link StorageServer.close} was called.
   */
  readonly done: Promise<void>;
  /**
   * Stops serving: the connected bridge fails every later call with an `io` error (a call it is
   * blocked in fails at once). The storage itself is left open: it is the caller's.
   */
  close(): void;
}

/**
 * Serves `storage` from the calling thread to one synchronous caller in another thread (a worker
 * running a WASI guest): the other thread calls `connectSyncBridge(server.channel)` and gets a
 * {@link SyncBridge} whose calls block it until this thread answers. This thread answers from its
 * event loop (`Atomics.waitAsync`), so it must not block: serving from the main thread of a program
 * that awaits is what it is for. Serving does not keep the process alive by itself.
 *
 * Several servers may serve one storage at once (one per connected thread); each operation is one
 * call of the storage, so its own atomicity and ordering hold. Closing the bridge on the other side
 * ends serving but never closes `storage`.
 *
 * @example
 * ```ts
 * const server = serveStorage(memory());
 * const worker = new Worker(new URL('./guest-worker.js', import.meta.url), {
 *   workerData: { channel: server.channel },
 * });
 * // in guest-worker.js: const storage = connectSyncBridge(workerData.channel);
 * ```
 *
 * @throws {VfsError} `invalid-argument` for bad options or something that is not a storage
 */
export function serveStorage(storage: ServedStorage, options: ServeStorageOptions = {}): StorageServer {
  if (typeof storage?.readAt !== 'function' || typeof storage.capabilities !== 'object') {
    throw new VfsError('invalid-argument', 'serveStorage: expected a VfsStorage or a VfsSyncStorage');
  }
  const bufferBytes = options.bufferBytes ?? 1024 * 1024;
  if (!Number.isSafeInteger(bufferBytes) || bufferBytes <= 0) {
    throw new VfsError(
      'invalid-argument',
      `bufferBytes must be a positive integer, got ${String(bufferBytes)}`,
    );
  }
  const channel: Shared = allocateShared(Math.max(bufferBytes, 4096));
  const endpoint = new WorkerEndpoint(channel);
  let closed!: () => void;
  const closing = new Promise<void>((resolve) => {
    closed = resolve;
  });
  const serving = serveChannel(endpoint, async () => storage, false).catch((error: unknown) => {
    endpoint.die(`the storage server failed: ${error instanceof Error ? error.message : String(error)}`);
  });
  return {
    channel,
    // A call of the storage that never settles must not keep `done` pending after close().
    done: Promise.race([serving, closing]),
    close() {
      endpoint.die('the storage server was closed');
      closed();
    },
  };
}
