import { resolve } from 'node:path';
import type { SyncBridgeSpec } from './bridge/index.js';
import { VfsError } from './errors.js';
import type { StorageLimits, VfsStorage } from './types.js';

/**
 * The store URL schemes of this project's backends, as {@link parseStoreUrl} reports them
 * (`postgresql:` is reported as `postgres`).
 */
export type StoreScheme = 'memory' | 'sqlite' | 'postgres' | 's3';

/** Every {@link StoreScheme}. */
export const STORE_SCHEMES: readonly StoreScheme[] = ['memory', 'sqlite', 'postgres', 's3'];

/** What every parsed store URL has. */
interface StoreUrlBase {
  /** The backend that opens it. */
  readonly scheme: StoreScheme;
  /** The URL for display and error messages: any password or secret replaced by `redacted`. */
  readonly href: string;
  /** The `#fragment`, percent-decoded: the independent filesystem within the store. */
  readonly namespace?: string;
  /** The `maxBytes`, `maxFiles`, `maxFileSize` and `maxPathLength` query parameters. */
  readonly limits?: StorageLimits;
}

/** `memory:` or `memory:#ns`. Each open is a new, empty store; the namespace is only a label. */
export interface MemoryStoreUrl extends StoreUrlBase {
  readonly scheme: 'memory';
}

/** `sqlite:./state.db#ns`, `sqlite:/abs/state.db#ns`, `sqlite:///abs/state.db#ns`, `sqlite::memory:`. */
export interface SqliteStoreUrl extends StoreUrlBase {
  readonly scheme: 'sqlite';
  /** The database file, absolute (resolved against {@link ParseStoreUrlOptions.cwd}), or `:memory:`. */
  readonly path: string;
  /** `chunkSize` (bytes; accepts unit suffixes). */
  readonly chunkSize?: number;
  /** `busyTimeout` (milliseconds). */
  readonly busyTimeout?: number;
  /** `synchronous=full|normal`. */
  readonly synchronous?: 'full' | 'normal';
  /** `readOnly=true`. */
  readonly readOnly?: boolean;
}

/** `postgres://user:password@host:port/database?schema=s#ns` (or `postgresql://`). */
export interface PostgresStoreUrl extends StoreUrlBase {
  readonly scheme: 'postgres';
  /**
   * What node-postgres connects with: the URL without the fragment and without the parameters this
   * project reads (`schema`, `chunkSize`, the limits); every other parameter (`sslmode`, `host`,
   * `application_name`, ...) is left for node-postgres. Holds the password.
   */
  readonly connectionString: string;
  /** `schema`: the PostgreSQL schema holding the tables. */
  readonly schema?: string;
  /** `chunkSize` (bytes; accepts unit suffixes). */
  readonly chunkSize?: number;
}

/**
 * `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true#ns`.
 * The filesystem's key prefix is `prefix/namespace` (either may be absent). Credentials come from
 * the userinfo (`s3://KEY:SECRET@bucket/...`, percent-encoded) or the `accessKeyId`,
 * `secretAccessKey` and `sessionToken` parameters, else from the AWS SDK's default chain.
 */
export interface S3StoreUrl extends StoreUrlBase {
  readonly scheme: 's3';
  readonly bucket: string;
  /** The key prefix from the URL's path, without leading or trailing `/`; `''` when none. */
  readonly prefix: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** `chunkSize` (bytes; accepts unit suffixes). */
  readonly chunkSize?: number;
}

/**
 * A parsed store URL: plain data (it survives `structuredClone`, so it can be a sync bridge's
 * options). Branch on `scheme`.
 */
export type StoreUrl = MemoryStoreUrl | SqliteStoreUrl | PostgresStoreUrl | S3StoreUrl;

/** Options of {@link parseStoreUrl}. */
export interface ParseStoreUrlOptions {
  /** The directory a relative `sqlite:` path is resolved against. Default `process.cwd()`. */
  cwd?: string;
}

