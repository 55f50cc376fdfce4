/**
 * The last path known to be normal (see `normalizePath`). Layers hand the same path string down
 * (the WASI host resolves it, then the storage and each wrapper around it check it again), so the
 * checks after the first are one comparison. Internal: not exported from the package.
 */
let lastNormal = '/';

/** `path` is the last path known to be normal. */
export function isKnownNormal(path: unknown): boolean {
  return path === lastNormal;
}

/**
 * Records that `path` is normal: only for a path that is (normalizePath, or a proven join of
 * well-formed strings: a guest's strings are, as jco decodes them from UTF-8).
 */
export function knownNormal(path: string): string {
  lastNormal = path;
  return path;
}
