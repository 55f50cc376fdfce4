import { randomUUID } from 'node:crypto';
import { runConformance, SUITES, type SuiteName } from '@eryx/vfs-conformance';
import type { VfsStorage } from '@eryx/vfs-core';
import pg from 'pg';
import { afterAll } from 'vitest';
import { type PostgresStorage, postgres } from '../src/index.js';

const url = process.env.VFS_POSTGRES_URL;
const raw = new pg.Pool({ connectionString: url, max: 2 });
afterAll(() => raw.end());

runConformance({
  name: 'postgres',
  forms: ['async'],
  create: () => postgres({ connectionString: url, namespace: `conformance-${randomUUID()}` }),
  // Another process's view of the namespace: its own pool, nothing shared in memory.
  reopen: (s) => postgres({ connectionString: url, namespace: (s as PostgresStorage).namespace }),
  destroy: (s) => (s as PostgresStorage).destroy(),
  probe: {
    // The file's bytes straight from vfs_chunks: a missing chunk or a short one reads as zeros.
    async readRaw(storage: VfsStorage, path: string) {
      const { namespace, schema } = storage as PostgresStorage;
      const { rows } = await raw.query<{
        size: string;
        chunk_size: number;
        idx: string | null;
        data: Buffer | null;
      }>(
        `SELECT e.size, n.chunk_size, c.idx, c.data FROM "${schema}".vfs_entries e
         JOIN "${schema}".vfs_namespaces n ON n.ns = e.ns
         LEFT JOIN "${schema}".vfs_chunks c ON c.ns = e.ns AND c.ino = e.ino
         WHERE e.ns = $1 AND e.path = $2 AND e.kind = 'file'`,
        [namespace, path],
      );
      if (rows.length === 0) return undefined;
      const out = new Uint8Array(Number(rows[0]!.size));
      for (const row of rows) {
        if (row.data) out.set(row.data, Number(row.idx) * rows[0]!.chunk_size);
      }
      return out;
    },
  },
});

// The limits sub-suite runs only against a store that declares limits: the same backend, with its
// native limits set. Everything else ran above.
runConformance({
  name: 'postgres with limits',
  forms: ['async'],
  create: () =>
    postgres({
      connectionString: url,
      namespace: `conformance-limits-${randomUUID()}`,
      limits: { maxBytes: 2 * 1024 * 1024, maxFiles: 60, maxFileSize: 512 * 1024, maxPathLength: 240 },
    }),
  reopen: (s) => {
    const { namespace, limits } = s as PostgresStorage;
    return postgres({ connectionString: url, namespace, limits });
  },
  destroy: (s) => (s as PostgresStorage).destroy(),
  skip: (Object.keys(SUITES) as SuiteName[]).filter((name) => name !== 'limits'),
});
