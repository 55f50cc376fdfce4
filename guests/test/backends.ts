import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VfsStorage, VfsSyncStorage } from '@eryx/vfs-core';
import { memory } from '@eryx/vfs-memory';
import { sqlite } from '@eryx/vfs-sqlite';

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
