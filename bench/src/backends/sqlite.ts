import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CHUNK_SIZE, sqliteStore } from '@eryx/vfs-sqlite';
import Database from 'better-sqlite3';
import type { BenchBackend, BenchTarget } from '../types.js';

const CHUNK = DEFAULT_CHUNK_SIZE;
/** `normal` (the backend's default) or `full`, for both targets: BENCH_SQLITE_SYNCHRONOUS. */
const SYNCHRONOUS = process.env.BENCH_SQLITE_SYNCHRONOUS === 'full' ? 'full' : 'normal';

/**
 * The ceiling: a plain chunk table and a size table on better-sqlite3 with the backend's pragmas
 * (WAL, same `synchronous`), every mutation in one transaction, prepared statements, the same chunk
 * size and the same read-modify-write of partially covered chunks. No directories, times, usage,
 * limits or error precedence.
 */
function rawSqlite(path: string): { target: BenchTarget; close(): void } {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${SYNCHRONOUS.toUpperCase()}`);
  db.exec(`
    CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER NOT NULL);
    CREATE TABLE chunks (file TEXT, idx INTEGER, data BLOB, PRIMARY KEY (file, idx));
  `);
  const q = {
    size: db.prepare<[string], number>('SELECT size FROM files WHERE path = ?').pluck(),
    setSize: db.prepare<[string, number]>(
      'INSERT INTO files (path, size) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET size = excluded.size',
    ),
    chunk: db.prepare<[string, number], Buffer>('SELECT data FROM chunks WHERE file = ? AND idx = ?').pluck(),
    // One statement for the size and the chunks, as the backend does.
    read: db.prepare<[number, number, string], { size: number; idx: number | null; data: Buffer | null }>(
      `SELECT f.size AS size, c.idx AS idx, c.data AS data
       FROM files f LEFT JOIN chunks c ON c.file = f.path AND c.idx BETWEEN ? AND ? WHERE f.path = ?`,
    ),
    put: db.prepare<[string, number, Uint8Array]>(
      'INSERT INTO chunks (file, idx, data) VALUES (?, ?, ?) ON CONFLICT (file, idx) DO UPDATE SET data = excluded.data',
    ),
    dropChunks: db.prepare<[string]>('DELETE FROM chunks WHERE file = ?'),
    dropChunksFrom: db.prepare<[string, number]>('DELETE FROM chunks WHERE file = ? AND idx >= ?'),
    trim: db.prepare<[number, string, number, number]>(
      'UPDATE chunks SET data = substr(data, 1, ?) WHERE file = ? AND idx = ? AND length(data) > ?',
    ),
    dropFile: db.prepare<[string]>('DELETE FROM files WHERE path = ?'),
    list: db.prepare<[string, string], string>('SELECT path FROM files WHERE path > ? AND path < ?').pluck(),
  };

  const writeChunks = (file: string, offset: number, data: Uint8Array, oldSize: number) => {
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const idx = Math.floor(pos / CHUNK);
      const start = pos - idx * CHUNK;
      const n = Math.min(CHUNK - start, data.length - done);
      const piece = data.subarray(done, done + n);
      let chunk: Uint8Array = piece;
      if (start > 0 || start + n < Math.min(CHUNK, oldSize - idx * CHUNK)) {
        const old = q.chunk.get(file, idx);
        chunk = new Uint8Array(Math.max(old?.length ?? 0, start + n));
        if (old) chunk.set(old);
        chunk.set(piece, start);
      }
      q.put.run(file, idx, chunk);
      done += n;
    }
  };
  const writeAt = db.transaction((file: string, offset: number | undefined, data: Uint8Array) => {
    const size = q.size.get(file) ?? 0;
    const at = offset ?? size;
    writeChunks(file, at, data, size);
    q.setSize.run(file, Math.max(size, at + data.length));
    return at;
  });
  const write = db.transaction((file: string, data: Uint8Array) => {
    q.dropChunks.run(file);
    writeChunks(file, 0, data, 0);
    q.setSize.run(file, data.length);
  });
  const setSize = db.transaction((file: string, size: number) => {
    const old = q.size.get(file) ?? 0;
    if (size < old) {
      q.dropChunksFrom.run(file, Math.ceil(size / CHUNK));
      if (size % CHUNK) q.trim.run(size % CHUNK, file, Math.floor(size / CHUNK), size % CHUNK);
    }
    q.setSize.run(file, size);
  });
  const remove = db.transaction((file: string) => {
    q.dropChunks.run(file);
    q.dropFile.run(file);
  });
  const readAt = (file: string, offset: number, length: number) => {
    const last = length === 0 ? -1 : Math.floor((offset + length - 1) / CHUNK);
    const rows = q.read.all(Math.floor(offset / CHUNK), last, file);
    const n = Math.max(0, Math.min(length, (rows[0]?.size ?? 0) - offset));
    const out = new Uint8Array(n);
    for (const { idx, data } of rows) {
      if (idx === null || data === null) continue;
      const start = idx * CHUNK;
      const from = Math.max(offset, start);
      const to = Math.min(offset + n, start + data.length);
      if (to > from) out.set(data.subarray(from - start, to - start), from - offset);
    }
    return out;
  };

  const target: BenchTarget = {
    async mkdir() {},
    async write(p, data) {
      write.immediate(p, data);
    },
    async writeAt(p, offset, data) {
      writeAt.immediate(p, offset, data);
    },
    async readAt(p, offset, length) {
      return readAt(p, offset, length);
    },
    async append(p, data) {
      return writeAt.immediate(p, undefined, data);
    },
    async setSize(p, size) {
      setSize.immediate(p, size);
    },
    async list(p) {
      const prefix = p === '/' ? '/' : `${p}/`;
      return q.list
        .all(prefix, p === '/' ? '0' : `${p}0`)
        .map((path) => path.slice(prefix.length))
        .filter((name) => !name.includes('/'))
        .map((name) => ({ name }));
    },
    async stat(p) {
      return { size: q.size.get(p) ?? 0 };
    },
    async delete(p) {
      remove.immediate(p);
    },
  };
  return { target, close: () => db.close() };
}

const backend: BenchBackend = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'eryx-bench-sqlite-'));
    const storage = await sqliteStore.open(`sqlite:${join(dir, 'vfs.db')}?synchronous=${SYNCHRONOUS}`);
    const raw = rawSqlite(join(dir, 'raw.db'));
    return {
      storage,
      raw: raw.target,
      async close() {
        await storage.close();
        raw.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export default backend;
