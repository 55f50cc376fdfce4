import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  expectStoreUrl,
  type GcProgress,
  isVfsError,
  type MigrationReport,
  type ParseStoreUrlOptions,
  type S3StoreUrl,
  type StoreBackend,
  type StoreGcOptions,
  type StoreGcResult,
  type StoreMigrateOptions,
  type StoreNamespaceInfo,
  type StoreUrl,
  storeOptions,
  VfsError,
  type VfsStorage,
} from '@eryx/vfs-core';
import type { SyncBridgeSpec } from '@eryx/vfs-core/bridge';
import { toVfsError } from './errors.js';
import { type GcResult, openS3, type S3Storage, type S3StorageOptions, s3 } from './index.js';
import { LAYOUT_VERSION, Layout } from './layout.js';
import { mapLimit } from './util.js';

/** Options of {@link openS3Url}: what a URL cannot carry (a client, tuning). */
export interface S3UrlOptions
  extends ParseStoreUrlOptions,
    Pick<
      S3StorageOptions,
      | 'client'
      | 'chunkSize'
      | 'inlineThreshold'
      | 'conditionalWrites'
      | 'claimTimeoutMs'
      | 'concurrency'
      | 'cacheEntries'
      | 'chunkCacheBytes'
      | 'maxAttempts'
      | 'requestTimeoutMs'
    > {}

/** The filesystem's key prefix: the URL's path prefix, then the namespace. */
function keyPrefix(url: S3StoreUrl): string {
  return [url.prefix, url.namespace].filter((part) => part !== undefined && part !== '').join('/');
}

function storageOptions(url: S3StoreUrl, overrides: Omit<S3UrlOptions, 'cwd'>): S3StorageOptions {
  return storeOptions<S3StorageOptions>(
    {
      bucket: url.bucket,
      prefix: keyPrefix(url),
      endpoint: url.endpoint,
      region: url.region,
      forcePathStyle: url.forcePathStyle,
      credentials: url.credentials,
      chunkSize: url.chunkSize,
    },
    overrides,
  );
}

/**
 * Opens (and connects, like {@link openS3}) the filesystem an `s3://` store URL names (see
 * `parseStoreUrl`), e.g. `s3://bucket/sandboxes?endpoint=http://127.0.0.1:9000&forcePathStyle=true#user-42`:
 * its objects live under `sandboxes/user-42/`. S3 has no native limits, so the URL's limits are
 * enforced by core's `limits` wrapper, which counts only what passes through this storage object.
 */
export async function openS3Url(url: string | StoreUrl, options: S3UrlOptions = {}): Promise<VfsStorage> {
  const { cwd, ...overrides } = options;
  const parsed = expectStoreUrl(url, 's3', { cwd });
  return openS3({ limits: parsed.limits, ...storageOptions(parsed, overrides) });
}

/**
 * The sync bridge spec that opens the same filesystem in the bridge's worker (how the WASI host
 * reaches S3): `createSyncBridge(s3BridgeSpec(url))`. The spec holds any credentials of the URL.
 */
export function s3BridgeSpec(url: string | StoreUrl, options?: ParseStoreUrlOptions): SyncBridgeSpec {
  return {
    module: new URL('./index.js', import.meta.url).href,
    export: 'openS3Url',
    options: expectStoreUrl(url, 's3', options),
  };
}

/**
 * Deletes every object under the URL's key prefix (`prefix/namespace/`). Refuses a URL without a
 * prefix or namespace, which would empty the whole bucket. Storage objects still open on the
 * filesystem (and their caches) must not be used afterwards.
 */
