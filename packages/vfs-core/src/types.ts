import { VfsError } from './errors.js';

/**
 * What a path names. A `symlink` is a symbolic link: an entry holding a target path, which storage
 * keeps verbatim and never follows (see {@link VfsStorage.symlink}); the WASI host resolves links.
 */
export type FileKind = 'file' | 'directory' | 'symlink';

/**
 * What {@link VfsStorage.stat} returns. Times are milliseconds since the Unix epoch (fractions
 * allowed); backends store at least millisecond precision. A double of milliseconds resolves about
 * 244 ns at today's dates: a time set in nanoseconds is also given exactly, in `modifiedNs` /
 * `accessedNs`, where the backend declares {@link Capabilities.nanosecondTimes}. Read a time in
 * nanoseconds with {@link timeNs}, which takes either.
 */
export interface Metadata {
  /** `file`, `directory` or `symlink` (`stat` never follows a link). */
  kind: FileKind;
  /** Size in bytes; `0` for directories; a symlink's is its target's length in UTF-8 bytes. */
  size: number;
  /** When the entry was created. */
  created: number;
  /**
   * When the file's content last changed (write, writeAt, writeExtents, append, setSize) or was set
   * by {@link VfsStorage.setTimes} (or `writeExtents`' `modified` option). For directories: creation time, unless set; backends may also move
   * it when entries change, so callers must not rely on either.
   */
  modified: number;
  /**
   * Last access time. Reads do not move it (like the `noatime` mount option: a write per read would
   * make every read cost a write); it is set at creation, on content changes and by `setTimes`.
   */
  accessed: number;
  /**
   * The modification time in nanoseconds since the epoch, exactly as {@link VfsStorage.setTimes}
   * was given it as a `bigint`, on a backend that declares {@link Capabilities.nanosecondTimes},
   * while that time stands (anything that moves `modified` again drops it). `modified` is then
   * `nsToMs(modifiedNs)`. Absent otherwise.
   */
  modifiedNs?: bigint;
  /** The access time in nanoseconds, as {@link Metadata.modifiedNs} is the modification time's. */
  accessedNs?: bigint;
  /**
   * The file's (or directory's) identity in its store, where the backend has one: an opaque string
   * that stays the same while the file lives (writes, size changes and renames keep it), that no
   * other file of the store ever had or gets, and that every storage object on the store reports
   * alike. SQLite and PostgreSQL give the inode number, memory a number per node. Absent where the
   * backend has none (S3, whose files are told apart by `created`, gives one only to a file once it
   * has been hard-linked: its inode's): see {@link WriteExtentsOptions.ifFile}. Every name of a file (see {@link VfsStorage.link}) gives
   * the same `id`.
   */
  id?: string;
  /**
   * How many names (hard links, see {@link VfsStorage.link}) the file has, on a backend that
   * declares {@link Capabilities.hardLinks}: 1 for a file with one name, given for files and
   * symbolic links. Absent for directories; a store that does not declare hard links may leave it
   * out (its files then have one name each, or names made beside it that a wrapper passes through).
   */
  linkCount?: number;
}

/**
 * Which file a write through an open file means: `id` and `created` as `stat` returned them when the
 * file was opened. See {@link WriteExtentsOptions.ifFile}.
 */
export type FileIdentity = Pick<Metadata, 'id' | 'created'>;

/**
 * Whether `meta` (what is at a path now, `undefined` for nothing) is the file `expected` names: a
 * file with the same `id`, or, where `expected` has no `id`, created at the same time.
 */
export function isSameFile(
  meta: Pick<Metadata, 'kind' | 'id' | 'created'> | undefined,
  expected: FileIdentity,
): boolean {
  if (meta?.kind !== 'file') return false;
  return expected.id !== undefined ? meta.id === expected.id : meta.created === expected.created;
}

/**
 * Fails a write whose {@link WriteExtentsOptions.ifFile} precondition does not hold, as every
 * backend and core's emulation report it: `not-found` (the file the writer opened is gone from the
 * path, deleted or replaced, as Linux's NFS client reports ESTALE), never creating anything.
 * @throws {VfsError} `not-found` unless {@link isSameFile}
 */
