import tar from 'tar-stream';
import { isVfsError, VfsError } from '../errors.js';
import { normalizePath, parentPath } from '../path.js';
import { isUint8Array } from '../storage.js';
import type { VfsStorage, VfsSyncStorage } from '../types.js';
import { asError, drained, type Resolved, resolveOptions } from './common.js';
import type { TarOptions, TarStats } from './index.js';

/** Options of {@link importTar}. */
export interface ImportTarOptions extends TarOptions {
  /**
   * Replace files (and symbolic links) that already exist under the root, as `tar -x` does. With
   * `false`, each file is created exclusively first (`create`, one more call per file) and an
   * existing one fails the import with `already-exists`, as does anything where the archive has a
   * link. Existing directories are always merged into. Default `true`.
   */
  overwrite?: boolean;
  /**
   * Skip entries storage cannot hold (character and block devices, fifos, entry types tar-stream
   * does not know, and symbolic or hard links where the storage does not declare
   * `capabilities.symlinks` or `capabilities.hardLinks`) and count them in {@link TarStats.skipped}, instead of failing with
   * `unsupported`. Default `false`.
   */
  skipUnsupported?: boolean;
}

/**
 * Where {@link importTar} reads an archive: a Node `Readable` (without an encoding), any async or
 * sync iterable of byte chunks (a web `ReadableStream` in Node, an array of `Buffer`s), or the
 * whole archive in one `Uint8Array`.
 */
export type TarSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Uint8Array;

/** One entry of the archive, as tar-stream's extractor yields it. */
type Entry = tar.ExtractEvents['entry'][1];

/** Small files written at once, the first call of each not awaited before the next entry is read. */
const IN_FLIGHT = 16;

/**
 * Imports a tar archive (ustar, pax, GNU and v7 formats, as tar-stream reads them) from `source`
 * under `options.root` (default `/`), streaming: the archive is read as the storage takes it.
 *
 * ```ts
 * const stats = await importTar(storage, createReadStream('data.tar'), { root: '/restore' });
 * ```
 *
 * Directories are created as needed (`mkdir -p`: the root and parents missing from the archive
 * included; existing ones are merged into) and remembered, so each costs one `mkdir`. A file up to
 * `chunkSize` (4 MiB) is one `write` and one `setTimes`, a few of them in flight at once; a larger
 * one is written in `chunkSize` pieces (a `write`, then `writeAt`), never whole in memory. Files
 * and directories get the entry's modification time (a pax `mtime` record when there is one, else
 * the header's whole seconds); directories get theirs at the end, once nothing more is written in
 * them.
 *
 * **Symbolic links** become links (`symlink`, then `setTimes`) when the storage declares
 * `capabilities.symlinks`, holding the entry's target verbatim: storage never follows a link, so
 * an absolute target or one that climbs out of the root is stored as it is (whoever resolves links,
 * such as the WASI host, confines them). A link replaces a file or link already at its path (not
 * with `overwrite: false`, which fails with `already-exists`); a directory there is
 * `is-a-directory`. Where the storage keeps no links, a link is `unsupported` naming the entry, as
 * before links were stored, unless `skipUnsupported`.
 *
 * Each entry's name is checked before anything is written for it: an absolute name, a `..` that
 * climbs out of the root, a NUL or an empty name is `invalid-path` naming the entry. Devices and
 * fifos are `unsupported` naming the entry, unless `skipUnsupported`.
 *
 * **Hard links** (tar `link` entries) become names of the file an earlier entry made (`link`),
 * where the storage declares `capabilities.hardLinks`; a link's target is checked like a name, and
 * one no earlier entry made is `not-found`. Elsewhere they are `unsupported`, unless
 * `skipUnsupported`. A truncated or
 * malformed archive is `invalid-argument`; a failure of `source` is `io` (with it as `cause`).
 *
 * **Not transactional.** When an import fails, what it wrote stays: every entry before the failing
 * one, and possibly a few small files after it that were already in flight; nothing is written
 * outside the root, and no call is still running when the promise rejects.
 * @returns the totals: files, directory entries, file bytes and skipped entries.
 * @throws {VfsError} as above; the storage's errors (`quota-exceeded`, `not-a-directory` when a
 *   file is where the archive has a directory...) as they come; an abort's reason.
 */
