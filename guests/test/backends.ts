import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VfsStorage, VfsSyncStorage } from '@eryx/vfs-core';
import { createSyncBridge, type SyncBridge } from '@eryx/vfs-core/bridge';
import { memory } from '@eryx/vfs-memory';
import { postgres } from '@eryx/vfs-postgres';
import { s3 } from '@eryx/vfs-s3';
import { sqlite } from '@eryx/vfs-sqlite';
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
  /** A new, empty store; `maxBytes` limits what it may hold. */
  store(options?: { maxBytes?: number }): TestStore;
}

let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now()}-${++counter}`;

/** Memory cannot be reopened: every execution gets the same storage object, which is what persists. */
export const memoryBackend: TestBackend = {
  name: 'memory',
  store(options = {}) {
    const storage = memory({ maxBytes: options.maxBytes });
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
    const path = join(dir, 'guests.db');
    const namespace = unique('ns');
    const opened: VfsStorage[] = [];
    return {
      open() {
        const storage = sqlite({ path, namespace, maxBytes: options.maxBytes });
        opened.push(storage);
        return storage;
      },
      async destroy() {
        for (const storage of opened) await storage.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const require = createRequire(import.meta.url);

function env(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: the guests' globalSetup (test/servers.ts) starts the servers`);
  return value;
}

/** Deletes everything below `dir` (the stores of servers given by the environment outlive the tests). */
async function removeTree(storage: VfsStorage, dir: string): Promise<void> {
  for (const entry of await storage.list(dir)) {
    const path = dir === '/' ? `/${entry.name}` : `${dir}/${entry.name}`;
    if (entry.kind === 'directory') {
      await removeTree(storage, path);
      await storage.rmdir(path);
    } else {
      await storage.delete(path);
    }
  }
}

/** A store behind the sync bridge: each `open` is a new bridge (a new worker and backend client). */
function bridged(
  module: string,
  exportName: string,
  options: (maxBytes?: number) => unknown,
  cleanup: () => Promise<void>,
) {
  return (maxBytes?: number): TestStore => {
    const bridges: SyncBridge[] = [];
    const spec = { module, export: exportName, options: options(maxBytes) };
    return {
      open() {
        const bridge = createSyncBridge(spec);
        bridges.push(bridge);
        return bridge;
      },
      async destroy() {
        for (const bridge of bridges) bridge.close();
        await cleanup();
      },
    };
  };
}

/** PostgreSQL through the sync bridge, one namespace per store (quota: the backend's own limits). */
export const postgresBackend: TestBackend = {
  name: 'postgres (sync bridge)',
  store(options = {}) {
    const namespace = unique('guests');
    return bridged(
      pathToFileURL(require.resolve('@eryx/vfs-postgres')).href,
      'postgres',
      (maxBytes) => ({
        connectionString: env('VFS_POSTGRES_URL'),
        namespace,
        limits: maxBytes === undefined ? undefined : { maxBytes },
      }),
      () => postgres({ connectionString: env('VFS_POSTGRES_URL'), namespace }).destroy(),
    )(options.maxBytes);
  },
};

/** S3 through the sync bridge, one key prefix per store (quota: core's limits wrapper). */
export const s3Backend: TestBackend = {
  name: 's3 (sync bridge)',
  store(options = {}) {
    const prefix = `${unique('guests')}/`;
    const connection = () => ({
      endpoint: env('VFS_S3_ENDPOINT'),
      region: env('VFS_S3_REGION'),
      credentials: {
        accessKeyId: env('VFS_S3_ACCESS_KEY_ID'),
        secretAccessKey: env('VFS_S3_SECRET_ACCESS_KEY'),
      },
      forcePathStyle: true,
      bucket: env('VFS_S3_BUCKET'),
      prefix,
    });
    return bridged(
      new URL('./worker-backends.mjs', import.meta.url).href,
      'limitedS3',
      (maxBytes) => ({ ...connection(), limits: maxBytes === undefined ? undefined : { maxBytes } }),
      async () => {
        const storage = s3(connection());
        try {
          await removeTree(storage, '/');
        } finally {
          await storage.close();
        }
      },
    )(options.maxBytes);
  },
};

/** Every backend the guest tests run on. */
export const allBackends: TestBackend[] = [memoryBackend, sqliteBackend, postgresBackend, s3Backend];

/** Both ways a guest can be transpiled: jco's glue, and the host's direct lowerings. */
export const BINDINGS: readonly GuestBindings[] = ['js', 'hybrid'];

/** Every backend under both bindings, for `describe.each` ('$name, $bindings bindings'). */
export const backendsAndBindings = allBackends.flatMap((backend) =>
  BINDINGS.map((bindings) => ({ name: backend.name, store: backend.store.bind(backend), bindings })),
);
