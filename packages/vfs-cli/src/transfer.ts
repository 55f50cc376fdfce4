import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import {
  baseName,
  type FileKind,
  isVfsError,
  joinPath,
  parentPath,
  VfsError,
  type VfsStorage,
} from '@eryx/vfs-core';
import { writeTo } from './context.js';
import { readFollowingLinks } from './links.js';
import { sortByName } from './walk.js';

/** The size of the pieces files are streamed in: at most a few of these are in memory at once. */
export const CHUNK_SIZE = 1 << 20;

/**
 * A file of a store as chunks of up to `chunkSize` bytes, read one `readAt` at a time (a short
 * read is the end of the file).
 * @throws `not-found`; `is-a-directory`
 */
export async function* readChunks(
  storage: VfsStorage,
  path: string,
  chunkSize = CHUNK_SIZE,
): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (;;) {
    const data = await storage.readAt(path, offset, chunkSize);
    if (data.length > 0) yield data;
    if (data.length < chunkSize) return;
    offset += data.length;
  }
}

/** An entry as {@link Side.stat} and {@link Side.list} report it. */
export interface SideEntry {
  name: string;
  kind: FileKind;
  size: number;
}

/**
 * One side of a copy or move: the host's file system, or a store. `cp` and `mv` are written once
 * against this, for the four directions.
 */
