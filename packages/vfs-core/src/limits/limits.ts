import { isVfsError, VfsError } from '../errors.js';
import { baseName, joinPath, parentPath } from '../path.js';
import { checkFileTarget, checkLink, checkMkdir, checkRename, checkSymlink } from '../semantics.js';
import {
  checkIfFile,
  type Metadata,
  type StorageLimits,
  type VfsStorage,
  type WriteExtent,
  type WriteExtentsOptions,
} from '../types.js';
import { call, type Plan, wrapStorage } from '../wrap.js';

/** Options of {@link limits}: the {@link StorageLimits} to enforce; a member left out is unlimited. */
export type LimitsOptions = StorageLimits;

const NAMES = ['maxBytes', 'maxFiles', 'maxFileSize', 'maxPathLength', 'maxNameLength'] as const;

function checkOptions(options: LimitsOptions): StorageLimits {
  if (typeof options !== 'object' || options === null) {
    throw new VfsError('invalid-argument', 'limits: options must be an object');
  }
  const out: { -readonly [K in keyof StorageLimits]: number } = {};
  for (const name of NAMES) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new VfsError('invalid-argument', `limits: ${name} must be a non-negative safe integer`);
    }
    out[name] = value;
  }
  return out;
}

/** The tighter of two declarations, member by member. */
function tighter(a: StorageLimits | undefined, b: StorageLimits): StorageLimits {
  const out: { -readonly [K in keyof StorageLimits]: number } = {};
  for (const name of NAMES) {
    const values = [a?.[name], b[name]].filter((v): v is number => v !== undefined);
    if (values.length > 0) out[name] = Math.min(...values);
  }
  return out;
}

const utf8Length = (path: string) => Buffer.byteLength(path, 'utf8');

/** The bytes an entry's name costs in `maxBytes` (see {@link StorageLimits}). */
const nameBytes = (path: string) => utf8Length(baseName(path));

interface Usage {
  /**
   * Names of every entry but the root plus the sizes of files and links (see
   * {@link StorageLimits.maxBytes}).
   */
  bytes: number;
  /** Files and symbolic links, each counted once whatever its number of names (hard links). */
  files: number;
}

