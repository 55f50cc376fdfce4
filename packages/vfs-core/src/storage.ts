import { coalesceExtents } from './chunks.js';
import { isVfsError, toVfsError, VfsError } from './errors.js';
import { KeyedQueue } from './locks.js';
import { checkCreatedName, createdNameFits, type NameLimits, nameLimits } from './names.js';
import { type ArgumentKind, OPERATIONS, STORAGE_OPERATIONS, type StorageOperation } from './operations.js';
import { normalizePath } from './path.js';
import { runAsync, runSync } from './plan.js';
import { isStorableNs, msAtOrBefore } from './time.js';
import {
  type Capabilities,
  checkIfFile,
  type FileIdentity,
  type FlushOptions,
  type Metadata,
  resolveCapabilities,
  type SetTimes,
  type VfsDriver,
  type VfsStorage,
  type VfsSyncDriver,
  type VfsSyncStorage,
  type WriteExtent,
  type WriteExtentsOptions,
} from './types.js';

/**
 * Checks that `value` is a non-negative safe integer (an offset, a length or a size).
 * @throws {VfsError} `invalid-offset`
 */
export function checkOffset(value: unknown, what: string, path?: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new VfsError(
      'invalid-offset',
      `${what} must be a non-negative safe integer, got ${String(value)}`,
      {
        path,
      },
    );
  }
  return value;
}

/** Whether `buffer` was transferred away: a view of it can no longer be made. */
function isDetached(buffer: ArrayBufferLike): boolean {
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * Whether `value` is a `Uint8Array`, one from another realm (a `vm` context, a worker's
 * structured clone) included: those fail `instanceof`, while a look-alike object passes no check.
 */
export function isUint8Array(value: unknown): value is Uint8Array {
  return (
    value instanceof Uint8Array ||
    (ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]')
  );
}

/**
 * Checks that `data` is a `Uint8Array` (one from another realm, such as a `vm` context, included)
 * whose buffer is not detached, and that writing it at `offset` stays within safe integers.
 * Returns a `Uint8Array` of this realm over the same bytes.
 * @throws {VfsError} `invalid-argument`; `invalid-offset`
 */
export function checkData(data: unknown, path?: string, offset = 0): Uint8Array {
  if (!(data instanceof Uint8Array)) {
    if (!isUint8Array(data)) throw new VfsError('invalid-argument', 'data must be a Uint8Array', { path });
    const { buffer, byteOffset, byteLength } = data as Uint8Array;
    data = isDetached(buffer) ? data : new Uint8Array(buffer, byteOffset, byteLength);
  }
  const bytes = data as Uint8Array;
  // A detached view reads as empty: refuse it rather than store nothing in its place.
  if (bytes.byteLength === 0 && isDetached(bytes.buffer)) {
    throw new VfsError('invalid-argument', 'data is detached (its buffer was transferred)', { path });
  }
  if (offset + bytes.length > Number.MAX_SAFE_INTEGER) {
    throw new VfsError('invalid-offset', 'offset + length exceeds the largest safe integer', { path });
  }
  return bytes;
}

function checkTimes(times: unknown, path: string): SetTimes {
  if (typeof times !== 'object' || times === null) {
    throw new VfsError('invalid-argument', 'times must be an object', { path });
  }
  const { accessed, modified } = times as SetTimes;
  for (const [name, value] of [
    ['accessed', accessed],
    ['modified', modified],
  ] as const) {
    if (value === undefined || (typeof value === 'number' && Number.isFinite(value))) continue;
    if (typeof value === 'bigint' && isStorableNs(value)) continue;
    throw new VfsError(
      'invalid-argument',
      `${name} must be a finite number of milliseconds or a signed 64-bit bigint of nanoseconds`,
      { path },
    );
  }
  return { accessed, modified };
}

/**
 * The times a driver receives: as given where it declares `nanosecondTimes`, else with a bigint
 * (nanoseconds) made the latest double of milliseconds at or before it.
 */
function timesForDriver(driver: VfsDriver | VfsSyncDriver, times: SetTimes): SetTimes {
  if (driver.capabilities?.nanosecondTimes === true) return times;
  const { accessed, modified } = times;
  if (typeof accessed !== 'bigint' && typeof modified !== 'bigint') return times;
  return {
    accessed: typeof accessed === 'bigint' ? msAtOrBefore(accessed) : accessed,
    modified: typeof modified === 'bigint' ? msAtOrBefore(modified) : modified,
  };
}

function checkExtents(value: unknown, path: string): WriteExtent[] {
  if (!Array.isArray(value)) {
    throw new VfsError('invalid-argument', 'extents must be an array of [offset, data] pairs', { path });
  }
  // A copy: the caller's array may change while an async backend works on it.
  const out = new Array<WriteExtent>(value.length);
  for (let i = 0; i < value.length; i++) {
    const extent: unknown = value[i];
    if (!Array.isArray(extent) || extent.length !== 2) {
      throw new VfsError('invalid-argument', `extent ${i} must be an [offset, data] pair`, { path });
    }
    const offset = checkOffset(extent[0], `offset of extent ${i}`, path);
    out[i] = [offset, checkData(extent[1], path, offset)];
  }
  return out;
}

function checkWriteOptions(value: unknown, path: string): WriteExtentsOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw new VfsError('invalid-argument', 'options must be an object', { path });
  }
  const { modified, ifFile } = value as WriteExtentsOptions;
  if (modified !== undefined && (typeof modified !== 'number' || !Number.isFinite(modified))) {
    throw new VfsError('invalid-argument', 'modified must be a finite number of milliseconds', { path });
  }
  if (ifFile === undefined) return modified === undefined ? undefined : { modified };
  const { id, created } = (ifFile ?? {}) as FileIdentity;
  if (
    typeof ifFile !== 'object' ||
    (id !== undefined && typeof id !== 'string') ||
    typeof created !== 'number' ||
    !Number.isFinite(created)
  ) {
    const message = 'ifFile must be { id?: string, created: number }, as stat gives them';
    throw new VfsError('invalid-argument', message, { path });
  }
  return { modified, ifFile: id === undefined ? { created } : { id, created } };
}

