import { nsToMs, type SetTimes } from '@eryx/vfs-core';
import type { S3Context } from './context.js';
import type { Entry, Manifest, Slot } from './entries.js';
import { ConflictError, isPreconditionFailed } from './errors.js';
import type { EntryMeta } from './layout.js';
import { EMPTY, encodeJson } from './objects.js';

const encoder = new TextEncoder();

/* Entry updates: the next generation of a name, claimed first in conditional mode, then committed. */

/** Keys to delete once the operation succeeds, and uploads to drop if it fails before committing. */
export class Txn {
  uploaded: string[] = [];
  garbage: string[] = [];
  committing = false;
}

/** Runs a mutation; on success its garbage is queued for deletion, on failure its uploads are. */
export async function inTxn<T>(ctx: S3Context, path: string, fn: (txn: Txn) => Promise<T>): Promise<T> {
  const txn = new Txn();
  try {
    const result = await fn(txn);
    ctx.trash.queue(txn.garbage);
    return result;
  } catch (error) {
    ctx.cache.forget(path);
    // After a commit attempt the outcome is unknown: leave the uploads to gc.
    if (!txn.committing) ctx.trash.queue(txn.uploaded);
    throw error;
  }
}

/**
 * Writes the next generation of an entry: in conditional mode a claim first (`If-None-Match`),
 * so of two writers of the same generation exactly one wins; then the data key. The data key is
 * the commit point; older keys become garbage.
 */
export async function commit(
  ctx: S3Context,
  slot: Slot,
  meta: EntryMeta,
  body: Uint8Array | { copyFrom: string },
  txn: Txn,
  manifest?: Manifest,
): Promise<Slot> {
  const gen = nextGen(ctx, slot);
  const keys = [...slot.keys];
  const claimed = Date.now();
  if (ctx.conditional) keys.push(await claim(ctx, slot.path, gen));
  const key = ctx.layout.dataKey(slot.path, gen, meta);
  txn.committing = true;
  if (body instanceof Uint8Array) await ctx.objects.put(key, body);
  else await ctx.objects.copy(body.copyFrom, key);
  if (ctx.conditional && Date.now() - claimed > ctx.claimTimeout / 2)
    await checkNotSkipped(ctx, slot.path, gen);
  txn.garbage.push(...keys);
  const next: Slot = {
    path: slot.path,
    entry: meta.kind === 't' ? undefined : { key, gen, meta, manifest },
    maxGen: gen,
    keys: [key],
  };
  ctx.cache.set(next);
  return next;
}

/** A new directory (mkdir, the root) or empty inline file (create) where nothing is. */
export async function commitEmpty(ctx: S3Context, slot: Slot, kind: 'd' | 'i'): Promise<void> {
  const now = Date.now();
  await inTxn(ctx, slot.path, (txn) =>
    commit(ctx, slot, { kind, size: 0, created: now, modified: now, accessed: now }, EMPTY, txn),
  );
}

/** A new symbolic link where nothing is: its target is the entry's body, its size the target's bytes. */
export async function commitLink(ctx: S3Context, slot: Slot, target: string): Promise<void> {
  const now = Date.now();
  const body = encoder.encode(target);
  const meta: EntryMeta = { kind: 'l', size: body.length, created: now, modified: now, accessed: now };
  const next = await inTxn(ctx, slot.path, (txn) => commit(ctx, slot, meta, body, txn));
  next.entry!.target = target;
}

/** The next generation of an existing entry with new times and the same content. */
export async function commitTimes(ctx: S3Context, slot: Slot, times: SetTimes): Promise<void> {
  const entry = slot.entry!;
  const meta: EntryMeta = { ...entry.meta };
  setTime(meta, 'accessed', times.accessed);
  setTime(meta, 'modified', times.modified);
  await inTxn(ctx, slot.path, (txn) => commitMeta(ctx, slot, meta, txn));
}

/**
 * The next generation of an existing entry (or inode) with new meta and the same body; the body of
 * `from` instead when given (a file moving into a new inode).
 */
