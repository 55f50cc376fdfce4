import {
  expectStoreUrl,
  limits,
  type ParseStoreUrlOptions,
  type StoreBackend,
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

/** The memory backend's {@link StoreBackend}: `memory:`. */
export const memoryStore: StoreBackend = {
  schemes: ['memory'],
  open: async (url, options) => openMemoryUrl(url, options),
  bridgeSpec: (url, options) => memoryBridgeSpec(url, options),
  drop: (url, options) => dropMemoryUrl(url, options),
};