/** The options a driver without {@link Capabilities.nativeIfFile} is called with: no `ifFile`. */
const withoutIfFile = (options: WriteExtentsOptions | undefined): WriteExtentsOptions | undefined =>
  options?.modified === undefined ? undefined : { modified: options.modified };

/** What `stat` says is at `path`; `undefined` for nothing (or a missing parent). */
function statOrNothing(stat: (path: string) => Metadata, path: string): Metadata | undefined {
  try {
    return stat(path);
  } catch (error) {
    if (isVfsError(error, 'not-found') || isVfsError(error, 'not-a-directory')) return undefined;
    throw error;
  }
}

type Invoke = (...args: unknown[]) => unknown;

/**
 * Checks an argument after the first (which is always a path), given the normalized path and the
 * checked argument before it; returns it as the backend receives it.
 */
type ArgCheck = (value: unknown, path: string, previous: unknown) => unknown;

const ARG_CHECKS: Record<ArgumentKind, ArgCheck> = {
  path: (value) => normalizePath(value),
  offset: (value, path) => checkOffset(value, 'offset', path),
  length: (value, path) => checkOffset(value, 'length', path),
  size: (value, path) => checkOffset(value, 'size', path),
  // Written at the offset before it, when there is one (writeAt), else at 0.
  data: (value, path, previous) => checkData(value, path, typeof previous === 'number' ? previous : 0),
  times: (value, path) => checkTimes(value, path),
  extents: (value, path) => checkExtents(value, path),
  writeOptions: (value, path) => checkWriteOptions(value, path),
  linkTarget: (value, path) => checkLinkTarget(value, path),
};

