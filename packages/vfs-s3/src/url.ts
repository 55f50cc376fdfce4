import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  expectStoreUrl,
  isVfsError,
  type ParseStoreUrlOptions,
  type S3StoreUrl,
  type StoreBackend,
  type StoreUrl,
  storeOptions,
  VfsError,
  type VfsStorage,
} from '@eryx/vfs-core';
import type { SyncBridgeSpec } from '@eryx/vfs-core/bridge';
import { openS3, type S3StorageOptions, s3 } from './index.js';

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

/** The S3 backend's {@link StoreBackend}: `s3://`. */
export const s3Store: StoreBackend = {
  schemes: ['s3'],
  open: (url, options) => openS3Url(url, options),
  bridgeSpec: (url, options) => s3BridgeSpec(url, options),
  drop: (url, options) => dropS3Url(url, options),
};
