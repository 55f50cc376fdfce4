import { chunkCount, chunkPieces, chunkSpans, readRange } from '@eryx/vfs-core';
import { commit, inTxn, type Txn } from './commits.js';
import type { S3Context } from './context.js';
import { type Entry, type Manifest, manifestChunkKeys, type Slot } from './entries.js';
import type { EntryMeta } from './layout.js';
import { readManifest } from './lookups.js';
import { encodeJson, newId } from './objects.js';
import { mapLimit } from './util.js';

/*
 * File data: inline in the entry object up to the inline threshold, else in immutable chunk
 * objects named by random ids and listed in a manifest (the entry's body).
 */

export async function readFileRange(
  ctx: S3Context,
  entry: Entry,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  const range = readRange(entry.meta.size, offset, length);
  if (range.length === 0) return new Uint8Array(0);
  if (entry.meta.kind === 'i') {
    const body = await ctx.objects.get(entry.key);
    const out = new Uint8Array(range.length);
    out.set(body.subarray(range.offset, range.offset + range.length));
    return out;
  }
  const manifest = await readManifest(ctx, entry);
  const out = new Uint8Array(range.length);
  await mapLimit(chunkSpans(range.offset, range.length, manifest.s), ctx.concurrency, async (span) => {
    const chunk = manifest.c[span.index];
    if (!chunk) return;
    const [id, valid] = chunk;
    const end = Math.min(span.end, valid);
    if (end <= span.start) return;
    const whole = span.start === 0 && end === valid;
    const cached = ctx.chunkCache.get(id);
    if (cached) {
      out.set(cached.subarray(span.start, end), span.rangeOffset);
      return;
    }
    const data = await ctx.objects.get(ctx.layout.chunkKey(id), whole ? undefined : [span.start, end - 1]);
    if (whole) ctx.chunkCache.set(id, data.subarray(0, valid));
    out.set(data.subarray(0, end - span.start), span.rangeOffset);
  });
  return out;
}

/** An inode's link count, kept by every rewrite of its content. */
function linksOf(entry: Entry | undefined): Pick<EntryMeta, 'links'> {
  return entry?.meta.links === undefined ? {} : { links: entry.meta.links };
}

/** write: replaces the whole content (the old chunks become garbage). */
export async function writeFile(ctx: S3Context, slot: Slot, data: Uint8Array): Promise<void> {
  await inTxn(ctx, slot.path, async (txn) => {
    const old = slot.entry;
    const now = Date.now();
    const meta: EntryMeta = {
      kind: 'i',
      size: data.length,
      created: old?.meta.created ?? now,
      modified: now,
      accessed: now,
      ...linksOf(old),
    };
    let manifest: Manifest | undefined;
    let body = data;
    if (data.length > ctx.inlineThreshold) {
      manifest = await uploadWhole(ctx, data, txn);
      meta.kind = 'c';
      body = encodeJson(manifest);
    }
    if (old?.meta.kind === 'c')
      txn.garbage.push(...manifestChunkKeys(ctx.layout, await readManifest(ctx, old)));
    await commit(ctx, slot, meta, body, txn, manifest);
  });
}

async function uploadWhole(ctx: S3Context, data: Uint8Array, txn: Txn): Promise<Manifest> {
  const spans = chunkSpans(0, data.length, ctx.chunkSize);
  const chunks = await mapLimit(spans, ctx.concurrency, async (span): Promise<[string, number]> => {
    const id = newId();
    const key = ctx.layout.chunkKey(id);
    txn.uploaded.push(key);
    await ctx.objects.put(key, data.subarray(span.rangeOffset, span.rangeOffset + span.end));
    return [id, span.end];
  });
  return { s: ctx.chunkSize, c: chunks };
}

/**
 * What {@link patchFile} changes: runs of bytes (sorted, disjoint, as `coalesceExtents` gives them)
 * written at the time `modified` (default now), or a new size.
 */
