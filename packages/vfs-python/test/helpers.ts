import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDist as buildIfStale, postgresStoreUrl, s3StoreUrl } from '@eryx/test-servers';
import { postgresStore } from '@eryx/vfs-postgres';
import { s3Store } from '@eryx/vfs-s3';
import { afterAll } from 'vitest';

export { python } from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A file of `test/fixtures/`. */
export const fixture = (name: string): string => join(root, 'test', 'fixtures', name);

/** The text of a file of `test/fixtures/`. */
export const fixtureText = (name: string): string => readFileSync(fixture(name), 'utf8');

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new temporary directory (its real path), removed after the file's tests. */
export function tempDir(prefix = 'vfs-python-'): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  temps.push(dir);
  return dir;
}

let counter = 0;
/** A name no other test (or test process) uses. */
export const unique = (prefix: string): string => `${prefix}-${process.pid}-${Date.now()}-${++counter}`;

/** A store the guest's `/data` can live in: a URL (or, for memory, a storage object). */
export interface StoreCase {
  name: string;
  /** A new, empty store's URL. */
  url(): string;
  /** Deletes what `url()` made. */
  drop(url: string): Promise<void>;
}

/** SQLite, PostgreSQL and S3 store URLs (the servers come from the global setup). */
export const URL_STORES: StoreCase[] = [
  {
    name: 'SQLite',
    url: () => `sqlite:${join(tempDir('vfs-python-sqlite-'), 'state.db')}#${unique('ns')}`,
    drop: async () => {},
  },
  {
    name: 'PostgreSQL',
    url: () => postgresStoreUrl(unique('vfs-python')),
    drop: (url) => postgresStore.drop(url),
  },
  {
    name: 'S3',
    url: () => s3StoreUrl(unique('vfs-python')),
    drop: (url) => s3Store.drop(url),
  },
];

/**
 * A host CPython 3.11 (the guest's version, so outputs can be compared line by line), if this
 * machine has one: `python3.11` or `python3` on `PATH`, or `/usr/bin/python3.11`.
 */
export function findHostPython(): string | undefined {
  return ['python3.11', 'python3', '/usr/bin/python3.11'].find((candidate) => {
    const found = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info[:2] == (3, 11))'], {
      encoding: 'utf8',
    });
    return found.status === 0 && found.stdout.trim() === 'True';
  });
}

/** The child-process tests run the built package (a plain `node` cannot load TypeScript). */
export const ensureDist = (): void => buildIfStale(root);

/** The built package's entry, for child processes. */
export const DIST_ENTRY = join(root, 'dist', 'index.js');
