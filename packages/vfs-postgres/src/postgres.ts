import {
  baseName,
  type Capabilities,
  checkCreate,
  checkDelete,
  checkExistingDirectory,
  checkExistingFile,
  checkExists,
  checkFileTarget,
  checkIfFile,
  checkLink,
  checkMkdir,
  checkReadlink,
  checkRename,
  checkRmdir,
  checkSymlink,
  chunkPieces,
  coalesceExtents,
  createStorage,
  type DirEntry,
  exactNs,
  type FileIdentity,
  type FileKind,
  type Kind,
  type Metadata,
  parentPath,
  readRange,
  type SetTimes,
  type StorageLimits,
  storedTime,
  type VfsDriver,
  VfsError,
  type VfsStorage,
} from '@eryx/vfs-core';
import pg from 'pg';
import { isConnectionLoss, isRetryable, translateError } from './errors.js';
import { LOCK_MIGRATE, migrationSql, migrationSteps, SCHEMA_VERSION } from './schema.js';

/** Where to find the database: a `pg.Pool` you own, or plain (serializable) connection options. */
export interface PostgresConnectionOptions {
  /**
   * A pool to use. The storage never ends it; give it an `error` listener (idle connections the
   * server drops are reported there). Takes precedence over `connectionString` and `poolConfig`.
   */
  pool?: pg.Pool;
  /** `postgres://user:password@host:port/database`; the storage creates (and ends) its own pool. */
  connectionString?: string;
  /**
   * More options of the pool the storage creates (`max`, `ssl`, `host`, ...), plain data.
   * Default: `max: 10`, `connectionTimeoutMillis: 10000`.
   */
  poolConfig?: pg.PoolConfig;
  /** The PostgreSQL schema holding the tables and functions: a plain identifier. Default `public`. */
  schema?: string;
}

/** Options of {@link postgres}. Everything but `pool` is plain data, so a worker can rebuild it. */
export interface PostgresOptions extends PostgresConnectionOptions {
  /** The independent filesystem within the database this storage works on. Default `default`. */
  namespace?: string;
  /**
   * Bytes per chunk, fixed when the namespace is created; an existing namespace keeps its own (a
   * different explicit value fails every operation with `invalid-argument`). Default
   * {@link DEFAULT_CHUNK_SIZE}.
   */
  chunkSize?: number;
  /**
   * Limits enforced in the same transaction as each change, so they hold across every client of the
   * namespace: `maxBytes`, `maxFiles` and `maxFileSize` (`quota-exceeded`), `maxPathLength`
   * (`name-too-long`), with the semantics of {@link StorageLimits} (names count in `maxBytes`).
   * Checked against the namespace's usage row, whatever the namespace's size; growing operations
   * serialize on that row. Default: none.
   */
  limits?: StorageLimits;
  /**
   * Bring the schema up to date ({@link migrate}) before the first operation. When `false` and the
   * schema is missing or outdated, operations fail with an `io` error that says so. Default `true`.
   */
  migrate?: boolean;
  /** How often an operation is retried after a serialization failure or deadlock. Default 10. */
  maxRetries?: number;
}

/** What {@link PostgresStorage.info} reports about the namespace. */
export interface NamespaceInfo {
  /** The namespace name. */
  namespace: string;
  /** Bytes per stored chunk. */
  chunkSize: number;
  /** Number of files, symbolic links included (directories not counted), each once whatever its names. */
  files: number;
  /**
   * The usage `limits.maxBytes` bounds: the sum of all file sizes (logical: a sparse gap counts) and
   * link targets' UTF-8 bytes, each file once, plus the UTF-8 bytes of the name of every entry but
   * the root (every hard link's too).
   */
  bytes: number;
}

/** A {@link VfsStorage} on PostgreSQL, with what is specific to it. */
export interface PostgresStorage extends VfsStorage {
  /** The namespace this storage works on. */
  readonly namespace: string;
  /** The PostgreSQL schema of its tables. */
  readonly schema: string;
  /** Usage of the namespace, read from its usage row in one query. */
  info(): Promise<NamespaceInfo>;
  /** Deletes every entry of the namespace, in one transaction, then closes the storage. */
  destroy(): Promise<void>;
}

/**
 * 64 KiB: a random 4 KiB write rewrites one chunk of at most this size, while large files stay at
 * 16 rows per MiB and a read of a whole chunk is one TOAST fetch. Chunks are stored uncompressed
 * (`STORAGE EXTERNAL`), so a small `readAt` fetches only the slices it covers.
 */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

