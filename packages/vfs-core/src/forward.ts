import type { VfsStorage, VfsSyncDriver, VfsSyncStorage } from './types.js';

/**
 * The operations `names` of `inner`, each calling through to it: the part of a wrapper's driver
 * that changes nothing (the wrapper's own operations are spread after it).
 */
export function forward<S extends VfsStorage | VfsSyncStorage, K extends keyof S>(
  inner: S,
  names: readonly K[],
): Pick<S, K> {
  const out = {} as Pick<S, K>;
  for (const name of names) {
    const fn = inner[name] as (...args: unknown[]) => unknown;
    out[name] = ((...args: unknown[]) => fn.apply(inner, args)) as S[K];
  }
  return out;
}

/**
 * The optional members of a sync storage a wrapper's sync driver passes on when `inner` has them:
 * `flush` (a wrapper holds nothing back itself) and, when the wrapper does not change what reads
 * return, `readAtView`.
 */
export function forwardSyncExtras(
  inner: VfsSyncStorage,
  options: { readAtView: boolean },
): Pick<VfsSyncDriver, 'flush' | 'readAtView'> {
  const { flush, readAtView } = inner;
  return {
    ...(flush ? { flush: (path, flushOptions) => flush.call(inner, path, flushOptions) } : {}),
    ...(readAtView && options.readAtView
      ? { readAtView: (path, offset, length) => readAtView.call(inner, path, offset, length) }
      : {}),
  };
}