/** The checks of an operation's arguments after its path, and which argument it may create. */
function argumentChecks(op: StorageOperation): { rest: ArgCheck[]; creates: number | undefined } {
  const { args, creates } = OPERATIONS[op];
  return { rest: args.slice(1).map((kind) => ARG_CHECKS[kind]), creates };
}

/**
 * Builds an object with one member per storage operation (plus `extra`), the one place the
 * table-driven members are cast to the interface they implement.
 */
export function fromOperations<T>(
  member: (op: StorageOperation) => Invoke,
  extra: Record<string, unknown> = {},
): T {
  const out: Record<string, unknown> = { ...extra };
  for (const op of STORAGE_OPERATIONS) out[op] = member(op);
  return out as T;
}

/**
 * The longest string (in UTF-16 units) that fits every name and path limit whatever its characters
 * (one unit is at most 3 UTF-8 bytes): a created path this short needs no check at all.
 */
const shortEnough = (names: NameLimits) => Math.floor(Math.min(names.maxNameLength, names.maxPathLength) / 3);

/** An emulated append's error where something other than a file is (a link's size is no file's). */
const IS_NOT_A_FILE = { directory: 'is-a-directory', symlink: 'is-a-symlink' } as const;

/** What an emulated create writes: nothing, at offset 0. */
const NOTHING = new Uint8Array(0);

/** The times an emulated writeExtents sets afterwards, if any. */
const timesOf = (options: WriteExtentsOptions | undefined): SetTimes | undefined =>
  options?.modified === undefined ? undefined : { modified: options.modified, accessed: options.modified };

/** `symlink` of a driver that stores no links. */
function noSymlinks(path: string): never {
  throw new VfsError('unsupported', 'this storage does not store symbolic links', { path });
}

/** `link` of a driver that stores no hard links. */
function noHardLinks(from: string): never {
  throw new VfsError('unsupported', 'this storage does not store hard links', { path: from });
}

/** `readlink` of a driver that stores no links: whatever exists (`stat` found it) is not one. */
function notALink(path: string, _meta: Metadata): never {
  throw new VfsError('invalid-argument', 'not a symbolic link', { path });
}

/** The most UTF-8 bytes of a symbolic link's target (Linux's `PATH_MAX`). */
export const MAX_LINK_TARGET = 4096;

/** A symbolic link's target as the contract takes it (see `linkTarget` in `OPERATIONS`). */
function checkLinkTarget(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0') || /[\uD800-\uDFFF]/u.test(value)) {
    throw new VfsError(
      'invalid-argument',
      'a link target must be a well-formed, non-empty string without NUL',
      {
        path,
      },
    );
  }
  // A UTF-16 unit is 1 to 3 UTF-8 bytes: only a target of 1,366 to 4,096 units needs counting.
  if (
    value.length > MAX_LINK_TARGET ||
    (value.length * 3 > MAX_LINK_TARGET && Buffer.byteLength(value, 'utf8') > MAX_LINK_TARGET)
  ) {
    throw new VfsError('invalid-argument', `a link target may have at most ${MAX_LINK_TARGET} UTF-8 bytes`, {
      path,
    });
  }
  return value;
}

function closedError(): VfsError {
  return new VfsError('io', 'storage is closed');
}

function capabilitiesOf(driver: VfsDriver | VfsSyncDriver): Capabilities {
  return resolveCapabilities({
    ...driver.capabilities,
    nativeAppend: driver.append !== undefined && driver.capabilities?.nativeAppend !== false,
    exclusiveCreate: driver.create !== undefined && driver.capabilities?.exclusiveCreate !== false,
    // A driver that leaves writeExtents to core cannot check the precondition atomically either.
    nativeIfFile: driver.writeExtents !== undefined && driver.capabilities?.nativeIfFile === true,
    symlinks: driver.symlink !== undefined && driver.capabilities?.symlinks !== false,
    hardLinks: driver.link !== undefined && driver.capabilities?.hardLinks !== false,
  });
}