/** A namespace of a store, as {@link StoreBackend.namespaces} lists it. */
export interface StoreNamespaceInfo {
  /** The namespace: what a store URL names in its `#fragment`. */
  readonly name: string;
  /** Its files (directories not counted), when the backend knows them without a scan. */
  readonly files?: number;
  /** The sum of its file sizes in bytes (a sparse gap counts), when known without a scan. */
  readonly bytes?: number;
}

/** Options of {@link StoreBackend.migrate}. */
export interface StoreMigrateOptions extends ParseStoreUrlOptions {
  /** Report what would be done, and change nothing (create no file, schema or object). Default `false`. */
  dryRun?: boolean;
}

/** What {@link StoreBackend.migrate} did, or would do with `dryRun`. */
export interface MigrationReport {
  /** The store's schema version before; `null` when there is no store yet (nothing to read). */
  readonly from: number | null;
  /** The schema version this backend writes and reads, which the store has after a real run. */
  readonly to: number;
  /** What was (or would be) done, one human-readable line per step, in order; empty when current. */
  readonly steps: readonly string[];
  /** Whether this call changed the store: `false` for a dry run and for a store already current. */
  readonly applied: boolean;
}

/** How far {@link StoreBackend.gc} got, reported while it runs (for a progress display). */
export interface GcProgress {
  /**
   * `scanning`: listing the objects and reading what references what (no total is known yet);
   * `deleting`: removing the garbage found, `deleted` of `found`.
   */
  readonly phase: 'scanning' | 'deleting';
  /** Objects looked at so far (listed, or read to learn what they reference). */
  readonly examined: number;
  /** Garbage objects found so far; final once `phase` is `deleting`. */
  readonly found: number;
  /** Garbage objects deleted so far. */
  readonly deleted: number;
  /** Bytes of the garbage deleted so far. */
  readonly bytes: number;
}

/** Options of {@link StoreBackend.gc}. */
export interface StoreGcOptions extends ParseStoreUrlOptions {
  /**
   * Garbage younger than this many milliseconds is kept, so work in flight in other processes is
   * never collected. The backend's default (S3: 15 minutes); `0` only when nothing else uses the store.
   */
  minAgeMs?: number;
  /**
   * Called as gc progresses: after each page of a listing, each object read and each batch deleted,
   * and once more at the end with the totals. An exception thrown here stops gc with that error.
   */
  onProgress?(progress: GcProgress): void;
}

/** What {@link StoreBackend.gc} collected. */
export interface StoreGcResult {
  /** Objects looked at. */
  readonly examined: number;
  /** Garbage objects deleted. */
  readonly deleted: number;
  /** Bytes of the garbage deleted. */
  readonly bytes: number;
}

/**
 * How a backend package opens, bridges, lists, migrates and drops the stores of its schemes. Each
 * backend exports one (`memoryStore`, `sqliteStore`, `postgresStore`, `s3Store`), so a tool that
 * takes a store URL picks the backend with
 * `backends.find((b) => b.schemes.includes(parseStoreUrl(url).scheme))`.
 */