export function commitMeta(
  ctx: S3Context,
  slot: Slot,
  meta: EntryMeta,
  txn: Txn,
  entry: Entry = slot.entry!,
): Promise<Slot> {
  if (entry.meta.kind === 'd' || entry.meta.kind === 'h') return commit(ctx, slot, meta, EMPTY, txn);
  if (entry.manifest) return commit(ctx, slot, meta, encodeJson(entry.manifest), txn, entry.manifest);
  // An inline file's body is its content, a chunked file's its manifest, a link's its target:
  // copy it as is.
  return commit(ctx, slot, meta, { copyFrom: entry.key }, txn);
}

/** One time of setTimes: nanoseconds as their nearest milliseconds plus the exact value, or milliseconds. */
function setTime(meta: EntryMeta, which: 'accessed' | 'modified', time: number | bigint | undefined): void {
  if (time === undefined) return;
  const exact = which === 'accessed' ? 'accessedNs' : 'modifiedNs';
  if (typeof time === 'bigint') {
    meta[which] = nsToMs(time);
    meta[exact] = time;
  } else {
    meta[which] = time;
    delete meta[exact];
  }
}

/**
 * The generation the next write of a name claims. In conditional mode, a younger claim above the
 * live generation is a write in flight: a conflict (retried). Older claims belong to writers that
 * died between claim and commit; they are skipped.
 */
export function nextGen(ctx: S3Context, slot: Slot): number {
  if (
    ctx.conditional &&
    slot.pendingSince !== undefined &&
    Date.now() - slot.pendingSince < ctx.claimTimeout
  ) {
    throw new ConflictError(`a write of ${slot.path} is in flight`);
  }
  return slot.maxGen + 1;
}

/** After a commit that took long: a writer that skipped our claim as dead would have won. */
async function checkNotSkipped(ctx: S3Context, path: string, gen: number): Promise<void> {
  for await (const page of ctx.objects.pages(`${ctx.layout.namePrefix(path)}!`)) {
    for (const o of page.Contents ?? []) {
      const parsed = ctx.layout.parseKey(o.Key!);
      if (parsed && parsed.key.gen > gen) {
        throw new Error(`the write of ${path} stalled past the claim timeout and was superseded`);
      }
    }
  }
}

/** Claims generation `gen` of a name; a {@link ConflictError} when another writer got there first. */
export async function claim(ctx: S3Context, path: string, gen: number): Promise<string> {
  const claimKey = ctx.layout.claimKey(path, gen);
  try {
    await ctx.objects.put(claimKey, EMPTY, true);
  } catch (error) {
    if (isPreconditionFailed(error)) throw new ConflictError(`generation ${gen} of ${path} is taken`);
    throw error;
  }
  // A writer that started from an older view may claim a generation whose claim was cleaned up:
  // anything at or above ours means we lost.
  const prefix = `${ctx.layout.namePrefix(path)}!`;
  for await (const page of ctx.objects.pages(prefix)) {
    for (const o of page.Contents ?? []) {
      const parsed = ctx.layout.parseKey(o.Key!);
      if (parsed && o.Key !== claimKey && parsed.key.gen >= gen) {
        await ctx.objects.delete([claimKey]);
        throw new ConflictError(`generation ${gen} of ${path} is taken`);
      }
    }
  }
  return claimKey;
}

/** Removes a name entirely: a tombstone in conditional mode, else its keys (the live one last). */
export async function removeName(ctx: S3Context, slot: Slot, extra: string[]): Promise<void> {
  const queued = ctx.trash.take(`${ctx.layout.namePrefix(slot.path)}!`);
  if (ctx.conditional) {
    const now = Date.now();
    await inTxn(ctx, slot.path, async (txn) => {
      await commit(ctx, slot, { kind: 't', size: 0, created: now, modified: now, accessed: now }, EMPTY, txn);
      txn.garbage.push(...queued, ...extra);
    });
    ctx.cache.forget(slot.path);
    return;
  }
  const live = slot.entry?.key;
  const others = [...new Set([...slot.keys, ...queued, ...extra])].filter((k) => k !== live);
  if (others.length > 0) await ctx.objects.delete(others);
  if (live) await ctx.objects.delete([live]);
  ctx.cache.set({ path: slot.path, entry: undefined, maxGen: slot.maxGen, keys: [] });
}
