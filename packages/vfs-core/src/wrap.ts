import { OPERATIONS, type StorageOperation } from './operations.js';
import { type Plan, runAsync, runSync } from './plan.js';
import { createStorage, createSyncStorage, fromOperations, toAsync } from './storage.js';
import type {
  Capabilities,
  StorageLimits,
  VfsDriver,
  VfsStorage,
  VfsSyncDriver,
  VfsSyncStorage,
} from './types.js';

export { call, type Plan, type Step } from './plan.js';

/*
 * Wrappers write each operation once, as a generator that yields the inner calls it needs, and
 * `wrapStorage` runs it against either form of the inner storage. The sync and async forms then
 * share one logic and cannot drift apart; the operations a wrapper leaves alone pass through.
 */

type Invoke = (...args: unknown[]) => unknown;

/** Runs async tasks one at a time, in call order (an in-process lock). */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** A wrapper's own operations, each a plan over the inner storage, taking checked arguments. */
export type WrapperPlans = {
  [K in StorageOperation]?: (...args: Parameters<VfsSyncStorage[K]>) => Plan<ReturnType<VfsSyncStorage[K]>>;
};

/** What {@link wrapStorage} builds a wrapper from. */
export interface WrapperSpec {
  /** The wrapper's own operations; every other operation passes through to the inner storage. */
  plans: WrapperPlans;
  /** What the wrapper promises. Default: the inner storage's capabilities. */
  capabilities?: Capabilities;
  /** The limits the wrapper declares. Default: the inner storage's declaration. */
  limits?: StorageLimits;
  /**
   * Whether reads return what the inner storage stores, so that its `readAtView` may pass through
   * (`flush` always does: a wrapper holds nothing back). Default `true`.
   */
  readAtView?: boolean;
  /**
   * In the async form, run every mutating operation (`mutating` in {@link OPERATIONS}) one at a time,
   * so that a plan's reads and writes are not interleaved with another call's. The sync form needs
   * no lock. Default `true`.
   */
  serialize?: boolean;
}

/**
 * Makes a storage wrapper: a {@link VfsStorage} whose operations in `spec.plans` run as plans over
 * `storage` and whose others pass through. When `storage` has a sync twin, both forms of the result
 * run through it (one order of operations, one state for the wrapper); otherwise the result is
 * async only. Arguments are checked by the result's guards before a plan sees them.
 */
export function wrapStorage(storage: VfsStorage, spec: WrapperSpec): VfsStorage {
  const capabilities = spec.capabilities ?? storage.capabilities;
  const limits = spec.limits ?? storage.limits ?? storage.sync?.limits;
  const plans = spec.plans as Partial<Record<StorageOperation, (...args: unknown[]) => Plan<unknown>>>;

  const inner = storage.sync;
  if (inner) {
    const { flush, readAtView } = inner;
    const driver = fromOperations<VfsSyncDriver>(
      (op) => {
        const plan = plans[op];
        if (plan) return (...a: unknown[]) => runSync(plan(...a), inner);
        return (...a: unknown[]) => (inner[op] as Invoke).apply(inner, a);
      },
      {
        capabilities,
        limits,
        close: () => inner.close(),
        ...(flush ? { flush: flush.bind(inner) } : {}),
        ...(readAtView && spec.readAtView !== false ? { readAtView: readAtView.bind(inner) } : {}),
      },
    );
    return toAsync(createSyncStorage(driver));
  }

  const queue = new SerialQueue();
  const serialize = spec.serialize !== false;
  const driver = fromOperations<VfsDriver>(
    (op) => {
      const plan = plans[op];
      const direct = plan
        ? (...a: unknown[]) => runAsync(plan(...a), storage)
        : (...a: unknown[]) => (storage[op] as (...args: unknown[]) => Promise<unknown>).apply(storage, a);
      if (!serialize || !OPERATIONS[op].mutating) return direct;
      return (...a: unknown[]) => queue.run(() => direct(...a));
    },
    { capabilities, limits, close: () => storage.close() },
  );
  return createStorage(driver);
}