export interface StoreBackend {
  /** The schemes this backend opens. */
  readonly schemes: readonly StoreScheme[];
  /**
   * Opens the store the URL names, with the URL's limits enforced. The result has a `sync` twin
   * when the backend is synchronous (memory, SQLite); otherwise use {@link StoreBackend.bridgeSpec}.
   * @throws `invalid-argument` for a malformed URL or one of another scheme
   */
  open(url: string | StoreUrl, options?: ParseStoreUrlOptions): Promise<VfsStorage>;
  /**
   * The {@link SyncBridgeSpec} that opens the same store in the sync bridge's worker:
   * `createSyncBridge(backend.bridgeSpec(url))`. Relative paths are resolved here, not in the worker.
   */
  bridgeSpec(url: string | StoreUrl, options?: ParseStoreUrlOptions): SyncBridgeSpec;
  /**
   * Deletes the namespace the URL names with all its files (S3: every object under the key prefix).
   * Storage objects still open on it fail afterwards. Dropping what does not exist is not an error.
   */
  drop(url: string | StoreUrl, options?: ParseStoreUrlOptions): Promise<void>;
  /**
   * The namespaces the store holds, sorted by name. The store is the URL without its `#fragment`
   * (a SQLite file, a PostgreSQL schema, an S3 bucket prefix); the URL's own namespace is ignored.
   * Only reads: nothing is created. A store without any eryx-vfs data yet has none (`[]`), and so
   * does `memory:`, whose stores live only inside the object `open` returns.
   * @throws `not-found` when what holds the store is missing (the SQLite file, the PostgreSQL
   * database, the S3 bucket), naming it; `unsupported` for a schema newer than the backend knows
   */
  namespaces(url: string | StoreUrl, options?: ParseStoreUrlOptions): Promise<StoreNamespaceInfo[]>;
  /**
   * Brings the store's schema to the version this backend writes (creating it when there is no
   * store yet), as opening the store does, and reports what it did; with `dryRun` it reports
   * what it would do and changes nothing. Idempotent: a current store is only read
   * (`from === to`, no steps, `applied: false`). Never drops data.
   * @throws `unsupported` for a schema newer than the backend knows; `read-only` for a read-only URL
   * (SQLite's `readOnly=true`) whose store needs migrating, unless `dryRun`; `not-found` when what
   * holds the store is missing and cannot be created by migrating (a PostgreSQL database, an S3 bucket)
   */
  migrate(url: string | StoreUrl, options?: StoreMigrateOptions): Promise<MigrationReport>;
  /**
   * Collects what crashes and failed requests left behind in the store the URL names, when the
   * backend can leave any: S3 does (see its `gc`). Absent on backends that reclaim space in the
   * transaction of each operation (memory, SQLite, PostgreSQL).
   * @throws `not-found` when the URL names no existing store
   */
  gc?(url: string | StoreUrl, options?: StoreGcOptions): Promise<StoreGcResult>;
}

const FORMS: Record<StoreScheme, string> = {
  memory: 'memory: or memory:#namespace',
  sqlite: 'sqlite:<file>#<namespace>, e.g. sqlite:./state.db#user-42 or sqlite:///abs/state.db#user-42',
  postgres: 'postgres://user:password@host:port/database?schema=s#<namespace>',
  s3: 's3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1#<namespace>',
};

const LIMIT_NAMES = ['maxBytes', 'maxFiles', 'maxFileSize', 'maxPathLength'] as const;

/** Query parameters each scheme reads, besides the limits. */
const PARAMS: Record<StoreScheme, readonly string[]> = {
  memory: [],
  sqlite: ['chunkSize', 'busyTimeout', 'synchronous', 'readOnly'],
  postgres: ['schema', 'chunkSize'],
  s3: ['endpoint', 'region', 'forcePathStyle', 'accessKeyId', 'secretAccessKey', 'sessionToken', 'chunkSize'],
};

const SECRET_PARAMS = new Set(['password', 'secretaccesskey', 'sessiontoken', 'sslpassword', 'secret']);

/**
 * The store URL for display: the userinfo's password and secret query parameters (`password`,
 * `secretAccessKey`, `sessionToken`, ...) replaced by `redacted`. Never throws.
 */
export function redactStoreUrl(url: string): string {
  if (typeof url !== 'string') return String(url);
  const hash = url.indexOf('#');
  const fragment = hash < 0 ? '' : url.slice(hash);
  let rest = hash < 0 ? url : url.slice(0, hash);
  const authority = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?]*)/.exec(rest);
  if (authority) {
    const [whole, start, auth] = authority;
    const at = auth!.lastIndexOf('@');
    const colon = auth!.indexOf(':');
    if (at >= 0 && colon >= 0 && colon < at) {
      rest = `${start}${auth!.slice(0, colon)}:redacted${auth!.slice(at)}${rest.slice(whole.length)}`;
    }
  }
  rest = rest.replace(/([?&])([^=&]*)=([^&]*)/g, (match, sep: string, name: string) =>
    SECRET_PARAMS.has(safeDecode(name).toLowerCase()) ? `${sep}${name}=redacted` : match,
  );
  return rest + fragment;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Parses a store URL, the one form every tool and backend takes:
 *
 * | form | store |
 * |---|---|
 * | `memory:` | a new in-memory store |
 * | `sqlite:./state.db#ns` | namespace `ns` of a SQLite file (relative to `cwd`; `sqlite:///abs.db`, `sqlite:/abs.db` and `sqlite::memory:` too) |
 * | `postgres://user:pass@host:5432/db?schema=s#ns` | namespace `ns` of a PostgreSQL database (`postgresql://` too) |
 * | `s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true#ns` | the objects under `prefix/ns` in a bucket |
 *
 * The `#fragment` (percent-decoded) is the namespace. Every scheme takes the limits as query
 * parameters, `maxBytes`, `maxFiles`, `maxFileSize` and `maxPathLength`, as integers with an
 * optional unit: `k`/`M`/`G`/`T` (powers of 1000, also `kB`, `MB`, ...) or `Ki`/`Mi`/`Gi`/`Ti`
 * (powers of 1024, also `KiB`, `MiB`, ...), e.g. `?maxBytes=64MiB&maxFiles=10k`. A parameter the
 * scheme does not read is an error, except for PostgreSQL, which passes the others to node-postgres.
 * Pure: no I/O, nothing opened.
 *
 * @throws {VfsError} `invalid-argument`, naming the URL (password redacted), what is wrong and the
 * expected form
 */
