import { isVfsError, pathSegments, VfsError, type VfsStorage } from '@eryx/vfs-core';
import { CliError, EXIT } from './errors.js';
import { readChunks } from './transfer.js';

/** The most symbolic links followed to resolve one path (Linux's limit). */
export const MAX_LINK_HOPS = 40;

/**
 * The path of what `path` names once the symbolic links on its way are followed, within the store:
 * a link's relative target is taken from the link's directory, an absolute one from the store's
 * root, and `..` stops at the root, as a kernel resolves them. Storage itself never follows links;
 * `cat` (and `cp` to stdout) do, as users expect of them. One `stat` when `path` is no link.
 * @throws `not-found` (naming `path`, also for a dangling link); a {@link CliError} after
 *   {@link MAX_LINK_HOPS} links (a loop)
 */
export async function resolveLinks(storage: VfsStorage, path: string): Promise<string> {
  let missing: unknown;
  try {
    if ((await storage.stat(path)).kind !== 'symlink') return path;
  } catch (error) {
    // A link may stand for a directory on the way: resolved below.
    if (!isVfsError(error, 'not-found')) throw error;
    missing = error;
  }
  const resolved: string[] = [];
  let pending = pathSegments(path);
  let hops = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      resolved.pop();
      continue;
    }
    const here = `/${[...resolved, name].join('/')}`;
    let kind: string;
    try {
      kind = (await storage.stat(here)).kind;
    } catch (error) {
      if (!isVfsError(error, 'not-found')) throw error;
      // No link on the way: the path itself is missing.
      if (hops === 0) throw missing ?? error;
      throw new VfsError('not-found', `no such file or directory: ${here} (a symbolic link leads there)`, {
        path,
        cause: error,
      });
    }
    if (kind === 'symlink') {
      if (++hops > MAX_LINK_HOPS) {
        throw new CliError(
          `too many levels of symbolic links (more than ${MAX_LINK_HOPS} followed)`,
          'a link leads back into its own chain; eryx-vfs stat <store> <path> shows where a link points',
          EXIT.refused,
          path,
        );
      }
      const target = await storage.readlink(here);
      if (target.startsWith('/')) resolved.length = 0;
      pending = [...target.split('/'), ...pending];
      continue;
    }
    resolved.push(name);
  }
  return `/${resolved.join('/')}`;
}

/**
 * A file's content as {@link readChunks} gives it, following the symbolic links on its way as
 * {@link resolveLinks} does (`cat`, `cp` to stdout). Optimistic: a path without links costs what
 * reading it costs; only a read refused because of a link (`is-a-symlink`, or `not-found` below the
 * root, where a link may stand for a directory) looks the links up.
 */
export async function* readFollowingLinks(storage: VfsStorage, path: string): AsyncGenerator<Uint8Array> {
  const chunks = readChunks(storage, path);
  let first: IteratorResult<Uint8Array>;
  try {
    first = await chunks.next();
  } catch (error) {
    const mayBeLink =
      isVfsError(error, 'is-a-symlink') || (isVfsError(error, 'not-found') && pathSegments(path).length > 1);
    if (!mayBeLink) throw error;
    const resolved = await resolveLinks(storage, path);
    if (resolved === path) throw error;
    yield* readChunks(storage, resolved);
    return;
  }
  if (first.done) return;
  yield first.value;
  yield* chunks;
}

/** An entry's name as `ls -l` and `tree` show it: `name -> target` for a symbolic link. */
export function linkLabel(name: string, target: string | undefined): string {
  return target === undefined ? name : `${name} -> ${target}`;
}
