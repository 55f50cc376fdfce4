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
import type { Layout } from './layout.js';
import { lookup, lookupWithParent, readManifest, readTarget, scanDirectory } from './lookups.js';
import type { ConsistencyMode, GcOptions, GcResult, S3StorageOptions } from './options.js';
import { recover, rename } from './renames.js';
import { ReadWriteLock } from './util.js';

const MAX_CONFLICT_RETRIES = 30;

/** Bytes of a key beyond its prefix and path: `e/`, long names' `+/` and `!<gen>!<meta>` (test/layout.test.ts). */
export const KEY_OVERHEAD = 96;

/** Waits before retry `attempt` of a conflict: random, growing up to 640 ms. */
function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * 5 * 2 ** Math.min(attempt, 7)));
}

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
      const slot = await lookup(this.#ctx, path);
      checkExistingFile(path, fileKind(slot.entry));
      return readFileRange(this.#ctx, slot.entry!, 0, slot.entry!.meta.size);
    });
  }

  async readAt(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.#op(path, 'read', undefined, async () => {
      const slot = await lookup(this.#ctx, path);
      checkExistingFile(path, fileKind(slot.entry));
      return readFileRange(this.#ctx, slot.entry!, offset, length);
    });
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const [slot, parent] = await lookupWithParent(this.#ctx, path);
      checkFileTarget(path, fileKind(slot.entry), fileKind(parent?.entry));
      await writeFile(this.#ctx, slot, data);
    });
  }

  async writeAt(path: string, offset: number, data: Uint8Array): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const [slot, parent] = await lookupWithParent(this.#ctx, path);
      checkFileTarget(path, fileKind(slot.entry), fileKind(parent?.entry));
      await patchFile(this.#ctx, slot, { runs: [[offset, data]] });
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
      // By creation time (entries have no other lasting identity; renames and writes keep it). In
      // conditional mode the commit is conditional on this lookup's generation: a file replaced
      // meanwhile conflicts, and the retry looks (and checks) again.
      if (ifFile) {
        const kind = fileKind(slot.entry);
        checkIfFile(path, kind && { kind, created: slot.entry!.meta.created }, ifFile);
      }
      checkFileTarget(path, fileKind(slot.entry), fileKind(parent?.entry));
      await patchFile(this.#ctx, slot, { runs, modified: options?.modified });
    });
  }

  async append(path: string, data: Uint8Array): Promise<number> {
    return this.#op(path, 'shared', path, async () => {
      const [slot, parent] = await lookupWithParent(this.#ctx, path);
      checkFileTarget(path, fileKind(slot.entry), fileKind(parent?.entry));
      const offset = slot.entry?.meta.size ?? 0;
      checkData(data, path, offset);
      await patchFile(this.#ctx, slot, { runs: [[offset, data]] });
      return offset;
    });
  }

  async setSize(path: string, size: number): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const slot = await lookup(this.#ctx, path);
      checkExistingFile(path, fileKind(slot.entry));
      await patchFile(this.#ctx, slot, { size });
    });
  }

  stat(path: string): Promise<Metadata> {
    const known = this.#known(path);
    if (known?.entry) return Promise.resolve(metadata(known.entry));
    return this.#op(path, 'read', undefined, async () => {
      const slot = await lookup(this.#ctx, path);
      checkExists(path, fileKind(slot.entry));
      return metadata(slot.entry!);
    });
  }

  async list(path: string): Promise<DirEntry[]> {
    return this.#op(path, 'read', undefined, async () => {
      const slot = await lookup(this.#ctx, path);
      checkExistingDirectory(path, fileKind(slot.entry));
      const slots = this.#ctx.cache.listing(path) ?? (await scanDirectory(this.#ctx, path));
      return slots.flatMap((s) => {
        const kind = fileKind(s.entry);
        if (!kind) return [];
        return [{ name: name(s.path), kind, size: kind === 'directory' ? 0 : s.entry!.meta.size }];
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
      const slot = await lookup(this.#ctx, path);
      checkReadlink(path, fileKind(slot.entry));
      return readTarget(this.#ctx, slot.entry!);
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
    });
  }

  async rename(from: string, to: string): Promise<void> {
    await this.#op(from, 'exclusive', undefined, async () => {
      const [source, target, targetParent] = await Promise.all([
        lookup(this.#ctx, from),
        lookup(this.#ctx, to),
        to === '/' ? undefined : lookup(this.#ctx, parentPath(to)),
      ]);
      const plan = checkRename(
        from,
        to,
        fileKind(source.entry),
        fileKind(target.entry),
        fileKind(targetParent?.entry),
      );
      if (plan === 'noop') return;
      await rename(this.#ctx, source, target);
    });
  }

  async setTimes(path: string, times: SetTimes): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const slot = await lookup(this.#ctx, path);
      checkExists(path, fileKind(slot.entry));
      await commitTimes(this.#ctx, slot, times);
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
