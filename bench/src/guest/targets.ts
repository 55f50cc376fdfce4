import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PostgresServer, type S3TestServer, startPostgres, startS3 } from '@eryx/test-servers';
import type { StoreBackend } from '@eryx/vfs-core';
import { createSyncBridge } from '@eryx/vfs-core/bridge';
import { memory } from '@eryx/vfs-memory';
import { postgresStore } from '@eryx/vfs-postgres';
import { s3Store } from '@eryx/vfs-s3';
import { openSqliteUrl } from '@eryx/vfs-sqlite';
import { p2shimDiskTarget, p2shimMemoryTarget } from './baselines.js';
import { type GuestTarget, hostSession } from './session.js';

/*
 * Every target the guest runs on: the backends through createWasiHost, mounted at /data (memory
 * and SQLite directly, PostgreSQL and S3 through createSyncBridge), then the baselines; which of
 * them are compared, and which BENCH_BACKENDS selects.
 */

/** `normal` (the backend's default) or `full`, as for the storage-level bench: BENCH_SQLITE_SYNCHRONOUS. */
export const SQLITE_SYNCHRONOUS = process.env.BENCH_SQLITE_SYNCHRONOUS === 'full' ? 'full' : 'normal';

function memoryTarget(): GuestTarget {
  return {
    name: 'memory',
    gated: true,
    async open() {
      // Unlimited, which a store URL's maxBytes cannot say.
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
      const storage = openSqliteUrl(`sqlite:${join(dir, 'vfs.db')}?synchronous=${synchronous}`);
      return hostSession(name, storage.sync!, async () => {
        await storage.close();
        rmSync(dir, { recursive: true, force: true });
      });
    },
  };
}

/**
 * A backend behind the sync bridge, on a server started once: each session is a new store (a
 * namespace or key prefix of its own), dropped when the session closes.
 */
function bridgedTarget(
  name: string,
  backend: StoreBackend,
  start: () => Promise<PostgresServer | S3TestServer>,
): GuestTarget {
  let server: ReturnType<typeof start> | undefined;
  return {
    name,
    async open() {
      server ??= start();
      const url = (await server).storeUrl(`bench-guest-${process.pid}-${Date.now()}`);
      const bridge = createSyncBridge(backend.bridgeSpec(url));
      return hostSession(name, bridge, async () => {
        bridge.close();
        await backend.drop(url);
      });
    },
    async serverEnv() {
      server ??= start();
      return (await server).env;
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
  bridgedTarget('postgres', postgresStore, startPostgres),
  bridgedTarget('s3', s3Store, startS3),
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