const CAPABILITIES: Partial<Capabilities> = {
  nativeAppend: true,
  exclusiveCreate: true,
  atomicRename: true,
  atomicDirectoryRename: true,
  persistent: true,
  multiProcess: true,
  nativeIfFile: true,
  symlinks: true,
  nanosecondTimes: true,
  hardLinks: true,
};

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const OPTION_NAMES = new Set([
  'pool',
  'connectionString',
  'poolConfig',
  'schema',
  'namespace',
  'chunkSize',
  'limits',
  'migrate',
  'maxRetries',
]);

const now = (): number => performance.timeOrigin + performance.now();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const EMPTY = new Uint8Array(0);

/** Runs one statement in the current transaction (see `transaction`). */
type Run = <R extends pg.QueryResultRow>(op: string, text: string, values: unknown[]) => Promise<R[]>;

/** What every status-returning function yields: `st` is 'ok', 'check' or 'quota'. */
interface Status {
  st: 'ok' | 'check' | 'quota' | 'name-too-long';
  k1: FileKind | null;
  k2?: FileKind | null;
  k3?: FileKind | null;
  n?: string | null;
}

const kind = (k: FileKind | null | undefined): Kind => k ?? undefined;

function invalid(message: string): VfsError {
  return new VfsError('invalid-argument', message);
}

function optionalCount(value: number | undefined, name: string): number | null {
  if (value === undefined) return null;
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalid(`limits.${name} must be a non-negative safe integer`);
  return value;
}

function checkSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema))
    throw invalid(`schema must be a plain identifier, got ${JSON.stringify(schema)}`);
  return schema;
}

/** Where a pool connects, for error messages (never the password). */
function describeServer(options: PostgresConnectionOptions): string {
  const config = options.pool?.options ?? {
    ...options.poolConfig,
    connectionString: options.connectionString,
  };
  if (config.connectionString) {
    try {
      const url = new URL(config.connectionString);
      return `${url.hostname || 'localhost'}:${url.port || 5432}${url.pathname}`;
    } catch {
      return 'the configured server';
    }
  }
  return `${config.host ?? process.env.PGHOST ?? 'localhost'}:${config.port ?? process.env.PGPORT ?? 5432}`;
}

function openPool(options: PostgresConnectionOptions): { pool: pg.Pool; owned: boolean } {
  if (options.pool) return { pool: options.pool, owned: false };
  if (!options.connectionString && !options.poolConfig) {
    throw invalid('postgres storage needs a pool, a connectionString or a poolConfig');
  }
  const pool = new pg.Pool({
    max: 10,
    connectionTimeoutMillis: 10_000,
    ...options.poolConfig,
    connectionString: options.connectionString ?? options.poolConfig?.connectionString,
  });
  // A dropped idle connection is reported here; the pool has already discarded it.
  pool.on('error', () => {});
  return { pool, owned: true };
}

/** Schemas known to be current, per pool, so storages sharing a pool check once. */
const migrated = new WeakMap<pg.Pool, Set<string>>();

async function schemaVersion(client: pg.PoolClient, schema: string): Promise<number> {
  const { rows } = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    `"${schema}".vfs_schema`,
  ]);
  if (!rows[0]?.present) return 0;
  const result = await client.query<{ v: number }>(
    `SELECT coalesce(max(version), 0)::integer AS v FROM "${schema}".vfs_schema`,
  );
  return result.rows[0]?.v ?? 0;
}

async function schemaPresent(client: pg.PoolClient, schema: string): Promise<boolean> {
  const { rows } = await client.query<{ present: boolean }>(
    'SELECT to_regnamespace($1) IS NOT NULL AS present',
    [`"${schema}"`],
  );
  return rows[0]?.present === true;
}

/** What a migration of a schema did (or, dry, would do): versions as in `vfs_schema`, 0 for none. */
export interface MigrationOutcome {
  from: number;
  to: number;
  steps: string[];
}

function newerSchemaError(schema: string, version: number): VfsError {
  return new VfsError(
    'unsupported',
    `schema "${schema}" has eryx-vfs schema version ${version}, newer than the ${SCHEMA_VERSION} this version of @eryx/vfs-postgres understands; upgrade @eryx/vfs-postgres`,
  );
}