export function checkIfFile(
  path: string,
  meta: Pick<Metadata, 'kind' | 'id' | 'created'> | undefined,
  expected: FileIdentity | undefined,
): void {
  if (expected === undefined || isSameFile(meta, expected)) return;
  throw new VfsError(
    'not-found',
    meta === undefined
      ? 'the file was deleted since it was opened (by another storage object or process)'
      : 'the file was replaced since it was opened (by another storage object or process)',
    { path },
  );
}

/** One entry of {@link VfsStorage.list}. */
export interface DirEntry {
  /** The entry's name within its directory (one path segment). */
  name: string;
  /** `file`, `directory` or `symlink`. */
  kind: FileKind;
  /** Size in bytes, as {@link Metadata.size}. */
  size: number;
}

/**
 * One extent of {@link VfsStorage.writeExtents}: `data` to write at `offset`, as `writeAt` takes
 * them.
 */
export type WriteExtent = readonly [offset: number, data: Uint8Array];

/** Options of {@link VfsStorage.writeExtents}. */
export interface WriteExtentsOptions {
  /**
   * The file's new modification (and access) time, milliseconds since the Unix epoch, instead of
   * the current time: when the bytes were really written (the sync bridge passes the time of the
   * last buffered write, which `stat` showed meanwhile). Default: now.
   */
  modified?: number;
  /**
   * Write only into this file (`stat`'s `id` and `created` when the writer opened it): when nothing
   * is at `path`, or another file is (the file was deleted, or replaced by a rename or a new file,
   * through any storage object on the store), the call fails with `not-found` and changes nothing;
   * it never creates a file, nor writes into the one that took the path. The WASI host passes it for
   * every write through a descriptor, so a file another host or process unlinked never comes back.
   *
   * A file is recognized by its `id` where `stat` gives one, else by its creation time (a file
   * replaced by one created within the same millisecond then goes undetected). The check is atomic
   * with the write where the backend declares {@link Capabilities.nativeIfFile} (memory, SQLite,
   * PostgreSQL, S3 in conditional mode); elsewhere core checks it with a `stat` just before the write,
   * and a replacement in between goes undetected. Default: none (the write creates a missing file).
   */
  ifFile?: FileIdentity;
}

/**
 * Times to set with {@link VfsStorage.setTimes}; an omitted member is left unchanged. A `number` is
 * milliseconds since the Unix epoch; a `bigint` is nanoseconds since the epoch (a signed 64-bit
 * value), which a backend declaring {@link Capabilities.nanosecondTimes} stores exactly and `stat`
 * gives back in `modifiedNs` / `accessedNs`. Elsewhere core passes the backend `msAtOrBefore(ns)`,
 * the latest double of milliseconds at or before it (so a time set earlier is never stored as the
 * same double).
 */
export interface SetTimes {
  /** New access time: milliseconds (`number`) or nanoseconds (`bigint`) since the Unix epoch. */
  accessed?: number | bigint;
  /** New modification time: milliseconds (`number`) or nanoseconds (`bigint`) since the Unix epoch. */
  modified?: number | bigint;
}

/**
 * What a backend promises beyond the contract. A flag left out of a backend's declaration takes its
 * default from {@link DEFAULT_CAPABILITIES} (always the weaker promise), so adding a flag never
 * breaks an existing backend. The conformance kit and callers read these; they never guess.
 */
