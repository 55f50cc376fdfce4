import { isVfsError, toVfsError, VfsError } from './errors.js';
import { KeyedQueue } from './locks.js';
import { normalizePath } from './path.js';
import {
  type Capabilities,
  type DirEntry,
  type FlushOptions,
  type Metadata,
  resolveCapabilities,
  type SetTimes,
  type VfsDriver,
  type VfsStorage,
  type VfsSyncDriver,
  type VfsSyncStorage,
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

/**
 * Checks that `data` is a `Uint8Array` and that writing it at `offset` stays within safe integers.
 * @throws {VfsError} `invalid-argument`; `invalid-offset`
 */
export function checkData(data: unknown, path?: string, offset = 0): Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new VfsError('invalid-argument', 'data must be a Uint8Array', { path });
  }
  if (offset + data.length > Number.MAX_SAFE_INTEGER) {
    throw new VfsError('invalid-offset', 'offset + length exceeds the largest safe integer', { path });
  }
  return data;
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
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw new VfsError('invalid-argument', `${name} must be a finite number of milliseconds`, { path });
    }
  }
  return { accessed, modified };
}

/** The validated arguments of each operation, shared by the async and sync guards. */
const args = {
  path: (p: unknown) => normalizePath(p),
  readAt(p: unknown, offset: unknown, length: unknown): [string, number, number] {
    const path = normalizePath(p);
    return [path, checkOffset(offset, 'offset', path), checkOffset(length, 'length', path)];
  },
  write(p: unknown, data: unknown): [string, Uint8Array] {
    const path = normalizePath(p);
    return [path, checkData(data, path)];
  },
  writeAt(p: unknown, offset: unknown, data: unknown): [string, number, Uint8Array] {
    const path = normalizePath(p);
    const at = checkOffset(offset, 'offset', path);
    return [path, at, checkData(data, path, at)];
  },
  setSize(p: unknown, size: unknown): [string, number] {
    const path = normalizePath(p);
    return [path, checkOffset(size, 'size', path)];
  },
  setTimes(p: unknown, times: unknown): [string, SetTimes] {
    const path = normalizePath(p);
    return [path, checkTimes(times, path)];
  },
};

/** What an emulated create writes: nothing, at offset 0. */
const NOTHING = new Uint8Array(0);

function closedError(): VfsError {
  return new VfsError('io', 'storage is closed');
}

/**
 * Makes a {@link VfsStorage} of a backend's {@link VfsDriver}: normalizes and validates every
 * argument once, translates stray errors into `io` {@link VfsError}s (with the original as
 * `cause`), fills capability defaults and emulates `append` and `create` when the driver has none.
 */
