import {
  baseName,
  type Capabilities,
  checkCreate,
  checkData,
  checkDelete,
  checkExistingDirectory,
  checkExistingFile,
  checkExists,
  checkFileTarget,
  checkIfFile,
  checkLink,
  checkReadlink,
  checkRename,
  checkRmdir,
  checkSymlink,
  chunkCount,
  chunkLength,
  chunkPieces,
  chunkSpans,
  coalesceExtents,
  createSyncStorage,
  type DirEntry,
  exactNs,
  type FileIdentity,
  type FileKind,
  type FlushOptions,
  type Metadata,
  parentPath,
  readRange,
  type SetTimes,
  type StorageLimits,
  storedTime,
  toAsync,
  VfsError,
  type VfsStorage,
  type VfsSyncDriver,
  type VfsSyncStorage,
} from '@eryx/vfs-core';
import Database from 'better-sqlite3';
import { translateError } from './errors.js';
import { retryBusy, SQLITE_BUSY_WAIT } from './retry.js';
import { checkSchema, migrate } from './schema.js';

/** Options of {@link sqlite}. Give exactly one of `path` and `database`. */
export interface SqliteOptions {
  /** The database file to open (created if missing), or `':memory:'`. */
  path?: string;
  /** An open better-sqlite3 connection to use instead; {@link VfsStorage.close} leaves it open. */
  database?: Database.Database;
  /** The filesystem within the database; each namespace is an independent tree. Default `'default'`. */
  namespace?: string;
  /**
   * Bytes per stored chunk, fixed when the namespace is created (an existing namespace keeps its
   * own; a different explicit value is `invalid-argument`). Default `65536`.
   */
  chunkSize?: number;
  /**
   * The namespace's limits ({@link StorageLimits}: `maxBytes`, `maxFiles`, `maxFileSize`,
   * `maxPathLength`), enforced in each operation's transaction. The same option on every backend.
   * `maxBytes` bounds file sizes and link targets plus the UTF-8 length of every entry's name, and
   * `maxFiles` counts symbolic links as files; a file with several names (hard links) counts once,
   * its size once, and each of its names. Default: none.
   */
  limits?: StorageLimits;
  /** @deprecated Use `limits: { maxBytes }`; `limits` wins where both are given. */
  maxBytes?: number;
  /** @deprecated Use `limits: { maxFiles }`. */
  maxFiles?: number;
  /** @deprecated Use `limits: { maxFileSize }`. */
  maxFileSize?: number;
  /** @deprecated Use `limits: { maxPathLength }`. */
  maxPathLength?: number;
  /** How long an operation waits for another connection's lock before failing with `busy`, in ms. Default `5000`. */
  busyTimeout?: number;
  /**
   * SQLite's `synchronous` pragma (see the README's Durability). `'normal'` (default): an operation
   * that returned survives a crash of the process, and survives power loss once a durable
   * `flush` (the guest's `fsync`) returned; operations not yet flushed may be lost then (never
   * torn). `'full'`: every operation is fsynced before it returns, so survives power loss at once.
   */
  synchronous?: 'full' | 'normal';
  /** Create or upgrade the schema on open ({@link migrate}). When `false`, the schema must be current. Default `true`. */
  migrate?: boolean;
  /** Open the database file read-only (with `path`); every write fails with `read-only`. Default `false`. */
  readOnly?: boolean;
}

/** What {@link SqliteStorage.info} reports about the namespace. */
export interface NamespaceInfo {
  /** The namespace name. */
  namespace: string;
  /** Bytes per stored chunk. */
  chunkSize: number;
  /** Number of files, symbolic links included (directories not counted), each once whatever its number of names. */
  files: number;
  /**
   * The usage `maxBytes` bounds: the sum of all file sizes (logical: a sparse gap counts) and link
   * sizes (their targets' UTF-8 length), each file once, plus the UTF-8 length of every entry's name
   * (files, directories and links, every hard link too, the root excluded).
   */
  bytes: number;
}

/** Members shared by the async and sync SQLite storage. */
interface SqliteExtras {
  /** The connection in use (for probes and maintenance; do not write the eryx-vfs tables). */
  readonly db: Database.Database;
  /** The namespace this storage serves. */
  readonly namespace: string;
  /** Bytes per stored chunk in this namespace. */
  readonly chunkSize: number;
  /** The limits given in the options, enforced in each operation's transaction; `undefined` when none. */
  readonly limits?: StorageLimits;
}

/** The synchronous SQLite storage. */
export interface SqliteSyncStorage extends VfsSyncStorage, SqliteExtras {
  /** Usage of the namespace, read in one query. */
  info(): NamespaceInfo;
  /**
   * With `{ durable: true }`, makes every operation that returned so far survive an OS crash or
   * power loss: one small commit at `synchronous = FULL`, whose fsync of the WAL covers all earlier
   * commits (nothing when this connection committed nothing since, or at `synchronous = 'full'`,
   * where every commit is durable already). Without it there is nothing to do: each operation is
   * committed before it returns. The path does not matter. The WASI host calls it at the guest's
   * `fsync` and at the end of each execution.
   * @throws {VfsError} `busy` inside a transaction the caller opened on the connection
   */
  flush(path?: string, options?: FlushOptions): void;
}

