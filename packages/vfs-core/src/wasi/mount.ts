import { isVfsError, VfsError } from '../errors.js';
import { isSameOrDescendant, parentPath, rebasePath } from '../path.js';
import { nsToMs } from '../time.js';
import {
  checkIfFile,
  type FileIdentity,
  type FileKind,
  type Metadata,
  type VfsSyncStorage,
} from '../types.js';
import { hashSeed } from './hash.js';
// ORPHANS_DIRECTORY and sweepOrphans are imported for the documentation's links.
import { isOrphanPath, type ORPHANS_DIRECTORY, Orphanage, type sweepOrphans } from './orphans.js';

/**
 * The most bytes a mount that keeps unlinked open files in host memory (a host directory, see
 * {@link Mount}) holds for all of them together.
 */
export const MEMORY_ORPHANS_LIMIT = 64 * 1024 * 1024;

/** An unlinked open file's content in host memory. */
interface MemoryCopy {
  data: Uint8Array;
  size: number;
  meta: Metadata;
}

/**
 * What the guest has open at one path of a mount: every descriptor of that path shares one node,
 * like an inode. When the path is unlinked (or replaced by a rename) while descriptors are open,
 * the file lives on as an orphan (see {@link Mount}), so the old descriptors go on reading and
 * writing the now-nameless file as POSIX requires, and nothing reappears at its old path.
 */
export class Node {
  refs = 0;
  /** The path no longer names this file or directory. */
  unlinked = false;
  /** A descriptor that wrote was closed while others stayed open: the last one flushes. */
  dirty = false;
  /**
   * The last failure to store this file's writes (a flush of a caching storage such as the sync
   * bridge), and how many there were: each descriptor reports a failure once, at its next sync,
   * like Linux's per-open-file writeback errors (see `Descriptor`).
   */
  writeError: unknown;
  writeErrors = 0;
  /** Some descriptor reported {@link Node.writeError} to the guest. */
  writeErrorSeen = true;
  /**
   * The file's storage `id` when it was orphaned while it had other names (hard links): its orphan
   * name is then counted out of the link count the guest sees (see {@link Mount.visibleLinks}).
   */
  linkedId: string | undefined;
  /** The content of an unlinked file kept in host memory (mounts of host directories only). */
  #copy: MemoryCopy | undefined;
  /** The path the guest opened, once the file lives on under the orphan directory. */
  #openedAt: string | undefined;
  /** Which file this is (see {@link Node.identify}), as the options of its writes. */
  #writeOptions: { readonly ifFile: FileIdentity } | undefined;

  constructor(
    readonly mount: Mount,
    /** Where the content is in storage: the orphan's path once the file was unlinked. */
    public path: string,
    readonly kind: FileKind,
  ) {}

  /** Whether the node's content is in storage (not a memory copy, nor a removed directory). */
  get inStorage(): boolean {
    return this.#copy === undefined && !(this.unlinked && this.kind === 'directory');
  }

  /** The path metadata hashes are made from: the guest's, unchanged by unlinking. */
  get hashPath(): string {
    return this.#openedAt ?? this.path;
  }

  /** Storing this file's writes failed with `error`: every descriptor of it gets to report it. */
  failed(error: unknown): void {
    this.writeError = error;
    this.writeErrors++;
    this.writeErrorSeen = false;
  }

  /** The file now lives at `orphan` in storage, nameless for the guest. */
  orphaned(orphan: string): void {
    this.#openedAt ??= this.path;
    this.path = orphan;
    this.unlinked = true;
  }

  /** The file is about to lose its path: its content, in memory from now on (host directories). */
  keep(copy: MemoryCopy): void {
    this.#copy = copy;
    this.unlinked = true;
  }

