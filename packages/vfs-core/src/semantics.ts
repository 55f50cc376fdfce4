import { VfsError } from './errors.js';
import { isSameOrDescendant } from './path.js';
import type { FileKind } from './types.js';

/*
 * The contract's error precedence as pure functions. A backend looks up the kinds involved (in its
 * own transaction, in as few round trips as it likes) and lets these decide, so every backend
 * reports the same code for the same situation.
 */

/** `undefined` means nothing exists at that path. */
export type Kind = FileKind | undefined;

function parentMustBeDirectory(path: string, parent: Kind): void {
  if (parent === undefined) throw new VfsError('not-found', 'parent directory does not exist', { path });
  if (parent === 'file') throw new VfsError('not-a-directory', 'parent is a file', { path });
  // Storage never follows links: a link stands where a directory is needed as a file would.
  if (parent === 'symlink') throw new VfsError('not-a-directory', 'parent is a symbolic link', { path });
}

/**
 * For write, writeAt, writeExtents and append: whether the file exists already (`true`) or will be
 * created (`false`).
 * @throws `is-a-directory`; `is-a-symlink`; `not-found` / `not-a-directory` (parent, only when
 *   creating)
 */
export function checkFileTarget(path: string, existing: Kind, parent: Kind): boolean {
  if (existing === 'directory') throw new VfsError('is-a-directory', undefined, { path });
  if (existing === 'symlink') throw new VfsError('is-a-symlink', undefined, { path });
  if (existing === 'file') return true;
  parentMustBeDirectory(path, parent);
  return false;
}

/** For read, readAt and setSize. @throws `not-found`; `is-a-directory`; `is-a-symlink` */
export function checkExistingFile(path: string, existing: Kind): void {
  if (existing === undefined) throw new VfsError('not-found', undefined, { path });
  if (existing === 'directory') throw new VfsError('is-a-directory', undefined, { path });
  if (existing === 'symlink') throw new VfsError('is-a-symlink', undefined, { path });
}

/** For list (and rmdir). @throws `not-found`; `not-a-directory` (a file or a symbolic link) */
export function checkExistingDirectory(path: string, existing: Kind): void {
  if (existing === undefined) throw new VfsError('not-found', undefined, { path });
  if (existing !== 'directory') throw new VfsError('not-a-directory', undefined, { path });
}

/** For stat and setTimes. @throws `not-found` */
export function checkExists(path: string, existing: Kind): asserts existing is FileKind {
  if (existing === undefined) throw new VfsError('not-found', undefined, { path });
}

/**
 * For mkdir: nothing may be there, not even a file (the root always is a directory).
 * @throws `already-exists`; `not-found` / `not-a-directory` (parent)
 */
export function checkMkdir(path: string, existing: Kind, parent: Kind): void {
  if (existing !== undefined || path === '/') throw new VfsError('already-exists', undefined, { path });
  parentMustBeDirectory(path, parent);
}

/** For create: the same rule as {@link checkMkdir}, since both make something new where nothing is. */
export const checkCreate: (path: string, existing: Kind, parent: Kind) => void = checkMkdir;

/**
 * For symlink: the same rule as {@link checkMkdir} (anything at `path`, the root included, is
 * `already-exists`; the parent must be a directory).
 */
export const checkSymlink: (path: string, existing: Kind, parent: Kind) => void = checkMkdir;

/** For readlink. @throws `not-found`; `invalid-argument` (a file or a directory: not a link) */
export function checkReadlink(path: string, existing: Kind): void {
  if (existing === undefined) throw new VfsError('not-found', undefined, { path });
  if (existing !== 'symlink') throw new VfsError('invalid-argument', 'not a symbolic link', { path });
}

/**
 * For link, in the contract's order: `not-found` (source); `not-found` / `not-a-directory` (target
 * parent); `already-exists` (anything at the target, the root included); `is-a-directory` (a
 * directory cannot be linked).
 */
export function checkLink(from: string, to: string, source: Kind, target: Kind, targetParent: Kind): void {
  if (source === undefined) throw new VfsError('not-found', undefined, { path: from });
  if (to !== '/') parentMustBeDirectory(to, targetParent);
  if (target !== undefined || to === '/') throw new VfsError('already-exists', undefined, { path: to });
  if (source === 'directory')
    throw new VfsError('is-a-directory', 'a directory cannot be linked', { path: from });
}

/** For rmdir. @throws `busy` (root); `not-found`; `not-a-directory`; `directory-not-empty` */
export function checkRmdir(path: string, existing: Kind, hasEntries: boolean): void {
  if (path === '/') throw new VfsError('busy', 'the root cannot be removed', { path });
  checkExistingDirectory(path, existing);
  if (hasEntries) throw new VfsError('directory-not-empty', undefined, { path });
}

/** For delete, of a file or a symbolic link (never its target). @throws `not-found`; `is-a-directory` */
export function checkDelete(path: string, existing: Kind): void {
  if (existing === undefined) throw new VfsError('not-found', undefined, { path });
  if (existing === 'directory') throw new VfsError('is-a-directory', undefined, { path });
}

/** What a valid rename does; `replace-file` replaces a file or a symbolic link at the target. */
export type RenamePlan = 'noop' | 'move' | 'replace-file';

/**
 * For rename, in the contract's order: `busy` (root); `not-found` (source); `invalid-path` (a
 * directory into its own subtree); `not-found` / `not-a-directory` (target parent); then
 * `is-a-directory`, `not-a-directory` or `already-exists` for an existing target. `sameFile`: the
 * target is another name (hard link) of the source file, which POSIX renames as a no-op.
 */
export function checkRename(
  from: string,
  to: string,
  source: Kind,
  target: Kind,
  targetParent: Kind,
  sameFile = false,
): RenamePlan {
  if (from === '/' || to === '/') throw new VfsError('busy', 'the root cannot be renamed', { path: from });
  if (source === undefined) throw new VfsError('not-found', undefined, { path: from });
  if (from === to) return 'noop';
  if (source === 'directory' && isSameOrDescendant(from, to)) {
    throw new VfsError('invalid-path', 'cannot move a directory into its own subtree', { path: to });
  }
  parentMustBeDirectory(to, targetParent);
  if (target === undefined) return 'move';
  if (sameFile && source !== 'directory') return 'noop';
  // A file and a symbolic link move alike: the link itself, never its target.
  if (source !== 'directory' && target === 'directory')
    throw new VfsError('is-a-directory', undefined, { path: to });
  if (source === 'directory' && target !== 'directory')
    throw new VfsError('not-a-directory', undefined, { path: to });
  if (source === 'directory') {
    throw new VfsError('already-exists', 'directories are never merged', { path: to });
  }
  return 'replace-file';
}
