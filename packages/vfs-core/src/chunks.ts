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