  /** Frees the memory copy; `relinked` when the file kept its path after all. */
  forget(relinked: boolean): void {
    if (this.#copy) this.mount.charge(-this.#copy.size);
    this.#copy = undefined;
    if (relinked) this.unlinked = false;
  }

  /**
   * Remembers which file this is, when it is opened for writing in a storage mount: every write
   * then carries it (`writeExtents`' `ifFile`), so a file that another host or process sharing the
   * store deleted or replaced fails the write (`not-found`, the guest's `no-entry`) instead of
   * coming back at its path or changing the file that took it. (A host directory has no stable
   * identity to offer, and the host's own unlinks keep the file as an orphan, which keeps it.)
   */
  identify(): void {
    if (this.#writeOptions || this.kind !== 'file' || !this.mount.hidesOrphans || !this.inStorage) return;
    const { id, created } = this.mount.storage.stat(this.path);
    this.#writeOptions = { ifFile: id === undefined ? { created } : { id, created } };
  }

  /**
   * For the operations storage offers by path only (append, setSize, setTimes): a file another host
   * deleted or replaced since it was opened is `not-found`, as writes through `ifFile` are. A stat
   * just before the call, so a replacement in between goes undetected: appends keep their atomic
   * end-of-file placement, which a write at a stat's size would lose.
   */
  #checkIdentity(): void {
    const options = this.#writeOptions;
    if (!options) return;
    let meta: Metadata | undefined;
    try {
      meta = this.mount.storage.stat(this.path);
    } catch (error) {
      if (!isVfsError(error, 'not-found')) throw error;
    }
    checkIfFile(this.path, meta, options.ifFile);
  }

  #gone(): never {
    throw new VfsError('not-found', 'the directory was removed', { path: this.path });
  }

  stat(): Metadata {
    const copy = this.#copy;
    if (copy) return { ...copy.meta, size: copy.size };
    if (this.unlinked && this.kind === 'directory') this.#gone();
    return this.mount.storage.stat(this.path);
  }

  /** Bytes for the guest: jco copies them into the guest's memory at once, so a view will do. */
  readAt(offset: number, length: number): Uint8Array {
    const copy = this.#copy;
    if (!copy) {
      const { storage } = this.mount;
      return storage.readAtView
        ? storage.readAtView(this.path, offset, length)
        : storage.readAt(this.path, offset, length);
    }
    const end = Math.min(copy.size, offset + length);
    return offset >= end ? new Uint8Array(0) : copy.data.slice(offset, end);
  }

  writeAt(offset: number, data: Uint8Array): void {
    const copy = this.#copy;
    if (!copy) {
      const options = this.#writeOptions;
      if (options) this.mount.storage.writeExtents(this.path, [[offset, data]], options);
      else this.mount.storage.writeAt(this.path, offset, data);
      return;
    }
    this.#resize(copy, Math.max(copy.size, offset + data.length));
    copy.data.set(data, offset);
  }

  append(data: Uint8Array): number {
    const copy = this.#copy;
    if (!copy) {
      this.#checkIdentity();
      return this.mount.storage.append(this.path, data);
    }
    const at = copy.size;
    this.writeAt(at, data);
    return at;
  }

  setSize(size: number): void {
    const copy = this.#copy;
    if (!copy) {
      this.#checkIdentity();
      this.mount.storage.setSize(this.path, size);
      return;
    }
    this.#resize(copy, size);
  }

  setTimes(accessed: number | bigint | undefined, modified: number | bigint | undefined): void {
    const copy = this.#copy;
    if (!copy) {
      this.#checkIdentity();
      this.mount.storage.setTimes(this.path, { accessed, modified });
      return;
    }
    // A memory copy keeps times as storage with nanosecondTimes does: a bigint exactly.
    const meta = { ...copy.meta };
    for (const [which, time] of [
      ['accessed', accessed],
      ['modified', modified],
    ] as const) {
      if (time === undefined) continue;
      meta[which] = typeof time === 'bigint' ? nsToMs(time) : time;
      if (typeof time === 'bigint') meta[`${which}Ns`] = time;
      else delete meta[`${which}Ns`];
    }
    copy.meta = meta;
  }

  /** Takes a memory copy to `size` bytes, within the mount's budget (else `quota-exceeded`). */
  #resize(copy: MemoryCopy, size: number): void {
    this.mount.charge(size - copy.size, this.path);
    if (size > copy.data.length) {
      // Doubling, but never past the budget: one copy's buffer stays under MEMORY_ORPHANS_LIMIT.
      const grown = new Uint8Array(Math.max(size, Math.min(copy.data.length * 2, MEMORY_ORPHANS_LIMIT)));
      grown.set(copy.data.subarray(0, copy.size));
      copy.data = grown;
    }
    // What lies past the end stays zero, so that growing it again reads zeros.
    if (size < copy.size) copy.data.fill(0, size, copy.size);
    copy.size = size;
    const meta = { ...copy.meta, modified: Date.now() };
    delete meta.modifiedNs;
    copy.meta = meta;
  }
}

/** Where a mount keeps the files unlinked (or replaced by a rename) while open: see {@link Mount}. */
export type OrphanKeeping = 'storage' | 'memory';