/**
 * Makes a {@link VfsStorage} of a backend's {@link VfsDriver}: normalizes and validates every
 * argument once (as {@link OPERATIONS} describes them), translates stray errors into `io`
 * {@link VfsError}s (with the original as `cause`), fills capability defaults and emulates `append`,
 * `create` and `writeExtents` when the driver has none.
 */
export function createStorage(driver: VfsDriver, options: { sync?: VfsSyncStorage } = {}): VfsStorage {
  const appends = new KeyedQueue();
  let closed = false;

  const emulatedAppend = (path: string, data: Uint8Array) =>
    appends.run(path, async () => {
      let size = 0;
      try {
        const meta = await driver.stat(path);
        if (meta.kind !== 'file') throw new VfsError(IS_NOT_A_FILE[meta.kind], undefined, { path });
        size = meta.size;
      } catch (error) {
        if (!isVfsError(error, 'not-found')) throw error;
      }
      checkData(data, path, size);
      await driver.writeAt(path, size, data);
      return size;
    });

  // In the append queue: an emulated append between the lookup and the creation would otherwise
  // make two creators. An empty writeAt never destroys data, even if another process got there.
  const emulatedCreate = (path: string) =>
    appends.run(path, async () => {
      if (path === '/' || (await driver.exists(path)))
        throw new VfsError('already-exists', undefined, { path });
      await driver.writeAt(path, 0, NOTHING);
    });

  // One writeAt per run: gaps between runs are not read and rewritten, which would undo another
  // writer's bytes stored there meanwhile. Nothing to write still creates the file, as writeAt does.
  const emulatedWriteExtents = async (
    path: string,
    extents: readonly WriteExtent[],
    options: WriteExtentsOptions | undefined,
  ) => {
    if (options?.ifFile) await checkedIfFile(path, options.ifFile);
    const runs = coalesceExtents(extents);
    if (runs.length === 0) await driver.writeAt(path, 0, NOTHING);
    for (const [offset, data] of runs) await driver.writeAt(path, offset, data);
    const times = timesOf(options);
    if (times) await driver.setTimes(path, times);
  };

  // ifFile checked by a stat just before the write: a replacement in between goes undetected.
  const checkedIfFile = async (path: string, ifFile: FileIdentity) => {
    let meta: Metadata | undefined;
    try {
      meta = await driver.stat(path);
    } catch (error) {
      if (!isVfsError(error, 'not-found') && !isVfsError(error, 'not-a-directory')) throw error;
    }
    checkIfFile(path, meta, ifFile);
  };

  const emulated: Partial<Record<StorageOperation, Invoke>> = {
    append: emulatedAppend as Invoke,
    create: emulatedCreate as Invoke,
    writeExtents: emulatedWriteExtents as Invoke,
    symlink: noSymlinks as Invoke,
    link: noHardLinks as Invoke,
    readlink: (async (path: string) => notALink(path, await driver.stat(path))) as Invoke,
  };
  const setTimes = (path: string, times: SetTimes) => driver.setTimes(path, timesForDriver(driver, times));
  // A driver's own writeExtents that does not check ifFile itself (read per call: a backend may
  // learn what it can promise only once it has reached its server).
  const native = driver.writeExtents;
  const ownWriteExtents = native
    ? async (path: string, extents: readonly WriteExtent[], options: WriteExtentsOptions | undefined) => {
        if (!options?.ifFile || driver.capabilities?.nativeIfFile === true) {
          return native.call(driver, path, extents, options);
        }
        await checkedIfFile(path, options.ifFile);
        return native.call(driver, path, extents, withoutIfFile(options));
      }
    : undefined;

  const names = nameLimits(driver.limits);
  const short = shortEnough(names);
  const checkName = (op: StorageOperation, from: string, created: string) =>
    (op !== 'rename' && created.length <= short) || createdNameFits(op, created, names)
      ? undefined
      : runAsync(checkCreatedName(op, from, created, names), driver);

  // One closure per arity, without an array or a loop per call (see createSyncStorage).
  const guard = (op: StorageOperation): Invoke => {
    const own = op === 'writeExtents' ? ownWriteExtents : op === 'setTimes' ? setTimes : driver[op];
    const impl = (own ?? emulated[op]) as Invoke;
    const { rest, creates } = argumentChecks(op);
    const [c1, c2] = rest;
    if (c1 === undefined) {
      return async (p: unknown) => {
        if (closed) throw closedError();
        try {
          const path = normalizePath(p);
          if (creates !== undefined) await checkName(op, path, path);
          return await impl.call(driver, path);
        } catch (error) {
          throw toVfsError(error);
        }
      };
    }
    if (c2 === undefined) {
      return async (p: unknown, x: unknown) => {
        if (closed) throw closedError();
        try {
          const path = normalizePath(p);
          const v1 = c1(x, path, path);
          if (creates !== undefined) await checkName(op, path, (creates === 0 ? path : v1) as string);
          return await impl.call(driver, path, v1);
        } catch (error) {
          throw toVfsError(error);
        }
      };
    }
    return async (p: unknown, x: unknown, y: unknown) => {
      if (closed) throw closedError();
      try {
        const path = normalizePath(p);
        const v1 = c1(x, path, path);
        const v2 = c2(y, path, v1);
        if (creates !== undefined) await checkName(op, path, path);
        return await impl.call(driver, path, v1, v2);
      } catch (error) {
        throw toVfsError(error);
      }
    };
  };

  return fromOperations<VfsStorage>(guard, {
    capabilities: capabilitiesOf(driver),
    sync: options.sync,
    limits: driver.limits,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await driver.close?.();
      } catch (error) {
        throw toVfsError(error);
      }
    },
  });
}

