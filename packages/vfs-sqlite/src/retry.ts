import type BetterSqlite3 from 'better-sqlite3';
import { isBusyError } from './errors.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * Runs `fn`, running it again while SQLite reports a lock held by another connection, for up to
 * `timeoutMs` in all. SQLite's busy handler (`busy_timeout`) absorbs most contention; this catches
 * the cases it does not cover (a lock met while the WAL index is being rebuilt, a stale read
 * snapshot). Never retries inside a caller's open transaction: only the outermost one may restart.
 */
export function retryBusy<T>(db: BetterSqlite3.Database, timeoutMs: number, fn: () => T): T {
  if (db.inTransaction) return fn();
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (error) {
      if (!isBusyError(error) || db.inTransaction || Date.now() >= deadline) throw error;
      sleep(Math.min(50, 1 + attempt * 2) * (0.5 + Math.random()));
    }
  }
}
