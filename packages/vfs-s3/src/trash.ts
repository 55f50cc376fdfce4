import type { S3Context } from './context.js';

/**
 * Deferred deletion: keys that completed operations superseded, deleted in batches a moment later
 * (or at once from 1,000 keys), at `flush` and at `close`.
 */
export class Trash {
  readonly #keys = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: S3Context) {}

  queue(keys: readonly string[]): void {
    if (keys.length === 0) return;
    const chunks = this.ctx.layout.chunks;
    for (const key of keys) {
      this.#keys.add(key);
      if (key.startsWith(chunks)) this.ctx.chunkCache.delete(key.slice(chunks.length));
    }
    if (this.#keys.size >= 1000) {
      void this.flush().catch(() => undefined);
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush().catch(() => undefined);
      }, 100);
      this.#timer.unref();
    }
  }

  /** Takes back the queued keys starting with `prefix` (their deletion becomes the caller's). */
  take(prefix: string): string[] {
    const taken = [...this.#keys].filter((k) => k.startsWith(prefix));
    for (const key of taken) this.#keys.delete(key);
    return taken;
  }

  /** Deletes every queued key now; one flush at a time, a failed batch stays queued. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const run = this.#flushing.then(async () => {
      while (this.#keys.size > 0) {
        const batch = [...this.#keys].slice(0, 1000);
        for (const key of batch) this.#keys.delete(key);
        try {
          await this.ctx.objects.delete(batch);
        } catch (error) {
          for (const key of batch) this.#keys.add(key);
          throw error;
        }
      }
    });
    this.#flushing = run.catch(() => undefined);
    try {
      await run;
    } catch (error) {
      throw this.ctx.vfsError(error);
    }
  }

  /** Cancels the pending background flush (at close, after the last flush). */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
  }
}