export interface Capabilities {
  /**
   * The backend implements `append` itself, atomically, against every other writer of the same
   * store (other processes included). When `false`, core emulates `append` as `stat` + `writeAt`,
   * serialized per path within one storage object only. Default `false`.
   */
  nativeAppend: boolean;
  /**
   * The backend implements `create` itself, exclusively against every other writer of the same
   * store (other processes included): of two creations of one path, exactly one succeeds. When
   * `false`, core emulates `create` as `exists` + an empty `writeAt`, which is exclusive within one
   * storage object only. Default `false`.
   */
  exclusiveCreate: boolean;
  /** Renaming a file is one atomic step: observers see the old or the new name, never both or neither. Default `false`. */
  atomicRename: boolean;
  /**
   * Renaming a directory (with its whole subtree) is one atomic step. Where `false`, an interrupted
   * directory rename must still be recoverable as the backend documents. Default `false`.
   */
  atomicDirectoryRename: boolean;
  /** Data outlives the process (it is written to a file, a database or an object store). Default `false`. */
  persistent: boolean;
  /** Several processes (or storage objects) may use the same store at once without losing updates. Default `false`. */
  multiProcess: boolean;
  /**
   * The backend checks `writeExtents`' {@link WriteExtentsOptions.ifFile} itself, atomically with
   * the write, against every writer of the store. When `false`, core checks it with a `stat` just
   * before calling the driver (which then never sees the option). Default `false`.
   */
  nativeIfFile: boolean;
  /**
   * The backend stores symbolic links ({@link VfsStorage.symlink}, {@link VfsStorage.readlink}).
   * When `false`, `symlink` fails with `unsupported` and nothing is ever a link; the WASI host then
   * answers a guest's `symlink` with `unsupported`. Default `false`.
   */
  symlinks: boolean;
  /**
   * The backend stores times set in nanoseconds exactly: {@link VfsStorage.setTimes} receives a
   * `bigint` time as given, and `stat` returns it in {@link Metadata.modifiedNs} /
   * {@link Metadata.accessedNs} (with `modified` / `accessed` = `nsToMs` of it) until the time moves
   * again. When `false`, core converts such a time to milliseconds (`msAtOrBefore`) before the driver
   * sees it, and the times resolve what a double of milliseconds can (about 244 ns today). Default
   * `false`.
   */
  nanosecondTimes: boolean;
  /**
   * The backend stores hard links ({@link VfsStorage.link}): one file may have several names,
   * which share its content, size, times and `id`, and `stat` gives {@link Metadata.linkCount}.
   * When `false`, `link` fails with `unsupported`; the WASI host then answers a guest's `link`
   * with `not-permitted`, as POSIX file systems without hard links do. Default `false`.
   */
  hardLinks: boolean;
}

/** The defaults of every {@link Capabilities} flag: the weakest promise. */
export const DEFAULT_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  nativeAppend: false,
  exclusiveCreate: false,
  atomicRename: false,
  atomicDirectoryRename: false,
  persistent: false,
  multiProcess: false,
  nativeIfFile: false,
  symlinks: false,
  nanosecondTimes: false,
  hardLinks: false,
});

/** Fills the flags a backend left out with their defaults. */
export function resolveCapabilities(declared: Partial<Capabilities> = {}): Capabilities {
  return { ...DEFAULT_CAPABILITIES, ...declared };
}

/**
 * Limits a storage enforces per store, as declared in {@link VfsStorage.limits}. Exceeding one fails
 * the operation before anything changed: `quota-exceeded` for sizes and counts, `name-too-long` for
 * paths. Only growth is refused: an operation that does not increase a quantity (overwriting in place,
 * shrinking, deleting, renaming to a name no longer) always works, even in a store already over a
 * limit. A member left out is unlimited, except the two name limits below.
 *
 * **Names and paths are never unlimited.** The guards of {@link createStorage} and
 * {@link createSyncStorage} (so every backend and every mount) refuse, with `name-too-long` and
 * before anything else, to create (write, writeAt, append or create a new file, mkdir, a rename
 * target) a name longer than {@link StorageLimits.maxNameLength} or a path longer than
 * {@link StorageLimits.maxPathLength}, taking the values the driver declares, else 255 and 4,096
 * UTF-8 bytes. A path over the limits that already exists is not refused (it creates nothing);
 * lookups are never checked: a name that could not be created is simply `not-found`. A wrapper such
 * as `limits()` can only lower these limits; raising them takes a driver that declares higher ones.
 *
 * **Names count in `maxBytes`**, so that long names and empty directories cannot grow a limited
 * store without bound: creating a file or a directory adds its name's bytes, a rename adds the new
 * name's bytes less the old one's (only the entry's own name: a moved directory's entries keep
 * theirs), and replacing a file by rename frees the replaced file's name and size.
 */
