import { S3Client } from '@aws-sdk/client-s3';
import type { Capabilities, VfsError } from '@eryx/vfs-core';
import { ChunkCache, EntryCache } from './entries.js';
import { isNotImplemented, isPreconditionFailed, toVfsError } from './errors.js';
import { Layout } from './layout.js';
import { EMPTY, newId, ObjectStore } from './objects.js';
import { type ConsistencyMode, checkOptions, type S3StorageOptions } from './options.js';
import { Trash } from './trash.js';

/**
 * What the parts of the driver share: the settings, the object store, the caches, the deferred
 * deletions and the consistency mode. The parts are functions taking it.
 */
export class S3Context {
  readonly client: S3Client;
  readonly ownsClient: boolean;
  readonly bucket: string;
  readonly endpoint: string | undefined;
  readonly layout: Layout;
  readonly chunkSize: number;
  readonly inlineThreshold: number;
  readonly concurrency: number;
  readonly conditionalOption: 'auto' | boolean;
  readonly claimTimeout: number;
  readonly objects: ObjectStore;
  readonly cache: EntryCache;
  readonly chunkCache: ChunkCache;
  readonly trash: Trash;
  /** Known once start-up probed the server. */
  mode: ConsistencyMode | undefined;
  /** Set while a rename runs: if it fails, the next operation completes it from its journal. */
  needsRecovery = false;

  constructor(options: S3StorageOptions) {
    checkOptions(options);
    this.bucket = options.bucket;
    this.layout = new Layout(options.prefix ?? '');
    this.endpoint = options.endpoint;
    this.chunkSize = options.chunkSize ?? 1024 * 1024;
    this.inlineThreshold = Math.min(options.inlineThreshold ?? 64 * 1024, this.chunkSize);
    this.concurrency = options.concurrency ?? 16;
    this.conditionalOption = options.conditionalWrites ?? 'auto';
    this.claimTimeout = options.claimTimeoutMs ?? 60_000;
    this.ownsClient = options.client === undefined;
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
    this.objects = new ObjectStore(this.client, this.bucket);
    this.chunkCache = new ChunkCache(options.chunkCacheBytes ?? 32 * 1024 * 1024);
    this.cache = new EntryCache(this.conditionalOption === true ? 0 : (options.cacheEntries ?? 100_000));
    this.trash = new Trash(this);
  }

  get conditional(): boolean {
    return this.mode === 'conditional';
  }

  vfsError(error: unknown, path?: string): VfsError {
    return toVfsError(error, { bucket: this.bucket, endpoint: this.endpoint, path });
  }
}

/** Writes a probe object twice with `If-None-Match: *`: refused the second time means conditional. */
export async function detectMode(ctx: S3Context): Promise<ConsistencyMode> {
  if (ctx.conditionalOption === false) return 'single-writer';
  const probe = `${ctx.layout.probes}${newId()}`;
  let honoured = false;
  try {
    await ctx.objects.put(probe, EMPTY, true);
    await ctx.objects.put(probe, EMPTY, true);
  } catch (error) {
    if (isPreconditionFailed(error)) honoured = true;
    else if (!isNotImplemented(error)) {
      await ctx.objects.delete([probe]).catch(() => undefined);
      throw error;
    }
  }
  await ctx.objects.delete([probe]);
  if (!honoured && ctx.conditionalOption === true) {
    throw new Error('conditionalWrites: true, but the S3 server ignores If-None-Match');
  }
  return honoured ? 'conditional' : 'single-writer';
}

/** The capabilities the driver declares in `mode`. */
export function capabilitiesFor(mode: ConsistencyMode): Partial<Capabilities> {
  return {
    persistent: true,
    atomicRename: false,
    atomicDirectoryRename: false,
    nativeAppend: mode === 'conditional',
    // Generation 1 of a new name is claimed like any update: one creator across processes wins.
    exclusiveCreate: mode === 'conditional',
    multiProcess: false,
    // writeExtents' ifFile, checked against the entry its commit is conditional on.
    nativeIfFile: mode === 'conditional',
    symlinks: true,
    // Times set in nanoseconds are kept exactly in the entry key (see layout.ts).
    nanosecondTimes: true,
    // Linked files live in inode objects their names point to (see hard-links.ts).
    hardLinks: true,
  };
}
