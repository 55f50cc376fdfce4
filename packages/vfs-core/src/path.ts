import { VfsError } from './errors.js';
import { isKnownNormal, knownNormal } from './path-memo.js';

// With the `u` flag a surrogate pair is one code point, so this matches only lone surrogates.
const LONE_SURROGATES = /[\uD800-\uDFFF]/gu;

/** What {@link scan} finds in a path. */
const NORMAL = 0;
const NEEDS_NORMALIZING = 1;
const NUL = 2;
const ILL_FORMED = 3;

/**
 * One pass over an absolute path: a NUL, a lone surrogate (no UTF-8 form, so two such names could
 * become one stored name), or something to normalize (an empty, `.` or `..` segment, or a trailing
 * slash; a segment merely starting with `.` is normalized too). One loop costs less than a search
 * per rule on the short paths most calls carry.
 */
function scan(path: string): number {
  const last = path.length - 1;
  let shape = last > 0 && path.charCodeAt(last) === 47 ? NEEDS_NORMALIZING : NORMAL;
  for (let i = 0; i <= last; i++) {
    const c = path.charCodeAt(i);
    if (c === 47) {
      const next = path.charCodeAt(i + 1);
      if (next === 47 || next === 46) shape = NEEDS_NORMALIZING;
    } else if (c === 0) {
      return NUL;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = path.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return ILL_FORMED;
      i++;
    }
  }
  return shape;
}

/**
 * Normalizes a storage path. The result is absolute, `/`-separated, without `.` or `..` segments,
 * empty segments or a trailing slash; the root is `/`.
 *
 * `..` is resolved lexically (storage has no symlinks); a `..` that would climb above the root is
 * an `invalid-path` error, never clamped to `/`. Relative paths, non-strings, paths containing
 * NUL and ill-formed strings (a lone UTF-16 surrogate, which has no UTF-8 form, so two such names
 * could become one stored name) are `invalid-path` too.
 *
 * @throws {VfsError} `invalid-path`
 */
export function normalizePath(path: unknown): string {
  if (isKnownNormal(path)) return path as string;
  if (typeof path !== 'string') {
    throw new VfsError('invalid-path', `path must be a string, got ${describe(path)}`);
  }
  if (!path.startsWith('/')) {
    throw new VfsError('invalid-path', 'path must be absolute (start with "/")', { path });
  }
  const shape = scan(path);
  if (shape === NUL) {
    throw new VfsError('invalid-path', 'path must not contain NUL', { path: path.replace(/\0/g, '\\0') });
  }
  if (shape === ILL_FORMED) {
    throw new VfsError('invalid-path', 'path must be well-formed UTF-16 (it has a lone surrogate)', {
      path: path.replace(LONE_SURROGATES, '\uFFFD'),
    });
  }
  // Fast path: most paths are already normal (no empty, "." or ".." segments, no trailing slash).
  if (shape === NORMAL) return knownNormal(path);
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) throw new VfsError('invalid-path', 'path escapes the root', { path });
      out.pop();
      continue;
    }
    out.push(segment);
  }
  return knownNormal(`/${out.join('/')}`);
}

/** True when `path` is already in the normal form {@link normalizePath} returns. */
export function isNormalizedPath(path: string): boolean {
  try {
    return normalizePath(path) === path;
  } catch {
    return false;
  }
}

/** The parent of a normalized path; the parent of `/` is `/`. */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The last segment of a normalized path; `''` for `/`. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a normalized directory path and one entry name. */
export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** The segments of a normalized path; `[]` for `/`. */
export function pathSegments(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

/** True when `path` is `ancestor` itself or lies below it (both normalized). */
export function isSameOrDescendant(ancestor: string, path: string): boolean {
  if (ancestor === '/') return true;
  return path === ancestor || path.startsWith(`${ancestor}/`);
}

/** Every ancestor of a normalized path from the root down, excluding the path itself. */
export function ancestorsOf(path: string): string[] {
  const result: string[] = [];
  let current = '/';
  for (const segment of pathSegments(path).slice(0, -1)) {
    current = joinPath(current, segment);
    result.push(current);
  }
  return path === '/' ? [] : ['/', ...result];
}

/** Replaces the `from` prefix of `path` with `to` (used by directory renames). */
export function rebasePath(path: string, from: string, to: string): string {
  if (path === from) return to;
  return joinPath(to, path.slice(from === '/' ? 1 : from.length + 1));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
