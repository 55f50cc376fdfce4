import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { toVfsError, VfsError } from '../errors.js';
import { joinPath } from '../path.js';
import type { DirEntry, Metadata, VfsStorage } from '../types.js';
import { ORPHANS_NAME } from '../wasi/orphans.js';
import {
  asError,
  DIRECTORY_MODE,
  drained,
  FILE_MODE,
  LINK_MODE,
  type Resolved,
  resolveOptions,
} from './common.js';
import type { TarOptions } from './index.js';

/** Options of {@link exportTar}. */
export interface ExportTarOptions extends TarOptions {}

/** Files whose metadata (and, when small, content) is fetched ahead of the one being packed. */
const PREFETCH = 16;

/** The largest modification time, in seconds, a ustar header field holds as tar-stream writes it. */
const MAX_HEADER_SECONDS = 2 ** 31 - 1;

/**
 * The tree under `options.root` (default `/`) as a tar archive (POSIX ustar, with pax headers for
 * long or non-ASCII names), streamed: pipe the returned Node `Readable` to a file, a socket or
 * stdout.
 *
 * ```ts
 * await pipeline(exportTar(storage, { root: '/data' }), createWriteStream('data.tar'));
 * ```
 *
 * Names are relative to the root (no leading slash; directories end with `/`); the root itself is
 * not an entry. Every directory is an entry (empty ones included), so the tree comes back whole,
 * except the WASI host's `/.eryx-orphans` (files unlinked while a guest had them open).
 * Each entry keeps its size and its modification time in whole seconds (tar's precision); files get
 * mode `0644`, directories `0755`. A symbolic link is a `symlink` entry holding its target verbatim
 * (tar's `linkname`, a pax `linkpath` record when it is long or not ASCII), mode `0777`: the link
 * itself, never what it points to. A file with several names (hard links, where the store has
 * them and gives files an `id`) is a `file` entry under the first name met and a `link` entry
 * (tar's hard link, `linkname` the first name) under each later one, so its content is in the
 * archive once; a store without ids exports each name as a file. The walk is depth-first and lazy: one `list` and one `stat` per
 * directory, one `stat` per file (and a `readlink` per link), and file content read with `readAt` in `chunkSize` pieces as the
 * consumer reads (backpressure), so neither a whole file nor the whole tree is ever in memory.
 * Entries are in name order (UTF-16 code units) within each directory: the same tree gives the
 * same archive.
 *
 * A storage error, a file that changes size while it is exported (`io`), or an abort ends the
 * stream with that error (the abort's is the signal's reason).
 * @throws {VfsError} `invalid-path` (a bad root); `invalid-argument` (bad options), at once;
 *   `not-found` / `not-a-directory` (the root), through the stream.
 */
export function exportTar(storage: VfsStorage, options: ExportTarOptions = {}): Readable {
  const opts = resolveOptions(options, 'exportTar');
  const pack = tar.pack();
  const out = batched(pack);
  const { signal } = opts;
  const abort = () => pack.destroy(asError(signal?.reason));
  signal?.addEventListener('abort', abort, { once: true });
  new Exporter(storage, pack, opts).run().then(
    () => {
      signal?.removeEventListener('abort', abort);
      pack.finalize();
    },
    (error: unknown) => {
      signal?.removeEventListener('abort', abort);
      pack.destroy(signal?.aborted && error === signal.reason ? asError(error) : toVfsError(error));
    },
  );
  return out;
}

/** Bytes the archive stream hands on at a time (a piece of a large file goes on as it is). */
const BATCH = 64 * 1024;

/**
 * The packer's output as a Node `Readable`, in chunks of up to {@link BATCH} bytes: tar-stream
 * emits a header, the content and the padding of each entry apart, and three chunks per small file
 * would cost the consumer more than the file. They are copied into one buffer as they come (cheaper
 * than collecting them for `Buffer.concat`). Backpressure goes both ways: the packer pauses while
 * the `Readable` is full, and destroying either destroys the other.
 */
function batched(pack: tar.Pack): Readable {
  let batch = Buffer.allocUnsafe(BATCH);
  let size = 0;
  const out = new Readable({
    read() {
      pack.resume();
    },
    destroy(error, callback) {
      pack.destroy(error);
      callback(error);
    },
  });
  const push = (chunk: Buffer) => {
    if (!out.push(chunk)) pack.pause();
  };
  const flush = () => {
    if (size === 0) return;
    const chunk = batch.subarray(0, size);
    batch = Buffer.allocUnsafe(BATCH);
    size = 0;
    push(chunk);
  };
  pack.on('data', (data) => {
    // The packer emits only Buffers (its types say unknown).
    const chunk = data as Buffer;
    if (chunk.length >= BATCH) {
      // A piece of a large file goes on as it is, not copied.
      flush();
      push(chunk);
      return;
    }
    if (size + chunk.length > BATCH) flush();
    batch.set(chunk, size);
    size += chunk.length;
  });
  pack.on('end', () => {
    flush();
    out.push(null);
  });
  pack.on('error', (error: Error) => out.destroy(error));
  return out;
}

