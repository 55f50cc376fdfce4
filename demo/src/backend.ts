import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseStoreUrl } from '@eryx/vfs-core';

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

/** The demo's store: the URL each execution mounts at `/data`, and how to print it. */
export interface DemoStore {
  url: string;
  /** The store URL with any password redacted. */
  href: string;
  /** The store URL, password redacted, and how the guest reaches it. */
  description: string;
}

/**
 * The store named by {@link demoStoreUrl}, checked: `memory:` is refused (it does not outlive an
 * execution), and the directory of a SQLite file is created. `run` opens it anew for every
 * execution, so a second execution finds what the first one wrote only because the backend kept it:
 * SQLite directly (it answers synchronously), PostgreSQL and S3 through the sync bridge.
 */
export function demoStore(env: NodeJS.ProcessEnv = process.env): DemoStore {
  const url = demoStoreUrl(env);
  const parsed = parseStoreUrl(url);
  if (parsed.scheme === 'memory') {
    throw new Error(
      `${parsed.href}: a memory store does not outlive one execution; use sqlite:, postgres:// or s3://`,
    );
  }
  if (parsed.scheme === 'sqlite') {
    if (parsed.path !== ':memory:') mkdirSync(dirname(parsed.path), { recursive: true });
    return { url, href: parsed.href, description: parsed.href };
  }
  return { url, href: parsed.href, description: `${parsed.href}, through the sync bridge` };
}
