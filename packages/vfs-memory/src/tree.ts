import {
  baseName,
  type Capabilities,
  checkCreate,
  checkDelete,
  checkExistingDirectory,
  checkExistingFile,
  checkExists,
  checkFileTarget,
  checkIfFile,
  checkLink,
  checkMkdir,
  checkReadlink,
  checkRename,
  checkRmdir,
  checkSymlink,
  chunkSpans,
  coalesceExtents,
  type DirEntry,
  exactNs,
  type Kind,
  type Metadata,
  nsToMs,
  parentPath,
  readRange,
  type SetTimes,
  VfsError,
  type VfsSyncDriver,
  type WriteExtent,
  type WriteExtentsOptions,
} from '@eryx/vfs-core';

/** Bytes per chunk. Small files hold one short chunk; large ones never reallocate as they grow. */
export const CHUNK_SIZE = 64 * 1024;

interface Times {
  /** The node's identity (`Metadata.id`): unique within the process, kept by renames. */
  id: string;
  created: number;
  modified: number;
  accessed: number;
  /**
   * The exact nanoseconds `setTimes` was given as a bigint, next to their `nsToMs` in `modified`;
   * left stale when anything else moves `modified` (`exactNs` then drops them on read), so writes
   * stay as cheap as before. Always present as a key, so every node keeps one shape.
   */
  modifiedNs: bigint | undefined;
  /** As {@link Times.modifiedNs}, for `accessed`. */
  accessedNs: bigint | undefined;
}

export interface FileNode extends Times {
  kind: 'file';
  size: number;
  /** How many names (hard links) the node has in the tree. */
  links: number;
  /**
   * Chunk index → buffer; a missing chunk reads as zeros. Buffers may be longer than used. A Map,
   * not an array: a sparse file's indices reach 2^37, past an array's, and only the chunks there
   * are should be visited.
   */
  chunks: Map<number, Uint8Array>;
}

export interface DirNode extends Times {
  kind: 'directory';
  children: Map<string, Node>;
}

/** A symbolic link: its target kept verbatim, never followed. */
export interface LinkNode extends Times {
  kind: 'symlink';
  target: string;
  /** How many names (hard links) the node has in the tree. */
  links: number;
  /** The target's UTF-8 bytes: the link's `size`, and what it adds to the usage besides its name. */
  size: number;
}

export type Node = FileNode | DirNode | LinkNode;

/** Read once: Node's `performance.timeOrigin` getter costs more than `performance.now()` itself. */
const timeOrigin = performance.timeOrigin;
export const now = (): number => timeOrigin + performance.now();

let lastId = 0;

/** A new node identity: never one another node of this process had (copies get new ones). */
export const nextId = (): string => String(++lastId);

export function newDir(time = now()): DirNode {
  return {
    kind: 'directory',
    children: new Map(),
    id: nextId(),
    created: time,
    modified: time,
    accessed: time,
    modifiedNs: undefined,
    accessedNs: undefined,
  };
}

export function newFile(time = now()): FileNode {
  return {
    kind: 'file',
    size: 0,
    links: 1,
    chunks: new Map(),
    id: nextId(),
    created: time,
    modified: time,
    accessed: time,
    modifiedNs: undefined,
    accessedNs: undefined,
  };
}

export function newLink(target: string, time = now()): LinkNode {
  return {
    kind: 'symlink',
    target,
    size: nameBytes(target),
    links: 1,
    id: nextId(),
    created: time,
    modified: time,
    accessed: time,
    modifiedNs: undefined,
    accessedNs: undefined,
  };
}

/**
 * A deep copy of a whole tree (a snapshot, a restore) with new identities. A node with several
 * names (hard links) is copied once and keeps its names in the copy (`copies` maps each original
 * to its copy); its link count is right because the whole tree is copied.
 */
export function cloneNode(node: Node, copies = new Map<Node, Node>()): Node {
  const done = copies.get(node);
  if (done) return done;
  let copy: Node;
  if (node.kind === 'symlink') copy = { ...node, id: nextId() };
  else if (node.kind === 'file') {
    const chunks = new Map<number, Uint8Array>();
    for (const [i, chunk] of node.chunks) chunks.set(i, chunk.slice());
    copy = { ...node, chunks, id: nextId() };
  } else {
    const children = new Map<string, Node>();
    for (const [name, child] of node.children) children.set(name, cloneNode(child, copies));
    return { ...node, children, id: nextId() };
  }
  if (copy.links > 1) copies.set(node, copy);
  return copy;
}

