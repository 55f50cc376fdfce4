import { runConformance } from '@eryx/vfs-conformance';
import type { VfsStorage } from '@eryx/vfs-core';
import { type SqliteStorage, type SqliteSyncStorage, sqlite } from '../src/index.js';
import { randomNamespace, tempDb } from './helpers.js';

/** A second storage on the same file and namespace, with its own connection, as another process opens it. */
function reopen(storage: VfsStorage): SqliteStorage {
  // Both forms carry the SQLite sync twin, which knows its connection, namespace and limits.
  const { db, namespace, limits } = storage.sync as SqliteSyncStorage;
  return sqlite({ path: db.name, namespace, ...limits });
}

runConformance({
  name: 'sqlite',
  create: () => sqlite({ path: tempDb('conformance'), namespace: randomNamespace() }),
  reopen,
  destroy: (s) => s.close(),
  probe: {
    async readRaw(storage, path) {
      // Both forms carry the SQLite sync twin, which knows its connection and namespace.
      const { db, namespace } = storage.sync as SqliteSyncStorage;
      const entry = db
        .prepare<[string, string], { ino: number; size: number; kind: string }>(
          'SELECT ino, size, kind FROM vfs_entries WHERE ns = ? AND path = ?',
        )
        .get(namespace, path);
      if (entry === undefined || entry.kind !== 'file') return undefined;
      const chunkSize = db
        .prepare<[string], number>('SELECT chunk_size FROM vfs_namespaces WHERE ns = ?')
        .pluck()
        .get(namespace)!;
      const out = new Uint8Array(entry.size);
      const chunks = db
        .prepare<[string, number], { idx: number; data: Buffer }>(
          'SELECT idx, data FROM vfs_chunks WHERE ns = ? AND ino = ?',
        )
        .all(namespace, entry.ino);
      for (const { idx, data } of chunks) out.set(data, idx * chunkSize);
      return out;
    },
  },
});

// The same suite on an in-memory database with a tiny chunk size, so that every case crosses
// chunk boundaries. No `reopen`: another connection to ':memory:' is another database.
runConformance({
  name: 'sqlite (:memory:, 1000-byte chunks)',
  create: () => sqlite({ path: ':memory:', namespace: randomNamespace(), chunkSize: 1000 }),
  destroy: (s) => s.close(),
});

// With native limits declared, the kit's limits sub-suite runs against them (the same limits the kit
// runs core's `limits` wrapper with, so every other case still fits).
const MiB = 1024 * 1024;
runConformance({
  name: 'sqlite (native limits)',
  create: () =>
    sqlite({
      path: tempDb('limits'),
      namespace: randomNamespace(),
      maxBytes: 32 * MiB,
      maxFiles: 3000,
      maxFileSize: 8 * MiB,
      maxPathLength: 1024,
    }),
  reopen,
  destroy: (s) => s.close(),
});
