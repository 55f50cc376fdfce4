import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { type SqliteStorage, sqlite, translateError } from '../src/index.js';
import { codeOf, pattern, tempDb, usageFromEntries } from './helpers.js';

/** Everything observable about a namespace, to check that a failed operation changed nothing. */
function snapshot(s: SqliteStorage) {
  const db = s.db;
  return {
    entries: db.prepare('SELECT * FROM vfs_entries WHERE ns = ? ORDER BY path').all(s.namespace),
    chunks: db
      .prepare('SELECT ino, idx, hex(data) AS data FROM vfs_chunks WHERE ns = ? ORDER BY ino, idx')
      .all(s.namespace),
    usage: db.prepare('SELECT * FROM vfs_namespaces WHERE ns = ?').get(s.namespace),
  };
}

describe('limits', () => {
  it('maxBytes: refuses any growth past the total, names included, changing nothing', async () => {
    const s = sqlite({ path: tempDb(), chunkSize: 8, maxBytes: 100 });
    // 98 bytes of data and 2 of names.
    await s.write('/a', pattern(59));
    await s.write('/b', pattern(39));
    const before = snapshot(s);
    expect(await codeOf(() => s.write('/c', pattern(1)))).toBe('quota-exceeded');
    expect(await codeOf(() => s.write('/c', new Uint8Array(0)))).toBe('quota-exceeded');
    expect(await codeOf(() => s.create('/c'))).toBe('quota-exceeded');
    expect(await codeOf(() => s.writeExtents('/c', []))).toBe('quota-exceeded');
    expect(await codeOf(() => s.mkdir('/c'))).toBe('quota-exceeded');
    expect(await codeOf(() => s.rename('/a', '/aa'))).toBe('quota-exceeded');
    expect(await codeOf(() => s.append('/a', pattern(1)))).toBe('quota-exceeded');
    expect(await codeOf(() => s.writeAt('/b', 38, pattern(2)))).toBe('quota-exceeded');
    expect(await codeOf(() => s.setSize('/a', 60))).toBe('quota-exceeded');
    expect(await codeOf(() => s.write('/b', pattern(40)))).toBe('quota-exceeded');
    expect(() => s.sync.write('/c', pattern(1))).toThrow(
      /the namespace would hold 102 bytes \(names included\), the limit is 100/,
    );
    expect(snapshot(s)).toEqual(before);
    // Writes that do not grow the total still work, and freed space can be reused.
    await s.writeAt('/a', 10, pattern(10, 9));
    await s.rename('/a', '/z');
    await s.setSize('/z', 48);
    await s.write('/c', new Uint8Array(0));
    await s.write('/c', pattern(10));
    expect(await s.info()).toMatchObject({ bytes: 100, files: 3 });
    await s.close();
  });

  it('maxBytes: directories and renames count names; what does not grow always works', async () => {
    const path = tempDb();
    const s = sqlite({ path, namespace: 'n', maxBytes: 20 });
    await s.mkdir('/dir');
    await s.mkdir('/dir/sub');
    await s.write('/dir/sub/file', pattern(10));
    const before = snapshot(s);
    expect(await codeOf(() => s.mkdir('/dir/x'))).toBe('quota-exceeded');
    expect(await codeOf(() => s.rename('/dir/sub', '/dir/subs'))).toBe('quota-exceeded');
    expect(snapshot(s)).toEqual(before);
    // A directory rename changes only its own name, whatever lies below; replacing a file frees it.
    await s.rename('/dir', '/d');
    await s.mkdir('/d/e');
    await s.write('/d/f', new Uint8Array(0));
    expect(await s.info()).toMatchObject({ bytes: 20, files: 2 });
    await s.rename('/d/sub/file', '/d/f');
    await s.rmdir('/d/e');
    expect(await s.info()).toMatchObject({ bytes: 1 + 3 + 1 + 10, files: 1 });
    await s.close();
    // Limits lowered below the usage: nothing that grows, everything that does not.
    const low = sqlite({ path, namespace: 'n', maxBytes: 5 });
    expect(await codeOf(() => low.mkdir('/d/e'))).toBe('quota-exceeded');
    await low.rename('/d/sub', '/d/s');
    await low.delete('/d/f');
    await low.rmdir('/d/s');
    expect(await low.info()).toMatchObject({ bytes: 1, files: 0 });
    await low.close();
  });

  it('maxFiles: counts files, not directories', async () => {
    const s = sqlite({ path: tempDb(), maxFiles: 2 });
    await s.mkdir('/d');
    await s.write('/d/a', pattern(1));
    await s.write('/d/b', pattern(1));
    await s.mkdir('/d/e');
    const before = snapshot(s);
    expect(await codeOf(() => s.write('/d/c', pattern(1)))).toBe('quota-exceeded');
    expect(await codeOf(() => s.append('/d/c', pattern(1)))).toBe('quota-exceeded');
    expect(await codeOf(() => s.writeAt('/d/c', 0, pattern(1)))).toBe('quota-exceeded');
    expect(await codeOf(() => s.create('/d/c'))).toBe('quota-exceeded');
    expect(snapshot(s)).toEqual(before);
    // Replacing by rename frees a slot.
    await s.rename('/d/a', '/d/b');
    await s.write('/d/c', pattern(1));
    expect(await s.info()).toMatchObject({ files: 2 });
    await s.close();
  });

  it('maxFileSize: bounds each file, shrinking always allowed', async () => {
    const s = sqlite({ path: tempDb(), maxFileSize: 10 });
    await s.write('/a', pattern(10));
    const before = snapshot(s);
    expect(await codeOf(() => s.append('/a', pattern(1)))).toBe('quota-exceeded');
    expect(await codeOf(() => s.writeAt('/b', 10, pattern(1)))).toBe('quota-exceeded');
    expect(await codeOf(() => s.setSize('/a', 11))).toBe('quota-exceeded');
    expect(await codeOf(() => s.write('/a', pattern(11)))).toBe('quota-exceeded');
    expect(snapshot(s)).toEqual(before);
    await s.setSize('/a', 5);
    await s.writeAt('/a', 5, pattern(5));
    expect((await s.stat('/a')).size).toBe(10);
    await s.close();
  });

  it('symbolic links: a link is a file in maxFiles, refused with nothing changed, freed by delete', async () => {
    const s = sqlite({ path: tempDb(), maxFiles: 2 });
    await s.write('/a', pattern(1));
    await s.symlink('/l', 'a');
    const before = snapshot(s);
    expect(await codeOf(() => s.symlink('/m', 'a'))).toBe('quota-exceeded');
    expect(() => s.sync.symlink('/m', 'a')).toThrow(/the namespace would hold 3 files, the limit is 2/);
    expect(await codeOf(() => s.write('/b', pattern(1)))).toBe('quota-exceeded');
    expect(snapshot(s)).toEqual(before);
    expect(await s.info()).toMatchObject({ files: 2 });
    await s.delete('/l');
    await s.symlink('/m', 'a');
    // A link replacing a file by rename frees the file's slot.
    await s.rename('/m', '/a');
    await s.symlink('/n', 'a');
    expect(await s.info()).toMatchObject({ files: 2 });
    expect(await s.info()).toMatchObject(usageFromEntries(s.db, s.namespace));
    await s.close();
  });

  it("symbolic links: maxBytes counts a link's name and target bytes, maxFileSize does not apply", async () => {
    // 'ü' is 2 UTF-8 bytes: the link /lü to 'ziel/😀' counts 3 + 9 bytes.
    const target = 'ziel/😀';
    const s = sqlite({ path: tempDb(), maxBytes: 3 + 9 + 1 + 4, maxFileSize: 1 });
    await s.symlink('/lü', target);
    expect(await s.stat('/lü')).toMatchObject({ kind: 'symlink', size: 9 });
    expect(await s.info()).toMatchObject({ files: 1, bytes: 12 });
    // 5 bytes are left: a link of a 1-byte name takes at most a 4-byte target.
    const before = snapshot(s);
    expect(await codeOf(() => s.symlink('/m', '12345'))).toBe('quota-exceeded');
    expect(await codeOf(() => s.symlink('/mm', '1234'))).toBe('quota-exceeded');
    expect(await codeOf(() => s.rename('/lü', '/lü123456'))).toBe('quota-exceeded');
    expect(snapshot(s)).toEqual(before);
    await s.symlink('/m', '1234');
    expect(await s.info()).toMatchObject({ files: 2, bytes: 17 });
    // Replacing a link by rename frees its name and target; deleting one frees both.
    await s.rename('/m', '/lü');
    expect(await s.info()).toMatchObject({ files: 1, bytes: 3 + 4 });
    expect(await s.readlink('/lü')).toBe('1234');
    await s.delete('/lü');
    expect(await s.info()).toMatchObject({ files: 0, bytes: 0 });
    expect(await s.info()).toMatchObject(usageFromEntries(s.db, s.namespace));
    await s.close();
  });

  it("symbolic links: maxPathLength bounds a link's path, never its target", async () => {
    const s = sqlite({ path: tempDb(), maxPathLength: 4 });
    await s.symlink('/abc', 'x'.repeat(100));
    expect(await codeOf(() => s.symlink('/abcd', 'x'))).toBe('name-too-long');
    expect(await s.list('/')).toEqual([{ name: 'abc', kind: 'symlink', size: 100 }]);
    await s.close();
  });

  it('limits apply to a namespace that already holds data over them', async () => {
    const path = tempDb();
    const open = sqlite({ path, namespace: 'n' });
    await open.write('/a', pattern(100));
    await open.close();
    const s = sqlite({ path, namespace: 'n', maxBytes: 50 });
    expect(await codeOf(() => s.append('/a', pattern(1)))).toBe('quota-exceeded');
    await s.setSize('/a', 80);
    expect(await s.info()).toMatchObject({ bytes: 81 });
    await s.close();
  });
});

