import { parseStoreUrl } from '@eryx/vfs-core';
import type { CommandSpec } from '../command.js';
import { CliError } from '../errors.js';
import { formatBytes, parseDuration } from '../format.js';
import { expectCount, takeStore } from '../operands.js';
import { createProgress } from '../progress.js';
import { backendFor } from '../stores.js';

/** `eryx-vfs gc`: collects what crashes and failed requests left behind in a store (S3). */
export const gc: CommandSpec = {
  name: 'gc',
  summary: 'delete what crashes left behind in an S3 store',
  usage: ['gc [--min-age <duration>] [<store-url>]'],
  options: {
    'min-age': {
      type: 'string',
      value: '<duration>',
      description:
        "keep garbage younger than this (30s, 15m, 2h; default: the backend's, 15m for S3); 0 only when nothing else uses the store",
    },
  },
  details: [
    'Only S3 can leave garbage (objects of writes that never committed); SQLite, PostgreSQL and memory free space in the transaction of each operation, so gc on them has nothing to do and says so.',
  ],
  async run(ctx, { values, positionals }) {
    const { store, rest } = takeStore(ctx, positionals);
    expectCount(ctx, rest, 0, 0, 'nothing');
    let minAgeMs: number | undefined;
    const minAge = values['min-age'] as string | undefined;
    if (minAge !== undefined) {
      minAgeMs = minAge.trim() === '0' ? 0 : parseDuration(minAge);
      if (minAgeMs === undefined)
        throw new CliError(`--min-age ${minAge} is not a duration`, 'write it like 30s, 15m or 2h');
    }
    const url = parseStoreUrl(store, { cwd: ctx.io.cwd });
    const backend = await backendFor(url);
    if (!backend.gc) {
      ctx.warn(`eryx-vfs: gc: nothing to collect: ${url.scheme} frees space in each operation`);
      return;
    }
    const progress = await createProgress(ctx.io, ctx.flags, 'gc scanning', { unit: 'object' });
    let result: Awaited<ReturnType<NonNullable<typeof backend.gc>>>;
    let deleting = false;
    try {
      result = await backend.gc(url, {
        ...(minAgeMs !== undefined && { minAgeMs }),
        onProgress: (p) => {
          if (p.phase === 'deleting' && !deleting) {
            deleting = true;
            progress.setTotal(undefined, p.found);
          }
          if (p.phase === 'deleting') progress.set(p.bytes, p.deleted, 'gc deleting');
          else progress.set(p.bytes, p.examined, 'gc scanning');
        },
      });
    } finally {
      progress.stop();
    }
    await ctx.write(
      `examined ${result.examined} object${result.examined === 1 ? '' : 's'}, deleted ${result.deleted} (${formatBytes(result.bytes)})\n`,
    );
  },
};
