/** Buffered bytes of one file: `buffer[0, length)` goes at `offset`. */
export interface Extent {
  offset: number;
  buffer: Uint8Array;
  length: number;
}

/**
 * The buffered (not yet stored) writes of one file, as sorted, non-overlapping, non-touching
 * extents. Small sequential writes grow one extent in place (its buffer doubles), so a stream of
 * small writes becomes one large write when flushed.
 */
export class DirtyExtents {
  readonly list: Extent[] = [];
  /** Bytes held (sum of extent lengths). */
  bytes = 0;

  /** One past the last buffered byte; 0 when empty. */
  get end(): number {
    const last = this.list[this.list.length - 1];
    return last ? last.offset + last.length : 0;
  }

  /** Index of the first extent that ends at or after `offset`. */
  #first(offset: number): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.list[mid]!;
      if (e.offset + e.length < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Buffers a copy of `data` at `offset`; returns how many bytes the buffer grew by. */
  write(offset: number, data: Uint8Array): number {
    const end = offset + data.length;
    const i = this.#first(offset);
    let j = i;
    while (j < this.list.length && this.list[j]!.offset <= end) j++;
    const before = this.bytes;
    if (i === j) {
      this.list.splice(i, 0, { offset, buffer: data.slice(), length: data.length });
      this.bytes += data.length;
      return data.length;
    }
    const first = this.list[i]!;
    const last = this.list[j - 1]!;
    const start = Math.min(first.offset, offset);
    const stop = Math.max(last.offset + last.length, end);
    if (i + 1 === j && start === first.offset && stop - start <= first.buffer.length) {
      first.buffer.set(data, offset - start);
      this.bytes += stop - start - first.length;
      first.length = stop - start;
      return this.bytes - before;
    }
    const capacity =
      i + 1 === j && start === first.offset ? Math.max(stop - start, first.length * 2) : stop - start;
    const buffer = new Uint8Array(capacity);
    let removed = 0;
    for (let k = i; k < j; k++) {
      const e = this.list[k]!;
      buffer.set(e.buffer.subarray(0, e.length), e.offset - start);
      removed += e.length;
    }
    buffer.set(data, offset - start);
    this.list.splice(i, j - i, { offset: start, buffer, length: stop - start });
    this.bytes += stop - start - removed;
    return this.bytes - before;
  }

  /** Copies the buffered bytes that fall in `[at, at + out.length)` over `out`. */
  overlay(out: Uint8Array, at: number): void {
    const end = at + out.length;
    for (let k = this.#first(at); k < this.list.length; k++) {
      const e = this.list[k]!;
      if (e.offset >= end) break;
      const from = Math.max(e.offset, at);
      const to = Math.min(e.offset + e.length, end);
      if (from < to) out.set(e.buffer.subarray(from - e.offset, to - e.offset), from - at);
    }
  }

  /** True when every byte of `[start, end)` is buffered. */
  covers(start: number, end: number): boolean {
    if (start >= end) return true;
    const e = this.list[this.#first(start)];
    return e !== undefined && e.offset <= start && e.offset + e.length >= end;
  }

  clear(): void {
    this.list.length = 0;
    this.bytes = 0;
  }
}