export async function importTar(
  storage: VfsStorage,
  source: TarSource,
  options: ImportTarOptions = {},
): Promise<TarStats> {
  const opts = resolveOptions(options, 'importTar');
  const chunks = isUint8Array(source) ? [source] : source;
  const iterable = chunks as Partial<AsyncIterable<unknown> & Iterable<unknown>> | null;
  if (
    typeof iterable?.[Symbol.asyncIterator] !== 'function' &&
    typeof iterable?.[Symbol.iterator] !== 'function'
  ) {
    throw new VfsError(
      'invalid-argument',
      'importTar: source must be a Readable, an (async) iterable of Uint8Arrays or a Uint8Array',
    );
  }
  const extract = tar.extract();
  const { signal } = opts;
  signal?.throwIfAborted();
  const abort = () => extract.destroy(asError(signal?.reason));
  signal?.addEventListener('abort', abort, { once: true });
  const importer = new Importer(storage, opts, options.overwrite !== false, options.skipUnsupported === true);
  try {
    await importer.directory(opts.root);
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      // Listening for entries before the first byte goes in: an entry nobody listens for is lost.
      // Events, not the extractor's async iterator: its promises per entry cost more than a small file.
      extract.on('entry', (_header, entry, next) => {
        // An entry destroyed with the extractor emits its error; it is reported by the extractor's.
        entry.on('error', noop);
        if (settled) return;
        try {
          signal?.throwIfAborted();
          importer.entry(entry, next, fail);
        } catch (error) {
          fail(error);
        }
      });
      extract.on('error', fail);
      extract.on('finish', () => {
        if (settled) return;
        settled = true;
        resolve();
      });
      extract.on('close', () => fail(new VfsError('io', 'importTar: the archive stream was closed')));
      void feed(chunks as AsyncIterable<Uint8Array> | Iterable<Uint8Array>, extract);
    });
    await importer.finish();
    return { ...opts.stats };
  } catch (error) {
    extract.destroy(null);
    await importer.settle();
    if (signal?.aborted && error === signal.reason) throw error;
    throw archiveError(error);
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

/** Writes `source` into the extractor with backpressure; a failure of `source` destroys it. */
async function feed(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  extract: tar.Extract,
): Promise<void> {
  try {
    for await (const chunk of source) {
      if (!isUint8Array(chunk)) {
        throw new VfsError(
          'invalid-argument',
          'importTar: source must yield Uint8Arrays (a Readable without an encoding)',
        );
      }
      if (extract.destroyed) return;
      const bytes = Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (!extract.write(bytes)) await drained(extract);
    }
    extract.end(undefined);
  } catch (error) {
    extract.destroy(
      isVfsError(error)
        ? error
        : new VfsError('io', `importTar: reading the archive failed: ${message(error)}`, { cause: error }),
    );
  }
}

/** A tar-stream error as a `VfsError`; others pass through. */
function archiveError(error: unknown): unknown {
  if (isVfsError(error) || !(error instanceof Error)) return error;
  const text =
    error.message === 'Unexpected end of data'
      ? 'the tar archive is truncated (it ends inside an entry or a header)'
      : `not a valid tar archive: ${error.message}`;
  return new VfsError('invalid-argument', `importTar: ${text}`, { cause: error });
}

function noop(): void {}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What one import has created and has in flight. */
class Importer {
  /** Directories known to exist: created or checked once, never looked up again. */
  private readonly directories = new Set<string>(['/']);
  /** Directory times, set at the end (writing in a directory may move its time). */
  private readonly times: [string, number][] = [];
  /** Small files being written, by path. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private inFlightBytes = 0;
  /** The first failure of a file in flight, thrown at the next entry. */
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly storage: VfsStorage,
    private readonly opts: Resolved,
    private readonly overwrite: boolean,
    private readonly skipUnsupported: boolean,
  ) {}

  /**
   * Imports one entry, then calls `next` (or `fail`). A small file on a synchronous twin, in a
   * directory already made, is read and stored by callbacks alone: no promise per file.
   */
  entry(entry: Entry, next: () => void, fail: (error: unknown) => void): void {
    this.rethrow();
    const { header } = entry;
    const size = header.size ?? 0;
    const { sync } = this.storage;
    if (
      sync &&
      (header.type === 'file' || header.type === 'contiguous-file') &&
      size <= this.opts.chunkSize
    ) {
      const path = this.target(header.name, 'file');
      if (this.directories.has(parentPath(path)) && !this.inFlight.has(path)) {
        readAll(entry, size, path, (error, data) => {
          if (error) return fail(error);
          try {
            this.storeSync(sync, path, data!, mtimeOf(header));
          } catch (failure) {
            return fail(failure);
          }
          next();
        });
        return;
      }
    }
    this.entryAsync(entry).then(next, fail);
  }

  private async entryAsync(entry: Entry): Promise<void> {
    const { header } = entry;
    const { stats, progress } = this.opts;
    switch (header.type) {
      case 'file':
      case 'contiguous-file':
        await this.file(entry, this.target(header.name, 'file'));
        return;
      case 'directory': {
        const path = this.target(header.name, 'directory');
        await drain(entry);
        await this.directory(path);
        const time = mtimeOf(header);
        if (time !== undefined) this.times.push([path, time]);
        if (path !== this.opts.root) stats.directories++;
        progress();
        return;
      }
      case 'link':
        if (this.storage.capabilities.hardLinks) {
          const path = this.target(header.name, 'file');
          const source = this.target(header.linkname ?? '', 'file');
          await drain(entry);
          await this.hardLink(path, source, header);
          return;
        }
        await this.unsupported(entry);
        return;
      case 'symlink':
        if (this.storage.capabilities.symlinks) {
          const path = this.target(header.name, 'file');
          await drain(entry);
          await this.link(path, header.linkname ?? '', mtimeOf(header));
          return;
        }
        // A store without links cannot hold one.
        await this.unsupported(entry);
        return;
      default:
        await this.unsupported(entry);
    }
  }

  /** An entry storage cannot hold: `unsupported`, or skipped and counted with `skipUnsupported`. */
  private async unsupported(entry: Entry): Promise<void> {
    const { header } = entry;
    const { stats, progress } = this.opts;
    // tar-stream's types leave out the null it gives an entry type it does not know.
    const kind = (header.type as string | null) ?? 'entry of an unknown type';
    if (!this.skipUnsupported) {
      throw new VfsError(
        'unsupported',
        `importTar: tar entry "${printable(header.name)}" is a ${kind}, which storage cannot hold (skipUnsupported skips it)`,
        { path: printable(header.name) },
      );
    }
    await drain(entry);
    stats.skipped++;
    progress();
  }

  /** Waits for the files in flight and sets the directories' times. */
  async finish(): Promise<void> {
    await this.settle();
    this.rethrow();
    for (const [path, modified] of this.times) {
      this.opts.signal?.throwIfAborted();
      await this.storage.setTimes(path, { modified });
    }
  }

  /** Waits until nothing is in flight (failures are kept, not thrown). */
  async settle(): Promise<void> {
    await Promise.all(this.inFlight.values());
  }

  /** Creates `path` and its missing parents, each at most once per import. */
  async directory(path: string): Promise<void> {
    if (this.directories.has(path)) return;
    await this.directory(parentPath(path));
    await this.inFlight.get(path);
    try {
      await this.storage.mkdir(path);
    } catch (error) {
      if (!isVfsError(error, 'already-exists')) throw error;
      if ((await this.storage.stat(path)).kind !== 'directory') {
        throw new VfsError(
          'not-a-directory',
          'importTar: a file or link is where the archive has a directory',
          {
            path,
          },
        );
      }
    }
    this.directories.add(path);
  }

  /** The storage path of an entry's name, checked before anything is written for the entry. */
  private target(name: string, kind: 'file' | 'directory'): string {
    const bad = (why: string) =>
      new VfsError('invalid-path', `importTar: tar entry "${printable(name)}" ${why}`, {
        path: printable(name),
      });
    if (name === '') throw bad('has an empty name');
    if (name.includes('\0')) throw bad('contains NUL');
    if (name.startsWith('/')) throw bad('is absolute (names must be relative to the archive root)');
    let relative: string;
    try {
      relative = normalizePath(`/${name}`);
    } catch (error) {
      throw bad(
        isVfsError(error) && /escapes/.test(error.message)
          ? 'climbs out of the root with ..'
          : 'is not a valid name',
      );
    }
    const { root } = this.opts;
    if (relative === '/' && kind === 'file') throw bad('names the root, which is a directory');
    return relative === '/' ? root : root === '/' ? relative : `${root}${relative}`;
  }

  private async file(entry: Entry, path: string): Promise<void> {
    const { storage, opts } = this;
    // Awaited only when there is something to wait for: each await costs more than a small file.
    const parent = parentPath(path);
    if (!this.directories.has(parent)) await this.directory(parent);
    const writing = this.inFlight.get(path);
    if (writing) await writing;
    this.rethrow();
    const size = entry.header.size ?? 0;
    const modified = mtimeOf(entry.header);
    if (size <= opts.chunkSize) {
      const data = await new Promise<Uint8Array>((resolve, reject) =>
        readAll(entry, size, path, (error, read) => (error ? reject(error) : resolve(read!))),
      );
      // A synchronous twin stores the file at once: nothing to keep in flight.
      const { sync } = storage;
      if (sync) {
        this.storeSync(sync, path, data, modified);
        return;
      }
      await this.room(size);
      const write = async () => {
        if (!this.overwrite) await storage.create(path);
        await storage.write(path, data);
        if (modified !== undefined) await storage.setTimes(path, { modified });
        opts.stats.files++;
        opts.stats.bytes += size;
        opts.progress();
      };
      this.inFlightBytes += size;
      const done = () => {
        this.inFlight.delete(path);
        this.inFlightBytes -= size;
      };
      this.inFlight.set(
        path,
        write().then(done, (error: unknown) => {
          done();
          this.failure ??= { error };
        }),
      );
      return;
    }
    if (!this.overwrite) await storage.create(path);
    await this.large(entry, path, size);
    if (modified !== undefined) await storage.setTimes(path, { modified });
    opts.stats.files++;
    opts.stats.bytes += size;
    opts.progress();
  }

  /** A symbolic link at `path`, replacing a file or link there unless `overwrite` is off. */
  private async link(path: string, target: string, modified: number | undefined): Promise<void> {
    const { storage, opts } = this;
    const parent = parentPath(path);
    if (!this.directories.has(parent)) await this.directory(parent);
    await this.inFlight.get(path);
    this.rethrow();
    try {
      await storage.symlink(path, target);
    } catch (error) {
      if (!this.overwrite || !isVfsError(error, 'already-exists')) throw error;
      if ((await storage.stat(path)).kind === 'directory') {
        throw new VfsError('is-a-directory', 'importTar: a directory is where the archive has a link', {
          path,
        });
      }
      // As tar -x does: the old entry goes, the link takes its place.
      await storage.delete(path);
      await storage.symlink(path, target);
    }
    if (modified !== undefined) await storage.setTimes(path, { modified });
    opts.stats.links++;
    opts.progress();
  }

  /**
   * A hard link at `path` to the file an earlier entry made at `source`, replacing a file or link
   * at `path` unless `overwrite` is off.
   */
  private async hardLink(path: string, source: string, header: Entry['header']): Promise<void> {
    const { storage, opts } = this;
    const parent = parentPath(path);
    if (!this.directories.has(parent)) await this.directory(parent);
    await this.inFlight.get(source);
    await this.inFlight.get(path);
    this.rethrow();
    const link = async () => {
      try {
        await storage.link(source, path);
      } catch (error) {
        if (!isVfsError(error, 'not-found') || (await storage.exists(source))) throw error;
        throw new VfsError(
          'not-found',
          `importTar: tar entry "${printable(header.name)}" is a hard link to "${printable(header.linkname ?? '')}", which no earlier entry made`,
          { path: printable(header.name) },
        );
      }
    };
    try {
      await link();
    } catch (error) {
      if (!this.overwrite || !isVfsError(error, 'already-exists') || path === source) throw error;
      if ((await storage.stat(path)).kind === 'directory') {
        throw new VfsError('is-a-directory', 'importTar: a directory is where the archive has a link', {
          path,
        });
      }
      // As tar -x does: the old entry goes, the link takes its place.
      await storage.delete(path);
      await link();
    }
    opts.stats.hardLinks++;
    opts.progress();
  }

  /** A small file stored on the synchronous twin, at once. */
  private storeSync(
    sync: VfsSyncStorage,
    path: string,
    data: Uint8Array,
    modified: number | undefined,
  ): void {
    const { opts } = this;
    if (!this.overwrite) sync.create(path);
    sync.write(path, data);
    if (modified !== undefined) sync.setTimes(path, { modified });
    opts.stats.files++;
    opts.stats.bytes += data.length;
    opts.progress();
  }

  /** Waits until one more small file of `size` bytes may be in flight. */
  private async room(size: number): Promise<void> {
    const most = 2 * this.opts.chunkSize;
    while (this.inFlight.size >= IN_FLIGHT || (this.inFlight.size > 0 && this.inFlightBytes + size > most)) {
      await Promise.race(this.inFlight.values());
    }
    this.rethrow();
  }

  /** A file over `chunkSize`: pieces of `chunkSize`, one write in flight while the next is read. */
  private async large(entry: Entry, path: string, size: number): Promise<void> {
    const { storage, opts } = this;
    let piece = new Uint8Array(opts.chunkSize);
    let filled = 0;
    let offset = 0;
    let written: Promise<void> = Promise.resolve();
    const flush = async () => {
      await written;
      const data = piece.subarray(0, filled);
      written = offset === 0 ? storage.write(path, data) : storage.writeAt(path, offset, data);
      // Awaited at the next piece or at the end; this only keeps it from going unhandled meanwhile.
      written.catch(() => {});
      offset += filled;
      piece = new Uint8Array(opts.chunkSize);
      filled = 0;
    };
    for await (const chunk of entry as AsyncIterable<Uint8Array>) {
      let at = 0;
      while (at < chunk.length) {
        const n = Math.min(piece.length - filled, chunk.length - at);
        piece.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === piece.length) await flush();
      }
      opts.signal?.throwIfAborted();
    }
    if (filled > 0) await flush();
    await written;
    if (offset !== size) throw truncated(path);
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.error;
  }
}

