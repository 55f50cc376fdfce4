import type { CommandSpec } from '../command.js';
import { readFollowingLinks } from '../links.js';
import { expectCount, storePath, takeStore } from '../operands.js';

/** `eryx-vfs cat`: files to stdout, streamed. */
export const cat: CommandSpec = {
  name: 'cat',
  summary: 'write files to stdout',
  usage: ['cat [<store-url>] <path>...'],
  options: {},
  details: [
    'Streams each file in chunks of 1 MiB: a file of any size is never held whole in memory.',
    "A symbolic link is followed within the store (a relative target from the link's directory, an absolute one from the store's root), at most 40 in a row; a dangling link is not found.",
  ],
  async run(ctx, { positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 1, Number.POSITIVE_INFINITY, 'path');
    const paths = rest.map(storePath);
    const { storage } = await ctx.open(store, { mustExist: true });
    for (const path of paths) {
      for await (const chunk of readFollowingLinks(storage, path)) await ctx.write(chunk);
    }
  },
};
