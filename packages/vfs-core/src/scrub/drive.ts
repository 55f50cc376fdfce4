import type { VfsOperation, VfsStorage, VfsSyncStorage } from '../types.js';

/*
 * Wrappers write each operation once, as a generator that yields the inner calls it needs, and run
 * it against either form of the inner storage. The sync and async forms then share one logic and
 * cannot drift apart.
 */

type Op = Exclude<VfsOperation, 'close'>;

/** One call to make on the inner storage. */
export interface Step {
  op: Op;
  args: unknown[];
}

/** An operation written against the inner storage; `T` is what the operation returns. */
export type Plan<T> = Generator<Step, T, unknown>;

/** Yields one inner call and returns its (sync-typed) result; errors are thrown into the plan. */
export function* call<K extends Op>(
  op: K,
  ...args: Parameters<VfsSyncStorage[K]>
): Generator<Step, ReturnType<VfsSyncStorage[K]>, unknown> {
  return (yield { op, args }) as ReturnType<VfsSyncStorage[K]>;
}

type Invoke = (...args: unknown[]) => unknown;

/** Runs a plan against a synchronous storage. */
export function runSync<T>(plan: Plan<T>, inner: VfsSyncStorage): T {
  let next = plan.next();
  while (!next.done) {
    const { op, args } = next.value;
    let result: unknown;
    try {
      result = (inner[op] as Invoke).apply(inner, args);
    } catch (error) {
      next = plan.throw(error);
      continue;
    }
    next = plan.next(result);
  }
  return next.value;
}

/** Runs a plan against an asynchronous storage. */
export async function runAsync<T>(plan: Plan<T>, inner: VfsStorage): Promise<T> {
  let next = plan.next();
  while (!next.done) {
    const { op, args } = next.value;
    let result: unknown;
    try {
      result = await (inner[op] as Invoke).apply(inner, args);
    } catch (error) {
      next = plan.throw(error);
      continue;
    }
    next = plan.next(result);
  }
  return next.value;
}

/** Runs async tasks one at a time, in call order (an in-process lock). */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
