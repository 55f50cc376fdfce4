import { existsSync } from 'node:fs';
import {
  expectStoreUrl,
  type MigrationReport,
  type ParseStoreUrlOptions,
  type SqliteStoreUrl,
  type StoreBackend,
  type StoreMigrateOptions,
  type StoreNamespaceInfo,
  type StoreUrl,
  storeOptions,
  VfsError,
} from '@eryx/vfs-core';
import type { SyncBridgeSpec } from '@eryx/vfs-core/bridge';
import Database from 'better-sqlite3';
import { translateError } from './errors.js';
import {
  dropNamespace,
  knownSchemaVersion,
  migrateFrom,
  migrationSteps,
  namespaceUsage,
  SCHEMA_VERSION,
  schemaVersion,
} from './schema.js';
import { type SqliteOptions, type SqliteStorage, sqlite } from './sqlite.js';

/** Options of {@link openSqliteUrl}: how to parse the URL, and options the URL cannot carry. */
export interface SqliteUrlOptions
  extends ParseStoreUrlOptions,
    Pick<SqliteOptions, 'chunkSize' | 'busyTimeout' | 'synchronous' | 'migrate' | 'readOnly' | 'limits'> {}

/**
 * Opens a namespace of a SQLite file from a `sqlite:` store URL (see `parseStoreUrl`), e.g.
 * `sqlite:./state.db#user-42?maxBytes=64MiB`: the URL's limits, `chunkSize`, `busyTimeout`,
 * `synchronous` and `readOnly` become the {@link sqlite} options of the same name (`options`
 * override them). Without a fragment the namespace is `default`.
 */
export function openSqliteUrl(url: string | StoreUrl, options: SqliteUrlOptions = {}): SqliteStorage {
  const { cwd, ...overrides } = options;
  const parsed = expectStoreUrl(url, 'sqlite', { cwd });
  const merged = storeOptions<SqliteOptions>(
    {
      path: parsed.path,
      namespace: parsed.namespace,
      limits: parsed.limits,
      chunkSize: parsed.chunkSize,
      busyTimeout: parsed.busyTimeout,
      synchronous: parsed.synchronous,
      readOnly: parsed.readOnly,
    },
    overrides,
  );
  return sqlite(merged);
}

/**
 * The sync bridge spec that opens the same namespace in the bridge's worker, with the path already
 * resolved: `createSyncBridge(sqliteBridgeSpec(url))`. (SQLite is synchronous, so the WASI host can
 * also use `openSqliteUrl(url).sync` directly.)
 */
export function sqliteBridgeSpec(url: string | StoreUrl, options?: ParseStoreUrlOptions): SyncBridgeSpec {
  return {
    module: new URL('./index.js', import.meta.url).href,
    export: 'openSqliteUrl',
    options: expectStoreUrl(url, 'sqlite', options),
  };
}

/**
 * Drops the URL's namespace (default `default`) from the file with {@link dropNamespace}, in one
 * transaction. A file that does not exist, or holds no eryx-vfs schema, is left alone (not created).
 */
export async function dropSqliteUrl(url: string | StoreUrl, options?: ParseStoreUrlOptions): Promise<void> {
  const parsed = expectStoreUrl(url, 'sqlite', options);
  if (parsed.readOnly) {
    throw new VfsError('read-only', `store URL ${JSON.stringify(parsed.href)} is read-only; cannot drop`);
  }
  if (parsed.path === ':memory:' || !existsSync(parsed.path)) return;
  let db: Database.Database;
  try {
    db = new Database(parsed.path, { fileMustExist: true, timeout: parsed.busyTimeout ?? 5000 });
  } catch (error) {
    throw translateError(error);
  }
  try {
    if (schemaVersion(db) !== undefined) dropNamespace(db, parsed.namespace ?? 'default');
  } finally {
    db.close();
  }
}

/** Runs `fn` on the URL's database file opened read-only, which must exist: nothing is created. */
function readExisting<T>(url: SqliteStoreUrl, fn: (db: Database.Database) => T): T {
  if (!existsSync(url.path)) {
    throw new VfsError(
      'not-found',
      `store URL ${JSON.stringify(url.href)}: the SQLite database file does not exist`,
      { path: url.path },
    );
  }
  let db: Database.Database;
  try {
    db = new Database(url.path, { readonly: true, fileMustExist: true, timeout: url.busyTimeout ?? 5000 });
  } catch (error) {
    throw translateError(error, url.path);
  }
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * The namespaces of the URL's database file with their usage rows (`files`; `bytes`: file sizes plus
 * the UTF-8 length of every entry's name, what `maxBytes` bounds), sorted; the URL's namespace is
 * ignored. Only reads: the file is opened read-only. A file without an eryx-vfs
 * schema has none, and so does `sqlite::memory:` (each open of it is a new database).
 * @throws {VfsError} `not-found` naming the file when it does not exist; `unsupported` for a newer schema
 */
export async function sqliteNamespaces(
  url: string | StoreUrl,
  options?: ParseStoreUrlOptions,
): Promise<StoreNamespaceInfo[]> {
  const parsed = expectStoreUrl(url, 'sqlite', options);
  if (parsed.path === ':memory:') return [];
  return readExisting(parsed, namespaceUsage);
}

/**
 * Creates or upgrades the schema of the URL's database file (`migrate(db)`, as opening it does)
 * and reports the version before, the steps and whether anything was written. With `dryRun` the file
 * is only read (a missing file is not created: `from: null`). A read-only URL (`readOnly=true`) is
 * refused only when the database needs migrating.
 * @throws {VfsError} `unsupported` for a newer schema; `read-only`
 */
export async function migrateSqliteUrl(
  url: string | StoreUrl,
  options: StoreMigrateOptions = {},
): Promise<MigrationReport> {
  const { dryRun = false, ...parse } = options;
  const parsed = expectStoreUrl(url, 'sqlite', parse);
  const report = (from: number | undefined, applied: boolean): MigrationReport => {
    const steps = migrationSteps(from);
    return { from: from ?? null, to: SCHEMA_VERSION, steps, applied: applied && steps.length > 0 };
  };
  if (dryRun || parsed.readOnly) {
    const exists = parsed.path !== ':memory:' && existsSync(parsed.path);
    const planned = report(exists ? readExisting(parsed, knownSchemaVersion) : undefined, false);
    if (dryRun || planned.steps.length === 0) return planned;
    throw new VfsError(
      'read-only',
      `store URL ${JSON.stringify(parsed.href)} is read-only; cannot migrate (${planned.steps.length} steps to do)`,
      { path: parsed.path },
    );
  }
  let db: Database.Database;
  try {
    db = new Database(parsed.path, { timeout: parsed.busyTimeout ?? 5000 });
  } catch (error) {
    throw translateError(error, parsed.path);
  }
  try {
    return report(migrateFrom(db), true);
  } finally {
    db.close();
  }
}

/**
 * The SQLite backend's {@link StoreBackend}: `sqlite:`. No `gc`: every operation frees what it
 * supersedes in its own transaction (SQLite reuses the pages; `VACUUM` gives them back to the OS).
 */
export const sqliteStore: StoreBackend = {
  schemes: ['sqlite'],
  open: async (url, options) => openSqliteUrl(url, options),
  bridgeSpec: (url, options) => sqliteBridgeSpec(url, options),
  drop: (url, options) => dropSqliteUrl(url, options),
  namespaces: (url, options) => sqliteNamespaces(url, options),
  migrate: (url, options) => migrateSqliteUrl(url, options),
};
