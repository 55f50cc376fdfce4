import { VfsError } from './errors.js';
import { MUTATING_OPERATIONS } from './operations.js';
import type { VfsStorage } from './types.js';
import { type WrapperPlans, wrapStorage } from './wrap.js';

/**
 * A view of `storage` that refuses every operation that could change what is stored (`write`,
 * `writeAt`, `append`, `create`, `setSize`, `mkdir`, `rmdir`, `delete`, `rename`, `setTimes`,
 * `symlink`) with `read-only`, before the inner storage sees it; reads (`readlink` included) pass
 * through. Bad arguments are still
 * `invalid-path` / `invalid-offset` / `invalid-argument` first, as everywhere. Closing the view
 * closes `storage`.
 */
export function readOnly(storage: VfsStorage): VfsStorage {
  const plans: Record<string, (path: string) => never> = {};
  for (const op of MUTATING_OPERATIONS) {
    plans[op] = (path) => {
      throw new VfsError('read-only', `${op}: the storage is read-only`, { path });
    };
  }
  return wrapStorage(storage, { plans: plans as WrapperPlans, serialize: false });
}
