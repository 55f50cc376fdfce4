import {
  expectStoreUrl,
  limits,
  type MigrationReport,
  type ParseStoreUrlOptions,
  type StoreBackend,
  type StoreMigrateOptions,
  type StoreNamespaceInfo,
  type StoreUrl,
  type VfsStorage,
} from '@eryx/vfs-core';
import type { SyncBridgeSpec } from '@eryx/vfs-core/bridge';
import { memory } from './index.js';

/**
 * A new, empty memory store from a `memory:` store URL (see `parseStoreUrl`): `maxBytes` is the
 * store's own limit (default 64 MiB), the other limits are enforced by core's `limits` wrapper.
 * Each call is a new store, whatever the namespace.
 */
export function openMemoryUrl(url: string | StoreUrl, options?: ParseStoreUrlOptions): VfsStorage {
  const { limits: max } = expectStoreUrl(url, 'memory', options);
  const storage = memory(max?.maxBytes === undefined ? {} : { limits: { maxBytes: max.maxBytes } });
  const { maxBytes: _native, ...rest } = max ?? {};
  return Object.keys(rest).length > 0 ? limits(storage, rest) : storage;
}

/** The sync bridge spec of a `memory:` URL (a store that lives in the bridge's worker). */
export function memoryBridgeSpec(url: string | StoreUrl, options?: ParseStoreUrlOptions): SyncBridgeSpec {
  return {
    module: new URL('./index.js', import.meta.url).href,
    export: 'openMemoryUrl',
    options: expectStoreUrl(url, 'memory', options),
  };
}

/** Nothing persists, so there is nothing to drop; checks the URL. */
export async function dropMemoryUrl(url: string | StoreUrl, options?: ParseStoreUrlOptions): Promise<void> {
  expectStoreUrl(url, 'memory', options);
}

/**
 * Always `[]`: a `memory:` store lives only inside the object `openMemoryUrl` returns, so no store
 * a URL could name holds namespaces (there is no registry of open stores). Checks the URL.
 */
export async function memoryNamespaces(
  url: string | StoreUrl,
  options?: ParseStoreUrlOptions,
): Promise<StoreNamespaceInfo[]> {
  expectStoreUrl(url, 'memory', options);
  return [];
}

/**
 * Memory stores have no schema (version 0), so there is never anything to migrate: reports
 * `{ from: 0, to: 0, steps: [], applied: false }`, with or without `dryRun`. Checks the URL.
 */
export async function migrateMemoryUrl(
  url: string | StoreUrl,
  options?: StoreMigrateOptions,
): Promise<MigrationReport> {
  expectStoreUrl(url, 'memory', options);
  return { from: 0, to: 0, steps: [], applied: false };
}

/**
 * The memory backend's {@link StoreBackend}: `memory:`. No `gc`: a deleted file's memory is
 * released at once.
 */
export const memoryStore: StoreBackend = {
  schemes: ['memory'],
  open: async (url, options) => openMemoryUrl(url, options),
  bridgeSpec: (url, options) => memoryBridgeSpec(url, options),
  drop: (url, options) => dropMemoryUrl(url, options),
  namespaces: (url, options) => memoryNamespaces(url, options),
  migrate: (url, options) => migrateMemoryUrl(url, options),
};
