import type { WriteExtent } from './types.js';

/** The part of one fixed-size chunk that a byte range covers. */
export interface ChunkSpan {
  /** Chunk number: byte `index * chunkSize` is its first byte. */
  index: number;
  /** First byte within the chunk. */
  start: number;
  /** One past the last byte within the chunk. */
  end: number;
  /** Offset of this span's first byte within the range (into the caller's buffer). */
  rangeOffset: number;
}

/** The chunks a byte range `[offset, offset + length)` touches, in order. */
export function chunkSpans(offset: number, length: number, chunkSize: number): ChunkSpan[] {
  const spans: ChunkSpan[] = [];
  let position = offset;
  const end = offset + length;
  while (position < end) {
    const index = Math.floor(position / chunkSize);
    const start = position - index * chunkSize;
    const stop = Math.min(chunkSize, end - index * chunkSize);
    spans.push({ index, start, end: stop, rangeOffset: position - offset });
    position += stop - start;
  }
  return spans;
}

/** How many chunks a file of `size` bytes has. */
export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** Bytes actually used in chunk `index` of a file of `size` bytes. */
export function chunkLength(index: number, size: number, chunkSize: number): number {
  return Math.max(0, Math.min(chunkSize, size - index * chunkSize));
}

/** The clamped byte range a readAt returns: `[offset, end)`, empty past EOF. */
export function readRange(size: number, offset: number, length: number): { offset: number; length: number } {
  if (offset >= size) return { offset, length: 0 };
  return { offset, length: Math.min(length, size - offset) };
}

/** Concatenates byte arrays into one. */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  const size = total ?? parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * The runs of bytes that writing `extents` in the order given leaves: sorted by offset, disjoint and
 * not touching. Touching and overlapping extents are merged into one run (the later extent wins
 * where they overlap); empty extents are dropped. A run of a single extent is that extent's own
 * array, not a copy. Backends' `writeExtents` start from it. O(n log n) in the number of extents,
 * O(n) when they come sorted by offset (as the sync bridge sends them), plus the bytes merged.
 */
export function coalesceExtents(extents: readonly WriteExtent[]): [number, Uint8Array][] {
  // The usual case first, without allocating per extent: sorted, not overlapping (touching allowed).
  let end = 0;
  let inOrder = true;
  for (const [offset, data] of extents) {
    if (data.length === 0) continue;
    if (offset < end) {
      inOrder = false;
      break;
    }
    end = offset + data.length;
  }
  if (inOrder) return mergeTouching(extents.filter(([, data]) => data.length > 0));
  // Overlaps: a stable order by offset, then each group of overlapping or touching extents is
  // painted into one buffer in the order given, so the later extent wins.
  const items = extents
    .map(([offset, data], index) => [offset, data, index] as const)
    .filter(([, data]) => data.length > 0)
    .sort((a, b) => a[0] - b[0] || a[2] - b[2]);
  const runs: [number, Uint8Array][] = [];
  for (let i = 0; i < items.length; ) {
    const start = items[i]![0];
    let stop = start + items[i]![1].length;
    let j = i + 1;
    while (j < items.length && items[j]![0] <= stop) {
      stop = Math.max(stop, items[j]![0] + items[j]![1].length);
      j++;
    }
    if (j === i + 1) {
      runs.push([start, items[i]![1]]);
    } else {
      const buffer = new Uint8Array(stop - start);
      for (const [offset, data] of items.slice(i, j).sort((a, b) => a[2] - b[2])) {
        buffer.set(data, offset - start);
      }
      runs.push([start, buffer]);
    }
    i = j;
  }
  return runs;
}

/**
 * Where the runs of a {@link coalesceExtents} fall in a file stored in chunks of `chunkSize` bytes:
 * for each chunk they touch, in ascending order, its pieces as `[start within the chunk, bytes]`
 * in offset order (views of the runs' bytes). A backend stores each of these chunks once.
 */
export function chunkPieces(
  runs: readonly (readonly [number, Uint8Array])[],
  chunkSize: number,
): Map<number, [number, Uint8Array][]> {
  const chunks = new Map<number, [number, Uint8Array][]>();
  for (const [offset, data] of runs) {
    const end = offset + data.length;
    for (let at = offset; at < end; ) {
      const index = Math.floor(at / chunkSize);
      const base = index * chunkSize;
      const stop = Math.min(end, base + chunkSize);
      // A run within one chunk (most small ones) is its own piece: a view per piece costs more.
      const bytes = at === offset && stop === end ? data : data.subarray(at - offset, stop - offset);
      const piece: [number, Uint8Array] = [at - base, bytes];
      const pieces = chunks.get(index);
      if (pieces) pieces.push(piece);
      else chunks.set(index, [piece]);
      at = stop;
    }
  }
  return chunks;
}

/** Sorted, disjoint, non-empty extents with the touching ones joined into one run each. */
function mergeTouching(extents: readonly WriteExtent[]): [number, Uint8Array][] {
  const runs: [number, Uint8Array][] = [];
  for (let i = 0; i < extents.length; ) {
    const start = extents[i]![0];
    let stop = start + extents[i]![1].length;
    let j = i + 1;
    while (j < extents.length && extents[j]![0] === stop) stop += extents[j++]![1].length;
    if (j === i + 1) {
      runs.push([start, extents[i]![1]]);
    } else {
      const buffer = new Uint8Array(stop - start);
      for (let k = i; k < j; k++) buffer.set(extents[k]![1], extents[k]![0] - start);
      runs.push([start, buffer]);
    }
    i = j;
  }
  return runs;
}