export function parseStoreUrl(url: string, options: ParseStoreUrlOptions = {}): StoreUrl {
  if (typeof url !== 'string') {
    throw new VfsError('invalid-argument', `store URL must be a string, not ${describe(url)}`);
  }
  const href = redactStoreUrl(url);
  const fail = (problem: string, scheme?: StoreScheme): never => {
    const expected = scheme
      ? FORMS[scheme]
      : `one of ${STORE_SCHEMES.map((s) => (s === 'memory' || s === 'sqlite' ? `${s}:` : `${s}://`)).join(', ')}`;
    throw new VfsError(
      'invalid-argument',
      `store URL ${JSON.stringify(href)}: ${problem}; expected ${expected}`,
    );
  };
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url);
  if (!match) {
    const hint = url.includes('/') || url.endsWith('.db') ? ' (a SQLite file is sqlite:<file>)' : '';
    return fail(`missing a scheme${hint}`);
  }
  const written = match[1]!.toLowerCase();
  const scheme: StoreScheme | undefined =
    written === 'postgresql'
      ? 'postgres'
      : (STORE_SCHEMES as readonly string[]).includes(written)
        ? (written as StoreScheme)
        : undefined;
  if (!scheme) return fail(`unknown scheme "${written}:"`);

  const hash = url.indexOf('#');
  const beforeHash = hash < 0 ? url : url.slice(0, hash);
  let namespace: string | undefined;
  if (hash >= 0) {
    namespace = decode(url.slice(hash + 1), 'namespace', scheme, fail);
    if (namespace === '') fail('empty namespace after "#"', scheme);
    if ([...namespace].some((c) => c < ' ' || c === '\x7f'))
      fail('namespace contains control characters', scheme);
  }
  const question = beforeHash.indexOf('?');
  const body = (question < 0 ? beforeHash : beforeHash.slice(0, question)).slice(match[0].length);
  const query = question < 0 ? '' : beforeHash.slice(question + 1);

  const params = readParams(query, scheme, fail);
  const limits = readLimits(params, scheme, fail);
  const common = { href, ...(namespace !== undefined && { namespace }), ...(limits && { limits }) };
  const size = (name: string) => {
    const value = params.get(name);
    return value === undefined ? undefined : parseSize(value, name, scheme, fail);
  };

  switch (scheme) {
    case 'memory': {
      if (body !== '') fail(`unexpected "${body}" after "memory:"`, scheme);
      return { scheme, ...common };
    }
    case 'sqlite': {
      let raw = body;
      if (raw.startsWith('//')) {
        const rest = raw.slice(2);
        if (rest.startsWith('/')) raw = rest;
        else if (rest.startsWith('localhost/')) raw = rest.slice('localhost'.length);
        else
          fail(
            'a host in sqlite://host/... is not supported; use sqlite:./relative.db or sqlite:///absolute.db',
            scheme,
          );
      }
      if (raw === '') fail('missing the database file', scheme);
      const file = decode(raw, 'file path', scheme, fail);
      if (file.includes('\0')) fail('file path contains NUL', scheme);
      const path = file === ':memory:' ? file : resolve(options.cwd ?? process.cwd(), file);
      const synchronous = params.get('synchronous');
      if (synchronous !== undefined && synchronous !== 'full' && synchronous !== 'normal') {
        fail(`synchronous must be "full" or "normal", not "${synchronous}"`, scheme);
      }
      const readOnly = params.get('readOnly');
      return compact({
        scheme,
        ...common,
        path,
        chunkSize: size('chunkSize'),
        busyTimeout: size('busyTimeout'),
        synchronous: synchronous as 'full' | 'normal' | undefined,
        readOnly: readOnly === undefined ? undefined : parseBoolean(readOnly, 'readOnly', scheme, fail),
      });
    }
    case 'postgres': {
      if (!body.startsWith('//')) fail('missing "//" after the scheme', scheme);
      let parsed: URL;
      try {
        parsed = new URL(beforeHash);
      } catch {
        return fail('not a valid URL', scheme);
      }
      // Only when there is one to take out: rewriting the query re-encodes the other parameters.
      for (const name of [...PARAMS.postgres, ...LIMIT_NAMES]) {
        if (parsed.searchParams.has(name)) parsed.searchParams.delete(name);
      }
      const schema = params.get('schema');
      if (schema === '') fail('empty schema', scheme);
      return compact({
        scheme,
        ...common,
        connectionString: parsed.href,
        schema,
        chunkSize: size('chunkSize'),
      });
    }
    case 's3': {
      if (!body.startsWith('//')) fail('missing "//" after the scheme', scheme);
      const authority = /^\/\/([^/]*)(.*)$/.exec(body)!;
      let host = authority[1]!;
      const at = host.lastIndexOf('@');
      let credentials: S3StoreUrl['credentials'];
      if (at >= 0) {
        const userinfo = host.slice(0, at);
        host = host.slice(at + 1);
        const colon = userinfo.indexOf(':');
        const accessKeyId = decode(
          colon < 0 ? userinfo : userinfo.slice(0, colon),
          'access key',
          scheme,
          fail,
        );
        const secretAccessKey =
          colon < 0 ? '' : decode(userinfo.slice(colon + 1), 'secret key', scheme, fail);
        if (accessKeyId === '' || secretAccessKey === '') {
          fail('credentials in the URL need both parts, s3://KEY:SECRET@bucket/...', scheme);
        }
        credentials = { accessKeyId, secretAccessKey };
      }
      const bucket = decode(host, 'bucket', scheme, fail);
      if (bucket === '') fail('missing the bucket', scheme);
      if (!/^[A-Za-z0-9._-]+$/.test(bucket)) {
        fail(`"${bucket}" is not a bucket name (the endpoint goes in ?endpoint=)`, scheme);
      }
      const prefix = decode(authority[2]!, 'prefix', scheme, fail).replace(/^\/+|\/+$/g, '');
      const keyId = params.get('accessKeyId');
      const secret = params.get('secretAccessKey');
      const token = params.get('sessionToken');
      if (keyId !== undefined || secret !== undefined || token !== undefined) {
        if (credentials) fail('credentials both in the userinfo and in the query', scheme);
        if (!keyId || !secret) fail('accessKeyId and secretAccessKey go together', scheme);
        credentials = {
          accessKeyId: keyId!,
          secretAccessKey: secret!,
          ...(token && { sessionToken: token }),
        };
      }
      const endpoint = params.get('endpoint');
      if (endpoint !== undefined && !/^https?:\/\/[^/]/i.test(endpoint)) {
        fail(`endpoint must be an http:// or https:// URL, not "${endpoint}"`, scheme);
      }
      const region = params.get('region');
      if (region === '') fail('empty region', scheme);
      const forcePathStyle = params.get('forcePathStyle');
      return compact({
        scheme,
        ...common,
        bucket,
        prefix,
        endpoint,
        region,
        forcePathStyle:
          forcePathStyle === undefined
            ? undefined
            : parseBoolean(forcePathStyle, 'forcePathStyle', scheme, fail),
        credentials,
        chunkSize: size('chunkSize'),
      });
    }
  }
}