async function runMigrations(
  pool: pg.Pool,
  schema: string,
  server: string,
  dryRun = false,
): Promise<MigrationOutcome> {
  let client: pg.PoolClient | undefined;
  let broken: unknown;
  try {
    client = await pool.connect();
    let from = await schemaVersion(client, schema);
    if (from > SCHEMA_VERSION) throw newerSchemaError(schema, from);
    if (from < SCHEMA_VERSION && dryRun) {
      return {
        from,
        to: SCHEMA_VERSION,
        steps: migrationSteps(schema, from, await schemaPresent(client, schema)),
      };
    }
    let steps: string[] = [];
    if (from < SCHEMA_VERSION) {
      await client.query('BEGIN');
      try {
        // Concurrent migrate() calls (other processes included) wait here, then find the work done.
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_MIGRATE, schema]);
        const present = await schemaPresent(client, schema);
        if (!present) await client.query(`CREATE SCHEMA "${schema}"`);
        from = await schemaVersion(client, schema);
        steps = migrationSteps(schema, from, present);
        await client.query(
          `CREATE TABLE IF NOT EXISTS "${schema}".vfs_schema (
             version integer PRIMARY KEY,
             applied timestamptz NOT NULL DEFAULT now()
           )`,
        );
        for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
          await client.query(migrationSql(version - 1, schema));
          await client.query(`INSERT INTO "${schema}".vfs_schema (version) VALUES ($1)`, [version]);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }
    const known = migrated.get(pool) ?? new Set<string>();
    migrated.set(pool, known.add(schema));
    return { from, to: SCHEMA_VERSION, steps };
  } catch (error) {
    broken = error;
    throw translateError(error, undefined, server);
  } finally {
    client?.release(broken instanceof Error && !(broken instanceof VfsError) ? broken : undefined);
  }
}

/**
 * Creates or updates the tables and functions in `schema` (default `public`) to the version this
 * package needs. Idempotent; concurrent calls, from any process, are serialized by an advisory lock.
 * Never drops data. Returns the version found and the version now in place.
 */
export async function migrate(options: PostgresConnectionOptions): Promise<{ from: number; to: number }> {
  const { from, to } = await migrateSchema(options);
  return { from, to };
}

/**
 * {@link migrate}, also saying what it did; with `dryRun`, what it would do, reading only (nothing
 * is created, not even the schema).
 */
export async function migrateSchema(
  options: PostgresConnectionOptions,
  dryRun = false,
): Promise<MigrationOutcome> {
  const schema = checkSchema(options.schema ?? 'public');
  const { pool, owned } = openPool(options);
  try {
    return await runMigrations(pool, schema, describeServer(options), dryRun);
  } finally {
    if (owned) await pool.end();
  }
}

/**
 * The namespaces in `schema`, sorted, with their usage rows (schema version 3 on; before it, names
 * only). `bytes` is as in {@link NamespaceInfo} (a schema of version 3, not yet migrated, reports file
 * sizes only). None when the schema holds no eryx-vfs tables. Only reads.
 * @throws {VfsError} `unsupported` for a newer schema version
 */
export async function listNamespaces(
  options: PostgresConnectionOptions,
): Promise<{ name: string; files?: number; bytes?: number }[]> {
  const schema = checkSchema(options.schema ?? 'public');
  const server = describeServer(options);
  const { pool, owned } = openPool(options);
  let client: pg.PoolClient | undefined;
  let broken: unknown;
  try {
    client = await pool.connect();
    const version = await schemaVersion(client, schema);
    if (version > SCHEMA_VERSION) throw newerSchemaError(schema, version);
    if (version === 0) return [];
    // The usage row arrived with version 3.
    const usage = version >= 3 ? ', files::float8 AS files, bytes::float8 AS bytes' : '';
    const { rows } = await client.query<{ name: string; files?: number; bytes?: number }>(
      `SELECT ns AS name${usage} FROM "${schema}".vfs_namespaces ORDER BY ns`,
    );
    return rows;
  } catch (error) {
    broken = error;
    throw translateError(error, undefined, server);
  } finally {
    client?.release(broken instanceof Error && !(broken instanceof VfsError) ? broken : undefined);
    if (owned) await pool.end();
  }
}

/**
 * A {@link VfsStorage} in PostgreSQL: entries in `vfs_entries`, file data in fixed-size chunks in
 * `vfs_chunks`, many independent namespaces per database. Every operation is one statement (a
 * server-side function for changes), hence one round trip and one transaction, except a
 * `writeExtents` of several runs: one transaction of five round trips (see `putRuns`).
 *
 * ```ts
 * const storage = postgres({ connectionString: process.env.DATABASE_URL, namespace: 'sandbox-1' });
 * await storage.write('/hello.txt', new TextEncoder().encode('hi'));
 * ```
 */
