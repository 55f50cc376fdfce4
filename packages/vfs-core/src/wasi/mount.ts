import { isVfsError, VfsError } from '../errors.js';
import { isSameOrDescendant, parentPath, rebasePath } from '../path.js';
import type { FileKind, Metadata, VfsSyncStorage } from '../types.js';
import { hashSeed } from './hash.js';

/**
 * What the guest has open at one path of a mount: every descriptor of that path shares one node,
 * like an inode. When the path is unlinked (or replaced by a rename) while descriptors are open, the
 * node keeps the file's content in memory, so the old descriptors go on reading and writing the
 * now-nameless file as POSIX requires, and nothing reappears in storage.
 */
export class Node {
  refs = 0;
  /** The path no longer names this file or directory. */
  unlinked = false;
  /** A descriptor that wrote was closed while others stayed open: the last one flushes. */
  dirty = false;
  #orphan: Uint8Array | undefined;
  #orphanSize = 0;
  #orphanMeta: Metadata | undefined;

  constructor(
    readonly mount: Mount,
    public path: string,
    readonly kind: FileKind,
  ) {}

  /** Detaches the node from its path, keeping a file's content (read before it is removed). */
  detach(): void {
    if (this.unlinked) return;
    if (this.kind === 'file') {
      const meta = this.mount.storage.stat(this.path);
      this.#orphan = this.mount.storage.read(this.path);
      this.#orphanSize = this.#orphan.length;
      this.#orphanMeta = meta;
    }
    this.unlinked = true;
  }

