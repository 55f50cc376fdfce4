import { isVfsError, VfsError } from '@eryx/vfs-core';

/**
 * SQLSTATEs that mean "run the same operation again": nothing was changed. A unique violation
 * (23505) is one too: every insert says ON CONFLICT, so only a rename's UPDATE of a path raises it,
 * when another transaction created the target after the rename looked; the retry sees the target.
 */
const RETRYABLE = new Set(['40001', '40P01', '23505']);

/** True when `error` is a serialization failure or a deadlock, which the backend retries. */
export function isRetryable(error: unknown): boolean {
  return RETRYABLE.has(sqlState(error) ?? '');
}

/**
 * True when the connection broke (server shutdown or termination, network reset). Whether a change
 * in flight was committed is then unknown, so only reads are retried after it.
 */
export function isConnectionLoss(error: unknown): boolean {
  const state = sqlState(error);
  if (state !== undefined) return state.startsWith('57P') || state.startsWith('08');
  const errno = (error as { code?: unknown } | null)?.code;
  if (errno === 'ECONNRESET' || errno === 'EPIPE') return true;
  return error instanceof Error && /Connection terminated|connection.*(closed|ended)/i.test(error.message);
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

const NETWORK = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * The one place where driver and server errors become {@link VfsError}s (all `io`, except `busy`
 * for retries that ran out), with a message that says what went wrong and the original as `cause`.
 */
export function translateError(error: unknown, path: string | undefined, server: string): VfsError {
  if (isVfsError(error)) return error;
  const state = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  const io = (text: string) => new VfsError('io', `${text}: ${message}`, { path, cause: error });
  if (state !== undefined) {
    if (state === '40001' || state === '40P01') {
      return new VfsError('busy', `PostgreSQL kept aborting the transaction (${state}), gave up retrying`, {
        path,
        cause: error,
      });
    }
    if (state === '28P01' || state === '28000') return io(`PostgreSQL at ${server} rejected the credentials`);
    if (state === '3D000') return io(`PostgreSQL at ${server}: the database does not exist`);
    // A missing table, function, schema or column (one a later version added).
    if (state === '42P01' || state === '42883' || state === '3F000' || state === '42703') {
      return io('the eryx-vfs schema is missing or outdated; run migrate()');
    }
    if (state.startsWith('57P') || state.startsWith('08')) {
      return io(`the connection to PostgreSQL at ${server} was closed by the server`);
    }
    if (state === 'P0002') return io('the namespace no longer exists');
    if (state === '53300') return io(`PostgreSQL at ${server} has too many connections`);
    return io(`PostgreSQL error ${state}`);
  }
  const errno = (error as { code?: unknown } | null)?.code;
  // A reset or a broken pipe ends a connection that was made (often mid-query), as isConnectionLoss says.
  if (errno === 'ECONNRESET' || errno === 'EPIPE') {
    return io(`the connection to PostgreSQL at ${server} was lost (${errno})`);
  }
  if (typeof errno === 'string' && NETWORK.has(errno)) {
    return io(`cannot reach PostgreSQL at ${server} (${errno})`);
  }
  if (/timeout/i.test(message)) return io(`cannot reach PostgreSQL at ${server} (timeout)`);
  if (/Connection terminated|connection.*(closed|ended)/i.test(message)) {
    return io(`the connection to PostgreSQL at ${server} was lost`);
  }
  return io('PostgreSQL storage failed');
}