export function postgres(options: PostgresOptions = {}): PostgresStorage {
  // Options often arrive as plain data (from a worker, a config file): a misspelt one must not
  // silently select the default namespace.
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) throw invalid(`unknown option ${JSON.stringify(name)}`);
  }
  const schema = checkSchema(options.schema ?? 'public');
  const namespace = options.namespace ?? 'default';
  if (typeof namespace !== 'string' || namespace === '')
    throw invalid('namespace must be a non-empty string');
  const requestedChunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(requestedChunkSize) || requestedChunkSize < 512 || requestedChunkSize > 1 << 26) {
    throw invalid('chunkSize must be an integer between 512 and 64 MiB');
  }
  const limits = options.limits ?? {};
  const maxBytes = optionalCount(limits.maxBytes, 'maxBytes');
  const maxFiles = optionalCount(limits.maxFiles, 'maxFiles');
  const maxFileSize = optionalCount(limits.maxFileSize, 'maxFileSize');
  const maxPathLength = optionalCount(limits.maxPathLength, 'maxPathLength');
  const declared: StorageLimits | undefined =
    maxBytes === null && maxFiles === null && maxFileSize === null && maxPathLength === null
      ? undefined
      : Object.fromEntries(
          Object.entries({ maxBytes, maxFiles, maxFileSize, maxPathLength }).filter(([, v]) => v !== null),
        );
  const maxRetries = options.maxRetries ?? 10;
  const server = describeServer(options);
  const { pool, owned } = openPool(options);
  const s = `"${schema}"`;
  const key = (op: string) => `eryx_vfs_${schema}_${op}`;

  let chunkSize = requestedChunkSize;
  let ready: Promise<void> | undefined;

  async function init(): Promise<void> {
    if (options.migrate !== false && !migrated.get(pool)?.has(schema)) {
      await runMigrations(pool, schema, server);
    }
    const { rows } = await pool.query<{ cs: number }>(`SELECT ${s}.vfs_open($1, $2, $3) AS cs`, [
      namespace,
      requestedChunkSize,
      now(),
    ]);
    const stored = rows[0]!.cs;
    if (options.chunkSize !== undefined && options.chunkSize !== stored) {
      throw invalid(
        `namespace ${JSON.stringify(namespace)} was created with chunkSize ${stored}, not ${options.chunkSize}`,
      );
    }
    chunkSize = stored;
  }

  /** Resolves once the schema is current and the namespace open (once per storage). */
  function opened(): Promise<void> {
    ready ??= init().catch((error) => {
      ready = undefined;
      throw error;
    });
    return ready;
  }

  /**
   * Runs one statement: retries serialization failures and deadlocks (and, for reads only, lost
   * connections: a change might have committed before its connection broke), translates every error.
   */
  async function query<R extends pg.QueryResultRow>(
    op: string,
    text: string,
    values: unknown[],
    path?: string,
    readOnly = false,
  ): Promise<R[]> {
    try {
      await opened();
      for (let attempt = 0; ; attempt++) {
        try {
          return (await pool.query<R>({ name: key(op), text, values })).rows;
        } catch (error) {
          const retry = isRetryable(error) || (readOnly && isConnectionLoss(error));
          if (!retry || attempt >= maxRetries) throw error;
          await sleep(Math.random() * Math.min(100, 2 ** attempt));
        }
      }
    } catch (error) {
      throw translateError(error, path, server);
    }
  }

  /** Throws the error the core check makes of the kinds a function saw, or a quota error. */
  function fail(path: string, status: Status, check: () => void): never {
    if (status.st === 'name-too-long') {
      throw new VfsError(
        'name-too-long',
        `a path would be ${status.n} bytes long, the limit is ${maxPathLength}`,
        { path },
      );
    }
    if (status.st === 'quota') {
      // k1 is the limit; n the file's size for maxFileSize, else what the namespace would hold.
      const limit = status.k1 as string;
      const message =
        limit === 'maxFileSize'
          ? `file size ${status.n} exceeds the limit of ${maxFileSize} bytes`
          : limit === 'maxFiles'
            ? `the namespace would hold ${status.n} files, the limit is ${maxFiles}`
            : `the namespace would hold ${status.n} bytes (names included), the limit is ${maxBytes}`;
      throw new VfsError('quota-exceeded', message, { path });
    }
    check();
    throw new VfsError('io', `the database refused the operation but the contract allows it`, { path });
  }

  /**
   * Runs `fn` in one transaction on a connection of its own (BEGIN, its statements, COMMIT); a
   * serialization failure or deadlock runs it all again. Translates every error.
   */
  async function transaction<T>(path: string, fn: (run: Run) => Promise<T>): Promise<T> {
    try {
      await opened();
      for (let attempt = 0; ; attempt++) {
        const client = await pool.connect();
        let lost: unknown;
        try {
          await client.query('BEGIN');
          const result = await fn(
            async <R extends pg.QueryResultRow>(op: string, text: string, values: unknown[]) =>
              (await client.query<R>({ name: key(op), text, values })).rows,
          );
          await client.query('COMMIT');
          return result;
        } catch (error) {
          // A connection that cannot even roll back is discarded, not given back to the pool.
          await client.query('ROLLBACK').catch((rollback: unknown) => {
            lost = rollback;
          });
          if (!isRetryable(error) || attempt >= maxRetries) throw error;
        } finally {
          client.release(lost instanceof Error ? lost : undefined);
        }
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
      }
    } catch (error) {
      throw translateError(error, path, server);
    }
  }

  /** The call of `vfs_write`: write (mode 0), writeAt (1) or append (2), at the time `time`. */
  function writeStatement(path: string, mode: 0 | 1 | 2, offset: number, data: Uint8Array, time: number) {
    const text = `SELECT * FROM ${s}.vfs_write($1, $2, $3, $4, $5, $6::bigint, $7, $8, $9, $10::bigint, $11::bigint, $12::bigint, $13::integer)`;
    const values = [
      namespace,
      path,
      parentPath(path),
      baseName(path),
      mode,
      offset,
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      time,
      chunkSize,
      maxBytes,
      maxFiles,
      maxFileSize,
      maxPathLength,
    ];
    return { text, values };
  }

  /** The offset `vfs_write` wrote at, or the error its status row stands for. */
  function written(path: string, status: Status): number {
    if (status.st !== 'ok') fail(path, status, () => checkFileTarget(path, kind(status.k1), kind(status.k2)));
    return Number(status.n);
  }

  /**
   * Checks, in a transaction, that the file at `path` is `ifFile` and locks its row (all its names'
   * rows, as every change of it does) until COMMIT, so no delete, rename or other write can replace
   * or change it before the write that follows.
   * @throws `not-found` when it is not
   */
  async function lockIfFile(run: Run, path: string, ifFile: FileIdentity): Promise<void> {
    const [row] = await run<{ kind: FileKind | null; ino: string; created: number }>(
      'lockIfFile',
      `SELECT kind, ino, created FROM ${s}.vfs_lock_names($1, $2)`,
      [namespace, path],
    );
    checkIfFile(path, row?.kind ? { kind: row.kind, id: row.ino, created: row.created } : undefined, ifFile);
  }

  async function put(
    path: string,
    mode: 0 | 1 | 2,
    offset: number,
    data: Uint8Array,
    time = now(),
  ): Promise<number> {
    const { text, values } = writeStatement(path, mode, offset, data, time);
    const [status] = await query<Status>('write', text, values, path);
    return written(path, status!);
  }

  /**
   * writeExtents of several runs, in one transaction: `vfs_write` of nothing at the final end creates
   * or extends the file (limits checked against its final size) and locks its row until COMMIT;
   * then one statement reads the stored chunks the runs cover only in part, and one stores every
   * touched chunk. Five round trips, whatever the number of runs.
   */
  async function putRuns(
    path: string,
    runs: readonly [number, Uint8Array][],
    time: number,
    ifFile?: FileIdentity,
  ): Promise<void> {
    const last = runs[runs.length - 1]!;
    const end = last[0] + last[1].length;
    const pieces = chunkPieces(runs, chunkSize);
    // Runs never touch, so only a single piece can cover a whole chunk.
    const partial = [...pieces]
      .filter(([, list]) => list.length > 1 || list[0]![0] > 0 || list[0]![1].length < chunkSize)
      .map(([index]) => index);
    await transaction(path, async (run) => {
      if (ifFile) await lockIfFile(run, path, ifFile);
      const { text, values } = writeStatement(path, 1, end, EMPTY, time);
      written(path, (await run<Status>('write', text, values))[0]!);
      const rows = await run<{ ino: string; idx: string | null; data: Buffer | null }>(
        'extentsRead',
        `SELECT e.ino, c.idx, c.data FROM ${s}.vfs_entries e
         LEFT JOIN ${s}.vfs_chunks c ON c.ns = e.ns AND c.ino = e.ino AND c.idx = ANY($3::bigint[])
         WHERE e.ns = $1 AND e.path = $2`,
        [namespace, path, partial],
      );
      const stored = new Map<number, Buffer>();
      for (const row of rows)
        if (row.idx !== null && row.data !== null) stored.set(Number(row.idx), row.data);
      const indexes: number[] = [];
      const chunks: Buffer[] = [];
      for (const [index, list] of pieces) {
        const old = stored.get(index);
        const [lastStart, lastData] = list[list.length - 1]!;
        const chunk = Buffer.alloc(Math.max(old?.length ?? 0, lastStart + lastData.length));
        if (old) chunk.set(old);
        for (const [start, data] of list) chunk.set(data, start);
        indexes.push(index);
        chunks.push(chunk);
      }
      await run(
        'extentsWrite',
        `INSERT INTO ${s}.vfs_chunks (ns, ino, idx, data)
         SELECT $1, $2::bigint, t.i, t.d FROM unnest($3::bigint[], $4::bytea[]) AS t(i, d)
         ON CONFLICT (ns, ino, idx) DO UPDATE SET data = excluded.data`,
        [namespace, rows[0]!.ino, indexes, chunks],
      );
    });
  }

  const driver: VfsDriver & { append(path: string, data: Uint8Array): Promise<number> } = {
    capabilities: CAPABILITIES,

    async read(path) {
      const rows = await query<{ kind: FileKind; size: string; idx: string | null; data: Buffer | null }>(
        'read',
        `SELECT e.kind, e.size, c.idx, c.data FROM ${s}.vfs_entries e
         LEFT JOIN ${s}.vfs_chunks c ON c.ns = e.ns AND c.ino = e.ino
         WHERE e.ns = $1 AND e.path = $2`,
        [namespace, path],
        path,
        true,
      );
      checkExistingFile(path, rows[0]?.kind);
      const size = Number(rows[0]!.size);
      const out = new Uint8Array(size);
      for (const row of rows) {
        if (row.data === null) continue;
        const at = Number(row.idx) * chunkSize;
        out.set(row.data.subarray(0, Math.max(0, size - at)), at);
      }
      return out;
    },

    async readAt(path, offset, length) {
      const first = Math.floor(offset / chunkSize);
      const last = length === 0 ? first - 1 : Math.floor((offset + length - 1) / chunkSize);
      const rows = await query<{
        kind: FileKind;
        size: string;
        idx: string | null;
        s: string;
        data: Buffer | null;
      }>(
        'readAt',
        `SELECT e.kind, e.size, c.idx, greatest($3::bigint - c.idx * $5, 0) AS s,
           substring(c.data FROM (greatest($3::bigint - c.idx * $5, 0) + 1)::integer
             FOR (least($3::bigint + $4::bigint - c.idx * $5, $5) - greatest($3::bigint - c.idx * $5, 0))::integer) AS data
         FROM ${s}.vfs_entries e
         LEFT JOIN ${s}.vfs_chunks c ON c.ns = e.ns AND c.ino = e.ino AND c.idx BETWEEN $6::bigint AND $7::bigint
         WHERE e.ns = $1 AND e.path = $2`,
        [namespace, path, offset, length, chunkSize, first, last],
        path,
        true,
      );
      checkExistingFile(path, rows[0]?.kind);
      const range = readRange(Number(rows[0]!.size), offset, length);
      const out = new Uint8Array(range.length);
      for (const row of rows) {
        if (row.data === null) continue;
        const at = Number(row.idx) * chunkSize + Number(row.s) - offset;
        out.set(row.data.subarray(0, Math.max(0, range.length - at)), at);
      }
      return out;
    },

    async write(path, data) {
      await put(path, 0, 0, data);
    },

    async writeAt(path, offset, data) {
      await put(path, 1, offset, data);
    },

    async writeExtents(path, extents, options) {
      const runs = coalesceExtents(extents);
      const time = options?.modified ?? now();
      const ifFile = options?.ifFile;
      // One run (or none) is one vfs_write call: a transaction of its own already.
      if (runs.length > 1) await putRuns(path, runs, time, ifFile);
      else if (!ifFile) await put(path, 1, runs[0]?.[0] ?? 0, runs[0]?.[1] ?? EMPTY, time);
      else {
        await transaction(path, async (run) => {
          await lockIfFile(run, path, ifFile);
          const { text, values } = writeStatement(path, 1, runs[0]?.[0] ?? 0, runs[0]?.[1] ?? EMPTY, time);
          written(path, (await run<Status>('write', text, values))[0]!);
        });
      }
    },

    append: (path, data) => put(path, 2, 0, data),

    async create(path) {
      const [status] = await query<Status>(
        'create',
        `SELECT * FROM ${s}.vfs_create($1, $2, $3, $4, $5, $6::bigint, $7::bigint, $8::integer)`,
        [namespace, path, parentPath(path), baseName(path), now(), maxBytes, maxFiles, maxPathLength],
        path,
      );
      if (status!.st !== 'ok')
        fail(path, status!, () => checkCreate(path, kind(status!.k1), kind(status!.k2)));
    },

    async setSize(path, size) {
      const [status] = await query<Status>(
        'setSize',
        `SELECT * FROM ${s}.vfs_set_size($1, $2, $3::bigint, $4, $5, $6::bigint, $7::bigint)`,
        [namespace, path, size, now(), chunkSize, maxBytes, maxFileSize],
        path,
      );
      if (status!.st !== 'ok') fail(path, status!, () => checkExistingFile(path, kind(status!.k1)));
    },

    async stat(path): Promise<Metadata> {
      const rows = await query<{
        kind: FileKind;
        size: string;
        created: number;
        modified: number;
        accessed: number;
        ino: string;
        // int8 arrives as a string: exact, unlike a number beyond 2^53.
        modified_ns: string | null;
        accessed_ns: string | null;
        nlink: number;
      }>(
        'stat',
        `SELECT kind, size, created, modified, accessed, ino, modified_ns, accessed_ns, nlink
         FROM ${s}.vfs_entries WHERE ns = $1 AND path = $2`,
        [namespace, path],
        path,
        true,
      );
      const row = rows[0];
      checkExists(path, row?.kind);
      const meta: Metadata = {
        kind: row!.kind,
        // A link's size is its target's UTF-8 length, as stored.
        size: row!.kind === 'directory' ? 0 : Number(row!.size),
        created: row!.created,
        modified: row!.modified,
        accessed: row!.accessed,
        // The inode number: kept by renames, never reused (one sequence per schema), shared by every
        // name of the file.
        id: row!.ino,
      };
      if (row!.kind !== 'directory') meta.linkCount = row!.nlink;
      // Only while they still describe the milliseconds (a later write moves those alone).
      const modifiedNs = exactNs(row!.modified_ns, row!.modified);
      const accessedNs = exactNs(row!.accessed_ns, row!.accessed);
      if (modifiedNs !== undefined) meta.modifiedNs = modifiedNs;
      if (accessedNs !== undefined) meta.accessedNs = accessedNs;
      return meta;
    },

    async list(path): Promise<DirEntry[]> {
      // One row: the directory's kind and its entries as "name/size/name/size..." (a directory's size
      // is empty, a link's starts with "l"). Names never contain "/", and one string parses much
      // faster than a row per entry.
      const rows = await query<{ kind: FileKind; entries: string | null }>(
        'list',
        `SELECT d.kind, (SELECT string_agg(e.name || '/' || CASE e.kind WHEN 'file' THEN e.size::text
                           WHEN 'symlink' THEN 'l' || e.size ELSE '' END, '/')
                         FROM ${s}.vfs_entries e WHERE e.ns = $1 AND e.parent = $2) AS entries
         FROM ${s}.vfs_entries d WHERE d.ns = $1 AND d.path = $2`,
        [namespace, path],
        path,
        true,
      );
      checkExistingDirectory(path, rows[0]?.kind);
      const entries: DirEntry[] = [];
      const fields = rows[0]!.entries?.split('/') ?? [];
      for (let i = 0; i < fields.length; i += 2) {
        const size = fields[i + 1]!;
        entries.push(
          size === ''
            ? { name: fields[i]!, kind: 'directory', size: 0 }
            : size[0] === 'l'
              ? { name: fields[i]!, kind: 'symlink', size: Number(size.slice(1)) }
              : { name: fields[i]!, kind: 'file', size: Number(size) },
        );
      }
      return entries;
    },

    async exists(path) {
      const rows = await query(
        'exists',
        `SELECT 1 FROM ${s}.vfs_entries WHERE ns = $1 AND path = $2`,
        [namespace, path],
        path,
        true,
      );
      return rows.length > 0;
    },

    async mkdir(path) {
      const [status] = await query<Status>(
        'mkdir',
        `SELECT * FROM ${s}.vfs_mkdir($1, $2, $3, $4, $5, $6::bigint, $7::integer)`,
        [namespace, path, parentPath(path), baseName(path), now(), maxBytes, maxPathLength],
        path,
      );
      if (status!.st !== 'ok')
        fail(path, status!, () => checkMkdir(path, kind(status!.k1), kind(status!.k2)));
    },

    async rmdir(path) {
      const [status] = await query<Status>(
        'rmdir',
        `SELECT * FROM ${s}.vfs_rmdir($1, $2)`,
        [namespace, path],
        path,
      );
      if (status!.st !== 'ok') {
        fail(path, status!, () => checkRmdir(path, kind(status!.k1), Number(status!.n) > 0));
      }
    },

    async delete(path) {
      const [status] = await query<Status>(
        'delete',
        `SELECT * FROM ${s}.vfs_delete($1, $2)`,
        [namespace, path],
        path,
      );
      if (status!.st !== 'ok') fail(path, status!, () => checkDelete(path, kind(status!.k1)));
    },

    async rename(from, to) {
      const [status] = await query<Status>(
        'rename',
        `SELECT * FROM ${s}.vfs_rename($1, $2, $3, $4, $5, $6::bigint, $7::integer)`,
        [namespace, from, to, parentPath(to), baseName(to), maxBytes, maxPathLength],
        from,
      );
      if (status!.st !== 'ok') {
        // A path or byte limit is reported on the target, as core's limits() does.
        fail(status!.st === 'check' ? from : to, status!, () =>
          checkRename(from, to, kind(status!.k1), kind(status!.k2), kind(status!.k3)),
        );
      }
    },

    async setTimes(path, times: SetTimes) {
      const [accessed, accessedNs] = storedTime(times.accessed);
      const [modified, modifiedNs] = storedTime(times.modified);
      // A function, not an UPDATE: the times of a file with several names change on every name.
      const [row] = await query<{ kind: FileKind | null }>(
        'setTimes',
        `SELECT ${s}.vfs_set_times($1, $2, $3::double precision, $4::bigint, $5::double precision, $6::bigint) AS kind`,
        [namespace, path, accessed, accessedNs, modified, modifiedNs],
        path,
      );
      checkExists(path, kind(row!.kind));
    },

    async symlink(path, target) {
      const [status] = await query<Status>(
        'symlink',
        `SELECT * FROM ${s}.vfs_symlink($1, $2, $3, $4, $5, $6, $7::bigint, $8::bigint, $9::integer)`,
        [namespace, path, parentPath(path), baseName(path), target, now(), maxBytes, maxFiles, maxPathLength],
        path,
      );
      if (status!.st !== 'ok')
        fail(path, status!, () => checkSymlink(path, kind(status!.k1), kind(status!.k2)));
    },

    async link(from, to) {
      const [status] = await query<Status>(
        'link',
        `SELECT * FROM ${s}.vfs_link($1, $2, $3, $4, $5, $6::bigint, $7::integer)`,
        [namespace, from, to, parentPath(to), baseName(to), maxBytes, maxPathLength],
        from,
      );
      if (status!.st !== 'ok') {
        // A path or byte limit is reported on the new name, as for a rename.
        fail(status!.st === 'check' ? from : to, status!, () =>
          checkLink(from, to, kind(status!.k1), kind(status!.k2), kind(status!.k3)),
        );
      }
    },

    async readlink(path) {
      const rows = await query<{ kind: FileKind; target: string | null }>(
        'readlink',
        `SELECT kind, target FROM ${s}.vfs_entries WHERE ns = $1 AND path = $2`,
        [namespace, path],
        path,
        true,
      );
      checkReadlink(path, rows[0]?.kind);
      return rows[0]!.target!;
    },

    async close() {
      if (owned) await pool.end();
    },
  };

  const storage = createStorage(driver);
  return Object.assign(storage, {
    namespace,
    schema,
    limits: declared,
    async info(): Promise<NamespaceInfo> {
      const rows = await query<{ cs: number; files: string; bytes: string }>(
        'info',
        `SELECT chunk_size AS cs, files, bytes FROM ${s}.vfs_namespaces WHERE ns = $1`,
        [namespace],
        undefined,
        true,
      );
      if (rows[0] === undefined) throw new VfsError('io', `namespace ${namespace} no longer exists`);
      return {
        namespace,
        chunkSize: rows[0].cs,
        files: Number(rows[0].files),
        bytes: Number(rows[0].bytes),
      };
    },
    async destroy() {
      try {
        await query('drop', `SELECT ${s}.vfs_drop($1)`, [namespace]);
      } finally {
        await storage.close();
      }
    },
  });
}
