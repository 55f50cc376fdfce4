import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

let dir: string | undefined;

// Registered when a test file imports this module, so it belongs to the file's root suite and runs
// once after all of the file's tests.
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A fresh database file path under the OS temp directory (removed after the test file). */
export function tempDb(prefix = 'vfs-sqlite'): string {
  dir ??= mkdtempSync(join(tmpdir(), 'eryx-vfs-sqlite-'));
  return join(dir, `${prefix}-${randomBytes(6).toString('hex')}.db`);
}

/** A random namespace name. */
export function randomNamespace(): string {
  return `ns-${randomBytes(6).toString('hex')}`;
}

/** Bytes `0..n-1` of a repeating pattern starting at `seed`. */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7 + 1) & 0xff;
  return out;
}

/** Catches the VfsError code a call throws (sync or async). */
export async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/**
 * A namespace's usage computed in JavaScript from its entries, independently of the SQL that keeps
 * the usage row: files and symbolic links (a link counts as a file), and their sizes (a link's is
 * its target's UTF-8 length, recomputed here from the target) plus the UTF-8 length of every name
 * but the root's. A file with several names (hard links: rows sharing an `ino`) counts once, with
 * its size once; each of its names counts.
 */
export function usageFromEntries(
  db: { prepare(sql: string): { all(...args: unknown[]): unknown[] } },
  namespace: string,
): { files: number; bytes: number } {
  const rows = db.prepare('SELECT * FROM vfs_entries WHERE ns = ?').all(namespace) as {
    path: string;
    name: string;
    kind: string;
    ino: number;
    size: number;
    target?: string | null;
  }[];
  const usage = { files: 0, bytes: 0 };
  const counted = new Set<number>();
  for (const row of rows) {
    if (row.path === '/') continue;
    usage.bytes += Buffer.byteLength(row.name, 'utf8');
    if (counted.has(row.ino)) continue;
    counted.add(row.ino);
    if (row.kind === 'file') {
      usage.files += 1;
      usage.bytes += row.size;
    } else if (row.kind === 'symlink') {
      usage.files += 1;
      usage.bytes += Buffer.byteLength(row.target!, 'utf8');
    }
  }
  return usage;
}