/** Reads `length` bytes at `offset` of a file (the range must lie within the file). */
export function readFileRange(file: FileNode, offset: number, length: number, view = false): Uint8Array {
  const index = Math.floor(offset / CHUNK_SIZE);
  const start = offset - index * CHUNK_SIZE;
  if (start + length <= CHUNK_SIZE) {
    // Within one chunk that holds every byte asked for (as most reads are): one copy, or none.
    const chunk = file.chunks.get(index);
    if (chunk && chunk.length >= start + length) {
      return view ? chunk.subarray(start, start + length) : chunk.slice(start, start + length);
    }
  }
  const out = new Uint8Array(length);
  for (const span of chunkSpans(offset, length, CHUNK_SIZE)) {
    const chunk = file.chunks.get(span.index);
    if (chunk) out.set(chunk.subarray(span.start, span.end), span.rangeOffset);
  }
  return out;
}

/** The bytes an entry's name (or a link's target) costs in the usage (see `StorageLimits.maxBytes`). */
export const nameBytes = (name: string): number => Buffer.byteLength(name, 'utf8');

/** Where {@link MemoryTree}'s writes go besides an offset: at the end, or replacing everything. */
const APPEND = -1;
const REPLACE = -2;

/** A file's size after writing `length` bytes at `at` (an offset, {@link APPEND} or {@link REPLACE}). */
function sizeAfter(size: number, at: number, length: number): number {
  if (at === APPEND) return size + length;
  if (at === REPLACE) return length;
  return Math.max(size, at + length);
}

/** The memory backend's synchronous driver: a tree of nodes with a total-bytes limit. */
export class MemoryTree implements VfsSyncDriver {
  readonly capabilities: Partial<Capabilities> = {
    nativeAppend: true,
    exclusiveCreate: true,
    atomicRename: true,
    atomicDirectoryRename: true,
    nativeIfFile: true,
    symlinks: true,
    nanosecondTimes: true,
    hardLinks: true,
  };
  #root: DirNode = newDir();
  /**
   * Path → directory for directories found before, so a path's parent is one Map lookup rather
   * than a walk of every segment. Files are not kept: a file is one lookup in its parent, and a
   * guest making many files would otherwise fill this map with them. An entry is dropped when any
   * directory leaves the tree (rmdir, rename, a new root), so it never goes stale.
   */
  readonly #dirs = new Map<string, DirNode>();
  /**
   * The directory the last path went through: a guest works in one directory at a time, and a
   * prefix comparison is cheaper than hashing the parent's path (reset with `#dirs`).
   */
  #lastDirPath = '/';
  #lastDir: DirNode = this.#root;
  /**
   * The last path found, and what it named: a guest works on one file for many calls in a row
   * (appends, reads, stats), and the same string compares in one step where finding it again in
   * its parent would slice and hash its name each time. '' (no path) when reset by any removal.
   */
  #lastPath = '';
  #lastNode: Node | undefined;
  /**
   * The usage `maxBytes` bounds: every entry's name bytes (the root has none) plus every file's
   * size and every link's (its target's bytes). Compared with `maxBytes` before anything changes or is allocated.
   */
  used = 0;

  constructor(readonly maxBytes: number) {}

  get root(): DirNode {
    return this.#root;
  }

  /** Replaces the whole tree (restoring a snapshot). */
  set root(root: DirNode) {
    this.#root = root;
    this.#forgetDirectories();
  }

