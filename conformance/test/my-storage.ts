import { createSyncStorage, toAsync, type VfsStorage } from '@eryx/vfs-core';
import { ReferenceModel } from '../src/index.js';

/** Stands in for a third party's backend in the README example: a driver wrapped by core. */
export function myStorage(): VfsStorage {
  return toAsync(createSyncStorage(new ReferenceModel()));
}
