import type { S3Client } from '@aws-sdk/client-s3';
import {
  type Capabilities,
  checkCreate,
  checkData,
  checkDelete,
  checkExistingDirectory,
  checkExistingFile,
  checkExists,
  checkFileTarget,
  checkIfFile,
  checkLink,
  checkReadlink,
  checkRename,
  checkRmdir,
  checkSymlink,
  coalesceExtents,
  type DirEntry,
  isVfsError,
  KeyedQueue,
  type Metadata,
  parentPath,
  type SetTimes,
  type StorageLimits,
  type VfsDriver,
  type WriteExtent,
  type WriteExtentsOptions,
} from '@eryx/vfs-core';
import { patchFile, readFileRange, writeFile } from './chunks.js';
import { commitEmpty, commitLink, commitTimes, removeName } from './commits.js';
import { capabilitiesFor, detectMode, S3Context } from './context.js';
import { fileKind, manifestChunkKeys, metadata, name, type Slot } from './entries.js';
import { ConflictError, isMissingKey } from './errors.js';
import { collectGarbage } from './gc.js';
import { changeLinks, inodeOfSlot, link, resolve } from './hard-links.js';
import { inodePath, type Layout } from './layout.js';
import { lookup, lookupWithParent, readManifest, readTarget, scanDirectory } from './lookups.js';
import type { ConsistencyMode, GcOptions, GcResult, S3StorageOptions } from './options.js';
import { recover, rename } from './renames.js';
import { backoff, MAX_CONFLICT_RETRIES, mapLimit, ReadWriteLock } from './util.js';

/** Bytes of a key beyond its prefix and path: `e/`, long names' `+/` and `!<gen>!<meta>` (test/layout.test.ts). */
export const KEY_OVERHEAD = 96;

/**
 * The S3 {@link VfsDriver}: entries as keys that carry kind, size and times (so a listing is one
 * LIST walk), file data in immutable chunk objects named by random ids (so a partial write uploads
 * the chunks it touches plus one small entry object), renames through a journal. This class runs
 * the operations (start-up, locks, retries, checks); the work is done by the modules it imports.
 */
export class S3Driver implements VfsDriver {
  readonly #ctx: S3Context;
  readonly #paths = new KeyedQueue();
  readonly #tree = new ReadWriteLock();
  #ready: Promise<void> | undefined;
  #isReady = false;
  capabilities: Partial<Capabilities>;
  readonly limits: StorageLimits;

