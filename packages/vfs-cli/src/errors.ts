import type { VfsError, VfsErrorCode } from '@eryx/vfs-core';

/**
 * `isVfsError` of core, by the same shape check (a second copy of core is recognised too). Written
 * here so that start-up (`--help`, `--version`, a usage error) does not load core at all.
 */
function isVfsError(error: unknown): error is VfsError {
  const e = error as { name?: unknown; code?: unknown } | null;
  return typeof e === 'object' && e !== null && e.name === 'VfsError' && typeof e.code === 'string';
}

/**
 * The exit codes of `eryx-vfs` (the `run` command exits with the guest's own code instead, 124 on
 * timeout and 130 when interrupted).
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | refused by the store's state (already exists, is a directory, is a symbolic link, not empty, too many levels of links, ...), or an unexpected error |
 * | 2 | usage error: unknown command or option, missing or extra argument, malformed store URL or path |
 * | 3 | not found: a path, a database file, a namespace |
 * | 4 | storage failure: I/O, network, quota, read-only store, permission |
 */
export const EXIT = {
  ok: 0,
  refused: 1,
  usage: 2,
  notFound: 3,
  storage: 4,
  timeout: 124,
  interrupted: 130,
} as const;

/**
 * An error of the command line itself (a bad flag, a missing argument): exit code 2 unless `exit`
 * says otherwise. `hint` is what the user should do.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly hint?: string,
    readonly exit: number = EXIT.usage,
    readonly path?: string,
  ) {
    super(message);
  }
}

const CODE_EXIT: Record<VfsErrorCode, number> = {
  'not-found': EXIT.notFound,
  'invalid-path': EXIT.usage,
  'invalid-offset': EXIT.usage,
  'invalid-argument': EXIT.usage,
  'name-too-long': EXIT.usage,
  'already-exists': EXIT.refused,
  'not-a-directory': EXIT.refused,
  'is-a-directory': EXIT.refused,
  'is-a-symlink': EXIT.refused,
  'directory-not-empty': EXIT.refused,
  busy: EXIT.refused,
  'cross-device': EXIT.refused,
  unsupported: EXIT.refused,
  'permission-denied': EXIT.storage,
  'read-only': EXIT.storage,
  'quota-exceeded': EXIT.storage,
  io: EXIT.storage,
};

const CODE_HINT: Record<VfsErrorCode, string> = {
  'not-found': 'check the path (eryx-vfs ls <store> <dir> shows what is there)',
  'invalid-path': 'store paths are absolute, like /dir/file.txt',
  'invalid-offset': 'sizes and offsets are non-negative integers',
  'invalid-argument': 'see eryx-vfs <command> --help',
  'name-too-long': 'use a shorter name (255 bytes a name, 4,096 a path by default)',
  'already-exists': 'remove it first or choose another name',
  'not-a-directory': 'a file is in the way; remove or rename it',
  'is-a-directory': 'name a file, or use -r for a directory',
  'is-a-symlink':
    'a symbolic link is there, and storage never writes through one: name its target (eryx-vfs stat <store> <path> shows it), or remove the link (rm removes only the link)',
  'directory-not-empty': 'use rm -r to remove it with everything in it',
  busy: 'the root cannot be removed or moved; retry later if the store is locked',
  'cross-device': 'copy, then remove the source',
  unsupported: 'this store does not offer that operation',
  'permission-denied': 'the store does not allow this here',
  'read-only': 'the store is read-only; open it without readOnly=true',
  'quota-exceeded': 'free some space, or raise the limit in the store URL (maxBytes, maxFiles, maxFileSize)',
  io: 'check that the store is reachable and the credentials are right; --verbose shows every storage call',
};

/** Node's host file system error codes, as the {@link VfsErrorCode} they mean. */
const HOST_CODES: Record<string, VfsErrorCode> = {
  ENOENT: 'not-found',
  EEXIST: 'already-exists',
  ENOTDIR: 'not-a-directory',
  EISDIR: 'is-a-directory',
  // What the WASI host reports for is-a-symlink; on the host, also a loop of links.
  ELOOP: 'is-a-symlink',
  ENOTEMPTY: 'directory-not-empty',
  EACCES: 'permission-denied',
  EPERM: 'permission-denied',
  EROFS: 'read-only',
  ENOSPC: 'quota-exceeded',
  EDQUOT: 'quota-exceeded',
  ENAMETOOLONG: 'name-too-long',
  EBUSY: 'busy',
  EXDEV: 'cross-device',
};

/** The {@link VfsErrorCode} a Node.js file system error (`ENOENT`, ...) stands for, if any. */
export function hostErrorCode(error: unknown): VfsErrorCode | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? HOST_CODES[code] : undefined;
}

/** The exit code for an error thrown by a command. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exit;
  if (isVfsError(error)) return CODE_EXIT[error.code] ?? EXIT.refused;
  const host = hostErrorCode(error);
  if (host) return CODE_EXIT[host];
  return EXIT.refused;
}

/** The message of a {@link VfsError} without its `code: ` prefix and ` (path)` suffix. */
function bareMessage(error: VfsError): string {
  let text = error.message;
  if (text.startsWith(`${error.code}: `)) text = text.slice(error.code.length + 2);
  if (error.path !== undefined && text.endsWith(` (${error.path})`)) {
    text = text.slice(0, -(error.path.length + 3));
  }
  return text;
}

/**
 * The one line `eryx-vfs` prints for an error: `eryx-vfs: <command>: <path>: <what happened> — <what to do>`
 * (the path part only when the error names one).
 */
export function formatError(command: string | undefined, error: unknown): string {
  const head = command ? `eryx-vfs: ${command}: ` : 'eryx-vfs: ';
  let path: string | undefined;
  let what: string;
  let hint: string | undefined;
  if (error instanceof CliError) {
    path = error.path;
    what = error.message;
    hint = error.hint;
  } else if (isVfsError(error)) {
    path = error.path;
    what = bareMessage(error);
    hint = CODE_HINT[error.code].replace('<command>', command ?? '<command>');
  } else {
    const host = hostErrorCode(error);
    const e = error as { path?: unknown; message?: unknown; syscall?: unknown };
    if (host) {
      path = typeof e.path === 'string' ? e.path : undefined;
      // Node's message repeats the code, syscall and path: `ENOENT: no such file or directory, open 'x'`.
      what = `${String(e.message ?? '')
        .replace(/^[A-Z]+: /, '')
        .replace(/, \w+ '.*'$/, '')} (host file system)`;
      hint = CODE_HINT[host];
    } else {
      what = error instanceof Error ? error.message : String(error);
      hint = 'this looks like a bug in eryx-vfs; run again with --verbose and report it';
    }
  }
  const line = `${head}${path !== undefined ? `${path}: ` : ''}${what}${hint ? ` — ${hint}` : ''}`;
  // One line, always: a multi-line driver message is folded.
  return line.replace(/\s*\n\s*/g, ' ');
}
