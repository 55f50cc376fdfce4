import { isVfsError } from '../errors.js';
import { call, type Plan, runAsync, runSync } from '../plan.js';
import type { DirEntry, VfsStorage, VfsSyncStorage } from '../types.js';

/**
 * Where the WASI host keeps files that were unlinked (or replaced by a rename) while the guest had
 * them open: a reserved directory at the root of the mount's storage. Guests never see it (the host
 * hides it from listings and answers `no-entry` for any path into it, `not-permitted` for making
 * it), so the file keeps living in storage, under the store's limits and never whole in host
 * memory, until its last descriptor closes.
 *
 * An orphan's name is `<base-36 milliseconds when it was orphaned>-<host id>-<n>`: the time lets a
 * sweep judge its age from a listing alone (a rename keeps the file's old modification time).
 */
export const ORPHANS_DIRECTORY = '/.eryx-orphans';

/** Orphans younger than this (by name and by last write) are never swept: 24 hours. */
export const DEFAULT_ORPHAN_AGE_MS = 24 * 60 * 60 * 1000;

/** The orphan directory's name in the storage's root. */
export const ORPHANS_NAME = ORPHANS_DIRECTORY.slice(1);

const PREFIX = `${ORPHANS_DIRECTORY}/`;

/** Whether a storage path is the orphan directory or lies in it. */
export function isOrphanPath(path: string): boolean {
  return path.charCodeAt(1) === 46 /* . */ && (path === ORPHANS_DIRECTORY || path.startsWith(PREFIX));
}

/** Options of {@link sweepOrphans}. */
export interface SweepOrphansOptions {
  /**
   * Only orphans made and last written more than this many milliseconds ago are deleted. Default
   * 24 hours. `0` deletes every orphan: use it only when no host is running on the store.
   */
  olderThanMs?: number;
}

/** What {@link sweepOrphans} deleted. */
export interface SweepOrphansResult {
  /** Orphans deleted. */
  removed: number;
  /** Their bytes, given back to the store's quota. */
  bytes: number;
}

/** When an orphan was made, from its name; 0 (long ago) for a name the host did not make. */
function orphanedAt(name: string): number {
  const time = Number.parseInt(name.slice(0, name.indexOf('-')), 36);
  return Number.isSafeInteger(time) ? time : 0;
}

/** `plan`, its failure ignored. */
function* quietly<T>(plan: Plan<T>): Plan<T | undefined> {
  try {
    return yield* plan;
  } catch {
    return undefined;
  }
}

/**
 * Deletes the orphans older than `olderThanMs` by name and by modification time, except the names
 * `keep` accepts; removes the directory when nothing is left in it.
 */
function* sweep(olderThanMs: number, keep: (name: string) => boolean): Plan<SweepOrphansResult> {
  const result: SweepOrphansResult = { removed: 0, bytes: 0 };
  let entries: DirEntry[];
  try {
    entries = yield* call('list', ORPHANS_DIRECTORY);
  } catch (error) {
    if (isVfsError(error, 'not-found') || isVfsError(error, 'not-a-directory')) return result;
    throw error;
  }
  const now = Date.now();
  // With 0, every orphan goes: a backend's clock may run a fraction of a millisecond ahead.
  const young = (time: number) => olderThanMs > 0 && now - time < olderThanMs;
  let left = 0;
  for (const entry of entries) {
    const path = `${PREFIX}${entry.name}`;
    if (entry.kind !== 'file' || keep(entry.name) || young(orphanedAt(entry.name))) {
      left++;
      continue;
    }
    try {
      // Written recently: its host is alive, whatever the name says.
      const meta = yield* call('stat', path);
      if (young(meta.modified)) {
        left++;
        continue;
      }
      yield* call('delete', path);
      result.removed++;
      result.bytes += meta.size;
    } catch (error) {
      // Another sweeper or its own host got there first.
      if (!isVfsError(error, 'not-found')) throw error;
    }
  }
  // A host that is making its first orphan meanwhile finds the directory gone and makes it again.
  if (left === 0) yield* quietly(call('rmdir', ORPHANS_DIRECTORY));
  return result;
}

