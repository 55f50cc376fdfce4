import type { ErrorCode } from '@bytecodealliance/preview2-shim/interfaces/wasi-filesystem-types';
import { isVfsError, toWasiErrorCode } from '../errors.js';
import { IoError } from './streams.js';

/** A `wasi:filesystem` error code that has no {@link VfsErrorCode} (bad-descriptor, not-permitted...). */
export class WasiFailure {
  constructor(readonly code: ErrorCode) {}
}

/** Throws a `wasi:filesystem` error code that has no storage equivalent. */
export function fail(code: ErrorCode): never {
  throw new WasiFailure(code);
}

/** Receives every failure that is not a {@link VfsError} before it is reported to the guest as `io`. */
export type ErrorListener = (error: unknown) => void;

/**
 * Whether a failure ends the guest instead of being reported to it: an exit (`WasiExit`, or
 * anything marked `exitError: true` like preview2-shim's `ComponentExit`) thrown by a storage or a
 * stdin source, e.g. by a supervisor stopping the execution. It unwinds the guest like `exit`.
 */
export function isGuestExit(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { exitError?: unknown }).exitError === true;
}

/**
 * The error code a failure is reported as: never anything that would make the guest trap. An exit
 * ({@link isGuestExit}) is rethrown.
 */
export function toErrorCode(error: unknown, onError?: ErrorListener): ErrorCode {
  if (isGuestExit(error)) throw error;
  if (error instanceof WasiFailure) return error.code;
  if (isVfsError(error)) return toWasiErrorCode(error.code);
  try {
    onError?.(error);
  } catch {
    // A failing listener must not turn a clean error code into a trap.
  }
  return 'io';
}

const streamErrorCodes = new WeakMap<IoError, ErrorCode>();

/** The `stream-error` a file stream reports for a failure; `filesystem-error-code` recovers the code. */
export function streamError(
  error: unknown,
  onError: ErrorListener | undefined,
): { tag: 'last-operation-failed'; val: IoError } {
  const code = toErrorCode(error, onError);
  const val = new IoError(error instanceof Error ? error.message : code);
  streamErrorCodes.set(val, code);
  return { tag: 'last-operation-failed', val };
}

/** `wasi:filesystem/types#filesystem-error-code`: the code behind a file stream's error, if any. */
export function filesystemErrorCode(error: IoError): ErrorCode | undefined {
  return streamErrorCodes.get(error);
}
