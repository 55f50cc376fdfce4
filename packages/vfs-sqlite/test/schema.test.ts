import { nsToMs } from '@eryx/vfs-core';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  dropNamespace,
  listNamespaces,
  migrate,
  SCHEMA_VERSION,
  schemaVersion,
  sqlite,
} from '../src/index.js';
import { MIGRATIONS, namespaceUsage } from '../src/schema.js';
import { NAMES_SQL } from '../src/sqlite.js';
import { codeOf, pattern, tempDb, usageFromEntries } from './helpers.js';

const columns = (db: Database.Database, table: string) =>
  (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);

/** Brings an empty database to `version` by the released migrations alone, as that version made it. */
function migrateTo(db: Database.Database, version: number): void {
  db.exec(
    'CREATE TABLE vfs_schema (version INTEGER PRIMARY KEY, applied TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)',
  );
  for (let v = 1; v <= version; v++) {
    db.exec(MIGRATIONS[v - 1]!);
    db.prepare('INSERT INTO vfs_schema (version) VALUES (?)').run(v);
  }
}

describe('schema', () => {
  it('has the table design shared with the Postgres backend', () => {
    const db = new Database(':memory:');
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    expect(columns(db, 'vfs_schema')).toEqual(['version', 'applied']);
    expect(columns(db, 'vfs_entries')).toEqual([
      'ns',
      'path',
      'parent',
      'name',
      'kind',
      'ino',
      'size',
      'created',
      'modified',
      'accessed',
      'target',
      'modified_ns',
      'accessed_ns',
      'nlink',
    ]);
    expect(columns(db, 'vfs_chunks')).toEqual(['ns', 'ino', 'idx', 'data']);
    expect(columns(db, 'vfs_namespaces')).toEqual([
      'ns',
      'chunk_size',
      'created',
      'files',
      'bytes',
      'next_ino',
    ]);
    const indexes = db.pragma('index_list(vfs_entries)') as { name: string; partial: number }[];
    expect(indexes.map((i) => i.name)).toContain('vfs_entries_parent');
    // The names of linked files only (a partial index).
    expect(indexes.find((i) => i.name === 'vfs_entries_ino')).toMatchObject({ partial: 1 });
    expect((db.pragma('index_info(vfs_entries_ino)') as { name: string }[]).map((c) => c.name)).toEqual([
      'ns',
      'ino',
    ]);
    expect((db.pragma('index_info(vfs_entries_parent)') as { name: string }[]).map((c) => c.name)).toEqual([
      'ns',
      'parent',
      'name',
      'kind',
      'size',
    ]);
    db.close();
  });

  it('migrates explicitly and idempotently, never dropping data', async () => {
    const path = tempDb();
    const db = new Database(path);
    expect(schemaVersion(db)).toBeUndefined();
    migrate(db);
    const s = sqlite({ database: db, namespace: 'keep', migrate: false });
    await s.write('/f', pattern(10));
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT version FROM vfs_schema').pluck().all()).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    );
    expect(await s.read('/f')).toEqual(pattern(10));
    await s.close();
    db.close();
  });

  it('upgrades a database of version 1, keeping its data and its usage row', async () => {
    const path = tempDb();
    const db = new Database(path);
    // Version 1 as it was released: its version table, its tables, and a namespace with one file.
    db.exec('CREATE TABLE vfs_schema (version INTEGER NOT NULL)');
    db.exec(MIGRATIONS[0]!);
    db.prepare('INSERT INTO vfs_schema (version) VALUES (1)').run();
    db.prepare(
      "INSERT INTO vfs_namespaces (ns, chunk_size, created, files, bytes, next_ino) VALUES ('old', 4, 0, 1, 5, 3)",
    ).run();
    const entry = db.prepare('INSERT INTO vfs_entries VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 0)');
    entry.run('old', '/', '', '', 'directory', 1, 0);
    entry.run('old', '/f', '/', 'f', 'file', 2, 5);
    db.prepare("INSERT INTO vfs_chunks VALUES ('old', 2, 0, ?), ('old', 2, 1, ?)").run(
      Buffer.from('hell'),
      Buffer.from('o'),
    );
    expect(() => sqlite({ database: db, namespace: 'old', migrate: false })).toThrow(
      /version 1; run migrate/,
    );

    expect(migrate(db)).toBe(SCHEMA_VERSION);
    expect(columns(db, 'vfs_schema')).toEqual(['version', 'applied']);
    expect(db.prepare('SELECT version FROM vfs_schema ORDER BY version').pluck().all()).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    const s = sqlite({ database: db, namespace: 'old', migrate: false });
    expect(new TextDecoder().decode(await s.read('/f'))).toBe('hello');
    await s.write('/g', pattern(3));
    // The usage row, recomputed by version 3, counts the names `f` and `g`.
    expect(await s.info()).toEqual({ namespace: 'old', chunkSize: 4, files: 2, bytes: 10 });
    expect(db.prepare("SELECT ino FROM vfs_entries WHERE ns = 'old' AND path = '/g'").pluck().get()).toBe(3);
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    await s.close();
    db.close();
  });

  it('upgrades a database of version 2: every usage row counts names, files and directories', async () => {
    const path = tempDb();
    const writer = sqlite({ path, namespace: 'a' });
    await writer.mkdir('/dír');
    await writer.write('/dír/日本', pattern(10));
    await writer.writeAt('/dír/😀', 100, pattern(5));
    await writer.mkdir('/dír/empty');
    await writer.close();
    await sqlite({ path, namespace: 'empty' }).close();
    const db = new Database(path);
    const expected = {
      a: { files: 2, bytes: 10 + 105 + Buffer.byteLength('dír日本😀empty') },
      empty: { files: 0, bytes: 0 },
    };
    expect(usageFromEntries(db, 'a')).toEqual(expected.a);
    // Back to version 2 as it was released: the usage rows held the file sizes only.
    db.exec('DELETE FROM vfs_schema WHERE version > 2');
    db.exec(
      `UPDATE vfs_namespaces SET bytes = (SELECT coalesce(sum(size), 0) FROM vfs_entries e
       WHERE e.ns = vfs_namespaces.ns AND e.kind = 'file')`,
    );
    expect(schemaVersion(db)).toBe(2);
    expect(namespaceUsage(db)).toEqual([
      { name: 'a', files: 2, bytes: 115 },
      { name: 'empty', files: 0, bytes: 0 },
    ]);

    expect(migrate(db)).toBe(SCHEMA_VERSION);
    expect(namespaceUsage(db)).toEqual([
      { name: 'a', ...expected.a },
      { name: 'empty', ...expected.empty },
    ]);
    // And the operations keep it so.
    const s = sqlite({
      database: db,
      namespace: 'a',
      migrate: false,
      limits: { maxBytes: expected.a.bytes },
    });
    expect(await codeOf(() => s.mkdir('/x'))).toBe('quota-exceeded');
    await s.rmdir('/dír/empty');
    expect(await s.info()).toMatchObject({ bytes: expected.a.bytes - 5 });
    expect(await s.info()).toMatchObject(usageFromEntries(db, 'a'));
    await s.close();
    db.close();
  });

  it('upgrades a database of version 3 to hold links, keeping its data, ids, usage and indexes', async () => {
    const path = tempDb();
    const db = new Database(path);
    // Version 3 as it was released, made by its own migrations only, with a namespace holding a
    // directory and two files (one spanning chunks), its usage row as version 3 kept it.
    migrateTo(db, 3);
    expect(() =>
      db.exec("INSERT INTO vfs_entries VALUES ('x', '/l', '/', 'l', 'symlink', 9, 1, 0, 0, 0)"),
    ).toThrow(/CHECK constraint/);
    db.prepare(
      "INSERT INTO vfs_namespaces (ns, chunk_size, created, files, bytes, next_ino) VALUES ('old', 4, 0, 2, 11, 5)",
    ).run();
    const entry = db.prepare('INSERT INTO vfs_entries VALUES (?, ?, ?, ?, ?, ?, ?, 1, 2, 3)');
    entry.run('old', '/', '', '', 'directory', 1, 0);
    entry.run('old', '/d', '/', 'd', 'directory', 2, 0);
    entry.run('old', '/d/f', '/d', 'f', 'file', 3, 5);
    entry.run('old', '/g', '/', 'g', 'file', 4, 3);
    db.prepare("INSERT INTO vfs_chunks VALUES ('old', 3, 0, ?), ('old', 3, 1, ?), ('old', 4, 0, ?)").run(
      Buffer.from('hell'),
      Buffer.from('o'),
      Buffer.from('abc'),
    );
    const rowsBefore = db.prepare('SELECT * FROM vfs_entries ORDER BY ns, path').all();
    expect(() => sqlite({ database: db, namespace: 'old', migrate: false })).toThrow(
      /version 3; run migrate/,
    );

    expect(migrate(db)).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT version FROM vfs_schema ORDER BY version').pluck().all()).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    // The rebuilt table: every row as it was (no target), still WITHOUT ROWID, with the covering
    // listing index, and nothing left of the table it was rebuilt from.
    expect(
      db
        .prepare(
          'SELECT ns, path, parent, name, kind, ino, size, created, modified, accessed FROM vfs_entries ORDER BY ns, path',
        )
        .all(),
    ).toEqual(rowsBefore);
    expect(db.prepare('SELECT count(*) FROM vfs_entries WHERE target IS NOT NULL').pluck().get()).toBe(0);
    const sql = db
      .prepare("SELECT sql FROM sqlite_master WHERE name = 'vfs_entries'")
      .pluck()
      .get() as string;
    expect(sql).toMatch(/WITHOUT ROWID/);
    expect(sql).toMatch(/PRIMARY KEY \(ns, path\)/);
    expect((db.pragma('index_info(vfs_entries_parent)') as { name: string }[]).map((c) => c.name)).toEqual([
      'ns',
      'parent',
      'name',
      'kind',
      'size',
    ]);
    expect(
      db
        .prepare("SELECT name FROM sqlite_master WHERE tbl_name LIKE 'vfs_entries%' ORDER BY name")
        .pluck()
        .all(),
    ).toEqual(['vfs_entries', 'vfs_entries_ino', 'vfs_entries_parent']);
    // A listing is still one scan of the covering index.
    const plan = db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT name, kind, size FROM vfs_entries WHERE ns = 'old' AND parent = '/'",
      )
      .all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join()).toMatch(/COVERING INDEX vfs_entries_parent/);

    const s = sqlite({ database: db, namespace: 'old', migrate: false });
    expect(new TextDecoder().decode(await s.read('/d/f'))).toBe('hello');
    expect(new TextDecoder().decode(await s.read('/g'))).toBe('abc');
    expect(await s.stat('/d/f')).toEqual({
      kind: 'file',
      size: 5,
      created: 1,
      modified: 2,
      accessed: 3,
      id: '3',
      linkCount: 1,
    });
    expect(await s.info()).toEqual({ namespace: 'old', chunkSize: 4, files: 2, bytes: 11 });
    // And it takes links afterwards, counted like files, with the next inode number.
    expect(s.capabilities.symlinks).toBe(true);
    await s.symlink('/d/l', '../g');
    expect(await s.readlink('/d/l')).toBe('../g');
    expect(await s.stat('/d/l')).toMatchObject({ kind: 'symlink', size: 4, id: '5' });
    expect(await s.list('/d')).toEqual([
      { name: 'f', kind: 'file', size: 5 },
      { name: 'l', kind: 'symlink', size: 4 },
    ]);
    expect(await s.info()).toEqual({ namespace: 'old', chunkSize: 4, files: 3, bytes: 11 + 1 + 4 });
    expect(await s.info()).toMatchObject(usageFromEntries(db, 'old'));
    await s.close();
    db.close();
  });

  it('upgrades a database of version 4 to store times in nanoseconds, keeping its rows and plans', async () => {
    const path = tempDb();
    const db = new Database(path);
    // Version 4 as it was released, made by its own migrations only, with a namespace holding a
    // directory, a file with fractional times and a link.
    migrateTo(db, 4);
    db.prepare(
      "INSERT INTO vfs_namespaces (ns, chunk_size, created, files, bytes, next_ino) VALUES ('old', 4, 0, 2, 11, 5)",
    ).run();
    const entry = db.prepare('INSERT INTO vfs_entries VALUES (?, ?, ?, ?, ?, ?, ?, 1, 2.5, 3.25, ?)');
    entry.run('old', '/', '', '', 'directory', 1, 0, null);
    entry.run('old', '/d', '/', 'd', 'directory', 2, 0, null);
    entry.run('old', '/d/f', '/d', 'f', 'file', 3, 5, null);
    entry.run('old', '/l', '/', 'l', 'symlink', 4, 3, 'd/f');
    db.prepare("INSERT INTO vfs_chunks VALUES ('old', 3, 0, ?), ('old', 3, 1, ?)").run(
      Buffer.from('hell'),
      Buffer.from('o'),
    );
    const rowsBefore = db.prepare('SELECT * FROM vfs_entries ORDER BY ns, path').all();
    expect(() => sqlite({ database: db, namespace: 'old', migrate: false })).toThrow(
      /version 4; run migrate/,
    );

    expect(migrate(db)).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT version FROM vfs_schema ORDER BY version').pluck().all()).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    // Every row as it was, the new columns NULL; still WITHOUT ROWID, the listing still one scan of
    // its covering index, and stat one primary-key lookup.
    expect(
      db
        .prepare(
          'SELECT ns, path, parent, name, kind, ino, size, created, modified, accessed, target FROM vfs_entries ORDER BY ns, path',
        )
        .all(),
    ).toEqual(rowsBefore);
    expect(
      db
        .prepare('SELECT count(*) FROM vfs_entries WHERE modified_ns IS NOT NULL OR accessed_ns IS NOT NULL')
        .pluck()
        .get(),
    ).toBe(0);
    expect(db.prepare("SELECT sql FROM sqlite_master WHERE name = 'vfs_entries'").pluck().get()).toMatch(
      /WITHOUT ROWID/,
    );
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((p) => p.detail).join();
    expect(plan("SELECT name, kind, size FROM vfs_entries WHERE ns = 'old' AND parent = '/'")).toMatch(
      /COVERING INDEX vfs_entries_parent/,
    );
    expect(
      plan("SELECT modified, modified_ns, accessed_ns FROM vfs_entries WHERE ns = 'old' AND path = '/d/f'"),
    ).toMatch(/USING PRIMARY KEY \(ns=\? AND path=\?\)/);

    // The old rows read back unchanged (milliseconds only), and take exact times afterwards.
    const s = sqlite({ database: db, namespace: 'old', migrate: false });
    expect(await s.stat('/d/f')).toEqual({
      kind: 'file',
      size: 5,
      created: 1,
      modified: 2.5,
      accessed: 3.25,
      id: '3',
      linkCount: 1,
    });
    expect(await s.stat('/l')).toEqual({
      kind: 'symlink',
      size: 3,
      created: 1,
      modified: 2.5,
      accessed: 3.25,
      id: '4',
      linkCount: 1,
    });
    expect(new TextDecoder().decode(await s.read('/d/f'))).toBe('hello');
    const N = 1_733_000_000_123_456_789n;
    await s.setTimes('/d/f', { modified: N });
    expect(await s.stat('/d/f')).toMatchObject({ modified: nsToMs(N), modifiedNs: N, accessed: 3.25 });
    expect(await s.stat('/d/f')).not.toHaveProperty('accessedNs');
    expect(await s.info()).toEqual({ namespace: 'old', chunkSize: 4, files: 2, bytes: 11 });
    await s.close();
    db.close();
  });

  it('upgrades a database of version 5 to hold hard links, rewriting no row, linked files by index', async () => {
    const path = tempDb();
    const db = new Database(path);
    // Version 5 as it was released, made by its own migrations only: a directory, a file over two
    // chunks with exact times, and a link.
    migrateTo(db, 5);
    db.prepare(
      "INSERT INTO vfs_namespaces (ns, chunk_size, created, files, bytes, next_ino) VALUES ('old', 4, 0, 2, 11, 5)",
    ).run();
    const entry = db.prepare(
      'INSERT INTO vfs_entries VALUES (?, ?, ?, ?, ?, ?, ?, 1, 2.5, 3.25, ?, ?, NULL)',
    );
    entry.run('old', '/', '', '', 'directory', 1, 0, null, null);
    entry.run('old', '/d', '/', 'd', 'directory', 2, 0, null, null);
    entry.run('old', '/d/f', '/d', 'f', 'file', 3, 5, null, 2_500_000n);
    entry.run('old', '/l', '/', 'l', 'symlink', 4, 3, 'd/f', null);
    db.prepare("INSERT INTO vfs_chunks VALUES ('old', 3, 0, ?), ('old', 3, 1, ?)").run(
      Buffer.from('hell'),
      Buffer.from('o'),
    );
    const rowsBefore = db.prepare('SELECT * FROM vfs_entries ORDER BY ns, path').all();
    expect(() => sqlite({ database: db, namespace: 'old', migrate: false })).toThrow(
      /version 5; run migrate/,
    );

    expect(migrate(db)).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT version FROM vfs_schema ORDER BY version').pluck().all()).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    // Every row as it was, with one name each; still WITHOUT ROWID, the column added in place (a
    // constant default: no row is rewritten), the listing index untouched, and the new index
    // partial, so that it holds none of these rows.
    expect(
      db
        .prepare(
          'SELECT ns, path, parent, name, kind, ino, size, created, modified, accessed, target, modified_ns, accessed_ns FROM vfs_entries ORDER BY ns, path',
        )
        .all(),
    ).toEqual(rowsBefore);
    expect(db.prepare('SELECT DISTINCT nlink FROM vfs_entries').pluck().all()).toEqual([1]);
    const sql = (name: string) =>
      db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').pluck().get(name) as string;
    expect(sql('vfs_entries')).toMatch(/WITHOUT ROWID/);
    expect(sql('vfs_entries')).toMatch(/nlink INTEGER NOT NULL DEFAULT 1/);
    expect(sql('vfs_entries_ino')).toMatch(/ON vfs_entries \(ns, ino\) WHERE nlink > 1$/);
    expect((db.pragma('index_info(vfs_entries_parent)') as { name: string }[]).map((c) => c.name)).toEqual([
      'ns',
      'parent',
      'name',
      'kind',
      'size',
    ]);
    const plan = (sql: string, ...params: unknown[]) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
        .map((p) => p.detail)
        .join();
    // The statements that reach a file's other names go by the partial index, never a scan.
    const byIno = /SEARCH vfs_entries USING INDEX vfs_entries_ino \(ns=\? AND ino=\?\)/;
    const syncNames = plan(NAMES_SQL.syncNames, { ns: 'old', path: '/d/f', ino: 3 });
    expect(syncNames).toMatch(byIno);
    expect(syncNames).not.toMatch(/SCAN/);
    expect(plan(NAMES_SQL.addName, 'old', 3)).toMatch(byIno);
    expect(plan(NAMES_SQL.dropName, 'old', 3)).toMatch(byIno);
    // And what ordinary files run is as it was: stat one primary-key lookup, a listing one scan of
    // its covering index.
    expect(plan("SELECT kind, size, nlink FROM vfs_entries WHERE ns = 'old' AND path = '/d/f'")).toMatch(
      /USING PRIMARY KEY \(ns=\? AND path=\?\)/,
    );
    expect(plan("SELECT name, kind, size FROM vfs_entries WHERE ns = 'old' AND parent = '/'")).toMatch(
      /COVERING INDEX vfs_entries_parent/,
    );

    const s = sqlite({ database: db, namespace: 'old', migrate: false });
    expect(s.capabilities.hardLinks).toBe(true);
    expect(await s.stat('/d/f')).toEqual({
      kind: 'file',
      size: 5,
      created: 1,
      modified: 2.5,
      accessed: 3.25,
      modifiedNs: 2_500_000n,
      id: '3',
      linkCount: 1,
    });
    expect(await s.stat('/l')).toMatchObject({ kind: 'symlink', linkCount: 1 });
    expect(await s.stat('/d')).not.toHaveProperty('linkCount');
    // An old file takes a second name: one more row on the same inode, its chunks untouched, its
    // name counted in the usage row and nothing else.
    await s.link('/d/f', '/g');
    expect(await s.stat('/g')).toEqual({ ...(await s.stat('/d/f')), linkCount: 2 });
    expect(new TextDecoder().decode(await s.read('/g'))).toBe('hello');
    expect(await s.info()).toEqual({ namespace: 'old', chunkSize: 4, files: 2, bytes: 12 });
    expect(await s.info()).toMatchObject(usageFromEntries(db, 'old'));
    const chunks = () => db.prepare("SELECT ino, idx FROM vfs_chunks WHERE ns = 'old'").raw().all();
    expect(chunks()).toEqual([
      [3, 0],
      [3, 1],
    ]);
    // The first name goes: the file stays, back to one name, out of the partial index.
    await s.delete('/d/f');
    expect(await s.stat('/g')).toMatchObject({ id: '3', linkCount: 1 });
    expect(db.prepare("SELECT count(*) FROM vfs_entries WHERE ns = 'old' AND nlink > 1").pluck().get()).toBe(
      0,
    );
    expect(chunks()).toHaveLength(2);
    expect(await s.info()).toEqual({ namespace: 'old', chunkSize: 4, files: 2, bytes: 11 });
    // The last one takes the data.
    await s.delete('/g');
    expect(chunks()).toEqual([]);
    expect(await s.info()).toEqual({ namespace: 'old', chunkSize: 4, files: 1, bytes: 5 });
    expect(await s.info()).toMatchObject(usageFromEntries(db, 'old'));
    await s.close();
    db.close();
  });

  it("the target column holds exactly the links' targets", () => {
    const db = new Database(':memory:');
    migrate(db);
    const insert = (kind: string, target: string | null) => () =>
      db
        .prepare(
          "INSERT INTO vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed, target) VALUES ('n', ?, '/', 'x', ?, 2, 0, 0, 0, 0, ?)",
        )
        .run(`/${kind}-${target}`, kind, target);
    expect(insert('symlink', null)).toThrow(/CHECK constraint/);
    expect(insert('file', 't')).toThrow(/CHECK constraint/);
    expect(insert('directory', 't')).toThrow(/CHECK constraint/);
    expect(insert('other', null)).toThrow(/CHECK constraint/);
    insert('symlink', 't')();
    insert('file', null)();
    db.close();
  });

  it('requires a current schema when migrate is false', async () => {
    const db = new Database(':memory:');
    const error = await codeOf(() => sqlite({ database: db, migrate: false }));
    expect(error).toBe('io');
    expect(() => sqlite({ database: db, migrate: false })).toThrow(/run migrate\(db\)/);
    db.close();
  });

  it('refuses to open a newer schema with a clear error', async () => {
    const path = tempDb();
    const first = sqlite({ path });
    await first.write('/f', pattern(3));
    first.db.prepare('INSERT INTO vfs_schema (version) VALUES (?)').run(SCHEMA_VERSION + 1);
    await first.close();
    expect(() => sqlite({ path })).toThrow(
      new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than the ${SCHEMA_VERSION}`),
    );
    expect(await codeOf(() => sqlite({ path }))).toBe('unsupported');
    expect(await codeOf(() => sqlite({ path, migrate: false }))).toBe('unsupported');
    const db = new Database(path);
    expect(await codeOf(() => migrate(db))).toBe('unsupported');
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION + 1);
    db.close();
  });

  it('opens a migrated database read-only without writing', async () => {
    const path = tempDb();
    const writer = sqlite({ path, namespace: 'n' });
    await writer.close();
    const db = new Database(path, { readonly: true });
    const reader = sqlite({ database: db, namespace: 'n' });
    expect(await reader.list('/')).toEqual([]);
    await reader.close();
    // A namespace that does not exist yet cannot be created read-only.
    expect(await codeOf(() => sqlite({ database: db, namespace: 'other' }))).toBe('read-only');
    db.close();
  });

  it('lists and drops namespaces', async () => {
    const path = tempDb();
    const a = sqlite({ path, namespace: 'a' });
    const b = sqlite({ path, namespace: 'b' });
    await a.write('/f', pattern(100_000));
    await b.write('/f', pattern(10));
    expect(listNamespaces(a.db)).toEqual(['a', 'b']);
    expect(dropNamespace(a.db, 'a')).toBe(true);
    expect(dropNamespace(a.db, 'a')).toBe(false);
    expect(listNamespaces(b.db)).toEqual(['b']);
    expect(a.db.prepare("SELECT count(*) FROM vfs_chunks WHERE ns = 'a'").pluck().get()).toBe(0);
    expect(await b.read('/f')).toEqual(pattern(10));
    await a.close();
    await b.close();
  });
});
