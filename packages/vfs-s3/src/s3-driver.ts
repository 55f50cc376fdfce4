import { randomBytes } from 'node:crypto';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  type Capabilities,
  type ChunkSpan,
  checkCreate,
  checkData,
  checkDelete,
  checkExistingDirectory,
  checkExistingFile,
  checkExists,
  checkFileTarget,
  checkRename,
  checkRmdir,
  chunkCount,
  chunkSpans,
  type DirEntry,
  isVfsError,
  KeyedQueue,
  type Metadata,
  parentPath,
  readRange,
  type SetTimes,
  type VfsDriver,
} from '@eryx/vfs-core';
import {
  ChunkCache,
  type Entry,
  EntryCache,
  fileKind,
  type Manifest,
  manifestChunkKeys,
  metadata,
  name,
  type Slot,
  toSlot,
} from './entries.js';
import { ConflictError, isMissingKey, isNotImplemented, isPreconditionFailed, toVfsError } from './errors.js';
import { decodeName, type EntryMeta, Layout, type NameKey, PIECE_END } from './layout.js';
import {
  type ConsistencyMode,
  checkOptions,
  type GcOptions,
  type GcResult,
  type S3StorageOptions,
} from './options.js';
import { mapLimit, ReadWriteLock } from './util.js';

type Journal =
  | {
      op: 'rename-file';
      copies: [string, string][];
      puts: string[];
      remove: string[][];
      chunks: string[];
    }
  | {
      op: 'rename-dir';
      srcChildren: string;
      dstChildren: string;
      copies: [string, string][];
      puts: string[];
      remove: string[][];
    };

/** Keys to delete once the operation succeeds, and uploads to drop if it fails before committing. */
class Txn {
  uploaded: string[] = [];
  garbage: string[] = [];
  committing = false;
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAX_CONFLICT_RETRIES = 30;

function newId(): string {
  return randomBytes(12).toString('hex');
}

/**
 * The S3 {@link VfsDriver}: entries as keys that carry kind, size and times (so a listing is one
 * LIST walk), file data in immutable chunk objects named by random ids (so a partial write uploads
 * the chunks it touches plus one small entry object), renames through a journal.
 */
export class S3Driver implements VfsDriver {
  readonly client: S3Client;
  readonly bucket: string;
  readonly layout: Layout;
  readonly #ownsClient: boolean;
  readonly #endpoint: string | undefined;
  readonly #chunkSize: number;
  readonly #inlineThreshold: number;
  readonly #concurrency: number;
  readonly #conditionalOption: 'auto' | boolean;
  readonly #claimTimeout: number;
  readonly #cache: EntryCache;
  readonly #chunkCache: ChunkCache;
  readonly #paths = new KeyedQueue();
  readonly #tree = new ReadWriteLock();
  readonly #trash = new Set<string>();
  #trashTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #mode: ConsistencyMode | undefined;
  #ready: Promise<void> | undefined;
  #isReady = false;
  #needsRecovery = false;
  capabilities: Partial<Capabilities>;

  constructor(options: S3StorageOptions) {
    checkOptions(options);
    this.bucket = options.bucket;
    this.layout = new Layout(options.prefix ?? '');
    this.#endpoint = options.endpoint;
    this.#chunkSize = options.chunkSize ?? 1024 * 1024;
    this.#inlineThreshold = Math.min(options.inlineThreshold ?? 64 * 1024, this.#chunkSize);
    this.#concurrency = options.concurrency ?? 16;
    this.#conditionalOption = options.conditionalWrites ?? 'auto';
    this.#claimTimeout = options.claimTimeoutMs ?? 60_000;
    this.#ownsClient = options.client === undefined;
    this.client =
      options.client ??
      new S3Client({
        endpoint: options.endpoint,
        region: options.region ?? 'us-east-1',
        credentials: options.credentials,
        forcePathStyle: options.forcePathStyle ?? false,
        maxAttempts: options.maxAttempts ?? 5,
        retryMode: 'standard',
        requestHandler: {
          connectionTimeout: options.requestTimeoutMs ?? 30_000,
          requestTimeout: options.requestTimeoutMs ?? 30_000,
        },
      });
    this.#chunkCache = new ChunkCache(options.chunkCacheBytes ?? 32 * 1024 * 1024);
    this.#cache = new EntryCache(this.#conditionalOption === true ? 0 : (options.cacheEntries ?? 100_000));
    this.capabilities = this.#capabilitiesFor(
      this.#conditionalOption === true ? 'conditional' : 'single-writer',
    );
  }

  /** The consistency mode, known once {@link S3Driver.ready} resolved. */
  get mode(): ConsistencyMode | undefined {
    return this.#mode;
  }