describe('native errors', () => {
  it('SQLITE_FULL becomes quota-exceeded, changing nothing', async () => {
    const db = new Database(tempDb());
    const s = sqlite({ database: db, chunkSize: 4096 });
    await s.write('/small', pattern(10));
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 4}`);
    const before = snapshot(s);
    const error = await s.write('/big', pattern(1 << 20)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'quota-exceeded', path: '/big' });
    expect((error as Error).cause).toMatchObject({ code: 'SQLITE_FULL' });
    expect(snapshot(s)).toEqual(before);
    await s.close();
    db.close();
  });

  it('SQLITE_READONLY becomes read-only', async () => {
    const path = tempDb();
    const writer = sqlite({ path });
    await writer.write('/a', pattern(3));
    const reader = sqlite({ path, readOnly: true });
    expect(await reader.read('/a')).toEqual(pattern(3));
    for (const op of [
      () => reader.write('/a', pattern(1)),
      () => reader.mkdir('/d'),
      () => reader.create('/b'),
      () => reader.delete('/a'),
      () => reader.sync.append('/a', pattern(1)),
    ]) {
      expect(await codeOf(op)).toBe('read-only');
    }
    await reader.close();
    await writer.close();
  });

  it('SQLITE_BUSY becomes busy once the timeout has passed', async () => {
    const path = tempDb();
    const s = sqlite({ path, busyTimeout: 50 });
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    const error = await s.write('/a', pattern(1)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'busy', path: '/a' });
    expect((error as Error).cause).toMatchObject({ code: expect.stringMatching(/^SQLITE_BUSY/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    // Reads are not blocked by a writer (WAL).
    expect(await s.exists('/a')).toBe(false);
    other.exec('ROLLBACK');
    await s.write('/a', pattern(1));
    other.close();
    await s.close();
  });

  it('anything else becomes io with the native error as cause', () => {
    const native = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
    const error = translateError(native, '/p');
    expect(error).toMatchObject({ code: 'io', path: '/p', cause: native });
    expect(translateError(new TypeError('x')).code).toBe('io');
  });
});
