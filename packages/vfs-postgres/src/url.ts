import {
  expectStoreUrl,
  type ParseStoreUrlOptions,
  type StoreBackend,
  type StoreUrl,
  storeOptions,
} from '@eryx/vfs-core';
import type { SyncBridgeSpec } from '@eryx/vfs-core/bridge';
import { type PostgresOptions, type PostgresStorage, postgres } from './postgres.js';

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

/** The PostgreSQL backend's {@link StoreBackend}: `postgres://` and `postgresql://`. */
export const postgresStore: StoreBackend = {
  schemes: ['postgres'],
  open: async (url, options) => openPostgresUrl(url, options),
  bridgeSpec: (url, options) => postgresBridgeSpec(url, options),
  drop: (url, options) => dropPostgresUrl(url, options),
};
