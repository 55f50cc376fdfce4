import { isVfsError, VfsError } from '../errors.js';
import { isSameOrDescendant, joinPath, rebasePath } from '../path.js';
import {
  checkIfFile,
  type DirEntry,
  type FileIdentity,
  isSameFile,
  type Metadata,
  type SetTimes,
  type VfsSyncDriver,
  type WriteExtent,
  type WriteExtentsOptions,
} from '../types.js';
import { DirtyExtents } from './extents.js';
import { Op, type OpCode, type Value } from './protocol.js';

/** A synchronous call to the backend; throws {@link VfsError}s. */
export type Remote = (op: OpCode, ...args: Value[]) => Value;

/** Sizes of the cache, in bytes. */
export interface CacheLimits {
  blockSize: number;
  cacheBytes: number;
  dirtyBytes: number;
  /**
   * The store's declared `maxBytes`: a buffered write that grows a file could be refused only when
   * stored, after the caller was told it succeeded, so growth goes to the backend at once.
   */
  maxBytes?: number;
  /** The store's declared `maxFileSize`: growth past it goes to the backend at once (which refuses it). */
  maxFileSize?: number;
  /**
   * The store has hard links: a file with several names is never cached nor buffered (a write
   * through one name must show through the others at once), which the cache learns with one `stat`
   * before it first caches or buffers for a path.
   */
  hardLinks?: boolean;
}

/**
 * Told the bytes of buffered writes of `path` each time they change: more than 0 while the file
 * holds writes the backend does not have, 0 once they are stored (or dropped: the file was
 * deleted, replaced, or storing them failed).
 */
export type DirtyListener = (path: string, bytes: number) => void;

/** Files whose size is remembered without any cached block or buffered write, at most. */
const MAX_FILES = 4096;

interface Block {
  file: FileState;
  index: number;
  /** Stored bytes of the block; shorter than a block only where the stored file ends. */
  data: Uint8Array;
}

/**
 * What the bridge knows of one file it has touched. Invariant (the bridge being the only writer of
 * the file while it caches it): the file exists in the backend with `stored` bytes; what the guest
 * sees is those bytes, zero-extended to `size`, with `dirty` written over them.
 */
interface FileState {
  path: string;
  stored: number;
  size: number;
  blocks: Map<number, Block>;
  dirty: DirtyExtents;
  /** When the last buffered write was made (what `stat` reports as modified until it is stored). */
  touched: number;
  /** The file the buffered writes were made to (the WASI host's `ifFile`): stored only into it. */
  ifFile?: FileIdentity;
  /** A `stat` showed the file has one name (always true on a store without hard links). */
  single: boolean;
}

/** Whether `meta` is a file with more than one name (hard links). */
const linked = (meta: Metadata) => (meta.linkCount ?? 1) > 1;

/**
 * The bridge's block cache and write-back buffer in front of a {@link Remote} backend. Reads fill
 * an LRU cache of fixed-size blocks; writes to files that are known to exist are buffered; every
 * other operation goes to the backend, after flushing what it depends on. See the "Sync bridge"
 * section of the package README for the contract.
 */
export class BlockCache implements VfsSyncDriver {
  readonly #remote: Remote;
  readonly #limits: CacheLimits;
  readonly #files = new Map<string, FileState>();
  readonly #lru = new Map<Block, true>();
  #cachedBytes = 0;
  #dirtyBytes = 0;
  /**
   * Flush failures not yet reported, by the file's current path: a failure belongs to the file, so
   * a rename moves it and deleting or replacing the file drops it. Reported once, by the next flush
   * that covers the file.
   */
  readonly #failures = new Map<string, VfsError>();
  readonly #onDirty: DirtyListener | undefined;

  constructor(remote: Remote, limits: CacheLimits, onDirty?: DirtyListener) {
    this.#remote = remote;
    this.#limits = limits;
    this.#onDirty = onDirty;
  }

  /** Bytes of clean blocks held. */
  get cachedBytes(): number {
    return this.#cachedBytes;
  }

  /** Bytes of buffered writes held. */
  get dirtyBytes(): number {
    return this.#dirtyBytes;
  }

  // --- file state -------------------------------------------------------------------------

