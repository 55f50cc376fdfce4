import {
  closeSync,
  constants,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmdirSync,
  type Stats,
  statSync,
  unlinkSync,
} from 'node:fs';
import { isVfsError, VfsError } from '../errors.js';
import { DEFAULT_MAX_NAME_LENGTH, DEFAULT_MAX_PATH_LENGTH } from '../names.js';
import { joinPath, pathSegments } from '../path.js';
import {
  checkCreate,
  checkDelete,
  checkExistingDirectory,
  checkExistingFile,
  checkExists,
  checkFileTarget,
  checkMkdir,
  checkRename,
  checkRmdir,
  type Kind,
} from '../semantics.js';
import { createSyncStorage } from '../storage.js';
import type { DirEntry, FileKind, Metadata, SetTimes, VfsSyncDriver, VfsSyncStorage } from '../types.js';
import {
  appendFd,
  fromNodeError,
  hostCall,
  kindOfStats,
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

/** Options of {@link hostDirectory}. */
export interface HostDirectoryOptions {
  /** When `true`, every write, creation, removal, rename and time change fails with `read-only`. Default `false`. */
  readOnly?: boolean;
}

/** A {@link VfsSyncStorage} over a real host directory, as made by {@link hostDirectory}. */
export interface HostDirectoryStorage extends VfsSyncStorage {
  /** The host directory, with its symlinks resolved. */
  readonly root: string;
  /** Whether the storage refuses every write. The WASI host mounts such a storage read-only. */
  readonly readOnly: boolean;
}

/** Where a storage path lives on the host, as the last lookup found it. */
interface Located {
  /** The host path, every symlink resolved (so opening it follows none, but for a race). */
  host: string;
  kind: Kind;
}

/**
 * A real host directory as storage: storage path `/a/b` is `<root>/a/b`. The WASI host mounts it
 * like any other storage (`mounts: { '/work': hostDirectory('/srv/work') }`), and it passes the
 * conformance kit.
 *
 * **Confinement.** No storage path reaches the host outside `root`. Paths are normalized by core
 * (`..` never climbs above the root). Every lookup walks the path one component at a time with
 * `lstat`; a symlink is followed only when its target, resolved with `realpath`, lies inside
 * `root`; one that leaves it (absolute or relative, directly or through a chain) makes the path
 * `permission-denied`, as does a FIFO, socket or device. Operations then use the resolved host
 * path and open it with `O_NOFOLLOW` (a symlink swapped in for the last component fails instead of
 * being followed) and `O_NONBLOCK` (a FIFO swapped in cannot block), and check what they opened
 * with `fstat`. Listings show files, directories and symlinks that resolve inside the root, as
 * what they point to; escaping symlinks and special files are left out. `delete` and `rename`
 * act on a symlink itself, never on its target. The storage stores no links of its own
 * (`capabilities.symlinks` is `false`): `symlink` is `unsupported`, `stat` and `list` never report
 * kind `symlink` (a host symlink is what it points to), and `readlink` is `invalid-argument` for
 * whatever exists; the WASI host refuses a guest's symlinks and hard links.
 *
 * **Races (what Node cannot guarantee).** Node has no `openat` and no per-component
 * `O_NOFOLLOW`/`RESOLVE_BENEATH`, so between the check and the use there is a window: if
 * *another process* with write access to the host directory replaces a directory component of a
 * checked path with a symlink in that window, the operation can follow it outside `root`. Only
 * the last component is protected (`O_NOFOLLOW`). A guest cannot open that window itself (it can
 * create neither symlinks nor hard links), so the residual risk is a host directory shared with
 * an untrusted host process: do not mount such a directory, or mount a copy. Hard links and bind
 * mounts that already exist inside `root` are not detected: they are the operator's choice.
 *
 * **Other limits.** `list` costs one `stat` per entry (sizes). `append` uses `O_APPEND`, so
 * concurrent appends from several processes never interleave or get lost, but the offset it
 * returns is read back with `fstat` and may be off when another process appended in between
 * (hence `nativeAppend: false`). `write` truncates then writes: not atomic against readers.
 * `accessed` is the host's atime, which the host's mount options (`relatime`) may move on reads.
 * Names are the host's: a segment longer than the host allows (usually 255 bytes) is
 * `name-too-long`; `list` leaves out a host entry whose name is longer than 255 UTF-8 bytes. The
 * store declares `maxPathLength` as what the host's 4,096-byte PATH_MAX leaves below `root`.
 *
 * @param root an existing host directory; resolved once with `realpath`.
 * @throws {VfsError} `not-found` / `not-a-directory` when `root` is not a directory.
 */
export function hostDirectory(root: string, options: HostDirectoryOptions = {}): HostDirectoryStorage {
  const readOnly = options.readOnly === true;
  const base = hostCall(root, () => realpathSync(root));
  if (!hostCall(root, () => statSync(base)).isDirectory())
    throw new VfsError('not-a-directory', undefined, { path: root });

  const inside = (host: string) => host === base || host.startsWith(base === '/' ? '/' : `${base}/`);

  const escapes = (path: string): never => {
    throw new VfsError('permission-denied', 'a symlink leads outside the host directory', { path });
  };

  /** The kind of a host entry, following a symlink only when it stays inside the root. */
  function classify(host: string, stats: Stats, path: string): Located {
    if (!stats.isSymbolicLink()) {
      const kind = kindOfStats(stats);
      if (kind === undefined)
        throw new VfsError('permission-denied', 'not a regular file or directory', { path });
      return { host, kind };
    }
    let target: string;
    try {
      target = realpathSync(host);
    } catch (error) {
      // A dangling symlink: nothing is there, and nothing may be created through it (O_NOFOLLOW).
      if ((error as { code?: string }).code === 'ENOENT') return { host, kind: undefined };
      throw error;
    }
    if (!inside(target)) escapes(path);
    const kind = kindOfStats(statSync(target));
    if (kind === undefined)
      throw new VfsError('permission-denied', 'not a regular file or directory', { path });
    return { host: target, kind };
  }

  /**
   * Walks `path` from the root with lstat. `follow: false` leaves a symlink in the last component
   * unresolved (for delete and rename, which act on the link itself). A missing or non-directory
   * ancestor makes the result `undefined` with the parent's kind set accordingly.
   */
  function locate(path: string, follow = true): { entry: Located; parent: Kind } {
    let current: Located = { host: base, kind: 'directory' };
    let parent: Kind = 'directory';
    const segments = pathSegments(path);
    for (let i = 0; i < segments.length; i++) {
      const last = i === segments.length - 1;
      if (current.kind !== 'directory') {
        // Below a file or a missing entry: nothing exists (the parent is what creation reports).
        return { entry: { host: '', kind: undefined }, parent: last ? current.kind : undefined };
      }
      parent = current.kind;
      const host = `${current.host}/${segments[i]}`;
      let stats: Stats;
      try {
        stats = lstatSync(host);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          current = { host, kind: undefined };
          if (last) break;
          return { entry: { host: '', kind: undefined }, parent: undefined };
        }
        throw error;
      }
      current =
        !follow && last && stats.isSymbolicLink() ? { host, kind: 'file' } : classify(host, stats, path);
    }
    return { entry: current, parent: segments.length === 0 ? 'directory' : parent };
  }

  const writable = (path: string) => {
    if (readOnly) throw new VfsError('read-only', 'the host directory is mounted read-only', { path });
  };

  /** The host path of a file to write, created when missing. */
  function fileTarget(path: string): { host: string; exists: boolean } {
    const { entry, parent } = locate(path);
    return { host: entry.host, exists: checkFileTarget(path, entry.kind, parent) };
  }

  const { O_CREAT, O_TRUNC, O_APPEND, O_EXCL } = constants;

  const driver: VfsSyncDriver = {
    // The host's PATH_MAX (4,096 bytes with the NUL) counts the root's own path too.
    limits: { maxPathLength: Math.min(DEFAULT_MAX_PATH_LENGTH, 4095 - Buffer.byteLength(base)) },
    capabilities: {
      atomicRename: true,
      atomicDirectoryRename: true,
      persistent: true,
      nativeAppend: false,
      exclusiveCreate: true,
    },

    read(path) {
      const { entry } = locate(path);
      checkExistingFile(path, entry.kind);
      return withFd(entry.host, path, READ, 'file', (fd) => new Uint8Array(readFileSync(fd)));
    },

    readAt(path, offset, length) {
      const { entry } = locate(path);
      checkExistingFile(path, entry.kind);
      return withFd(entry.host, path, READ, 'file', (fd, stats) =>
        readFd(fd, offset, Math.max(0, Math.min(length, stats.size - offset))),
      );
    },

    write(path, data) {
      writable(path);
      const { host } = fileTarget(path);
      withFd(host, path, WRITE | O_CREAT | O_TRUNC, 'file', (fd) => writeFd(fd, data, 0));
    },

    writeAt(path, offset, data) {
      writable(path);
      const { host } = fileTarget(path);
      withFd(host, path, WRITE | O_CREAT, 'file', (fd, stats) => writeAt(fd, stats, offset, data));
    },

    append(path, data) {
      writable(path);
      const { host } = fileTarget(path);
      return withFd(host, path, WRITE | O_CREAT | O_APPEND, 'file', (fd, before) =>
        appendFd(fd, before, data),
      );
    },

    create(path) {
      writable(path);
      const { entry, parent } = locate(path, false);
      checkCreate(path, entry.kind, parent);
      // The host's own O_EXCL: another process creating the same file at the same instant gets
      // EEXIST (already-exists), and so does a symlink planted there meanwhile.
      closeSync(hostCall(path, () => openSync(entry.host, WRITE | O_CREAT | O_EXCL, 0o666)));
    },

    setSize(path, size) {
      writable(path);
      const { entry } = locate(path);
      checkExistingFile(path, entry.kind);
      withFd(entry.host, path, WRITE, 'file', (fd) => ftruncateSync(fd, size));
    },

    stat(path): Metadata {
      const { entry } = locate(path);
      checkExists(path, entry.kind);
      return withFd(entry.host, path, READ, entry.kind, (_fd, stats) =>
        toMetadata(stats, entry.kind as FileKind),
      );
    },

    list(path): DirEntry[] {
      const { entry } = locate(path);
      checkExistingDirectory(path, entry.kind);
      const entries: DirEntry[] = [];
      for (const name of hostCall(path, () => readdirSync(entry.host))) {
        // A host may allow longer names (macOS: 255 UTF-16 units); storage never hands one out.
        if (name.length * 3 > DEFAULT_MAX_NAME_LENGTH && Buffer.byteLength(name) > DEFAULT_MAX_NAME_LENGTH)
          continue;
        const child = joinPath(path, name);
        try {
          const host = `${entry.host}/${name}`;
          const found = classify(host, lstatSync(host), child);
          if (found.kind === undefined) continue;
          entries.push({
            name,
            kind: found.kind,
            size: found.kind === 'file' ? statSync(found.host).size : 0,
          });
        } catch (error) {
          // Escaping symlinks, special files and entries removed meanwhile are not listed.
          if (isVfsError(error) || (error as { code?: string }).code === 'ENOENT') continue;
          throw error;
        }
      }
      return entries;
    },

    exists(path) {
      try {
        return locate(path).entry.kind !== undefined;
      } catch (error) {
        const translatedError = fromNodeError(error, path);
        if (translatedError.code !== 'io') return false;
        throw translatedError;
      }
    },

    mkdir(path) {
      writable(path);
      const { entry, parent } = locate(path, false);
      checkMkdir(path, entry.kind, parent);
      mkdirSync(entry.host);
    },

    rmdir(path) {
      writable(path);
      const { entry } = locate(path, false);
      const hasEntries = entry.kind === 'directory' && readdirSync(entry.host).length > 0;
      checkRmdir(path, entry.kind, hasEntries);
      rmdirSync(entry.host);
    },

    delete(path) {
      writable(path);
      const { entry } = locate(path, false);
      checkDelete(path, entry.kind);
      unlinkSync(entry.host);
    },

    rename(from, to) {
      writable(from);
      const source = locate(from, false).entry;
      const target = locate(to, false);
      if (checkRename(from, to, source.kind, target.entry.kind, target.parent) === 'noop') return;
      renameSync(source.host, target.entry.host);
    },

    setTimes(path, times: SetTimes) {
      writable(path);
      const { entry } = locate(path);
      checkExists(path, entry.kind);
      withFd(entry.host, path, READ, entry.kind, (fd, stats) => setHostTimes(fd, stats, times));
    },
  };
  return Object.assign(createSyncStorage(translated(driver)), { root: base, readOnly });
}
