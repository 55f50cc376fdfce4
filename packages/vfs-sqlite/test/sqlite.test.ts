import { existsSync, statSync } from 'node:fs';
import { nsToMs } from '@eryx/vfs-core';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sqlite } from '../src/index.js';
import { codeOf, pattern, randomNamespace, tempDb, usageFromEntries } from './helpers.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('sqlite storage', () => {
  it('serves both forms from one namespace', async () => {
    const s = sqlite({ path: tempDb() });
    await s.mkdir('/d');
    s.sync.write('/d/a', bytes('hello'));
    expect(await s.read('/d/a')).toEqual(bytes('hello'));
    expect(s.sync.list('/d')).toEqual([{ name: 'a', kind: 'file', size: 5 }]);
    expect(s.capabilities).toMatchObject({
      nativeAppend: true,
      atomicRename: true,
      atomicDirectoryRename: true,
      persistent: true,
      multiProcess: true,
    });
    await s.close();
    await s.close();
    expect(await codeOf(() => s.read('/d/a'))).toBe('io');
  });

  it('persists across connections and keeps namespaces apart', async () => {
    const path = tempDb();
    const a = sqlite({ path, namespace: 'a' });
    const b = sqlite({ path, namespace: 'b' });
    await a.write('/f', bytes('from a'));
    await b.mkdir('/f');
    expect((await a.stat('/f')).kind).toBe('file');
    expect((await b.stat('/f')).kind).toBe('directory');
    await a.close();
    await b.close();
    const again = sqlite({ path, namespace: 'a' });
    expect(await again.read('/f')).toEqual(bytes('from a'));
    expect(again.db.pragma('journal_mode', { simple: true })).toBe('wal');
    await again.close();
  });

  it('uses a caller-provided connection and leaves it open', async () => {
    const db = new Database(tempDb());
    const s = sqlite({ database: db, namespace: randomNamespace() });
    await s.write('/x', bytes('x'));
    await s.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT count(*) FROM vfs_entries').pluck().get()).toBe(2);
    db.close();
  });

  it('rejects bad options', async () => {
    expect(await codeOf(() => sqlite({}))).toBe('invalid-argument');
    expect(await codeOf(() => sqlite({ path: ':memory:', chunkSize: 0 }))).toBe('invalid-argument');
    expect(await codeOf(() => sqlite({ path: ':memory:', maxBytes: -1 }))).toBe('invalid-argument');
    expect(await codeOf(() => sqlite({ path: ':memory:', namespace: '' }))).toBe('invalid-argument');
  });

  it('keeps a namespace at the chunk size it was created with', async () => {
    const path = tempDb();
    const ns = randomNamespace();
    const first = sqlite({ path, namespace: ns, chunkSize: 100 });
    await first.write('/f', pattern(1000));
    await first.close();
    const second = sqlite({ path, namespace: ns });
    expect(second.chunkSize).toBe(100);
    expect(await second.read('/f')).toEqual(pattern(1000));
    await second.close();
    expect(await codeOf(() => sqlite({ path, namespace: ns, chunkSize: 200 }))).toBe('invalid-argument');
  });

  it('stores sparse files without chunks for the gaps, and reads gaps as zeros', async () => {
    const s = sqlite({ path: tempDb(), chunkSize: 16 });
    await s.writeAt('/f', 100, bytes('xy'));
    await s.setSize('/f', 1_000_000);
    const chunks = s.db.prepare('SELECT idx, length(data) AS n FROM vfs_chunks').all();
    expect(chunks).toEqual([{ idx: 6, n: 6 }]);
    const head = await s.readAt('/f', 90, 20);
    expect([...head]).toEqual([...new Uint8Array(10), 120, 121, ...new Uint8Array(8)]);
    expect((await s.readAt('/f', 999_990, 100)).length).toBe(10);
    // Truncating into a chunk trims it, so growing again reads zeros there.
    await s.setSize('/f', 101);
    await s.setSize('/f', 200);
    expect([...(await s.readAt('/f', 99, 4))]).toEqual([0, 120, 0, 0]);
    expect(s.db.prepare('SELECT idx, length(data) AS n FROM vfs_chunks').all()).toEqual([{ idx: 6, n: 5 }]);
    await s.close();
  });

  it('touches only the chunks a partial write covers', async () => {
    const log: string[] = [];
    const db = new Database(tempDb(), { verbose: (sql) => log.push(String(sql)) });
    const s = sqlite({ database: db, chunkSize: 1024 });
    await s.write('/big', pattern(4 * 1024 * 1024));
    log.length = 0;
    await s.writeAt('/big', 1_000_000, pattern(100, 3));
    const chunkReads = log.filter((sql) => sql.startsWith('SELECT data FROM vfs_chunks')).length;
    const chunkWrites = log.filter((sql) => sql.startsWith('INSERT INTO vfs_chunks')).length;
    expect([chunkReads, chunkWrites]).toEqual([1, 1]);
    log.length = 0;
    expect(await s.readAt('/big', 1_000_000, 100)).toEqual(pattern(100, 3));
    expect(log).toHaveLength(1);
    await s.close();
    db.close();
  });

  it('renames a directory subtree with awkward names in one statement', async () => {
    const log: string[] = [];
    const db = new Database(tempDb(), { verbose: (sql) => log.push(String(sql)) });
    const s = sqlite({ database: db });
    for (const dir of ['/a', '/a/%', '/a/_', '/a_', '/a%', '/a/%/deep']) await s.mkdir(dir);
    await s.write('/a/%/deep/f', bytes('1'));
    await s.write('/a_/g', bytes('2'));
    await s.write('/a%/h', bytes('3'));
    log.length = 0;
    await s.rename('/a', '/b');
    // The directory's own row, then its whole subtree in one UPDATE.
    expect(log.filter((sql) => sql.startsWith('UPDATE')).length).toBe(2);
    const paths = s.db
      .prepare('SELECT path, parent FROM vfs_entries WHERE ns = ? ORDER BY path')
      .all(s.namespace);
    expect(paths).toEqual([
      { path: '/', parent: '' },
      { path: '/a%', parent: '/' },
      { path: '/a%/h', parent: '/a%' },
      { path: '/a_', parent: '/' },
      { path: '/a_/g', parent: '/a_' },
      { path: '/b', parent: '/' },
      { path: '/b/%', parent: '/b' },
      { path: '/b/%/deep', parent: '/b/%' },
      { path: '/b/%/deep/f', parent: '/b/%/deep' },
      { path: '/b/_', parent: '/b' },
    ]);
    expect(await s.read('/b/%/deep/f')).toEqual(bytes('1'));
    await s.close();
    db.close();
  });

  it('lists a directory in one query and handles unicode names', async () => {
    const log: string[] = [];
    const db = new Database(tempDb(), { verbose: (sql) => log.push(String(sql)) });
    const s = sqlite({ database: db });
    await s.mkdir('/dír');
    await s.mkdir('/dír/sub');
    for (const name of ['ä', '日本', '😀', 'a b', "'quote"]) await s.write(`/dír/${name}`, bytes(name));
    log.length = 0;
    const listed = await s.list('/dír');
    expect(log).toHaveLength(1);
    expect(listed).toContainEqual({ name: 'sub', kind: 'directory', size: 0 });
    expect(listed).toContainEqual({ name: '日本', kind: 'file', size: 6 });
    const names = listed
      .filter((e) => e.kind === 'file')
      .map((e) => e.name)
      .sort();
    expect(names).toEqual(["'quote", 'a b', 'ä', '日本', '😀'].sort());
    await s.rename('/dír', '/dïr2');
    expect(await s.read('/dïr2/😀')).toEqual(bytes('😀'));
    await s.close();
    db.close();
  });

  it('keeps the usage row in step with the files and the names', async () => {
    const s = sqlite({ path: tempDb(), chunkSize: 10 });
    const inStep = () => expect(s.sync.info()).toMatchObject(usageFromEntries(s.db, s.namespace));
    await s.mkdir('/d');
    await s.write('/d/a', pattern(25));
    await s.append('/d/a', pattern(5));
    await s.writeAt('/d/b', 40, pattern(2));
    await s.write('/d/c', pattern(7));
    await s.rename('/d/c', '/d/a');
    // 49 bytes of data, 3 of names (d, a, b).
    expect(await s.info()).toEqual({ namespace: 'default', chunkSize: 10, files: 2, bytes: 52 });
    inStep();
    await s.setSize('/d/b', 3);
    await s.delete('/d/a');
    expect(s.sync.info()).toMatchObject({ files: 1, bytes: 5 });
    // Names count their UTF-8 bytes, directories' too; a directory rename changes its own name only.
    await s.mkdir('/d/日本');
    await s.create('/d/日本/😀');
    await s.writeExtents('/d/e', [[3, pattern(2)]]);
    await s.rename('/d', '/directory');
    expect(s.sync.info()).toMatchObject({ files: 3, bytes: 5 + 6 + 4 + 6 + 8 });
    inStep();
    await s.delete('/directory/日本/😀');
    await s.rmdir('/directory/日本');
    await s.rename('/directory/e', '/directory/b');
    expect(s.sync.info()).toMatchObject({ files: 1, bytes: 9 + 1 + 5 });
    inStep();
    await s.close();
  });

  it('stores times set in nanoseconds exactly, next to their milliseconds, in both forms', async () => {
    const path = tempDb();
    const s = sqlite({ path });
    expect(s.capabilities.nanosecondTimes).toBe(true);
    const N = 1_733_000_000_123_456_789n; // beyond 2^53: a double would lose the last digits
    const stored = (p: string) =>
      s.db
        .prepare(
          'SELECT modified, modified_ns, accessed, accessed_ns FROM vfs_entries WHERE ns = ? AND path = ?',
        )
        .safeIntegers(true)
        .get(s.namespace, p);
    await s.write('/f', bytes('x'));
    await s.setTimes('/f', { modified: N, accessed: N - 1n });
    expect(stored('/f')).toEqual({
      modified: nsToMs(N),
      modified_ns: N,
      accessed: nsToMs(N - 1n),
      accessed_ns: N - 1n,
    });
    expect(s.sync.stat('/f')).toMatchObject({ modified: nsToMs(N), modifiedNs: N, accessedNs: N - 1n });
    // 100 ns earlier is another time, not the same double of milliseconds read back.
    s.sync.setTimes('/f', { modified: N - 100n });
    expect(await s.stat('/f')).toMatchObject({ modifiedNs: N - 100n, accessedNs: N - 1n });
    // Another connection reads them exactly too.
    const other = sqlite({ path });
    expect(await other.stat('/f')).toMatchObject({ modifiedNs: N - 100n, accessedNs: N - 1n });
    await other.close();
    // A number clears its companion in the same statement; a write leaves it stale, and stat drops it.
    await s.setTimes('/f', { accessed: 5 });
    expect(stored('/f')).toMatchObject({ accessed: 5, accessed_ns: null, modified_ns: N - 100n });
    await s.append('/f', bytes('y'));
    expect(stored('/f')).toMatchObject({ modified_ns: N - 100n });
    const meta = await s.stat('/f');
    expect(meta).not.toHaveProperty('modifiedNs');
    expect(meta).not.toHaveProperty('accessedNs');
    // Renames, directories and the ends of the range: the kit's `times` sub-suite.
    await s.close();
  });

  describe('durability', () => {
    const walSize = (path: string) => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);

    it('commits without fsync by default and makes everything durable with one commit at FULL', async () => {
      const path = tempDb();
      const s = sqlite({ path });
      expect(s.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
      s.sync.write('/a', pattern(10_000));
      s.sync.writeAt('/a', 5, pattern(3, 9));
      const before = walSize(path);
      const nextIno = () =>
        s.db.prepare('SELECT next_ino FROM vfs_namespaces WHERE ns = ?').pluck().get(s.namespace) as number;
      const ino = nextIno();
      s.sync.flush(undefined, { durable: true });
      // One more commit reached the WAL (it is what fsyncs it), through the barrier row.
      expect(walSize(path)).toBeGreaterThan(before);
      expect(nextIno()).toBe(ino + 1);
      expect(s.db.pragma('synchronous', { simple: true })).toBe(1);
      // Nothing committed since: nothing to make durable, no commit.
      const after = walSize(path);
      s.sync.flush('/a', { durable: true });
      await s.flush(undefined, { durable: true });
      expect(nextIno()).toBe(ino + 1);
      expect(walSize(path)).toBe(after);
      // A plain flush has nothing to do: each operation is committed when it returns.
      s.sync.write('/b', pattern(10));
      s.sync.flush('/b');
      expect(nextIno()).toBe(ino + 2); // the write's own inode only
      expect(s.sync.read('/a')).toEqual(
        Uint8Array.from(pattern(10_000), (v, i) => (i >= 5 && i < 8 ? pattern(3, 9)[i - 5]! : v)),
      );
      await s.close();
    });

    it("needs no barrier at synchronous: 'full', where every commit is durable", async () => {
      const s = sqlite({ path: tempDb(), synchronous: 'full' });
      expect(s.db.pragma('synchronous', { simple: true })).toBe(2);
      s.sync.write('/a', pattern(100));
      const nextIno = () =>
        s.db.prepare('SELECT next_ino FROM vfs_namespaces WHERE ns = ?').pluck().get(s.namespace) as number;
      const ino = nextIno();
      s.sync.flush(undefined, { durable: true });
      expect(nextIno()).toBe(ino);
      await s.close();
    });

    it('refuses a durable flush inside a transaction the caller opened, changing nothing', async () => {
      const db = new Database(tempDb());
      const s = sqlite({ database: db });
      s.sync.write('/a', pattern(10));
      db.exec('BEGIN');
      expect(await codeOf(() => s.sync.flush(undefined, { durable: true }))).toBe('busy');
      db.exec('COMMIT');
      s.sync.flush(undefined, { durable: true });
      expect(s.sync.read('/a')).toEqual(pattern(10));
      await s.close();
      db.close();
    });
  });
});
