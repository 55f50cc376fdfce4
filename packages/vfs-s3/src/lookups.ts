import { parentPath } from '@eryx/vfs-core';
import type { S3Context } from './context.js';
import { type Entry, type Manifest, type Slot, toSlot } from './entries.js';
import { decodeName, type NameKey, PIECE_END } from './layout.js';
import { decodeJson } from './objects.js';

/* Entry lookups: one name's slot, a directory's slots, a file's manifest; through the entry cache. */

/** The slot of `path`; synchronous when the cache knows it, so a cached lookup costs no tick. */
export function lookup(ctx: S3Context, path: string): Slot | Promise<Slot> {
  const cached = ctx.cache.get(path);
  if (cached === 'absent') return { path, entry: undefined, maxGen: 0, keys: [] };
  if (cached) return cached;
  return fetchSlot(ctx, path);
}

/** S3's longest key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

async function fetchSlot(ctx: S3Context, path: string): Promise<Slot> {
  const prefix = `${ctx.layout.namePrefix(path)}!`;
  const keys: NameKey[] = [];
  // No key is that long, so no entry has that path; the server would refuse the request (io).
  if (Buffer.byteLength(prefix) >= MAX_KEY_BYTES) return toSlot(path, keys);
  for await (const page of ctx.objects.pages(prefix)) {
    for (const o of page.Contents ?? []) {
      const key = o.Key!;
      const parsed = ctx.layout.parseKey(key);
      if (parsed) keys.push({ ...parsed.key, written: o.LastModified?.getTime() });
    }
  }
  const slot = toSlot(path, keys);
  ctx.cache.set(slot);
  return slot;
}

/** The slots of `path` and of its parent (none for the root), looked up together. */
export async function lookupWithParent(ctx: S3Context, path: string): Promise<[Slot, Slot | undefined]> {
  if (path === '/') return [await lookup(ctx, path), undefined];
  const slot = lookup(ctx, path);
  const parent = lookup(ctx, parentPath(path));
  return slot instanceof Promise || parent instanceof Promise ? Promise.all([slot, parent]) : [slot, parent];
}

/** One LIST walk over a directory's keys; every name with its keys (live or not). */
export async function scanDirectory(ctx: S3Context, path: string): Promise<Slot[]> {
  const prefix = ctx.layout.childPrefix(path);
  if (Buffer.byteLength(prefix) >= MAX_KEY_BYTES) return [];
  const byName = new Map<string, NameKey[]>();
  // Long names continue below a common prefix ending in `+/`: one more LIST per such name.
  for (const pending = [prefix]; pending.length > 0; ) {
    for await (const page of ctx.objects.pages(pending.pop()!, '/')) {
      for (const o of page.Contents ?? []) {
        const parsed = ctx.layout.parseKey(o.Key!);
        if (!parsed) continue;
        const keys = byName.get(parsed.name) ?? [];
        byName.set(parsed.name, keys);
        keys.push({ ...parsed.key, written: o.LastModified?.getTime() });
      }
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix!.endsWith(PIECE_END)) pending.push(p.Prefix!);
    }
  }
  const slots = [...byName].map(([encoded, keys]) => {
    const child = path === '/' ? `/${decodeName(encoded)}` : `${path}/${decodeName(encoded)}`;
    return toSlot(child, keys);
  });
  if (!ctx.conditional) ctx.cache.complete(path, slots);
  return slots;
}

/** A chunked file's manifest (its entry's body), read once per entry. */
export async function readManifest(ctx: S3Context, entry: Entry): Promise<Manifest> {
  if (!entry.manifest) {
    entry.manifest = decodeJson<Manifest>(await ctx.objects.get(entry.key));
  }
  return entry.manifest;
}

/** A symbolic link's target (its entry's body), read once per entry. */
export async function readTarget(ctx: S3Context, entry: Entry): Promise<string> {
  entry.target ??= new TextDecoder().decode(await ctx.objects.get(entry.key));
  return entry.target;
}
