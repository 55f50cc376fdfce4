/** Many shared holders or one exclusive holder; waiting exclusive holders go first. */
export class ReadWriteLock {
  #readers = 0;
  #writer = false;
  #waiting: { exclusive: boolean; wake: () => void }[] = [];

  /** True when nothing exclusive runs or waits (a shared holder would get in at once). */
  idle(): boolean {
    return !this.#writer && this.#waiting.length === 0;
  }

  /** Takes a shared hold at once if nothing exclusive runs or waits; release with {@link releaseShared}. */
  tryShared(): boolean {
    if (this.#writer || this.#waiting.length > 0) return false;
    this.#readers++;
    return true;
  }

  releaseShared(): void {
    this.#readers--;
    this.#next();
  }

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#writer || this.#waiting.length > 0) {
      await new Promise<void>((wake) => this.#waiting.push({ exclusive: false, wake }));
    } else {
      this.#readers++;
    }
    try {
      return await fn();
    } finally {
      this.#readers--;
      this.#next();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#writer || this.#readers > 0 || this.#waiting.length > 0) {
      await new Promise<void>((wake) => this.#waiting.push({ exclusive: true, wake }));
    } else {
      this.#writer = true;
    }
    try {
      return await fn();
    } finally {
      this.#writer = false;
      this.#next();
    }
  }

  #next(): void {
    if (this.#writer || this.#readers > 0) return;
    const first = this.#waiting[0];
    if (!first) return;
    if (first.exclusive) {
      this.#waiting.shift();
      this.#writer = true;
      first.wake();
      return;
    }
    while (this.#waiting[0] && !this.#waiting[0].exclusive) {
      const next = this.#waiting.shift()!;
      this.#readers++;
      next.wake();
    }
  }
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  // Waits for every call in flight, so nothing runs on after the caller saw the failure.
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/** Retries of an operation that lost a race (a {@link ConflictError}) before it fails with `busy`. */
export const MAX_CONFLICT_RETRIES = 30;

/** Waits before retry `attempt` of a conflict: random, growing up to 640 ms. */
export function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * 5 * 2 ** Math.min(attempt, 7)));
}