/** What {@link sqlite} returns: a {@link VfsStorage} whose `sync` twin is always there. */
export interface SqliteStorage extends VfsStorage, SqliteExtras {
  /** The synchronous twin: the same namespace through the same connection. */
  readonly sync: SqliteSyncStorage;
  /** Usage of the namespace, read in one query. */
  info(): Promise<NamespaceInfo>;
  /** {@link SqliteSyncStorage.flush}: `flush(undefined, { durable: true })` is the durability barrier. */
  flush(path?: string, options?: FlushOptions): Promise<void>;
}

/** The default {@link SqliteOptions.chunkSize}. */
export const DEFAULT_CHUNK_SIZE = 65536;
const MAX_CHUNK_SIZE = 64 * 1024 * 1024;

interface EntryRow {
  path: string;
  kind: FileKind;
  ino: number;
  size: number;
  nlink: number;
}

/** `[kind, ino, size, nlink]` of one entry. */
type Entry = [FileKind, number, number, number];

interface UsageRow {
  files: number;
  bytes: number;
  next_ino: number;
}

interface NamespaceRow {
  chunkSize: number;
  files: number;
  bytes: number;
}

/** The parameters of the setTimes statement: each time as milliseconds and exact nanoseconds. */
interface TimesRow {
  ns: string;
  path: string;
  accessed: number | null;
  accessedNs: bigint | null;
  modified: number | null;
  modifiedNs: bigint | null;
}

function invalid(message: string): VfsError {
  return new VfsError('invalid-argument', message);
}