/**
 * A file or link being fetched ahead: its metadata, and a file's content when it fits in one piece
 * or a link's target.
 */
interface Fetched {
  meta: Metadata;
  data: Uint8Array | undefined;
  target?: string;
}

/** The walk: directories depth-first, each directory's files in name order, prefetched a few ahead. */
class Exporter {
  /** Set once the archive stream closed: the consumer went away, or an abort destroyed it. */
  private closed = false;
  /** The archive name of the first name of each file with several (by `id`), once exported. */
  private readonly linked = new Map<string, string>();

  constructor(
    private readonly storage: VfsStorage,
    private readonly pack: tar.Pack,
    private readonly opts: Resolved,
  ) {
    pack.once('close', () => {
      this.closed = true;
    });
  }

  async run(): Promise<void> {
    const { storage, opts } = this;
    const meta = await storage.stat(opts.root);
    if (meta.kind !== 'directory') {
      throw new VfsError('not-a-directory', 'exportTar: the root must be a directory', { path: opts.root });
    }
    // Directories still to export, deepest last: each holds its path and its name in the archive.
    const stack: { path: string; name: string }[] = [{ path: opts.root, name: '' }];
    for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
      this.check();
      if (dir.name !== '') {
        const { modified } = await storage.stat(dir.path);
        await this.add({ name: `${dir.name}/`, type: 'directory', mode: DIRECTORY_MODE, ...mtime(modified) });
        opts.stats.directories++;
        opts.progress();
      }
      let entries = (await storage.list(dir.path)).sort(byName);
      // Files a WASI host keeps while they are open after an unlink: not part of the tree.
      if (dir.path === '/') entries = entries.filter((e) => e.name !== ORPHANS_NAME);
      await this.files(
        dir.path,
        dir.name,
        entries.filter((e) => e.kind !== 'directory'),
      );
      const dirs = entries.filter((e) => e.kind === 'directory');
      for (let i = dirs.length - 1; i >= 0; i--) {
        const { name } = dirs[i]!;
        stack.push({ path: joinPath(dir.path, name), name: dir.name === '' ? name : `${dir.name}/${name}` });
      }
    }
  }

  /** Throws the abort reason once the signal fired, and stops once the consumer went away. */
  private check(): void {
    this.opts.signal?.throwIfAborted();
    if (this.closed) throw new VfsError('io', 'exportTar: the archive stream was destroyed');
  }

  /** The files and links of one directory, in order, with up to {@link PREFETCH} fetched ahead. */
  private async files(dir: string, prefix: string, files: DirEntry[]): Promise<void> {
    const { opts } = this;
    const { chunkSize } = opts;
    const queue: { entry: DirEntry; path: string; fetched: Fetched | Promise<Fetched> }[] = [];
    let next = 0;
    let ahead = 0;
    // Fetching ahead only helps a store that waits on a server.
    const window = this.storage.sync ? 1 : PREFETCH;
    const fill = () => {
      // Small files' content comes with the prefetch, bounded to two pieces' worth of bytes.
      while (next < files.length && queue.length < window && (queue.length === 0 || ahead < 2 * chunkSize)) {
        const entry = files[next++]!;
        const path = joinPath(dir, entry.name);
        if (entry.size <= chunkSize) ahead += entry.size;
        const fetched = entry.kind === 'symlink' ? this.fetchLink(path) : this.fetch(path, entry.size);
        // Awaited in order below; this only keeps a failure behind an earlier one from going unhandled.
        if (fetched instanceof Promise) fetched.catch(() => {});
        queue.push({ entry, path, fetched });
      }
    };
    for (fill(); queue.length > 0; fill()) {
      const { entry, path, fetched } = queue.shift()!;
      if (entry.size <= chunkSize) ahead -= entry.size;
      this.check();
      const { meta, data, target } = fetched instanceof Promise ? await fetched : fetched;
      const name = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (target !== undefined) {
        await this.add({ name, type: 'symlink', linkname: target, mode: LINK_MODE, ...mtime(meta.modified) });
        opts.stats.links++;
        opts.progress();
        continue;
      }
      if (meta.id !== undefined && (meta.linkCount ?? 1) > 1) {
        // A later name of a file already in the archive: a hard link entry, as tar makes one.
        const first = this.linked.get(meta.id);
        if (first !== undefined) {
          await this.add({ name, type: 'link', linkname: first, mode: FILE_MODE, ...mtime(meta.modified) });
          opts.stats.hardLinks++;
          opts.progress();
          continue;
        }
        this.linked.set(meta.id, name);
      }
      const header: Partial<Header> & { name: string } = {
        name,
        type: 'file',
        mode: FILE_MODE,
        size: meta.size,
        ...mtime(meta.modified),
      };
      if (data) await this.add(header, data);
      else await this.stream(path, header, meta.size);
      opts.stats.files++;
      opts.stats.bytes += meta.size;
      opts.progress();
    }
  }

  /**
   * A file's metadata, and its content when the listing says it fits in one piece. A synchronous
   * twin answers at once, without a promise: promises per file would cost more than its answers.
   */
  private fetch(path: string, listed: number): Fetched | Promise<Fetched> {
    const small = listed <= this.opts.chunkSize;
    const { sync } = this.storage;
    if (!sync) return this.fetchAsync(path, listed, small);
    const meta = sync.stat(path);
    const data = small ? sync.readAt(path, 0, listed) : undefined;
    if (data && (meta.kind !== 'file' || meta.size !== listed || data.length !== listed)) throw changed(path);
    return { meta, data };
  }

  /** A link's metadata and target (a synchronous twin answers at once, as in `fetch`). */
  private fetchLink(path: string): Fetched | Promise<Fetched> {
    const { sync } = this.storage;
    const checked = (meta: Metadata, target: string): Fetched => {
      if (meta.kind !== 'symlink') throw changed(path);
      return { meta, data: undefined, target };
    };
    if (sync) return checked(sync.stat(path), sync.readlink(path));
    return Promise.all([this.storage.stat(path), this.storage.readlink(path)]).then(([meta, target]) =>
      checked(meta, target),
    );
  }

  private async fetchAsync(path: string, listed: number, small: boolean): Promise<Fetched> {
    const { storage } = this;
    if (!small) return { meta: await storage.stat(path), data: undefined };
    const [meta, data] = await Promise.all([storage.stat(path), storage.readAt(path, 0, listed)]);
    if (meta.kind !== 'file' || meta.size !== listed || data.length !== listed) throw changed(path);
    return { meta, data };
  }

  /** One entry whose content is in hand (or none): resolves once it is packed. */
  private add(header: Partial<Header> & { name: string }, data: Uint8Array = EMPTY): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pack.entry(header, asBuffer(data), (error) => (error ? reject(error) : resolve()));
    });
  }

  /** A large file, read in pieces with one read ahead, each written as the consumer makes room. */
  private async stream(
    path: string,
    header: Partial<Header> & { name: string },
    size: number,
  ): Promise<void> {
    const { storage, opts } = this;
    let sink!: ReturnType<tar.Pack['entry']>;
    const packed = new Promise<void>((resolve, reject) => {
      sink = this.pack.entry(header, (error) => (error ? reject(error) : resolve()));
    });
    packed.catch(() => {});
    const read = (offset: number) => {
      const piece = storage.readAt(path, offset, Math.min(opts.chunkSize, size - offset));
      piece.catch(() => {});
      return piece;
    };
    let offset = 0;
    let piece = size > 0 ? read(0) : undefined;
    while (piece) {
      const data = await piece;
      if (data.length === 0) throw changed(path);
      offset += data.length;
      piece = offset < size ? read(offset) : undefined;
      this.check();
      if (!sink.write(asBuffer(data))) await drained(sink);
    }
    sink.end(undefined);
    await packed;
  }
}

const EMPTY = new Uint8Array(0);

/** tar-stream's header, with the pax records its packer writes (its types leave them out). */
type Header = tar.Header & { pax?: Record<string, string> };

/** A `Buffer` over the same bytes (tar-stream takes only `Buffer`s). */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function changed(path: string): VfsError {
  return new VfsError('io', 'exportTar: the file changed while it was exported', { path });
}

function byName(a: DirEntry, b: DirEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The header's time, and a pax `mtime` record for a time before 1970 or after 2038, which the
 * ustar field as tar-stream writes it cannot hold (readers such as GNU tar and `importTar` prefer it).
 */
function mtime(modified: number): { mtime: Date; pax?: Record<string, string> } {
  const seconds = Math.floor(modified / 1000);
  if (seconds >= 0 && seconds <= MAX_HEADER_SECONDS) return { mtime: new Date(seconds * 1000) };
  const clamped = Math.min(Math.max(seconds, 0), MAX_HEADER_SECONDS);
  return { mtime: new Date(clamped * 1000), pax: { mtime: String(seconds) } };
}
