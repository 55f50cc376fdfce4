import { randomUUID } from 'node:crypto';
import { isVfsError, nsToMs, type VfsError } from '@eryx/vfs-core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  migrate,
  type PostgresOptions,
  type PostgresStorage,
  postgres,
  SCHEMA_VERSION,
} from '../src/index.js';
import { migrationSql } from '../src/schema.js';

const url = process.env.VFS_POSTGRES_URL!;
const admin = new pg.Pool({ connectionString: url, max: 4 });
admin.on('error', () => {});
const opened: PostgresStorage[] = [];
afterAll(async () => {
  await Promise.allSettled(opened.map((s) => s.destroy()));
  await admin.end();
});

function open(options: PostgresOptions = {}): PostgresStorage {
  const storage = postgres({ connectionString: url, namespace: `test-${randomUUID()}`, ...options });
  opened.push(storage);
  return storage;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

async function rejection(promise: Promise<unknown>): Promise<VfsError> {
  try {
    await promise;
  } catch (error) {
    expect(isVfsError(error), `not a VfsError: ${String(error)}`).toBe(true);
    return error as VfsError;
  }
  throw new Error('expected a rejection');
}

/** Every entry's parent exists and is a directory: no orphans after concurrent tree changes. */
async function expectNoOrphans(ns: string, schema = 'public'): Promise<void> {
  const { rows } = await admin.query(
    `SELECT e.path FROM "${schema}".vfs_entries e
     LEFT JOIN "${schema}".vfs_entries p ON p.ns = e.ns AND p.path = e.parent AND p.kind = 'directory'
     WHERE e.ns = $1 AND e.path <> '/' AND p.path IS NULL`,
    [ns],
  );
  expect(rows).toEqual([]);
  const chunks = await admin.query(
    `SELECT c.ino FROM "${schema}".vfs_chunks c
     LEFT JOIN "${schema}".vfs_entries e ON e.ns = c.ns AND e.ino = c.ino AND e.kind = 'file'
     WHERE c.ns = $1 AND e.ino IS NULL`,
    [ns],
  );
  expect(chunks.rows).toEqual([]);
  await expectAlikeNames(ns, schema);
}

/**
 * Every name (row) of a file says how many it has, and all show the same file: kind, size, target,
 * times. A change that missed one name, or a count that missed a link, shows here.
 */
async function expectAlikeNames(ns: string, schema = 'public'): Promise<void> {
  const { rows } = await admin.query(
    `SELECT ino, array_agg(path) AS names FROM "${schema}".vfs_entries WHERE ns = $1 GROUP BY ino
     HAVING count(*) <> max(nlink) OR count(DISTINCT ROW(kind, size, target, created, modified, accessed,
       modified_ns, accessed_ns, nlink)) > 1`,
    [ns],
  );
  expect(rows, 'names that disagree with their file').toEqual([]);
}

/**
 * The namespace's usage counted from its entries (names included), to compare with its usage row: a
 * file (an inode) counts once, whatever its names, and every name counts its bytes.
 */
async function recount(ns: string, schema = 'public'): Promise<{ files: number; bytes: number }> {
  const { rows } = await admin.query<{ files: string; bytes: string }>(
    `SELECT (SELECT count(DISTINCT ino) FROM "${schema}".vfs_entries WHERE ns = $1 AND kind <> 'directory') AS files,
       (SELECT coalesce(sum(octet_length(name)), 0) FROM "${schema}".vfs_entries WHERE ns = $1)
       + (SELECT coalesce(sum(size), 0) FROM (SELECT DISTINCT ino, size FROM "${schema}".vfs_entries WHERE ns = $1) AS f)
         AS bytes`,
    [ns],
  );
  return { files: Number(rows[0]!.files), bytes: Number(rows[0]!.bytes) };
}

async function expectExactUsage(s: PostgresStorage): Promise<void> {
  const { files, bytes } = await s.info();
  expect({ files, bytes }).toEqual(await recount(s.namespace, s.schema));
}

describe('operations', () => {
  it('keeps bytes across chunks, gaps, truncation and re-extension', async () => {
    const s = open({ chunkSize: 1024 });
    await s.mkdir('/d');
    await s.write('/d/a', bytes('hello'));
    await s.writeAt('/d/a', 3000, bytes('xyz'));
    const all = await s.read('/d/a');
    expect(all.length).toBe(3003);
    expect(text(all.subarray(0, 5))).toBe('hello');
    expect(all.subarray(5, 3000).every((b) => b === 0)).toBe(true);
    expect(Buffer.from(await s.readAt('/d/a', 2999, 10)).toString('hex')).toBe('0078797a');
    expect(await s.append('/d/a', bytes('!'))).toBe(3003);
    await s.setSize('/d/a', 2);
    await s.setSize('/d/a', 6);
    expect(Buffer.from(await s.read('/d/a')).toString('hex')).toBe('686500000000');
    await s.rename('/d', '/e');
    expect(await s.list('/e')).toEqual([{ name: 'a', kind: 'file', size: 6 }]);
    expect((await rejection(s.rmdir('/e'))).code).toBe('directory-not-empty');
  });

  it('renames directories whose names hold LIKE wildcards and sort next to the prefix', async () => {
    const s = open();
    for (const dir of ['/a%', '/a%/x_', '/a_', '/a%b', '/a%-', '/a%0']) await s.mkdir(dir);
    await s.write('/a%/x_/f', bytes('1'));
    await s.write('/a_/g', bytes('2'));
    await s.write('/a%b/h', bytes('3'));
    await s.rename('/a%', '/moved');
    expect(text(await s.read('/moved/x_/f'))).toBe('1');
    expect(text(await s.read('/a_/g'))).toBe('2');
    expect(text(await s.read('/a%b/h'))).toBe('3');
    expect((await s.list('/')).map((e) => e.name).sort()).toEqual(['a%-', 'a%0', 'a%b', 'a_', 'moved']);
    await expectNoOrphans(s.namespace);
  });

  it('keeps the chunk size a namespace was created with', async () => {
    const first = open({ chunkSize: 1000 });
    const data = new Uint8Array(5000).map((_, i) => i % 251);
    await first.write('/f', data);
    const again = postgres({ connectionString: url, namespace: first.namespace });
    expect(Buffer.compare(await again.read('/f'), data)).toBe(0);
    expect(Array.from(await again.readAt('/f', 999, 3))).toEqual(Array.from(data.subarray(999, 1002)));
    await again.close();
    const other = postgres({ connectionString: url, namespace: first.namespace, chunkSize: 4096 });
    const error = await rejection(other.read('/f'));
    expect(error.code).toBe('invalid-argument');
    expect(error.message).toMatch(/chunkSize 1000/);
    await other.close();
  });

  it('isolates namespaces', async () => {
    const a = open();
    const b = open();
    await a.write('/same', bytes('a'));
    expect(await b.exists('/same')).toBe(false);
    await b.write('/same', bytes('b'));
    expect(text(await a.read('/same'))).toBe('a');
  });

  it('stores times set in nanoseconds exactly, next to their milliseconds', async () => {
    const s = open();
    expect(s.capabilities.nanosecondTimes).toBe(true);
    const N = 1_733_000_000_123_456_789n; // beyond 2^53: a double would lose the last digits
    const stored = async (p: string) =>
      (
        await admin.query(
          `SELECT modified, modified_ns::text, accessed, accessed_ns::text FROM vfs_entries WHERE ns = $1 AND path = $2`,
          [s.namespace, p],
        )
      ).rows[0];
    await s.write('/f', bytes('x'));
    await s.setTimes('/f', { modified: N, accessed: N - 1n });
    expect(await stored('/f')).toEqual({
      modified: nsToMs(N),
      modified_ns: String(N),
      accessed: nsToMs(N - 1n),
      accessed_ns: String(N - 1n),
    });
    expect(await s.stat('/f')).toMatchObject({ modified: nsToMs(N), modifiedNs: N, accessedNs: N - 1n });
    // 100 ns earlier is another time, not the same double of milliseconds read back.
    await s.setTimes('/f', { modified: N - 100n });
    expect(await s.stat('/f')).toMatchObject({ modifiedNs: N - 100n, accessedNs: N - 1n });
    // A number clears its companion in the same statement; a write leaves it stale, and stat drops it.
    await s.setTimes('/f', { accessed: 5 });
    expect(await stored('/f')).toMatchObject({
      accessed: 5,
      accessed_ns: null,
      modified_ns: String(N - 100n),
    });
    await s.append('/f', bytes('y'));
    expect(await stored('/f')).toMatchObject({ modified_ns: String(N - 100n) });
    const meta = await s.stat('/f');
    expect(meta).not.toHaveProperty('modifiedNs');
    expect(meta).not.toHaveProperty('accessedNs');
    // Renames, directories and the ends of the range: the kit's `times` sub-suite.
  });
});

describe('hard links', () => {
  /** The rows of a namespace's files, by path: what each name stores. */
  async function rows(s: PostgresStorage) {
    const { rows } = await admin.query<{ path: string; ino: string; nlink: number; size: string }>(
      `SELECT path, ino, nlink, size FROM vfs_entries WHERE ns = $1 AND kind <> 'directory' ORDER BY path`,
      [s.namespace],
    );
    return rows;
  }
  const chunkCount = async (s: PostgresStorage) =>
    (await admin.query(`SELECT count(*)::int AS n FROM vfs_chunks WHERE ns = $1`, [s.namespace])).rows[0].n;

  it('stores one row per name on one ino, changes them all, and frees the chunks with the last', async () => {
    const s = open({ chunkSize: 1024 });
    await s.mkdir('/d');
    await s.write('/a', new Uint8Array(3000).fill(1));
    await s.link('/a', '/d/b');
    await s.link('/d/b', '/c');
    const [a, b, c] = await rows(s);
    expect([a!.ino, b!.ino]).toEqual([c!.ino, c!.ino]);
    expect((await rows(s)).map((r) => r.nlink)).toEqual([3, 3, 3]);
    expect(await chunkCount(s)).toBe(3);
    expect(await s.stat('/c')).toMatchObject({ linkCount: 3, id: a!.ino, size: 3000 });
    // Each change through one name reaches every row.
    await s.append('/c', bytes('x'));
    await s.setSize('/d/b', 2049);
    await s.writeAt('/a', 5000, bytes('y'));
    await s.setTimes('/d/b', { modified: 1_000_000_000_000n, accessed: 7 });
    await expectNoOrphans(s.namespace);
    expect((await s.stat('/a')).modifiedNs).toBe(1_000_000_000_000n);
    await expectExactUsage(s);
    expect(await s.info()).toMatchObject({ files: 1, bytes: 5001 + 1 + 1 + 1 + 1 });
    // A name renamed, its directory renamed: still a name of the file.
    await s.rename('/c', '/d/c');
    await s.rename('/d', '/e');
    expect((await rows(s)).map((r) => [r.path, r.nlink])).toEqual([
      ['/a', 3],
      ['/e/b', 3],
      ['/e/c', 3],
    ]);
    await s.delete('/a');
    await s.delete('/e/b');
    expect(await s.stat('/e/c')).toMatchObject({ linkCount: 1, size: 5001 });
    expect(await chunkCount(s)).toBe(4); // 0-2 and 4: 3 was never written
    await expectExactUsage(s);
    await s.delete('/e/c');
    expect(await chunkCount(s)).toBe(0);
    expect(await s.info()).toMatchObject({ files: 0, bytes: 1 });
  });

  it('renames onto another name of the file as a no-op, and over one name of another file', async () => {
    const s = open();
    await s.write('/a', bytes('first'));
    await s.link('/a', '/b');
    await s.rename('/a', '/b');
    expect((await rows(s)).map((r) => [r.path, r.nlink])).toEqual([
      ['/a', 2],
      ['/b', 2],
    ]);
    await s.write('/x', bytes('second'));
    await s.link('/x', '/y');
    // Replacing /b frees its name only: /a keeps the data. Replacing the last name frees the file.
    await s.rename('/y', '/b');
    expect(text(await s.read('/a'))).toBe('first');
    expect(await s.stat('/a')).toMatchObject({ linkCount: 1 });
    expect(await s.stat('/b')).toMatchObject({ linkCount: 2, size: 6 });
    await expectExactUsage(s);
    await s.write('/z', bytes('third'));
    await s.rename('/z', '/a');
    expect(text(await s.read('/x'))).toBe('second');
    expect(await chunkCount(s)).toBe(2);
    await expectExactUsage(s);
    await expectNoOrphans(s.namespace);
  });

  it('links symbolic links as themselves', async () => {
    const s = open();
    await s.symlink('/l', 'target');
    await s.link('/l', '/m');
    expect(await s.readlink('/m')).toBe('target');
    expect(await s.stat('/m')).toMatchObject({ kind: 'symlink', size: 6, linkCount: 2 });
    await s.delete('/l');
    expect(await s.stat('/m')).toMatchObject({ kind: 'symlink', linkCount: 1 });
    await expectExactUsage(s);
  });

  it('finds the names of a linked file with the partial index, even in generic plans on empty tables', async () => {
    const schema = `vfs_${randomUUID().replaceAll('-', '')}`;
    await migrate({ connectionString: url, schema });
    const client = await admin.connect();
    try {
      // The statements the functions run on the names of a linked file, planned as the functions'
      // cached plans are (force_generic_plan): no statistics yet, parameters unknown.
      await client.query('SET plan_cache_mode = force_generic_plan');
      const plan = async (sql: string) => {
        await client.query(`PREPARE names_plan (text, bigint, integer, text) AS ${sql}`);
        try {
          const { rows } = await client.query(`EXPLAIN EXECUTE names_plan ('ns', 1, 2, '/p')`);
          return rows.map((r) => r['QUERY PLAN']).join('\n');
        } finally {
          await client.query('DEALLOCATE names_plan');
        }
      };
      const t = `"${schema}".vfs_entries`;
      for (const sql of [
        `SELECT 1 FROM ${t} e WHERE e.ns = $1 AND e.ino = $2 AND e.nlink > 1 ORDER BY e.path FOR NO KEY UPDATE`,
        `UPDATE ${t} SET size = $3 WHERE ns = $1 AND ino = $2 AND nlink > 1`,
        `UPDATE ${t} SET nlink = nlink - 1 WHERE ns = $1 AND ino = $2 AND nlink > 1`,
        `UPDATE ${t} SET nlink = $3 WHERE ns = $1 AND ino = $2 AND nlink > 1 AND path <> $4`,
      ]) {
        expect(await plan(sql), sql).toMatch(/Index Scan using vfs_entries_links/);
      }
    } finally {
      await client.query('RESET plan_cache_mode');
      client.release();
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });
});

describe('round trips and cost', () => {
  /** A pool that counts the statements sent through `query`. */
  function countingPool(): { pool: pg.Pool; count: () => number } {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => {});
    let n = 0;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as { query: unknown }).query = (...args: unknown[]) => {
      n++;
      return query(...args);
    };
    return { pool, count: () => n };
  }

  it('runs every operation in one statement', async () => {
    const { pool, count } = countingPool();
    const s = postgres({ pool, namespace: `rt-${randomUUID()}` });
    await s.exists('/'); // first use: migration check and namespace setup
    const ops: [string, () => Promise<unknown>][] = [
      ['mkdir', () => s.mkdir('/d')],
      ['write', () => s.write('/d/f', new Uint8Array(300_000))],
      ['writeAt', () => s.writeAt('/d/f', 100_000, new Uint8Array(4096))],
      ['append', () => s.append('/d/f', bytes('x'))],
      ['create', () => s.create('/lock')],
      ['failing create', () => s.create('/lock').catch(() => undefined)],
      ['symlink', () => s.symlink('/link', 'd/f')],
      ['link', () => s.link('/d/f', '/d/g')],
      ['failing link', () => s.link('/d/f', '/d/g').catch(() => undefined)],
      ['readlink', () => s.readlink('/link')],
      ['read of a link', () => s.read('/link').catch(() => undefined)],
      ['readAt', () => s.readAt('/d/f', 5, 200_000)],
      ['read', () => s.read('/d/f')],
      ['stat', () => s.stat('/d/f')],
      ['list', () => s.list('/d')],
      ['setSize', () => s.setSize('/d/f', 10)],
      ['setTimes', () => s.setTimes('/d/f', { modified: 1 })],
      ['rename', () => s.rename('/d', '/e')],
      ['delete of one of two names', () => s.delete('/e/f')],
      ['delete of the last name', () => s.delete('/e/g')],
      ['rmdir', () => s.rmdir('/e')],
      ['failing read', () => s.read('/missing').catch(() => undefined)],
    ];
    for (const [name, op] of ops) {
      const before = count();
      await op();
      expect(count() - before, name).toBe(1);
    }
    await s.destroy();
    await pool.end();
  });

  it('lists 2,000 entries in one statement', async () => {
    const { pool, count } = countingPool();
    const s = postgres({ pool, namespace: `list-${randomUUID()}` });
    await s.mkdir('/big');
    await Promise.all(Array.from({ length: 2000 }, (_, i) => s.write(`/big/f${i}`, bytes(String(i)))));
    const before = count();
    const entries = await s.list('/big');
    expect(count() - before).toBe(1);
    expect(entries).toHaveLength(2000);
    await s.destroy();
    await pool.end();
  });

  it('rewrites one chunk for a 4 KiB writeAt, whatever the file size', async () => {
    const s = open();
    for (const size of [1 << 20, 32 << 20]) {
      const path = `/f${size}`;
      await s.write(path, new Uint8Array(size));
      const { rows: before } = await admin.query<{ xid: string }>('SELECT txid_current()::text AS xid');
      await s.writeAt(path, size / 2 + 100, new Uint8Array(4096).fill(7));
      // Tuples the writeAt's transaction wrote carry its (newer) transaction id as xmin.
      const { rows } = await admin.query<{ idx: string }>(
        `SELECT c.idx FROM vfs_chunks c JOIN vfs_entries e ON e.ns = c.ns AND e.ino = c.ino
         WHERE e.ns = $1 AND e.path = $2 AND c.xmin::text::bigint > $3::bigint`,
        [s.namespace, path, before[0]!.xid],
      );
      expect(rows).toEqual([{ idx: String(Math.floor((size / 2 + 100) / 65536)) }]);
      const back = await s.readAt(path, size / 2, 8192);
      expect(back.subarray(100, 4196).every((b) => b === 7)).toBe(true);
    }
  });
});