/**
 * A backend's options from what its store URL says (`fromUrl`) and what the caller passes in code
 * (`overrides`, which win), without the members that are `undefined`, so that a backend's option
 * checks see only what was given. The shared last step of the backends' openers.
 */
export function storeOptions<T extends object>(fromUrl: T, overrides: Partial<T> = {}): T {
  const out: Record<string, unknown> = { ...fromUrl, ...overrides };
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out as T;
}

/**
 * `url` parsed (a string) or checked (a {@link StoreUrl} already parsed) as one of `schemes`: the
 * first step of every backend's opener.
 * @throws {VfsError} `invalid-argument` for a malformed URL or another scheme
 */
export function expectStoreUrl<S extends StoreScheme>(
  url: string | StoreUrl,
  scheme: S,
  options?: ParseStoreUrlOptions,
): Extract<StoreUrl, { scheme: S }> {
  const parsed = typeof url === 'string' ? parseStoreUrl(url, options) : url;
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.scheme !== 'string') {
    throw new VfsError(
      'invalid-argument',
      `store URL must be a string or a parsed StoreUrl, not ${describe(url)}`,
    );
  }
  if (parsed.scheme !== scheme) {
    throw new VfsError(
      'invalid-argument',
      `store URL ${JSON.stringify(parsed.href)}: this backend opens ${scheme} URLs, not ${parsed.scheme}; expected ${FORMS[scheme]}`,
    );
  }
  return parsed as Extract<StoreUrl, { scheme: S }>;
}

