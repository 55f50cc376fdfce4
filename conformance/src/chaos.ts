import { VfsError, type VfsOperation, type VfsStorage } from '@eryx/vfs-core';

/** Options of {@link chaos}. */
export interface ChaosOptions {
  /**
   * Per operation: how many calls succeed before every further call fails. `{ writeAt: 2 }` lets two
   * writeAt calls through and fails the third and later ones.
   */
  failAfter: Partial<Record<VfsOperation, number>>;
  /** The error thrown; default an `io` {@link VfsError} saying it was injected. */
  error?: (operation: VfsOperation, path: string | undefined) => Error;
  /** Fail after the inner call ran (it took effect, but the caller sees an error). Default `false`. */
  afterCall?: boolean;
}

/** A storage wrapper that makes chosen operations fail after N calls, to test error paths. */
export function chaos(
  storage: VfsStorage,
  options: ChaosOptions,
): VfsStorage & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const fail = (op: VfsOperation, path: unknown) =>
    options.error?.(op, typeof path === 'string' ? path : undefined) ??
    new VfsError('io', `chaos: injected failure of ${op}`, {
      path: typeof path === 'string' ? path : undefined,
    });
  const wrapped = { ...storage, calls } as VfsStorage & { calls: Record<string, number> };
  for (const op of Object.keys(options.failAfter) as VfsOperation[]) {
    const inner = storage[op] as (...a: unknown[]) => Promise<unknown>;
    const limit = options.failAfter[op] ?? 0;
    (wrapped as unknown as Record<string, unknown>)[op] = async (...a: unknown[]) => {
      const n = (calls[op] ?? 0) + 1;
      calls[op] = n;
      if (n <= limit) return inner.apply(storage, a);
      if (options.afterCall) await inner.apply(storage, a);
      throw fail(op, a[0]);
    };
  }
  return wrapped;
}
