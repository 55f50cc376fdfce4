import type { S3Client } from '@aws-sdk/client-s3';
import { createStorage, limits, type StorageLimits, type VfsStorage } from '@eryx/vfs-core';
import type { GcOptions, GcResult, S3StorageOptions } from './options.js';
import { S3Driver } from './s3-driver.js';

export type {
  ConsistencyMode,
  GcOptions,
  GcResult,
  S3ConnectionOptions,
  S3StorageOptions,
} from './options.js';

/** A {@link VfsStorage} on S3, with the maintenance operations of this backend. */
export interface S3Storage extends VfsStorage {
  /** The client in use (the one passed in, or the one created from the connection options). */
  readonly client: S3Client;
  /** The bucket this filesystem lives in. */
  readonly bucket: string;
  /** The key prefix of this filesystem (`''` or ending in `/`). */
  readonly prefix: string;
  /**
   * Connects: probes whether the server honours conditional writes, creates the root entry and
   * completes renames an earlier process left unfinished. Every operation waits for it; calling it
   * directly surfaces a missing bucket or bad credentials early.
   * @returns the consistency mode in use
   */
  ready(): Promise<'conditional' | 'single-writer'>;
  /**
   * Deletes now the superseded objects that operations otherwise delete in the background (also
   * done by `close`).
   */
  flush(): Promise<void>;
  /**
   * Collects garbage left by crashes and failed requests (unreferenced chunks, superseded entry
   * versions, stale claims and tombstones, entries under a removed directory, inodes of hard-linked
   * files whose names are all gone) and completes interrupted renames. See {@link GcOptions.minAgeMs} before running it on a busy store.
   */
  gc(options?: GcOptions): Promise<GcResult>;
}

function wrap(driver: S3Driver, max: StorageLimits | undefined): S3Storage {
  const inner = createStorage(driver);
  const storage = max ? limits(inner, max) : inner;
  return Object.assign(storage, {
    client: driver.client,
    bucket: driver.bucket,
    prefix: driver.layout.root,
    ready: async () => {
      await driver.ready();
      return driver.mode ?? 'single-writer';
    },
    flush: () => driver.flush(),
    gc: (options?: GcOptions) => driver.gc(options),
  });
}

/**
 * S3 storage from an `S3Client` or plain connection options, under `bucket` and `prefix`. Connects
 * lazily (on the first operation); capabilities are those every mode guarantees (use
 * {@link openS3}, or `conditionalWrites: true`, for the stronger promises of conditional mode).
 */
export function s3(options: S3StorageOptions): S3Storage {
  return wrap(new S3Driver(options), options.limits);
}

/**
 * Like {@link s3}, but connects first: fails early on a missing bucket, bad credentials or an
 * unreachable endpoint, and declares the capabilities of the consistency mode it detected.
 */
export async function openS3(options: S3StorageOptions): Promise<S3Storage> {
  const driver = new S3Driver(options);
  try {
    await driver.ready();
  } catch (error) {
    await driver.close().catch(() => undefined);
    throw error;
  }
  return wrap(driver, options.limits);
}
export * from './url.js';
