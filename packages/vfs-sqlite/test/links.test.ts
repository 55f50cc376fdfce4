import { describe, expect, it } from 'vitest';
import { sqlite } from '../src/index.js';
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