/**
 * One storage mounted at a guest path, with the nodes its open descriptors share.
 *
 * **Unlinked open files.** A storage mount keeps a file unlinked or replaced while open in its own
 * storage: one rename moves it into the reserved {@link ORPHANS_DIRECTORY} (made when needed), its
 * node follows it there, and every read, write and size change goes on in storage, under the
 * store's limits and without the file ever being in host memory. The last close deletes it (and the
 * directory, once empty); the host's `close()` deletes those still open; what a crashed host left
 * is collected by {@link sweepOrphans} (run by the next host that orphans a file, for orphans older
 * than 24 hours, or by an operator). Guests never reach the reserved name (see `filesystem.ts`).
 * Replacing an open file by a rename is two renames (the old file out, the new one in), so other
 * processes sharing the store may briefly find the target missing. The unlink of a file nobody has
 * open costs what it did: one `delete`.
 *
 * A mount of a host directory (`keepOrphans: 'memory'`) keeps them in host memory instead: an
 * orphan directory would show up in the user's own directory (and stay there after a crash), and
 * such a mount has no store limits to stay under. The copies of one mount hold at most
 * {@link MEMORY_ORPHANS_LIMIT} bytes together: an open file larger than what is left cannot be
 * unlinked or replaced (`busy`), and growing one past it is `quota-exceeded`.
 */
export class Mount {
  readonly #nodes = new Map<string, Node>();
  /**
   * Where this mount's metadata hashes start (see hash.ts): the same path in two mounts hashes
   * differently.
   */
  readonly hashSeed: Int32Array;
  /** The orphans this mount keeps in storage; none in a read-only mount (nothing is unlinked). */
  readonly #orphanage: Orphanage | undefined;
  /** Whether guests must not see {@link ORPHANS_DIRECTORY} here (every storage mount). */
  readonly hidesOrphans: boolean;
  /**
   * Whether the storage stores symbolic links (`capabilities.symlinks`), so that lookups must look
   * for them (see `resolvePath`). Never for a host directory: it stores none.
   */
  readonly links: boolean;
  /** Whether the storage stores hard links (`capabilities.hardLinks`); never a host directory. */
  readonly hardLinks: boolean;
  /** Bytes of the memory copies of this mount's unlinked open files. */
  #copied = 0;
  /** How many orphan names each file with other names has here, by storage id. */
  readonly #orphanNames = new Map<string, number>();

