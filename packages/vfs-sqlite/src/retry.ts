import type BetterSqlite3 from 'better-sqlite3';
import { isBusyError } from './errors.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** SQLite's own busy handler waits this long (ms) before {@link retryBusy} takes over. */
export const SQLITE_BUSY_WAIT = 2;

/**
 * Runs `fn`, running it again while SQLite reports a lock held by another connection, for up to
 * `timeoutMs` in all. SQLite's busy handler backs off to sleeps of up to 100 ms, so a waiter keeps
 * missing the short gaps between another process's transactions and can starve; the connection's
 * `busy_timeout` is therefore kept short ({@link SQLITE_BUSY_WAIT}) and this loop polls every
 * millisecond or so with jitter. It also covers locks SQLite's handler never waits for (a WAL
 * index being rebuilt, a stale snapshot). Never retries inside a caller's open transaction: only
 * the outermost one may restart.
 */
export function retryBusy<T>(db: BetterSqlite3.Database, timeoutMs: number, fn: () => T): T {
  if (db.inTransaction) return fn();
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (error) {
      if (!isBusyError(error) || db.inTransaction || Date.now() >= deadline) throw error;
      sleep(Math.min(5, 0.5 + attempt / 100) * (0.5 + Math.random()));
    }
  }
}