/**
 * Deletes the orphans that WASI hosts which ended without closing (a crash, a killed process) left
 * in a store: files unlinked while open, kept under {@link ORPHANS_DIRECTORY} until their last
 * descriptor closed. Hosts delete their own orphans at the last close and at `close()`, and a host
 * sweeps orphans older than 24 hours the first time it makes one itself; an operator (or the CLI)
 * calls this to reclaim the space sooner.
 *
 * An orphan is deleted when both its name (the time it was orphaned) and its modification time are
 * older than `olderThanMs`. A host cannot tell a dead host from a live one that merely holds an old,
 * idle orphan open: sweeping one of the latter makes its descriptor's next access fail (`not-found`).
 * The default of 24 hours is safe for executions shorter than that; `olderThanMs: 0` is safe only
 * when no host is running on the store.
 *
 * @returns how many orphans were deleted, and their bytes
 * @throws the storage's failures (a missing orphan directory is not one)
 */
export function sweepOrphans(
  storage: VfsStorage | VfsSyncStorage,
  options: SweepOrphansOptions = {},
): Promise<SweepOrphansResult> {
  const olderThanMs = options.olderThanMs ?? DEFAULT_ORPHAN_AGE_MS;
  // runAsync awaits each call's result: a plain value of a synchronous storage as well.
  return runAsync(
    sweep(olderThanMs, () => false),
    storage as VfsStorage,
  );
}

const randomId = (): string => globalThis.crypto.randomUUID().slice(0, 8);

/**
 * The orphans one mount of one host keeps in its storage: they are moved in by {@link adopt},
 * deleted by {@link release} (the last descriptor closed) or {@link releaseAll} (the host closed).
 * The directory exists only while it holds orphans: its last one removes it, so a store nobody
 * unlinks open files in never shows it.
 */
export class Orphanage {
  readonly #id = randomId();
  #next = 0;
  /** The names of this mount's orphans still in storage. */
  readonly #live = new Set<string>();
  #swept = false;

  constructor(readonly storage: VfsSyncStorage) {}

  /**
   * Moves the file at `path` into the orphan directory (one rename; making the directory first
   * when needed) and returns its new path.
   * @throws the rename's failure: the file is then where it was
   */
  adopt(path: string): string {
    const name = `${Date.now().toString(36)}-${this.#id}-${++this.#next}`;
    const to = `${PREFIX}${name}`;
    for (let attempt = 0; ; attempt++) {
      try {
        this.storage.rename(path, to);
        break;
      } catch (error) {
        // No directory (the first orphan, or another host's last one just removed it): make it.
        // Twice not-found: the file itself is gone.
        if (attempt >= 2 || !isVfsError(error, 'not-found')) {
          this.#tidy();
          throw error;
        }
        try {
          this.storage.mkdir(ORPHANS_DIRECTORY);
        } catch (mkdirError) {
          if (!isVfsError(mkdirError, 'already-exists')) throw mkdirError;
        }
      }
    }
    this.#live.add(name);
    if (!this.#swept) {
      this.#swept = true;
      // Leftovers of dead hosts; a failure here is no reason to fail the guest's unlink.
      runSync(quietly(sweep(DEFAULT_ORPHAN_AGE_MS, (n) => this.#live.has(n))), this.storage);
    }
    return to;
  }

  /**
   * Puts an orphan back at `path` (a rename over it failed after the host moved it away).
   * @throws the rename's failure: the file then stays an orphan
   */
  restore(orphan: string, path: string): void {
    this.storage.rename(orphan, path);
    this.#live.delete(orphan.slice(PREFIX.length));
    this.#tidy();
  }

  /**
   * Deletes an orphan whose last descriptor closed. A failure is not the guest's (its file is gone
   * either way): the orphan stays listed and {@link releaseAll} tries again.
   */
  release(orphan: string): void {
    try {
      this.storage.delete(orphan);
    } catch (error) {
      if (!isVfsError(error, 'not-found')) return;
    }
    this.#live.delete(orphan.slice(PREFIX.length));
    this.#tidy();
  }

  /** Deletes every orphan this mount still has (the host closed); failures are left to a sweep. */
  releaseAll(): void {
    for (const name of [...this.#live]) this.release(`${PREFIX}${name}`);
  }

  /** Removes the directory once this mount has no orphan left in it (another host's keep it). */
  #tidy(): void {
    if (this.#live.size > 0) return;
    try {
      this.storage.rmdir(ORPHANS_DIRECTORY);
    } catch {
      // Not empty (another host's orphans), or never made.
    }
  }
}