  #capabilitiesFor(mode: ConsistencyMode): Partial<Capabilities> {
    return {
      persistent: true,
      atomicRename: false,
      atomicDirectoryRename: false,
      nativeAppend: mode === 'conditional',
      // Generation 1 of a new name is claimed like any update: one creator across processes wins.
      exclusiveCreate: mode === 'conditional',
      multiProcess: false,
    };
  }

  /** Probes the server, creates the root and completes interrupted renames (once). */
  ready(): Promise<void> {
    this.#ready ??= this.#init().then(
      () => {
        this.#isReady = true;
      },
      (error) => {
        this.#ready = undefined;
        throw toVfsError(error, { bucket: this.bucket, endpoint: this.#endpoint });
      },
    );
    return this.#ready;
  }

  async #init(): Promise<void> {
    this.#mode = await this.#detectMode();
    this.capabilities = this.#capabilitiesFor(this.#mode);
    if (this.#mode === 'conditional') this.#cache.disable();
    await this.#recover();
    const root = await this.#lookup('/');
    if (!root.entry) {
      const now = Date.now();
      await this.#txn('/', (txn) =>
        this.#commit(root, { kind: 'd', size: 0, created: now, modified: now, accessed: now }, EMPTY, txn),
      ).catch((error) => {
        // Another process created the root at the same moment.
        if (!(error instanceof ConflictError)) throw error;
      });
    }
  }

  async #detectMode(): Promise<ConsistencyMode> {
    if (this.#conditionalOption === false) return 'single-writer';
    const probe = `${this.layout.root}p/${newId()}`;
    let honoured = false;
    try {
      await this.#put(probe, EMPTY, true);
      await this.#put(probe, EMPTY, true);
    } catch (error) {
      if (isPreconditionFailed(error)) honoured = true;
      else if (!isNotImplemented(error)) {
        await this.#deleteKeys([probe]).catch(() => undefined);
        throw error;
      }
    }
    await this.#deleteKeys([probe]);
    if (!honoured && this.#conditionalOption === true) {
      throw new Error('conditionalWrites: true, but the S3 server ignores If-None-Match');
    }
    return honoured ? 'conditional' : 'single-writer';
  }

  get #conditional(): boolean {
    return this.#mode === 'conditional';
  }

  // --- the operations -------------------------------------------------------------------------

  /** Runs one operation: after start-up and recovery, under the tree lock, retried on conflicts. */
  async #op<T>(
    path: string,
    lock: 'shared' | 'exclusive' | 'read',
    pathLock: string | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    if (!this.#isReady) await this.ready();
    try {
      if (this.#needsRecovery) await this.#tree.exclusive(() => this.#recover());
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
          // A conflict, or an object another writer replaced under us (only other processes touch
          // a file under its path lock, and only in conditional mode): look again.
          const replaced =
            isMissingKey(error) && (lock === 'read' || (lock === 'shared' && this.#conditional));
          const retry = error instanceof ConflictError || replaced;
          this.#cache.forget(path);
          if (!retry || attempt >= MAX_CONFLICT_RETRIES) throw error;
          await new Promise((r) => setTimeout(r, Math.random() * 5 * 2 ** Math.min(attempt, 7)));
        }
      }
    } catch (error) {
      throw toVfsError(error, { bucket: this.bucket, endpoint: this.#endpoint, path });
    }
  }

  async read(path: string): Promise<Uint8Array> {
    return this.#op(path, 'read', undefined, async () => {
      const slot = await this.#lookup(path);
      checkExistingFile(path, fileKind(slot.entry));
      return this.#readRange(slot.entry!, 0, slot.entry!.meta.size);
    });
  }

  async readAt(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.#op(path, 'read', undefined, async () => {
      const slot = await this.#lookup(path);
      checkExistingFile(path, fileKind(slot.entry));
      return this.#readRange(slot.entry!, offset, length);
    });
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const [slot, parent] = await this.#lookupWithParent(path);
      checkFileTarget(path, fileKind(slot.entry), fileKind(parent?.entry));
      await this.#txn(path, async (txn) => {
        const old = slot.entry;
        const now = Date.now();
        const meta: EntryMeta = {
          kind: 'i',
          size: data.length,
          created: old?.meta.created ?? now,
          modified: now,
          accessed: now,
        };
        let manifest: Manifest | undefined;
        let body = data;
        if (data.length > this.#inlineThreshold) {
          manifest = await this.#uploadWhole(data, txn);
          meta.kind = 'c';
          body = encoder.encode(JSON.stringify(manifest));
        }
        if (old?.meta.kind === 'c')
          txn.garbage.push(...manifestChunkKeys(this.layout, await this.#manifest(old)));
        await this.#commit(slot, meta, body, txn, manifest);
      });
    });
  }

  async writeAt(path: string, offset: number, data: Uint8Array): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const [slot, parent] = await this.#lookupWithParent(path);
      checkFileTarget(path, fileKind(slot.entry), fileKind(parent?.entry));
      await this.#patch(slot, { offset, data });
    });
  }

  async append(path: string, data: Uint8Array): Promise<number> {
    return this.#op(path, 'shared', path, async () => {
      const [slot, parent] = await this.#lookupWithParent(path);
      checkFileTarget(path, fileKind(slot.entry), fileKind(parent?.entry));
      const offset = slot.entry?.meta.size ?? 0;
      checkData(data, path, offset);
      await this.#patch(slot, { offset, data });
      return offset;
    });
  }

  async setSize(path: string, size: number): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const slot = await this.#lookup(path);
      checkExistingFile(path, fileKind(slot.entry));
      await this.#patch(slot, { size });
    });
  }

  stat(path: string): Promise<Metadata> {
    const known = this.#known(path);
    if (known?.entry) return Promise.resolve(metadata(known.entry));
    return this.#op(path, 'read', undefined, async () => {
      const slot = await this.#lookup(path);
      checkExists(path, fileKind(slot.entry));
      return metadata(slot.entry!);
    });
  }

  async list(path: string): Promise<DirEntry[]> {
    return this.#op(path, 'read', undefined, async () => {
      const slot = await this.#lookup(path);
      checkExistingDirectory(path, fileKind(slot.entry));
      const slots = this.#cache.listing(path) ?? (await this.#scanDirectory(path));
      return slots.flatMap((s) => {
        const kind = fileKind(s.entry);
        if (!kind) return [];
        return [{ name: name(s.path), kind, size: kind === 'file' ? s.entry!.meta.size : 0 }];
      });
    });
  }

  exists(path: string): Promise<boolean> {
    const known = this.#known(path);
    if (known?.entry) return Promise.resolve(true);
    return this.#op(path, 'read', undefined, async () => (await this.#lookup(path)).entry !== undefined);
  }

  /**
   * A cached slot, when it can be read right now without a request or a lock: nothing exclusive
   * (a rename, rmdir, gc or recovery) runs or waits, so the cache is consistent at this instant.
   */
  #known(path: string): Slot | undefined {
    if (!this.#isReady || this.#needsRecovery || !this.#tree.idle()) return undefined;
    const cached = this.#cache.get(path);
    return cached === 'absent' ? undefined : cached;
  }

  mkdir(path: string): Promise<void> {
    return this.#createEntry(path, 'd');
  }

  create(path: string): Promise<void> {
    return this.#createEntry(path, 'i');
  }

  /**
   * mkdir's directory or create's empty inline file, where nothing is: under the path lock
   * (exclusive within this object) and, in conditional mode, through the claim of the name's next
   * generation, so a racing creator in another process conflicts, looks again and finds the entry
   * (`already-exists`).
   */
  async #createEntry(path: string, kind: 'd' | 'i'): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const [slot, parent] = await this.#lookupWithParent(path);
      checkCreate(path, fileKind(slot.entry), fileKind(parent?.entry));
      const now = Date.now();
      await this.#txn(path, (txn) =>
        this.#commit(slot, { kind, size: 0, created: now, modified: now, accessed: now }, EMPTY, txn),
      );
      if (kind === 'd' && !this.#conditional) this.#cache.complete(path, []);
    });
  }

  async rmdir(path: string): Promise<void> {
    await this.#op(path, 'exclusive', undefined, async () => {
      const slot = await this.#lookup(path);
      const kind = fileKind(slot.entry);
      const children = kind === 'directory' ? await this.#scanDirectory(path) : [];
      checkRmdir(
        path,
        kind,
        children.some((c) => c.entry),
      );
      // What is left under the directory is superseded versions and tombstones.
      const leftovers = children.flatMap((c) => c.keys);
      await this.#removeName(slot, leftovers);
      this.#cache.forget(path);
    });
  }

  async delete(path: string): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const slot = await this.#lookup(path);
      checkDelete(path, fileKind(slot.entry));
      const entry = slot.entry!;
      const chunks =
        entry.meta.kind === 'c' ? manifestChunkKeys(this.layout, await this.#manifest(entry)) : [];
      await this.#removeName(slot, []);
      this.#queueTrash(chunks);
    });
  }

  async rename(from: string, to: string): Promise<void> {
    await this.#op(from, 'exclusive', undefined, async () => {
      const [source, target, targetParent] = await Promise.all([
        this.#lookup(from),
        this.#lookup(to),
        to === '/' ? undefined : this.#lookup(parentPath(to)),
      ]);
      const plan = checkRename(
        from,
        to,
        fileKind(source.entry),
        fileKind(target.entry),
        fileKind(targetParent?.entry),
      );
      if (plan === 'noop') return;
      this.#needsRecovery = true;
      try {
        if (source.entry!.meta.kind === 'd') await this.#renameDirectory(source, target);
        else await this.#renameFile(source, target);
        this.#needsRecovery = false;
      } finally {
        this.#cache.clear();
      }
    });
  }

  async setTimes(path: string, times: SetTimes): Promise<void> {
    await this.#op(path, 'shared', path, async () => {
      const slot = await this.#lookup(path);
      checkExists(path, fileKind(slot.entry));
      const entry = slot.entry!;
      const meta = {
        ...entry.meta,
        accessed: times.accessed ?? entry.meta.accessed,
        modified: times.modified ?? entry.meta.modified,
      };
      await this.#txn(path, async (txn) => {
        if (entry.meta.kind === 'd') return this.#commit(slot, meta, EMPTY, txn);
        if (entry.manifest) {
          const body = encoder.encode(JSON.stringify(entry.manifest));
          return this.#commit(slot, meta, body, txn, entry.manifest);
        }
        return this.#commit(slot, meta, { copyFrom: entry.key }, txn);
      });
    });
  }

  async close(): Promise<void> {
    try {
      if (this.#ready) await this.flush();
    } finally {
      if (this.#trashTimer) clearTimeout(this.#trashTimer);
      if (this.#ownsClient) this.client.destroy();
    }
  }

  /** Deletes the objects that completed operations left behind (done in the background otherwise). */
  async flush(): Promise<void> {
    if (this.#trashTimer) clearTimeout(this.#trashTimer);
    this.#trashTimer = undefined;
    const run = this.#flushing.then(async () => {
      while (this.#trash.size > 0) {
        const batch = [...this.#trash].slice(0, 1000);
        for (const key of batch) this.#trash.delete(key);
        try {
          await this.#deleteKeys(batch);
        } catch (error) {
          for (const key of batch) this.#trash.add(key);
          throw error;
        }
      }
    });
    this.#flushing = run.catch(() => undefined);
    try {
      await run;
    } catch (error) {
      throw toVfsError(error, { bucket: this.bucket, endpoint: this.#endpoint });
    }
  }

  /**
   * Collects garbage left by crashes and failed operations: completes interrupted renames, then
   * deletes chunk objects no entry references, superseded entry versions, stale claims and
   * tombstones, and entries whose directory no longer exists. Objects younger than
   * {@link GcOptions.minAgeMs} are kept. Runs while no other operation of this storage runs.
   */
  async gc(options: GcOptions = {}): Promise<GcResult> {
    const minAge = options.minAgeMs ?? 15 * 60_000;
    await this.ready();
    try {
      return await this.#tree.exclusive(async () => {
        await this.flush();
        const journals = await this.#recover();
        const cutoff = Date.now() - minAge;
        const old = (o: { LastModified?: Date }) => (o.LastModified?.getTime() ?? 0) <= cutoff;
        // Every entry key, grouped by directory prefix and name.
        const groups = new Map<string, NameKey[]>();
        const parents = new Map<string, string>();
        const ages = new Map<string, boolean>();
        const rootPrefix = this.layout.namePrefix('/');
        for (const prefix of [this.layout.entries, `${rootPrefix}!`]) {
          for await (const page of this.#pages(prefix)) {
            for (const o of page.Contents ?? []) {
              const parsed = this.layout.parseKey(o.Key!);
              if (!parsed) continue;
              const keys = groups.get(parsed.namePrefix) ?? [];
              groups.set(parsed.namePrefix, keys);
              parents.set(parsed.namePrefix, parsed.parentPrefix);
              keys.push(parsed.key);
              ages.set(o.Key!, old(o));
            }
          }
        }
        const garbage: string[] = [];
        const slots = new Map<string, Slot>();
        for (const [group, keys] of groups) {
          const slot = toSlot(group, keys);
          slots.set(group, slot);
          const top = Math.max(0, ...keys.filter((k) => k.meta).map((k) => k.gen));
          for (const k of keys) {
            if (k.key === slot.entry?.key) continue;
            // Young claims above the top generation may be writes in flight; the newest tombstone
            // guards against writers with an older view until it is old.
            if (!ages.get(k.key) && (k.gen > top || (k.gen === top && k.meta))) continue;
            garbage.push(k.key);
          }
        }
        // Entries under a directory that no longer exists (left by a crash or another process).
        const entriesRoot = this.layout.entries;
        const reachable = new Map<string, boolean>();
        const isReachable = (group: string): boolean => {
          const parentPrefix = parents.get(group)!;
          if (parentPrefix === entriesRoot) return true;
          const parent = parentPrefix.slice(0, -1);
          let known = reachable.get(group);
          if (known === undefined) {
            known = slots.get(parent)?.entry?.meta.kind === 'd' && isReachable(parent);
            reachable.set(group, known);
          }
          return known;
        };
        const liveEntries: Entry[] = [];
        for (const [group, slot] of slots) {
          if (!group.startsWith(entriesRoot) || isReachable(group)) {
            if (slot.entry) liveEntries.push(slot.entry);
            continue;
          }
          for (const k of groups.get(group) ?? []) if (ages.get(k.key)) garbage.push(k.key);
        }
        const referenced = new Set<string>();
        const manifests = await mapLimit(
          liveEntries.filter((e) => e.meta.kind === 'c'),
          this.#concurrency,
          (e) => this.#manifest(e),
        );
        for (const m of manifests) for (const key of manifestChunkKeys(this.layout, m)) referenced.add(key);
        const chunkGarbage: string[] = [];
        for await (const page of this.#pages(this.layout.chunks)) {
          for (const o of page.Contents ?? []) {
            if (!referenced.has(o.Key!) && old(o)) chunkGarbage.push(o.Key!);
          }
        }
        for await (const page of this.#pages(`${this.layout.root}p/`)) {
          for (const o of page.Contents ?? []) if (old(o)) garbage.push(o.Key!);
        }
        await this.#deleteKeys([...new Set(garbage), ...chunkGarbage]);
        this.#cache.clear();
        return { chunks: chunkGarbage.length, entries: new Set(garbage).size, journals };
      });
    } catch (error) {
      throw toVfsError(error, { bucket: this.bucket, endpoint: this.#endpoint });
    }
  }

  // --- entries --------------------------------------------------------------------------------

  #lookup(path: string): Slot | Promise<Slot> {
    const cached = this.#cache.get(path);
    if (cached === 'absent') return { path, entry: undefined, maxGen: 0, keys: [] };
    if (cached) return cached;
    return this.#fetchSlot(path);
  }

  async #fetchSlot(path: string): Promise<Slot> {
    const prefix = `${this.layout.namePrefix(path)}!`;
    const keys: NameKey[] = [];
    for await (const page of this.#pages(prefix)) {
      for (const o of page.Contents ?? []) {
        const key = o.Key!;
        const parsed = this.layout.parseKey(key);
        if (parsed) keys.push({ ...parsed.key, written: o.LastModified?.getTime() });
      }
    }
    const slot = toSlot(path, keys);
    this.#cache.set(slot);
    return slot;
  }

  async #lookupWithParent(path: string): Promise<[Slot, Slot | undefined]> {
    if (path === '/') return [await this.#lookup(path), undefined];
    const slot = this.#lookup(path);
    const parent = this.#lookup(parentPath(path));
    return slot instanceof Promise || parent instanceof Promise
      ? Promise.all([slot, parent])
      : [slot, parent];
  }

  /** One LIST walk over a directory's keys; every name with its keys (live or not). */
  async #scanDirectory(path: string): Promise<Slot[]> {
    const prefix = this.layout.childPrefix(path);
    const byName = new Map<string, NameKey[]>();
    // Long names continue below a common prefix ending in `+/`: one more LIST per such name.
    for (const pending = [prefix]; pending.length > 0; ) {
      for await (const page of this.#pages(pending.pop()!, '/')) {
        for (const o of page.Contents ?? []) {
          const parsed = this.layout.parseKey(o.Key!);
          if (!parsed) continue;
          const keys = byName.get(parsed.name) ?? [];
          byName.set(parsed.name, keys);
          keys.push({ ...parsed.key, written: o.LastModified?.getTime() });
        }
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix!.endsWith(PIECE_END)) pending.push(p.Prefix!);
      }
    }
    const slots = [...byName].map(([encoded, keys]) => {
      const child = path === '/' ? `/${decodeName(encoded)}` : `${path}/${decodeName(encoded)}`;
      return toSlot(child, keys);
    });
    if (!this.#conditional) this.#cache.complete(path, slots);
    return slots;
  }

  async #manifest(entry: Entry): Promise<Manifest> {
    if (!entry.manifest) {
      entry.manifest = JSON.parse(decoder.decode(await this.#get(entry.key))) as Manifest;
    }
    return entry.manifest;
  }

  /** Runs a mutation; on success its garbage is queued for deletion, on failure its uploads are. */
  async #txn<T>(path: string, fn: (txn: Txn) => Promise<T>): Promise<T> {
    const txn = new Txn();
    try {
      const result = await fn(txn);
      this.#queueTrash(txn.garbage);
      return result;
    } catch (error) {
      this.#cache.forget(path);
      // After a commit attempt the outcome is unknown: leave the uploads to gc.
      if (!txn.committing) this.#queueTrash(txn.uploaded);
      throw error;
    }
  }

  /**
   * Writes the next generation of an entry: in conditional mode a claim first (`If-None-Match`),
   * so of two writers of the same generation exactly one wins; then the data key. The data key is
   * the commit point; older keys become garbage.
   */
  async #commit(
    slot: Slot,
    meta: EntryMeta,
    body: Uint8Array | { copyFrom: string },
    txn: Txn,
    manifest?: Manifest,
  ): Promise<Slot> {
    const gen = this.#nextGen(slot);
    const keys = [...slot.keys];
    const claimed = Date.now();
    if (this.#conditional) keys.push(await this.#claim(slot.path, gen));
    const key = this.layout.dataKey(slot.path, gen, meta);
    txn.committing = true;
    if (body instanceof Uint8Array) await this.#put(key, body);
    else await this.#copy(body.copyFrom, key);
    if (this.#conditional && Date.now() - claimed > this.#claimTimeout / 2)
      await this.#checkNotSkipped(slot.path, gen);
    txn.garbage.push(...keys);
    const next: Slot = {
      path: slot.path,
      entry: meta.kind === 't' ? undefined : { key, gen, meta, manifest },
      maxGen: gen,
      keys: [key],
    };
    this.#cache.set(next);
    return next;
  }

  /**
   * The generation the next write of a name claims. In conditional mode, a younger claim above the
   * live generation is a write in flight: a conflict (retried). Older claims belong to writers that
   * died between claim and commit; they are skipped.
   */
  #nextGen(slot: Slot): number {
    if (
      this.#conditional &&
      slot.pendingSince !== undefined &&
      Date.now() - slot.pendingSince < this.#claimTimeout
    ) {
      throw new ConflictError(`a write of ${slot.path} is in flight`);
    }
    return slot.maxGen + 1;
  }

  /** After a commit that took long: a writer that skipped our claim as dead would have won. */
  async #checkNotSkipped(path: string, gen: number): Promise<void> {
    for await (const page of this.#pages(`${this.layout.namePrefix(path)}!`)) {
      for (const o of page.Contents ?? []) {
        const parsed = this.layout.parseKey(o.Key!);
        if (parsed && parsed.key.gen > gen) {
          throw new Error(`the write of ${path} stalled past the claim timeout and was superseded`);
        }
      }
    }
  }

  /** Claims generation `gen` of a name; a {@link ConflictError} when another writer got there first. */
  async #claim(path: string, gen: number): Promise<string> {
    const claim = this.layout.claimKey(path, gen);
    try {
      await this.#put(claim, EMPTY, true);
    } catch (error) {
      if (isPreconditionFailed(error)) throw new ConflictError(`generation ${gen} of ${path} is taken`);
      throw error;
    }
    // A writer that started from an older view may claim a generation whose claim was cleaned up:
    // anything at or above ours means we lost.
    const prefix = `${this.layout.namePrefix(path)}!`;
    for await (const page of this.#pages(prefix)) {
      for (const o of page.Contents ?? []) {
        const parsed = this.layout.parseKey(o.Key!);
        if (parsed && o.Key !== claim && parsed.key.gen >= gen) {
          await this.#deleteKeys([claim]);
          throw new ConflictError(`generation ${gen} of ${path} is taken`);
        }
      }
    }
    return claim;
  }

  /** Removes a name entirely: a tombstone in conditional mode, else its keys (the live one last). */
  async #removeName(slot: Slot, extra: string[]): Promise<void> {
    const queued = this.#takeTrash(`${this.layout.namePrefix(slot.path)}!`);
    if (this.#conditional) {
      const now = Date.now();
      await this.#txn(slot.path, async (txn) => {
        await this.#commit(
          slot,
          { kind: 't', size: 0, created: now, modified: now, accessed: now },
          EMPTY,
          txn,
        );
        txn.garbage.push(...queued, ...extra);
      });
      this.#cache.forget(slot.path);
      return;
    }
    const live = slot.entry?.key;
    const others = [...new Set([...slot.keys, ...queued, ...extra])].filter((k) => k !== live);
    if (others.length > 0) await this.#deleteKeys(others);
    if (live) await this.#deleteKeys([live]);
    this.#cache.set({ path: slot.path, entry: undefined, maxGen: slot.maxGen, keys: [] });
  }

  // --- file data ------------------------------------------------------------------------------

  async #readRange(entry: Entry, offset: number, length: number): Promise<Uint8Array> {
    const range = readRange(entry.meta.size, offset, length);
    if (range.length === 0) return new Uint8Array(0);
    if (entry.meta.kind === 'i') {
      const body = await this.#get(entry.key);
      const out = new Uint8Array(range.length);
      out.set(body.subarray(range.offset, range.offset + range.length));
      return out;
    }
    const manifest = await this.#manifest(entry);
    const out = new Uint8Array(range.length);
    await mapLimit(chunkSpans(range.offset, range.length, manifest.s), this.#concurrency, async (span) => {
      const chunk = manifest.c[span.index];
      if (!chunk) return;
      const [id, valid] = chunk;
      const end = Math.min(span.end, valid);
      if (end <= span.start) return;
      const whole = span.start === 0 && end === valid;
      const cached = this.#chunkCache.get(id);
      if (cached) {
        out.set(cached.subarray(span.start, end), span.rangeOffset);
        return;
      }
      const data = await this.#get(this.layout.chunkKey(id), whole ? undefined : [span.start, end - 1]);
      if (whole) this.#chunkCache.set(id, data.subarray(0, valid));
      out.set(data.subarray(0, end - span.start), span.rangeOffset);
    });
    return out;
  }

  async #uploadWhole(data: Uint8Array, txn: Txn): Promise<Manifest> {
    const spans = chunkSpans(0, data.length, this.#chunkSize);
    const chunks = await mapLimit(spans, this.#concurrency, async (span): Promise<[string, number]> => {
      const id = newId();
      const key = this.layout.chunkKey(id);
      txn.uploaded.push(key);
      await this.#put(key, data.subarray(span.rangeOffset, span.rangeOffset + span.end));
      return [id, span.end];
    });
    return { s: this.#chunkSize, c: chunks };
  }

  /** writeAt / append / setSize: rewrites only the chunks the change touches, then the entry. */
  async #patch(slot: Slot, change: { offset: number; data: Uint8Array } | { size: number }): Promise<void> {
    await this.#txn(slot.path, async (txn) => {
      const old = slot.entry;
      const oldSize = old?.meta.size ?? 0;
      const newSize = 'data' in change ? Math.max(oldSize, change.offset + change.data.length) : change.size;
      const now = Date.now();
      const meta: EntryMeta = {
        kind: 'i',
        size: newSize,
        created: old?.meta.created ?? now,
        modified: now,
        accessed: now,
      };
      const inline = !old || old.meta.kind === 'i';
      const oldContent = inline && old && oldSize > 0 ? await this.#get(old.key) : undefined;
      if (inline && newSize <= this.#inlineThreshold) {
        const next = new Uint8Array(newSize);
        if (oldContent) next.set(oldContent.subarray(0, Math.min(oldSize, newSize)));
        if ('data' in change) next.set(change.data, change.offset);
        await this.#commit(slot, meta, next, txn);
        return;
      }
      const base: Manifest = inline ? { s: this.#chunkSize, c: [] } : await this.#manifest(old!);
      const size = base.s;
      const chunks = base.c.slice();
      if (newSize < oldSize) {
        const keep = chunkCount(newSize, size);
        for (const c of chunks.slice(keep)) if (c) txn.garbage.push(this.layout.chunkKey(c[0]));
        chunks.length = Math.min(chunks.length, keep);
        const last = chunks[keep - 1];
        if (last) chunks[keep - 1] = [last[0], Math.min(last[1], newSize - (keep - 1) * size)];
      }
      const spans = new Map<number, ChunkSpan | undefined>();
      if (oldContent) spans.set(0, undefined);
      if ('data' in change) {
        for (const span of chunkSpans(change.offset, change.data.length, size)) spans.set(span.index, span);
      }
      await mapLimit([...spans], this.#concurrency, async ([index, span]) => {
        const previous = chunks[index] ?? null;
        const seed = index === 0 ? oldContent : undefined;
        const previousLength = seed ? seed.length : (previous?.[1] ?? 0);
        const covered = span !== undefined && span.start === 0 && span.end >= previousLength;
        let before = seed;
        if (!before && previous && previousLength > 0 && !covered) {
          before = this.#chunkCache.get(previous[0]) ?? (await this.#get(this.layout.chunkKey(previous[0])));
        }
        const buffer = new Uint8Array(Math.max(previousLength, span?.end ?? 0));
        if (before && !covered) buffer.set(before.subarray(0, previousLength));
        if (span && 'data' in change) {
          const from = span.rangeOffset;
          buffer.set(change.data.subarray(from, from + span.end - span.start), span.start);
        }
        const id = newId();
        const key = this.layout.chunkKey(id);
        txn.uploaded.push(key);
        await this.#put(key, buffer);
        this.#chunkCache.set(id, buffer);
        if (previous) txn.garbage.push(this.layout.chunkKey(previous[0]));
        chunks[index] = [id, buffer.length];
      });
      for (let i = 0; i < chunks.length; i++) chunks[i] ??= null;
      const manifest: Manifest = { s: size, c: chunks };
      meta.kind = 'c';
      await this.#commit(slot, meta, encoder.encode(JSON.stringify(manifest)), txn, manifest);
    });
  }

  // --- renames --------------------------------------------------------------------------------

  async #renameFile(source: Slot, target: Slot): Promise<void> {
    const entry = source.entry!;
    const gen = this.#nextGen(target);
    const removeTarget = [...target.keys, ...this.#takeTrash(`${this.layout.namePrefix(target.path)}!`)];
    if (this.#conditional) removeTarget.push(await this.#claim(target.path, gen));
    const chunks =
      target.entry?.meta.kind === 'c'
        ? manifestChunkKeys(this.layout, await this.#manifest(target.entry))
        : [];
    const sourceOthers = [
      ...source.keys,
      ...this.#takeTrash(`${this.layout.namePrefix(source.path)}!`),
    ].filter((k) => k !== entry.key);
    const journal: Journal = {
      op: 'rename-file',
      copies: [[entry.key, this.layout.dataKey(target.path, gen, entry.meta)]],
      puts: [],
      remove: [[...removeTarget, ...sourceOthers], [entry.key]],
      chunks,
    };
    if (this.#conditional) await this.#tombstone(journal, source);
    await this.#runJournal(journal);
  }

  async #renameDirectory(source: Slot, target: Slot): Promise<void> {
    await this.flush();
    const entry = source.entry!;
    const gen = this.#nextGen(target);
    const removeTarget = [...target.keys];
    if (this.#conditional) removeTarget.push(await this.#claim(target.path, gen));
    const journal: Journal = {
      op: 'rename-dir',
      srcChildren: this.layout.childPrefix(source.path),
      dstChildren: this.layout.childPrefix(target.path),
      copies: [[entry.key, this.layout.dataKey(target.path, gen, entry.meta)]],
      puts: [],
      remove: [[...removeTarget, ...source.keys.filter((k) => k !== entry.key)], [entry.key]],
    };
    if (this.#conditional) await this.#tombstone(journal, source);
    await this.#runJournal(journal);
  }

  /** The renamed source keeps a tombstone, so a writer with an older view cannot bring it back. */
  async #tombstone(journal: Journal, source: Slot): Promise<void> {
    const now = Date.now();
    const tomb = this.#nextGen(source);
    journal.remove[1]!.push(await this.#claim(source.path, tomb));
    journal.puts.push(
      this.layout.dataKey(source.path, tomb, {
        kind: 't',
        size: 0,
        created: now,
        modified: now,
        accessed: now,
      }),
    );
  }

  /** Writes the journal, carries it out, removes it. A crash in between is completed by recovery. */
  async #runJournal(journal: Journal): Promise<void> {
    const key = `${this.layout.journals}${Date.now().toString(36).padStart(9, '0')}-${newId()}`;
    await this.#put(key, encoder.encode(JSON.stringify(journal)));
    await this.#rollForward(journal);
    await this.#deleteKeys([key]);
  }

  /** Carries out a rename journal; every step may run again after a crash with the same result. */
  async #rollForward(journal: Journal): Promise<void> {
    if (journal.op === 'rename-dir') {
      // Descendant keys first, then the directory's own entry: the target appears complete.
      const keys: string[] = [];
      for await (const page of this.#pages(journal.srcChildren)) {
        for (const o of page.Contents ?? []) keys.push(o.Key!);
      }
      await mapLimit(keys, this.#concurrency, (k) =>
        this.#copyIfPresent(k, Layout.rebase(k, journal.srcChildren, journal.dstChildren)),
      );
      await this.#finish(journal);
      await this.#deleteKeys(keys);
      for (const phase of journal.remove) await this.#deleteKeys(phase);
      return;
    }
    await this.#finish(journal);
    for (const phase of journal.remove) await this.#deleteKeys(phase);
    await this.#deleteKeys(journal.chunks);
  }

  async #finish(journal: Journal): Promise<void> {
    for (const [from, to] of journal.copies) await this.#copyIfPresent(from, to);
    for (const key of journal.puts) await this.#put(key, EMPTY);
  }

  async #copyIfPresent(from: string, to: string): Promise<void> {
    try {
      await this.#copy(from, to);
    } catch (error) {
      // Already moved by the run that was interrupted.
      if (!isMissingKey(error)) throw error;
    }
  }

  /** Completes every journal left by an interrupted rename; returns how many. */
  async #recover(): Promise<number> {
    this.#needsRecovery = true;
    let count = 0;
    for await (const page of this.#pages(this.layout.journals)) {
      for (const o of page.Contents ?? []) {
        const journal = JSON.parse(decoder.decode(await this.#get(o.Key!))) as Journal;
        await this.#rollForward(journal);
        await this.#deleteKeys([o.Key!]);
        count++;
      }
    }
    this.#cache.clear();
    this.#needsRecovery = false;
    return count;
  }

  // --- deferred deletion ----------------------------------------------------------------------

  #queueTrash(keys: readonly string[]): void {
    if (keys.length === 0) return;
    const chunks = this.layout.chunks;
    for (const key of keys) {
      this.#trash.add(key);
      if (key.startsWith(chunks)) this.#chunkCache.delete(key.slice(chunks.length));
    }
    if (this.#trash.size >= 1000) {
      void this.flush().catch(() => undefined);
    } else if (!this.#trashTimer) {
      this.#trashTimer = setTimeout(() => {
        this.#trashTimer = undefined;
        void this.flush().catch(() => undefined);
      }, 100);
      this.#trashTimer.unref();
    }
  }

  #takeTrash(prefix: string): string[] {
    const taken = [...this.#trash].filter((k) => k.startsWith(prefix));
    for (const key of taken) this.#trash.delete(key);
    return taken;
  }

  // --- S3 requests ----------------------------------------------------------------------------

  async #put(key: string, body: Uint8Array, ifNoneMatch = false): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        IfNoneMatch: ifNoneMatch ? '*' : undefined,
      }),
    );
  }

  async #get(key: string, range?: [number, number]): Promise<Uint8Array> {
    const result = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Range: range ? `bytes=${range[0]}-${range[1]}` : undefined,
      }),
    );
    return result.Body ? await result.Body.transformToByteArray() : new Uint8Array(0);
  }

  async #copy(from: string, to: string): Promise<void> {
    const source = `${this.bucket}/${from}`.split('/').map(encodeURIComponent).join('/');
    await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }));
  }

  async #deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const result = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = result.Errors?.filter((e) => e.Code !== 'NoSuchKey') ?? [];
      if (failed.length > 0) {
        const first = failed[0]!;
        throw Object.assign(new Error(`could not delete ${first.Key}: ${first.Message}`), {
          name: first.Code,
        });
      }
    }
  }

  async *#pages(prefix: string, delimiter?: string): AsyncGenerator<ListObjectsV2CommandOutput> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          Delimiter: delimiter,
          ContinuationToken: token,
        }),
      );
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}
