/**
 * Runs each `run(key, fn)` after every earlier call with the same key has settled: an in-process
 * lock per key (per path, say). Failures do not block later calls. Backends and wrappers use it to
 * serialize operations on one path within one storage object.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
