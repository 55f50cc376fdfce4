import { randomUUID } from 'node:crypto';
import { type PostgresServer, startPostgres } from '@eryx/test-servers';
import { DEFAULT_CHUNK_SIZE, dropPostgresUrl, openPostgresUrl } from '@eryx/vfs-postgres';
import pg from 'pg';
import type { BenchBackend, BenchTarget } from '../types.js';

const CS = DEFAULT_CHUNK_SIZE;

const split = (p: string) => {
  const i = p.lastIndexOf('/');
  return [i === 0 ? '/' : p.slice(0, i), p.slice(i + 1)] as const;
};

const buffer = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/**
 * The ceiling: one table of files (path, directory, name, size) and one of fixed-size chunks keyed
 * by path, the same chunk size and uncompressed storage as the VFS (the default, compressed, is
 * slower for these workloads), each operation one plain SQL statement (a CTE where it
 * touches both tables) through the same pool: no namespaces, no kinds, no times, no checks, no
 * locks beyond what the statement takes itself.
 */
async function rawPostgres(pool: pg.Pool): Promise<{ target: BenchTarget; drop(): Promise<void> }> {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  const files = `raw_files_${id}`;
  const chunks = `raw_chunks_${id}`;
  await pool.query(`
    CREATE TABLE ${files} (path text COLLATE "C" PRIMARY KEY, dir text COLLATE "C" NOT NULL,
      name text NOT NULL, size bigint NOT NULL);
    CREATE INDEX ON ${files} (dir);
    CREATE TABLE ${chunks} (path text COLLATE "C", idx bigint, data bytea NOT NULL, PRIMARY KEY (path, idx));
    ALTER TABLE ${chunks} ALTER COLUMN data SET STORAGE EXTERNAL;
    INSERT INTO ${files} VALUES ('/', '', '', 0);
  `);
  // Chunk i of a write of $data at offset $off: the piece it covers, merged into what is stored.
  const piece = (off: string) => `
    SELECT $1::text AS path, i AS idx,
      substring($2::bytea FROM (greatest(i * ${CS} - ${off}, 0) + 1)::integer
        FOR (least(${off} + length($2::bytea) - i * ${CS}, ${CS}) - greatest(${off} - i * ${CS}, 0))::integer) AS p,
      greatest(${off} - i * ${CS}, 0)::integer AS s
    FROM generate_series((${off}) / ${CS}, (${off} + length($2::bytea) - 1) / ${CS}) AS i`;
  const merged = `CASE
      WHEN old.data IS NULL THEN decode(repeat('00', w.s), 'hex') || w.p
      WHEN length(old.data) >= w.s THEN overlay(old.data PLACING w.p FROM w.s + 1)
      ELSE old.data || decode(repeat('00', w.s - length(old.data)), 'hex') || w.p END`;
  const q = async <R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]) =>
    (await pool.query<R>({ name: `${id}_${name}`, text, values })).rows;

  const target: BenchTarget = {
    async mkdir(p) {
      const [dir, name] = split(p);
      await q('mkdir', `INSERT INTO ${files} VALUES ($1, $2, $3, 0)`, [p, dir, name]);
    },
    async write(p, data) {
      const [dir, name] = split(p);
      await q(
        'write',
        `WITH f AS (INSERT INTO ${files} VALUES ($1, $3, $4, length($2::bytea))
                    ON CONFLICT (path) DO UPDATE SET size = excluded.size),
              d AS (DELETE FROM ${chunks} WHERE path = $1 AND idx * ${CS} >= length($2::bytea))
         INSERT INTO ${chunks} SELECT $1, i, substring($2::bytea FROM (i * ${CS} + 1)::integer FOR ${CS})
         FROM generate_series(0, (length($2::bytea) - 1) / ${CS}) AS i
         ON CONFLICT (path, idx) DO UPDATE SET data = excluded.data`,
        [p, buffer(data), dir, name],
      );
    },
    async writeAt(p, offset, data) {
      const [dir, name] = split(p);
      await q(
        'writeAt',
        `WITH f AS (INSERT INTO ${files} VALUES ($1, $4, $5, $3::bigint + length($2::bytea))
                    ON CONFLICT (path) DO UPDATE SET size = greatest(${files}.size, excluded.size)),
              w AS (${piece('$3::bigint')})
         INSERT INTO ${chunks} SELECT w.path, w.idx, ${merged}
         FROM w LEFT JOIN ${chunks} old ON old.path = w.path AND old.idx = w.idx
         ON CONFLICT (path, idx) DO UPDATE SET data = excluded.data`,
        [p, buffer(data), offset, dir, name],
      );
    },
    async readAt(p, offset, length) {
      const rows = await q<{ size: string; idx: string | null; s: number; data: Buffer | null }>(
        'readAt',
        `SELECT f.size, c.idx, greatest($2::bigint - c.idx * ${CS}, 0)::integer AS s,
           substring(c.data FROM (greatest($2::bigint - c.idx * ${CS}, 0) + 1)::integer
             FOR (least($2::bigint + $3::bigint - c.idx * ${CS}, ${CS}) - greatest($2::bigint - c.idx * ${CS}, 0))::integer) AS data
         FROM ${files} f LEFT JOIN ${chunks} c ON c.path = f.path
           AND c.idx BETWEEN $2::bigint / ${CS} AND ($2::bigint + $3::bigint - 1) / ${CS}
         WHERE f.path = $1`,
        [p, offset, length],
      );
      const n = Math.max(0, Math.min(length, Number(rows[0]!.size) - offset));
      const out = new Uint8Array(n);
      for (const r of rows) {
        if (!r.data) continue;
        const at = Number(r.idx) * CS + r.s - offset;
        out.set(r.data.subarray(0, Math.max(0, n - at)), at);
      }
      return out;
    },
    async append(p, data) {
      const [dir, name] = split(p);
      const rows = await q<{ off: string }>(
        'append',
        `WITH f AS (INSERT INTO ${files} VALUES ($1, $3, $4, length($2::bytea))
                    ON CONFLICT (path) DO UPDATE SET size = ${files}.size + excluded.size
                    RETURNING size - length($2::bytea) AS off),
              w AS (${piece('(SELECT off FROM f)')}),
              c AS (INSERT INTO ${chunks} SELECT w.path, w.idx, ${merged}
                    FROM w LEFT JOIN ${chunks} old ON old.path = w.path AND old.idx = w.idx
                    ON CONFLICT (path, idx) DO UPDATE SET data = excluded.data)
         SELECT off FROM f`,
        [p, buffer(data), dir, name],
      );
      return Number(rows[0]!.off);
    },
    async setSize(p, size) {
      const [dir, name] = split(p);
      await q(
        'setSize',
        `WITH f AS (INSERT INTO ${files} VALUES ($1, $3, $4, $2::bigint)
                    ON CONFLICT (path) DO UPDATE SET size = excluded.size),
              d AS (DELETE FROM ${chunks} WHERE path = $1 AND idx * ${CS} >= $2::bigint)
         UPDATE ${chunks} SET data = substring(data FOR ($2::bigint - idx * ${CS})::integer)
         WHERE path = $1 AND idx = $2::bigint / ${CS} AND length(data) > $2::bigint - idx * ${CS}`,
        [p, size, dir, name],
      );
    },
    async list(p) {
      return q<{ name: string }>('list', `SELECT name FROM ${files} WHERE dir = $1`, [p]);
    },
    async stat(p) {
      const rows = await q<{ size: string }>('stat', `SELECT size FROM ${files} WHERE path = $1`, [p]);
      return { size: Number(rows[0]!.size) };
    },
    async delete(p) {
      await q(
        'delete',
        `WITH c AS (DELETE FROM ${chunks} WHERE path = $1) DELETE FROM ${files} WHERE path = $1`,
        [p],
      );
    },
  };
  return {
    target,
    drop: async () => {
      await pool.query(`DROP TABLE ${files}, ${chunks}`);
    },
  };
}

let server: Promise<PostgresServer> | undefined;

const backend: BenchBackend = {
  name: 'postgres',
  async open() {
    server ??= startPostgres();
    const started = await server;
    const pool = new pg.Pool({ connectionString: started.url, max: 4 });
    pool.on('error', () => {});
    // The VFS and the ceiling share the pool, which a URL cannot carry.
    const url = started.storeUrl(`bench-${randomUUID()}`);
    const storage = openPostgresUrl(url, { pool });
    const raw = await rawPostgres(pool);
    return {
      storage,
      raw: raw.target,
      async close() {
        await storage.close();
        await dropPostgresUrl(url, { pool });
        await raw.drop();
        await pool.end();
      },
    };
  },
  async shutdown() {
    if (server) await (await server).stop();
    server = undefined;
  },
};

export default backend;
