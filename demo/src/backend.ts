import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseStoreUrl, type StoreBackend, type VfsStorage, type VfsSyncStorage } from '@eryx/vfs-core';
import { createSyncBridge } from '@eryx/vfs-core/bridge';
import { postgresStore } from '@eryx/vfs-postgres';
import { s3Store } from '@eryx/vfs-s3';
import { openSqliteUrl } from '@eryx/vfs-sqlite';

/** A storage for one execution, and how to let go of it afterwards. */
export interface DemoStorage {
  /** What the demo prints about where files live: the store URL, password redacted. */
  description: string;
  storage: VfsSyncStorage | VfsStorage;
  close(): Promise<void>;
}

/** The asynchronous backends, which the WASI host reaches through the sync bridge. */
const BRIDGED: readonly StoreBackend[] = [postgresStore, s3Store];

/**
 * The store URL the demo uses, from the environment:
 * - `VFS_STORE_URL`, any store URL (`sqlite:./notes.db#me`, `postgres://…#me`, `s3://bucket?…#me`);
 * - else `VFS_POSTGRES_URL` (a connection string), namespace `VFS_NAMESPACE` (default `demo`);
 * - else `VFS_S3_ENDPOINT`: bucket `VFS_S3_BUCKET` (default `vfs-demo`), region `VFS_S3_REGION`,
 *   `VFS_S3_ACCESS_KEY_ID` / `VFS_S3_SECRET_ACCESS_KEY` (default `S3RVER`), key prefix `VFS_NAMESPACE`;
 * - else the embedded default, SQLite in `demo.db` of `VFS_DEMO_DIR` (default `./.eryx-demo`).
 */
export function demoStoreUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VFS_STORE_URL) return env.VFS_STORE_URL;
  const namespace = `#${encodeURIComponent(env.VFS_NAMESPACE ?? 'demo')}`;
  if (env.VFS_POSTGRES_URL) return env.VFS_POSTGRES_URL + namespace;
  if (env.VFS_S3_ENDPOINT) {
    // Only what would end or split a parameter is encoded, so the printed URL stays readable.
    const params = Object.entries({
      endpoint: env.VFS_S3_ENDPOINT,
      region: env.VFS_S3_REGION ?? 'us-east-1',
      forcePathStyle: 'true',
      accessKeyId: env.VFS_S3_ACCESS_KEY_ID ?? 'S3RVER',
      secretAccessKey: env.VFS_S3_SECRET_ACCESS_KEY ?? 'S3RVER',
    }).map(([name, value]) => `${name}=${value.replace(/[%&#+\s]/g, encodeURIComponent)}`);
    return `s3://${env.VFS_S3_BUCKET ?? 'vfs-demo'}?${params.join('&')}${namespace}`;
  }
  const file = join(resolve(env.VFS_DEMO_DIR ?? '.eryx-demo'), 'demo.db');
  return `sqlite:${file.replace(/[%?#]/g, encodeURIComponent)}${namespace}`;
}

/**
 * The one place that opens the demo's store, named by {@link demoStoreUrl}: SQLite directly (it
 * answers synchronously), PostgreSQL and S3 through the sync bridge. Each call opens a new storage
 * object on the same store, so a second execution finds what the first one wrote only because the
 * backend kept it.
 */
export function openDemoStorage(env: NodeJS.ProcessEnv = process.env): DemoStorage {
  const url = parseStoreUrl(demoStoreUrl(env));
  if (url.scheme === 'sqlite') {
    if (url.path !== ':memory:') mkdirSync(dirname(url.path), { recursive: true });
    const storage = openSqliteUrl(url);
    return { description: url.href, storage, close: () => storage.close() };
  }
  const backend = BRIDGED.find((b) => b.schemes.includes(url.scheme));
  if (!backend) {
    throw new Error(
      `${url.href}: a ${url.scheme} store does not outlive one execution; use sqlite:, postgres:// or s3://`,
    );
  }
  const bridge = createSyncBridge(backend.bridgeSpec(url));
  return {
    description: `${url.href}, through the sync bridge`,
    storage: bridge,
    close: async () => bridge.close(),
  };
}