export interface Side {
  /** `host`, or the store's URL with the password redacted. */
  readonly label: string;
  /** The store, for a store side. */
  readonly storage?: VfsStorage;
  /** The path as this side writes it (host paths resolved against the working directory). */
  resolve(path: string): string;
  join(dir: string, name: string): string;
  base(path: string): string;
  /**
   * Kind and size, or `undefined` when nothing is there. A store's symbolic link is one (kind
   * `symlink`); the host's links are followed (a host side never reports one).
   */
  stat(path: string): Promise<Omit<SideEntry, 'name'> | undefined>;
  /** A directory's entries, sorted by name. */
  list(path: string): Promise<SideEntry[]>;
  /** Creates one directory; nothing when a directory is already there. */
  ensureDirectory(path: string): Promise<void>;
  /** A file's content (a store follows its links, as `cat` does: for `cp ... -`). */
  read(path: string): AsyncIterable<Uint8Array>;
  /** Creates or replaces the file with `chunks`; a failure leaves no half-written file behind. */
  write(path: string, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  /** The target of the symbolic link at `path`. */
  readlink(path: string): Promise<string>;
  /**
   * Makes `path` a symbolic link holding `target` (verbatim), replacing a file or link there in one
   * rename (a temporary link first), never a directory.
   */
  symlink(path: string, target: string): Promise<void>;
  /** Removes a file or a symbolic link (never its target), or a directory with everything in it. */
  remove(path: string, kind: FileKind): Promise<void>;
}

/** The host's file system, relative paths taken from `cwd`. */
export function hostSide(cwd: string): Side {
  return {
    label: 'host',
    resolve: (path) => resolve(cwd, path),
    join,
    base: basename,
    async stat(path) {
      try {
        const s = await stat(resolve(cwd, path));
        return { kind: s.isDirectory() ? 'directory' : 'file', size: s.isDirectory() ? 0 : s.size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async list(path) {
      const dir = resolve(cwd, path);
      const names = await readdir(dir);
      const out: SideEntry[] = [];
      for (const name of names) {
        // stat, not the dirent: a symbolic link is copied as what it points to.
        const s = await stat(join(dir, name));
        out.push({ name, kind: s.isDirectory() ? 'directory' : 'file', size: s.isDirectory() ? 0 : s.size });
      }
      return sortByName(out);
    },
    async ensureDirectory(path) {
      try {
        await mkdir(resolve(cwd, path));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (!(await stat(resolve(cwd, path))).isDirectory()) throw error;
      }
    },
    read: (path) => createReadStream(resolve(cwd, path), { highWaterMark: CHUNK_SIZE }),
    async write(path, chunks) {
      const target = resolve(cwd, path);
      const temp = `${target}.eryx-vfs-${process.pid}.part`;
      const handle = await open(temp, 'w');
      try {
        for await (const chunk of chunks) await handle.write(chunk);
        await handle.close();
        await rename(temp, target);
      } catch (error) {
        await handle.close().catch(() => {});
        await rm(temp, { force: true });
        throw error;
      }
    },
    readlink: (path) => readlink(resolve(cwd, path)),
    async symlink(path, target) {
      const link = resolve(cwd, path);
      const temp = `${link}.eryx-vfs-${process.pid}.link`;
      await symlink(target, temp);
      try {
        await rename(temp, link);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    },
    async remove(path) {
      await rm(resolve(cwd, path), { recursive: true });
    },
  };
}

/** A store, by its storage object. */
export function storeSide(storage: VfsStorage, label: string): Side {
  return {
    label,
    storage,
    resolve: (path) => path,
    join: joinPath,
    base: baseName,
    async stat(path) {
      try {
        const meta = await storage.stat(path);
        return { kind: meta.kind, size: meta.kind === 'directory' ? 0 : meta.size };
      } catch (error) {
        if (isVfsError(error, 'not-found')) return undefined;
        throw error;
      }
    },
    async list(path) {
      return sortByName(await storage.list(path));
    },
    async ensureDirectory(path) {
      try {
        await storage.mkdir(path);
      } catch (error) {
        if (!isVfsError(error, 'already-exists') || (await storage.stat(path)).kind !== 'directory')
          throw error;
      }
    },
    read: (path) => readFollowingLinks(storage, path),
    write: (path, chunks) => writeStoreFile(storage, path, chunks),
    readlink: (path) => storage.readlink(path),
    symlink: (path, target) => writeStoreLink(storage, path, target),
    async remove(path, kind) {
      await removeStorePath(storage, path, kind);
    },
  };
}

/**
 * Writes `chunks` as the file `path` of a store. A file of one chunk is one `write` (atomic in
 * every backend); a longer one is written to a temporary sibling and renamed over `path` at the
 * end, so an interrupted copy never leaves a torn file under the real name.
 */
export async function writeStoreFile(
  storage: VfsStorage,
  path: string,
  chunks: AsyncIterable<Uint8Array>,
): Promise<void> {
  const iterator = chunks[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return storage.write(path, new Uint8Array(0));
  const second = await iterator.next();
  if (second.done) return storage.write(path, first.value);
  // The rename below would replace a link that `write` refuses (is-a-symlink): refused alike.
  const existing = await storage.stat(path).catch((error: unknown) => {
    if (isVfsError(error, 'not-found')) return undefined;
    throw error;
  });
  if (existing?.kind === 'symlink') throw new VfsError('is-a-symlink', undefined, { path });
  const temp = tempSibling(path, 'part');
  let offset = 0;
  try {
    await storage.write(temp, first.value);
    offset = first.value.length;
    await storage.writeAt(temp, offset, second.value);
    offset += second.value.length;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      await storage.writeAt(temp, offset, next.value);
      offset += next.value.length;
    }
    await storage.rename(temp, path);
  } catch (error) {
    await storage.delete(temp).catch(() => {});
    throw renamed(error, temp, path);
  } finally {
    await iterator.return?.();
  }
}

/** A hidden sibling of `path` for a copy in progress, unique to this process. */
function tempSibling(path: string, suffix: string): string {
  const name = baseName(path).slice(0, 180);
  return joinPath(parentPath(path), `.${name}.eryx-vfs-${process.pid}-${Date.now().toString(36)}.${suffix}`);
}

/** An error naming the temporary file as the same error naming `path`: the caller named that. */
function renamed(error: unknown, temp: string, path: string): unknown {
  return isVfsError(error) && error.path === temp
    ? new VfsError(error.code, undefined, { path, cause: error })
    : error;
}

/**
 * Makes `path` of a store a symbolic link holding `target`: a temporary link renamed over `path`,
 * so a file or link there is replaced in one step and a failure leaves nothing behind.
 * @throws `unsupported` (the store keeps no links); `is-a-directory` (a directory at `path`)
 */
export async function writeStoreLink(storage: VfsStorage, path: string, target: string): Promise<void> {
  if (!storage.capabilities.symlinks) {
    throw new VfsError('unsupported', 'this store keeps no symbolic links, and the source is one', { path });
  }
  const temp = tempSibling(path, 'link');
  try {
    await storage.symlink(temp, target);
    await storage.rename(temp, path);
  } catch (error) {
    await storage.delete(temp).catch(() => {});
    throw renamed(error, temp, path);
  }
}

/**
 * Deletes a file or a symbolic link (the link, never its target), or a directory and everything
 * under it (its entries first).
 */
export async function removeStorePath(storage: VfsStorage, path: string, kind: FileKind): Promise<void> {
  if (kind !== 'directory') return storage.delete(path);
  for (const entry of await storage.list(path)) {
    await removeStorePath(storage, joinPath(path, entry.name), entry.kind);
  }
  await storage.rmdir(path);
}

/** `chunks` as they pass, counted by `onChunk`. */
export async function* counted(
  chunks: AsyncIterable<Uint8Array>,
  onChunk: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    onChunk(chunk.length);
    yield chunk;
  }
}

/** Reads a readable stream (stdin) as byte chunks. */
export async function* streamChunks(stream: Readable): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream) {
    yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
  }
}

/** Writes chunks to a stream (stdout) with backpressure. */
export async function pipeTo(chunks: AsyncIterable<Uint8Array>, stream: Writable): Promise<void> {
  for await (const chunk of chunks) await writeTo(stream, chunk);
}