export type FileChange = { runs: readonly [number, Uint8Array][]; modified?: number } | { size: number };

/**
 * writeAt / writeExtents / append / setSize: uploads each chunk the change touches once, then
 * commits the entry once (the commit point: readers see the whole change or none of it).
 */
export async function patchFile(ctx: S3Context, slot: Slot, change: FileChange): Promise<void> {
  await inTxn(ctx, slot.path, async (txn) => {
    const old = slot.entry;
    const oldSize = old?.meta.size ?? 0;
    const runs = 'runs' in change ? change.runs : [];
    const last = runs[runs.length - 1];
    const newSize = 'runs' in change ? Math.max(oldSize, last ? last[0] + last[1].length : 0) : change.size;
    const now = Date.now();
    const time = ('runs' in change ? change.modified : undefined) ?? now;
    const meta: EntryMeta = {
      kind: 'i',
      size: newSize,
      created: old?.meta.created ?? now,
      modified: time,
      accessed: time,
      ...linksOf(old),
    };
    const inline = !old || old.meta.kind === 'i';
    const oldContent = inline && old && oldSize > 0 ? await ctx.objects.get(old.key) : undefined;
    if (inline && newSize <= ctx.inlineThreshold) {
      const next = new Uint8Array(newSize);
      if (oldContent) next.set(oldContent.subarray(0, Math.min(oldSize, newSize)));
      for (const [offset, data] of runs) next.set(data, offset);
      await commit(ctx, slot, meta, next, txn);
      return;
    }
    const base: Manifest = inline ? { s: ctx.chunkSize, c: [] } : await readManifest(ctx, old!);
    const size = base.s;
    const chunks = base.c.slice();
    if (newSize < oldSize) {
      const keep = chunkCount(newSize, size);
      for (const c of chunks.slice(keep)) if (c) txn.garbage.push(ctx.layout.chunkKey(c[0]));
      chunks.length = Math.min(chunks.length, keep);
      const last = chunks[keep - 1];
      if (last) chunks[keep - 1] = [last[0], Math.min(last[1], newSize - (keep - 1) * size)];
    }
    // The pieces of each touched chunk, `[start in the chunk, bytes]`, in order. An inline file
    // becoming chunked moves its old content into chunk 0.
    const pieces = chunkPieces(runs, size);
    if (oldContent && !pieces.has(0)) pieces.set(0, []);
    await mapLimit([...pieces], ctx.concurrency, async ([index, list]) => {
      const previous = chunks[index] ?? null;
      const seed = index === 0 ? oldContent : undefined;
      const previousLength = seed ? seed.length : (previous?.[1] ?? 0);
      const first = list[0];
      const end = list.reduce((n, [start, data]) => Math.max(n, start + data.length), 0);
      // Runs never touch, so only a single piece can cover the chunk.
      const covered = list.length === 1 && first![0] === 0 && first![1].length >= previousLength;
      let before = seed;
      if (!before && previous && previousLength > 0 && !covered) {
        before = ctx.chunkCache.get(previous[0]) ?? (await ctx.objects.get(ctx.layout.chunkKey(previous[0])));
      }
      const buffer = new Uint8Array(Math.max(previousLength, end));
      if (before && !covered) buffer.set(before.subarray(0, previousLength));
      for (const [start, data] of list) buffer.set(data, start);
      const id = newId();
      const key = ctx.layout.chunkKey(id);
      txn.uploaded.push(key);
      await ctx.objects.put(key, buffer);
      ctx.chunkCache.set(id, buffer);
      if (previous) txn.garbage.push(ctx.layout.chunkKey(previous[0]));
      chunks[index] = [id, buffer.length];
    });
    for (let i = 0; i < chunks.length; i++) chunks[i] ??= null;
    const manifest: Manifest = { s: size, c: chunks };
    meta.kind = 'c';
    await commit(ctx, slot, meta, encodeJson(manifest), txn, manifest);
  });
}