function checkLimit(value: number | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < min) {
    throw invalid(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function openDatabase(options: SqliteOptions): { db: Database.Database; owned: boolean } {
  if ((options.path === undefined) === (options.database === undefined)) {
    throw invalid('give exactly one of `path` and `database`');
  }
  if (options.database) return { db: options.database, owned: false };
  try {
    return { db: new Database(options.path, { readonly: options.readOnly === true }), owned: true };
  } catch (error) {
    throw translateError(error, options.path);
  }
}

/**
 * Opens a SQLite-backed storage: one namespace (an independent filesystem) of a database file,
 * served synchronously by better-sqlite3 and exposed in both the async and the sync form.
 *
 * The connection gets `journal_mode = WAL` (file databases), the chosen `synchronous` level and
 * `busy_timeout`. Every mutating operation runs in one `BEGIN IMMEDIATE` transaction.
 *
 * @throws {VfsError} `invalid-argument` (options); `unsupported` (the database has a newer schema);
 *   `io` (cannot open, or no schema with `migrate: false`)
 */
export function sqlite(options: SqliteOptions): SqliteStorage {
  const namespace = options.namespace ?? 'default';
  if (typeof namespace !== 'string' || namespace === '')
    throw invalid('namespace must be a non-empty string');
  const requestedChunkSize = checkLimit(options.chunkSize, 'chunkSize', 1);
  if (requestedChunkSize !== undefined && requestedChunkSize > MAX_CHUNK_SIZE) {
    throw invalid(`chunkSize must be at most ${MAX_CHUNK_SIZE}`);
  }
  if (options.limits !== undefined && (typeof options.limits !== 'object' || options.limits === null)) {
    throw invalid('limits must be an object');
  }
  const given = options.limits ?? {};
  const maxBytes = checkLimit(given.maxBytes ?? options.maxBytes, 'maxBytes');
  const maxFiles = checkLimit(given.maxFiles ?? options.maxFiles, 'maxFiles');
  const maxFileSize = checkLimit(given.maxFileSize ?? options.maxFileSize, 'maxFileSize');
  const maxPathLength = checkLimit(given.maxPathLength ?? options.maxPathLength, 'maxPathLength');
  const busyTimeout = checkLimit(options.busyTimeout, 'busyTimeout') ?? 5000;
  const synchronous = options.synchronous ?? 'normal';
  if (synchronous !== 'full' && synchronous !== 'normal')
    throw invalid("synchronous must be 'full' or 'normal'");

  const { db, owned } = openDatabase(options);
  try {
    db.pragma(`busy_timeout = ${Math.min(busyTimeout, SQLITE_BUSY_WAIT)}`);
    if (!db.memory && !db.readonly) retryBusy(db, busyTimeout, () => db.pragma('journal_mode = WAL'));
    db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
    if (options.migrate === false || db.readonly) checkSchema(db);
    else migrate(db);
    const chunkSize = retryBusy(db, busyTimeout, () => openNamespace(db, namespace, requestedChunkSize));
    return createSqliteStorage(db, owned, {
      namespace,
      chunkSize,
      maxBytes,
      maxFiles,
      maxFileSize,
      maxPathLength,
      busyTimeout,
    });
  } catch (error) {
    if (owned) db.close();
    throw translateError(error, options.path);
  }
}

const SELECT_NAMESPACE = 'SELECT chunk_size AS chunkSize, files, bytes FROM vfs_namespaces WHERE ns = ?';

function openNamespace(db: Database.Database, ns: string, requested: number | undefined): number {
  const select = db.prepare<[string], NamespaceRow>(SELECT_NAMESPACE);
  const existing = (): number | undefined => {
    const row = select.get(ns);
    if (row && requested !== undefined && row.chunkSize !== requested) {
      throw invalid(`namespace ${ns} was created with chunkSize ${row.chunkSize}, not ${requested}`);
    }
    return row?.chunkSize;
  };
  const found = existing();
  if (found !== undefined) return found;
  return db
    .transaction(() => {
      const raced = existing();
      if (raced !== undefined) return raced;
      const chunkSize = requested ?? DEFAULT_CHUNK_SIZE;
      const now = Date.now();
      db.prepare(
        'INSERT INTO vfs_namespaces (ns, chunk_size, created, files, bytes, next_ino) VALUES (?, ?, ?, 0, 0, 2)',
      ).run(ns, chunkSize, now);
      db.prepare(
        `INSERT INTO vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
         VALUES (?, '/', '', '', 'directory', 1, 0, ?, ?, ?)`,
      ).run(ns, now, now, now);
      return chunkSize;
    })
    .immediate();
}

/**
 * The statements that touch the other names of a file with several (hard links), all by the partial
 * index `vfs_entries_ino` (exported for the query-plan tests). `INDEXED BY`: without statistics the
 * planner takes `path <> ?` for a cheap range of the primary key, which would scan the namespace.
 */
export const NAMES_SQL = {
  /** The other names take the size and times just written through `@path`: they never disagree. */
  syncNames: `UPDATE vfs_entries INDEXED BY vfs_entries_ino
    SET (size, modified, accessed, modified_ns, accessed_ns) =
      (SELECT size, modified, accessed, modified_ns, accessed_ns FROM vfs_entries WHERE ns = @ns AND path = @path)
    WHERE ns = @ns AND ino = @ino AND nlink > 1 AND path <> @path`,
  /** A file that already has several names gets one more. */
  addName:
    'UPDATE vfs_entries INDEXED BY vfs_entries_ino SET nlink = nlink + 1 WHERE ns = ? AND ino = ? AND nlink > 1',
  /** One name of several is gone (its row deleted first). */
  dropName:
    'UPDATE vfs_entries INDEXED BY vfs_entries_ino SET nlink = nlink - 1 WHERE ns = ? AND ino = ? AND nlink > 1',
} as const;

interface Settings {
  namespace: string;
  chunkSize: number;
  maxBytes: number | undefined;
  maxFiles: number | undefined;
  maxFileSize: number | undefined;
  maxPathLength: number | undefined;
  busyTimeout: number;
}

function createSqliteStorage(db: Database.Database, owned: boolean, settings: Settings): SqliteStorage {
  const {
    namespace: ns,
    chunkSize: cs,
    maxBytes,
    maxFiles,
    maxFileSize,
    maxPathLength,
    busyTimeout,
  } = settings;

  const q = {
    // Rows as arrays, not objects, on the hot paths: better-sqlite3 builds row objects slowly.
    entry: db
      .prepare<[string, string], Entry>(
        'SELECT kind, ino, size, nlink FROM vfs_entries WHERE ns = ? AND path = ?',
      )
      .raw(),
    kind: db
      .prepare<[string, string], FileKind>('SELECT kind FROM vfs_entries WHERE ns = ? AND path = ?')
      .pluck(),
    entries3: db.prepare<[string, string, string, string], EntryRow>(
      'SELECT path, kind, ino, size, nlink FROM vfs_entries WHERE ns = ? AND path IN (?, ?, ?)',
    ),
    // Safe integers: the nanosecond companions exceed 2^53, so they must not pass through a double.
    stat: db
      .prepare<
        [string, string],
        [FileKind, bigint, number, number, number, bigint, bigint | null, bigint | null, bigint]
      >(
        `SELECT kind, size, created, modified, accessed, ino, modified_ns, accessed_ns, nlink
         FROM vfs_entries WHERE ns = ? AND path = ?`,
      )
      .raw()
      .safeIntegers(true),
    exists: db
      .prepare<[string, string], number>('SELECT 1 FROM vfs_entries WHERE ns = ? AND path = ?')
      .pluck(),
    hasChildren: db
      .prepare<[string, string], number>('SELECT 1 FROM vfs_entries WHERE ns = ? AND parent = ? LIMIT 1')
      .pluck(),
    // One statement (one snapshot): the directory's kind, and all its entries as one string of
    // `<size of a file; -1 for a directory; -2 - size for a link>/<name>` items joined by NUL (names
    // never hold '/' or NUL). One value instead of a row per entry makes a listing several times
    // faster in better-sqlite3.
    list: db
      .prepare<[{ ns: string; path: string }], [FileKind | null, string | null]>(
        `SELECT (SELECT kind FROM vfs_entries WHERE ns = @ns AND path = @path),
           (SELECT group_concat(
              CASE kind WHEN 'file' THEN size WHEN 'directory' THEN -1 ELSE -2 - size END || '/' || name,
              char(0))
            FROM vfs_entries WHERE ns = @ns AND parent = @path)`,
      )
      .raw(),
    // One statement (one snapshot) for the entry and the chunks of a range.
    chunks: db
      .prepare<[number, number, string, string], [FileKind, number, number | null, Buffer | null]>(
        `SELECT e.kind, e.size, c.idx, c.data
         FROM vfs_entries e LEFT JOIN vfs_chunks c ON c.ns = e.ns AND c.ino = e.ino AND c.idx BETWEEN ? AND ?
         WHERE e.ns = ? AND e.path = ?`,
      )
      .raw(),
    chunk: db
      .prepare<[string, number, number], Buffer>(
        'SELECT data FROM vfs_chunks WHERE ns = ? AND ino = ? AND idx = ?',
      )
      .pluck(),
    putChunk: db.prepare<[string, number, number, Uint8Array]>(
      `INSERT INTO vfs_chunks (ns, ino, idx, data) VALUES (?, ?, ?, ?)
       ON CONFLICT (ns, ino, idx) DO UPDATE SET data = excluded.data`,
    ),
    deleteChunks: db.prepare<[string, number]>('DELETE FROM vfs_chunks WHERE ns = ? AND ino = ?'),
    deleteChunksFrom: db.prepare<[string, number, number]>(
      'DELETE FROM vfs_chunks WHERE ns = ? AND ino = ? AND idx >= ?',
    ),
    trimChunk: db.prepare<[number, string, number, number, number]>(
      'UPDATE vfs_chunks SET data = substr(data, 1, ?) WHERE ns = ? AND ino = ? AND idx = ? AND length(data) > ?',
    ),
    insertEntry: db.prepare<
      [string, string, string, string, FileKind, number, number, number, number, number]
    >(
      `INSERT INTO vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertLink: db.prepare<[string, string, string, string, number, number, number, number, number, string]>(
      `INSERT INTO vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed, target)
       VALUES (?, ?, ?, ?, 'symlink', ?, ?, ?, ?, ?, ?)`,
    ),
    link: db
      .prepare<[string, string], [FileKind, string | null]>(
        'SELECT kind, target FROM vfs_entries WHERE ns = ? AND path = ?',
      )
      .raw(),
    // Leaves `size` alone when it does not change, so the parent index (which holds it) is not rewritten.
    touch: db.prepare<[number, number, string, string]>(
      'UPDATE vfs_entries SET modified = ?, accessed = ? WHERE ns = ? AND path = ?',
    ),
    setContent: db.prepare<[number, number, number, string, string]>(
      'UPDATE vfs_entries SET size = ?, modified = ?, accessed = ? WHERE ns = ? AND path = ?',
    ),
    // A time given sets its milliseconds and its nanoseconds (NULL for a number); one not given
    // keeps both.
    setTimes: db
      .prepare<[TimesRow], [number, number]>(
        `UPDATE vfs_entries SET
           accessed = coalesce(@accessed, accessed),
           accessed_ns = CASE WHEN @accessed IS NULL THEN accessed_ns ELSE @accessedNs END,
           modified = coalesce(@modified, modified),
           modified_ns = CASE WHEN @modified IS NULL THEN modified_ns ELSE @modifiedNs END
         WHERE ns = @ns AND path = @path RETURNING ino, nlink`,
      )
      .raw(),
    syncNames: db.prepare<[{ ns: string; path: string; ino: number }]>(NAMES_SQL.syncNames),
    addName: db.prepare<[string, number]>(NAMES_SQL.addName),
    dropName: db.prepare<[string, number]>(NAMES_SQL.dropName),
    setNlink: db.prepare<[number, string, string]>(
      'UPDATE vfs_entries SET nlink = ? WHERE ns = ? AND path = ?',
    ),
    // A new name: a copy of the source's row (nlink already counting it) at another path.
    insertName: db.prepare<[{ ns: string; from: string; to: string; parent: string; name: string }]>(
      `INSERT INTO vfs_entries
         (ns, path, parent, name, kind, ino, size, created, modified, accessed, target, modified_ns, accessed_ns, nlink)
       SELECT ns, @to, @parent, @name, kind, ino, size, created, modified, accessed, target, modified_ns, accessed_ns, nlink
       FROM vfs_entries WHERE ns = @ns AND path = @from`,
    ),
    deleteEntry: db.prepare<[string, string]>('DELETE FROM vfs_entries WHERE ns = ? AND path = ?'),
    // A file or a symbolic link (delete never removes a directory).
    deleteFile: db
      .prepare<[string, string], [number, number, number]>(
        "DELETE FROM vfs_entries WHERE ns = ? AND path = ? AND kind <> 'directory' RETURNING ino, size, nlink",
      )
      .raw(),
    moveEntry: db.prepare<[string, string, string, string, string]>(
      'UPDATE vfs_entries SET path = ?, parent = ?, name = ? WHERE ns = ? AND path = ?',
    ),
    // The subtree of `from` is exactly the paths in [from + '/', from + '0'): '0' follows '/'.
    // A range, not LIKE, because names may contain '%' and '_'.
    moveSubtree: db.prepare<[{ ns: string; from: string; to: string }]>(
      `UPDATE vfs_entries
       SET path = @to || substr(path, length(@from) + 1), parent = @to || substr(parent, length(@from) + 1)
       WHERE ns = @ns AND path >= @from || '/' AND path < @from || '0'`,
    ),
    longestBelow: db
      .prepare<[{ ns: string; from: string }], number | null>(
        `SELECT max(length(CAST(path AS BLOB))) FROM vfs_entries
         WHERE ns = @ns AND path >= @from || '/' AND path < @from || '0'`,
      )
      .pluck(),
    account: db.prepare<[number, number, number, string], UsageRow>(
      `UPDATE vfs_namespaces SET files = files + ?, bytes = bytes + ?, next_ino = next_ino + ?
       WHERE ns = ? RETURNING files, bytes, next_ino`,
    ),
    info: db.prepare<[string], NamespaceRow>(SELECT_NAMESPACE),
    // A real change (an unused inode number), so that the commit writes to the WAL and syncs it.
    barrier: db.prepare<[string]>('UPDATE vfs_namespaces SET next_ino = next_ino + 1 WHERE ns = ?'),
  };

  let closed = false;
  /** This connection committed something since its last durable flush. */
  let unsynced = false;

  /** Every call to the database goes through here: busy retry, then the one error translation. */
  function run<T>(path: string | undefined, fn: () => T): T {
    try {
      return retryBusy(db, busyTimeout, fn);
    } catch (error) {
      throw translateError(error, path);
    }
  }

  /** {@link run} for an operation that may commit a change. */
  function mutate<T>(path: string | undefined, fn: () => T): T {
    unsynced = true;
    return run(path, fn);
  }

  /**
   * The durable flush: below `synchronous = FULL` no commit syncs the WAL, so one small commit
   * made at FULL does, and one fsync of the WAL covers every frame written before it, whichever
   * commit wrote them. Skipped when this connection committed nothing since the last one.
   */
  function makeDurable(): void {
    if (!unsynced || db.memory || db.readonly) return;
    if (db.inTransaction) {
      throw new VfsError('busy', 'cannot make writes durable inside an open transaction of the connection');
    }
    const level = db.pragma('synchronous', { simple: true }) as number;
    if (level < 2) {
      run(undefined, () => {
        db.pragma('synchronous = FULL');
        try {
          db.transaction(() => q.barrier.run(ns)).immediate();
        } finally {
          db.pragma(`synchronous = ${level}`);
        }
      });
    }
    unsynced = false;
  }

  /** The kind of `path`'s parent: looked up only when `path` does not exist (creations). */
  function parentKind(entry: Entry | undefined, parent: string): FileKind | undefined {
    return entry === undefined ? q.kind.get(ns, parent) : undefined;
  }

  function quota(path: string, what: string): VfsError {
    return new VfsError('quota-exceeded', what, { path });
  }

  /** The bytes an entry's name counts in the usage (its last segment, UTF-8). */
  function nameBytes(path: string): number {
    return Buffer.byteLength(baseName(path), 'utf8');
  }

  /** Name-too-long for a path about to be created (checked before its parent, as core's `limits` does). */
  function checkPathLength(path: string, length = Buffer.byteLength(path, 'utf8')): void {
    if (maxPathLength !== undefined && length > maxPathLength) {
      throw new VfsError('name-too-long', `the path is ${length} bytes long, the limit is ${maxPathLength}`, {
        path,
      });
    }
  }

  function checkFileSize(path: string, size: number, oldSize: number): void {
    if (maxFileSize !== undefined && size > oldSize && size > maxFileSize) {
      throw quota(path, `file size ${size} exceeds the limit of ${maxFileSize} bytes`);
    }
  }

  /**
   * Updates the namespace's usage row (and allocates an inode number) in the operation's
   * transaction, and checks the limits against the result: the throw rolls everything back.
   * @returns the new inode number, when `newIno`
   */
  function account(path: string, files: number, bytes: number, newIno: boolean): number {
    if (files === 0 && bytes === 0 && !newIno) return 0;
    const row = q.account.get(files, bytes, newIno ? 1 : 0, ns);
    if (row === undefined) throw new VfsError('io', `namespace ${ns} no longer exists`, { path });
    if (files > 0 && maxFiles !== undefined && row.files > maxFiles) {
      throw quota(path, `the namespace would hold ${row.files} files, the limit is ${maxFiles}`);
    }
    if (bytes > 0 && maxBytes !== undefined && row.bytes > maxBytes) {
      throw quota(
        path,
        `the namespace would hold ${row.bytes} bytes (names included), the limit is ${maxBytes}`,
      );
    }
    return row.next_ino - 1;
  }

  /** Writes `data` at `offset` of a file whose size was `oldSize`, touching only the chunks it covers. */
  function writeChunks(ino: number, offset: number, data: Uint8Array, oldSize: number): void {
    for (const span of chunkSpans(offset, data.length, cs)) {
      const piece = data.subarray(span.rangeOffset, span.rangeOffset + span.end - span.start);
      let chunk: Uint8Array = piece;
      if (span.start > 0 || span.end < chunkLength(span.index, oldSize, cs)) {
        // Partial chunk: read-modify-write. Stored bytes may stop short of the file's extent in
        // this chunk (sparse); the rest reads as zeros.
        const old = q.chunk.get(ns, ino, span.index);
        chunk = new Uint8Array(Math.max(old?.length ?? 0, span.end));
        if (old) chunk.set(old);
        chunk.set(piece, span.start);
      }
      q.putChunk.run(ns, ino, span.index, chunk);
    }
  }

  /**
   * mkdir, create and symlink: an empty directory or file, or a link to `target`, where nothing is
   * (the same rule, see `checkCreate` and `checkSymlink`). A link counts as a file of `size` bytes.
   */
  function insertNew(path: string, kind: FileKind, target?: string): void {
    const parent = parentPath(path);
    const existing = q.kind.get(ns, path);
    if (existing === undefined) checkPathLength(path);
    (target === undefined ? checkCreate : checkSymlink)(
      path,
      existing,
      existing === undefined ? q.kind.get(ns, parent) : undefined,
    );
    const name = baseName(path);
    const size = target === undefined ? 0 : Buffer.byteLength(target, 'utf8');
    const ino = account(path, kind === 'directory' ? 0 : 1, Buffer.byteLength(name, 'utf8') + size, true);
    const time = Date.now();
    if (target === undefined) q.insertEntry.run(ns, path, parent, name, kind, ino, 0, time, time, time);
    else q.insertLink.run(ns, path, parent, name, ino, size, time, time, time, target);
  }

  /** write, writeAt and append: `offset` undefined means "at the end". Returns the offset written at. */
  function writeFile(path: string, offset: number | undefined, data: Uint8Array, replace: boolean): number {
    const parent = parentPath(path);
    const entry = q.entry.get(ns, path);
    if (entry === undefined) checkPathLength(path);
    const exists = checkFileTarget(path, entry?.[0], parentKind(entry, parent));
    const oldSize = exists ? entry![2] : 0;
    const at = offset ?? oldSize;
    if (offset === undefined) checkData(data, path, at);
    const size = replace ? data.length : Math.max(oldSize, at + data.length);
    checkFileSize(path, size, oldSize);
    const allocated = account(path, exists ? 0 : 1, size - oldSize + (exists ? 0 : nameBytes(path)), !exists);
    const time = Date.now();
    let ino: number;
    if (exists) {
      ino = entry![1];
      if (size === oldSize) q.touch.run(time, time, ns, path);
      else q.setContent.run(size, time, time, ns, path);
      // A file with several names (hard links): the other names' rows follow.
      if (entry![3] > 1) q.syncNames.run({ ns, path, ino });
      // Replaced chunks are overwritten in place below (SQLite then rewrites only the pages whose
      // bytes differ); only those past the new end go.
      if (replace) q.deleteChunksFrom.run(ns, ino, chunkCount(size, cs));
    } else {
      ino = allocated;
      q.insertEntry.run(ns, path, parent, baseName(path), 'file', ino, size, time, time, time);
    }
    writeChunks(ino, at, data, replace ? 0 : oldSize);
    return at;
  }

  /**
   * writeExtents: the entry once (limits checked against the final size first), then each chunk
   * the runs touch once, merged with its stored bytes when they do not cover it.
   */
  function writeRuns(
    path: string,
    runs: readonly [number, Uint8Array][],
    time: number,
    ifFile: FileIdentity | undefined,
  ): void {
    const parent = parentPath(path);
    const entry = q.entry.get(ns, path);
    if (ifFile) {
      // By inode number; an identity without one (not made by this backend) by creation time.
      const created = ifFile.id === undefined ? (q.stat.get(ns, path)?.[2] ?? 0) : 0;
      checkIfFile(path, entry && { kind: entry[0], id: String(entry[1]), created }, ifFile);
    }
    if (entry === undefined) checkPathLength(path);
    const exists = checkFileTarget(path, entry?.[0], parentKind(entry, parent));
    const oldSize = exists ? entry![2] : 0;
    const last = runs[runs.length - 1];
    const size = Math.max(oldSize, last ? last[0] + last[1].length : 0);
    checkFileSize(path, size, oldSize);
    const allocated = account(path, exists ? 0 : 1, size - oldSize + (exists ? 0 : nameBytes(path)), !exists);
    const ino = exists ? entry![1] : allocated;
    if (!exists) q.insertEntry.run(ns, path, parent, baseName(path), 'file', ino, size, time, time, time);
    else {
      if (size === oldSize) q.touch.run(time, time, ns, path);
      else q.setContent.run(size, time, time, ns, path);
      if (entry![3] > 1) q.syncNames.run({ ns, path, ino });
    }
    for (const [index, pieces] of chunkPieces(runs, cs)) {
      const [firstStart, firstData] = pieces[0]!;
      const [lastStart, lastData] = pieces[pieces.length - 1]!;
      // Runs never touch, so only a single piece can cover what the chunk holds.
      const covered =
        pieces.length === 1 && firstStart === 0 && firstData.length >= chunkLength(index, oldSize, cs);
      let chunk = firstData;
      if (!covered) {
        const old = exists ? q.chunk.get(ns, ino, index) : undefined;
        chunk = new Uint8Array(Math.max(old?.length ?? 0, lastStart + lastData.length));
        if (old) chunk.set(old);
        for (const [start, data] of pieces) chunk.set(data, start);
      }
      q.putChunk.run(ns, ino, index, chunk);
    }
  }

  const tx = {
    writeFile: db.transaction(writeFile),
    writeRuns: db.transaction(writeRuns),
    setSize: db.transaction((path: string, size: number) => {
      const entry = q.entry.get(ns, path);
      checkExistingFile(path, entry?.[0]);
      const [, ino, oldSize, nlink] = entry!;
      checkFileSize(path, size, oldSize);
      account(path, 0, size - oldSize, false);
      if (size < oldSize) {
        q.deleteChunksFrom.run(ns, ino, chunkCount(size, cs));
        const tail = size % cs;
        if (tail > 0) q.trimChunk.run(tail, ns, ino, Math.floor(size / cs), tail);
      }
      const time = Date.now();
      if (size === oldSize) q.touch.run(time, time, ns, path);
      else q.setContent.run(size, time, time, ns, path);
      if (nlink > 1) q.syncNames.run({ ns, path, ino });
    }),
    mkdir: db.transaction((path: string) => insertNew(path, 'directory')),
    // Lookup and insert in one BEGIN IMMEDIATE transaction: it holds the database's write lock
    // from the start, so no other connection or process can create the path in between.
    create: db.transaction((path: string) => insertNew(path, 'file')),
    symlink: db.transaction((path: string, target: string) => insertNew(path, 'symlink', target)),
    rmdir: db.transaction((path: string) => {
      const kind = q.kind.get(ns, path);
      const hasEntries = kind === 'directory' && q.hasChildren.get(ns, path) !== undefined;
      checkRmdir(path, kind, hasEntries);
      q.deleteEntry.run(ns, path);
      account(path, 0, -nameBytes(path), false);
    }),
    delete: db.transaction((path: string) => {
      const deleted = q.deleteFile.get(ns, path);
      // Nothing deleted: report why (rolls back nothing, as nothing changed).
      if (deleted === undefined) return checkDelete(path, q.kind.get(ns, path));
      const [ino, size, nlink] = deleted;
      // One name of several: only the name goes; the file, its size and data stay with the others.
      if (nlink > 1) {
        q.dropName.run(ns, ino);
        return void account(path, 0, -nameBytes(path), false);
      }
      // A link has no chunks: its size is its target's, counted like a file's.
      q.deleteChunks.run(ns, ino);
      account(path, -1, -size - nameBytes(path), false);
    }),
    link: db.transaction((from: string, to: string) => {
      const toParent = parentPath(to);
      const rows = q.entries3.all(ns, from, to, toParent);
      const find = (path: string) => rows.find((r) => r.path === path);
      const source = find(from);
      const target = find(to);
      if (target === undefined && to !== '/') checkPathLength(to);
      checkLink(from, to, source?.kind, target?.kind, find(toParent)?.kind);
      // Only the new name costs: the file's size is counted once, whatever its number of names.
      account(to, 0, nameBytes(to), false);
      const { ino, nlink } = source!;
      // A file with one name is not in the partial index yet: counted by its path.
      if (nlink > 1) q.addName.run(ns, ino);
      else q.setNlink.run(2, ns, from);
      q.insertName.run({ ns, from, to, parent: toParent, name: baseName(to) });
    }),
    rename: db.transaction((from: string, to: string) => {
      const toParent = parentPath(to);
      const rows = q.entries3.all(ns, from, to, toParent);
      const find = (path: string) => rows.find((r) => r.path === path);
      const source = find(from);
      const target = find(to);
      if (maxPathLength !== undefined && source && target === undefined && from !== to && from !== '/') {
        checkPathLength(to);
        const growth = Buffer.byteLength(to, 'utf8') - Buffer.byteLength(from, 'utf8');
        if (source.kind === 'directory' && growth > 0) {
          const longest = q.longestBelow.get({ ns, from }) ?? 0;
          if (longest > 0) checkPathLength(to, longest + growth);
        }
      }
      // Two names of one file (inode numbers are never shared otherwise): POSIX renames nothing.
      const sameFile = source !== undefined && source.ino === target?.ino;
      const plan = checkRename(from, to, source?.kind, target?.kind, find(toParent)?.kind, sameFile);
      if (plan === 'noop') return;
      // Only the moved entry's own name changes (descendants keep theirs); a replaced target frees
      // its name, which is the new one, and its size (unless other names keep its file): so a
      // replacing rename never grows the usage.
      const name = baseName(to);
      const toBytes = Buffer.byteLength(name, 'utf8');
      let bytes = toBytes - nameBytes(from);
      let files = 0;
      if (plan === 'replace-file') {
        q.deleteEntry.run(ns, to);
        bytes -= toBytes;
        if (target!.nlink > 1) q.dropName.run(ns, target!.ino);
        else {
          q.deleteChunks.run(ns, target!.ino);
          bytes -= target!.size;
          files = -1;
        }
      }
      account(to, files, bytes, false);
      q.moveEntry.run(to, toParent, name, ns, from);
      if (source!.kind === 'directory') q.moveSubtree.run({ ns, from, to });
    }),
    setTimes: db.transaction((path: string, times: SetTimes) => {
      const [accessed, accessedNs] = storedTime(times.accessed);
      const [modified, modifiedNs] = storedTime(times.modified);
      const row = q.setTimes.get({ ns, path, accessed, accessedNs, modified, modifiedNs });
      if (row === undefined) return checkExists(path, undefined);
      const [ino, nlink] = row;
      if (nlink > 1) q.syncNames.run({ ns, path, ino });
    }),
  };

  function readRangeOf(path: string, offset: number, length: number, whole: boolean): Uint8Array {
    const first = Math.floor(offset / cs);
    const last = whole ? Number.MAX_SAFE_INTEGER : length === 0 ? -1 : Math.floor((offset + length - 1) / cs);
    const rows = q.chunks.all(first, last, ns, path);
    checkExistingFile(path, rows[0]?.[0]);
    const size = rows[0]![1];
    const range = readRange(size, offset, whole ? size : length);
    const out = new Uint8Array(range.length);
    const end = offset + range.length;
    for (const [, , idx, data] of rows) {
      if (idx === null || data === null) continue;
      const start = idx * cs;
      const from = Math.max(offset, start);
      const to = Math.min(end, start + data.length);
      if (to > from) out.set(data.subarray(from - start, to - start), from - offset);
    }
    return out;
  }

  const driver: VfsSyncDriver = {
    capabilities: {
      nativeAppend: true,
      exclusiveCreate: true,
      atomicRename: true,
      atomicDirectoryRename: true,
      persistent: !db.memory,
      multiProcess: !db.memory,
      nativeIfFile: true,
      symlinks: true,
      nanosecondTimes: true,
      hardLinks: true,
    } satisfies Capabilities,
    read: (path) => run(path, () => readRangeOf(path, 0, 0, true)),
    readAt: (path, offset, length) => run(path, () => readRangeOf(path, offset, length, false)),
    write: (path, data) => {
      mutate(path, () => tx.writeFile.immediate(path, 0, data, true));
    },
    writeAt: (path, offset, data) => {
      mutate(path, () => tx.writeFile.immediate(path, offset, data, false));
    },
    writeExtents: (path, extents, options) => {
      const runs = coalesceExtents(extents);
      mutate(path, () =>
        tx.writeRuns.immediate(path, runs, options?.modified ?? Date.now(), options?.ifFile),
      );
    },
    append: (path, data) => mutate(path, () => tx.writeFile.immediate(path, undefined, data, false)),
    setSize: (path, size) => mutate(path, () => tx.setSize.immediate(path, size)),
    stat: (path) =>
      run(path, () => {
        const row = q.stat.get(ns, path);
        checkExists(path, row?.[0]);
        const [kind, size, created, modified, accessed, ino, modifiedNsStored, accessedNsStored, nlink] =
          row!;
        // The inode number: kept by renames, never reused (next_ino only grows), shared by a file's names.
        const meta: Metadata = { kind, size: Number(size), created, modified, accessed, id: String(ino) };
        if (kind !== 'directory') meta.linkCount = Number(nlink);
        // Only while they still describe the milliseconds (a later write moves those alone).
        const modifiedNs = exactNs(modifiedNsStored, modified);
        const accessedNs = exactNs(accessedNsStored, accessed);
        if (modifiedNs !== undefined) meta.modifiedNs = modifiedNs;
        if (accessedNs !== undefined) meta.accessedNs = accessedNs;
        return meta;
      }),
    list: (path) =>
      run(path, () => {
        const [kind, joined] = q.list.get({ ns, path })!;
        checkExistingDirectory(path, kind ?? undefined);
        const entries: DirEntry[] = [];
        if (joined === null) return entries;
        for (const item of joined.split('\0')) {
          const slash = item.indexOf('/');
          const size = Number(item.slice(0, slash));
          const name = item.slice(slash + 1);
          entries.push(
            size >= 0
              ? { name, kind: 'file', size }
              : size === -1
                ? { name, kind: 'directory', size: 0 }
                : { name, kind: 'symlink', size: -2 - size },
          );
        }
        return entries;
      }),
    exists: (path) => run(path, () => q.exists.get(ns, path) !== undefined),
    create: (path) => mutate(path, () => tx.create.immediate(path)),
    mkdir: (path) => mutate(path, () => tx.mkdir.immediate(path)),
    rmdir: (path) => mutate(path, () => tx.rmdir.immediate(path)),
    delete: (path) => mutate(path, () => tx.delete.immediate(path)),
    rename: (from, to) => mutate(from, () => tx.rename.immediate(from, to)),
    setTimes: (path, times) => mutate(path, () => tx.setTimes.immediate(path, times)),
    symlink: (path, target) => mutate(path, () => tx.symlink.immediate(path, target)),
    link: (from, to) => mutate(from, () => tx.link.immediate(from, to)),
    readlink: (path) =>
      run(path, () => {
        const row = q.link.get(ns, path);
        checkReadlink(path, row?.[0]);
        return row![1]!;
      }),
    // The path does not matter: one fsync of the WAL covers every file.
    flush: (_path, options) => {
      if (options?.durable) makeDurable();
    },
    close() {
      if (closed) return;
      closed = true;
      if (owned) run(undefined, () => db.close());
    },
  };

  const info = (): NamespaceInfo => {
    if (closed) throw new VfsError('io', 'storage is closed');
    return run(undefined, () => {
      const row = q.info.get(ns);
      if (row === undefined) throw new VfsError('io', `namespace ${ns} no longer exists`);
      return { namespace: ns, chunkSize: row.chunkSize, files: row.files, bytes: row.bytes };
    });
  };
  const declared = { maxBytes, maxFiles, maxFileSize, maxPathLength };
  const limits = Object.values(declared).some((v) => v !== undefined)
    ? (Object.fromEntries(Object.entries(declared).filter(([, v]) => v !== undefined)) as StorageLimits)
    : undefined;
  const extras: SqliteExtras = { db, namespace: ns, chunkSize: cs, limits };
  const sync = { ...createSyncStorage(driver), ...extras, info } as SqliteSyncStorage;
  return {
    ...toAsync(sync),
    ...extras,
    sync,
    info: async () => info(),
    flush: async (path?: string, options?: FlushOptions) => sync.flush(path, options),
  };
}
