import type { S3Client } from '@aws-sdk/client-s3';
import type { GcProgress, StorageLimits } from '@eryx/vfs-core';
import { VfsError } from '@eryx/vfs-core';

/** How the backend connects when it creates its own `S3Client` (plain, serializable values). */
export interface S3ConnectionOptions {
  /** Endpoint URL, e.g. `http://127.0.0.1:9000`; omit for AWS. */
  endpoint?: string;
  /** Region; default `us-east-1`. */
  region?: string;
  /** Static credentials; omit to use the SDK's default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Path-style URLs (`endpoint/bucket/key`), needed by most S3-compatible servers. Default `false`. */
  forcePathStyle?: boolean;
  /** Attempts per request, retries included (5xx, throttling, network); default `5`. */
  maxAttempts?: number;
  /** Milliseconds before a request (or a connection attempt) is abandoned; default `30000`. */
  requestTimeoutMs?: number;
}

/** Options of {@link s3} and {@link openS3}. */
export interface S3StorageOptions extends S3ConnectionOptions {
  /** The bucket; it must exist. */
  bucket: string;
  /** Key prefix of this filesystem, so many filesystems share one bucket; default `''`. */
  prefix?: string;
  /** A client to use instead of creating one from the connection options (not destroyed on `close`). */
  client?: S3Client;
  /** Bytes per chunk object of a file; default 1 MiB. Fixed per file when the file is chunked. */
  chunkSize?: number;
  /** Files up to this size live inside their entry object (no chunk objects); default 64 KiB, at most `chunkSize`. */
  inlineThreshold?: number;
  /**
   * Whether entry updates use conditional writes (`If-None-Match`). `'auto'` (default) probes the
   * server once at start-up; `true` requires them (start-up fails if the server ignores them);
   * `false` never uses them (single-writer mode).
   */
  conditionalWrites?: 'auto' | boolean;
  /**
   * Conditional mode: a claim older than this whose write never committed is taken for a dead
   * writer's and skipped; a write that takes longer between claim and commit fails rather than
   * risk being superseded unnoticed. Default 60000.
   */
  claimTimeoutMs?: number;
  /** Requests in flight per operation (chunk uploads and reads, directory renames, gc); default `16`. */
  concurrency?: number;
  /**
   * Entries kept in memory in single-writer mode, so a lookup of a known path costs no request;
   * `0` disables the cache. Default `100000`. Conditional mode never caches.
   */
  cacheEntries?: number;
  /**
   * Bytes of chunk data kept in memory (least recently used first out): chunks this storage wrote
   * by a partial write or read whole. Chunk objects never change (a write makes a new one), so the
   * cache is valid in every mode. `0` disables it. Default 32 MiB.
   */
  chunkCacheBytes?: number;
  /**
   * The store's limits, the option every backend takes. S3 has no native limits: they are enforced
   * by core's `limits` wrapper, which counts only what passes through this storage object (not
   * other processes' writes). Default: none.
   */
  limits?: StorageLimits;
}

/** `conditional`: entries are claimed with `If-None-Match`; `single-writer`: one writer per store. */
export type ConsistencyMode = 'conditional' | 'single-writer';

/** Options of `gc`. */
export interface GcOptions {
  /**
   * Objects younger than this are left alone, so uploads and renames in flight in other processes
   * are never collected; default 15 minutes. Pass `0` only when nothing else uses the store.
   */
  minAgeMs?: number;
  /**
   * Called as gc progresses (for a progress bar): after each listing page, each manifest read and
   * each batch of up to 1,000 deletions, the last time with the totals. An exception thrown here
   * stops gc with that error.
   */
  onProgress?(progress: GcProgress): void;
}

/** What `gc` removed. */
export interface GcResult {
  /** Chunk objects no entry or inode referenced. */
  chunks: number;
  /**
   * Superseded entry and inode versions, claims, tombstones, entries under a directory that no
   * longer exists, inode keys of files no name refers to (hard links) and leftover start-up probes.
   */
  entries: number;
  /** Interrupted renames completed. */
  journals: number;
}

const OPTION_NAMES = new Set([
  'endpoint',
  'region',
  'credentials',
  'forcePathStyle',
  'maxAttempts',
  'requestTimeoutMs',
  'bucket',
  'prefix',
  'client',
  'chunkSize',
  'inlineThreshold',
  'conditionalWrites',
  'claimTimeoutMs',
  'concurrency',
  'cacheEntries',
  'chunkCacheBytes',
  'limits',
]);

/** Refuses what would otherwise be silently ignored or misbehave (options often come as JSON). */
export function checkOptions(options: S3StorageOptions): void {
  const bad = (message: string) => new VfsError('invalid-argument', message);
  if (typeof options !== 'object' || options === null) throw bad('options must be an object');
  for (const key of Object.keys(options)) if (!OPTION_NAMES.has(key)) throw bad(`unknown option "${key}"`);
  if (typeof options.bucket !== 'string' || options.bucket === '')
    throw bad('bucket must be a non-empty string');
  if (options.prefix !== undefined && typeof options.prefix !== 'string')
    throw bad('prefix must be a string');
  const counts: [keyof S3StorageOptions, number][] = [
    ['chunkSize', 1],
    ['concurrency', 1],
    ['maxAttempts', 1],
    ['inlineThreshold', 0],
    ['cacheEntries', 0],
    ['chunkCacheBytes', 0],
    ['claimTimeoutMs', 0],
    ['requestTimeoutMs', 1],
  ];
  for (const [key, min] of counts) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)) {
      throw bad(`${key} must be an integer of at least ${min}`);
    }
  }
  const mode = options.conditionalWrites;
  if (mode !== undefined && mode !== 'auto' && typeof mode !== 'boolean') {
    throw bad(`conditionalWrites must be 'auto', true or false`);
  }
}
