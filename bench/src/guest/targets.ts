import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { startPostgres, startS3 } from '@eryx/test-servers';
import { createSyncBridge } from '@eryx/vfs-core/bridge';
import { memory } from '@eryx/vfs-memory';
import { postgres } from '@eryx/vfs-postgres';
import { sqlite } from '@eryx/vfs-sqlite';
import { dropPrefix } from '../s3-prefix.js';
import { p2shimDiskTarget, p2shimMemoryTarget } from './baselines.js';
import { type GuestTarget, hostSession } from './session.js';

/*
 * Every target the guest runs on: the backends through createWasiHost, mounted at /data (memory
 * and SQLite directly, PostgreSQL and S3 through createSyncBridge), then the baselines; which of
 * them are compared, and which BENCH_BACKENDS selects.
 */

const require = createRequire(import.meta.url);
/** A module URL the bridge's worker can import whatever the package layout. */
const moduleUrl = (specifier: string) => pathToFileURL(require.resolve(specifier)).href;

/** `normal` (the backend's default) or `full`, as for the storage-level bench: BENCH_SQLITE_SYNCHRONOUS. */
export const SQLITE_SYNCHRONOUS = process.env.BENCH_SQLITE_SYNCHRONOUS === 'full' ? 'full' : 'normal';

function memoryTarget(): GuestTarget {
  return {
    name: 'memory',
    gated: true,
    async open() {
      const storage = memory({ maxBytes: Number.POSITIVE_INFINITY });
      return hostSession('memory', storage.sync!, () => storage.close());
    },
  };
}

function sqliteTarget(name: string, synchronous: 'full' | 'normal'): GuestTarget {
  return {
    name,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'eryx-bench-guest-sqlite-'));
      const storage = sqlite({ path: join(dir, 'vfs.db'), synchronous });
      return hostSession(name, storage.sync!, async () => {
        await storage.close();
        rmSync(dir, { recursive: true, force: true });
      });
    },
  };
}

function postgresTarget(): GuestTarget {
  let server: ReturnType<typeof startPostgres> | undefined;
  return {
    name: 'postgres',
    async open() {
      server ??= startPostgres();
      const { url } = await server;
      const namespace = `bench-guest-${process.pid}-${Date.now()}`;
      const options = { connectionString: url, namespace };
      const bridge = createSyncBridge({
        module: moduleUrl('@eryx/vfs-postgres'),
        export: 'postgres',
        options,
      });
      return hostSession('postgres', bridge, async () => {
        bridge.close();
        await postgres(options).destroy();
      });
    },
    async serverEnv() {
      server ??= startPostgres();
      return { VFS_POSTGRES_URL: (await server).url };
    },
    async shutdown() {
      if (server) await (await server).stop();
      server = undefined;
    },
  };
}

function s3Target(): GuestTarget {
  let server: ReturnType<typeof startS3> | undefined;
  return {
    name: 's3',
    async open() {
      server ??= startS3();
      const info = await server;
      const connection = {
        endpoint: info.endpoint,
        region: info.region,
        credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
        forcePathStyle: true,
      };
      const prefix = `bench-guest-${process.pid}-${Date.now()}/`;
      const bridge = createSyncBridge({
        module: moduleUrl('@eryx/vfs-s3'),
        export: 's3',
        options: { ...connection, bucket: info.bucket, prefix },
      });
      return hostSession('s3', bridge, async () => {
        bridge.close();
        const client = new S3Client(connection);
        try {
          await dropPrefix(client, info.bucket, prefix);
        } finally {
          client.destroy();
        }
      });
    },
    async serverEnv() {
      server ??= startS3();
      const info = await server;
      return {
        VFS_S3_ENDPOINT: info.endpoint,
        VFS_S3_REGION: info.region,
        VFS_S3_ACCESS_KEY_ID: info.accessKeyId,
        VFS_S3_SECRET_ACCESS_KEY: info.secretAccessKey,
        VFS_S3_BUCKET: info.bucket,
      };
    },
    async shutdown() {
      if (server) await (await server).stop();
      server = undefined;
    },
  };
}

/** Every target, backends first, then the baselines. */
export const guestTargets: readonly GuestTarget[] = [
  memoryTarget(),
  sqliteTarget('sqlite', SQLITE_SYNCHRONOUS),
  // The same with synchronous=full, for what it costs: every write is an fsynced commit (the
  // baseline never fsyncs, and the guest never asks for it in these phases).
  ...(SQLITE_SYNCHRONOUS === 'full' ? [] : [sqliteTarget('sqlite-full', 'full')]),
  postgresTarget(),
  s3Target(),
  p2shimMemoryTarget('p2shim-memory'),
  // The same baseline again, compared with itself: what the memory comparison's ratios look like
  // when the two sides are the same code (run when BENCH_BACKENDS names it).
  { ...p2shimMemoryTarget('p2shim-memory-again'), optIn: true },
  p2shimDiskTarget(),
];

/** The targets' names, backends first, then the baselines. */
export const GUEST_TARGETS = guestTargets.map((t) => t.name);

/**
 * Which baseline each target ratio compares with, and the largest time ratio that meets it (none:
 * the ratio is shown for information).
 */
export const GUEST_TARGET_RATIOS: readonly { target: string; baseline: string; max?: number }[] = [
  { target: 'memory', baseline: 'p2shim-memory', max: 1 },
  { target: 'sqlite', baseline: 'p2shim-disk', max: 3 },
  { target: 'sqlite-full', baseline: 'p2shim-disk' },
  { target: 'p2shim-memory-again', baseline: 'p2shim-memory' },
];

/**
 * The targets `BENCH_BACKENDS` selects (every one but the opt-in ones when it is not set): the named
 * ones, plus the baseline of each named backend that has a target ratio, so that the ratio can be
 * computed.
 */
export function selectGuestTargets(only: string[] | undefined): string[] {
  if (!only) return guestTargets.filter((t) => !t.optIn).map((t) => t.name);
  // sqlite-full is a variant of sqlite.
  const named = only.includes('sqlite') ? [...only, 'sqlite-full'] : only;
  const baselines = GUEST_TARGET_RATIOS.filter((r) => named.includes(r.target)).map((r) => r.baseline);
  return GUEST_TARGETS.filter((name) => named.includes(name) || baselines.includes(name));
}
