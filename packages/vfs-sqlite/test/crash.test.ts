import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sqlite } from '../src/index.js';
import { lines, startChild } from './children.js';
import { byteOf, contentOf, opOf, RECORD } from './fixtures/crash-ops.mjs';
import { randomNamespace, tempDb, usageFromEntries } from './helpers.js';

const ROUNDS = 6;

/** The database-level invariants: integrity, chunks within sizes, usage row = the files and names. */
function checkConsistency(path: string, namespace: string): void {
  const db = new Database(path, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const chunkSize = db
      .prepare('SELECT chunk_size FROM vfs_namespaces WHERE ns = ?')
      .pluck()
      .get(namespace) as number;
    // Every chunk belongs to a file and lies within its size.
    const outside = db
      .prepare(
        `SELECT c.ino, c.idx, length(c.data) AS n, e.path, e.size FROM vfs_chunks c
         LEFT JOIN vfs_entries e ON e.ns = c.ns AND e.ino = c.ino AND e.kind = 'file'
         WHERE c.ns = ? AND (e.path IS NULL OR c.idx * ? + length(c.data) > e.size)`,
      )
      .all(namespace, chunkSize);
    expect(outside).toEqual([]);
    const usage = db.prepare('SELECT files, bytes FROM vfs_namespaces WHERE ns = ?').get(namespace);
    expect(usage).toEqual(usageFromEntries(db, namespace));
    // Every entry's parent is a directory.
    const orphans = db
      .prepare(
        `SELECT e.path FROM vfs_entries e LEFT JOIN vfs_entries p ON p.ns = e.ns AND p.path = e.parent
         WHERE e.ns = ? AND e.path <> '/' AND (p.kind IS NULL OR p.kind <> 'directory')`,
      )
      .all(namespace);
    expect(orphans).toEqual([]);
  } finally {
    db.close();
  }
}

describe('crash consistency', () => {
  it('a writer killed mid-stream leaves the last committed state intact', async () => {
    const path = tempDb('crash');
    const namespace = randomNamespace();
    await sqlite({ path, namespace }).close();

    const committed: number[] = [];
    // Ops that were running when the writer was killed: each may or may not have committed.
    const inFlight: number[] = [];
    let killedMidOperation = 0;
    let start = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const child = startChild('crash-writer.mjs', [path, namespace, String(start)]);
      const out = lines(child);
      const target = start + 6 + round * 3;
      await out.waitFor((line) => Number(line) >= target);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 25));
      child.kill('SIGKILL');
      expect((await out.exited).signal).toBe('SIGKILL');
      const done = out.seen.filter((line) => /^\d+$/.test(line)).map(Number);
      if (out.seen.at(-1)?.startsWith('>')) killedMidOperation++;
      committed.push(...done);
      const last = done.at(-1)!;
      // The op after the last printed one may or may not have committed; skip its index next time.
      inFlight.push(last + 1);
      start = last + 2;

      checkConsistency(path, namespace);
      const storage = sqlite({ path, namespace, migrate: false });
      const sync = storage.sync;
      const isCommitted = (i: number) => committed.includes(i);
      const mayBe = (i: number) => isCommitted(i) || inFlight.includes(i);

      // Whole-file writes: each file holds exactly the last committed write, or the in-flight one.
      for (const file of ['/f0', '/f1', '/f2']) {
        const writes = [...committed, ...inFlight].filter((i) => opOf(i).path === file).sort((a, b) => a - b);
        const lastCommitted = committed.filter((i) => opOf(i).path === file).at(-1);
        if (writes.length === 0) continue;
        if (!sync.exists(file)) {
          expect(lastCommitted).toBeUndefined();
          continue;
        }
        const data = sync.read(file);
        const writer = writes.find((i) => opOf(i).length === data.length && byteOf(i) === data[0]);
        expect(writer, `${file}: ${data.length} bytes of ${data[0]}`).toBeDefined();
        expect(writer! >= (lastCommitted ?? -1)).toBe(true);
        expect(data.every((b) => b === data[0])).toBe(true);
      }

      // The log: whole records only, in order, every committed append present.
      const log = sync.exists('/log') ? sync.read('/log') : new Uint8Array(0);
      expect(log.length % RECORD).toBe(0);
      const records: number[] = [];
      for (let at = 0; at < log.length; at += RECORD) {
        const record = log.subarray(at, at + RECORD);
        const i = new DataView(record.buffer, record.byteOffset).getUint32(0, true);
        const same = Buffer.from(record.subarray(4)).equals(contentOf(i).subarray(4));
        expect(same, `log record ${at / RECORD} (op ${i})`).toBe(true);
        records.push(i);
      }
      expect(records.every(mayBe)).toBe(true);
      expect(records).toEqual([...records].sort((a, b) => a - b));
      expect(records.filter(isCommitted)).toEqual(committed.filter((i) => opOf(i).kind === 'append'));

      // The big file: its size is the end of the furthest write that committed.
      const bigEnd = (i: number) => {
        const op = opOf(i);
        return op.kind === 'writeAt' ? op.offset + op.length : 0;
      };
      const size = sync.stat('/big').size;
      const committedEnd = Math.max(0, ...committed.map(bigEnd));
      expect(size === committedEnd || inFlight.some((i) => bigEnd(i) === size && size > committedEnd)).toBe(
        true,
      );

      await storage.close();
    }
    expect(committed.length).toBeGreaterThan(ROUNDS * 6);
    // The writer spends nearly all its time inside operations, so most kills land in one.
    expect(killedMidOperation).toBeGreaterThan(0);
  });
});
