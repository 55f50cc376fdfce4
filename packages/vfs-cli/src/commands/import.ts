import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CommandSpec } from '../command.js';
import { expectCount, storePath, takeStore } from '../operands.js';
import { createProgress } from '../progress.js';
import { counted, streamChunks } from '../transfer.js';

/** `eryx-vfs import`: a tar archive (a file or stdin) into a store, streamed. */
export const importCommand: CommandSpec = {
  name: 'import',
  summary: 'read a tar archive (a file, or - for stdin) into a store, streamed',
  usage: ['import [-n] [--skip-unsupported] [<store-url>] <file.tar|-> [<path>]'],
  options: {
    'no-clobber': {
      type: 'boolean',
      short: 'n',
      description: 'fail on a file that already exists instead of replacing it',
    },
    'skip-unsupported': {
      type: 'boolean',
      description:
        'skip hard links, devices and fifos (and symbolic links, on a store that keeps none) instead of failing',
    },
  },
  details: [
    "The archive's entries land under <path> (default /; created when missing), existing directories merged into, existing files replaced (unless -n). A file up to 4 MiB is one write; a larger one is written in 4 MiB pieces, never whole in memory. Not transactional: when an import fails, what it wrote stays.",
    'Symbolic links become links with the same target, never followed, on a store that keeps links; elsewhere they fail the import unless --skip-unsupported.',
  ],
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 1, 2, 'the archive (a file, or - for stdin)');
    const [source, at] = rest as [string, string | undefined];
    const root = storePath(at ?? '/');
    const fromStdin = source === '-';
    const file = fromStdin ? undefined : resolve(ctx.io.cwd, source);
    // The archive's size is the bar's total; stdin has none. Checked before the store is opened,
    // so a mistyped file name creates nothing.
    const size = file === undefined ? undefined : (await stat(file)).size;
    const { storage } = await ctx.open(store);
    const { importTar } = await import('@eryx/vfs-core/tar');
    const progress = await createProgress(ctx.io, ctx.flags, 'import', { bytes: size });
    let files = 0;
    try {
      const input =
        file === undefined ? streamChunks(ctx.io.stdin) : createReadStream(file, { highWaterMark: 1 << 20 });
      let read = 0;
      await importTar(
        storage,
        counted(input, (n) => {
          read += n;
          progress.set(read, files);
        }),
        {
          root,
          overwrite: values['no-clobber'] !== true,
          skipUnsupported: values['skip-unsupported'] === true,
          onProgress: (stats) => {
            files = stats.files;
            progress.set(read, files);
          },
        },
      );
    } finally {
      progress.stop();
    }
  },
};
