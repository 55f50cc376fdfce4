import type { Readable, Writable } from 'node:stream';
import type { VfsStorage } from '@eryx/vfs-core';
import type { OpenedStore, OpenStoreOptions } from './stores.js';

/** Where `eryx-vfs` reads and writes: the process's own streams, or a test's. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  /** Progress bars appear only when `isTTY` is true. */
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /** Read for `ERYX_VFS_STORE`. */
  env: Record<string, string | undefined>;
  /** What relative host paths and `sqlite:` files are resolved against. */
  cwd: string;
}

/** The flags every command takes. */
export interface GlobalFlags {
  /** Log every storage call on stderr; print stack traces. */
  verbose: boolean;
  /** No progress bar. */
  quiet: boolean;
}

/** What a command runs with: its streams, the global flags, and the stores it opened. */
export class Context {
  private readonly opened: VfsStorage[] = [];

  constructor(
    readonly io: CliIo,
    /** The command's name, for error lines. */
    readonly command: string,
    readonly flags: GlobalFlags,
  ) {}

  /**
   * Opens a store URL (see {@link openStore}), traced when `--verbose`; it is closed when the
   * command ends.
   */
  async open(url: string, options: Omit<OpenStoreOptions, 'cwd'> = {}): Promise<OpenedStore> {
    // Loaded here, not at start-up: `--help` or a usage error never loads core or a backend.
    const { openStore } = await import('./stores.js');
    const store = await openStore(url, { ...options, cwd: this.io.cwd });
    this.opened.push(store.storage);
    if (!this.flags.verbose) return store;
    const { traceStorage } = await import('./verbose.js');
    return { url: store.url, storage: traceStorage(store.storage, store.url.href, this.io.stderr) };
  }

  /** Closes every store {@link Context.open} opened; errors on close are reported, not thrown. */
  async closeAll(): Promise<void> {
    const stores = this.opened.splice(0);
    await Promise.all(
      stores.map((storage) =>
        storage.close().catch((error: unknown) => {
          if (this.flags.verbose) this.warn(`closing a store failed: ${String(error)}`);
        }),
      ),
    );
  }

  /** Writes `chunk` to stdout, waiting when the consumer is slower (a pipe, a pager). */
  write(chunk: string | Uint8Array): Promise<void> {
    return writeTo(this.io.stdout, chunk);
  }

  /** One line on stderr. */
  warn(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }
}

/** Writes to a stream with backpressure: resolves once the stream can take more. */
export function writeTo(stream: Writable, chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = stream.write(chunk, (error) => {
      if (error) reject(error);
    });
    // Through the event loop even when the stream took the chunk at once (stdout to a file is
    // written synchronously): a loop of reads and writes that never leaves the microtask queue
    // lets the chunks it is done with pile up (RSS grew with the file, 330 MB for 256 MiB).
    if (ok) setImmediate(resolve);
    else {
      const onDrain = () => {
        stream.off('error', onError);
        resolve();
      };
      const onError = (error: Error) => {
        stream.off('drain', onDrain);
        reject(error);
      };
      stream.once('drain', onDrain);
      stream.once('error', onError);
    }
  });
}
