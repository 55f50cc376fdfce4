import { describe, expect, it } from 'vitest';
import { type SqliteStorage, sqlite } from '../src/index.js';
import { codeOf, pattern, tempDb, usageFromEntries } from './helpers.js';

describe('symbolic links', () => {
  it('the sync twin stores and reads links as the async form does', async () => {
    const s = sqlite({ path: ':memory:' });
    expect(s.capabilities.symlinks).toBe(true);
    expect(s.sync.capabilities.symlinks).toBe(true);
    s.sync.symlink('/a', 'to/a');
    await s.symlink('/b', '/to/b');
    expect(s.sync.readlink('/b')).toBe('/to/b');
    expect(await s.readlink('/a')).toBe('to/a');
    expect(() => s.sync.read('/a')).toThrow(expect.objectContaining({ code: 'is-a-symlink', path: '/a' }));
    expect(() => s.sync.readlink('/')).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
    expect(() => s.sync.symlink('/a', 'x')).toThrow(expect.objectContaining({ code: 'already-exists' }));
    await s.close();
  });

  it('list reports links among files and directories, each with its size', async () => {
    const s = sqlite({ path: ':memory:', chunkSize: 2 });
    const long = `/${'ü'.repeat(2047)}a`;
    await s.mkdir('/d');
    await s.mkdir('/d/sub');
    await s.write('/d/empty', new Uint8Array(0));
    await s.write('/d/three', pattern(3));
    await s.symlink('/d/one', '.');
    await s.symlink('/d/long', long);
    await s.symlink('/d/日本', 'sub');
    const byName = (await s.list('/d')).sort((x, y) => (x.name < y.name ? -1 : 1));
    expect(byName).toEqual([
      { name: 'empty', kind: 'file', size: 0 },
      { name: 'long', kind: 'symlink', size: 4096 },
      { name: 'one', kind: 'symlink', size: 1 },
      { name: 'sub', kind: 'directory', size: 0 },
      { name: 'three', kind: 'file', size: 3 },
      { name: '日本', kind: 'symlink', size: 3 },
    ]);
    expect(await s.readlink('/d/long')).toBe(long);
    await s.close();
  });

  it('a link holds no chunks; its target lives in its entry and moves with it', async () => {
    const s = sqlite({ path: tempDb(), chunkSize: 1 });
    await s.mkdir('/d');
    await s.write('/d/f', pattern(2));
    await s.symlink('/d/l', 'f');
    const chunks = () => s.db.prepare('SELECT ino, idx FROM vfs_chunks WHERE ns = ?').raw().all(s.namespace);
    const fileIno = Number((await s.stat('/d/f')).id);
    expect(chunks()).toEqual([
      [fileIno, 0],
      [fileIno, 1],
    ]);
    await s.rename('/d', '/e');
    const row = s.db
      .prepare('SELECT kind, size, target FROM vfs_entries WHERE ns = ? AND path = ?')
      .raw()
      .get(s.namespace, '/e/l');
    expect(row).toEqual(['symlink', 1, 'f']);
    // A link replaced by a file, and a file replaced by a link: the file's chunks go with it.
    await s.write('/e/g', pattern(1));
    await s.rename('/e/g', '/e/l');
    await s.symlink('/e/m', 'x');
    await s.rename('/e/m', '/e/f');
    expect(await s.readlink('/e/f')).toBe('x');
    const gIno = Number((await s.stat('/e/l')).id);
    expect(chunks()).toEqual([[gIno, 0]]);
    expect(await s.info()).toMatchObject(usageFromEntries(s.db, s.namespace));
    await s.close();
  });

  it('another connection to the same file sees links, also read-only', async () => {
    const path = tempDb();
    const writer = sqlite({ path, namespace: 'n' });
    await writer.symlink('/l', '../there');
    const reader = sqlite({ path, namespace: 'n', readOnly: true });
    expect(await reader.readlink('/l')).toBe('../there');
    expect(await codeOf(() => reader.symlink('/m', 'x'))).toBe('read-only');
    await writer.delete('/l');
    expect(await reader.exists('/l')).toBe(false);
    await reader.close();
    await writer.close();
  });
});

