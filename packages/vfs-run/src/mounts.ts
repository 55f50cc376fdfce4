import { resolve } from 'node:path';
import {
  hostDirectory,
  normalizePath,
  parseStoreUrl,
  type StoreBackend,
  type StoreScheme,
  VfsError,
  type VfsStorage,
  type VfsSyncStorage,
} from '@eryx/vfs-core';
import { type StorageServer, serveStorage } from '@eryx/vfs-core/bridge';
import type { MountDescriptor } from './protocol.js';

/**
 * Where a mount's files live:
 * - a store URL: `sqlite:./state.db#user-42`, `postgres://…#ns`, `s3://…#ns`, or `memory:` (a new,
 *   empty store for this run only);
 * - `host:<dir>` or `host:<dir>:ro`: a host directory (read-only with `:ro`);
 * - a storage object (`VfsStorage` or `VfsSyncStorage`) the caller keeps, e.g. a `memory()` store
 *   it reads afterwards.
 */
export type RunMountSource = string | VfsStorage | VfsSyncStorage;

/** A mount: its source, or its source with options. */
export type RunMount = RunMountSource | { source: RunMountSource; readOnly?: boolean };

/** Backends opened directly by the worker (they answer synchronously); the others are bridged. */
const SYNC_SCHEMES: ReadonlySet<StoreScheme> = new Set(['memory', 'sqlite']);

const BACKEND_PACKAGES: Record<StoreScheme, { module: string; export: string }> = {
  memory: { module: '@eryx/vfs-memory', export: 'memoryStore' },
  sqlite: { module: '@eryx/vfs-sqlite', export: 'sqliteStore' },
  postgres: { module: '@eryx/vfs-postgres', export: 'postgresStore' },
  s3: { module: '@eryx/vfs-s3', export: 's3Store' },
};

/** The backend of a scheme: from `stores`, else the `@eryx/vfs-<scheme>` package if installed. */
async function backendFor(
  scheme: StoreScheme,
  stores: readonly StoreBackend[] | undefined,
  guestPath: string,
) {
  const given = stores?.find((backend) => backend.schemes.includes(scheme));
  if (given) return given;
  const { module, export: name } = BACKEND_PACKAGES[scheme];
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(module)) as Record<string, unknown>;
  } catch (error) {
    throw new VfsError(
      'unsupported',
      `mount ${guestPath}: a ${scheme} store needs ${module}: install it, or pass its ${name} in options.stores`,
      { cause: error },
    );
  }
  const backend = loaded[name] as StoreBackend | undefined;
  if (!backend?.schemes?.includes(scheme)) {
    throw new VfsError('unsupported', `mount ${guestPath}: ${module} has no ${name} store backend`);
  }
  return backend;
}

function isStorage(value: unknown): value is VfsStorage | VfsSyncStorage {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as VfsSyncStorage).readAt === 'function' &&
    typeof (value as VfsSyncStorage).capabilities === 'object'
  );
}

/** Options of {@link describeMounts}. */
export interface MountOptions {
  stores?: readonly StoreBackend[];
  /** What relative `sqlite:` and `host:` paths are relative to. */
  cwd: string;
}

/** The descriptors of the mounts, and the servers of the storage objects among them. */
export interface DescribedMounts {
  descriptors: MountDescriptor[];
  servers: StorageServer[];
}

/**
 * Turns the run's mounts into what the worker rebuilds: checked here, so that a bad mount fails
 * the run before any worker is involved.
 */
export async function describeMounts(
  mounts: Record<string, RunMount>,
  options: MountOptions,
): Promise<DescribedMounts> {
  if (typeof mounts !== 'object' || mounts === null) {
    throw new VfsError('invalid-argument', 'mounts must be an object: guest path -> mount');
  }
  const descriptors: MountDescriptor[] = [];
  const servers: StorageServer[] = [];
  try {
    for (const [key, mount] of Object.entries(mounts)) {
      let guestPath: string;
      try {
        guestPath = normalizePath(key);
      } catch (error) {
        throw new VfsError('invalid-path', `mount ${JSON.stringify(key)}: a guest path must be absolute`, {
          path: key,
          cause: error,
        });
      }
      const withOptions =
        typeof mount === 'object' && mount !== null && 'source' in mount && !isStorage(mount);
      const source = withOptions ? mount.source : mount;
      const readOnly = withOptions ? mount.readOnly : undefined;
      descriptors.push(await describe(guestPath, source, readOnly, options, servers));
    }
  } catch (error) {
    for (const server of servers) server.close();
    throw error;
  }
  return { descriptors, servers };
}

async function describe(
  guestPath: string,
  source: RunMountSource,
  readOnly: boolean | undefined,
  options: MountOptions,
  servers: StorageServer[],
): Promise<MountDescriptor> {
  if (isStorage(source)) {
    const server = serveStorage(source);
    servers.push(server);
    const declared = (source as { readOnly?: unknown }).readOnly === true;
    return {
      kind: 'served',
      guestPath,
      label: 'a storage object',
      channel: server.channel,
      readOnly: readOnly ?? declared,
    };
  }
  if (typeof source !== 'string') {
    throw new VfsError(
      'invalid-argument',
      `mount ${guestPath}: expected a store URL, "host:<dir>[:ro]", a storage object or { source, readOnly }`,
    );
  }
  if (source.startsWith('host:')) {
    let dir = source.slice('host:'.length);
    let hostReadOnly = false;
    if (dir.endsWith(':ro')) {
      dir = dir.slice(0, -3);
      hostReadOnly = true;
    } else if (dir.endsWith(':rw')) {
      dir = dir.slice(0, -3);
    }
    if (dir === '')
      throw new VfsError('invalid-argument', `mount ${guestPath}: "${source}" names no directory`);
    // Checked here (it exists, it is a directory), rebuilt in the worker.
    const checked = hostDirectory(resolve(options.cwd, dir));
    const effective = readOnly ?? hostReadOnly;
    return { kind: 'host', guestPath, label: source, dir: checked.root, readOnly: effective };
  }
  let url: ReturnType<typeof parseStoreUrl>;
  try {
    url = parseStoreUrl(source, { cwd: options.cwd });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new VfsError('invalid-argument', `mount ${guestPath}: ${message} (or use "host:<dir>[:ro]")`, {
      cause: error,
    });
  }
  const backend = await backendFor(url.scheme, options.stores, guestPath);
  const spec = backend.bridgeSpec(url, { cwd: options.cwd });
  const kind = SYNC_SCHEMES.has(url.scheme) ? 'direct' : 'bridge';
  return {
    kind,
    guestPath,
    label: url.href,
    spec: { ...spec, module: String(spec.module) },
    ...(readOnly === undefined ? {} : { readOnly }),
  };
}