describe('concurrency', () => {
  it('loses nothing when 10 clients on separate pools append to one file and create files in one directory', async () => {
    const first = open();
    await first.mkdir('/shared');
    const clients = Array.from({ length: 10 }, () =>
      postgres({ connectionString: url, namespace: first.namespace, poolConfig: { max: 3 } }),
    );
    const offsets: number[] = [];
    await Promise.all(
      clients.map(async (client, c) => {
        await Promise.all(
          Array.from({ length: 30 }, async (_, i) => {
            const record = `<${String(c).padStart(2, '0')}:${String(i).padStart(3, '0')}>`;
            offsets.push(await client.append('/shared/log', bytes(record)));
            await client.write(`/shared/c${c}-${i}`, bytes(record));
          }),
        );
      }),
    );
    const log = text(await first.read('/shared/log'));
    expect(log.length).toBe(300 * 8);
    const records = log.match(/<\d\d:\d\d\d>/g) ?? [];
    expect(new Set(records).size).toBe(300);
    expect(new Set(offsets).size).toBe(300);
    expect(offsets.every((o) => o % 8 === 0)).toBe(true);
    expect(await first.list('/shared')).toHaveLength(301);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('creates a missing file once when many clients append to it at the same time', async () => {
    const first = open();
    const clients = Array.from({ length: 8 }, () =>
      postgres({ connectionString: url, namespace: first.namespace, poolConfig: { max: 2 } }),
    );
    await Promise.all(clients.map((c, i) => c.append('/new', bytes(String(i)))));
    expect(
      text(await first.read('/new'))
        .split('')
        .sort()
        .join(''),
    ).toBe('01234567');
    await Promise.all(clients.map((c) => c.close()));
  });

  it('has exactly one winner among concurrent renames of one file', async () => {
    const s = open({ poolConfig: { max: 10 } });
    for (let round = 0; round < 5; round++) {
      await s.write(`/src${round}`, bytes('payload'));
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => s.rename(`/src${round}`, `/dst${round}-${i}`)),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ name: 'VfsError', code: 'not-found' });
      }
      const names = (await s.list('/')).map((e) => e.name).filter((n) => n.startsWith(`dst${round}-`));
      expect(names).toHaveLength(1);
    }
  });

  it('has exactly one winner among concurrent creates of one path from clients on separate pools', async () => {
    const first = open();
    await first.mkdir('/locks');
    const clients = Array.from({ length: 8 }, () =>
      postgres({ connectionString: url, namespace: first.namespace, poolConfig: { max: 2 } }),
    );
    for (let round = 0; round < 5; round++) {
      const path = `/locks/l${round}`;
      const results = await Promise.allSettled(clients.flatMap((c) => [c.create(path), c.create(path)]));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'already-exists' });
      }
    }
    expect((await first.list('/locks')).map((e) => e.size)).toEqual([0, 0, 0, 0, 0]);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('has one kind of winner among concurrent writes and symlinks of one path from separate pools', async () => {
    const first = open();
    const clients = Array.from({ length: 4 }, () =>
      postgres({ connectionString: url, namespace: first.namespace, poolConfig: { max: 2 } }),
    );
    for (let round = 0; round < 8; round++) {
      const path = `/p${round}`;
      const links = clients.map((c) => c.symlink(path, 'target'));
      const writes = clients.map((c, i) => c.append(path, bytes(String(i))));
      const [linked, written] = await Promise.all([Promise.allSettled(links), Promise.allSettled(writes)]);
      const kind = (await first.stat(path)).kind;
      // A link made first refuses every write; a file made first refuses every link.
      if (kind === 'symlink') {
        expect(linked.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of written) expect(r).toMatchObject({ reason: { code: 'is-a-symlink' } });
        expect(await first.readlink(path)).toBe('target');
      } else {
        for (const r of linked) expect(r).toMatchObject({ reason: { code: 'already-exists' } });
        expect(written.every((r) => r.status === 'fulfilled')).toBe(true);
        expect((await first.stat(path)).size).toBe(clients.length);
      }
      for (const r of linked) if (r.status === 'rejected') expect(r.reason.code).toBe('already-exists');
    }
    await expectExactUsage(first);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('has exactly one winner among concurrent mkdirs of one path', async () => {
    const s = open({ poolConfig: { max: 10 } });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => s.mkdir('/once')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'already-exists' });
    }
  });

  it('leaves no orphan when directories move, disappear and fill up at the same time', async () => {
    const s = open({ poolConfig: { max: 12 } });
    await s.mkdir('/a');
    await s.mkdir('/a/sub');
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (error: unknown) => {
          // Losing a race is an ordinary VfsError; anything else is a bug.
          expect(isVfsError(error), String(error)).toBe(true);
        },
      );
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      work.push(settle(s.write(`/a/sub/f${i}`, bytes('x'))));
      work.push(settle(s.mkdir(`/a/sub/d${i}`)));
      work.push(settle(s.create(`/a/sub/c${i}`)));
      work.push(settle(s.write(`/b/sub/f${i}`, bytes('y'))));
      if (i % 5 === 0) work.push(settle(s.rename('/a', '/b')));
      if (i % 5 === 2) work.push(settle(s.rename('/b', '/a')));
      if (i % 7 === 3) work.push(settle(s.rmdir(`/a/sub/d${i - 1}`)));
    }
    await Promise.all(work);
    await expectNoOrphans(s.namespace);
  });

  it('serializes writes through different names of one file from separate pools, without deadlocks', async () => {
    const first = open();
    await first.write('/log', new Uint8Array(0));
    const names = ['/log', '/n1', '/n2', '/n3'];
    for (const name of names.slice(1)) await first.link('/log', name);
    // No retries: a deadlock (or any serialization failure) would fail the operation that hit it.
    const clients = Array.from({ length: 8 }, () =>
      postgres({ connectionString: url, namespace: first.namespace, poolConfig: { max: 3 }, maxRetries: 0 }),
    );
    await Promise.all(
      clients.map(async (client, c) => {
        await Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            const name = names[(c + i) % names.length]!;
            await client.append(name, bytes(`<${c}:${String(i).padStart(2, '0')}>`));
            await client.setTimes(names[(c + i + 1) % names.length]!, { modified: c * 100 + i });
            await client.writeAt(names[(c + i + 2) % names.length]!, 0, bytes('<'));
          }),
        );
      }),
    );
    const log = text(await first.read('/n2'));
    expect(log.length).toBe(160 * 6);
    expect(new Set(log.match(/<\d:\d\d>/g)).size).toBe(160);
    expect(await first.stat('/n3')).toMatchObject({ size: 960, linkCount: 4 });
    await expectNoOrphans(first.namespace);
    await expectExactUsage(first);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('keeps the names and the data of a file whole when clients link and delete its names at once', async () => {
    const first = open({ chunkSize: 1024 });
    // The SQLSTATEs of every failed statement: the driver retries them, so only this tells a
    // deadlock (each costs the server's deadlock_timeout) from a clean wait.
    const failures: string[] = [];
    const pools = Array.from({ length: 4 }, () => {
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      pool.on('error', () => {});
      const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
      (pool as { query: unknown }).query = (...args: unknown[]) =>
        query(...args).catch((error: { code?: string }) => {
          failures.push(error.code ?? String(error));
          throw error;
        });
      return pool;
    });
    const clients = pools.map((pool) => postgres({ pool, namespace: first.namespace }));
    const data = new Uint8Array(3000).map((_, i) => i % 251);
    for (let round = 0; round < 15; round++) {
      await first.write('/a', data);
      await first.link('/a', '/b');
      const results = await Promise.allSettled([
        clients[0]!.link('/a', '/c'),
        clients[1]!.delete('/a'),
        clients[2]!.link('/b', '/d'),
        clients[3]!.delete('/b'),
        clients[0]!.link('/b', '/e'),
        clients[1]!.setTimes('/b', { modified: round }),
      ]);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ name: 'VfsError', code: 'not-found' });
      }
      const left = (await first.list('/')).map((e) => `/${e.name}`);
      for (const name of left) {
        expect(Buffer.compare(await first.read(name), data), name).toBe(0);
        expect((await first.stat(name)).linkCount, name).toBe(left.length);
      }
      await expectNoOrphans(first.namespace);
      await expectExactUsage(first);
      for (const name of left) await first.delete(name);
      expect(await first.info()).toMatchObject({ files: 0, bytes: 0 });
    }
    // Names found changed once locked are retried (40001); a deadlock never happens.
    expect(failures.filter((code) => code !== '40001')).toEqual([]);
    await Promise.all(pools.map((p) => p.end()));
  });

  it('retries deadlocks between crossing renames and never surfaces a driver error', async () => {
    const s = open({ poolConfig: { max: 10 } });
    const errors: unknown[] = [];
    for (let round = 0; round < 20; round++) {
      await s.write('/x', bytes('x'));
      await s.write('/y', bytes('y'));
      const results = await Promise.allSettled([s.rename('/x', '/y'), s.rename('/y', '/x')]);
      for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
      const left = (await s.list('/')).map((e) => e.name);
      expect(left.length).toBeGreaterThanOrEqual(1);
    }
    for (const error of errors) expect(error).toMatchObject({ name: 'VfsError', code: 'not-found' });
  });

  it('retries serialization failures under SERIALIZABLE isolation', async () => {
    const s = open({
      poolConfig: { max: 10, options: '-c default_transaction_isolation=serializable' },
    });
    await s.mkdir('/d');
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        s.append('/d/log', bytes('ab')).then(() => s.write(`/d/f${i % 5}`, bytes(String(i)))),
      ),
    );
    expect((await s.stat('/d/log')).size).toBe(120);
    const { rows } = await admin.query('SELECT 1');
    expect(rows).toHaveLength(1);
  });
});

