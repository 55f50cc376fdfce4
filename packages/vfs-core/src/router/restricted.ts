import {
  closeSync,
  constants,
  ftruncateSync,
  lstatSync,
  openSync,
  readFileSync,
  realpathSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { VfsError } from '../errors.js';
import { pathSegments } from '../path.js';
import { createSyncStorage } from '../storage.js';
import type { DirEntry, Metadata, VfsSyncStorage } from '../types.js';
import {
  appendFd,
  fromNodeError,
  hostCall,
  READ,
  readFd,
  setHostTimes,
  toMetadata,
  translated,
  WRITE,
  withFd,
  writeAt,
  writeFd,
} from './host-fs.js';

/** Options of {@link restrictedFiles}. */
export interface RestrictedFilesOptions {
  /** When `true`, every write, creation, removal, rename and time change fails with `read-only`. Default `false`. */
  readOnly?: boolean;
}

/** The storage {@link restrictedFiles} makes. */
export interface RestrictedFilesStorage extends VfsSyncStorage {
  /** Name -> host file, as resolved when the storage was made. */
  readonly files: Readonly<Record<string, string>>;
  /** Whether the storage refuses every write. The WASI host mounts such a storage read-only. */
  readonly readOnly: boolean;
}

/**
 * A storage that exposes only the named host files, each at `/<name>`: for example
 * `restrictedFiles({ 'app.conf': '/etc/myapp/app.conf' }, { readOnly: true })` mounted at
 * `/config` lets a guest read `/config/app.conf` and nothing else.
 *
 * The root lists the named files that exist on the host (as regular files). A read-write storage
 * lets the guest read, write, truncate and set the times of the named files, creating one that is
 * missing; it never creates another name, a directory, or removes or renames anything
 * (`permission-denied`, EACCES to a guest). A read-only one refuses every write with `read-only`.
 * It stores no links (`capabilities.symlinks` is `false`): `symlink` is `unsupported`, and
 * `readlink` is `invalid-argument` for what exists.
 *
 * Each host path is resolved once, here, with `realpath` (a symlink the caller names is the
 * caller's choice); every later open uses that path with `O_NOFOLLOW` and `O_NONBLOCK` and checks
 * that it opened a regular file, so a symlink or FIFO put there later is refused rather than
 * followed. A directory component of the host path replaced by a symlink between two operations is
 * not detected (Node has no `openat`): see `hostDirectory` on races.
 *
 * @param files guest name (one path segment) -> absolute host path.
 * @throws {VfsError} `invalid-argument` for a name that is not one segment, or a relative host path.
 */
export function restrictedFiles(
  files: Record<string, string>,
  options: RestrictedFilesOptions = {},
): RestrictedFilesStorage {
  const readOnly = options.readOnly === true;
  const hosts = new Map<string, string>();
  for (const [name, host] of Object.entries(files)) {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      throw new VfsError('invalid-argument', `restrictedFiles: "${name}" is not a single file name`);
    }
    if (typeof host !== 'string' || !isAbsolute(host)) {
      throw new VfsError('invalid-argument', `restrictedFiles: the host path of "${name}" must be absolute`);
    }
    hosts.set(name, resolveHostPath(host));
  }
  const rootTime = Date.now();
  let rootTimes = { accessed: rootTime, modified: rootTime };

  /** The host file of a storage path, `undefined` when the path names no file. */
  const hostOf = (path: string): string | undefined => {
    const segments = pathSegments(path);
    return segments.length === 1 ? hosts.get(segments[0] as string) : undefined;
  };

  const writable = (path: string) => {
    if (readOnly) throw new VfsError('read-only', 'the restricted files are mounted read-only', { path });
  };

  /** The host file to write at `path`: the named file, or the contract's error for any other path. */
  const writeTarget = (path: string): string => {
    writable(path);
    if (path === '/') throw new VfsError('is-a-directory', undefined, { path });
    const host = hostOf(path);
    if (host !== undefined) return host;
    const segments = pathSegments(path);
    if (segments.length === 1) {
      throw new VfsError('permission-denied', 'only the named files are exposed', { path });
    }
    if (segments.length === 2 && hosts.has(segments[0] as string)) {
      throw new VfsError('not-a-directory', 'parent is a file', { path });
    }
    throw new VfsError('not-found', 'parent directory does not exist', { path });
  };

  /** The host file to read at `path`. */
  const readTarget = (path: string): string => {
    if (path === '/') throw new VfsError('is-a-directory', undefined, { path });
    return hostOf(path) ?? missing(path);
  };

  const { O_CREAT, O_TRUNC, O_APPEND, O_EXCL } = constants;
  const storage = createSyncStorage(
    translated({
      read: (path: string) =>
        withFd(readTarget(path), path, READ, 'file', (fd) => new Uint8Array(readFileSync(fd))),
      readAt: (path: string, offset: number, length: number) =>
        withFd(readTarget(path), path, READ, 'file', (fd, stats) =>
          readFd(fd, offset, Math.max(0, Math.min(length, stats.size - offset))),
        ),
      write: (path: string, data: Uint8Array) =>
        withFd(writeTarget(path), path, WRITE | O_CREAT | O_TRUNC, 'file', (fd) => writeFd(fd, data, 0)),
      writeAt: (path: string, offset: number, data: Uint8Array) =>
        withFd(writeTarget(path), path, WRITE | O_CREAT, 'file', (fd, stats) =>
          writeAt(fd, stats, offset, data),
        ),
      append: (path: string, data: Uint8Array) =>
        withFd(writeTarget(path), path, WRITE | O_CREAT | O_APPEND, 'file', (fd, before) =>
          appendFd(fd, before, data),
        ),
      create(path: string) {
        writable(path);
        if (path === '/') throw new VfsError('already-exists', undefined, { path });
        const host = writeTarget(path);
        // The host's O_EXCL: exclusive against every other process creating the named file.
        closeSync(hostCall(path, () => openSync(host, WRITE | O_CREAT | O_EXCL, 0o666)));
      },
      setSize(path: string, size: number) {
        writable(path);
        withFd(readTarget(path), path, WRITE, 'file', (fd) => ftruncateSync(fd, size));
      },
      stat(path: string): Metadata {
        if (path === '/') return { kind: 'directory', size: 0, created: rootTime, ...rootTimes };
        return withFd(hostOf(path) ?? missing(path), path, READ, 'file', (_fd, stats) =>
          toMetadata(stats, 'file'),
        );
      },
      list(path: string): DirEntry[] {
        if (path !== '/') {
          if (hostOf(path) !== undefined && exists(path)) {
            throw new VfsError('not-a-directory', undefined, { path });
          }
          return missing(path);
        }
        const entries: DirEntry[] = [];
        for (const [name, host] of hosts) {
          const stats = lstatOrUndefined(host);
          if (stats?.isFile()) entries.push({ name, kind: 'file', size: stats.size });
        }
        return entries;
      },
      exists: (path: string) => exists(path),
      mkdir(path: string) {
        writable(path);
        if (path === '/' || (hostOf(path) !== undefined && exists(path))) {
          throw new VfsError('already-exists', undefined, { path });
        }
        throw new VfsError('permission-denied', 'only the named files are exposed', { path });
      },
      rmdir(path: string) {
        writable(path);
        if (path === '/') throw new VfsError('busy', 'the root cannot be removed', { path });
        throw new VfsError('permission-denied', 'only the named files are exposed', { path });
      },
      delete(path: string) {
        writable(path);
        if (path === '/') throw new VfsError('is-a-directory', undefined, { path });
        if (hostOf(path) === undefined) missing(path);
        throw new VfsError('permission-denied', 'the named files cannot be removed', { path });
      },
      rename(from: string, to: string) {
        writable(from);
        if (from === '/' || to === '/')
          throw new VfsError('busy', 'the root cannot be renamed', { path: from });
        throw new VfsError('permission-denied', 'the named files cannot be renamed', { path: from });
      },
      setTimes(path: string, times: { accessed?: number; modified?: number }) {
        writable(path);
        if (path === '/') {
          rootTimes = {
            accessed: times.accessed ?? rootTimes.accessed,
            modified: times.modified ?? rootTimes.modified,
          };
          return;
        }
        withFd(readTarget(path), path, READ, 'file', (fd, stats) => setHostTimes(fd, stats, times));
      },
    }),
  );

  function exists(path: string): boolean {
    if (path === '/') return true;
    const host = hostOf(path);
    return host !== undefined && lstatOrUndefined(host)?.isFile() === true;
  }

  return Object.assign(storage, { files: Object.fromEntries(hosts), readOnly });
}

function missing(path: string): never {
  throw new VfsError('not-found', undefined, { path });
}

function lstatOrUndefined(host: string) {
  try {
    return lstatSync(host);
  } catch {
    return undefined;
  }
}

/** The host path with its symlinks resolved; for a missing file, its directory's. */
function resolveHostPath(host: string): string {
  try {
    return realpathSync(host);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw fromNodeError(error, host);
  }
  try {
    return join(realpathSync(dirname(host)), basename(host));
  } catch {
    return host;
  }
}