  constructor(
    /** Where the guest sees this mount (its preopen name). */
    readonly guestPath: string,
    readonly storage: VfsSyncStorage,
    readonly readOnly: boolean,
    keepOrphans: OrphanKeeping = 'storage',
  ) {
    this.hashSeed = hashSeed(guestPath);
    this.hidesOrphans = keepOrphans === 'storage';
    this.links = this.hidesOrphans && storage.capabilities?.symlinks === true;
    this.hardLinks = this.hidesOrphans && storage.capabilities?.hardLinks === true;
    this.#orphanage = this.hidesOrphans && !readOnly ? new Orphanage(storage) : undefined;
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
    if (kind !== 'directory') throw new VfsError('not-a-directory', undefined, { path: parent });
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

  /**
   * The node for a path a new descriptor opens (shared with the descriptors already open there);
   * for a descriptor that may `write`, it knows which file it is (see {@link Node.identify}).
   */
  acquire(path: string, kind: FileKind, write = false): Node {
    let node = this.#nodes.get(path);
    if (!node || node.kind !== kind) node = new Node(this, path, kind);
    // First: a failure leaves nothing behind.
    if (write) node.identify();
    this.#nodes.set(path, node);
    node.refs++;
    return node;
  }

  /** The node of the file open at `path`, if any. */
  openFile(path: unknown): Node | undefined {
    const node = typeof path === 'string' ? this.#nodes.get(path) : undefined;
    return node?.kind === 'file' ? node : undefined;
  }

  /** A descriptor of `node` was closed: the last one deletes an unlinked file. */
  release(node: Node): void {
    node.refs--;
    if (node.refs > 0) return;
    if (this.#nodes.get(node.path) === node) {
      this.#nodes.delete(node.path);
    } else if (node.unlinked && node.kind === 'file') {
      node.forget(false);
      if (this.#orphanage && isOrphanPath(node.path)) this.#orphanage.release(node.path);
      if (node.linkedId !== undefined) this.#countOrphan(node.linkedId, -1);
    }
  }

  /**
   * The link count a guest sees for `meta`: the storage's, less the orphan names this mount keeps
   * for the file (a name unlinked while open is no name for the guest). Orphans that other hosts
   * keep in the same store still count.
   */
  visibleLinks(meta: Metadata): number {
    const orphans = meta.id === undefined ? 0 : (this.#orphanNames.get(meta.id) ?? 0);
    return (meta.linkCount ?? 1) - orphans;
  }

  #countOrphan(id: string, by: number): void {
    const count = (this.#orphanNames.get(id) ?? 0) + by;
    if (count > 0) this.#orphanNames.set(id, count);
    else this.#orphanNames.delete(id);
  }

  /** The storage id of the file at `path` when it has other names too (see {@link Node.linkedId}). */
  #linkedId(path: string): string | undefined {
    if (!this.hardLinks) return undefined;
    const meta = this.storage.stat(path);
    return (meta.linkCount ?? 1) > 1 ? meta.id : undefined;
  }

  /** `node` now lives at `orphan`; `id`: its {@link Node.linkedId}. */
  #orphaned(node: Node, orphan: string, id: string | undefined): void {
    node.orphaned(orphan);
    if (id === undefined) return;
    node.linkedId = id;
    this.#countOrphan(id, 1);
  }

  /** Unlinks the file at `path`; an open one lives on as an orphan. */
  unlinkFile(path: string): void {
    const node = this.#nodes.get(path);
    if (node?.kind !== 'file') {
      this.storage.delete(path);
      return;
    }
    if (this.#orphanage) {
      const id = this.#linkedId(path);
      this.#orphaned(node, this.#orphanage.adopt(path), id);
    } else {
      this.#keep(node);
      try {
        this.storage.delete(path);
      } catch (error) {
        node.forget(true);
        throw error;
      }
    }
    this.#nodes.delete(path);
  }

  /**
   * Renames file `from` over the existing file `to` (the caller then calls {@link moved}); an open
   * `to` lives on as an orphan. When the rename fails, `to` is put back as it was.
   */
  replaceFile(from: string, to: string): void {
    const node = this.#nodes.get(to);
    if (node?.kind !== 'file') {
      this.storage.rename(from, to);
      return;
    }
    if (this.#orphanage) {
      const id = this.#linkedId(to);
      const orphan = this.#orphanage.adopt(to);
      try {
        this.storage.rename(from, to);
      } catch (error) {
        try {
          this.#orphanage.restore(orphan, to);
        } catch {
          // Both failed: the old file lives on only as its open descriptors' orphan.
          this.#orphaned(node, orphan, id);
          this.#nodes.delete(to);
        }
        throw error;
      }
      this.#orphaned(node, orphan, id);
    } else {
      this.#keep(node);
      try {
        this.storage.rename(from, to);
      } catch (error) {
        node.forget(true);
        throw error;
      }
    }
    this.#nodes.delete(to);
  }

  /**
   * Copies an open file that is about to lose its path into host memory, within
   * {@link MEMORY_ORPHANS_LIMIT}.
   * @throws `busy` when it does not fit
   */
  #keep(node: Node): void {
    const meta = this.storage.stat(node.path);
    const room = MEMORY_ORPHANS_LIMIT - this.#copied;
    if (meta.size > room) {
      throw new VfsError(
        'busy',
        `the file is open and ${meta.size} bytes long: unlinked open files of a host directory are kept in host memory, at most ${MEMORY_ORPHANS_LIMIT} bytes in all (${room} left); close it first`,
        { path: node.path },
      );
    }
    const data = this.storage.readAt(node.path, 0, meta.size);
    this.charge(data.length, node.path);
    node.keep({ data, size: data.length, meta: { ...meta, size: data.length } });
  }

  /**
   * Counts `bytes` more (or fewer) of memory copies.
   * @throws `quota-exceeded` past {@link MEMORY_ORPHANS_LIMIT}, counting nothing
   */
  charge(bytes: number, path?: string): void {
    if (bytes > 0 && this.#copied + bytes > MEMORY_ORPHANS_LIMIT) {
      throw new VfsError(
        'quota-exceeded',
        `unlinked open files of a host directory are kept in host memory, at most ${MEMORY_ORPHANS_LIMIT} bytes in all`,
        { path },
      );
    }
    this.#copied += bytes;
  }

  /** The host closed: deletes the orphans still open (what fails is left to a sweep). */
  close(): void {
    this.#orphanage?.releaseAll();
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
