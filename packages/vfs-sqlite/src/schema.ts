import { VfsError } from '@eryx/vfs-core';
import type BetterSqlite3 from 'better-sqlite3';
import { translateError } from './errors.js';
import { retryBusy } from './retry.js';

/**
 * The tables, the design shared with `@eryx/vfs-postgres`: the same tables and columns, except that
 * `vfs_namespaces.next_ino` is a sequence there (a per-namespace counter would have to be locked
 * before every insert, which its concurrent writers cannot afford; SQLite has one writer at a time).
 * The index on `vfs_entries (ns, parent)` differs per engine. Paths compare with binary (UTF-8 byte)
 * collation, which the directory-rename range predicate relies on.
 */
const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS vfs_namespaces (
  ns TEXT NOT NULL PRIMARY KEY,
  chunk_size INTEGER NOT NULL CHECK (chunk_size > 0),
  created REAL NOT NULL,
  -- The usage row: kept exact by every operation's transaction, so limits are checked in O(1).
  files INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  next_ino INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS vfs_entries (
  ns TEXT NOT NULL,
  path TEXT NOT NULL,
  parent TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('file', 'directory')),
  ino INTEGER NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  created REAL NOT NULL,
  modified REAL NOT NULL,
  accessed REAL NOT NULL,
  PRIMARY KEY (ns, path)
) WITHOUT ROWID;
-- Covers what a listing returns, so a listing is one range scan of this index.
CREATE INDEX IF NOT EXISTS vfs_entries_parent ON vfs_entries (ns, parent, name, kind, size);
CREATE TABLE IF NOT EXISTS vfs_chunks (
  ns TEXT NOT NULL,
  ino INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (ns, ino, idx)
);
`;

/**
 * `vfs_schema` takes the shape it has in `@eryx/vfs-postgres`: one row per version with the time it
 * was applied (the rows of earlier versions get the time of this upgrade). SQLite cannot add a
 * primary key to a table, so the table is rebuilt.
 */
const SCHEMA_V2 = `
CREATE TABLE vfs_schema_v2 (version INTEGER PRIMARY KEY, applied TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
INSERT INTO vfs_schema_v2 (version) SELECT DISTINCT version FROM vfs_schema;
DROP TABLE vfs_schema;
ALTER TABLE vfs_schema_v2 RENAME TO vfs_schema;
`;

/**
 * The usage row's `bytes` counts names too (issue #18): the sum of file sizes plus the UTF-8 length
 * of every entry's name, files and directories; the root (path `/`, name `''`) counts nothing.
 */
const SCHEMA_V3 = `
UPDATE vfs_namespaces SET bytes = (
  SELECT coalesce(sum(CASE kind WHEN 'file' THEN size ELSE 0 END + length(CAST(name AS BLOB))), 0)
  FROM vfs_entries e WHERE e.ns = vfs_namespaces.ns AND e.path <> '/'
);
`;

/**
 * Symbolic links (issue #22): `kind` may be `symlink`, and a link's target lives in the new column
 * `target` (NULL for files and directories; the CHECK ties the two). A column rather than a chunk:
 * `readlink` is then one primary-key lookup without a join, `vfs_chunks` keeps holding file data
 * only (each chunk within its namespace's chunk size), and the target stays TEXT, kept verbatim. A
 * NULL costs files one header byte. SQLite cannot alter a CHECK constraint, so the table is rebuilt
 * (still WITHOUT ROWID, with the covering listing index recreated as version 1 made it); `size` of
 * a link is its target's UTF-8 length, so the usage row keeps counting it as `size` plus the name.
 */
const SCHEMA_V4 = `
CREATE TABLE vfs_entries_v4 (
  ns TEXT NOT NULL,
  path TEXT NOT NULL,
  parent TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('file', 'directory', 'symlink')),
  ino INTEGER NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  created REAL NOT NULL,
  modified REAL NOT NULL,
  accessed REAL NOT NULL,
  target TEXT CHECK ((kind = 'symlink') = (target IS NOT NULL)),
  PRIMARY KEY (ns, path)
) WITHOUT ROWID;
INSERT INTO vfs_entries_v4 (ns, path, parent, name, kind, ino, size, created, modified, accessed)
  SELECT ns, path, parent, name, kind, ino, size, created, modified, accessed FROM vfs_entries;