  #gone(): never {
    throw new VfsError('not-found', 'the directory was removed', { path: this.path });
  }

  stat(): Metadata {
    if (!this.unlinked) return this.mount.storage.stat(this.path);
    if (!this.#orphanMeta) this.#gone();
    return { ...this.#orphanMeta, size: this.#orphanSize };
  }

  /** Bytes for the guest: jco copies them into the guest's memory at once, so a view will do. */
  readAt(offset: number, length: number): Uint8Array {
    if (!this.unlinked) {
      const { storage } = this.mount;
      return storage.readAtView
        ? storage.readAtView(this.path, offset, length)
        : storage.readAt(this.path, offset, length);
    }
    const buffer = this.#orphan ?? this.#gone();
    const end = Math.min(this.#orphanSize, offset + length);
    return offset >= end ? new Uint8Array(0) : buffer.slice(offset, end);
  }

  writeAt(offset: number, data: Uint8Array): void {
    if (!this.unlinked) {
      this.mount.storage.writeAt(this.path, offset, data);
      return;
    }
    this.#reserve(offset + data.length);
    this.#orphan!.set(data, offset);
    this.#orphanSize = Math.max(this.#orphanSize, offset + data.length);
    this.#touch();
  }

  append(data: Uint8Array): number {
    if (!this.unlinked) return this.mount.storage.append(this.path, data);
    const at = this.#orphanSize;
    this.writeAt(at, data);
    return at;
  }

  setSize(size: number): void {
    if (!this.unlinked) {
      this.mount.storage.setSize(this.path, size);
      return;
    }
    this.#reserve(size);
    this.#orphan!.fill(0, Math.min(size, this.#orphanSize));
    this.#orphanSize = size;
    this.#touch();
  }

  setTimes(accessed: number | undefined, modified: number | undefined): void {
    if (!this.unlinked) {
      this.mount.storage.setTimes(this.path, { accessed, modified });
      return;
    }
    const meta = this.#orphanMeta ?? this.#gone();
    this.#orphanMeta = { ...meta, accessed: accessed ?? meta.accessed, modified: modified ?? meta.modified };
  }

  #reserve(size: number): void {
    const buffer = this.#orphan ?? this.#gone();
    if (size <= buffer.length) return;
    const grown = new Uint8Array(Math.max(size, buffer.length * 2));
    grown.set(buffer.subarray(0, this.#orphanSize));
    this.#orphan = grown;
  }

  #touch(): void {
    if (this.#orphanMeta) this.#orphanMeta = { ...this.#orphanMeta, modified: Date.now() };
  }
}

/** One storage mounted at a guest path, with the nodes its open descriptors share. */
export class Mount {
  readonly #nodes = new Map<string, Node>();
  /**
   * Where this mount's metadata hashes start (see hash.ts): the same path in two mounts hashes
   * differently.
   */
  readonly hashSeed: Int32Array;

  constructor(
    /** Where the guest sees this mount (its preopen name). */
    readonly guestPath: string,
    readonly storage: VfsSyncStorage,
    readonly readOnly: boolean,
  ) {
    this.hashSeed = hashSeed(guestPath);
  }

  /**
   * Linux looks the directory of a path up before anything else: a missing one is ENOENT and a file
   * in its place ENOTDIR, whatever the mount or the operation (EXDEV and EROFS come after).
   * @throws `not-found`; `not-a-directory`
   */
  assertParent(path: string): void {
    if (path === '/') return;
    const parent = parentPath(path);
    const kind = this.kindOf(parent);
    if (kind === undefined) throw new VfsError('not-found', undefined, { path: parent });
    if (kind === 'file') throw new VfsError('not-a-directory', undefined, { path: parent });
  }

  /** @throws `read-only` when the mount is read-only (after {@link assertParent}, in Linux's order). */
  assertWritable(path: string): void {
    if (!this.readOnly) return;
    this.assertParent(path);
    throw new VfsError('read-only', 'the mount is read-only', { path });
  }

  /**
   * The kind of what is at `path`, `undefined` when nothing is. A miss is expected (every
   * `O_CREAT` of a new file has one), so the storage's error is made without a stack trace:
   * capturing one under the guest's deep call stack is most of what the miss would cost. When a
   * miss is likely (`missLikely`), `exists` asks first, which costs no error at all (and one more call on a hit).
   */
  kindOf(path: string, missLikely = false): FileKind | undefined {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      if (missLikely && !this.storage.exists(path)) return undefined;
      return this.storage.stat(path).kind;
    } catch (error) {
      if (isVfsError(error, 'not-found') || isVfsError(error, 'not-a-directory')) return undefined;
      throw error;
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  /** The node for a path a new descriptor opens (shared with the descriptors already open there). */
  acquire(path: string, kind: FileKind): Node {
    let node = this.#nodes.get(path);
    if (!node || node.kind !== kind) {
      node = new Node(this, path, kind);
      this.#nodes.set(path, node);
    }
    node.refs++;
    return node;
  }

  /** A descriptor of `node` was closed. */
  release(node: Node): void {
    node.refs--;
    if (node.refs <= 0 && this.#nodes.get(node.path) === node) this.#nodes.delete(node.path);
  }

  /** The open node at exactly `path`, if any. */
  openNode(path: string): Node | undefined {
    return this.#nodes.get(path);
  }

  /** Detaches the open node at `path` (before the path is removed or replaced). */
  detach(path: string): Node | undefined {
    const node = this.#nodes.get(path);
    if (!node) return undefined;
    node.detach();
    this.#nodes.delete(path);
    return node;
  }

  /** Re-keys the open nodes at or below `from` after a rename to `to`. */
  moved(from: string, to: string): void {
    const moving = [...this.#nodes.values()].filter((node) => isSameOrDescendant(from, node.path));
    for (const node of moving) this.#nodes.delete(node.path);
    for (const node of moving) {
      node.path = rebasePath(node.path, from, to);
      this.#nodes.set(node.path, node);
    }
  }

  /** Detaches every open node at or below a removed directory. */
  removedTree(path: string): void {
    for (const node of [...this.#nodes.values()]) {
      if (isSameOrDescendant(path, node.path)) {
        node.unlinked = true;
        this.#nodes.delete(node.path);
      }
    }
  }
}
