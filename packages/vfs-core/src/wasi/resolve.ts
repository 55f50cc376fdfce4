import { isVfsError } from '../errors.js';
import { DEFAULT_MAX_PATH_LENGTH } from '../names.js';
import { parentPath } from '../path.js';
import { knownNormal } from '../path-memo.js';
import type { Metadata } from '../types.js';
import { fail } from './errors.js';
import type { Mount, Node } from './mount.js';
import { isOrphanPath } from './orphans.js';
import type { Located, MountTree } from './tree.js';

/** The most symbolic links one lookup follows before it is `loop` (Linux's `MAXSYMLINKS`). */
export const MAX_SYMLINKS = 40;

/**
 * `dir` joined with `path` when `path` needs no normalizing (no `.`, `..` or empty segment, no
 * trailing slash): most paths. Joined to a normal directory such a path is normal already, and the
 * storage's own check of the same string is then a comparison (see `knownNormal`).
 */
function joinedIfPlain(dir: string, path: string): string | undefined {
  if (path.charCodeAt(0) === 46 /* . */ || path.includes('/.') || path.includes('//') || path.endsWith('/')) {
    return undefined;
  }
  return knownNormal(dir === '/' ? `/${path}` : `${dir}/${path}`);
}

function statOrNothing(located: Located): Metadata | undefined {
  const limit = Error.stackTraceLimit;
  // A miss is common (every O_CREAT of a new file): no stack trace for its error.
  Error.stackTraceLimit = 0;
  try {
    return located.mount.storage.stat(located.path);
  } catch (error) {
    if (isVfsError(error, 'not-found') || isVfsError(error, 'not-a-directory')) return undefined;
    throw error;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Whether a lookup in this mount must look for symbolic links on the way. */
const hasLinks = (mount: Mount) => mount.links;

/**
 * Resolves a guest path relative to the directory `dir`, as WASI defines capabilities: the path
 * may never leave `dir` (a `..` above it, an absolute path, or a symbolic link whose target lies
 * outside it is `not-permitted`, as in wasmtime), and it is routed through the mount tree (a path
 * below a nested mount point belongs to that mount).
 *
 * Symbolic links, in mounts whose storage stores them, are resolved here, never by storage: every
 * link on the way is followed, and the last component too when `follow` is set (or the path ends
 * with `/`, which asks for a directory). A relative target is resolved from the link's directory,
 * an absolute one is a guest path; either must stay within `dir` and within the link's own mount
 * (nothing reaches the host or another mount through a stored link); more than
 * {@link MAX_SYMLINKS} links is `loop`. `..` is resolved after the link before it, as POSIX does.
 *
 * Cost: a path without `.`/`..` segments in a mount without links is a string join, as before
 * links existed. In a mount with links it costs one `stat` of its directory (none when the path is
 * one name) and, when `follow` is set, one of the path itself; a full walk (a `stat` per component)
 * only when those find something other than directories and files: a link, or nothing.
 */
export function resolvePath(tree: MountTree, dir: Node, path: string, follow: boolean): Located {
  if (typeof path !== 'string' || path.includes('\0')) return fail('invalid');
  if (path === '') return fail('no-entry');
  if (path.startsWith('/')) return fail('not-permitted');
  // Linux refuses a path of PATH_MAX bytes or more before looking anything up; so do we, which
  // also bounds the walk a hostile path can ask for.
  if (path.length * 3 >= DEFAULT_MAX_PATH_LENGTH && Buffer.byteLength(path) >= DEFAULT_MAX_PATH_LENGTH) {
    return fail('name-too-long');
  }
  const plain = joinedIfPlain(dir.path, path);
  if (plain !== undefined) {
    const located = tree.locateIn(dir.mount, plain);
    if (!hasLinks(located.mount) || plainHasNoLinks(located, path, follow)) return located;
  }
  return walk(tree, dir, path, follow);
}

/**
 * Whether a plain path (see {@link joinedIfPlain}) of a mount with links reaches its entry without
 * a link: its directory is a directory (so every ancestor is one, no link among them) and, when
 * links are followed, the entry is not a link.
 */
function plainHasNoLinks(located: Located, path: string, follow: boolean): boolean {
  if (path.includes('/')) {
    // The directory of a nested mount's root lies in another mount: walk.
    if (located.path === '/') return false;
    const parent = { mount: located.mount, path: parentPath(located.path) };
    if (statOrNothing(parent)?.kind !== 'directory') return false;
  }
  return !follow || statOrNothing(located)?.kind !== 'symlink';
}

/** The full lookup of {@link resolvePath}: one component at a time. */
function walk(tree: MountTree, dir: Node, path: string, follow: boolean): Located {
  /** The components resolved so far, below `dir` (never a link). */
  const stack: string[] = [];
  /** What is left to resolve, last component first (so `pop` takes the next). */
  const pending = path.split('/').reverse();
  let links = 0;
  /** The mount of the last link followed: the lookup may not leave it. */
  let linkMount: Mount | undefined;
  const at = (): Located => {
    const relative = stack.join('/');
    const located = tree.locateIn(
      dir.mount,
      relative === '' ? dir.path : knownNormal(dir.path === '/' ? `/${relative}` : `${dir.path}/${relative}`),
    );
    if (linkMount !== undefined && located.mount !== linkMount) return fail('not-permitted');
    return located;
  };
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      if (stack.length === 0) return fail('not-permitted');
      stack.pop();
      continue;
    }
    stack.push(name);
    const last = pending.every((rest) => rest === '' || rest === '.');
    // A trailing `/` or `/.` asks for a directory: a link there is followed.
    if (last && !follow && pending.length === 0) break;
    const located = at();
    // Without links a lookup is lexical, as it always was (the storage call reports what is missing).
    if (!hasLinks(located.mount)) continue;
    if (located.mount.hidesOrphans && isOrphanPath(located.path)) return fail('no-entry');
    const meta = statOrNothing(located);
    if (meta === undefined) {
      if (last) break;
      return fail('no-entry');
    }
    if (meta.kind === 'directory') continue;
    if (meta.kind === 'file') {
      if (last && pending.length === 0) break;
      return fail('not-directory');
    }
    if (++links > MAX_SYMLINKS) return fail('loop');
    const target = located.mount.storage.readlink(located.path);
    linkMount = located.mount;
    stack.pop();
    let rest = target;
    if (target.startsWith('/')) {
      // A guest path: followed only below the directory the lookup started from.
      const base = tree.guestPathOf(dir.mount, dir.path);
      if (base === '/') rest = target.slice(1);
      else if (target === base || target.startsWith(`${base}/`)) rest = target.slice(base.length + 1);
      else return fail('not-permitted');
      stack.length = 0;
    }
    for (const part of rest.split('/').reverse()) pending.push(part);
  }
  return at();
}
