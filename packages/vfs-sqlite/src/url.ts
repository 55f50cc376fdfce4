import { existsSync } from 'node:fs';
import {
  expectStoreUrl,
  type ParseStoreUrlOptions,
  type StoreBackend,
  type StoreUrl,
  storeOptions,
  VfsError,
} from '@eryx/vfs-core';
import type { SyncBridgeSpec } from '@eryx/vfs-core/bridge';
import Database from 'better-sqlite3';
import { translateError } from './errors.js';
import { dropNamespace, schemaVersion } from './schema.js';
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

/** The SQLite backend's {@link StoreBackend}: `sqlite:`. */
export const sqliteStore: StoreBackend = {
  schemes: ['sqlite'],
  open: async (url, options) => openSqliteUrl(url, options),
  bridgeSpec: (url, options) => sqliteBridgeSpec(url, options),
  drop: (url, options) => dropSqliteUrl(url, options),
};