describe('faults', () => {
  async function activeBackend(applicationName: string): Promise<number> {
    for (let i = 0; i < 5000; i++) {
      const { rows } = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'`,
        [applicationName],
      );
      if (rows[0]) return rows[0].pid;
    }
    throw new Error('the write never became active');
  }

  it('leaves the old or the new content when the server kills the connection mid-write, then works again', async () => {
    const applicationName = `vfs-fault-${randomUUID()}`;
    const s = open({ poolConfig: { application_name: applicationName, max: 2 } });
    const old = new Uint8Array(1 << 20).fill(1);
    await s.write('/f', old);
    let outcomes = { old: 0, new: 0 };
    for (let round = 0; round < 3; round++) {
      const next = new Uint8Array(24 << 20).fill(2 + round);
      // Settled into a value at once: the write may fail before the termination query returns, and
      // a rejection nobody handles yet is reported as unhandled.
      const writing = s.write('/f', next).then(
        () => undefined,
        (e: unknown) => e,
      );
      const pid = await activeBackend(applicationName);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const error = await writing;
      if (error !== undefined) {
        expect(error).toMatchObject({ name: 'VfsError', code: 'io' });
        expect((error as Error).message).toMatch(/closed by the server|connection/i);
        expect((error as Error).cause).toBeDefined();
      }
      const now = await s.read('/f');
      const uniform = now.every((b) => b === now[0]);
      expect(uniform).toBe(true);
      if (now.length === next.length && now[0] === next[0]) {
        outcomes = { ...outcomes, new: outcomes.new + 1 };
        await s.write('/f', old);
      } else {
        expect(Buffer.compare(now, old)).toBe(0);
        outcomes = { ...outcomes, old: outcomes.old + 1 };
      }
    }
    expect(outcomes.old + outcomes.new).toBe(3);
    await expectNoOrphans(s.namespace);
  });

  it('works on after the server closes its idle connections', async () => {
    const applicationName = `vfs-idle-${randomUUID()}`;
    const s = open({ poolConfig: { application_name: applicationName, max: 4 } });
    await Promise.all(Array.from({ length: 4 }, (_, i) => s.write(`/f${i}`, bytes(String(i)))));
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
      applicationName,
    ]);
    // Reads retry once on a connection that died in the pool; give the pool a moment to notice the rest.
    expect(text(await s.read('/f1'))).toBe('1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await s.write('/f1', bytes('again'));
    expect(text(await s.read('/f1'))).toBe('again');
  });

  it('reports bad credentials as an io error that says so', async () => {
    const bad = new URL(url);
    bad.password = 'wrong-password';
    const s = postgres({ connectionString: bad.toString(), namespace: 'x' });
    const error = await rejection(s.stat('/'));
    expect(error.code).toBe('io');
    expect(error.message).toMatch(/rejected the credentials/);
    expect(error.cause).toBeDefined();
    await s.close();
  });

  it('reports an unreachable server as an io error that says so', async () => {
    const s = postgres({ connectionString: 'postgres://u:p@127.0.0.1:1/db', namespace: 'x' });
    const error = await rejection(s.write('/f', bytes('x')));
    expect(error.code).toBe('io');
    expect(error.message).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:1/);
    expect(error.cause).toBeDefined();
    await s.close();
  });

  it('reports a missing database as an io error', async () => {
    const missing = new URL(url);
    missing.pathname = '/no_such_database';
    const s = postgres({ connectionString: missing.toString() });
    const error = await rejection(s.list('/'));
    expect(error.code).toBe('io');
    expect(error.message).toMatch(/database does not exist/);
    await s.close();
  });
});

