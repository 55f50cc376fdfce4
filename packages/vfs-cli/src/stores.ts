import { existsSync } from 'node:fs';
import {
  parseStoreUrl,
  type StoreBackend,
  type StoreScheme,
  type StoreUrl,
  type VfsStorage,
} from '@eryx/vfs-core';
import { CliError, EXIT } from './errors.js';

/**
 * Each backend is imported only when a URL of its scheme is used: a `sqlite:` command never loads
 * the AWS SDK or node-postgres, which keeps start-up short.
 */
const BACKENDS: Record<StoreScheme, () => Promise<StoreBackend>> = {
  memory: async () => (await import('@eryx/vfs-memory')).memoryStore,
  sqlite: async () => (await import('@eryx/vfs-sqlite')).sqliteStore,
  postgres: async () => (await import('@eryx/vfs-postgres')).postgresStore,
  s3: async () => (await import('@eryx/vfs-s3')).s3Store,
};

/** True when `text` starts like a store URL (`scheme:`), as opposed to a path. */
export function looksLikeStoreUrl(text: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(text);
}

/** The backend that owns the URL's scheme, imported on first use. */
export async function backendFor(url: StoreUrl): Promise<StoreBackend> {
  return BACKENDS[url.scheme]();
}

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** The directory a relative `sqlite:` path is resolved against. Default `process.cwd()`. */
  cwd?: string;
  /**
   * The store must already exist: a `sqlite:` URL naming a missing file, or a `#namespace` the
   * store does not hold, fails with exit code 3 instead of being created empty (what opening it
   * would do). For commands that only read.
   */
  mustExist?: boolean;
}

/** A store opened from its URL. */
export interface OpenedStore {
  /** The parsed URL (`href` has the password redacted). */
  readonly url: StoreUrl;
  readonly storage: VfsStorage;
}

/**
 * Parses `url` and opens it with the backend of its scheme.
 * @throws {VfsError} `invalid-argument` (malformed URL), `not-found` (with `mustExist`, a missing
 *   SQLite file), or what the backend throws when it cannot connect
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  const parsed = parseStoreUrl(url, { cwd: options.cwd });
  if (options.mustExist) assertExists(parsed);
  const backend = await backendFor(parsed);
  if (options.mustExist) await assertNamespace(parsed, backend);
  const storage = await backend.open(parsed);
  return { url: parsed, storage };
}

/**
 * Throws `not-found` when the URL names a SQLite file that does not exist. Other schemes are
 * checked by their first operation (a database or bucket that cannot be reached is a storage failure).
 */
export function assertExists(url: StoreUrl): void {
  if (url.scheme === 'sqlite' && url.path !== ':memory:' && !existsSync(url.path)) {
    throw new CliError(
      'no such SQLite database file (nothing was created)',
      'check the file in the store URL; a relative path is resolved against the current directory',
      EXIT.notFound,
      url.path,
    );
  }
}

/**
 * Throws (exit code 3) when the URL names a `#namespace` the store does not hold: opening it would
 * create it, so a mistyped namespace would read as an empty filesystem and be left behind.
 * A URL without a fragment (the backend's default filesystem) and `memory:` are not checked.
 */
export async function assertNamespace(url: StoreUrl, backend: StoreBackend): Promise<void> {
  if (url.namespace === undefined || url.scheme === 'memory') return;
  const list = await backend.namespaces(url);
  if (!list.some((ns) => ns.name === url.namespace)) {
    throw new CliError(
      `no namespace ${JSON.stringify(url.namespace)} in ${url.href.replace(/#.*$/, '')} (nothing was created)`,
      'eryx-vfs namespaces <store-url> lists them; a command that writes creates it',
      EXIT.notFound,
    );
  }
}
