import { isVfsError, VfsError } from './errors.js';
import { OPERATIONS, type StorageOperation } from './operations.js';
import { fromOperations } from './storage.js';
import type { VfsStorage, VfsSyncStorage } from './types.js';

/** What {@link trace} reports after each storage call. */
export interface TraceEvent {
  /** The operation called (`readAtView` of a sync twin is reported as `readAt`). */
  readonly operation: StorageOperation;
  /** The path as the caller passed it (the inner storage normalizes it). */
  readonly path: string;
  /** The second path of the operation, as passed (`rename`'s and `link`'s target); `undefined` for the others. */
  readonly to?: string;
  /** `performance.now()` when the call began. */
  readonly startTime: number;
  /**
   * Milliseconds the call took (fractional, from `performance.now()`): until it returned for a sync
   * call, until its promise settled for an async one.
   */
  readonly durationMs: number;
  /** `'error'` when the call threw or its promise rejected. */
  readonly outcome: 'ok' | 'error';
  /** What was thrown (the caller receives the same value), when `outcome` is `'error'`. */
  readonly error?: unknown;
  /**
   * Bytes moved by a successful `read`, `readAt` (the bytes returned), `write`, `writeAt`,
   * `writeExtents` (the bytes of all its extents) or `append` (the bytes given); `undefined` for
   * the other operations and for failures.
   */
  readonly bytes?: number;
}

/** Options of {@link trace}. */
export interface TraceOptions {
  /**
   * Called once after every storage call, synchronously, with what happened. It cannot change the
   * call's result: what it throws (or a promise it returns rejects with) goes to `onListenerError`.
   * Keep it cheap on hot paths: the WASI host makes several storage calls per guest call.
   */
  onCall: (event: TraceEvent) => void;
  /** Receives what `onCall` threw, with the event it was given. Default: ignore it. */
  onListenerError?: (error: unknown, event: TraceEvent) => void;
}

type Invoke = (...args: unknown[]) => unknown;
/**
 * `unknown` while every operation takes at most three arguments, the traced members' fixed
 * parameters; an operation with a fourth makes it `never`, and {@link Member} no longer compiles.
 */
type ThreeArgumentsAtMost = Parameters<VfsSyncStorage[StorageOperation]>['length'] extends 1 | 2 | 3
  ? unknown
  : never;
type Member = (op: StorageOperation, fn: Invoke, target: object) => Invoke & ThreeArgumentsAtMost;

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';

const lengthOf = (value: unknown): number | undefined => {
  const length = (value as { length?: unknown } | null | undefined)?.length;
  return typeof length === 'number' ? length : undefined;
};

/** The bytes of writeExtents' `[offset, data]` pairs, read only after the call succeeded. */
const extentsLength = (value: unknown): number | undefined => {
  if (!Array.isArray(value)) return undefined;
  let total = 0;
  for (const extent of value) total += lengthOf((extent as unknown[] | undefined)?.[1]) ?? 0;
  return total;
};

/**
 * How an operation's event is read off its arguments (`p`, `x`, `y`) and result, derived from its
 * row of {@link OPERATIONS}: whether `x` is a second path, and where the bytes moved are.
 */
function eventShape(op: StorageOperation) {
  const { args, result } = OPERATIONS[op];
  const data = args.indexOf('data');
  const bytes: ((x: unknown, y: unknown, result: unknown) => number | undefined) | undefined =
    data === 1
      ? (x) => lengthOf(x)
      : data === 2
        ? (_x, y) => lengthOf(y)
        : args[1] === 'extents'
          ? (x) => extentsLength(x)
          : result === 'bytes'
            ? (_x, _y, r) => lengthOf(r)
            : undefined;
  return { secondPath: args[1] === 'path', bytes };
}

/** Makes the traced form of each member, all reporting to one listener. */
function tracer(options: TraceOptions): Member {
  const { onCall, onListenerError } = options;
  const listenerFailed = (error: unknown, event: TraceEvent) => {
    try {
      onListenerError?.(error, event);
    } catch {
      // Nothing a listener does may reach the storage call.
    }
  };
  const report = (event: TraceEvent) => {
    try {
      const returned: unknown = onCall(event);
      if (isThenable(returned)) returned.then(undefined, (error) => listenerFailed(error, event));
    } catch (error) {
      listenerFailed(error, event);
    }
  };

  return (op, fn, target) => {
    const { secondPath, bytes } = eventShape(op);
    const emit = (start: number, p: unknown, x: unknown, y: unknown, failed: boolean, value: unknown) => {
      const end = performance.now();
      // Every member present, so that all events share one shape.
      report({
        operation: op,
        path: p as string,
        to: secondPath ? (x as string) : undefined,
        startTime: start,
        durationMs: end - start,
        outcome: failed ? 'error' : 'ok',
        error: failed ? value : undefined,
        bytes: failed || bytes === undefined ? undefined : bytes(x, y, value),
      });
    };
    const settle = async (
      promise: PromiseLike<unknown>,
      start: number,
      p: unknown,
      x: unknown,
      y: unknown,
    ) => {
      let result: unknown;
      try {
        result = await promise;
      } catch (error) {
        emit(start, p, x, y, true, error);
        throw error;
      }
      emit(start, p, x, y, false, result);
      return result;
    };
    // Three fixed parameters (see ThreeArgumentsAtMost), so a call allocates no argument array.
    return (p: unknown, x: unknown, y: unknown) => {
      const start = performance.now();
      let result: unknown;
      try {
        result = fn.call(target, p, x, y);
      } catch (error) {
        emit(start, p, x, y, true, error);
        throw error;
      }
      if (isThenable(result)) return settle(result, start, p, x, y);
      emit(start, p, x, y, false, result);
      return result;
    };
  };
}

