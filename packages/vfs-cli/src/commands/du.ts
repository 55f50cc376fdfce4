import type { CommandSpec } from '../command.js';
import { formatBytes } from '../format.js';
import { expectCount, storePath, takeStore } from '../operands.js';
import { walk } from '../walk.js';

/** `eryx-vfs du`: the bytes, files and directories under a path. */
export const du: CommandSpec = {
  name: 'du',
  summary: 'bytes, files and directories under a path',
  usage: ['du [-b] [--json] [<store-url>] [<path>]'],
  options: {
    bytes: { type: 'boolean', short: 'b', description: 'print the size in bytes, not in KiB/MiB/GiB' },
    json: { type: 'boolean', description: 'print one JSON document: { path, bytes, files, directories }' },
  },
  details: [
    "<path> defaults to /. The size is the sum of the file sizes, a symbolic link counting as a file of its target's bytes (what the maxBytes limit counts, names aside), not the space the backend uses. Links are never followed.",
  ],
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 0, 1, 'path');
    const path = storePath(rest[0] ?? '/');
    const { storage } = await ctx.open(store, { mustExist: true });
    let bytes = 0;
    let files = 0;
    let directories = 0;
    for await (const entry of walk(storage, path)) {
      // A link counts as a file of its target's bytes, as the store's limits count it.
      if (entry.kind !== 'directory') {
        files++;
        bytes += entry.size;
      } else if (entry.depth > 0) directories++;
    }
    if (values.json === true) {
      await ctx.write(`${JSON.stringify({ path, bytes, files, directories }, null, 2)}\n`);
      return;
    }
    const size = values.bytes === true ? String(bytes) : formatBytes(bytes);
    await ctx.write(
      `${size}\t${files} file${files === 1 ? '' : 's'}\t${directories} director${directories === 1 ? 'y' : 'ies'}\t${path}\n`,
    );
  },
};