export interface StorageLimits {
  /**
   * Most bytes the store may hold, its usage: the UTF-8 bytes of the name (last path segment) of
   * every entry but the root, files, directories and links alike, plus the size of every file and
   * of every link (its target's UTF-8 bytes).
   */
  readonly maxBytes?: number;
  /** Most files the store may hold (symbolic links count as files, directories do not). */
  readonly maxFiles?: number;
  /** Largest size of one file, in bytes. */
  readonly maxFileSize?: number;
  /**
   * Longest path, in UTF-8 bytes of the normalized absolute path, that an operation may create: a
   * new file (write, writeAt, append), a directory (mkdir) or a rename target, including the paths a
   * moved directory's entries get. Core's guards apply 4,096 when the driver declares none.
   */
  readonly maxPathLength?: number;
  /**
   * Longest name (one path segment), in UTF-8 bytes, that an operation may create, as for
   * `maxPathLength`. Core's guards apply 255 when the driver declares none.
   */
  readonly maxNameLength?: number;
}

/**
 * The storage contract: a tree of directories and byte files that a backend keeps. Every operation
 * is asynchronous; {@link VfsSyncStorage} is the synchronous twin with the same semantics.
 *
 * **Paths** are absolute and `/`-separated. Storage objects made by {@link createStorage} normalize
 * them first (`.`/`..`/empty segments resolved, trailing slash dropped, see `normalizePath`): a
 * relative path, a NUL, a lone UTF-16 surrogate, a non-string or a `..` above the root is
 * `invalid-path`, never clamped. Names and paths an operation creates are bounded (255 and 4,096
 * UTF-8 bytes by default, `name-too-long`; see {@link StorageLimits}). The
 * root `/` always exists and can be neither removed nor renamed (`busy`).
 *
 * **Offsets, lengths and sizes** must be non-negative safe integers, else `invalid-offset`.
 * **Data** must be a `Uint8Array` (a `Buffer` is one), else `invalid-argument`. Storage never keeps
 * a reference to a caller's buffer, and callers may keep or change the arrays it returns.
 *
 * **Symbolic links** are entries of their own kind that storage never follows: `stat`, `list`,
 * `exists`, `delete`, `rename` and `setTimes` act on the link itself; asking a link for a file's
 * data (`read`, `readAt`, `write`, `writeAt`, `writeExtents`, `append`, `setSize`) is
 * `is-a-symlink`; a link where a directory is needed is what a file is there: `not-a-directory`
 * for a creation's parent, `list` and `rmdir`, `not-found` for a lookup below it.
 *
 * **Errors** are always {@link VfsError}s; on any error nothing was changed. The contract fixes which
 * code wins when several apply, so every backend reports the same:
 * - a lookup of a path that does not exist is `not-found` (whatever its ancestors are);
 * - a creation (write, writeAt, append, mkdir, rename target) checks only the direct parent:
 *   missing is `not-found`, a file is `not-a-directory`.
 *
 * **Concurrency**: each operation is atomic with respect to the others on the same storage object;
 * {@link Capabilities} tells what holds across processes.
 */
export interface VfsStorage {
  /** What this backend promises beyond the contract (every flag filled in). */
  readonly capabilities: Capabilities;

  /**
   * The synchronous twin of this storage, when the backend can serve calls synchronously (memory,
   * SQLite). The WASI host uses it directly; otherwise it goes through the sync bridge.
   */
  readonly sync?: VfsSyncStorage;

  /**
   * The limits this storage enforces ({@link StorageLimits}), when it declares any: a backend's own
   * options or the `limits` wrapper. Wrappers that keep sizes and paths pass their inner storage's
   * declaration through. The conformance kit tests exactly the declared limits. Default: none.
   */
  readonly limits?: StorageLimits;

  /**
   * The whole content of a file.
   * @throws `not-found`; `is-a-directory`
   */
  read(path: string): Promise<Uint8Array>;

  /**
   * Up to `length` bytes from `offset`: fewer at the end of the file, none past it (never an error).
   * @throws `not-found`; `is-a-directory`; `invalid-offset`
   */
  readAt(path: string, offset: number, length: number): Promise<Uint8Array>;