export async function dropS3Url(url: string | StoreUrl, options: S3UrlOptions = {}): Promise<void> {
  const { cwd, ...overrides } = options;
  const parsed = expectStoreUrl(url, 's3', { cwd });
  if (keyPrefix(parsed) === '') {
    throw new VfsError(
      'invalid-argument',
      `store URL ${JSON.stringify(parsed.href)}: dropping it would empty the whole bucket; name a prefix or a #namespace`,
    );
  }
  const storage = s3(storageOptions(parsed, overrides));
  const { client, bucket, prefix } = storage;
  try {
    // Lists the first page again after each batch: deleted keys never come back, and no
    // continuation token has to survive the deletions.
    for (;;) {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length === 0) break;
      const result = await client.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }),
      );
      const failed = result.Errors?.find((e) => e.Code !== 'NoSuchKey');
      if (failed) throw new Error(`could not delete ${failed.Key}: ${failed.Code} ${failed.Message}`);
    }
  } catch (error) {
    if (isVfsError(error)) throw error;
    throw new VfsError('io', `dropping ${parsed.href}: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    });
  } finally {
    await storage.close();
  }
}

/**
 * Runs `fn` on a storage object of the URL's connection (not connected: `fn` decides what to send),
 * closes it, and makes every failure a {@link VfsError}; a missing bucket is `not-found`.
 */
async function administer<T>(
  parsed: S3StoreUrl,
  options: S3StorageOptions,
  fn: (storage: S3Storage) => Promise<T>,
): Promise<T> {
  const storage = s3(options);
  try {
    return await fn(storage);
  } catch (error) {
    const native = isVfsError(error) ? error.cause : error;
    if ((native as { name?: unknown } | undefined)?.name === 'NoSuchBucket') {
      throw new VfsError(
        'not-found',
        `store URL ${JSON.stringify(parsed.href)}: the bucket "${parsed.bucket}" does not exist`,
        { cause: error },
      );
    }
    throw toVfsError(error, { bucket: parsed.bucket, endpoint: parsed.endpoint });
  } finally {
    await storage.close();
  }
}

/** Whether a filesystem lives under `dir` (`''` or ending in `/`): its root entry is there. */
async function hasRoot(client: S3Client, bucket: string, dir: string): Promise<boolean> {
  const page = await client.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: `${dir}root!`, MaxKeys: 1 }),
  );
  return (page.Contents ?? []).length > 0;
}

/**
 * The namespaces under the URL's bucket prefix, sorted: a namespace is a key prefix `prefix/name/`
 * holding a filesystem (its root entry, which every filesystem has from its first use to its
 * `drop`). The URL's namespace is ignored. One level only: a namespace whose name contains `/`
 * (`#team/42`, under `prefix/team/42/`) is listed by the URL of its parent (`s3://bucket/prefix/team`).
 * One `ListObjectsV2` walk of the prefix with a delimiter, then one request per sub-prefix; nothing
 * is read from inside a filesystem, so no `files` or `bytes`. Only reads.
 * @throws {VfsError} `not-found` when the bucket does not exist
 */
export async function s3Namespaces(
  url: string | StoreUrl,
  options: S3UrlOptions = {},
): Promise<StoreNamespaceInfo[]> {
  const { cwd, ...overrides } = options;
  const parsed = expectStoreUrl(url, 's3', { cwd });
  const store: S3StoreUrl = { ...parsed, namespace: undefined };
  return administer(parsed, storageOptions(store, overrides), async ({ client, bucket, prefix }) => {
    const children: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          Delimiter: '/',
          ContinuationToken: token,
        }),
      );
      for (const common of page.CommonPrefixes ?? []) children.push(common.Prefix!);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // A filesystem right under the URL's prefix (a URL without namespace): its own objects are no namespaces.
    const layout = new Layout(prefix);
    const own = new Set([layout.entries, layout.inodes, layout.chunks, layout.journals, layout.probes]);
    const candidates = (await hasRoot(client, bucket, prefix))
      ? children.filter((child) => !own.has(child))
      : children;
    const filesystems = await mapLimit(candidates, 16, (dir) => hasRoot(client, bucket, dir));
    return candidates
      .filter((_, i) => filesystems[i])
      .map((dir) => dir.slice(prefix.length, -1))
      .sort()
      .map((name) => ({ name }));
  });
}

/**
 * The object layout has one version ({@link LAYOUT_VERSION}), so migrating only creates the
 * filesystem the URL names when there is none yet: its root entry, as the first open does
 * (`from: null`, one step). With `dryRun` it only lists. An existing filesystem is current.
 * @throws {VfsError} `not-found` when the bucket does not exist
 */
export async function migrateS3Url(
  url: string | StoreUrl,
  options: StoreMigrateOptions & S3UrlOptions = {},
): Promise<MigrationReport> {
  const { cwd, dryRun = false, ...overrides } = options;
  const parsed = expectStoreUrl(url, 's3', { cwd });
  return administer(parsed, storageOptions(parsed, overrides), async (storage) => {
    const exists = await hasRoot(storage.client, storage.bucket, storage.prefix);
    const steps = exists
      ? []
      : [`create the root directory entry under "${storage.prefix}" (layout version ${LAYOUT_VERSION})`];
    if (!dryRun && !exists) await storage.ready();
    return { from: exists ? LAYOUT_VERSION : null, to: LAYOUT_VERSION, steps, applied: !dryRun && !exists };
  });
}

/** Options of {@link gcS3Url}. */
export interface S3GcUrlOptions extends S3UrlOptions, Omit<StoreGcOptions, 'cwd'> {}

/** What {@link gcS3Url} collected: {@link GcResult} with the totals of its progress. */
export interface S3GcUrlResult extends GcResult, StoreGcResult {}

/**
 * Runs `gc` (see `S3Storage.gc` and the README's Garbage) on the filesystem the URL names
 * (`prefix/namespace/`), reporting progress to `onProgress`. Objects younger than `minAgeMs`
 * (default 15 minutes) are kept.
 * @throws {VfsError} `not-found` when no filesystem lives there (one is never created by gc) or the
 * bucket does not exist
 */
export async function gcS3Url(url: string | StoreUrl, options: S3GcUrlOptions = {}): Promise<S3GcUrlResult> {
  const { cwd, minAgeMs, onProgress, ...overrides } = options;
  const parsed = expectStoreUrl(url, 's3', { cwd });
  return administer(parsed, storageOptions(parsed, overrides), async (storage) => {
    if (!(await hasRoot(storage.client, storage.bucket, storage.prefix))) {
      throw new VfsError(
        'not-found',
        `store URL ${JSON.stringify(parsed.href)}: no filesystem under "${storage.prefix}"; gc collects one filesystem, name it with #namespace`,
      );
    }
    let last: GcProgress | undefined;
    const result = await storage.gc({
      minAgeMs,
      onProgress: (progress) => {
        last = progress;
        onProgress?.(progress);
      },
    });
    return { ...result, examined: last?.examined ?? 0, deleted: last?.deleted ?? 0, bytes: last?.bytes ?? 0 };
  });
}

/** The S3 backend's {@link StoreBackend}: `s3://`, with `gc`. */
export const s3Store: StoreBackend = {
  schemes: ['s3'],
  open: (url, options) => openS3Url(url, options),
  bridgeSpec: (url, options) => s3BridgeSpec(url, options),
  drop: (url, options) => dropS3Url(url, options),
  namespaces: (url, options) => s3Namespaces(url, options),
  migrate: (url, options) => migrateS3Url(url, options),
  gc: (url, options) => gcS3Url(url, options),
};
