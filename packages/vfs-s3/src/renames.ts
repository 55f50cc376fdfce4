import { VfsError } from '@eryx/vfs-core';
import { claim, nextGen } from './commits.js';
import type { S3Context } from './context.js';
import { manifestChunkKeys, type Slot } from './entries.js';
import { isMissingKey } from './errors.js';
import { Layout } from './layout.js';
import { readManifest } from './lookups.js';
import { decodeJson, EMPTY, encodeJson, newId } from './objects.js';
import { mapLimit } from './util.js';

/*
 * Renames: a journal object first, then copies, puts and deletes that may all run again after a
 * crash with the same result; an interrupted rename is completed from its journal by recovery.
 */

type Journal =
  | {
      op: 'rename-file';
      copies: [string, string][];
      puts: string[];
      remove: string[][];
      chunks: string[];
    }
  | {
      op: 'rename-dir';
      srcChildren: string;
      dstChildren: string;
      copies: [string, string][];
      puts: string[];
      remove: string[][];
    };

/**
 * Moves `source` to `target` (checked by the caller). Marks recovery as needed until it succeeds,
 * and clears the entry cache in any case.
 */
export async function rename(ctx: S3Context, source: Slot, target: Slot): Promise<void> {
  ctx.needsRecovery = true;
  try {
    if (source.entry!.meta.kind === 'd') await renameDirectory(ctx, source, target);
    else await renameFile(ctx, source, target);
    ctx.needsRecovery = false;
  } finally {
    ctx.cache.clear();
  }
}

async function renameFile(ctx: S3Context, source: Slot, target: Slot): Promise<void> {
  const entry = source.entry!;
  const gen = nextGen(ctx, target);
  const removeTarget = [...target.keys, ...ctx.trash.take(`${ctx.layout.namePrefix(target.path)}!`)];
  if (ctx.conditional) removeTarget.push(await claim(ctx, target.path, gen));
  const chunks =
    target.entry?.meta.kind === 'c'
      ? manifestChunkKeys(ctx.layout, await readManifest(ctx, target.entry))
      : [];
  const sourceOthers = [...source.keys, ...ctx.trash.take(`${ctx.layout.namePrefix(source.path)}!`)].filter(
    (k) => k !== entry.key,
  );
  const journal: Journal = {
    op: 'rename-file',
    copies: [[entry.key, ctx.layout.dataKey(target.path, gen, entry.meta)]],
    puts: [],
    remove: [[...removeTarget, ...sourceOthers], [entry.key]],
    chunks,
  };
  if (ctx.conditional) await tombstone(ctx, journal, source);
  await runJournal(ctx, journal);
}

async function renameDirectory(ctx: S3Context, source: Slot, target: Slot): Promise<void> {
  // Superseded keys still queued for deletion under the source would be copied along.
  await ctx.trash.flush();
  const entry = source.entry!;
  const gen = nextGen(ctx, target);
  const removeTarget = [...target.keys];
  if (ctx.conditional) removeTarget.push(await claim(ctx, target.path, gen));
  const journal: Journal = {
    op: 'rename-dir',
    srcChildren: ctx.layout.childPrefix(source.path),
    dstChildren: ctx.layout.childPrefix(target.path),
    copies: [[entry.key, ctx.layout.dataKey(target.path, gen, entry.meta)]],
    puts: [],
    remove: [[...removeTarget, ...source.keys.filter((k) => k !== entry.key)], [entry.key]],
  };
  if (ctx.conditional) await tombstone(ctx, journal, source);
  await runJournal(ctx, journal);
}

/** The renamed source keeps a tombstone, so a writer with an older view cannot bring it back. */
async function tombstone(ctx: S3Context, journal: Journal, source: Slot): Promise<void> {
  const now = Date.now();
  const tomb = nextGen(ctx, source);
  journal.remove[1]!.push(await claim(ctx, source.path, tomb));
  journal.puts.push(
    ctx.layout.dataKey(source.path, tomb, { kind: 't', size: 0, created: now, modified: now, accessed: now }),
  );
}

/** Writes the journal, carries it out, removes it. A crash in between is completed by recovery. */
async function runJournal(ctx: S3Context, journal: Journal): Promise<void> {
  const key = `${ctx.layout.journals}${Date.now().toString(36).padStart(9, '0')}-${newId()}`;
  await ctx.objects.put(key, encodeJson(journal));
  await rollForward(ctx, journal);
  await ctx.objects.delete([key]);
}

/** Carries out a rename journal; every step may run again after a crash with the same result. */
async function rollForward(ctx: S3Context, journal: Journal): Promise<void> {
  if (journal.op === 'rename-dir') {
    // Descendant keys first, then the directory's own entry: the target appears complete.
    const keys: string[] = [];
    for await (const page of ctx.objects.pages(journal.srcChildren)) {
      for (const o of page.Contents ?? []) keys.push(o.Key!);
    }
    await mapLimit(keys, ctx.concurrency, (k) =>
      copyIfPresent(ctx, k, Layout.rebase(k, journal.srcChildren, journal.dstChildren)),
    );
    await finish(ctx, journal);
    await ctx.objects.delete(keys);
    for (const phase of journal.remove) await ctx.objects.delete(phase);
    return;
  }
  await finish(ctx, journal);
  for (const phase of journal.remove) await ctx.objects.delete(phase);
  await ctx.objects.delete(journal.chunks);
}

async function finish(ctx: S3Context, journal: Journal): Promise<void> {
  for (const [from, to] of journal.copies) await copyIfPresent(ctx, from, to);
  for (const key of journal.puts) await ctx.objects.put(key, EMPTY);
}

async function copyIfPresent(ctx: S3Context, from: string, to: string): Promise<void> {
  try {
    await ctx.objects.copy(from, to);
  } catch (error) {
    // A missing source is fine only when the run that was interrupted already moved it: otherwise
    // the caller would go on to delete what it never copied.
    if (!isMissingKey(error)) throw error;
    if (await ctx.objects.exists(to)) return;
    throw new VfsError(
      'io',
      `S3 could not copy ${from} (the server reports it missing); nothing was deleted`,
      {
        cause: error,
      },
    );
  }
}

/** Completes every journal left by an interrupted rename; returns how many. */
export async function recover(ctx: S3Context): Promise<number> {
  ctx.needsRecovery = true;
  let count = 0;
  for await (const page of ctx.objects.pages(ctx.layout.journals)) {
    for (const o of page.Contents ?? []) {
      const journal = decodeJson<Journal>(await ctx.objects.get(o.Key!));
      await rollForward(ctx, journal);
      await ctx.objects.delete([o.Key!]);
      count++;
    }
  }
  ctx.cache.clear();
  ctx.needsRecovery = false;
  return count;
}