type Fail = (problem: string, scheme?: StoreScheme) => never;

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

function decode(text: string, what: string, scheme: StoreScheme, fail: Fail): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail(`malformed percent-encoding in the ${what}`, scheme);
  }
}

function readParams(query: string, scheme: StoreScheme, fail: Fail): Map<string, string> {
  const known = [...PARAMS[scheme], ...LIMIT_NAMES];
  const out = new Map<string, string>();
  if (query === '') return out;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq), 'query', scheme, fail);
    const value = decode(eq < 0 ? '' : part.slice(eq + 1), 'query', scheme, fail);
    if (!known.includes(name)) {
      const near = known.find((k) => k.toLowerCase() === name.toLowerCase());
      if (near) fail(`unknown parameter "${name}" (did you mean "${near}"?)`, scheme);
      if (scheme === 'postgres') continue; // node-postgres's own (sslmode, host, ...)
      fail(`unknown parameter "${name}" (${scheme} takes ${known.join(', ')})`, scheme);
    }
    if (out.has(name)) fail(`parameter "${name}" given twice`, scheme);
    if (value === '') fail(`parameter "${name}" has no value`, scheme);
    out.set(name, value);
  }
  return out;
}

function readLimits(params: Map<string, string>, scheme: StoreScheme, fail: Fail): StorageLimits | undefined {
  const limits: { -readonly [K in keyof StorageLimits]: number } = {};
  let any = false;
  for (const name of LIMIT_NAMES) {
    const value = params.get(name);
    if (value === undefined) continue;
    limits[name] = parseSize(value, name, scheme, fail);
    any = true;
  }
  return any ? limits : undefined;
}

const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
};

/**
 * A non-negative integer with an optional unit (`64MiB`, `1GiB`, `10k`), as the store URL's
 * limits take it; `undefined` when it is not one.
 */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+)\s*([A-Za-z]*)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const value = Number(match[1]) * unit;
  return Number.isSafeInteger(value) ? value : undefined;
}

function parseSize(text: string, name: string, scheme: StoreScheme, fail: Fail): number {
  const value = parseByteSize(text);
  if (value === undefined) {
    return fail(
      `${name}=${text} is not a non-negative integer (optionally with a unit: 10k, 64MiB, 1GiB)`,
      scheme,
    );
  }
  return value;
}

function parseBoolean(text: string, name: string, scheme: StoreScheme, fail: Fail): boolean {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  return fail(`${name} must be true or false, not "${text}"`, scheme);
}

/** Leaves out members that are `undefined`, so the result compares and prints cleanly. */
function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}