export function createStorage(driver: VfsDriver, options: { sync?: VfsSyncStorage } = {}): VfsStorage {
  const capabilities = resolveCapabilities({
    ...driver.capabilities,
    nativeAppend: driver.append !== undefined && driver.capabilities?.nativeAppend !== false,
    exclusiveCreate: driver.create !== undefined && driver.capabilities?.exclusiveCreate !== false,
  });
  const appends = new KeyedQueue();
  let closed = false;

  async function call<T>(fn: () => T | Promise<T>): Promise<T> {
    if (closed) throw closedError();
    try {
      return await fn();
    } catch (error) {
      throw toVfsError(error);
    }
  }

  const emulatedAppend = (path: string, data: Uint8Array) =>
    appends.run(path, async () => {
      let size = 0;
      try {
        const meta = await driver.stat(path);
        if (meta.kind === 'directory') throw new VfsError('is-a-directory', undefined, { path });
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

  const storage: VfsStorage = {
    capabilities,
    sync: options.sync,
    limits: driver.limits,
    read: (p) => call(() => driver.read(args.path(p))),
    readAt: (p, o, l) => call(() => driver.readAt(...args.readAt(p, o, l))),
    write: (p, d) => call(() => driver.write(...args.write(p, d))),
    writeAt: (p, o, d) => call(() => driver.writeAt(...args.writeAt(p, o, d))),
    append: (p, d) =>
      call(async () => {
        const [path, data] = args.write(p, d);
        return driver.append ? driver.append(path, data) : emulatedAppend(path, data);
      }),
    create: (p) =>
      call(() => {
        const path = args.path(p);
        return driver.create ? driver.create(path) : emulatedCreate(path);
      }),
    setSize: (p, s) => call(() => driver.setSize(...args.setSize(p, s))),
    stat: (p): Promise<Metadata> => call(() => driver.stat(args.path(p))),
    list: (p): Promise<DirEntry[]> => call(() => driver.list(args.path(p))),
    exists: (p) => call(() => driver.exists(args.path(p))),
    mkdir: (p) => call(() => driver.mkdir(args.path(p))),
    rmdir: (p) => call(() => driver.rmdir(args.path(p))),
    delete: (p) => call(() => driver.delete(args.path(p))),
    rename: (from, to) => call(() => driver.rename(args.path(from), args.path(to))),
    setTimes: (p, t) => call(() => driver.setTimes(...args.setTimes(p, t))),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await driver.close?.();
      } catch (error) {
        throw toVfsError(error);
      }
    },
  };
  return storage;
}

/** The synchronous {@link createStorage}: the same checks around a {@link VfsSyncDriver}. */
export function createSyncStorage(driver: VfsSyncDriver): VfsSyncStorage {
  const capabilities: Capabilities = resolveCapabilities({
    ...driver.capabilities,
    nativeAppend: driver.append !== undefined && driver.capabilities?.nativeAppend !== false,
    exclusiveCreate: driver.create !== undefined && driver.capabilities?.exclusiveCreate !== false,
  });
  let closed = false;

  // Every method checks, calls and translates inline rather than through a helper taking a
  // closure: the WASI host makes several of these calls per guest call, and a closure (with its
  // context) per call was most of what a stat allocated.
  const open = (): void => {
    if (closed) throw closedError();
  };
  const failed = (error: unknown): never => {
    throw toVfsError(error);
  };

  // Synchronous calls cannot interleave, so stat + writeAt is already atomic within this process.
  const emulatedAppend = (path: string, data: Uint8Array): number => {
    let size = 0;
    try {
      const meta = driver.stat(path);
      if (meta.kind === 'directory') throw new VfsError('is-a-directory', undefined, { path });
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

  const readAtView = driver.readAtView;
  const flush = driver.flush;
  return {
    capabilities,
    limits: driver.limits,
    read(p) {
      open();
      try {
        return driver.read(normalizePath(p));
      } catch (error) {
        return failed(error);
      }
    },
    readAt(p, o, l) {
      open();
      try {
        return driver.readAt(...args.readAt(p, o, l));
      } catch (error) {
        return failed(error);
      }
    },
    write(p, d) {
      open();
      try {
        const path = normalizePath(p);
        driver.write(path, checkData(d, path));
      } catch (error) {
        failed(error);
      }
    },
    writeAt(p, o, d) {
      open();
      try {
        const path = normalizePath(p);
        const at = checkOffset(o, 'offset', path);
        driver.writeAt(path, at, checkData(d, path, at));
      } catch (error) {
        failed(error);
      }
    },
    append(p, d) {
      open();
      try {
        const path = normalizePath(p);
        const data = checkData(d, path);
        return driver.append ? driver.append(path, data) : emulatedAppend(path, data);
      } catch (error) {
        return failed(error);
      }
    },
    create(p) {
      open();
      try {
        const path = normalizePath(p);
        if (driver.create) driver.create(path);
        else emulatedCreate(path);
      } catch (error) {
        failed(error);
      }
    },
    setSize(p, s) {
      open();
      try {
        driver.setSize(...args.setSize(p, s));
      } catch (error) {
        failed(error);
      }
    },
    stat(p) {
      open();
      try {
        return driver.stat(normalizePath(p));
      } catch (error) {
        return failed(error);
      }
    },
    list(p) {
      open();
      try {
        return driver.list(normalizePath(p));
      } catch (error) {
        return failed(error);
      }
    },
    exists(p) {
      open();
      try {
        return driver.exists(normalizePath(p));
      } catch (error) {
        return failed(error);
      }
    },
    mkdir(p) {
      open();
      try {
        driver.mkdir(normalizePath(p));
      } catch (error) {
        failed(error);
      }
    },
    rmdir(p) {
      open();
      try {
        driver.rmdir(normalizePath(p));
      } catch (error) {
        failed(error);
      }
    },
    delete(p) {
      open();
      try {
        driver.delete(normalizePath(p));
      } catch (error) {
        failed(error);
      }
    },
    rename(from, to) {
      open();
      try {
        driver.rename(normalizePath(from), normalizePath(to));
      } catch (error) {
        failed(error);
      }
    },
    setTimes(p, t) {
      open();
      try {
        driver.setTimes(...args.setTimes(p, t));
      } catch (error) {
        failed(error);
      }
    },
    ...(readAtView
      ? {
          readAtView(p: string, o: number, l: number) {
            open();
            try {
              return readAtView.call(driver, ...args.readAt(p, o, l));
            } catch (error) {
              return failed(error);
            }
          },
        }
      : {}),
    ...(flush
      ? {
          flush(p?: string, options?: FlushOptions) {
            open();
            try {
              flush.call(driver, p === undefined ? undefined : normalizePath(p), {
                durable: options?.durable === true,
              });
            } catch (error) {
              failed(error);
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
  };
}

/**
 * The asynchronous form of a synchronous storage, with `sync` pointing back at it. Backends that
 * are synchronous by nature (memory, SQLite) implement the sync form once and expose both.
 */
export function toAsync(sync: VfsSyncStorage): VfsStorage {
  const run =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    async (...a: A): Promise<R> =>
      fn(...a);
  return {
    capabilities: sync.capabilities,
    sync,
    limits: sync.limits,
    read: run((p) => sync.read(p)),
    readAt: run((p, o, l) => sync.readAt(p, o, l)),
    write: run((p, d) => sync.write(p, d)),
    writeAt: run((p, o, d) => sync.writeAt(p, o, d)),
    append: run((p, d) => sync.append(p, d)),
    create: run((p) => sync.create(p)),
    setSize: run((p, s) => sync.setSize(p, s)),
    stat: run((p) => sync.stat(p)),
    list: run((p) => sync.list(p)),
    exists: run((p) => sync.exists(p)),
    mkdir: run((p) => sync.mkdir(p)),
    rmdir: run((p) => sync.rmdir(p)),
    delete: run((p) => sync.delete(p)),
    rename: run((from, to) => sync.rename(from, to)),
    setTimes: run((p, t) => sync.setTimes(p, t)),
    close: run(() => sync.close()),
  };
}