/**
 * Reads an entry's content, `size` bytes in one array (copied only when it came in several chunks),
 * and calls `done` once. With the stream's events: its async iterator costs a few promises per
 * entry, more than a small file's write.
 */
function readAll(
  entry: Entry,
  size: number,
  path: string,
  done: (error: unknown, data?: Uint8Array) => void,
): void {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const onData = (data: unknown) => {
    // The extractor's entries yield Buffers (its types say unknown).
    const chunk = data as Uint8Array;
    chunks.push(chunk);
    length += chunk.length;
  };
  // `close` without `end`: the extractor was destroyed mid-entry, which reads as a truncation.
  const onEnd = (error?: unknown) => {
    entry.off('data', onData);
    entry.off('end', onEnd);
    entry.off('close', onEnd);
    entry.off('error', onEnd);
    if (error) done(error);
    else if (length !== size) done(truncated(path));
    else done(undefined, chunks.length === 1 ? chunks[0]! : concat(chunks, size));
  };
  entry.on('data', onData);
  entry.on('end', onEnd);
  entry.on('close', onEnd);
  entry.on('error', onEnd);
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Reads and drops what an entry holds (a directory's or a skipped entry's, normally nothing). */
async function drain(entry: Entry): Promise<void> {
  for await (const _ of entry) {
    // Nothing to keep.
  }
}

function truncated(path: string): VfsError {
  return new VfsError(
    'invalid-argument',
    'importTar: the tar archive is truncated (it ends inside an entry)',
    {
      path,
    },
  );
}

/** The entry's modification time in milliseconds: the pax record's fractions when there is one. */
function mtimeOf(header: tar.Header): number | undefined {
  const pax = (header.pax as Record<string, string> | null | undefined)?.mtime;
  if (pax !== undefined) {
    const seconds = Number(pax);
    if (Number.isFinite(seconds)) return seconds * 1000;
  }
  const time = header.mtime?.getTime();
  return time !== undefined && Number.isFinite(time) ? time : undefined;
}

/** A name as it can be shown: NUL as `\0`. */
function printable(name: string): string {
  return name.replace(/\0/g, '\\0');
}
