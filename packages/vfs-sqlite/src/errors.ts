import { isVfsError, toVfsError, VfsError } from '@eryx/vfs-core';

function sqliteCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** True for the errors that mean "another connection holds the lock; try again". */
export function isBusyError(error: unknown): boolean {
  const code = sqliteCode(error);
  return code !== undefined && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * The one place where native SQLite errors become {@link VfsError}s: `SQLITE_BUSY`/`SQLITE_LOCKED`
 * → `busy`, `SQLITE_FULL` → `quota-exceeded`, `SQLITE_READONLY` → `read-only`, anything else →
 * `io`, always with the native error as `cause`.
 */
export function translateError(error: unknown, path?: string): VfsError {
  if (isVfsError(error)) return error;
  const code = sqliteCode(error);
  const message = error instanceof Error ? error.message : undefined;
  if (code !== undefined) {
    if (isBusyError(error)) return new VfsError('busy', message, { path, cause: error });
    if (code.startsWith('SQLITE_FULL'))
      return new VfsError('quota-exceeded', message, { path, cause: error });
    if (code.startsWith('SQLITE_READONLY')) return new VfsError('read-only', message, { path, cause: error });
  }
  return toVfsError(error, path);
}