  /**
   * Creates the file, or replaces its whole content. The parent must exist.
   * @throws `not-found` / `not-a-directory` (parent); `is-a-directory` (path is a directory or `/`);
   *   `quota-exceeded`; `read-only`
   */
  write(path: string, data: Uint8Array): Promise<void>;

  /**
   * Writes `data` at `offset`, overwriting in place and extending the file as needed; a gap
   * between the old end and `offset` reads as zeros. Creates the file if missing (parent must exist).
   * @throws as {@link VfsStorage.write}, plus `invalid-offset`
   */
  writeAt(path: string, offset: number, data: Uint8Array): Promise<void>;

  /**
   * Writes `extents` into one file as one operation: what `writeAt` of each extent in the order
   * given would leave (where extents overlap the later one wins; a gap reads as zeros). Creates the
   * file if missing (the parent must exist), even with nothing to write; an extent without data
   * writes nothing and does not extend the file. The file's modification and access times become
   * `options.modified`, else the current time. Costs what it touches: each chunk the extents touch
   * is stored once, whatever their number (the sync bridge stores all the buffered writes of a file
   * with one call).
   *
   * **All or nothing.** Limits are checked against the file's final size before anything is
   * written, so a refused call changes nothing. SQLite and PostgreSQL store the whole call in one
   * transaction and memory in one step, so other readers see all of the extents or none; S3 uploads
   * each touched chunk once and then commits the file once. A driver may leave it out: core then
   * writes each run of extents (touching ones merged) with `writeAt`, then sets the time with
   * `setTimes`, so a failure part-way keeps the runs written so far and other readers may see them
   * meanwhile.
   *
   * With `options.ifFile`, it writes only into that file, else fails with `not-found` (see
   * {@link WriteExtentsOptions.ifFile}).
   * @throws as {@link VfsStorage.writeAt}; `not-found` (`ifFile` is not the file at `path`);
   *   `invalid-argument` (`extents` is not an array of `[offset, data]` pairs, `modified` is not a
   *   finite number, `ifFile` is not an identity)
   */
  writeExtents(path: string, extents: readonly WriteExtent[], options?: WriteExtentsOptions): Promise<void>;

  /**
   * Appends `data` at the current end of the file, atomically, and returns the offset it was
   * written at. Creates the file if missing (parent must exist). Appending nothing creates a
   * missing file too, and marks an existing one modified (the WASI host's `O_CREAT|O_TRUNC` open
   * relies on both). Concurrent appends through one
   * storage object never interleave or get lost; across processes see
   * {@link Capabilities.nativeAppend}.
   * @throws as {@link VfsStorage.write}
   */
  append(path: string, data: Uint8Array): Promise<number>;

  /**
   * Creates an empty file where nothing is, or fails: the file of `O_CREAT | O_EXCL`, the lock
   * file's primitive. Of several creations of one path through one storage object exactly one
   * succeeds; across processes see {@link Capabilities.exclusiveCreate}. The parent must exist.
   * @throws `already-exists` (a file or a directory at `path`, the root included); `not-found` /
   *   `not-a-directory` (parent); `quota-exceeded`; `read-only`
   */
  create(path: string): Promise<void>;

  /**
   * Truncates the file to `size` bytes or extends it with zeros.
   * @throws `not-found`; `is-a-directory`; `invalid-offset`; `quota-exceeded`
   */
  setSize(path: string, size: number): Promise<void>;

  /**
   * Kind, size, times and, where the backend has one, identity (`id`) of a file or directory.
   * @throws `not-found`
   */
  stat(path: string): Promise<Metadata>;

  /**
   * The entries of a directory (name, kind, size), in no particular order; one round trip in
   * persistent backends, never one per entry.
   * @throws `not-found`; `not-a-directory`
   */
  list(path: string): Promise<DirEntry[]>;

  /** Whether a file or directory exists at `path`. Throws only for an invalid path. */
  exists(path: string): Promise<boolean>;

  /**
   * Creates one directory; the parent must exist (not recursive).
   * @throws `already-exists` (anything at `path`, the root included); `not-found` / `not-a-directory` (parent)
   */
  mkdir(path: string): Promise<void>;