/** The traced form of either form of storage; the shell (twin, optional members) is kept as is. */
function traced<S extends VfsStorage | VfsSyncStorage>(storage: S, member: Member): S {
  const inner = storage as S & Partial<Omit<VfsSyncStorage, keyof VfsStorage>> & Partial<VfsStorage>;
  const extra: Record<string, unknown> = {
    capabilities: storage.capabilities,
    limits: storage.limits,
    close: storage.close.bind(storage),
  };
  // A VfsStorage always has the `sync` key (undefined when async only); a VfsSyncStorage never.
  if ('sync' in inner) extra.sync = inner.sync ? traced(inner.sync, member) : undefined;
  if (inner.readAtView) extra.readAtView = member('readAt', inner.readAtView as Invoke, storage);
  if (inner.flush) extra.flush = inner.flush.bind(storage);
  // The WASI host reads this flag of hostDirectory and restrictedFiles mounts (EROFS at open).
  if ((storage as { readOnly?: unknown }).readOnly === true) extra.readOnly = true;
  return fromOperations<S>(
    (op) => member(op, (storage as unknown as Record<StorageOperation, Invoke>)[op], storage),
    extra,
  );
}

/**
 * A view of `storage` that reports every storage call (every operation of {@link OPERATIONS}) to
 * `options.onCall`, once, after it returned or its promise settled: the operation, its path (and
 * `rename`'s target), how long it took, whether it failed and with what, and the bytes it moved
 * (see {@link TraceEvent}).
 *
 * Takes either form: a {@link VfsStorage} (its `sync` twin, when it has one, is traced too, and a
 * call through either form is reported once) or a {@link VfsSyncStorage} (its `readAtView` is
 * reported as `readAt`). Everything else is the inner storage's: results, errors (the same values,
 * rethrown), capabilities, declared limits, the read-only flag of a mount, `flush` and `close`,
 * which pass through untraced. A listener cannot change a call's result (see
 * {@link TraceOptions.onCall}). The cost per call is two `performance.now()` and the event object.
 *
 * ```ts
 * const traced = trace(memory(), { onCall: (event) => console.error(formatTraceEvent(event)) });
 * ```
 *
 * @throws {VfsError} `invalid-argument` when `onCall` (or `onListenerError`, when given) is not a function
 */
export function trace(storage: VfsSyncStorage, options: TraceOptions): VfsSyncStorage;
export function trace(storage: VfsStorage, options: TraceOptions): VfsStorage;
export function trace(
  storage: VfsStorage | VfsSyncStorage,
  options: TraceOptions,
): VfsStorage | VfsSyncStorage;
export function trace(
  storage: VfsStorage | VfsSyncStorage,
  options: TraceOptions,
): VfsStorage | VfsSyncStorage {
  if (typeof options?.onCall !== 'function') {
    throw new VfsError('invalid-argument', 'trace: options.onCall must be a function');
  }
  if (options.onListenerError !== undefined && typeof options.onListenerError !== 'function') {
    throw new VfsError('invalid-argument', 'trace: options.onListenerError must be a function');
  }
  return traced(storage, tracer(options));
}

/** A path as one token of a line: quoted (JSON) when it holds spaces, quotes or control characters. */
const token = (path: unknown): string => {
  const text = typeof path === 'string' ? path : String(path);
  return /[\s"\\\p{Cc}]/u.test(text) || text === '' ? JSON.stringify(text) : text;
};

/** 2 significant digits below 10 ms (`0.21`, `1.0`), whole milliseconds above (`153`). */
const milliseconds = (ms: number): string => (ms < 10 ? ms.toPrecision(2) : ms.toFixed(0));

/**
 * One line describing a {@link TraceEvent}: operation, path (`-> target` for `rename`), duration,
 * then `ok` or the error's code (a {@link VfsError}'s `code`, else the error's name), then the
 * bytes moved when known. Paths with spaces, quotes or control characters are JSON-quoted, so an
 * event is always one line.
 *
 * ```text
 * stat /data/a.txt 0.21 ms ok
 * read /x 1.0 ms not-found
 * readAt /data/big.bin 0.094 ms ok 65536 B
 * rename /a.tmp -> /a 0.31 ms ok
 * ```
 */
export function formatTraceEvent(event: TraceEvent): string {
  const target = event.to === undefined ? '' : ` -> ${token(event.to)}`;
  const outcome = event.outcome === 'ok' ? 'ok' : errorLabel(event.error);
  const bytes = event.bytes === undefined ? '' : ` ${event.bytes} B`;
  return `${event.operation} ${token(event.path)}${target} ${milliseconds(event.durationMs)} ms ${outcome}${bytes}`;
}

/** A short name for what a call threw: a {@link VfsError}'s `code`, else the error's name, else `error`. */
export function errorLabel(error: unknown): string {
  if (isVfsError(error)) return error.code;
  if (error instanceof Error) return error.name;
  return 'error';
}
