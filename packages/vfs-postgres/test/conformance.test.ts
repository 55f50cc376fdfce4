import { randomUUID } from 'node:crypto';
import { runConformance, SUITES, type SuiteName } from '@eryx/vfs-conformance';
import type { VfsStorage } from '@eryx/vfs-core';
import pg from 'pg';
import { afterAll, expect } from 'vitest';
import { type PostgresStorage, postgres } from '../src/index.js';

const url = process.env.VFS_POSTGRES_URL;
const raw = new pg.Pool({ connectionString: url, max: 2 });
afterAll(() => raw.end());

/**
 * Checks that the namespace's usage row equals a recount (whatever the test did): files and links,
 * each once whatever its names (hard links), and their sizes plus every name's bytes (the root's
 * name is ''); and that every name of a file agrees with the others and counts them. Then drops the
 * namespace.
 */
async function destroy(storage: VfsStorage): Promise<void> {
  const { namespace, schema } = storage as PostgresStorage;
  try {
    // A store the kit only looked at (its capabilities) never touched the database.
    const table = await raw.query('SELECT to_regclass($1) AS t', [`"${schema}".vfs_namespaces`]);
    if (table.rows[0].t === null) return;
    const { rows } = await raw.query<{ row: string; recount: string }>(
      `SELECT n.files || '/' || n.bytes AS row,
         (SELECT count(DISTINCT ino) FROM "${schema}".vfs_entries e WHERE e.ns = n.ns AND kind <> 'directory')
         || '/' || ((SELECT coalesce(sum(octet_length(name)), 0) FROM "${schema}".vfs_entries e WHERE e.ns = n.ns)
           + (SELECT coalesce(sum(size), 0) FROM (SELECT DISTINCT ino, size FROM "${schema}".vfs_entries e
              WHERE e.ns = n.ns) AS f)) AS recount
       FROM "${schema}".vfs_namespaces n WHERE n.ns = $1`,
      [namespace],
    );
    if (rows[0]) expect(rows[0].row, `usage row (files/bytes) of ${namespace}`).toBe(rows[0].recount);
    // One pass, grouped by inode: a query per row would be quadratic on the kit's large trees.
    const names = await raw.query(
      `SELECT ino FROM "${schema}".vfs_entries WHERE ns = $1 GROUP BY ino
       HAVING count(*) <> max(nlink) OR count(DISTINCT ROW(kind, size, target, created, modified, accessed,
         modified_ns, accessed_ns, nlink)) > 1`,
      [namespace],
    );
    expect(names.rows, `names of ${namespace} that disagree with their file`).toEqual([]);
  } finally {
    await (storage as PostgresStorage).destroy();
  }
}

runConformance({
  name: 'postgres',
  forms: ['async'],
  create: () => postgres({ connectionString: url, namespace: `conformance-${randomUUID()}` }),
  // Another process's view of the namespace: its own pool, nothing shared in memory.
  reopen: (s) => postgres({ connectionString: url, namespace: (s as PostgresStorage).namespace }),
  destroy,
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
  destroy,
  skip: (Object.keys(SUITES) as SuiteName[]).filter((name) => name !== 'limits'),
});
