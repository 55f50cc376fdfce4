import { type FileKind, type Metadata, parentPath } from '@eryx/vfs-core';
import { type EntryMeta, inodeOf, type Layout, type NameKey, type StoredKind } from './layout.js';

/*
 * What the driver knows about entries: a file's manifest, one name's slot (its live entry and
 * every key stored under it), and the two in-memory caches.
 */

export interface Manifest {
  /** Chunk size of this file. */
  s: number;
  /** Per chunk: `[id, valid bytes]`, or `null` for a hole (zeros). */
  c: ([string, number] | null)[];
}

export interface Entry {
  key: string;
  gen: number;
  meta: EntryMeta;
  manifest?: Manifest;
  /** A link's target, once read (its entry's body). */
  target?: string;
}

/** Everything stored under one name: the live entry (if any), and every key (for clean-up). */
export interface Slot {
  path: string;
  entry: Entry | undefined;
  maxGen: number;
  /** When the newest claim above the live generation was written (conditional mode), if any. */
  pendingSince?: number;
  keys: string[];
}

export class EntryCache {
  readonly #dirs = new Map<string, { complete: boolean; slots: Map<string, Slot> }>();
  #size = 0;

  constructor(private limit: number) {}

  disable(): void {
    this.limit = 0;
    this.clear();
  }

  get(path: string): Slot | 'absent' | undefined {
    if (this.limit === 0) return undefined;
    const dir = this.#dirs.get(dirOf(path));
    if (!dir) return undefined;
    const slot = dir.slots.get(name(path));
    if (slot) return slot.entry ? slot : 'absent';
    return dir.complete ? 'absent' : undefined;
  }

  set(slot: Slot): void {
    if (this.limit === 0) return;
    const dirPath = dirOf(slot.path);
    let dir = this.#dirs.get(dirPath);
    if (!dir) {
      dir = { complete: false, slots: new Map() };
      this.#dirs.set(dirPath, dir);
    }
    const key = name(slot.path);
    if (!dir.slots.has(key)) this.#size++;
    dir.slots.set(key, slot);
    if (this.#size > this.limit) this.clear();
  }

  /** Marks a directory's entries as fully known (after a listing, or a mkdir). */
  complete(dirPath: string, slots: Slot[]): void {
    if (this.limit === 0) return;
    const known = this.#dirs.get(dirPath);
    const dir = { complete: true, slots: new Map<string, Slot>() };
    const self = known?.slots.get('');
    if (self) dir.slots.set('', self);
    for (const slot of slots) dir.slots.set(name(slot.path), slot);
    this.#dirs.set(dirPath, dir);
    this.#size += dir.slots.size - (known?.slots.size ?? 0);
    if (this.#size > this.limit) this.clear();
  }

  listing(dirPath: string): Slot[] | undefined {
    const dir = this.#dirs.get(dirPath);
    if (!dir?.complete) return undefined;
    return [...dir.slots.entries()].filter(([n, s]) => n !== '' && s.entry).map(([, s]) => s);
  }

  /**
   * Drops what is known of `path` (and of its children): the next lookup asks the store. Its
   * directory's listing stops being complete, or the dropped name would read as absent.
   */
  forget(path: string): void {
    const dir = this.#dirs.get(dirOf(path));
    if (dir) {
      dir.complete = false;
      if (dir.slots.delete(name(path))) this.#size--;
    }
    this.#size -= this.#dirs.get(path)?.slots.size ?? 0;
    this.#dirs.delete(path);
  }

  clear(): void {
    this.#dirs.clear();
    this.#size = 0;
  }
}

/** Chunk contents by id, least recently used out first. Chunk objects are immutable. */
export class ChunkCache {
  readonly #chunks = new Map<string, Uint8Array>();
  #bytes = 0;

  constructor(readonly limit: number) {}

  get(id: string): Uint8Array | undefined {
    const data = this.#chunks.get(id);
    if (data) {
      this.#chunks.delete(id);
      this.#chunks.set(id, data);
    }
    return data;
  }

  /** Keeps `data`, which nobody may change afterwards. */
  set(id: string, data: Uint8Array): void {
    if (this.limit === 0 || data.length > this.limit / 4) return;
    this.delete(id);
    this.#chunks.set(id, data);
    this.#bytes += data.length;
    for (const [oldest, chunk] of this.#chunks) {
      if (this.#bytes <= this.limit) break;
      this.#chunks.delete(oldest);
      this.#bytes -= chunk.length;
    }
  }

  delete(id: string): void {
    const data = this.#chunks.get(id);
    if (!data) return;
    this.#chunks.delete(id);
    this.#bytes -= data.length;
  }
}

/** The cache's directory of a path: inodes have one of their own, never listed. */
function dirOf(path: string): string {
  return inodeOf(path) === undefined ? parentPath(path) : '#';
}

export function name(path: string): string {
  return path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1);
}

/**
 * What each stored kind is (a live entry is never a tombstone). An `h` name is a file or a link,
 * as its inode says: callers that tell them apart resolve it first (`resolve`).
 */
const KINDS: Record<StoredKind, FileKind> = {
  i: 'file',
  c: 'file',
  d: 'directory',
  l: 'symlink',
  h: 'file',
  t: 'file',
};

/**
 * The metadata of an entry or inode (never an `h` name: resolve it first) stored at `path`. An
 * inode's gives its id as `id`, the same through every name, so that a host can tell names of one
 * file apart from copies; other files have no `id` (see `Metadata.id`).
 */
export function metadata(entry: Entry, path: string): Metadata {
  const { meta } = entry;
  const out: Metadata = {
    kind: KINDS[meta.kind],
    size: meta.kind === 'd' ? 0 : meta.size,
    created: meta.created,
    modified: meta.modified,
    accessed: meta.accessed,
  };
  if (meta.kind !== 'd') out.linkCount = meta.links ?? 1;
  const inode = inodeOf(path);
  if (inode !== undefined) out.id = `inode:${inode}`;
  // Only when set: callers compare metadata with toEqual.
  if (meta.modifiedNs !== undefined) out.modifiedNs = meta.modifiedNs;
  if (meta.accessedNs !== undefined) out.accessedNs = meta.accessedNs;
  return out;
}

export function fileKind(entry: Entry | undefined): FileKind | undefined {
  return entry && KINDS[entry.meta.kind];
}

export function manifestChunkKeys(layout: Layout, manifest: Manifest): string[] {
  return manifest.c.flatMap((c) => (c ? [layout.chunkKey(c[0])] : []));
}

/** Builds the slot of one name from every key stored under it: the highest data generation wins. */
export function toSlot(path: string, keys: NameKey[]): Slot {
  let best: NameKey | undefined;
  let maxGen = 0;
  for (const k of keys) {
    maxGen = Math.max(maxGen, k.gen);
    if (k.meta && (!best || k.gen > best.gen)) best = k;
  }
  let pendingSince: number | undefined;
  for (const k of keys) {
    if (!k.meta && k.gen > (best?.gen ?? 0)) pendingSince = Math.max(pendingSince ?? 0, k.written ?? 0);
  }
  const entry =
    best?.meta && best.meta.kind !== 't' ? { key: best.key, gen: best.gen, meta: best.meta } : undefined;
  return { path, entry, maxGen, pendingSince, keys: keys.map((k) => k.key) };
}