  #forgetDirectories(): void {
    this.#dirs.clear();
    this.#lastDirPath = '/';
    this.#lastDir = this.#root;
    this.#remember('', undefined);
  }

  #remember(path: string, node: Node | undefined): void {
    this.#lastPath = path;
    this.#lastNode = node;
  }

  lookup(path: string): Node | undefined {
    if (path === this.#lastPath) return this.#lastNode;
    if (path === '/') return this.#root;
    const slash = path.lastIndexOf('/');
    const node = this.#parent(path, slash)?.children.get(path.slice(slash + 1));
    if (node) this.#remember(path, node);
    return node;
  }

  /** The directory holding `path` (not the root), whose last slash is at `slash`, if it exists. */
  #parent(path: string, slash: number): DirNode | undefined {
    if (slash === 0) return this.#root;
    const last = this.#lastDirPath;
    if (slash === last.length && path.startsWith(last)) return this.#lastDir;
    const dirPath = path.slice(0, slash);
    const dir = this.#dirs.get(dirPath) ?? this.#walk(dirPath);
    if (!dir) return undefined;
    this.#lastDirPath = dirPath;
    this.#lastDir = dir;
    return dir;
  }

  /**
   * The directory at `dirPath` (not cached), found from its nearest cached ancestor one segment at
   * a time and cached on the way. A loop, not recursion: a path of any depth must not exhaust the
   * stack.
   */
  #walk(dirPath: string): DirNode | undefined {
    const ends = [dirPath.length];
    let dir = this.#root;
    let from = 0;
    for (let slash = dirPath.lastIndexOf('/'); slash > 0; slash = dirPath.lastIndexOf('/', slash - 1)) {
      const cached = this.#dirs.get(dirPath.slice(0, slash));
      if (cached) {
        dir = cached;
        from = slash;
        break;
      }
      ends.push(slash);
    }
    for (let i = ends.length - 1; i >= 0; i--) {
      const end = ends[i] as number;
      const node = dir.children.get(dirPath.slice(from + 1, end));
      if (node?.kind !== 'directory') return undefined;
      dir = node;
      from = end;
      this.#dirs.set(dirPath.slice(0, end), dir);
    }
    return dir;
  }

  /** Unlinks the entry at `path` (which exists) from its parent (its usage is the caller's). */
  #remove(path: string, node: Node): void {
    this.#dir(parentPath(path)).children.delete(baseName(path));
    // The node (a directory: and its descendants) may be cached under its old path.
    if (node.kind === 'directory') this.#forgetDirectories();
    else this.#remember('', undefined);
  }

  #kind(path: string): Kind {
    return this.lookup(path)?.kind;
  }

  #dir(path: string): DirNode {
    return this.lookup(path) as DirNode;
  }

  /** Refuses growing the usage by `growth` bytes past `maxBytes`; only growth is refused. */
  #reserve(path: string, growth: number): void {
    const next = this.used + growth;
    if (growth > 0 && next > this.maxBytes) {
      throw new VfsError(
        'quota-exceeded',
        `the memory store would hold ${next} bytes (names included), the limit is ${this.maxBytes}`,
        { path },
      );
    }
  }

  /**
   * The file at `path`, created if missing, once writing `length` bytes at `at` fits: at its end
   * for {@link APPEND}, as its whole content for {@link REPLACE}. (Numbers, not a callback: a
   * closure per write showed in a guest's small writes.)
   */
  #fileFor(path: string, at: number, length: number): FileNode {
    if (path === this.#lastPath && this.#lastNode)
      return this.#existingFile(path, this.#lastNode, at, length);
    if (path === '/') return this.#existingFile(path, this.#root, at, length);
    // The parent is looked up here rather than through lookup(): a new file (every O_CREAT of one
    // comes here) then needs its parent and its name once, not once to miss and once more to create.
    const slash = path.lastIndexOf('/');
    const parent = this.#parent(path, slash);
    const name = path.slice(slash + 1);
    const node = parent?.children.get(name);
    if (node) {
      this.#remember(path, node);
      return this.#existingFile(path, node, at, length);
    }
    checkFileTarget(path, undefined, parent ? 'directory' : this.#kind(parentPath(path)));
    const nameLength = nameBytes(name);
    this.#reserve(path, nameLength + sizeAfter(0, at, length));
    const file = newFile();
    (parent as DirNode).children.set(name, file);
    // The size is counted as it is written.
    this.used += nameLength;
    // Known at once, for the write that usually follows.
    this.#remember(path, file);
    return file;
  }

  /** `node` (at `path`) when it is a file and writing `length` bytes at `at` fits (see #fileFor). */
  #existingFile(path: string, node: Node, at: number, length: number): FileNode {
    checkFileTarget(path, node.kind, undefined);
    const file = node as FileNode;
    this.#reserve(path, sizeAfter(file.size, at, length) - file.size);
    return file;
  }

  #touch(file: FileNode): void {
    const t = now();
    file.modified = t;
    file.accessed = t;
  }

  #writeInto(file: FileNode, offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    const first = Math.floor(offset / CHUNK_SIZE);
    if (data.length > 0 && Math.floor((end - 1) / CHUNK_SIZE) === first) {
      // Within one chunk, as most writes are: no span list.
      this.#chunkFor(file, first, end - first * CHUNK_SIZE).set(data, offset - first * CHUNK_SIZE);
    } else {
      for (const span of chunkSpans(offset, data.length, CHUNK_SIZE)) {
        const chunk = this.#chunkFor(file, span.index, span.end);
        chunk.set(data.subarray(span.rangeOffset, span.rangeOffset + span.end - span.start), span.start);
      }
    }
    if (end > file.size) {
      this.used += end - file.size;
      file.size = end;
    }
  }

  /** Chunk `index` of `file`, grown to hold at least `length` bytes. */
  #chunkFor(file: FileNode, index: number, length: number): Uint8Array {
    let chunk = file.chunks.get(index);
    if (!chunk || chunk.length < length) {
      // Grow by doubling so appends stay amortized O(1) per byte; fresh bytes are zero. A file that
      // already spans several chunks is a large one: its new chunks are made whole at once.
      const capacity =
        index > 0 ? CHUNK_SIZE : Math.min(CHUNK_SIZE, Math.max(length, (chunk?.length ?? 0) * 2, 64));
      const grown = new Uint8Array(capacity);
      if (chunk) grown.set(chunk);
      chunk = grown;
      file.chunks.set(index, chunk);
    }
    return chunk;
  }

  #truncate(file: FileNode, size: number): void {
    if (size >= file.size) {
      this.used += size - file.size;
      file.size = size;
      return;
    }
    const lastIndex = Math.floor(size / CHUNK_SIZE);
    for (const index of file.chunks.keys()) {
      if (index > lastIndex || (index === lastIndex && size % CHUNK_SIZE === 0)) file.chunks.delete(index);
    }
    // Zero the cut-off tail so a later extension reads zeros, not old bytes.
    file.chunks.get(lastIndex)?.fill(0, size % CHUNK_SIZE);
    this.used -= file.size - size;
    file.size = size;
  }

  read(path: string): Uint8Array {
    const node = this.lookup(path);
    checkExistingFile(path, node?.kind);
    const file = node as FileNode;
    return readFileRange(file, 0, file.size);
  }

  readAt(path: string, offset: number, length: number, view = false): Uint8Array {
    const node = this.lookup(path);
    checkExistingFile(path, node?.kind);
    const file = node as FileNode;
    const range = readRange(file.size, offset, length);
    return readFileRange(file, range.offset, range.length, view);
  }

  /**
   * A view of the chunk when the range lies in one (see `VfsSyncStorage.readAtView`): a copy costs
   * an allocation whose fresh pages the kernel must fault in, which dominated a guest's 64 KiB reads.
   */
  readAtView(path: string, offset: number, length: number): Uint8Array {
    return this.readAt(path, offset, length, true);
  }

  write(path: string, data: Uint8Array): void {
    const file = this.#fileFor(path, REPLACE, data.length);
    this.used -= file.size;
    file.size = 0;
    file.chunks = new Map();
    this.#writeInto(file, 0, data);
    this.#touch(file);
  }

  writeAt(path: string, offset: number, data: Uint8Array): void {
    const file = this.#fileFor(path, offset, data.length);
    this.#writeInto(file, offset, data);
    this.#touch(file);
  }

  /** One synchronous step: readers see all of the extents or none, and the quota is checked first. */
  writeExtents(path: string, extents: readonly WriteExtent[], options?: WriteExtentsOptions): void {
    const ifFile = options?.ifFile;
    if (ifFile) checkIfFile(path, this.lookup(path), ifFile);
    const first = extents[0];
    if (extents.length === 1 && first![1].length > 0) {
      // One extent (what the WASI host writes through a descriptor): as writeAt, without runs.
      const [offset, data] = first!;
      const file = this.#fileFor(path, offset, data.length);
      this.#writeInto(file, offset, data);
      const t = options?.modified ?? now();
      file.modified = t;
      file.accessed = t;
      return;
    }
    const runs = coalesceExtents(extents);
    const last = runs[runs.length - 1];
    const end = last ? last[0] + last[1].length : 0;
    // As a write of `end` bytes at 0: the file's size after it is max(size, end).
    const file = this.#fileFor(path, 0, end);
    for (const [offset, data] of runs) this.#writeInto(file, offset, data);
    const t = options?.modified ?? now();
    file.modified = t;
    file.accessed = t;
  }

  append(path: string, data: Uint8Array): number {
    const file = this.#fileFor(path, APPEND, data.length);
    const at = file.size;
    // Appending nothing (how a file is created) only creates the file or moves its times.
    if (data.length > 0) this.#writeInto(file, at, data);
    this.#touch(file);
    return at;
  }

  create(path: string): void {
    checkCreate(path, this.#kind(path), this.#kind(parentPath(path)));
    this.#fileFor(path, 0, 0);
  }

  setSize(path: string, size: number): void {
    const node = this.lookup(path);
    checkExistingFile(path, node?.kind);
    const file = node as FileNode;
    this.#reserve(path, size - file.size);
    this.#truncate(file, size);
    this.#touch(file);
  }

  stat(path: string): Metadata {
    const node = this.lookup(path);
    checkExists(path, node?.kind);
    const n = node as Node;
    const meta: Metadata = {
      kind: n.kind,
      size: n.kind === 'directory' ? 0 : n.size,
      created: n.created,
      modified: n.modified,
      accessed: n.accessed,
      id: n.id,
    };
    if (n.kind !== 'directory') meta.linkCount = n.links;
    // Only when they still describe the times (kit tests compare metadata with toEqual).
    const modifiedNs = exactNs(n.modifiedNs, n.modified);
    if (modifiedNs !== undefined) meta.modifiedNs = modifiedNs;
    const accessedNs = exactNs(n.accessedNs, n.accessed);
    if (accessedNs !== undefined) meta.accessedNs = accessedNs;
    return meta;
  }

  list(path: string): DirEntry[] {
    const node = this.lookup(path);
    checkExistingDirectory(path, node?.kind);
    const entries: DirEntry[] = [];
    for (const [name, child] of (node as DirNode).children) {
      entries.push({ name, kind: child.kind, size: child.kind === 'directory' ? 0 : child.size });
    }
    return entries;
  }

  exists(path: string): boolean {
    return this.lookup(path) !== undefined;
  }

  mkdir(path: string): void {
    checkMkdir(path, this.#kind(path), this.#kind(parentPath(path)));
    const name = baseName(path);
    this.#reserve(path, nameBytes(name));
    this.#dir(parentPath(path)).children.set(name, newDir());
    this.used += nameBytes(name);
  }

  rmdir(path: string): void {
    const node = this.lookup(path);
    checkRmdir(path, node?.kind, node?.kind === 'directory' && node.children.size > 0);
    this.#remove(path, node as Node);
    this.used -= nameBytes(baseName(path));
  }

  delete(path: string): void {
    const node = this.lookup(path);
    checkDelete(path, node?.kind);
    this.#remove(path, node as Node);
    // A file's size or a link's target, with its last name.
    this.used -= nameBytes(baseName(path)) + unlinked(node as FileNode | LinkNode);
  }

  rename(from: string, to: string): void {
    const source = this.lookup(from);
    const target = this.lookup(to);
    const parent = this.#kind(parentPath(to));
    const plan = checkRename(from, to, source?.kind, target?.kind, parent, source === target);
    if (plan === 'noop') return;
    // Only the entry's own name changes; a replaced file or link frees its name (and its size with
    // its last name).
    const newName = nameBytes(baseName(to));
    const replaced = plan === 'replace-file' ? (target as FileNode | LinkNode) : undefined;
    const freed = replaced ? newName + (replaced.links === 1 ? replaced.size : 0) : 0;
    const growth = newName - nameBytes(baseName(from)) - freed;
    this.#reserve(to, growth);
    this.#remove(from, source as Node);
    this.#dir(parentPath(to)).children.set(baseName(to), source as Node);
    if (replaced) replaced.links--;
    this.used += growth;
  }

  setTimes(path: string, times: SetTimes): void {
    const node = this.lookup(path);
    checkExists(path, node?.kind);
    const n = node as Node;
    // A bigint is nanoseconds: kept exactly beside its nearest milliseconds; a number drops them.
    const { accessed, modified } = times;
    if (typeof accessed === 'bigint') [n.accessed, n.accessedNs] = [nsToMs(accessed), accessed];
    else if (accessed !== undefined) [n.accessed, n.accessedNs] = [accessed, undefined];
    if (typeof modified === 'bigint') [n.modified, n.modifiedNs] = [nsToMs(modified), modified];
    else if (modified !== undefined) [n.modified, n.modifiedNs] = [modified, undefined];
  }

  symlink(path: string, target: string): void {
    checkSymlink(path, this.#kind(path), this.#kind(parentPath(path)));
    const name = baseName(path);
    const link = newLink(target);
    this.#reserve(path, nameBytes(name) + link.size);
    this.#dir(parentPath(path)).children.set(name, link);
    this.used += nameBytes(name) + link.size;
  }

  readlink(path: string): string {
    const node = this.lookup(path);
    checkReadlink(path, node?.kind);
    return (node as LinkNode).target;
  }

  /** One more name for the node: the same object in a second directory entry. */
  link(from: string, to: string): void {
    const node = this.lookup(from);
    checkLink(from, to, node?.kind, this.#kind(to), this.#kind(parentPath(to)));
    const name = baseName(to);
    this.#reserve(to, nameBytes(name));
    this.#dir(parentPath(to)).children.set(name, node as FileNode | LinkNode);
    (node as FileNode | LinkNode).links++;
    this.used += nameBytes(name);
  }
}

/**
 * Counts one name of a file or link less (the caller took it out of its directory) and returns the
 * usage its content frees: its size with the last name, nothing while other names remain.
 */
function unlinked(node: FileNode | LinkNode): number {
  node.links--;
  return node.links === 0 ? node.size : 0;
}