DROP TABLE vfs_entries;
ALTER TABLE vfs_entries_v4 RENAME TO vfs_entries;
CREATE INDEX vfs_entries_parent ON vfs_entries (ns, parent, name, kind, size);
`;

/**
 * Times set in nanoseconds (issue #22): each of `modified` and `accessed` gets a nullable INTEGER
 * companion holding the exact nanoseconds `setTimes` was given (a signed 64-bit count, which INTEGER
 * holds exactly). Only `setTimes` writes them; every other change writes the milliseconds alone, and
 * a companion that no longer rounds to them is ignored on read (vfs-core's `exactNs`). ADD COLUMN,
 * not a rebuild: existing rows read the new columns as NULL without being rewritten, the table stays
 * WITHOUT ROWID (stat reads them from the same primary-key leaf as the milliseconds), and the
 * listing index does not hold times, so listings stay one scan of it.
 */
const SCHEMA_V5 = `
ALTER TABLE vfs_entries ADD COLUMN modified_ns INTEGER;
ALTER TABLE vfs_entries ADD COLUMN accessed_ns INTEGER;
`;

/**
 * Hard links (issue #22): one file may have several names, each a `vfs_entries` row with the same
 * `ino` (which already keys the chunks), so the data is stored once. `nlink` counts the names and is
 * the same in every one of them, as are the size, the times and a link's target, which every change
 * writes to all of them. ADD COLUMN with a constant default rewrites no row (every existing entry has
 * one name). The partial index holds only the rows of files with more than one name: ordinary files
 * pay nothing for it, and the other names of a linked file are found by it, not by a scan.
 */
const SCHEMA_V6 = `
ALTER TABLE vfs_entries ADD COLUMN nlink INTEGER NOT NULL DEFAULT 1;
CREATE INDEX vfs_entries_ino ON vfs_entries (ns, ino) WHERE nlink > 1;
`;

/** The version table as a new database gets it (a database of version 1 has `version` only). */
const VERSION_TABLE =
  'CREATE TABLE IF NOT EXISTS vfs_schema (version INTEGER PRIMARY KEY, applied TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)';

/**
 * Migrations by the version they produce; `MIGRATIONS[v - 1]` takes a database from `v - 1` to `v`.
 * Never edit a released one: append.
 */
export const MIGRATIONS: readonly string[] = [
  SCHEMA_V1,
  SCHEMA_V2,
  SCHEMA_V3,
  SCHEMA_V4,
  SCHEMA_V5,
  SCHEMA_V6,
];

/** The schema version this package writes and understands. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** What each of {@link MIGRATIONS} does, for reports (`MIGRATION_STEPS[v - 1]` describes version `v`). */
const MIGRATION_STEPS: readonly string[] = [
  'create the tables vfs_namespaces (with the usage row), vfs_entries and vfs_chunks',
  'rebuild vfs_schema with the time each version was applied, as in @eryx/vfs-postgres',
  'recompute the usage rows: bytes counts the names of files and directories as well as file sizes',
  'rebuild vfs_entries to hold symbolic links: kind symlink and the column target',
  'add the columns modified_ns and accessed_ns to vfs_entries: times set in nanoseconds, exactly',
  'add the column nlink and the partial index vfs_entries_ino to vfs_entries: hard links',
];

/**
 * What migrating a database of version `from` (`undefined`: no eryx-vfs schema) does, one line per
 * step; empty when it is current.
 */
export function migrationSteps(from: number | undefined): string[] {
  const steps = from === undefined ? ['create the version table vfs_schema'] : [];
  for (let version = (from ?? 0) + 1; version <= SCHEMA_VERSION; version++) {
    steps.push(`version ${version}: ${MIGRATION_STEPS[version - 1]}`);
  }
  return steps;
}

/**
 * The schema version recorded in `db`, or `undefined` when it has no eryx-vfs schema. Only reads.
 */
export function schemaVersion(db: BetterSqlite3.Database): number | undefined {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vfs_schema'")
    .pluck()
    .get();
  if (table === undefined) return undefined;
  const version = db.prepare('SELECT max(version) FROM vfs_schema').pluck().get();
  return typeof version === 'number' ? version : undefined;
}

function newerSchemaError(version: number): VfsError {
  return new VfsError(
    'unsupported',
    `the database has eryx-vfs schema version ${version}, newer than the ${SCHEMA_VERSION} this version of @eryx/vfs-sqlite understands; upgrade @eryx/vfs-sqlite`,
  );
}

/**
 * The schema version recorded in `db` (as {@link schemaVersion}), refusing one newer than this
 * package understands. Only reads.
 * @throws {VfsError} `unsupported` (newer schema)
 */
export function knownSchemaVersion(db: BetterSqlite3.Database): number | undefined {
  const version = schemaVersion(db);
  if (version !== undefined && version > SCHEMA_VERSION) throw newerSchemaError(version);
  return version;
}

/**
 * Checks that `db` holds exactly the schema this package understands, without writing.
 * @throws {VfsError} `unsupported` (newer schema); `io` (no schema or an older one: run {@link migrate})
 */
export function checkSchema(db: BetterSqlite3.Database): void {
  const version = schemaVersion(db);
  if (version !== undefined && version > SCHEMA_VERSION) throw newerSchemaError(version);
  if (version !== SCHEMA_VERSION) {
    throw new VfsError(
      'io',
      `the database has ${version === undefined ? 'no eryx-vfs schema' : `eryx-vfs schema version ${version}`}; run migrate(db) first`,
    );
  }
}

/**
 * Creates or upgrades the eryx-vfs tables in `db`, in one `BEGIN IMMEDIATE` transaction. Idempotent:
 * a database that is already current is only read, never written (so a read-only connection to a
 * migrated database passes). Nothing is ever dropped.
 * @returns the schema version of the database afterwards ({@link SCHEMA_VERSION})
 * @throws {VfsError} `unsupported` when the database has a newer schema than this package knows
 */
export function migrate(db: BetterSqlite3.Database): number {
  migrateFrom(db);
  return SCHEMA_VERSION;
}

/**
 * {@link migrate}, returning the version the database had before (`undefined`: no eryx-vfs schema),
 * as read inside the migration's transaction.
 */
export function migrateFrom(db: BetterSqlite3.Database): number | undefined {
  try {
    return retryBusy(db, 5000, () => {
      const current = knownSchemaVersion(db);
      if (current === SCHEMA_VERSION) return current;
      return upgrade(db).immediate();
    });
  } catch (error) {
    throw translateError(error);
  }
}

function upgrade(db: BetterSqlite3.Database) {
  return db.transaction((): number | undefined => {
    // Another process may have migrated since the version was read outside this transaction.
    const before = knownSchemaVersion(db);
    db.exec(VERSION_TABLE);
    for (let version = (before ?? 0) + 1; version <= SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version - 1]!);
      db.prepare('INSERT INTO vfs_schema (version) VALUES (?)').run(version);
    }
    return before;
  });
}

/** The namespaces (independent filesystems) stored in `db`, sorted. */
export function listNamespaces(db: BetterSqlite3.Database): string[] {
  try {
    return db.prepare<[], string>('SELECT ns FROM vfs_namespaces ORDER BY ns').pluck().all();
  } catch (error) {
    throw translateError(error);
  }
}

/**
 * The namespaces stored in `db` with their usage rows, sorted by name; none when `db` has no
 * eryx-vfs schema. Only reads. `files` counts files and symbolic links (once each, whatever their
 * number of names); `bytes` is the usage `maxBytes` bounds, file sizes and link target lengths (once
 * each) plus the UTF-8 length of every entry's name
 * (a database of schema version 2 or older, not yet migrated, reports file sizes only).
 * @throws {VfsError} `unsupported` (newer schema)
 */
export function namespaceUsage(db: BetterSqlite3.Database): { name: string; files: number; bytes: number }[] {
  try {
    if (knownSchemaVersion(db) === undefined) return [];
    return db
      .prepare<[], { name: string; files: number; bytes: number }>(
        'SELECT ns AS name, files, bytes FROM vfs_namespaces ORDER BY ns',
      )
      .all();
  } catch (error) {
    throw translateError(error);
  }
}

/**
 * Deletes a namespace with all its entries and chunks, in one transaction. Storage objects still
 * open on it fail afterwards. Returns whether the namespace existed.
 */
export function dropNamespace(db: BetterSqlite3.Database, namespace: string): boolean {
  const drop = db.transaction(() => {
    db.prepare('DELETE FROM vfs_chunks WHERE ns = ?').run(namespace);
    db.prepare('DELETE FROM vfs_entries WHERE ns = ?').run(namespace);
    return db.prepare('DELETE FROM vfs_namespaces WHERE ns = ?').run(namespace).changes > 0;
  });
  try {
    return retryBusy(db, 5000, () => drop.immediate());
  } catch (error) {
    throw translateError(error);
  }
}
