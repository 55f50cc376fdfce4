import { ancestorsOf, isVfsError, type VfsStorage } from '@eryx/vfs-core';
import type { CommandSpec } from '../command.js';
import { expectCount, storePath, takeStore } from '../operands.js';

/** `eryx-vfs mkdir`: creates directories. */
export const mkdir: CommandSpec = {
  name: 'mkdir',
  summary: 'create directories',
  usage: ['mkdir [-p] [<store-url>] <path>...'],
  options: {
    parents: {
      type: 'boolean',
      short: 'p',
      description: 'create missing parents too; a directory that exists is not an error',
    },
  },
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 1, Number.POSITIVE_INFINITY, 'path');
    const paths = rest.map(storePath);
    const { storage } = await ctx.open(store);
    for (const path of paths) {
      if (values.parents !== true) {
        await storage.mkdir(path);
        continue;
      }
      for (const dir of [...ancestorsOf(path), path]) await ensureDirectory(storage, dir);
    }
  },
};

async function ensureDirectory(storage: VfsStorage, path: string): Promise<void> {
  try {
    await storage.mkdir(path);
  } catch (error) {
    // Only a directory that is already there is fine; a file in the way is still an error.
    if (!isVfsError(error, 'already-exists') || (await storage.stat(path)).kind !== 'directory') throw error;
  }
}