/** The plans of the limited operations, shared by the sync and async forms. */
function plans(max: StorageLimits, symlinks: boolean, hardLinks: boolean) {
  const counted = max.maxBytes !== undefined || max.maxFiles !== undefined;
  let usage: Usage | undefined;

  const quota = (path: string, message: string) => new VfsError('quota-exceeded', message, { path });

  function* statOrUndefined(path: string): Plan<Metadata | undefined> {
    try {
      return yield* call('stat', path);
    } catch (error) {
      if (isVfsError(error, 'not-found')) return undefined;
      throw error;
    }
  }

  /**
   * Current usage: walked once (one list per directory), then tracked. On a store with hard links
   * the walk also stats each file, so that a file with several names counts its size once.
   */
  function* currentUsage(): Plan<Usage> {
    if (usage) return usage;
    const total: Usage = { bytes: 0, files: 0 };
    const linked = new Set<string>();
    const pending = ['/'];
    while (pending.length > 0) {
      const dir = pending.pop()!;
      for (const entry of yield* call('list', dir)) {
        total.bytes += utf8Length(entry.name);
        const path = joinPath(dir, entry.name);
        if (entry.kind === 'directory') pending.push(path);
        else {
          if (hardLinks) {
            const meta = yield* statOrUndefined(path);
            if (meta?.id !== undefined && (meta.linkCount ?? 1) > 1) {
              if (linked.has(meta.id)) continue;
              linked.add(meta.id);
            }
          }
          // A file, or a link counted as one: its size is its target's UTF-8 bytes.
          total.bytes += entry.size;
          total.files += 1;
        }
      }
    }
    usage = total;
    return total;
  }

  /** Runs the inner mutation; an `io` failure may have changed something, so usage is re-walked. */
  function* mutate<T>(plan: Plan<T>): Plan<T> {
    try {
      return yield* plan;
    } catch (error) {
      if (!isVfsError(error) || error.code === 'io') usage = undefined;
      throw error;
    }
  }

  function checkPathLength(path: string): void {
    if (max.maxPathLength !== undefined && utf8Length(path) > max.maxPathLength) {
      throw new VfsError(
        'name-too-long',
        `the path is ${utf8Length(path)} bytes long, the limit is ${max.maxPathLength}`,
        { path },
      );
    }
    if (max.maxNameLength !== undefined && utf8Length(baseName(path)) > max.maxNameLength) {
      throw new VfsError(
        'name-too-long',
        `the name is ${utf8Length(baseName(path))} bytes long, the limit is ${max.maxNameLength}`,
        { path },
      );
    }
  }

  const nameLimited = max.maxPathLength !== undefined || max.maxNameLength !== undefined;

  /** Why growing the usage by `growth` bytes is refused, if it is. */
  function* bytesProblem(growth: number): Plan<string | undefined> {
    if (max.maxBytes === undefined || growth <= 0) return undefined;
    const total = (yield* currentUsage()).bytes + growth;
    if (total <= max.maxBytes) return undefined;
    return `the store would hold ${total} bytes (names included), the limit is ${max.maxBytes}`;
  }

  /** The usage a file write adds: the new size's growth, plus the name when it creates the file. */
  const fileGrowth = (path: string, meta: Metadata | undefined, newSize: number) =>
    newSize - (meta?.size ?? 0) + (meta ? 0 : nameBytes(path));

  /**
   * Checks a file write that takes a file from `oldSize` to `newSize` (creating it when `meta` is
   * undefined). A creation that would fail anyway reports the contract's error, not the quota.
   */
  function* checkFileWrite(path: string, meta: Metadata | undefined, newSize: number): Plan<void> {
    const creating = meta === undefined;
    if (creating) checkPathLength(path);
    const oldSize = meta?.size ?? 0;
    let problem: string | undefined;
    if (max.maxFileSize !== undefined && newSize > oldSize && newSize > max.maxFileSize) {
      problem = `file size ${newSize} exceeds the limit of ${max.maxFileSize} bytes`;
    } else if (counted && (creating || newSize > oldSize)) {
      const u = yield* currentUsage();
      if (creating && max.maxFiles !== undefined && u.files + 1 > max.maxFiles) {
        problem = `the store would hold ${u.files + 1} files, the limit is ${max.maxFiles}`;
      } else {
        problem = yield* bytesProblem(fileGrowth(path, meta, newSize));
      }
    }
    if (problem === undefined) return;
    if (creating) {
      const parent = yield* statOrUndefined(parentPath(path));
      checkFileTarget(path, undefined, parent?.kind);
    }
    throw quota(path, problem);
  }

  function account(bytes: number, files: number): void {
    if (usage) {
      usage.bytes += bytes;
      usage.files += files;
    }
  }

  /** A file write taking the file at `path` (described by `meta`) to `size` bytes: check, call, account. */
  function* fileWrite<T>(path: string, meta: Metadata | undefined, size: number, inner: Plan<T>): Plan<T> {
    yield* checkFileWrite(path, meta, size);
    const result = yield* mutate(inner);
    account(fileGrowth(path, meta, size), meta ? 0 : 1);
    return result;
  }

  /**
   * The metadata of the file at `path`, undefined when missing (see `fileWrite`); `'other'` for a
   * directory or a symbolic link, whose error (`is-a-directory`, `is-a-symlink`) the inner storage
   * reports before any limit.
   */
  function* fileMeta(path: string): Plan<Metadata | 'other' | undefined> {
    const meta = yield* statOrUndefined(path);
    return meta === undefined || meta.kind === 'file' ? meta : 'other';
  }

  /** The longest path a directory's entries would get when it moves from `from` to `to`. */
  function* longestMovedPath(from: string, to: string): Plan<number> {
    let longest = 0;
    const pending = [from];
    while (pending.length > 0) {
      const dir = pending.pop()!;
      for (const entry of yield* call('list', dir)) {
        const child = joinPath(dir, entry.name);
        longest = Math.max(longest, utf8Length(child));
        if (entry.kind === 'directory') pending.push(child);
      }
    }
    return longest - utf8Length(from) + utf8Length(to);
  }

  return {
    *write(path: string, data: Uint8Array): Plan<void> {
      const meta = yield* fileMeta(path);
      // On a directory or a link the inner storage reports is-a-directory or is-a-symlink.
      if (meta === 'other') return yield* call('write', path, data);
      yield* fileWrite(path, meta, data.length, call('write', path, data));
    },

    *writeAt(path: string, offset: number, data: Uint8Array): Plan<void> {
      const meta = yield* fileMeta(path);
      if (meta === 'other') return yield* call('writeAt', path, offset, data);
      const size = Math.max(meta?.size ?? 0, offset + data.length);
      if (data.length > 0) return yield* fileWrite(path, meta, size, call('writeAt', path, offset, data));
      // An empty write past the end may or may not extend the file: check the most it could do,
      // then ask rather than guess.
      yield* checkFileWrite(path, meta, size);
      yield* mutate(call('writeAt', path, offset, data));
      const after = yield* statOrUndefined(path);
      account(fileGrowth(path, meta, after?.size ?? size), meta ? 0 : 1);
    },

    *writeExtents(path: string, extents: readonly WriteExtent[], options?: WriteExtentsOptions): Plan<void> {
      const meta = yield* fileMeta(path);
      if (meta === 'other') return yield* call('writeExtents', path, extents, options);
      // Not the file the writer means: not-found before any limit (the inner storage checks again).
      checkIfFile(path, meta, options?.ifFile);
      // Empty extents do not extend the file: the final size is known before anything is written.
      let end = 0;
      for (const [offset, data] of extents) if (data.length > 0) end = Math.max(end, offset + data.length);
      const size = Math.max(meta?.size ?? 0, end);
      yield* fileWrite(path, meta, size, call('writeExtents', path, extents, options));
    },

    *append(path: string, data: Uint8Array): Plan<number> {
      const meta = yield* fileMeta(path);
      if (meta === 'other') return yield* call('append', path, data);
      return yield* fileWrite(path, meta, (meta?.size ?? 0) + data.length, call('append', path, data));
    },

    *create(path: string): Plan<void> {
      // Anything there: the inner storage's already-exists wins over any limit.
      if (path === '/' || (yield* statOrUndefined(path)) !== undefined) return yield* call('create', path);
      yield* fileWrite(path, undefined, 0, call('create', path));
    },

    *setSize(path: string, size: number): Plan<void> {
      const meta = yield* fileMeta(path);
      if (meta === 'other' || meta === undefined) return yield* call('setSize', path, size);
      yield* fileWrite(path, meta, size, call('setSize', path, size));
    },

    *delete(path: string): Plan<void> {
      const meta = yield* statOrUndefined(path);
      yield* mutate(call('delete', path));
      if (meta === undefined || meta.kind === 'directory') return;
      // A file or a link: both count as files, with their sizes, which go with their last name.
      if ((meta.linkCount ?? 1) > 1) account(-nameBytes(path), 0);
      else account(-meta.size - nameBytes(path), -1);
    },

    *link(from: string, to: string): Plan<void> {
      // A store without hard links, or anything at `to`: the inner storage's unsupported or
      // already-exists wins over any limit.
      if (!hardLinks || to === '/' || (yield* statOrUndefined(to)) !== undefined) {
        return yield* call('link', from, to);
      }
      checkPathLength(to);
      // The file is not stored again: only the new name counts, and no file.
      const growth = nameBytes(to);
      const problem = yield* bytesProblem(growth);
      if (problem !== undefined) {
        // A link that could not be made anyway reports the contract's error, not the quota.
        const source = yield* statOrUndefined(from);
        checkLink(from, to, source?.kind, undefined, (yield* statOrUndefined(parentPath(to)))?.kind);
        throw quota(to, problem);
      }
      yield* mutate(call('link', from, to));
      account(growth, 0);
    },

    *rmdir(path: string): Plan<void> {
      yield* mutate(call('rmdir', path));
      account(-nameBytes(path), 0);
    },

    *mkdir(path: string): Plan<void> {
      if (nameLimited) {
        try {
          checkPathLength(path);
        } catch (error) {
          if (!(yield* call('exists', path))) throw error;
        }
      }
      const problem = yield* bytesProblem(nameBytes(path));
      if (problem !== undefined) {
        // A mkdir that would fail anyway reports the contract's error, not the quota.
        const existing = yield* statOrUndefined(path);
        checkMkdir(path, existing?.kind, (yield* statOrUndefined(parentPath(path)))?.kind);
        throw quota(path, problem);
      }
      yield* mutate(call('mkdir', path));
      account(nameBytes(path), 0);
    },

    *symlink(path: string, target: string): Plan<void> {
      // A store without links, or anything there: the inner storage's unsupported or
      // already-exists wins over any limit.
      if (!symlinks || path === '/' || (yield* statOrUndefined(path)) !== undefined) {
        return yield* call('symlink', path, target);
      }
      checkPathLength(path);
      // Counted as a file; in maxBytes its name and its target (maxFileSize does not apply).
      const growth = nameBytes(path) + utf8Length(target);
      let problem: string | undefined;
      if (counted) {
        const u = yield* currentUsage();
        if (max.maxFiles !== undefined && u.files + 1 > max.maxFiles) {
          problem = `the store would hold ${u.files + 1} files (links count), the limit is ${max.maxFiles}`;
        } else {
          problem = yield* bytesProblem(growth);
        }
      }
      if (problem !== undefined) {
        // A link that could not be made anyway reports the contract's error, not the quota.
        checkSymlink(path, undefined, (yield* statOrUndefined(parentPath(path)))?.kind);
        throw quota(path, problem);
      }
      yield* mutate(call('symlink', path, target));
      account(growth, 1);
    },

    *rename(from: string, to: string): Plan<void> {
      if (from === to || from === '/' || to === '/') return yield* call('rename', from, to);
      const source = yield* statOrUndefined(from);
      if (source === undefined) return yield* call('rename', from, to);
      const target = yield* statOrUndefined(to);
      // Another name of the same file: POSIX renames nothing.
      if (target?.id !== undefined && target.id === source.id && source.kind !== 'directory') {
        return yield* call('rename', from, to);
      }
      if (target === undefined && nameLimited) {
        checkPathLength(to);
        if (
          max.maxPathLength !== undefined &&
          source.kind === 'directory' &&
          utf8Length(to) > utf8Length(from)
        ) {
          const longest = yield* longestMovedPath(from, to);
          if (longest > max.maxPathLength) {
            throw new VfsError(
              'name-too-long',
              `an entry of the moved directory would get a ${longest}-byte path, the limit is ${max.maxPathLength}`,
              { path: to },
            );
          }
        }
      }
      // The entry changes only its own name; a replaced target's name is freed, and its size with
      // its last name.
      const lastName = (target?.linkCount ?? 1) === 1;
      const freed = target ? nameBytes(to) + (lastName ? target.size : 0) : 0;
      const growth = nameBytes(to) - nameBytes(from) - freed;
      const problem = yield* bytesProblem(growth);
      if (problem !== undefined) {
        // A rename that would fail anyway reports the contract's error, not the quota.
        checkRename(from, to, source.kind, target?.kind, (yield* statOrUndefined(parentPath(to)))?.kind);
        throw quota(to, problem);
      }
      yield* mutate(call('rename', from, to));
      // A file or link replacing the last name of a file or link: one fewer.
      account(growth, source.kind !== 'directory' && target !== undefined && lastName ? -1 : 0);
    },
  };
}