  /**
   * Removes an empty directory.
   * @throws `busy` (the root); `not-found`; `not-a-directory`; `directory-not-empty`
   */
  rmdir(path: string): Promise<void>;

  /**
   * Deletes a file, or a symbolic link (never its target).
   * @throws `not-found`; `is-a-directory`
   */
  delete(path: string): Promise<void>;

  /**
   * Moves a file, a symbolic link (itself, never its target) or a whole directory tree. A file or
   * link replaces an existing file or link at `to`; a directory is never merged into an existing
   * one. Renaming a path onto itself does nothing. Checks, in order: `busy` (either path is the
   * root); `not-found` (`from`); `invalid-path` (a directory into its own subtree); `not-found` /
   * `not-a-directory` (parent of `to`); then, when `to` exists, `is-a-directory` (file or link onto
   * directory), `not-a-directory` (directory onto file or link) or `already-exists` (directory onto
   * directory).
   */
  rename(from: string, to: string): Promise<void>;

  /**
   * Sets the access and/or modification time of a file, directory or symbolic link (the link's
   * own, never its target's).
   * @throws `not-found`; `invalid-argument` (a time that is not a finite number)
   */
  setTimes(path: string, times: SetTimes): Promise<void>;

  /**
   * Creates at `path` a symbolic link holding `target`: any string of 1 to 4,096 UTF-8 bytes
   * without NUL, absolute or relative, stored verbatim and never resolved or checked against what
   * exists (a dangling link is fine). Note the order: the new entry first, as in every operation
   * here (Node's `fs.symlink` and POSIX take the target first). The parent must exist. The link
   * counts as a file in `maxFiles`, and its name and target in `maxBytes`.
   * @throws `already-exists` (anything at `path`); `not-found` / `not-a-directory` (parent);
   *   `invalid-argument` (a bad target); `quota-exceeded`; `read-only`; `unsupported` (the backend
   *   does not declare {@link Capabilities.symlinks})
   */
  symlink(path: string, target: string): Promise<void>;

  /**
   * The target of the symbolic link at `path`, as {@link VfsStorage.symlink} stored it.
   * @throws `not-found`; `invalid-argument` (a file or directory is at `path`: not a link)
   */
  readlink(path: string): Promise<string>;

  /**
   * Makes `to` one more name of the file (or symbolic link) at `from`: a hard link, as POSIX
   * `link(from, to)` makes without following a link at `from`. Both names then share one content,
   * size, times and `id`; a write, `setSize` or `setTimes` through either shows through the other,
   * and `stat` of either gives the number of names in {@link Metadata.linkCount}. `delete` (or a
   * rename onto it) removes one name; the data goes with the last. Renaming a name onto another
   * name of the same file does nothing (POSIX). Directories cannot be linked. The parent of `to`
   * must exist. The new name counts in `maxBytes` (its name's bytes only: the content is not stored
   * again) and not in `maxFiles`.
   * @throws in this order: `not-found` (`from`); `not-found` / `not-a-directory` (parent of `to`);
   *   `already-exists` (anything at `to`, the root included, another name of the same file too);
   *   `is-a-directory` (`from` is a directory); `quota-exceeded`; `read-only`; `unsupported` (the
   *   backend does not declare {@link Capabilities.hardLinks})
   */
  link(from: string, to: string): Promise<void>;

  /** Releases what the storage holds (connections, handles). Calls after `close` are not allowed. */
  close(): Promise<void>;
}

