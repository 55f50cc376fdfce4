import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  futimesSync,
  openSync,
  readSync,
  type Stats,
  writeSync,
} from 'node:fs';
import { toVfsError, VfsError, type VfsErrorCode } from '../errors.js';
import { msAtOrBefore, msToNs } from '../time.js';
import type { FileKind, Metadata, SetTimes } from '../types.js';

/*
 * node:fs helpers shared by the host-backed storages. Every open adds O_NOFOLLOW (a symlink swapped
 * in for the last component fails with ELOOP instead of being followed) and O_NONBLOCK (a FIFO
 * swapped in never blocks the guest's thread), and checks what it opened with fstat.
 */

const ERRNO_CODES: Record<string, VfsErrorCode> = {
  ENOENT: 'not-found',
  EEXIST: 'already-exists',
  ENOTDIR: 'not-a-directory',
  EISDIR: 'is-a-directory',
  ENOTEMPTY: 'directory-not-empty',
  EACCES: 'permission-denied',
  EPERM: 'permission-denied',
  ELOOP: 'permission-denied',
  EROFS: 'read-only',
  ENOSPC: 'quota-exceeded',
  EDQUOT: 'quota-exceeded',
  EFBIG: 'quota-exceeded',
  ENAMETOOLONG: 'name-too-long',
  EBUSY: 'busy',
  EXDEV: 'cross-device',
};

/** Translates a node:fs error into a {@link VfsError} (the one translation point of these storages). */
export function fromNodeError(error: unknown, path: string): VfsError {
  const errno = (error as { code?: unknown } | null)?.code;
  const code = typeof errno === 'string' ? ERRNO_CODES[errno] : undefined;
  if (code) return new VfsError(code, undefined, { path, cause: error });
  return toVfsError(error, path);
}

/** Runs `fn`, reporting node:fs failures as {@link VfsError}s about `path`. */
export function hostCall<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw fromNodeError(error, path);
  }
}

/** `file` or `directory`; `undefined` for anything else (a symlink, FIFO, socket or device). */
export function kindOfStats(stats: Stats): FileKind | undefined {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  return undefined;
}

/** The contract's {@link Metadata} of host stats. */
export function toMetadata(stats: Stats, kind: FileKind): Metadata {
  // Some file systems report no birth time (0): the earliest time known stands in.
  const created = stats.birthtimeMs > 0 ? stats.birthtimeMs : Math.min(stats.ctimeMs, stats.mtimeMs);
  return {
    kind,
    size: kind === 'file' ? stats.size : 0,
    created,
    modified: stats.mtimeMs,
    accessed: stats.atimeMs,
  };
}

const { O_RDONLY, O_WRONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** Open flags for reading anything (a file, or a directory for futimes/fstat). */
export const READ = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
/** Open flags for writing an existing file; add `constants.O_CREAT` etc. as needed. */
export const WRITE = O_WRONLY | O_NOFOLLOW | O_NONBLOCK;

/**
 * Opens `hostPath` (never following a symlink in its last component), checks that it is a file or
 * directory of the expected kind, and runs `fn` with the descriptor.
 *
 * @param guestPath reported in errors (never the host path, which the guest must not learn).
 */
export function withFd<T>(
  hostPath: string,
  guestPath: string,
  flags: number,
  expect: FileKind | 'any',
  fn: (fd: number, stats: Stats) => T,
): T {
  const fd = hostCall(guestPath, () => openSync(hostPath, flags, 0o666));
  try {
    const stats = fstatSync(fd);
    const kind = kindOfStats(stats);
    if (kind === undefined) {
      throw new VfsError('permission-denied', 'not a regular file or directory', { path: guestPath });
    }
    if (expect === 'file' && kind === 'directory')
      throw new VfsError('is-a-directory', undefined, { path: guestPath });
    if (expect === 'directory' && kind === 'file')
      throw new VfsError('not-a-directory', undefined, { path: guestPath });
    return hostCall(guestPath, () => fn(fd, stats));
  } finally {
    closeSync(fd);
  }
}

/** Reads up to `length` bytes at `offset` (short at the end of the file). */
export function readFd(fd: number, offset: number, length: number): Uint8Array {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, done);
}