describe('hard links', () => {
  /** The rows of the names of `ino`, as stored: every column that every name must agree on. */
  const names = (s: SqliteStorage, ino: string) =>
    s.db
      .prepare(
        `SELECT path, kind, size, created, modified, accessed, target, modified_ns, accessed_ns, nlink
         FROM vfs_entries WHERE ns = ? AND ino = ? ORDER BY path`,
      )
      .raw()
      .safeIntegers(true)
      .all(s.namespace, Number(ino)) as unknown[][];

  /** Expects the rows of `ino` to be exactly `paths`, alike but for the path, with nlink their count. */
  const expectNames = (s: SqliteStorage, ino: string, paths: string[]) => {
    const rows = names(s, ino);
    expect(rows.map((r) => r[0])).toEqual(paths);
    for (const row of rows) expect(row.slice(1)).toEqual([...rows[0]!.slice(1, -1), BigInt(paths.length)]);
  };

  it('a name is one more row on the same inode: the rows agree after every change, chunks stay shared', async () => {
    const s = sqlite({ path: tempDb(), chunkSize: 4 });
    await s.mkdir('/d');
    await s.write('/a', pattern(10));
    const { id } = await s.stat('/a');
    s.sync.link('/a', '/d/b');
    await s.link('/d/b', '/c');
    expectNames(s, id!, ['/a', '/c', '/d/b']);
    const chunks = () =>
      s.db.prepare('SELECT ino, count(*) FROM vfs_chunks WHERE ns = ? GROUP BY ino').raw().all(s.namespace);
    expect(chunks()).toEqual([[Number(id), 3]]);
    await s.writeAt('/c', 12, pattern(3));
    expectNames(s, id!, ['/a', '/c', '/d/b']);
    await s.setSize('/d/b', 5);
    expectNames(s, id!, ['/a', '/c', '/d/b']);
    await s.setTimes('/a', { modified: 1_700_000_000_123_456_789n, accessed: 5 });
    expectNames(s, id!, ['/a', '/c', '/d/b']);
    await s.writeExtents('/c', [[7, pattern(2)]], { modified: 42 });
    expectNames(s, id!, ['/a', '/c', '/d/b']);
    expect((await s.stat('/a')).modified).toBe(42);
    await s.append('/a', pattern(1));
    expectNames(s, id!, ['/a', '/c', '/d/b']);
    expect(chunks()).toEqual([[Number(id), 3]]);
    // Renames move a name (or a directory of names) and keep it linked.
    await s.rename('/d', '/e');
    await s.rename('/c', '/e/c');
    expectNames(s, id!, ['/a', '/e/b', '/e/c']);
    // Onto another name of the same file: nothing at all changes.
    await s.rename('/a', '/e/b');
    expectNames(s, id!, ['/a', '/e/b', '/e/c']);
    await s.delete('/e/b');
    expectNames(s, id!, ['/a', '/e/c']);
    expect(chunks()).toEqual([[Number(id), 3]]);
    await s.delete('/a');
    expectNames(s, id!, ['/e/c']);
    expect(await s.stat('/e/c')).toMatchObject({ size: 10, linkCount: 1 });
    await s.delete('/e/c');
    expect(chunks()).toEqual([]);
    expect(await s.info()).toMatchObject({ files: 0, bytes: 1 });
    await s.close();
  });

  it('the usage row counts a file once and each name: link, delete and rename keep it exact', async () => {
    const s = sqlite({ path: ':memory:', chunkSize: 4 });
    const usage = async () => {
      const info = await s.info();
      expect(info).toMatchObject(usageFromEntries(s.db, s.namespace));
      return { files: info.files, bytes: info.bytes };
    };
    await s.write('/file', pattern(100));
    expect(await usage()).toEqual({ files: 1, bytes: 104 });
    await s.link('/file', '/second');
    expect(await usage()).toEqual({ files: 1, bytes: 110 });
    await s.symlink('/l', 'target');
    await s.link('/l', '/m');
    expect(await usage()).toEqual({ files: 2, bytes: 110 + 7 + 1 });
    // A write through either name changes the size once.
    await s.append('/second', pattern(10));
    expect(await usage()).toEqual({ files: 2, bytes: 128 });
    // A rename replacing one name of a linked file frees that name only.
    await s.write('/x', pattern(1));
    await s.rename('/x', '/second');
    expect(await usage()).toEqual({ files: 3, bytes: 128 + 2 - 1 });
    expect(await s.stat('/file')).toMatchObject({ size: 110, linkCount: 1 });
    // And a linked name moved onto the last name of another file frees that file.
    await s.link('/file', '/y');
    await s.rename('/y', '/second');
    expect(await usage()).toEqual({ files: 2, bytes: 128 });
    await s.delete('/l');
    await s.delete('/m');
    expect(await usage()).toEqual({ files: 1, bytes: 120 });
    await s.close();
  });

  it('limits: a name costs its bytes and no file; sizes are checked once, through any name', async () => {
    const s = sqlite({ path: ':memory:', limits: { maxBytes: 30, maxFiles: 1, maxFileSize: 20 } });
    await s.write('/f', pattern(20));
    expect(await s.info()).toMatchObject({ files: 1, bytes: 21 });
    // maxFiles is reached, yet names can still be added; the file is one.
    await s.link('/f', '/g');
    await s.link('/f', '/h');
    expect(await codeOf(() => s.write('/i', pattern(1)))).toBe('quota-exceeded');
    // maxBytes: 23 used, an 8-byte name is one too many, a 7-byte one fits exactly.
    expect(await codeOf(() => s.link('/f', '/abcdefgh'))).toBe('quota-exceeded');
    expect(await s.exists('/abcdefgh')).toBe(false);
    await s.link('/f', '/abcdefg');
    expect(await s.info()).toMatchObject({ files: 1, bytes: 30 });
    expect(await codeOf(() => s.link('/f', '/j'))).toBe('quota-exceeded');
    // maxFileSize and maxBytes see the file's size once, whichever name writes.
    expect(await codeOf(() => s.append('/g', pattern(1)))).toBe('quota-exceeded');
    await s.setSize('/h', 19);
    await s.append('/abcdefg', pattern(1));
    expect(await s.stat('/f')).toMatchObject({ size: 20, linkCount: 4 });
    await s.delete('/g');
    expect(await s.info()).toMatchObject({ files: 1, bytes: 29 });
    await s.close();
  });

  it('another connection to the same file sees the names and their count', async () => {
    const path = tempDb();
    const writer = sqlite({ path, namespace: 'n' });
    await writer.write('/a', pattern(3));
    await writer.link('/a', '/b');
    const reader = sqlite({ path, namespace: 'n', readOnly: true });
    expect(await reader.stat('/b')).toMatchObject({ size: 3, linkCount: 2 });
    expect(await codeOf(() => reader.link('/a', '/c'))).toBe('read-only');
    await writer.append('/a', pattern(2));
    expect(await reader.read('/b')).toEqual(new Uint8Array([...pattern(3), ...pattern(2)]));
    await reader.close();
    await writer.close();
  });
});