/** The synchronous twin of {@link VfsStorage}: the same operations, semantics and errors. */
export interface VfsSyncStorage {
  readonly capabilities: Capabilities;
  /** As {@link VfsStorage.limits}. */
  readonly limits?: StorageLimits;
  read(path: string): Uint8Array;
  readAt(path: string, offset: number, length: number): Uint8Array;
  /**
   * `readAt` that may return a view of the storage's own memory instead of a copy, for a caller
   * that only copies the bytes somewhere at once (the WASI host, into the guest's memory). The view
   * must not be modified and is valid only until the next call on the storage. Storage that keeps
   * its bytes in JS memory (memory) implements it to spare an allocation and a copy per read;
   * others leave it out and callers use `readAt`.
   */
  readAtView?(path: string, offset: number, length: number): Uint8Array;
  write(path: string, data: Uint8Array): void;
  writeAt(path: string, offset: number, data: Uint8Array): void;
  writeExtents(path: string, extents: readonly WriteExtent[], options?: WriteExtentsOptions): void;
  append(path: string, data: Uint8Array): number;
  create(path: string): void;
  setSize(path: string, size: number): void;
  stat(path: string): Metadata;
  list(path: string): DirEntry[];
  exists(path: string): boolean;
  mkdir(path: string): void;
  rmdir(path: string): void;
  delete(path: string): void;
  rename(from: string, to: string): void;
  setTimes(path: string, times: SetTimes): void;
  symlink(path: string, target: string): void;
  readlink(path: string): string;
  link(from: string, to: string): void;
  /**
   * Stores what a caching layer holds back (for `path` only, when given), so that a crash of this
   * process cannot lose it; with `{ durable: true }`, also makes everything written so far survive
   * an OS crash or power loss (`fsync`). Storage that stores each operation before it returns and
   * whose every commit is already durable (memory, which has nothing to make durable) leaves it
   * out; the sync bridge stores its buffered writes; SQLite, whose commits are not fsynced by
   * default, implements the durable form as one fsynced commit.
   *
   * The WASI host calls `flush(path)` when the guest closes the last descriptor of a written file,
   * and `flush(path, { durable: true })` on `sync` and `sync-data`, after every write of an
   * `O_SYNC`/`O_DSYNC` descriptor, and (without a path) at the end of an execution.
   */
  flush?(path?: string, options?: FlushOptions): void;
  close(): void;
}

/**
 * What a backend implements: the {@link VfsStorage} operations, called only with normalized paths
 * and validated offsets, sizes and data (core checks them once, in {@link createStorage}).
 * `append` and `create` may be left out (core then emulates them, see
 * {@link Capabilities.nativeAppend} and {@link Capabilities.exclusiveCreate}), as may
 * `writeExtents` (emulated with `writeAt`, see {@link VfsStorage.writeExtents}) and `close`, and
 * `symlink` / `readlink` by a backend that stores no links (core then answers `unsupported`, and
 * `invalid-argument` for whatever exists), and `link` by one without hard links (`unsupported`). Errors
 * a driver throws that are not {@link VfsError}s become `io` errors.
 */
export type VfsDriver = Omit<
  VfsStorage,
  'capabilities' | 'append' | 'create' | 'writeExtents' | 'close' | 'sync' | 'symlink' | 'readlink' | 'link'
> & {
  readonly capabilities?: Partial<Capabilities>;
  symlink?(path: string, target: string): Promise<void>;
  readlink?(path: string): Promise<string>;
  link?(from: string, to: string): Promise<void>;
  append?(path: string, data: Uint8Array): Promise<number>;
  create?(path: string): Promise<void>;
  writeExtents?(path: string, extents: readonly WriteExtent[], options?: WriteExtentsOptions): Promise<void>;
  close?(): Promise<void>;
};

/** The synchronous {@link VfsDriver}. */
export type VfsSyncDriver = Omit<
  VfsSyncStorage,
  'capabilities' | 'append' | 'create' | 'writeExtents' | 'close' | 'symlink' | 'readlink' | 'link'
> & {
  readonly capabilities?: Partial<Capabilities>;
  symlink?(path: string, target: string): void;
  readlink?(path: string): string;
  link?(from: string, to: string): void;
  append?(path: string, data: Uint8Array): number;
  create?(path: string): void;
  writeExtents?(path: string, extents: readonly WriteExtent[], options?: WriteExtentsOptions): void;
  close?(): void;
};

/** Options of {@link VfsSyncStorage.flush}. */
export interface FlushOptions {
  /** Also make everything written so far survive an OS crash or power loss (the guest's `fsync`). */
  durable?: boolean;
}

/** The names of the storage operations, for wrappers and test tools. */
export type VfsOperation = Exclude<keyof VfsSyncStorage, 'capabilities' | 'flush' | 'limits' | 'readAtView'>;