/**
 * A storage that enforces {@link StorageLimits} on `storage`: total bytes (names included), file
 * count, file size (`quota-exceeded`), path and name length (`name-too-long`). A symbolic link
 * counts as a file in `maxFiles` and its name and target's UTF-8 bytes in `maxBytes`;
 * `maxFileSize` does not apply to it. A hard link counts its name only: a file with several names
 * is one file of its size. Every check runs
 * before the inner call, so a refused operation changes nothing. Only growth is refused (see
 * {@link StorageLimits}); the result declares the limits as {@link VfsStorage.limits} (the tighter
 * of these and any the inner storage declares).
 *
 * **Usage** (name and file bytes, files) is computed once, on the first write that needs it, by
 * walking the tree (one `list` per directory, and one `stat` per file on a store with hard links),
 * then tracked through the wrapper's own operations; an
 * `io` failure of the inner storage makes it walk again. Other writers of the same store (another process,
 * another storage object) bypass the wrapper and its tally: prefer a backend's native limits where
 * it has them (SQLite and PostgreSQL take `maxBytes`, `maxFiles` and `maxFileSize` options enforced
 * inside their own transactions), and use this wrapper for the rest or for backends without them.
 *
 * Mutating calls are serialized within the wrapper, so two concurrent writes cannot both pass a
 * check that only one of them fits. When `storage` has a sync twin, both forms of the result run
 * through it and share one tally; the result's twin passes `flush` and `readAtView` through.
 *
 * @throws {VfsError} `invalid-argument` for a limit that is not a non-negative safe integer
 */
export function limits(storage: VfsStorage, options: LimitsOptions): VfsStorage {
  const max = checkOptions(options);
  const declared = tighter(storage.limits ?? storage.sync?.limits, max);
  const { symlinks, hardLinks } = storage.capabilities;
  return wrapStorage(storage, { limits: declared, plans: plans(max, symlinks, hardLinks) });
}
