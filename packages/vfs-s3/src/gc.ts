import type { GcProgress } from '@eryx/vfs-core';
import type { S3Context } from './context.js';
import { type Entry, manifestChunkKeys, type Slot, toSlot } from './entries.js';
import { inodePath, type NameKey } from './layout.js';
import { readManifest } from './lookups.js';
import type { GcResult } from './options.js';
import { recover } from './renames.js';
import { mapLimit } from './util.js';

/** Keys per DeleteObjects request (S3's maximum). */
const DELETE_BATCH = 1000;

/**
 * Collects garbage left by crashes and failed operations: completes interrupted renames, then
 * deletes chunk objects no entry or inode references, superseded entry and inode versions, stale
 * claims and tombstones, entries whose directory no longer exists, inodes no name refers to, and
 * leftover start-up probes. Objects younger than `minAge` milliseconds are kept. The caller makes sure nothing else of this storage
 * runs meanwhile. `onProgress` hears after each listing page, manifest read and deleted batch, and
 * once at the end with the totals.
 */
export async function collectGarbage(
  ctx: S3Context,
  minAge: number,
  onProgress?: (progress: GcProgress) => void,
): Promise<GcResult> {
  await ctx.trash.flush();
  const journals = await recover(ctx);
  const cutoff = Date.now() - minAge;
  const old = (o: { LastModified?: Date }) => (o.LastModified?.getTime() ?? 0) <= cutoff;
  // Object sizes from the listings, for the bytes reported as freed.
  const sizes = new Map<string, number>();
  const progress = { phase: 'scanning' as GcProgress['phase'], examined: 0, found: 0, deleted: 0, bytes: 0 };
  const report = () => onProgress?.({ ...progress });
  const listed = (contents: readonly { Key?: string; Size?: number }[] | undefined, keepSizes = true) => {
    if (keepSizes) for (const o of contents ?? []) sizes.set(o.Key!, o.Size ?? 0);
    progress.examined += contents?.length ?? 0;
  };
  // Every entry key, grouped by directory prefix and name; then every inode key, by inode. Names
  // before inodes: a link made meanwhile writes a young inode generation, which is kept.
  const groups = new Map<string, NameKey[]>();
  const parents = new Map<string, string>();
  const ages = new Map<string, boolean>();
  const rootPrefix = ctx.layout.namePrefix('/');
  for (const prefix of [ctx.layout.entries, `${rootPrefix}!`, ctx.layout.inodes]) {
    for await (const page of ctx.objects.pages(prefix)) {
      listed(page.Contents);
      report();
      for (const o of page.Contents ?? []) {
        const parsed = ctx.layout.parseKey(o.Key!);
        if (!parsed) continue;
        const keys = groups.get(parsed.namePrefix) ?? [];
        groups.set(parsed.namePrefix, keys);
        parents.set(parsed.namePrefix, parsed.parentPrefix);
        keys.push(parsed.key);
        ages.set(o.Key!, old(o));
      }
    }
  }
  const garbage: string[] = [];
  const slots = new Map<string, Slot>();
  for (const [group, keys] of groups) {
    const slot = toSlot(group, keys);
    slots.set(group, slot);
    const top = Math.max(0, ...keys.filter((k) => k.meta).map((k) => k.gen));
    for (const k of keys) {
      if (k.key === slot.entry?.key) continue;
      // Young claims above the top generation may be writes in flight; the newest tombstone
      // guards against writers with an older view until it is old.
      if (!ages.get(k.key) && (k.gen > top || (k.gen === top && k.meta))) continue;
      garbage.push(k.key);
    }
  }
  // Entries under a directory that no longer exists (left by a crash or another process).
  const entriesRoot = ctx.layout.entries;
  const reachable = new Map<string, boolean>();
  const isReachable = (group: string): boolean => {
    const parentPrefix = parents.get(group)!;
    if (parentPrefix === entriesRoot) return true;
    const parent = parentPrefix.slice(0, -1);
    let known = reachable.get(group);
    if (known === undefined) {
      known = slots.get(parent)?.entry?.meta.kind === 'd' && isReachable(parent);
      reachable.set(group, known);
    }
    return known;
  };
  const liveEntries: Entry[] = [];
  const inodes: Slot[] = [];
  for (const [group, slot] of slots) {
    if (group.startsWith(ctx.layout.inodes)) {
      inodes.push(slot);
      continue;
    }
    if (!group.startsWith(entriesRoot) || isReachable(group)) {
      if (slot.entry) liveEntries.push(slot.entry);
      continue;
    }
    for (const k of groups.get(group) ?? []) if (ages.get(k.key)) garbage.push(k.key);
  }
  // An inode lives while a reachable name refers to it, or while it is young (a link in flight).
  const named = new Set(
    liveEntries.flatMap((e) =>
      e.meta.kind === 'h' ? [ctx.layout.namePrefix(inodePath(e.meta.inode!))] : [],
    ),
  );
  for (const slot of inodes) {
    if (!slot.entry) continue;
    if (named.has(slot.path) || !ages.get(slot.entry.key)) liveEntries.push(slot.entry);
    else for (const k of groups.get(slot.path) ?? []) if (ages.get(k.key)) garbage.push(k.key);
  }
  const referenced = new Set<string>();
  const entryGarbage = new Set(garbage).size;
  progress.found = entryGarbage;
  const manifests = await mapLimit(
    liveEntries.filter((e) => e.meta.kind === 'c'),
    ctx.concurrency,
    async (e) => {
      const manifest = await readManifest(ctx, e);
      progress.examined++;
      report();
      return manifest;
    },
  );
  for (const m of manifests) for (const key of manifestChunkKeys(ctx.layout, m)) referenced.add(key);
  const chunkGarbage: string[] = [];
  for await (const page of ctx.objects.pages(ctx.layout.chunks)) {
    // Chunks can be many: only the garbage's sizes are kept.
    listed(page.Contents, false);
    for (const o of page.Contents ?? []) {
      if (referenced.has(o.Key!) || !old(o)) continue;
      chunkGarbage.push(o.Key!);
      sizes.set(o.Key!, o.Size ?? 0);
    }
    progress.found = entryGarbage + chunkGarbage.length;
    report();
  }
  for await (const page of ctx.objects.pages(ctx.layout.probes)) {
    listed(page.Contents);
    for (const o of page.Contents ?? []) if (old(o)) garbage.push(o.Key!);
  }
  const doomed = [...new Set(garbage), ...chunkGarbage];
  progress.phase = 'deleting';
  progress.found = doomed.length;
  report();
  // One batch per DeleteObjects request, so progress moves with each.
  for (let i = 0; i < doomed.length; i += DELETE_BATCH) {
    const batch = doomed.slice(i, i + DELETE_BATCH);
    await ctx.objects.delete(batch);
    progress.deleted += batch.length;
    for (const key of batch) progress.bytes += sizes.get(key) ?? 0;
    report();
  }
  ctx.cache.clear();
  return { chunks: chunkGarbage.length, entries: new Set(garbage).size, journals };
}
