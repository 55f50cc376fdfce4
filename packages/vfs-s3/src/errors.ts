import { isVfsError, VfsError } from '@eryx/vfs-core';

/** Thrown inside the backend when a claim lost a race or a write of the entry is in flight; retried. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

interface AwsLikeError {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  cause?: unknown;
}

function info(error: unknown): { name: string; status: number | undefined; attempts: number | undefined } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as AwsLikeError;
  return {
    name: e.name ?? e.Code ?? e.code ?? '',
    status: e.$metadata?.httpStatusCode,
    attempts: e.$metadata?.attempts,
  };
}

/** The object (or range) is not there. */
export function isMissingKey(error: unknown): boolean {
  const { name, status } = info(error);
  return name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket');
}

/** A conditional write (`If-None-Match` / `If-Match`) was refused. */
export function isPreconditionFailed(error: unknown): boolean {
  const { name, status } = info(error);
  return (
    status === 412 || status === 409 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict'
  );
}

/** The server does not implement a feature (for example conditional writes). */
export function isNotImplemented(error: unknown): boolean {
  const { name, status } = info(error);
  return status === 501 || name === 'NotImplemented';
}

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'CredentialsProviderError',
]);
const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'TimeoutError',
  'RequestTimeout',
]);

function networkCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const x = e as AwsLikeError & { errors?: unknown[] };
    if (x.code && NETWORK_ERRORS.has(x.code)) return x.code;
    if (x.name && NETWORK_ERRORS.has(x.name)) return x.name;
    e = x.cause ?? x.errors?.[0];
  }
  return undefined;
}

/**
 * The one place where native S3 / SDK / network errors become {@link VfsError}s. The original is
 * kept as `cause`.
 */
export function toVfsError(
  error: unknown,
  where: { bucket: string; endpoint?: string; path?: string },
): VfsError {
  if (isVfsError(error)) return error;
  const { path } = where;
  const { name, status, attempts } = info(error);
  const tries = attempts && attempts > 1 ? ` after ${attempts} attempts` : '';
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof ConflictError) {
    return new VfsError('busy', 'too many concurrent updates of the same entry', { path, cause: error });
  }
  if (name === 'KeyTooLongError' || /key is too long/i.test(text)) {
    // S3 caps a key at 1,024 bytes: the path (with the prefix and the entry's metadata) is too long.
    return new VfsError('name-too-long', `the path is too long for an S3 key: ${text}`, {
      path,
      cause: error,
    });
  }
  if (name === 'NoSuchBucket') {
    return new VfsError('io', `S3 bucket "${where.bucket}" does not exist`, { path, cause: error });
  }
  if (CREDENTIAL_ERRORS.has(name) || status === 403) {
    return new VfsError(
      'permission-denied',
      `S3 refused the request (${name || status}): check the credentials and the IAM policy for bucket "${where.bucket}"`,
      { path, cause: error },
    );
  }
  const network = networkCode(error);
  if (network) {
    return new VfsError(
      'io',
      `cannot reach the S3 endpoint ${where.endpoint ?? '(default)'} (${network})${tries}`,
      { path, cause: error },
    );
  }
  if (name === 'SlowDown' || status === 503 || status === 429) {
    return new VfsError('io', `S3 is throttling requests${tries}: ${text}`, { path, cause: error });
  }
  if (status !== undefined && status >= 500) {
    return new VfsError('io', `S3 server error ${status}${tries}: ${text}`, { path, cause: error });
  }
  return new VfsError('io', `S3 request failed (${name || 'unknown error'}): ${text}`, {
    path,
    cause: error,
  });
}
