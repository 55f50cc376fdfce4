import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VfsStorage, VfsSyncStorage } from '@eryx/vfs-core';
import { createSyncBridge } from '@eryx/vfs-core/bridge';
import { sqlite } from '@eryx/vfs-sqlite';

/** A storage for one execution, and how to let go of it afterwards. */
export interface DemoStorage {
  /** What the demo prints about where files live. */
  description: string;
  storage: VfsSyncStorage | VfsStorage;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
/** A module URL the bridge's worker can import whatever the package layout. */
const moduleUrl = (specifier: string) => pathToFileURL(require.resolve(specifier)).href;

/**
 * The one place that picks the backend, from the environment:
 * - `VFS_POSTGRES_URL`: PostgreSQL, through the sync bridge (namespace `VFS_NAMESPACE`, default `demo`);
 * - `VFS_S3_ENDPOINT`: S3, through the sync bridge (bucket `VFS_S3_BUCKET`, prefix `VFS_NAMESPACE/`);
 * - otherwise the embedded default, SQLite in `./.eryx-demo/demo.db`.
 * Each call opens a new storage object on the same store, so a second execution finds what the
 * first one wrote only because the backend kept it.
 */
export function openDemoStorage(env: NodeJS.ProcessEnv = process.env): DemoStorage {
  const namespace = env.VFS_NAMESPACE ?? 'demo';
  if (env.VFS_POSTGRES_URL) {
    const bridge = createSyncBridge({
      module: moduleUrl('@eryx/vfs-postgres'),
      export: 'postgres',
      options: { connectionString: env.VFS_POSTGRES_URL, namespace },
    });
    return {
      description: `PostgreSQL (namespace "${namespace}") through the sync bridge`,
      storage: bridge,
      close: async () => bridge.close(),
    };
  }
  if (env.VFS_S3_ENDPOINT) {
    const bucket = env.VFS_S3_BUCKET ?? 'vfs-demo';
    const bridge = createSyncBridge({
      module: moduleUrl('@eryx/vfs-s3'),
      export: 's3',
      options: {
        endpoint: env.VFS_S3_ENDPOINT,
        region: env.VFS_S3_REGION ?? 'us-east-1',
        credentials: {
          accessKeyId: env.VFS_S3_ACCESS_KEY_ID ?? 'S3RVER',
          secretAccessKey: env.VFS_S3_SECRET_ACCESS_KEY ?? 'S3RVER',
        },
        forcePathStyle: true,
        bucket,
        prefix: `${namespace}/`,
      },
    });
    return {
      description: `S3 at ${env.VFS_S3_ENDPOINT} (bucket "${bucket}", prefix "${namespace}/") through the sync bridge`,
      storage: bridge,
      close: async () => bridge.close(),
    };
  }
  const dir = resolve(env.VFS_DEMO_DIR ?? '.eryx-demo');
  mkdirSync(dir, { recursive: true });
  const path = resolve(dir, 'demo.db');
  const storage = sqlite({ path, namespace });
  return {
    description: `SQLite in ${path} (namespace "${namespace}")`,
    storage,
    close: () => storage.close(),
  };
}
