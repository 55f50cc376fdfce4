import { type FileKind, joinPath, type VfsStorage } from '@eryx/vfs-core';

/** One entry met by {@link walk}. */
export interface WalkEntry {
  /** The entry's path in the store. */
  path: string;
  kind: FileKind;
  /** Bytes; `0` for directories; a symbolic link's target's UTF-8 bytes. */
  size: number;
  /** `0` for the starting path, `1` for its entries, ... */
  depth: number;
  /** Whether it is the last entry of its directory (for drawing trees). */
  last: boolean;
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Every entry under `path` (itself first), depth first, each directory's entries sorted by name.
 * A symbolic link is an entry of its own, never followed.
 * One `list` per directory; only one directory listing is held per level, so memory follows the
 * tree's depth and width, not its size.
 * @throws `not-found` when `path` does not exist
 */
export async function* walk(storage: VfsStorage, path: string): AsyncGenerator<WalkEntry> {
  const meta = await storage.stat(path);
  yield { path, kind: meta.kind, size: meta.kind === 'directory' ? 0 : meta.size, depth: 0, last: true };
  if (meta.kind === 'directory') yield* below(storage, path, 1);
}

async function* below(storage: VfsStorage, dir: string, depth: number): AsyncGenerator<WalkEntry> {
  const entries = (await storage.list(dir)).sort(byName);
  for (const [i, entry] of entries.entries()) {
    const path = joinPath(dir, entry.name);
    const last = i === entries.length - 1;
    yield { path, kind: entry.kind, size: entry.kind === 'directory' ? 0 : entry.size, depth, last };
    if (entry.kind === 'directory') yield* below(storage, path, depth + 1);
  }
}

/** Sorts directory entries by name (byte order of UTF-16 code units, like `ls` with `LC_ALL=C`). */
export function sortByName<T extends { name: string }>(entries: T[]): T[] {
  return entries.sort(byName);
}

/** Runs `fn` over `items` with at most `limit` calls in flight, keeping the order of results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