  constructor(options: S3StorageOptions) {
    this.#ctx = new S3Context(options);
    // An S3 key is at most 1,024 bytes: the prefix, `e/`, the path and the version suffix.
    this.limits = {
      maxPathLength: Math.min(4096, 1024 - Buffer.byteLength(this.#ctx.layout.root) - KEY_OVERHEAD),
    };
    this.capabilities = capabilitiesFor(
      this.#ctx.conditionalOption === true ? 'conditional' : 'single-writer',
    );
  }

  get client(): S3Client {
    return this.#ctx.client;
  }

  get bucket(): string {
    return this.#ctx.bucket;
  }

  get layout(): Layout {
    return this.#ctx.layout;
  }

  /** The consistency mode, known once {@link S3Driver.ready} resolved. */
  get mode(): ConsistencyMode | undefined {
    return this.#ctx.mode;
  }

  /** Probes the server, completes interrupted renames and creates the root (once). */
  ready(): Promise<void> {
    this.#ready ??= this.#init().then(
      () => {
        this.#isReady = true;
      },
      (error) => {
        this.#ready = undefined;
        throw this.#ctx.vfsError(error);
      },
    );
    return this.#ready;
  }

  async #init(): Promise<void> {
    const ctx = this.#ctx;
    ctx.mode = await detectMode(ctx);
    this.capabilities = capabilitiesFor(ctx.mode);
    if (ctx.mode === 'conditional') ctx.cache.disable();
    await recover(ctx);
    // Until the root exists: a conflict means another process is creating it, and operations
    // started before it commits would find no parent directory.
    for (let attempt = 0; ; attempt++) {
      const root = await lookup(ctx, '/');
      if (root.entry) return;
      try {
        await commitEmpty(ctx, root, 'd');
        return;
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt >= MAX_CONFLICT_RETRIES) throw error;
        await backoff(attempt);
      }
    }
  }

  /** Runs one operation: after start-up and recovery, under the tree lock, retried on conflicts. */
  async #op<T>(
    path: string,
    lock: 'shared' | 'exclusive' | 'read',
    pathLock: string | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    if (!this.#isReady) await this.ready();
    try {
      if (this.#ctx.needsRecovery) await this.#tree.exclusive(() => recover(this.#ctx));
      const locked = () => (pathLock === undefined ? fn() : this.#paths.run(pathLock, fn));
      for (let attempt = 0; ; attempt++) {
        try {
          // Lookups served from the cache cost no request: keep their path short.
          if (lock === 'read' && this.#tree.tryShared()) {
            try {
              return await fn();
            } finally {
              this.#tree.releaseShared();
            }
          }
          return await (lock === 'exclusive' ? this.#tree.exclusive(locked) : this.#tree.shared(locked));
        } catch (error) {
          if (isVfsError(error)) throw error;
          // A conflict, or an object replaced under us: reads take no path lock, so a write of
          // this storage may supersede what they looked up; under the path lock only another
          // process can, in conditional mode. Look again.
          const replaced =
            isMissingKey(error) && (lock === 'read' || (lock === 'shared' && this.#ctx.conditional));
          const retry = error instanceof ConflictError || replaced;
          this.#ctx.cache.forget(path);
          if (!retry || attempt >= MAX_CONFLICT_RETRIES) throw error;
          await backoff(attempt);
        }
      }
    } catch (error) {
      throw this.#ctx.vfsError(error, path);
    }
  }

  async read(path: string): Promise<Uint8Array> {
    return this.#op(path, 'read', undefined, async () => {
      const file = await resolve(this.#ctx, await lookup(this.#ctx, path));
      checkExistingFile(path, fileKind(file.entry));
      return readFileRange(this.#ctx, file.entry!, 0, file.entry!.meta.size);
    });
  }

  async readAt(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.#op(path, 'read', undefined, async () => {
      const file = await resolve(this.#ctx, await lookup(this.#ctx, path));
      checkExistingFile(path, fileKind(file.entry));
      return readFileRange(this.#ctx, file.entry!, offset, length);
    });
  }

  /**
   * Runs `fn` on the slot holding the file at a name looked up under its path lock: for a hard
   * link its inode's, looked up under the inode's lock too (writes through other names take it).
   */
  #onFile<T>(slot: Slot, fn: (file: Slot) => Promise<T>): Promise<T> {
    const inode = inodeOfSlot(slot);
    if (inode === undefined) return fn(slot);
    const path = inodePath(inode);
    return this.#paths.run(path, async () => {
      const file = await lookup(this.#ctx, path);
      // Freed since the name was looked up (its last other name deleted by another process):
      // look again, and find no name.
      if (!file.entry) throw new ConflictError(`the inode of ${slot.path} is gone`);
      return fn(file);
    });
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const [slot, parent] = await lookupWithParent(this.#ctx, path);
      await this.#onFile(slot, async (file) => {
        checkFileTarget(path, fileKind(file.entry), fileKind(parent?.entry));
        await writeFile(this.#ctx, file, data);
      });
    });
  }

  async writeAt(path: string, offset: number, data: Uint8Array): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const [slot, parent] = await lookupWithParent(this.#ctx, path);
      await this.#onFile(slot, async (file) => {
        checkFileTarget(path, fileKind(file.entry), fileKind(parent?.entry));
        await patchFile(this.#ctx, file, { runs: [[offset, data]] });
      });
    });
  }

  async writeExtents(
    path: string,
    extents: readonly WriteExtent[],
    options?: WriteExtentsOptions,
  ): Promise<void> {
    const runs = coalesceExtents(extents);
    const ifFile = options?.ifFile;
    await this.#op(path, 'shared', path, async () => {
      const [slot, parent] = await lookupWithParent(this.#ctx, path);
      await this.#onFile(slot, async (file) => {
        // By creation time (entries have no other lasting identity; renames, links and writes keep
        // it), and by the inode's id for a linked file. In conditional mode the commit is
        // conditional on this lookup's generation: a file replaced meanwhile conflicts, and the
        // retry looks (and checks) again.
        if (ifFile) checkIfFile(path, file.entry && metadata(file.entry, file.path), ifFile);
        checkFileTarget(path, fileKind(file.entry), fileKind(parent?.entry));
        await patchFile(this.#ctx, file, { runs, modified: options?.modified });
      });
    });
  }

  async append(path: string, data: Uint8Array): Promise<number> {
    return this.#op(path, 'shared', path, async () => {
      const [slot, parent] = await lookupWithParent(this.#ctx, path);
      return this.#onFile(slot, async (file) => {
        checkFileTarget(path, fileKind(file.entry), fileKind(parent?.entry));
        const offset = file.entry?.meta.size ?? 0;
        checkData(data, path, offset);
        await patchFile(this.#ctx, file, { runs: [[offset, data]] });
        return offset;
      });
    });
  }

  async setSize(path: string, size: number): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const slot = await lookup(this.#ctx, path);
      await this.#onFile(slot, async (file) => {
        checkExistingFile(path, fileKind(file.entry));
        await patchFile(this.#ctx, file, { size });
      });
    });
  }

  stat(path: string): Promise<Metadata> {
    const known = this.#known(path);
    const inode = known && inodeOfSlot(known);
    const file = inode === undefined ? known : this.#ctx.cache.get(inodePath(inode));
    if (file !== undefined && file !== 'absent' && file.entry) {
      return Promise.resolve(metadata(file.entry, file.path));
    }
    return this.#op(path, 'read', undefined, async () => {
      const file = await resolve(this.#ctx, await lookup(this.#ctx, path));
      checkExists(path, fileKind(file.entry));
      return metadata(file.entry!, file.path);
    });
  }

  async list(path: string): Promise<DirEntry[]> {
    return this.#op(path, 'read', undefined, async () => {
      const slot = await lookup(this.#ctx, path);
      checkExistingDirectory(path, fileKind(slot.entry));
      const slots = this.#ctx.cache.listing(path) ?? (await scanDirectory(this.#ctx, path));
      // A hard link's kind and size are its inode's: one more LIST each, unless cached.
      const files = await mapLimit(slots, this.#ctx.concurrency, async (s) => resolve(this.#ctx, s));
      return files.flatMap((f, i) => {
        const kind = fileKind(f.entry);
        if (!kind) return [];
        return [{ name: name(slots[i]!.path), kind, size: kind === 'directory' ? 0 : f.entry!.meta.size }];
      });
    });
  }

  exists(path: string): Promise<boolean> {
    const known = this.#known(path);
    if (known?.entry) return Promise.resolve(true);
    return this.#op(path, 'read', undefined, async () => (await lookup(this.#ctx, path)).entry !== undefined);
  }

  /**
   * A cached slot, when it can be read right now without a request or a lock: nothing exclusive
   * (a rename, rmdir, gc or recovery) runs or waits, so the cache is consistent at this instant.
   */
  #known(path: string): Slot | undefined {
    if (!this.#isReady || this.#ctx.needsRecovery || !this.#tree.idle()) return undefined;
    const cached = this.#ctx.cache.get(path);
    return cached === 'absent' ? undefined : cached;
  }

  mkdir(path: string): Promise<void> {
    return this.#createEntry(path, 'd');
  }

  create(path: string): Promise<void> {
    return this.#createEntry(path, 'i');
  }

  symlink(path: string, target: string): Promise<void> {
    return this.#createEntry(path, { target });
  }

  async readlink(path: string): Promise<string> {
    return this.#op(path, 'read', undefined, async () => {
      const file = await resolve(this.#ctx, await lookup(this.#ctx, path));
      checkReadlink(path, fileKind(file.entry));
      return readTarget(this.#ctx, file.entry!);
    });
  }

  /**
   * mkdir's directory, create's empty inline file or symlink's link, where nothing is: under the
   * path lock (exclusive within this object) and, in conditional mode, through the claim of the
   * name's next generation, so a racing creator in another process conflicts, looks again and
   * finds the entry (`already-exists`).
   */
  async #createEntry(path: string, kind: 'd' | 'i' | { target: string }): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const [slot, parent] = await lookupWithParent(this.#ctx, path);
      if (typeof kind === 'string') {
        checkCreate(path, fileKind(slot.entry), fileKind(parent?.entry));
        await commitEmpty(this.#ctx, slot, kind);
      } else {
        checkSymlink(path, fileKind(slot.entry), fileKind(parent?.entry));
        await commitLink(this.#ctx, slot, kind.target);
      }
      if (kind === 'd' && !this.#ctx.conditional) this.#ctx.cache.complete(path, []);
    });
  }

  async rmdir(path: string): Promise<void> {
    await this.#op(path, 'exclusive', undefined, async () => {
      const slot = await lookup(this.#ctx, path);
      const kind = fileKind(slot.entry);
      const children = kind === 'directory' ? await scanDirectory(this.#ctx, path) : [];
      checkRmdir(
        path,
        kind,
        children.some((c) => c.entry),
      );
      // What is left under the directory is superseded versions and tombstones.
      const leftovers = children.flatMap((c) => c.keys);
      await removeName(this.#ctx, slot, leftovers);
      this.#ctx.cache.forget(path);
    });
  }

  async delete(path: string): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const slot = await lookup(this.#ctx, path);
      checkDelete(path, fileKind(slot.entry));
      const entry = slot.entry!;
      const chunks =
        entry.meta.kind === 'c'
          ? manifestChunkKeys(this.#ctx.layout, await readManifest(this.#ctx, entry))
          : [];
      await removeName(this.#ctx, slot, []);
      this.#ctx.trash.queue(chunks);
      // A hard link: the inode loses a name once the name is gone (the last takes it along).
      const inode = inodeOfSlot(slot);
      if (inode !== undefined)
        await this.#paths.run(inodePath(inode), () => changeLinks(this.#ctx, inode, -1));
    });
  }

  async link(from: string, to: string): Promise<void> {
    // Alone, like rename: the first link rewrites the source's entry and makes an inode.
    await this.#op(from, 'exclusive', undefined, async () => {
      const [source, target, targetParent] = await Promise.all([
        lookup(this.#ctx, from),
        lookup(this.#ctx, to),
        to === '/' ? undefined : lookup(this.#ctx, parentPath(to)),
      ]);
      checkLink(from, to, fileKind(source.entry), fileKind(target.entry), fileKind(targetParent?.entry));
      await link(this.#ctx, source, target);
    });
  }

  async rename(from: string, to: string): Promise<void> {
    await this.#op(from, 'exclusive', undefined, async () => {
      const [source, target, targetParent] = await Promise.all([
        lookup(this.#ctx, from),
        lookup(this.#ctx, to),
        to === '/' ? undefined : lookup(this.#ctx, parentPath(to)),
      ]);
      const replaced = inodeOfSlot(target);
      const plan = checkRename(
        from,
        to,
        fileKind(source.entry),
        fileKind(target.entry),
        fileKind(targetParent?.entry),
        replaced !== undefined && replaced === inodeOfSlot(source),
      );
      if (plan === 'noop') return;
      await rename(this.#ctx, source, target);
      // The replaced name of a hard-linked file: its inode loses it.
      if (replaced !== undefined) await changeLinks(this.#ctx, replaced, -1);
    });
  }

  async setTimes(path: string, times: SetTimes): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const slot = await lookup(this.#ctx, path);
      await this.#onFile(slot, async (file) => {
        checkExists(path, fileKind(file.entry));
        await commitTimes(this.#ctx, file, times);
      });
    });
  }

  async close(): Promise<void> {
    try {
      if (this.#ready) await this.flush();
    } finally {
      this.#ctx.trash.stop();
      if (this.#ctx.ownsClient) this.#ctx.client.destroy();
    }
  }

  /** Deletes the objects that completed operations left behind (done in the background otherwise). */
  flush(): Promise<void> {
    return this.#ctx.trash.flush();
  }

  /** See {@link collectGarbage}; runs while no other operation of this storage runs. */
  async gc(options: GcOptions = {}): Promise<GcResult> {
    const minAge = options.minAgeMs ?? 15 * 60_000;
    await this.ready();
    try {
      return await this.#tree.exclusive(() => collectGarbage(this.#ctx, minAge, options.onProgress));
    } catch (error) {
      throw this.#ctx.vfsError(error);
    }
  }
}
