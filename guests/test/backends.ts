import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresStoreUrl, s3StoreUrl } from '@eryx/test-servers';
import type { StoreBackend, VfsStorage, VfsSyncStorage } from '@eryx/vfs-core';
import { createSyncBridge, type SyncBridge } from '@eryx/vfs-core/bridge';
import { openMemoryUrl } from '@eryx/vfs-memory';
import { postgresStore } from '@eryx/vfs-postgres';
import { s3Store } from '@eryx/vfs-s3';
import { openSqliteUrl, sqliteStore } from '@eryx/vfs-sqlite';
import type { GuestBindings } from '../src/run.js';

/** A store the guest tests can open several times: each `open` is a fresh storage object on it. */
export interface TestStore {
  open(): VfsSyncStorage | VfsStorage;
  /** Closes every storage object opened and deletes the store. */
  destroy(): Promise<void>;
}

/** A backend under test: makes independent stores. */
export interface TestBackend {
  name: string;
  /** A new, empty store; `maxBytes` (the store URL's `?maxBytes=`) limits what it may hold. */
  store(options?: { maxBytes?: number }): TestStore;
}

let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now()}-${++counter}`;
const query = (maxBytes?: number) => (maxBytes === undefined ? '' : `?maxBytes=${maxBytes}`);

/**
 * The store a URL names: each `open` is a new storage object on it, opened directly (`open`) or
 * through a new sync bridge (a new worker and backend client); `destroy` closes them all, then
 * drops the store with the backend's `drop`.
 */
function urlStore(url: string, backend: StoreBackend, open?: (url: string) => VfsStorage): TestStore {
  const opened: (VfsStorage | SyncBridge)[] = [];
  return {
    open() {
      const storage = open ? open(url) : createSyncBridge(backend.bridgeSpec(url));
      opened.push(storage);
      return storage;
    },
    async destroy() {
      for (const storage of opened) await storage.close();
      await backend.drop(url);
    },
  };
}

/** Memory cannot be reopened: every execution gets the same storage object, which is what persists. */
export const memoryBackend: TestBackend = {
  name: 'memory',
  store(options = {}) {
    const storage = openMemoryUrl(`memory:${query(options.maxBytes)}`);
    return {
      open: () => storage,
      destroy: async () => storage.close(),
    };
  },
};

/** SQLite: each `open` is a new connection to the same database file and namespace. */
export const sqliteBackend: TestBackend = {
  name: 'sqlite',
  store(options = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'eryx-guests-'));
    const store = urlStore(
      `sqlite:${join(dir, 'guests.db')}${query(options.maxBytes)}#${unique('ns')}`,
      sqliteStore,
      openSqliteUrl,
    );
    return {
      open: store.open,
      async destroy() {
        await store.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/** PostgreSQL through the sync bridge, one namespace per store (quota: the backend's own limits). */
export const postgresBackend: TestBackend = {
  name: 'postgres (sync bridge)',
  store: (options = {}) =>
    urlStore(postgresStoreUrl(unique('guests'), { maxBytes: options.maxBytes }), postgresStore),
};

/** S3 through the sync bridge, one key prefix per store (quota: core's limits wrapper). */
export const s3Backend: TestBackend = {
  name: 's3 (sync bridge)',
  store: (options = {}) => urlStore(s3StoreUrl(unique('guests'), { maxBytes: options.maxBytes }), s3Store),
};

/** Every backend the guest tests run on. */
export const allBackends: TestBackend[] = [memoryBackend, sqliteBackend, postgresBackend, s3Backend];

/** Both ways a guest can be transpiled: jco's glue, and the host's direct lowerings. */
export const BINDINGS: readonly GuestBindings[] = ['js', 'hybrid'];

/** Every backend under both bindings, for `describe.each` ('$name, $bindings bindings'). */
export const backendsAndBindings = allBackends.flatMap((backend) =>
  BINDINGS.map((bindings) => ({ name: backend.name, store: backend.store.bind(backend), bindings })),
);
