import {
  checkOffset,
  createSyncStorage,
  isUint8Array,
  type StorageLimits,
  toAsync,
  VfsError,
  type VfsStorage,
  type VfsSyncStorage,
} from '@eryx/vfs-core';
import { decodeSnapshot, encodeSnapshot } from './serialize.js';
import { cloneNode, type DirNode, MemoryTree } from './tree.js';

/** Options of {@link memory}. */
export interface MemoryOptions {
  /**
   * Most bytes the store may hold: the UTF-8 bytes of every file's, directory's and symbolic link's
   * name plus every file's size (sparse gaps included) and every link's target, as `StorageLimits.maxBytes` counts them. An operation that
   * would exceed it fails with `quota-exceeded` before anything changes or is allocated. Default 64 MiB.
   */
  maxBytes?: number;
  /**
   * The store's limits, the option every backend takes. The memory backend enforces `maxBytes`
   * itself (and `limits.maxBytes` wins over the `maxBytes` option); for `maxFiles`, `maxFileSize`
   * or `maxPathLength`, wrap the store with core's `limits()`: they are `invalid-argument` here.
   */
  limits?: StorageLimits;
  /** Start from this snapshot (a {@link MemorySnapshot} or bytes from {@link MemoryStorage.serialize}). */
  from?: MemorySnapshot | Uint8Array;
}

/** A frozen copy of a whole memory store. Snapshots are independent of the store and of each other. */
export class MemorySnapshot {
  /** @internal */
  constructor(
    /** @internal */ readonly root: DirNode,
    /** The snapshot's usage: its entries' names, its files' sizes and its links' targets, in bytes. */
    readonly usedBytes: number,
  ) {}
}

/** The memory backend: a {@link VfsStorage} (with its `sync` twin) plus snapshots and forks. */
export interface MemoryStorage extends VfsStorage {
  readonly sync: VfsSyncStorage;
  /** The limit this store enforces, in bytes. */
  readonly maxBytes: number;
  /** The store's current usage, which `maxBytes` bounds: all names, file sizes and link targets. */
  readonly usedBytes: number;
  /** A copy of the whole store as it is now. */
  snapshot(): MemorySnapshot;
  /**
   * Replaces the store's whole content with the snapshot's, in place: the same storage object (and
   * every holder of it) sees the restored tree. The snapshot stays usable.
   * @throws `quota-exceeded` when the snapshot holds more than this store's limit
   */
  restore(snapshot: MemorySnapshot): void;
  /** A new, independent store with a copy of this one's content and the same limits. */
  fork(): MemoryStorage;
  /** The store (or `snapshot`) as bytes, to keep or send elsewhere; see {@link MemoryOptions.from}. */
  serialize(snapshot?: MemorySnapshot): Uint8Array;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Creates an in-memory store. Every operation is synchronous underneath, so the async form is
 * atomic per call and `storage.sync` serves the WASI host directly. Nothing persists beyond the
 * process unless you {@link MemoryStorage.serialize | serialize} it.
 *
 * ```ts
 * const storage = memory({ maxBytes: 16 * 1024 * 1024 });
 * await storage.write('/hello.txt', new TextEncoder().encode('hi'));
 * ```
 */
export function memory(options: MemoryOptions = {}): MemoryStorage {
  const { maxBytes: limitBytes, ...others } = options.limits ?? {};
  const unsupported = Object.keys(others).filter((key) => others[key as keyof typeof others] !== undefined);
  if (unsupported.length > 0) {
    throw new VfsError(
      'invalid-argument',
      `memory enforces only limits.maxBytes; wrap the store with limits() for ${unsupported.join(', ')}`,
    );
  }
  const maxBytes = limitBytes ?? options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (maxBytes !== Number.POSITIVE_INFINITY) checkOffset(maxBytes, 'maxBytes');
  const tree = new MemoryTree(maxBytes);
  const load = (snapshot: MemorySnapshot) => {
    if (snapshot.usedBytes > maxBytes) {
      throw new VfsError(
        'quota-exceeded',
        `snapshot holds ${snapshot.usedBytes} bytes, more than the limit of ${maxBytes}`,
      );
    }
    tree.root = cloneNode(snapshot.root) as DirNode;
    tree.used = snapshot.usedBytes;
  };
  if (isUint8Array(options.from)) {
    const decoded = decodeSnapshot(options.from);
    load(new MemorySnapshot(decoded.root, decoded.usedBytes));
  } else if (options.from) load(options.from);

  // Declared so callers and the conformance kit know the limit this store enforces.
  const limits = maxBytes === Number.POSITIVE_INFINITY ? undefined : { maxBytes };
  const sync: VfsSyncStorage = { ...createSyncStorage(tree), limits };
  const snapshot = () => new MemorySnapshot(cloneNode(tree.root) as DirNode, tree.used);
  return {
    ...toAsync(sync),
    sync,
    maxBytes,
    get usedBytes() {
      return tree.used;
    },
    snapshot,
    restore: load,
    fork: () => memory({ maxBytes, from: snapshot() }),
    serialize: (s = snapshot()) => encodeSnapshot(s.root),
  };
}

export { MemoryTree } from './tree.js';
export * from './url.js';
