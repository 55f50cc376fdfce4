import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CommandSpec } from '../command.js';
import { CliError } from '../errors.js';
import { expectCount, storePath, takeStore } from '../operands.js';
import { createProgress } from '../progress.js';
import { pipeTo } from '../transfer.js';

/** `eryx-vfs export`: a tree of a store as a tar archive, streamed to a file or stdout. */
export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'write a tree as a tar archive (to a file or stdout), streamed',
  usage: ['export [-o <file.tar>] [<store-url>] [<path>]'],
  options: {
    output: {
      type: 'string',
      short: 'o',
      value: '<file.tar>',
      description: 'write the archive to this file (default: stdout)',
    },
  },
  details: [
    "<path> (default /) is the archive's root: names in the archive are relative to it. POSIX ustar with pax headers for long names; each file keeps its size and modification time (whole seconds); a symbolic link is a symlink entry with its target, never followed. Files are read in 4 MiB pieces as the archive is written: neither a whole file nor the whole tree is ever in memory. The archive is not written to a terminal: use -o or redirect stdout.",
  ],
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 0, 1, 'path');
    const root = storePath(rest[0] ?? '/');
    const output = values.output as string | undefined;
    const stdout = ctx.io.stdout as Writable & { isTTY?: boolean };
    if ((output === undefined || output === '-') && stdout.isTTY === true) {
      throw new CliError(
        'refusing to write a tar archive to a terminal',
        'use -o <file.tar>, or redirect stdout (> file.tar)',
      );
    }
    const { storage } = await ctx.open(store, { mustExist: true });
    const { exportTar } = await import('@eryx/vfs-core/tar');
    const progress = await createProgress(ctx.io, ctx.flags, 'export');
    const archive = exportTar(storage, {
      root,
      onProgress: (stats) => progress.set(stats.bytes, stats.files),
    });
    try {
      if (output === undefined || output === '-') {
        await pipeTo(archive, stdout);
      } else {
        const file = resolve(ctx.io.cwd, output);
        try {
          await pipeline(archive, createWriteStream(file));
        } catch (error) {
          // A half-written archive is worse than none.
          await rm(file, { force: true });
          throw error;
        }
      }
    } finally {
      progress.stop();
    }
  },
};
