import {
  expectStoreUrl,
  isVfsError,
  type MigrationReport,
  type ParseStoreUrlOptions,
  type PostgresStoreUrl,
  type StoreBackend,
  type StoreMigrateOptions,
  type StoreNamespaceInfo,
  type StoreUrl,
  storeOptions,
  VfsError,
} from '@eryx/vfs-core';
import type { SyncBridgeSpec } from '@eryx/vfs-core/bridge';
import {
  listNamespaces,
  migrateSchema,
  type PostgresConnectionOptions,
  type PostgresOptions,
  type PostgresStorage,
  postgres,
} from './postgres.js';

/** Options of {@link openPostgresUrl}: what a URL cannot carry (a pool, pool tuning, retries). */
export interface PostgresUrlOptions
  extends ParseStoreUrlOptions,
    Pick<PostgresOptions, 'pool' | 'poolConfig' | 'chunkSize' | 'migrate' | 'maxRetries'> {}

/**
 * Opens a namespace of a PostgreSQL database from a `postgres://` or `postgresql://` store URL (see
 * `parseStoreUrl`), e.g. `postgres://vfs@db:5432/app?schema=files&maxBytes=1GiB#user-42`: the URL
 * without this project's parameters is the `connectionString`, and `schema`, `chunkSize` and the
 * limits become the {@link postgres} options of the same names (`options` override them). Without
 * a fragment the namespace is `default`. Connects lazily, like {@link postgres}.
 */
export function openPostgresUrl(url: string | StoreUrl, options: PostgresUrlOptions = {}): PostgresStorage {
  const { cwd, ...overrides } = options;
  const parsed = expectStoreUrl(url, 'postgres', { cwd });
  const merged = storeOptions<PostgresOptions>(
    {
      connectionString: parsed.connectionString,
      schema: parsed.schema,
      namespace: parsed.namespace,
      chunkSize: parsed.chunkSize,
      limits: parsed.limits,
    },
    overrides,
  );
  return postgres(merged);
}

/**
 * The sync bridge spec that opens the same namespace in the bridge's worker (how the WASI host
 * reaches PostgreSQL): `createSyncBridge(postgresBridgeSpec(url))`. The spec holds the password.
 */
export function postgresBridgeSpec(url: string | StoreUrl, options?: ParseStoreUrlOptions): SyncBridgeSpec {
  return {
    module: new URL('./index.js', import.meta.url).href,
    export: 'openPostgresUrl',
    options: expectStoreUrl(url, 'postgres', options),
  };
}

/**
 * Deletes the URL's namespace (default `default`) with all its files, in one transaction
 * ({@link PostgresStorage.destroy}). Creates the schema if the database has none yet.
 */
export async function dropPostgresUrl(url: string | StoreUrl, options?: PostgresUrlOptions): Promise<void> {
  await openPostgresUrl(url, options).destroy();
}

/** Options of {@link postgresNamespaces} and {@link migratePostgresUrl}: a pool of your own, if any. */
export interface PostgresUrlAdminOptions
  extends ParseStoreUrlOptions,
    Pick<PostgresConnectionOptions, 'pool' | 'poolConfig'> {}

/** Runs `fn` on the URL's connection options; a missing database is `not-found`. */
async function administer<T>(
  parsed: PostgresStoreUrl,
  options: PostgresUrlAdminOptions,
  fn: (connection: PostgresConnectionOptions) => Promise<T>,
): Promise<T> {
  const { cwd: _cwd, ...overrides } = options;
  const connection = storeOptions<PostgresConnectionOptions>(
    { connectionString: parsed.connectionString, schema: parsed.schema },
    overrides,
  );
  try {
    return await fn(connection);
  } catch (error) {
    if (isVfsError(error) && (error.cause as { code?: unknown } | undefined)?.code === '3D000') {
      throw new VfsError(
        'not-found',
        `store URL ${JSON.stringify(parsed.href)}: the database does not exist`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

/**
 * The namespaces of the URL's PostgreSQL schema (default `public`), sorted, with `files` and `bytes`
 * from their usage rows (schema version 3 on; `bytes` counts names from version 4 on, as
 * `maxBytes` does); the URL's namespace is ignored. Only reads: a schema without eryx-vfs tables has
 * none, and is not created.
 * @throws {VfsError} `not-found` when the database does not exist; `unsupported` for a newer schema
 */
export async function postgresNamespaces(
  url: string | StoreUrl,
  options: PostgresUrlAdminOptions = {},
): Promise<StoreNamespaceInfo[]> {
  const parsed = expectStoreUrl(url, 'postgres', { cwd: options.cwd });
  return administer(parsed, options, listNamespaces);
}

/**
 * Creates or upgrades the tables and functions of the URL's PostgreSQL schema (`migrate`, as the
 * first operation of a storage does; version 2 to 3 counts every namespace's usage once, 3 to 4
 * recounts it with names) and
 * reports the version before (`null`: no eryx-vfs tables), the steps and whether anything was
 * written. With `dryRun` it only reads (not even the schema is created).
 * @throws {VfsError} `not-found` when the database does not exist; `unsupported` for a newer schema
 */
export async function migratePostgresUrl(
  url: string | StoreUrl,
  options: StoreMigrateOptions & PostgresUrlAdminOptions = {},
): Promise<MigrationReport> {
  const { dryRun = false, ...rest } = options;
  const parsed = expectStoreUrl(url, 'postgres', { cwd: rest.cwd });
  const { from, to, steps } = await administer(parsed, rest, (connection) =>
    migrateSchema(connection, dryRun),
  );
  return { from: from === 0 ? null : from, to, steps, applied: !dryRun && steps.length > 0 };
}

/**
 * The PostgreSQL backend's {@link StoreBackend}: `postgres://` and `postgresql://`. No `gc`: every
 * operation deletes what it supersedes in its own transaction (autovacuum reclaims the rows).
 */
export const postgresStore: StoreBackend = {
  schemes: ['postgres'],
  open: async (url, options) => openPostgresUrl(url, options),
  bridgeSpec: (url, options) => postgresBridgeSpec(url, options),
  drop: (url, options) => dropPostgresUrl(url, options),
  namespaces: (url, options) => postgresNamespaces(url, options),
  migrate: (url, options) => migratePostgresUrl(url, options),
};
