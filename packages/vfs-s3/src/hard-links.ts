import { commit, commitMeta, inTxn, removeName } from './commits.js';
import type { S3Context } from './context.js';
import { manifestChunkKeys, type Slot } from './entries.js';
import { ConflictError, isMissingKey } from './errors.js';
import { type EntryMeta, inodePath } from './layout.js';
import { lookup, readManifest } from './lookups.js';
import { EMPTY, newId } from './objects.js';
import { backoff, MAX_CONFLICT_RETRIES } from './util.js';

/*
 * Hard links. A linked file lives in an inode object (`P/n/<id>!<gen>!<meta>`: what an entry
 * holds, plus the count of names), updated through the same generations, claims and tombstones as
 * an entry at the path `#<id>`; each of its names is an entry of kind `h` naming the inode in its
 * key. The count goes up before a new name exists and down after a name is gone, so a crash leaves
 * it too high (the inode outlives its names until gc finds none), never too low.
 */

/** The inode of an `h` name, `undefined` for anything else. */
export function inodeOfSlot(slot: Slot): string | undefined {
  return slot.entry?.meta.kind === 'h' ? slot.entry.meta.inode : undefined;
}

/**
 * The slot that holds the file a name shows: its inode's for an `h` name (no entry if the inode is
 * missing), the name's own otherwise. Synchronous when the cache knows it.
 */
export function resolve(ctx: S3Context, slot: Slot): Slot | Promise<Slot> {
  const inode = inodeOfSlot(slot);
  return inode === undefined ? slot : lookup(ctx, inodePath(inode));
}

function nameMeta(inode: string): EntryMeta {
  const now = Date.now();
  return { kind: 'h', inode, size: 0, created: now, modified: now, accessed: now };
}

/**
 * Makes `target` (where nothing is; checked by the caller) one more name of the file or link at
 * `source`. The first link moves the file into a new inode with count 2, then turns `source` into a
 * name of it; later links count one more first. Then `target` is written.
 */
export async function link(ctx: S3Context, source: Slot, target: Slot): Promise<void> {
  const entry = source.entry!;
  let inode = inodeOfSlot(source);
  if (inode === undefined) {
    const id = newId();
    const fresh: Slot = { path: inodePath(id), entry: undefined, maxGen: 0, keys: [] };
    const made = await inTxn(ctx, fresh.path, (txn) =>
      commitMeta(ctx, fresh, { ...entry.meta, links: 2 }, txn, entry),
    ).catch((error: unknown) => {
      // The source's object was superseded (another process wrote it): look again.
      throw isMissingKey(error) ? new ConflictError(`${source.path} changed during link`) : error;
    });
    try {
      await inTxn(ctx, source.path, (txn) => commit(ctx, source, nameMeta(id), EMPTY, txn));
    } catch (error) {
      // The source changed meanwhile (another process): nothing names the new inode.
      if (error instanceof ConflictError) ctx.trash.queue(made.keys);
      throw error;
    }
    inode = id;
  } else {
    await changeLinks(ctx, inode, 1);
  }
  const id = inode;
  try {
    await inTxn(ctx, target.path, (txn) => commit(ctx, target, nameMeta(id), EMPTY, txn));
  } catch (error) {
    // Lost the claim of the new name, so it was not written: count it out again. Any other failure
    // may have written it, and a count too high is only late freeing, one too low a loss.
    if (error instanceof ConflictError) await changeLinks(ctx, id, -1).catch(() => undefined);
    throw error;
  }
}

/**
 * Changes the count of names of an inode by `delta`; at 0 the inode goes, and its chunks with it.
 * Conflicts and superseded objects are retried here: the caller's own step (a name made or removed)
 * is done and must not run again.
 */
export async function changeLinks(ctx: S3Context, inode: string, delta: 1 | -1): Promise<void> {
  const path = inodePath(inode);
  for (let attempt = 0; ; attempt++) {
    let gone = false;
    try {
      const slot = await lookup(ctx, path);
      const entry = slot.entry;
      if (!entry) {
        if (delta < 0) return;
        // Freed since the caller looked up the name (another process deleted its last names):
        // the caller looks again.
        gone = true;
        throw new ConflictError(`the inode ${inode} is gone`);
      }
      const links = (entry.meta.links ?? 1) + delta;
      if (links > 0) {
        await inTxn(ctx, path, (txn) => commitMeta(ctx, slot, { ...entry.meta, links }, txn));
        return;
      }
      const chunks =
        entry.meta.kind === 'c' ? manifestChunkKeys(ctx.layout, await readManifest(ctx, entry)) : [];
      await removeName(ctx, slot, []);
      ctx.trash.queue(chunks);
      return;
    } catch (error) {
      if (gone || !(error instanceof ConflictError || isMissingKey(error)) || attempt >= MAX_CONFLICT_RETRIES)
        throw error;
      ctx.cache.forget(path);
      await backoff(attempt);
    }
  }
}
