import { parseStoreUrl } from '@eryx/vfs-core';
import type { CommandSpec } from '../command.js';
import { CliError } from '../errors.js';
import { expectCount, takeStore } from '../operands.js';
import { backendFor } from '../stores.js';

/** `eryx-vfs drop`: deletes a namespace with all its files. */
export const drop: CommandSpec = {
  name: 'drop',
  summary: "delete a store's namespace with all its files",
  usage: ['drop --yes [<store-url>]'],
  options: {
    yes: { type: 'boolean', short: 'y', description: 'really delete (required: there is no undo)' },
  },
  details: [
    'Deletes the namespace the URL names (its #fragment; SQLite and PostgreSQL: default when none) and every file in it; S3: every object under prefix/namespace/. Dropping what does not exist is not an error.',
  ],
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 0, 0, 'nothing');
    const url = parseStoreUrl(store, { cwd: ctx.io.cwd });
    if (values.yes !== true) {
      throw new CliError(`would delete every file of ${url.href}`, 'add --yes to confirm; there is no undo');
    }
    await (await backendFor(url)).drop(url);
  },
};
