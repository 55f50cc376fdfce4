import { type FileKind, isVfsError } from '@eryx/vfs-core';
import type { CommandSpec } from '../command.js';
import { CliError, EXIT } from '../errors.js';
import { expectCount, storePath, takeStore } from '../operands.js';
import { removeStorePath } from '../transfer.js';

/** `eryx-vfs rm`: removes files, and with `-r` directories with everything in them. */
export const rm: CommandSpec = {
  name: 'rm',
  summary: 'remove files, or directories with -r',
  usage: ['rm [-r] [-f] [<store-url>] <path>...'],
  options: {
    recursive: { type: 'boolean', short: 'r', description: 'remove directories and everything in them' },
    force: { type: 'boolean', short: 'f', description: 'a path that does not exist is not an error' },
  },
  details: [
    'A symbolic link is removed itself, never what it points to (with -r too: links inside a removed directory are removed, their targets left alone). The root / cannot be removed; eryx-vfs drop deletes a whole namespace.',
  ],
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 1, Number.POSITIVE_INFINITY, 'path');
    const paths = rest.map(storePath);
    for (const path of paths) {
      if (path === '/') {
        throw new CliError(
          'the root cannot be removed',
          'use eryx-vfs drop <store-url> to delete the whole namespace',
          EXIT.refused,
          path,
        );
      }
    }
    const { storage } = await ctx.open(store, { mustExist: values.force !== true });
    for (const path of paths) {
      let kind: FileKind;
      try {
        kind = (await storage.stat(path)).kind;
      } catch (error) {
        if (values.force === true && isVfsError(error, 'not-found')) continue;
        throw error;
      }
      if (kind === 'directory' && values.recursive !== true) {
        throw new CliError(
          'is a directory',
          'use rm -r to remove it with everything in it',
          EXIT.refused,
          path,
        );
      }
      await removeStorePath(storage, path, kind);
    }
  },
};
