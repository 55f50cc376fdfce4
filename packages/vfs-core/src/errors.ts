/**
 * The stable error codes of every {@link VfsError}. Callers branch on `code`, never on the message.
 *
 * | code | meaning | `wasi:filesystem` error code |
 * |---|---|---|
 * | `not-found` | the path, or one of its parents, does not exist | `no-entry` |
 * | `already-exists` | the target exists and the operation would not replace it | `exist` |
 * | `not-a-directory` | a directory was expected (a parent, `list`, `rmdir`) but a file is there | `not-directory` |
 * | `is-a-directory` | a file was expected but a directory is there | `is-directory` |
 * | `is-a-symlink` | a file's data was asked of a symbolic link (storage never follows links) | `loop` |
 * | `directory-not-empty` | `rmdir` of a directory that has entries | `not-empty` |
 * | `invalid-path` | relative, escaping the root, containing NUL, not a string, or an impossible move (into its own subtree) | `invalid` |
 * | `invalid-offset` | an offset, length or size that is not a non-negative safe integer | `invalid` |
 * | `invalid-argument` | any other malformed argument (data that is not a `Uint8Array`, a bad option) | `invalid` |
 * | `name-too-long` | a path or a path segment exceeds a configured limit | `name-too-long` |
 * | `permission-denied` | the caller may not do this here (a restricted mount) | `access` |
 * | `read-only` | a write of any kind to read-only storage | `read-only` |
 * | `quota-exceeded` | a limit (total bytes, file count, file size) would be exceeded; nothing was changed | `insufficient-space` |
 * | `busy` | the root cannot be removed or renamed; a resource is locked | `busy` |
 * | `cross-device` | a rename between two different mounts | `cross-device` |
 * | `unsupported` | the backend or host does not offer this operation (symlinks, hard links) | `unsupported` |
 * | `io` | the backend failed (network, driver, corruption); the `cause` holds the native error | `io` |
 */
export type VfsErrorCode =
  | 'not-found'
  | 'already-exists'
  | 'not-a-directory'
  | 'is-a-directory'
  | 'is-a-symlink'
  | 'directory-not-empty'
  | 'invalid-path'
  | 'invalid-offset'
  | 'invalid-argument'
  | 'name-too-long'
  | 'permission-denied'
  | 'read-only'
  | 'quota-exceeded'
  | 'busy'
  | 'cross-device'
  | 'unsupported'
  | 'io';

/** Every {@link VfsErrorCode}, for exhaustive tests and switches. */
export const VFS_ERROR_CODES: readonly VfsErrorCode[] = [
  'not-found',
  'already-exists',
  'not-a-directory',
  'is-a-directory',
  'is-a-symlink',
  'directory-not-empty',
  'invalid-path',
  'invalid-offset',
  'invalid-argument',
  'name-too-long',
  'permission-denied',
  'read-only',
  'quota-exceeded',
  'busy',
  'cross-device',
  'unsupported',
  'io',
];

/** The `wasi:filesystem/types` `error-code` enum cases that {@link VfsErrorCode}s map to. */
export type WasiErrorCode =
  | 'no-entry'
  | 'exist'
  | 'not-directory'
  | 'is-directory'
  | 'loop'
  | 'not-empty'
  | 'invalid'
  | 'name-too-long'
  | 'access'
  | 'read-only'
  | 'insufficient-space'
  | 'busy'
  | 'cross-device'
  | 'unsupported'
  | 'io';

const WASI_CODES: Record<VfsErrorCode, WasiErrorCode> = {
  'not-found': 'no-entry',
  'already-exists': 'exist',
  'not-a-directory': 'not-directory',
  'is-a-directory': 'is-directory',
  'is-a-symlink': 'loop',
  'directory-not-empty': 'not-empty',
  'invalid-path': 'invalid',
  'invalid-offset': 'invalid',
  'invalid-argument': 'invalid',
  'name-too-long': 'name-too-long',
  'permission-denied': 'access',
  'read-only': 'read-only',
  'quota-exceeded': 'insufficient-space',
  busy: 'busy',
  'cross-device': 'cross-device',
  unsupported: 'unsupported',
  io: 'io',
};

/** The `wasi:filesystem` error code a {@link VfsErrorCode} is reported as to a guest. */
export function toWasiErrorCode(code: VfsErrorCode): WasiErrorCode {
  return WASI_CODES[code];
}

/** Options of the {@link VfsError} constructor. */
export interface VfsErrorOptions {
  /** The path the operation was about, as the caller gave it (or normalized). */
  path?: string;
  /** The native error this one translates (driver, network, file system). */
  cause?: unknown;
}

const DEFAULT_MESSAGES: Record<VfsErrorCode, string> = {
  'not-found': 'no such file or directory',
  'already-exists': 'file or directory already exists',
  'not-a-directory': 'not a directory',
  'is-a-directory': 'is a directory',
  'is-a-symlink': 'is a symbolic link',
  'directory-not-empty': 'directory not empty',
  'invalid-path': 'invalid path',
  'invalid-offset': 'invalid offset or size',
  'invalid-argument': 'invalid argument',
  'name-too-long': 'name too long',
  'permission-denied': 'permission denied',
  'read-only': 'read-only storage',
  'quota-exceeded': 'quota exceeded',
  busy: 'resource busy',
  'cross-device': 'cross-device operation',
  unsupported: 'operation not supported',
  io: 'storage I/O error',
};

/**
 * The one error class of eryx-vfs. Every failure of a storage, wrapper or host operation is a
 * `VfsError`; its {@link VfsError.code | code} is stable, its message is for humans.
 *
 * A backend translates its native errors in one place and passes the original as `cause`.
 */
export class VfsError extends Error {
  override readonly name = 'VfsError';
  /** The stable, machine-readable reason. */
  readonly code: VfsErrorCode;
  /** The path the failed operation was about, when there is one. */
  readonly path: string | undefined;

  constructor(code: VfsErrorCode, message?: string, options: VfsErrorOptions = {}) {
    const text = message ?? DEFAULT_MESSAGES[code];
    super(options.path !== undefined ? `${code}: ${text} (${options.path})` : `${code}: ${text}`, {
      cause: options.cause,
    });
    this.code = code;
    this.path = options.path;
  }

  /** The `wasi:filesystem` error code this error is reported as to a guest. */
  get wasiCode(): WasiErrorCode {
    return toWasiErrorCode(this.code);
  }
}

/**
 * True when `error` is a {@link VfsError} (optionally with the given code). Checks the shape rather
 * than `instanceof`, so errors from a second copy of this package are recognised too.
 */
export function isVfsError(error: unknown, code?: VfsErrorCode): error is VfsError {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; code?: unknown };
  if (e.name !== 'VfsError' || typeof e.code !== 'string') return false;
  return code === undefined || e.code === code;
}

/**
 * Returns `error` if it already is a {@link VfsError}, else wraps it as an `io` error with the
 * original as `cause`. Backends call this in their single error-translation point.
 */
export function toVfsError(error: unknown, path?: string): VfsError {
  if (isVfsError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new VfsError('io', message, { path, cause: error });
}