/** Writes all of `data` at `offset`, or at the end for an `O_APPEND` descriptor (`offset` null). */
export function writeFd(fd: number, data: Uint8Array, offset: number | null): void {
  let done = 0;
  while (done < data.length) {
    const n = writeSync(fd, data, done, data.length - done, offset === null ? null : offset + done);
    done += n;
  }
}

/** `writeAt` on a descriptor: an empty write past the end still extends the file (with zeros). */
export function writeAt(fd: number, stats: Stats, offset: number, data: Uint8Array): void {
  if (data.length === 0) {
    if (offset > stats.size) ftruncateSync(fd, offset);
    return;
  }
  writeFd(fd, data, offset);
}

/**
 * `append` on a descriptor opened with `O_APPEND`: the offset written at. Appending nothing marks the
 * file modified, as the storage contract asks (a write of nothing would change nothing on a POSIX
 * file system).
 */
export function appendFd(fd: number, before: Stats, data: Uint8Array): number {
  if (data.length === 0) {
    setHostTimes(fd, before, { modified: Date.now() });
    return before.size;
  }
  writeFd(fd, data, null);
  return fstatSync(fd).size - data.length;
}

/*
 * Host times. Node sets them as a double of seconds, which libuv truncates (toward zero) to whole
 * microseconds, and replaces a negative number with the current time; it shows them as a double of
 * milliseconds (`mtimeMs`). So a time is stored as the microsecond whose `mtimeMs` is the latest at
 * or before the milliseconds asked for, and handed to Node as a decimal string in the middle of that
 * microsecond: what `stat` shows then sets the same time again, and any earlier time (100 ns
 * earlier) sets an earlier one.
 */

const NS_PER_S = 1_000_000_000n;

/** The `mtimeMs` Node shows for a host time of `us` microseconds (as Node computes it). */
function hostMs(us: bigint): number {
  const ns = us * 1000n;
  const seconds = ns >= 0n ? ns / NS_PER_S : -((-ns + NS_PER_S - 1n) / NS_PER_S);
  return Number(seconds) * 1e3 + Number(ns - seconds * NS_PER_S) / 1e6;
}

/**
 * The microsecond to store for `ms`: the latest whose `mtimeMs` is at or before `ms`. Near the
 * microsecond `ms` falls in, one or two steps find it; where doubles of milliseconds are coarser than
 * microseconds (hundreds of millennia away), the steps are bounded and the nearest one stands.
 */
function hostMicros(ms: number): bigint {
  const ns = msToNs(ms);
  let us = ns >= 0n ? ns / 1000n : -((-ns + 999n) / 1000n);
  for (let step = 0; step < 3 && hostMs(us) > ms; step++) us--;
  for (let step = 0; step < 3 && hostMs(us + 1n) <= ms; step++) us++;
  return us;
}

/** Seconds that libuv stores as `us` microseconds: a string, since Node makes a negative number now. */
function hostSeconds(us: bigint): string {
  const ns = us * 1000n + (us < 0n ? -500n : 500n);
  const abs = ns < 0n ? -ns : ns;
  return `${ns < 0n ? '-' : ''}${abs / NS_PER_S}.${String(abs % NS_PER_S).padStart(9, '0')}`;
}

/** Sets the times of an open file (see above); a time left out stays what `stats` shows. */
export function setHostTimes(fd: number, stats: Stats, times: SetTimes): void {
  // Core gives a storage without nanosecondTimes milliseconds only; never hand Node a bigint.
  const seconds = (time: number | bigint | undefined, current: number) =>
    hostSeconds(hostMicros(typeof time === 'bigint' ? msAtOrBefore(time) : (time ?? current)));
  futimesSync(fd, seconds(times.accessed, stats.atimeMs), seconds(times.modified, stats.mtimeMs));
}

/**
 * Wraps every operation of a driver so that node:fs errors become {@link VfsError}s about the
 * storage path (its first argument), never the host path.
 */
export function translated<T extends object>(driver: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(driver)) {
    out[key] =
      typeof value === 'function'
        ? (...args: unknown[]) => hostCall(String(args[0] ?? '/'), () => value.apply(driver, args))
        : value;
  }
  return out as T;
}
