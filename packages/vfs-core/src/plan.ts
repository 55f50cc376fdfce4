import type { StorageOperation } from './operations.js';
import type { VfsDriver, VfsStorage, VfsSyncDriver, VfsSyncStorage } from './types.js';

/*
 * An operation written once as a generator that yields the storage calls it needs, run against
 * either form of a storage: wrappers (wrap.ts) and core's own checks (names.ts) use it, so their
 * sync and async forms share one logic.
 */

/** One call to make on the inner storage. */
export interface Step {
  op: StorageOperation;
  args: unknown[];
}

/** An operation written against the inner storage; `T` is what the operation returns. */
export type Plan<T> = Generator<Step, T, unknown>;

/** Yields one inner call and returns its (sync-typed) result; errors are thrown into the plan. */
export function* call<K extends StorageOperation>(
  op: K,
  ...args: Parameters<VfsSyncStorage[K]>
): Generator<Step, ReturnType<VfsSyncStorage[K]>, unknown> {
  return (yield { op, args }) as ReturnType<VfsSyncStorage[K]>;
}

type Invoke = (...args: unknown[]) => unknown;

/**
 * Runs a plan against a synchronous storage, or anything with its methods (a sync driver).
 */
export function runSync<T>(plan: Plan<T>, inner: VfsSyncStorage | VfsSyncDriver): T {
  let next = plan.next();
  while (!next.done) {
    const { op, args } = next.value;
    let result: unknown;
    try {
      result = ((inner as Record<string, unknown>)[op] as Invoke).apply(inner, args);
    } catch (error) {
      next = plan.throw(error);
      continue;
    }
    next = plan.next(result);
  }
  return next.value;
}

/** Runs a plan against an asynchronous storage, or anything with its methods (a driver). */
export async function runAsync<T>(plan: Plan<T>, inner: VfsStorage | VfsDriver): Promise<T> {
  let next = plan.next();
  while (!next.done) {
    const { op, args } = next.value;
    let result: unknown;
    try {
      result = await ((inner as Record<string, unknown>)[op] as Invoke).apply(inner, args);
    } catch (error) {
      next = plan.throw(error);
      continue;
    }
    next = plan.next(result);
  }
  return next.value;
}
