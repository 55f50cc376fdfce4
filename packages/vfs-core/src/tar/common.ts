import { VfsError } from '../errors.js';
import { normalizePath } from '../path.js';
import type { TarOptions, TarStats } from './index.js';

/** The default {@link TarOptions.chunkSize}: 4 MiB. */
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

/** Mode bits written for directories, files and links: storage keeps none, so the usual defaults. */
export const DIRECTORY_MODE = 0o755;
export const FILE_MODE = 0o644;
export const LINK_MODE = 0o777;

/** The checked options both directions share. */
export interface Resolved {
  root: string;
  chunkSize: number;
  signal: AbortSignal | undefined;
  stats: TarStats;
  progress(): void;
}

export function resolveOptions(options: TarOptions, what: string): Resolved {
  if (typeof options !== 'object' || options === null) {
    throw new VfsError('invalid-argument', `${what}: options must be an object`);
  }
  const root = normalizePath(options.root ?? '/');
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new VfsError('invalid-argument', `${what}: chunkSize must be a positive safe integer`);
  }
  const { onProgress, signal } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new VfsError('invalid-argument', `${what}: onProgress must be a function`);
  }
  const stats: TarStats = { files: 0, directories: 0, links: 0, hardLinks: 0, bytes: 0, skipped: 0 };
  return {
    root,
    chunkSize,
    signal,
    stats,
    progress: onProgress ? () => onProgress({ ...stats }) : () => {},
  };
}

/** Resolves at the stream's next `drain`, or at its `close` (a destroyed stream never drains). */
export function drained(stream: {
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}

/** An abort reason as the `Error` a stream is destroyed with (it nearly always is one already). */
export function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