/** The synchronous {@link createStorage}: the same checks around a {@link VfsSyncDriver}. */
export function createSyncStorage(driver: VfsSyncDriver): VfsSyncStorage {
  let closed = false;

  // Synchronous calls cannot interleave, so stat + writeAt is already atomic within this process.
  const emulatedAppend = (path: string, data: Uint8Array): number => {
    let size = 0;
    try {
      const meta = driver.stat(path);
      if (meta.kind !== 'file') throw new VfsError(IS_NOT_A_FILE[meta.kind], undefined, { path });
      size = meta.size;
    } catch (error) {
      if (!isVfsError(error, 'not-found')) throw error;
    }
    checkData(data, path, size);
    driver.writeAt(path, size, data);
    return size;
  };

  const emulatedCreate = (path: string): void => {
    if (path === '/' || driver.exists(path)) throw new VfsError('already-exists', undefined, { path });
    driver.writeAt(path, 0, NOTHING);
  };

  const emulatedWriteExtents = (
    path: string,
    extents: readonly WriteExtent[],
    options: WriteExtentsOptions | undefined,
  ): void => {
    if (options?.ifFile) checkIfFile(path, statOrNothing(driver.stat.bind(driver), path), options.ifFile);
    const runs = coalesceExtents(extents);
    if (runs.length === 0) driver.writeAt(path, 0, NOTHING);
    for (const [offset, data] of runs) driver.writeAt(path, offset, data);
    const times = timesOf(options);
    if (times) driver.setTimes(path, times);
  };

  const emulated: Partial<Record<StorageOperation, Invoke>> = {
    append: emulatedAppend as Invoke,
    create: emulatedCreate as Invoke,
    writeExtents: emulatedWriteExtents as Invoke,
    symlink: noSymlinks as Invoke,
    link: noHardLinks as Invoke,
    readlink: ((path: string) => notALink(path, driver.stat(path))) as Invoke,
  };
  // As in createStorage: a driver's own writeExtents that does not check ifFile itself.
  const native = driver.writeExtents;
  const ownWriteExtents = native
    ? (path: string, extents: readonly WriteExtent[], options: WriteExtentsOptions | undefined): void => {
        if (!options?.ifFile || driver.capabilities?.nativeIfFile === true) {
          native.call(driver, path, extents, options);
          return;
        }
        checkIfFile(path, statOrNothing(driver.stat.bind(driver), path), options.ifFile);
        native.call(driver, path, extents, withoutIfFile(options));
      }
    : undefined;

  const setTimes = (path: string, times: SetTimes) => driver.setTimes(path, timesForDriver(driver, times));

  const names = nameLimits(driver.limits);
  const short = shortEnough(names);
  const checkName = (op: StorageOperation, from: string, created: string) => {
    if (op !== 'rename' && created.length <= short) return;
    if (!createdNameFits(op, created, names)) runSync(checkCreatedName(op, from, created, names), driver);
  };

  // Each member checks, calls and translates inline, one closure per arity: the WASI host makes
  // several of these calls per guest call, and an array, a loop or a closure per call (with its
  // context) costs more than the check itself.
  const guard = (impl: Invoke, op: StorageOperation): Invoke => {
    const { rest, creates } = argumentChecks(op);
    const [c1, c2] = rest;
    if (c1 === undefined) {
      return (p: unknown) => {
        if (closed) throw closedError();
        try {
          const path = normalizePath(p);
          if (creates !== undefined) checkName(op, path, path);
          return impl.call(driver, path);
        } catch (error) {
          throw toVfsError(error);
        }
      };
    }
    if (c2 === undefined) {
      return (p: unknown, x: unknown) => {
        if (closed) throw closedError();
        try {
          const path = normalizePath(p);
          const v1 = c1(x, path, path);
          if (creates !== undefined) checkName(op, path, (creates === 0 ? path : v1) as string);
          return impl.call(driver, path, v1);
        } catch (error) {
          throw toVfsError(error);
        }
      };
    }
    return (p: unknown, x: unknown, y: unknown) => {
      if (closed) throw closedError();
      try {
        const path = normalizePath(p);
        const v1 = c1(x, path, path);
        const v2 = c2(y, path, v1);
        if (creates !== undefined) checkName(op, path, path);
        return impl.call(driver, path, v1, v2);
      } catch (error) {
        throw toVfsError(error);
      }
    };
  };

  const readAtView = driver.readAtView;
  const flush = driver.flush;
  return fromOperations<VfsSyncStorage>(
    (op) => {
      const own = op === 'writeExtents' ? ownWriteExtents : op === 'setTimes' ? setTimes : driver[op];
      return guard((own ?? emulated[op]) as Invoke, op);
    },
    {
      capabilities: capabilitiesOf(driver),
      limits: driver.limits,
      ...(readAtView ? { readAtView: guard(readAtView as Invoke, 'readAt') } : {}),
      ...(flush
        ? {
            flush(p?: string, options?: FlushOptions) {
              if (closed) throw closedError();
              try {
                flush.call(driver, p === undefined ? undefined : normalizePath(p), {
                  durable: options?.durable === true,
                });
              } catch (error) {
                throw toVfsError(error);
              }
            },
          }
        : {}),
      close() {
        if (closed) return;
        try {
          driver.close?.();
        } catch (error) {
          throw toVfsError(error);
        } finally {
          closed = true;
        }
      },
    },
  );
}

/**
 * The asynchronous form of a synchronous storage, with `sync` pointing back at it. Backends that
 * are synchronous by nature (memory, SQLite) implement the sync form once and expose both.
 */
export function toAsync(sync: VfsSyncStorage): VfsStorage {
  // The method is taken once and called with the arguments it takes (no rest array per call).
  const member = (op: StorageOperation | 'close'): Invoke => {
    const fn = (sync[op] as Invoke).bind(sync);
    switch (op === 'close' ? 0 : OPERATIONS[op].args.length) {
      case 0:
        return async () => fn();
      case 1:
        return async (p: unknown) => fn(p);
      case 2:
        return async (p: unknown, x: unknown) => fn(p, x);
      default:
        return async (p: unknown, x: unknown, y: unknown) => fn(p, x, y);
    }
  };
  return fromOperations<VfsStorage>(member, {
    capabilities: sync.capabilities,
    sync,
    limits: sync.limits,
    close: member('close'),
  });
}