  #track(path: string, size: number, single = !this.#limits.hardLinks): FileState {
    this.#forget(path);
    if (this.#files.size >= MAX_FILES) {
      // Keep the table bounded: drop the oldest entries that hold nothing but a size.
      for (const file of this.#files.values()) {
        if (this.#files.size < MAX_FILES / 2) break;
        if (file.dirty.bytes === 0 && file.blocks.size === 0) this.#files.delete(file.path);
      }
    }
    const file: FileState = {
      path,
      stored: size,
      size,
      blocks: new Map(),
      dirty: new DirtyExtents(),
      touched: 0,
      single,
    };
    this.#files.set(path, file);
    return file;
  }

  /** Drops what is known of `path`, buffered writes included (callers flush first when needed). */
  #forget(path: string): void {
    const file = this.#files.get(path);
    if (!file) return;
    this.#evictFrom(file, 0);
    const dirty = file.dirty.bytes;
    this.#dirtyBytes -= dirty;
    file.dirty.clear();
    this.#files.delete(path);
    if (dirty > 0) this.#onDirty?.(path, 0);
  }

  #forgetTree(path: string): void {
    for (const key of [...this.#files.keys()]) if (isSameOrDescendant(path, key)) this.#forget(key);
  }

  /** Drops cached blocks from the one holding byte `offset` on. */
  #evictFrom(file: FileState, offset: number): void {
    const first = Math.floor(offset / this.#limits.blockSize);
    for (const [index, block] of file.blocks) if (index >= first) this.#drop(block);
  }

  #drop(block: Block): void {
    block.file.blocks.delete(block.index);
    this.#lru.delete(block);
    this.#cachedBytes -= block.data.length;
  }

  #keep(file: FileState, index: number, data: Uint8Array): void {
    if (data.length === 0 || data.length > this.#limits.cacheBytes) return;
    const old = file.blocks.get(index);
    if (old) this.#drop(old);
    const block: Block = { file, index, data };
    file.blocks.set(index, block);
    this.#lru.set(block, true);
    this.#cachedBytes += data.length;
    for (const oldest of this.#lru.keys()) {
      if (this.#cachedBytes <= this.#limits.cacheBytes) break;
      this.#drop(oldest);
    }
  }

  /**
   * The state of a file that exists, from the backend when unknown; `undefined` when it is not a
   * file, or one with several names (never cached).
   */
  #known(path: string): FileState | undefined {
    const known = this.#files.get(path);
    if (known?.single) return known;
    let meta: Metadata;
    if (known) {
      // Told apart once: stat keeps the file when it has one name, and stores and forgets it if not.
      try {
        meta = this.stat(path);
      } catch (error) {
        if (isVfsError(error, 'not-found')) return undefined;
        throw error;
      }
      return meta.kind === 'file' ? this.#files.get(path) : undefined;
    }
    try {
      meta = this.#remote(Op.stat, path) as unknown as Metadata;
    } catch (error) {
      if (isVfsError(error, 'not-found')) return undefined;
      throw error;
    }
    return meta.kind === 'file' && !linked(meta) ? this.#track(path, meta.size, true) : undefined;
  }

  // --- flushing ---------------------------------------------------------------------------

  /**
   * Writes the buffered extents of `file` to the backend, in one `writeExtents` call (one round
   * trip, and one transaction where the backend has them). A failure is kept for the next flush.
   */
  #write(file: FileState): void {
    if (file.dirty.list.length === 0) return;
    const extents = file.dirty.list.map((e) => [e.offset, e.buffer.subarray(0, e.length)] as const);
    try {
      // With the time of the last buffered write: that write, not this flush, changed the file.
      const options: WriteExtentsOptions = { modified: file.touched, ifFile: file.ifFile };
      this.#remote(Op.writeExtents, file.path, extents as unknown as Value, options as Value);
    } catch (error) {
      // Like a failed writeback in an OS: the data is dropped and the error reported once, by the
      // next flush of the file. What the backend holds now is unknown, so the file is forgotten.
      this.#failures.set(file.path, error as VfsError);
      this.#forget(file.path);
      return;
    }
    for (const e of file.dirty.list) this.#patch(file, e.offset, e.buffer.subarray(0, e.length));
    this.#dirtyBytes -= file.dirty.bytes;
    file.dirty.clear();
    file.stored = file.size;
    this.#onDirty?.(file.path, 0);
  }

  /** Brings cached blocks up to date after `data` was stored at `offset`. */
  #patch(file: FileState, offset: number, data: Uint8Array): void {
    const size = this.#limits.blockSize;
    const last = Math.floor((offset + data.length - 1) / size);
    for (const block of [...file.blocks.values()]) {
      const index = block.index;
      if (file.blocks.get(index) !== block) continue;
      const start = index * size;
      if (index > last || start + size <= Math.min(offset, file.stored)) continue;
      // The block overlaps the data or the stored end moved through it: rebuild it.
      const length = Math.min(size, Math.max(file.stored, offset + data.length) - start);
      const next = new Uint8Array(length);
      next.set(block.data.subarray(0, length));
      const from = Math.max(offset, start);
      const to = Math.min(offset + data.length, start + length);
      if (from < to) next.set(data.subarray(from - offset, to - offset), from - start);
      this.#drop(block);
      this.#keep(file, index, next);
    }
    file.stored = Math.max(file.stored, offset + data.length);
  }

  #flushTree(path: string): void {
    for (const file of [...this.#files.values()]) if (isSameOrDescendant(path, file.path)) this.#write(file);
  }

  #flushAll(): void {
    for (const file of [...this.#files.values()]) this.#write(file);
  }

  /** Throws the failure of `path` (of every file when omitted: all of them in one error). */
  #report(path?: string): void {
    if (path !== undefined) {
      const error = this.#failures.get(path);
      if (!error) return;
      this.#failures.delete(path);
      throw error;
    }
    const errors = [...this.#failures.values()];
    this.#failures.clear();
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      // One error for the caller's error handling, every failure in it: none is left for later.
      throw new VfsError(
        errors[0]!.code,
        `storing the buffered writes of ${errors.length} files failed: ${errors.map((e) => e.message).join('; ')}`,
        { cause: new AggregateError(errors) },
      );
    }
  }

  /** A rename from `from` to `to` succeeded: failures follow their files; those at `to` are gone. */
  #renameFailures(from: string, to: string): void {
    const moving: Array<[string, VfsError]> = [];
    for (const [key, error] of this.#failures) {
      if (isSameOrDescendant(from, key)) moving.push([key, error]);
      else if (isSameOrDescendant(to, key)) this.#failures.delete(key);
    }
    for (const [key, error] of moving) {
      this.#failures.delete(key);
      const path = rebasePath(key, from, to);
      this.#failures.set(
        path,
        new VfsError(error.code, `the file's buffered writes were not stored (it was at ${key} then)`, {
          path,
          cause: error,
        }),
      );
    }
  }

  /**
   * Stores the buffered writes of `path` (of every file when omitted) and forgets what is cached
   * about it, so the next access sees what other writers stored meanwhile (close-to-open
   * consistency). Throws a failure of an earlier background flush of that file, once.
   */
  flush(path?: string): void {
    if (path === undefined) {
      this.#flushAll();
      for (const key of [...this.#files.keys()]) this.#forget(key);
      this.#report();
      return;
    }
    const file = this.#files.get(path);
    if (file) {
      this.#write(file);
      this.#forget(path);
    }
    this.#report(path);
  }

  /**
   * Whether a write ending at `end` must go to the backend at once because it grows the file and
   * the store declares a limit that could refuse it (see {@link CacheLimits.maxBytes}). Overwrites
   * are buffered: they change no limit's count. Stores without those limits buffer everything.
   */
  #storeDecides(file: FileState, end: number): boolean {
    if (end <= file.size) return false;
    const { maxBytes, maxFileSize } = this.#limits;
    return maxBytes !== undefined || (maxFileSize !== undefined && end > maxFileSize);
  }

  /** `data` was stored at `offset` by a write that bypassed the buffer: the cache follows. */
  #storedThrough(path: string, offset: number, data: Uint8Array): void {
    const now = this.#files.get(path);
    if (now) {
      this.#patch(now, offset, data);
      now.size = Math.max(now.size, now.stored);
    }
  }

  /** Makes room for `incoming` buffered bytes. */
  #reserve(incoming: number): void {
    if (this.#dirtyBytes + incoming > this.#limits.dirtyBytes) this.#flushAll();
  }

  // --- reads ------------------------------------------------------------------------------

  /** Reads `[offset, end)` of a known file: cached blocks, fetched blocks and buffered writes. */
  #readKnown(file: FileState, offset: number, end: number): Uint8Array {
    const out = new Uint8Array(end - offset);
    const storedEnd = Math.min(end, file.stored);
    if (offset < storedEnd && !file.dirty.covers(offset, storedEnd)) {
      const size = this.#limits.blockSize;
      const first = Math.floor(offset / size);
      const last = Math.floor((storedEnd - 1) / size);
      if ((last - first + 1) * size > this.#limits.cacheBytes / 4) {
        // Too big to cache: fetch the range as it is.
        const data = this.#remote(Op.readAt, file.path, offset, storedEnd - offset) as Uint8Array;
        out.set(data);
      } else {
        const blocks = this.#fill(file, first, last);
        for (let index = first; index <= last; index++) {
          const data = blocks.get(index);
          if (!data) continue;
          const start = index * size;
          const from = Math.max(offset, start);
          const to = Math.min(storedEnd, start + data.length);
          if (from < to) out.set(data.subarray(from - start, to - start), from - offset);
        }
      }
    }
    file.dirty.overlay(out, offset);
    return out;
  }

  /** The blocks `[first, last]`, fetching missing runs of blocks in one request each. */
  #fill(file: FileState, first: number, last: number): Map<number, Uint8Array> {
    const size = this.#limits.blockSize;
    const blocks = new Map<number, Uint8Array>();
    let index = first;
    while (index <= last) {
      const cached = file.blocks.get(index);
      if (cached) {
        this.#lru.delete(cached);
        this.#lru.set(cached, true);
        blocks.set(index, cached.data);
        index++;
        continue;
      }
      let stop = index;
      while (stop + 1 <= last && !file.blocks.has(stop + 1)) stop++;
      const fetched = this.#remote(
        Op.readAt,
        file.path,
        index * size,
        (stop - index + 1) * size,
      ) as Uint8Array;
      for (let k = index; k <= stop; k++) {
        const part = fetched.subarray((k - index) * size, Math.min(fetched.length, (k - index + 1) * size));
        // Copy: a block must not keep the whole response alive.
        const data = part.slice();
        blocks.set(k, data);
        this.#keep(file, k, data);
      }
      index = stop + 1;
    }
    return blocks;
  }

  read(path: string): Uint8Array {
    const file = this.#files.get(path);
    if (file && file.dirty.bytes > 0) return this.#readKnown(file, 0, file.size);
    return this.#remote(Op.read, path) as Uint8Array;
  }

  readAt(path: string, offset: number, length: number): Uint8Array {
    const file = length > 0 ? this.#known(path) : undefined;
    if (!file) return this.#remote(Op.readAt, path, offset, length) as Uint8Array;
    const end = Math.min(offset + length, file.size);
    if (offset >= end) return new Uint8Array(0);
    return this.#readKnown(file, offset, end);
  }

  // --- writes -----------------------------------------------------------------------------

  write(path: string, data: Uint8Array): void {
    // Buffered writes of the file are replaced; they are dropped only once the write succeeded.
    this.#remote(Op.write, path, data);
    this.#track(path, data.length);
  }

  writeAt(path: string, offset: number, data: Uint8Array): void {
    if (data.length === 0) {
      // Whether an empty write past the end extends the file is the backend's business.
      const file = this.#files.get(path);
      if (file) this.#write(file);
      this.#remote(Op.writeAt, path, offset, data);
      this.#forget(path);
      return;
    }
    const file = this.#known(path);
    if (!file) {
      // Not a file yet: the backend decides (creates it, or not-found, is-a-directory...).
      this.#remote(Op.writeAt, path, offset, data);
      this.#track(path, offset + data.length);
      return;
    }
    if (data.length > this.#limits.dirtyBytes / 2 || this.#storeDecides(file, offset + data.length)) {
      // Large writes gain nothing from buffering, and growth a declared limit may refuse is refused
      // now, not after the caller was told it succeeded. Earlier buffered writes go first.
      this.#write(file);
      this.#remote(Op.writeAt, path, offset, data);
      this.#storedThrough(path, offset, data);
      return;
    }
    this.#reserve(data.length);
    const current = this.#files.get(path) ?? this.#track(path, file.size);
    if (current !== file) {
      // The reservation flush failed for this file and forgot it: start over from the backend.
      this.writeAt(path, offset, data);
      return;
    }
    this.#dirtyBytes += file.dirty.write(offset, data);
    file.size = Math.max(file.size, offset + data.length);
    file.touched = Date.now();
    this.#onDirty?.(path, file.dirty.bytes);
  }

  /**
   * Buffers one extent written through an open file (the WASI host's writes carry `ifFile`), as
   * `writeAt` buffers: the flush stores it with that `ifFile`, so if another process deleted or
   * replaced the file meanwhile, the flush fails (`not-found`, reported by the next flush of the
   * path) instead of bringing the path back. Returns `false` for what is not buffered.
   */
  #buffer(path: string, [offset, data]: WriteExtent, ifFile: FileIdentity): boolean {
    if (data.length === 0 || data.length > this.#limits.dirtyBytes / 2) return false;
    let file = this.#files.get(path);
    if (!file?.ifFile || !isSameFile({ kind: 'file', ...file.ifFile }, ifFile)) {
      // The first write buffered for this file: it is checked now (one stat), so that a file
      // deleted or replaced before it fails at once; later ones fail when they are stored. Writes
      // buffered for another file (or without one) are stored first, with their own.
      if (file && file.dirty.bytes > 0) this.#write(file);
      let meta: Metadata | undefined;
      try {
        meta = this.stat(path);
      } catch (error) {
        if (!isVfsError(error, 'not-found')) throw error;
      }
      checkIfFile(path, meta, ifFile);
      file = this.#files.get(path);
      if (!file) return false;
      file.ifFile = ifFile;
    }
    if (this.#storeDecides(file, offset + data.length)) {
      // Growth a declared limit may refuse: stored now (see writeAt), with its ifFile.
      this.#write(file);
      const options: WriteExtentsOptions = { ifFile };
      this.#remote(Op.writeExtents, path, [[offset, data]] as unknown as Value, options as Value);
      this.#storedThrough(path, offset, data);
      return true;
    }
    this.#reserve(data.length);
    // A flush that failed forgot the file: the backend decides.
    if (this.#files.get(path) !== file) return false;
    this.#dirtyBytes += file.dirty.write(offset, data);
    file.size = Math.max(file.size, offset + data.length);
    file.touched = Date.now();
    this.#onDirty?.(path, file.dirty.bytes);
    return true;
  }

  /** Not buffered: the backend stores it all or nothing, after what is buffered for the file. */
  writeExtents(path: string, extents: readonly WriteExtent[], options?: WriteExtentsOptions): void {
    const ifFile = options?.ifFile;
    // A write through an open file (the WASI host's): buffered like writeAt.
    if (ifFile && options.modified === undefined && extents.length === 1) {
      if (this.#buffer(path, extents[0]!, ifFile)) return;
    }
    const file = this.#files.get(path);
    if (file) this.#write(file);
    this.#remote(Op.writeExtents, path, extents as unknown as Value, options as Value);
    // What is cached of the file may be stale in many places: it is read again when needed.
    this.#forget(path);
  }

  append(path: string, data: Uint8Array): number {
    const file = this.#files.get(path);
    if (file) this.#write(file);
    const at = this.#remote(Op.append, path, data) as number;
    const now = this.#files.get(path);
    if (now) {
      // Another writer changed the end of the file meanwhile: what we cached past it is stale.
      if (at !== now.stored) this.#evictFrom(now, Math.min(at, now.stored));
      now.stored = at;
      this.#patch(now, at, data);
      now.size = now.stored;
    } else {
      // The file exists now, with this size: later writes are buffered without asking again.
      this.#track(path, at + data.length);
    }
    return at;
  }

  /** Always the backend's: only it can tell whether another process created the file first. */
  create(path: string): void {
    const file = this.#files.get(path);
    // Writes buffered before the create reach the backend before it (and make it fail, as they should).
    if (file) this.#write(file);
    this.#remote(Op.create, path);
    this.#track(path, 0);
  }

  setSize(path: string, size: number): void {
    const file = this.#files.get(path);
    if (file) this.#write(file);
    this.#remote(Op.setSize, path, size);
    const now = this.#files.get(path);
    if (now) {
      this.#evictFrom(now, Math.min(size, now.stored));
      now.stored = size;
      now.size = size;
    } else {
      this.#track(path, size);
    }
  }

  // --- metadata ---------------------------------------------------------------------------

  stat(path: string): Metadata {
    let meta: Metadata;
    try {
      meta = this.#remote(Op.stat, path) as unknown as Metadata;
    } catch (error) {
      if (isVfsError(error, 'not-found')) this.#forget(path);
      throw error;
    }
    const file = this.#files.get(path);
    if (meta.kind === 'file' && linked(meta)) {
      // Several names: what is buffered is stored now and nothing is kept (see CacheLimits).
      if (file && file.dirty.bytes > 0) {
        this.#write(file);
        this.#forget(path);
        return this.stat(path);
      }
      this.#forget(path);
    } else if (meta.kind !== 'file') {
      this.#forget(path);
    } else if (!file) {
      this.#track(path, meta.size, true);
    } else if (file.dirty.bytes > 0) {
      file.single = true;
      meta.size = file.size;
      meta.modified = Math.max(meta.modified, file.touched);
      meta.accessed = Math.max(meta.accessed, file.touched);
      // Storing the buffered writes moves both times, which drops their exact nanoseconds.
      delete meta.modifiedNs;
      delete meta.accessedNs;
    } else if (meta.size !== file.stored) {
      // Changed by another writer: what we cached is stale.
      this.#track(path, meta.size, true);
    } else {
      file.single = true;
    }
    return meta;
  }

  list(path: string): DirEntry[] {
    const entries = this.#remote(Op.list, path) as unknown as DirEntry[];
    for (const entry of entries) {
      const file = entry.kind === 'file' ? this.#files.get(joinPath(path, entry.name)) : undefined;
      if (file && file.dirty.bytes > 0) entry.size = file.size;
    }
    return entries;
  }

  exists(path: string): boolean {
    if (this.#files.get(path)?.dirty.bytes) return true;
    return this.#remote(Op.exists, path) as boolean;
  }

  mkdir(path: string): void {
    this.#remote(Op.mkdir, path);
  }

  rmdir(path: string): void {
    this.#remote(Op.rmdir, path);
    this.#forgetTree(path);
  }

  delete(path: string): void {
    // Buffered writes of a deleted file need not be stored; keep them until the delete succeeds.
    this.#remote(Op.delete, path);
    this.#forget(path);
    // Its failure went with it: nobody can store into (or fsync) a deleted file.
    this.#failures.delete(path);
  }

  rename(from: string, to: string): void {
    this.#flushTree(from);
    this.#remote(Op.rename, from, to);
    if (from === to) return;
    this.#forgetTree(from);
    this.#forgetTree(to);
    this.#renameFailures(from, to);
  }

  setTimes(path: string, times: SetTimes): void {
    // Stored later, buffered writes would move the modification time set here.
    const file = this.#files.get(path);
    if (file) this.#write(file);
    this.#remote(Op.setTimes, path, { ...times });
  }

  /**
   * Always the backend's. A link never holds buffered writes: only a file is tracked, and `stat`
   * or the backend's refusal (`is-a-symlink`) tells a link from a file before anything is buffered.
   */
  symlink(path: string, target: string): void {
    this.#remote(Op.symlink, path, target);
    // Whatever was known of the path (another process removed that file) is not this link.
    this.#forget(path);
    this.#failures.delete(path);
  }

  readlink(path: string): string {
    return this.#remote(Op.readlink, path) as string;
  }

  /** Always the backend's, after what is buffered for `from`; neither name is cached after it. */
  link(from: string, to: string): void {
    const file = this.#files.get(from);
    if (file) this.#write(file);
    this.#remote(Op.link, from, to);
    this.#forget(from);
    this.#forget(to);
    this.#failures.delete(to);
  }

  close(): void {
    this.flush();
  }
}