describe('migrations', () => {
  const schemaName = () => `vfs_${randomUUID().replaceAll('-', '')}`;
  /** A new schema built by the released migrations up to `version`, as that release left it. */
  async function schemaAt(version: number): Promise<string> {
    const schema = schemaName();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.query(
      `CREATE TABLE "${schema}".vfs_schema (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`,
    );
    for (let v = 1; v <= version; v++) {
      await admin.query(migrationSql(v - 1, schema));
      await admin.query(`INSERT INTO "${schema}".vfs_schema (version) VALUES ($1)`, [v]);
    }
    return schema;
  }
  afterAll(async () => {
    const { rows } = await admin.query<{ nspname: string }>(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'vfs\\_%'`,
    );
    for (const { nspname } of rows) await admin.query(`DROP SCHEMA "${nspname}" CASCADE`);
  });

  it('migrates a fresh schema once under concurrent calls, then does nothing', async () => {
    const schema = schemaName();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => migrate({ connectionString: url, schema })),
    );
    expect(results.filter((r) => r.from === 0)).toHaveLength(1);
    expect(results.every((r) => r.to === SCHEMA_VERSION)).toBe(true);
    const { rows } = await admin.query(`SELECT version FROM "${schema}".vfs_schema ORDER BY version`);
    expect(rows).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
    expect(await migrate({ connectionString: url, schema })).toEqual({
      from: SCHEMA_VERSION,
      to: SCHEMA_VERSION,
    });
  });

  it('migrates on first use by default, from several storages at once', async () => {
    const schema = schemaName();
    const stores = Array.from({ length: 5 }, () => open({ schema }));
    await Promise.all(stores.map((s, i) => s.write(`/f${i}`, bytes('x'))));
    const { rows } = await admin.query(`SELECT version FROM "${schema}".vfs_schema`);
    expect(rows).toHaveLength(SCHEMA_VERSION);
  });

  it('upgrades a schema of version 1, keeping its data', async () => {
    const schema = await schemaAt(1);
    const old = open({ schema, migrate: false });
    await old.write('/kept', bytes('v1'));
    // create arrived with version 2: without the migration its function is missing.
    expect((await rejection(old.create('/lock'))).message).toMatch(/migrate\(\)/);
    expect(await migrate({ connectionString: url, schema })).toEqual({ from: 1, to: SCHEMA_VERSION });
    await old.create('/lock');
    expect(text(await old.read('/kept'))).toBe('v1');
  });

  it('upgrades a schema of version 2, counting the usage of its namespaces once', async () => {
    const schema = await schemaAt(2);
    // Data written by version 2's functions: this package's client calls them with the same arguments,
    // except mkdir and create, which take maxBytes since version 4 and are called here directly.
    const a = open({ schema, migrate: false });
    const b = open({ schema, migrate: false });
    await a.exists('/');
    await admin.query(`SELECT * FROM "${schema}".vfs_mkdir($1, '/d', '/', 'd', 0, NULL)`, [a.namespace]);
    await a.write('/d/f', new Uint8Array(70_000));
    await a.append('/d/f', bytes('tail'));
    await admin.query(`SELECT * FROM "${schema}".vfs_create($1, '/empty', '/', 'empty', 0, NULL, NULL)`, [
      a.namespace,
    ]);
    await a.write('/gone', bytes('x'));
    await a.delete('/gone');
    await a.writeAt('/sparse', 1_000_000, bytes('z'));
    await b.write('/other', bytes('12345'));
    const { rows: columns } = await admin.query(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'vfs_namespaces'`,
      [schema],
    );
    expect(columns.map((c) => c.column_name)).not.toContain('files');

    expect(await migrate({ connectionString: url, schema })).toEqual({ from: 2, to: SCHEMA_VERSION });
    expect(text(await a.read('/d/f')).endsWith('tail')).toBe(true);
    expect((await a.stat('/sparse')).size).toBe(1_000_001);
    // Sizes, then names (version 4): d, f, empty, sparse; other.
    expect(await a.info()).toMatchObject({ files: 3, bytes: 70_004 + 1_000_001 + 1 + 1 + 5 + 6 });
    expect(await b.info()).toMatchObject({ files: 1, bytes: 5 + 5 });
    await expectExactUsage(a);
    await expectExactUsage(b);

    // The limits now hold against the migrated usage: /fourth and its 5 bytes just fit.
    const limited = open({ schema, namespace: a.namespace, limits: { maxFiles: 4, maxBytes: 1_070_029 } });
    await limited.create('/fourth');
    expect((await rejection(limited.create('/fifth'))).code).toBe('quota-exceeded');
    await limited.append('/fourth', bytes('12345'));
    expect((await rejection(limited.append('/fourth', bytes('6')))).code).toBe('quota-exceeded');
    await limited.delete('/empty');
    await limited.write('/fifth', new Uint8Array(0));
    await expectExactUsage(limited);
  });

  it('upgrades a schema of version 3, counting names in the usage rows', async () => {
    const schema = await schemaAt(3);
    // Written by version 3's functions; mkdir, create and rename through their version 3 arguments.
    const a = open({ schema, migrate: false });
    const b = open({ schema, migrate: false });
    const empty = open({ schema, migrate: false });
    await Promise.all([a.exists('/'), b.exists('/'), empty.exists('/')]);
    const v3 = (sql: string, ...args: unknown[]) =>
      admin.query(`SELECT * FROM "${schema}".${sql}`, [a.namespace, ...args]);
    await v3(`vfs_mkdir($1, '/dir', '/', 'dir', 0, NULL)`);
    await v3(`vfs_mkdir($1, '/dir/été', '/dir', 'été', 0, NULL)`);
    await a.write('/dir/été/f', bytes('12345'));
    await v3(`vfs_create($1, '/lock', '/', 'lock', 0, NULL, NULL)`);
    await v3(`vfs_rename($1, '/dir', '/directory', '/', 'directory', NULL)`);
    await a.write('/gone', bytes('x'));
    await a.delete('/gone');
    await b.writeAt('/sparse', 99, bytes('z'));
    // Version 3 counts sizes only.
    expect(await a.info()).toMatchObject({ files: 2, bytes: 5 });

    expect(await migrate({ connectionString: url, schema })).toEqual({ from: 3, to: SCHEMA_VERSION });
    // directory, été (5 bytes in UTF-8), f, lock; sparse; the root's name counts nothing.
    expect(await a.info()).toMatchObject({ files: 2, bytes: 5 + 9 + 5 + 1 + 4 });
    expect(await b.info()).toMatchObject({ files: 1, bytes: 100 + 6 });
    expect(await empty.info()).toMatchObject({ files: 0, bytes: 0 });
    await expectExactUsage(a);

    // A client of the previous version (its arguments) keeps the row exact, without a byte limit.
    await v3(`vfs_mkdir($1, '/old', '/', 'old', 0, NULL)`);
    await v3(`vfs_create($1, '/old/file', '/old', 'file', 0, NULL, NULL)`);
    await v3(`vfs_rename($1, '/old', '/older', '/', 'older', NULL)`);
    expect(await a.info()).toMatchObject({ files: 3, bytes: 24 + 5 + 4 });
    await expectExactUsage(a);
  });

  it('upgrades a schema of version 4, keeping its data, then stores links', async () => {
    const schema = await schemaAt(4);
    // Written by version 4's functions (this package's client calls them with the same arguments).
    const a = open({ schema, migrate: false });
    await a.mkdir('/d');
    await a.write('/d/f', bytes('12345'));
    await a.create('/empty');
    // Links arrived with version 5: without the migration their function is missing.
    expect((await rejection(a.symlink('/link', 'd/f'))).message).toMatch(/migrate\(\)/);
    expect(await a.info()).toMatchObject({ files: 2, bytes: 5 + 1 + 1 + 5 });

    expect(await migrate({ connectionString: url, schema })).toEqual({ from: 4, to: SCHEMA_VERSION });
    expect(text(await a.read('/d/f'))).toBe('12345');
    expect(await a.info()).toMatchObject({ files: 2, bytes: 12 });
    await a.symlink('/link', 'd/f');
    expect(await a.readlink('/link')).toBe('d/f');
    expect(await a.stat('/link')).toMatchObject({ kind: 'symlink', size: 3 });
    expect(await a.list('/')).toContainEqual({ name: 'link', kind: 'symlink', size: 3 });
    expect((await rejection(a.write('/link', bytes('x')))).code).toBe('is-a-symlink');
    // A client of the previous version (version 4's arguments) moves a link as it moves a file.
    await admin.query(`SELECT * FROM "${schema}".vfs_rename($1, '/link', '/d/l', '/d', 'l', NULL)`, [
      a.namespace,
    ]);
    expect(await a.readlink('/d/l')).toBe('d/f');
    expect(await a.info()).toMatchObject({ files: 3, bytes: 12 + 1 + 3 });
    await expectExactUsage(a);

    // The kind's CHECK now ties a target to links, and only to links.
    const insert = (kind: string, target: string | null) =>
      admin.query(
        `INSERT INTO "${schema}".vfs_entries (ns, path, parent, name, kind, ino, target, created, modified, accessed)
         VALUES ($1, '/bad', '/', 'bad', $2, 0, $3, 0, 0, 0)`,
        [a.namespace, kind, target],
      );
    await expect(insert('symlink', null)).rejects.toMatchObject({ code: '23514' });
    await expect(insert('file', 'x')).rejects.toMatchObject({ code: '23514' });
    await expect(insert('fifo', null)).rejects.toMatchObject({ code: '23514' });
  });

  it('upgrades a schema of version 5 to store times in nanoseconds, keeping its times', async () => {
    const schema = await schemaAt(5);
    // Written by version 5's functions (this package's client calls them with the same arguments),
    // its times set by version 5's statement.
    const a = open({ schema, migrate: false });
    await a.mkdir('/d');
    await a.write('/d/f', bytes('12345'));
    await a.symlink('/l', 'd/f');
    const v5SetTimes = (path: string, accessed: number, modified: number) =>
      admin.query(
        `UPDATE "${schema}".vfs_entries SET accessed = $3, modified = $4 WHERE ns = $1 AND path = $2`,
        [a.namespace, path, accessed, modified],
      );
    await v5SetTimes('/d/f', 1_300_000_000_000.25, 1_300_000_000_001.5);
    // The times' columns arrived with version 6: without the migration stat says so.
    expect((await rejection(a.stat('/d/f'))).message).toMatch(/migrate\(\)/);

    expect(await migrate({ connectionString: url, schema })).toEqual({ from: 5, to: SCHEMA_VERSION });
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM "${schema}".vfs_entries WHERE modified_ns IS NOT NULL OR accessed_ns IS NOT NULL`,
    );
    expect(rows).toEqual([{ n: 0 }]);
    // Times read back as they were (milliseconds only), then take nanoseconds.
    const before = await a.stat('/d/f');
    expect(before).toMatchObject({
      kind: 'file',
      size: 5,
      accessed: 1_300_000_000_000.25,
      modified: 1_300_000_000_001.5,
    });
    expect(before).not.toHaveProperty('modifiedNs');
    expect(before).not.toHaveProperty('accessedNs');
    expect(await a.stat('/l')).toMatchObject({ kind: 'symlink', size: 3 });
    expect(text(await a.read('/d/f'))).toBe('12345');
    const N = 1_733_000_000_123_456_789n;
    await a.setTimes('/d/f', { modified: N, accessed: N + 1n });
    expect(await a.stat('/d/f')).toMatchObject({ modified: nsToMs(N), modifiedNs: N, accessedNs: N + 1n });
    // A client of the previous version sets milliseconds only: its times read back as it set them.
    await v5SetTimes('/d/f', 7, 8);
    const after = await a.stat('/d/f');
    expect(after).toMatchObject({ accessed: 7, modified: 8 });
    expect(after).not.toHaveProperty('modifiedNs');
    expect(after).not.toHaveProperty('accessedNs');
  });

  it('upgrades a schema of version 6 to store hard links; older clients keep working', async () => {
    const schema = await schemaAt(6);
    // Written by version 6's functions (this package's client calls them with the same arguments).
    const a = open({ schema, migrate: false });
    await a.mkdir('/d');
    await a.write('/d/f', bytes('12345'));
    await a.symlink('/l', 'd/f');
    // Hard links arrived with version 7: without the migration stat and link say so.
    expect((await rejection(a.stat('/d/f'))).message).toMatch(/migrate\(\)/);
    expect((await rejection(a.link('/d/f', '/g'))).message).toMatch(/migrate\(\)/);

    expect(await migrate({ connectionString: url, schema })).toEqual({ from: 6, to: SCHEMA_VERSION });
    const { rows } = await admin.query(`SELECT DISTINCT nlink FROM "${schema}".vfs_entries`);
    expect(rows).toEqual([{ nlink: 1 }]);
    expect(await a.stat('/d/f')).toMatchObject({ kind: 'file', size: 5, linkCount: 1 });
    expect(await a.stat('/l')).toMatchObject({ kind: 'symlink', linkCount: 1 });
    expect(await a.stat('/d')).not.toHaveProperty('linkCount');
    await a.link('/d/f', '/g');
    await a.write('/g', bytes('abc'));
    expect(text(await a.read('/d/f'))).toBe('abc');
    expect(await a.stat('/d/f')).toMatchObject({ linkCount: 2 });

    // Clients of the previous versions call the functions with their arguments: a write, a delete
    // and the version 3 rename through one name of a linked file reach its other names too.
    const old = (sql: string, ...args: unknown[]) =>
      admin.query(`SELECT * FROM "${schema}".${sql}`, [a.namespace, ...args]);
    await old(`vfs_write($1, '/g', '/', 'g', 2, 0, '\\x21'::bytea, 1, 65536, NULL, NULL, NULL, NULL)`);
    expect(text(await a.read('/d/f'))).toBe('abc!');
    await old(`vfs_set_size($1, '/d/f', 2, 1, 65536, NULL, NULL)`);
    expect(text(await a.read('/g'))).toBe('ab');
    await old(`vfs_rename($1, '/g', '/d/g', '/d', 'g', NULL)`);
    await old(`vfs_rename($1, '/d/g', '/d/f', '/d', 'f', NULL)`);
    expect(await a.stat('/d/g')).toMatchObject({ linkCount: 2 });
    await old(`vfs_create($1, '/e', '/', 'e', 0, NULL, NULL)`);
    await old(`vfs_delete($1, '/d/g')`);
    expect(await a.stat('/d/f')).toMatchObject({ size: 2, linkCount: 1 });
    expect(text(await a.read('/d/f'))).toBe('ab');
    // Version 6's setTimes, a plain UPDATE, still sets an unlinked file's times.
    await admin.query(
      `UPDATE "${schema}".vfs_entries SET accessed = 7, modified = 8 WHERE ns = $1 AND path = '/d/f'`,
      [a.namespace],
    );
    expect(await a.stat('/d/f')).toMatchObject({ accessed: 7, modified: 8 });
    await expectNoOrphans(a.namespace, schema);
    await expectExactUsage(a);
  });

  it('says to run migrate() when migration is off and the schema is missing', async () => {
    const s = postgres({ connectionString: url, schema: schemaName(), migrate: false });
    const error = await rejection(s.stat('/'));
    expect(error.code).toBe('io');
    expect(error.message).toMatch(/migrate\(\)/);
    await s.close();
  });

  it('refuses a schema written by a newer version', async () => {
    const schema = schemaName();
    await migrate({ connectionString: url, schema });
    await admin.query(`INSERT INTO "${schema}".vfs_schema (version) VALUES ($1)`, [SCHEMA_VERSION + 1]);
    await expect(migrate({ connectionString: url, schema })).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringMatching(/newer/),
    });
  });

  it('rejects schema names that are not plain identifiers', () => {
    expect(() => postgres({ connectionString: url, schema: 'bad"name' })).toThrow(
      expect.objectContaining({ code: 'invalid-argument' }),
    );
  });
});

describe('limits', () => {
  it('enforces maxFileSize, maxBytes, maxFiles and maxPathLength and leaves the store unchanged', async () => {
    const s = open({ limits: { maxBytes: 110, maxFiles: 3, maxFileSize: 60, maxPathLength: 40 } });
    // Directories are not counted as files; every name here costs 1 byte of maxBytes.
    await s.mkdir('/d');
    await s.mkdir('/e');
    await s.write('/d/x', new Uint8Array(0));
    await s.write('/a', new Uint8Array(50));
    expect((await rejection(s.write('/b', new Uint8Array(61)))).message).toContain(
      'file size 61 exceeds the limit of 60 bytes',
    );
    expect(await s.exists('/b')).toBe(false);
    await s.write('/b', new Uint8Array(55));
    expect((await rejection(s.append('/b', new Uint8Array(1)))).message).toContain(
      'the namespace would hold 111 bytes (names included), the limit is 110',
    );
    expect((await rejection(s.setSize('/a', 51))).code).toBe('quota-exceeded');
    expect((await s.stat('/b')).size).toBe(55);
    expect((await rejection(s.mkdir('/f'))).code).toBe('quota-exceeded');
    expect((await rejection(s.write('/d/y', new Uint8Array(0)))).message).toContain(
      'the namespace would hold 4 files, the limit is 3',
    );
    expect((await rejection(s.create('/d/y'))).code).toBe('quota-exceeded');
    // A creation that would fail anyway reports the contract's error, not the quota.
    expect((await rejection(s.create('/d/x'))).code).toBe('already-exists');
    expect((await rejection(s.create('/nodir/y'))).code).toBe('not-found');
    expect((await rejection(s.create(`/${'n'.repeat(40)}`))).code).toBe('name-too-long');
    expect(await s.exists('/d/y')).toBe(false);
    expect((await rejection(s.mkdir(`/${'n'.repeat(40)}`))).code).toBe('name-too-long');
    expect((await rejection(s.rename('/d', `/${'n'.repeat(38)}`))).code).toBe('name-too-long');
    // A longer name is growth: refused until shrinking makes room, and the subtree moves back.
    expect((await rejection(s.rename('/d', `/${'n'.repeat(37)}`))).code).toBe('quota-exceeded');
    expect(await s.exists('/d/x')).toBe(true);
    expect(await s.exists(`/${'n'.repeat(37)}/x`)).toBe(false);
    await s.setSize('/a', 10);
    await s.rename('/d', `/${'n'.repeat(37)}`);
    await s.writeAt('/b', 0, new Uint8Array(50).fill(1));
    expect((await s.stat('/b')).size).toBe(55);
    await expectExactUsage(s);
  });

  it('counts a link as a file of its name and target bytes, never against maxFileSize', async () => {
    const s = open({ limits: { maxBytes: 30, maxFiles: 2, maxFileSize: 1, maxPathLength: 8 } });
    await s.symlink('/l', 't'.repeat(20));
    expect(await s.info()).toMatchObject({ files: 1, bytes: 1 + 20 });
    expect((await rejection(s.symlink('/m', 't'.repeat(9)))).message).toContain(
      'the namespace would hold 31 bytes (names included), the limit is 30',
    );
    expect(await s.exists('/m')).toBe(false);
    expect((await rejection(s.symlink('/nnnnnnnn', 't'))).code).toBe('name-too-long');
    await s.symlink('/m', 't'.repeat(8));
    expect((await rejection(s.create('/f'))).message).toContain(
      'the namespace would hold 3 files, the limit is 2',
    );
    expect((await rejection(s.symlink('/n', 't'))).code).toBe('quota-exceeded');
    // A longer name is growth; a link replacing another frees the replaced name and target.
    expect((await rejection(s.rename('/m', '/mm'))).code).toBe('quota-exceeded');
    expect(await s.readlink('/m')).toBe('t'.repeat(8));
    await s.rename('/m', '/l');
    expect(await s.info()).toMatchObject({ files: 1, bytes: 1 + 8 });
    await s.delete('/l');
    expect(await s.info()).toMatchObject({ files: 0, bytes: 0 });
    await expectExactUsage(s);
  });

  it('counts a hard link as its name only, and a write through any name once', async () => {
    const s = open({ limits: { maxBytes: 16, maxFiles: 1, maxFileSize: 10, maxPathLength: 4 } });
    await s.write('/a', bytes('12345'));
    // Not a new file: maxFiles 1 allows it.
    await s.link('/a', '/b');
    await s.link('/b', '/cc');
    expect(await s.info()).toMatchObject({ files: 1, bytes: 5 + 1 + 1 + 2 });
    const before = await s.stat('/a');
    expect((await rejection(s.link('/a', '/dddd'))).code).toBe('name-too-long');
    // The file is counted once: 5 more bytes fit (14), as they would through any name.
    await s.append('/cc', bytes('67890'));
    expect(await s.info()).toMatchObject({ files: 1, bytes: 14 });
    expect((await rejection(s.link('/a', '/eee'))).message).toContain(
      'the namespace would hold 17 bytes (names included), the limit is 16',
    );
    expect((await rejection(s.append('/b', bytes('x')))).code).toBe('quota-exceeded');
    expect(await s.exists('/eee')).toBe(false);
    expect(await s.stat('/a')).toMatchObject({ linkCount: 3, size: 10, id: before.id });
    await expectNoOrphans(s.namespace);
    await s.link('/a', '/e');
    await s.link('/a', '/f');
    expect((await rejection(s.link('/a', '/g'))).code).toBe('quota-exceeded');
    // Onto another name of the same file: nothing happens, nothing is freed.
    await s.rename('/e', '/b');
    expect(await s.exists('/e')).toBe(true);
    expect(await s.info()).toMatchObject({ files: 1, bytes: 16 });
    // Deleting a name that is not the last frees its name only.
    await s.delete('/cc');
    expect(await s.info()).toMatchObject({ files: 1, bytes: 14 });
    expect(await s.stat('/f')).toMatchObject({ linkCount: 4, size: 10 });
    await expectNoOrphans(s.namespace);
    await expectExactUsage(s);
    // A refused first link leaves the file as it was: one name.
    const single = open({ limits: { maxBytes: 3 } });
    await single.write('/a', bytes('1'));
    expect((await rejection(single.link('/a', '/bb'))).code).toBe('quota-exceeded');
    expect(await single.stat('/a')).toMatchObject({ linkCount: 1 });
    expect(await single.exists('/bb')).toBe(false);
    await expectNoOrphans(single.namespace);
    await expectExactUsage(single);
  });

  it('never exceeds maxFiles under concurrent creates from separate pools', async () => {
    const first = open({ limits: { maxFiles: 5 } });
    const clients = Array.from({ length: 4 }, () =>
      postgres({ connectionString: url, namespace: first.namespace, limits: { maxFiles: 5 } }),
    );
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => clients[i % 4]!.create(`/f${i}`)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'quota-exceeded' });
    }
    expect(await first.list('/')).toHaveLength(5);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('keeps the usage row exact through random operations, with and without limits, in parallel', async () => {
    // mulberry32: a seeded generator whose low bits are as random as its high ones.
    let seed = 42;
    const random = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const plain = open({ chunkSize: 1024, poolConfig: { max: 4 } });
    const limited = postgres({
      connectionString: url,
      namespace: plain.namespace,
      limits: { maxBytes: 15_000, maxFiles: 5, maxFileSize: 9_000 },
      poolConfig: { max: 4 },
    });
    await plain.mkdir('/d');
    const paths = ['/a', '/b', '/c', '/d/x', '/d/y', '/d/z', '/e', '/d/e/q'];
    const pick = () => paths[random(paths.length)]!;
    let linked = 0;
    const step = (s: PostgresStorage): Promise<unknown> => {
      const size = random(5000);
      switch (random(12)) {
        case 0:
          return s.write(pick(), new Uint8Array(size));
        case 1:
          return s.writeAt(pick(), random(6000), new Uint8Array(random(3000)));
        case 2:
          return s.append(pick(), new Uint8Array(random(2000)));
        case 3:
          return s.setSize(pick(), size);
        case 4:
          return s.delete(pick());
        case 5:
          return s.rename(pick(), pick());
        case 6:
          return s.create(pick());
        case 7:
          return s.mkdir(random(2) ? '/d/e' : '/e');
        case 8:
          return s.rmdir(random(2) ? '/d/e' : '/e');
        case 9:
          return s.symlink(pick(), 't'.repeat(random(50) + 1));
        case 10:
          return s.link(pick(), pick()).then(() => linked++);
        default:
          return s.rename(random(2) ? '/d' : '/f', random(2) ? '/f' : '/d');
      }
    };
    let refused = 0;
    for (let round = 0; round < 40; round++) {
      const results = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) => step(i % 2 ? limited : plain)),
      );
      for (const r of results) {
        if (r.status === 'fulfilled') continue;
        // Losing a race is one of the contract's errors; an io error is a race the functions missed.
        expect(isVfsError(r.reason), String(r.reason)).toBe(true);
        expect((r.reason as VfsError).code, String(r.reason)).not.toBe('io');
        if ((r.reason as VfsError).code === 'quota-exceeded') refused++;
      }
      await expectExactUsage(plain);
      await expectAlikeNames(plain.namespace);
    }
    expect(refused).toBeGreaterThan(0);
    // Hard links were made (and their names kept alike, above), not only refused.
    expect(linked).toBeGreaterThan(0);
    await limited.close();
  });

  it('never exceeds maxBytes under concurrent appends', async () => {
    const s = open({ limits: { maxBytes: 1000 }, poolConfig: { max: 10 } });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => s.append(`/f${i % 4}`, new Uint8Array(30))),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    expect(ok).toBe(33);
    const sizes = await Promise.all([0, 1, 2, 3].map((i) => s.stat(`/f${i}`).then((m) => m.size)));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(990);
  });
});
