import type { VfsErrorCode, VfsStorage } from '@eryx/vfs-core';
import { baseName, createStorage, type FileKind, type Metadata, parentPath, VfsError } from '@eryx/vfs-core';

/** One file or directory: its metadata and, for a file, its bytes. */
type Entry = { meta: Metadata; data: Uint8Array };

const fail = (code: VfsErrorCode, path: string): never => {
  throw new VfsError(code, undefined, { path });
};

function newEntry(kind: FileKind, data: Uint8Array = new Uint8Array(0)): Entry {
  const t = Date.now();
  return { meta: { kind, size: data.length, created: t, modified: t, accessed: t }, data };
}

/** `old` resized to `size` bytes (zero-filled), with `data` written at `offset`. */
function resized(
  old: Uint8Array,
  size: number,
  offset = 0,
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const next = new Uint8Array(size);
  next.set(old.subarray(0, size));
  next.set(data, offset);
  return next;
}

/**
 * A storage backend that keeps its tree in a `Map`: the smallest complete backend, to start one of
 * your own over your tables or objects. `createStorage` normalizes and checks every argument and
 * emulates `append` and `create`, so the driver only sees clean paths, offsets and bytes.
 */
export function mapStorage(): VfsStorage {
  const entries = new Map<string, Entry>([['/', newEntry('directory')]]);
  const get = (path: string) => entries.get(path) ?? fail('not-found', path);
  const file = (path: string) => (get(path).meta.kind === 'file' ? get(path) : fail('is-a-directory', path));
  const dir = (path: string) =>
    get(path).meta.kind === 'directory' ? get(path) : fail('not-a-directory', path);
  const children = (path: string) => [...entries.keys()].filter((p) => p !== '/' && parentPath(p) === path);
  // Replaces a file's bytes, or creates the file in an existing directory.
  const put = (path: string, data: Uint8Array) => {
    const old = entries.get(path);
    if (!old) dir(parentPath(path));
    else if (old.meta.kind === 'directory') fail('is-a-directory', path);
    const meta = old ? { ...old.meta, size: data.length, modified: Date.now() } : newEntry('file', data).meta;
    entries.set(path, { meta, data });
  };
  return createStorage({
    // Each call runs to completion before the next: a rename is never seen half done.
    capabilities: { atomicRename: true, atomicDirectoryRename: true },
    read: async (path) => file(path).data.slice(),
    readAt: async (path, offset, length) => file(path).data.slice(offset, offset + length),
    write: async (path, data) => put(path, data.slice()),
    writeAt: async (path, offset, data) => {
      const old = entries.has(path) ? file(path).data : new Uint8Array(0);
      put(path, resized(old, Math.max(old.length, offset + data.length), offset, data));
    },
    setSize: async (path, size) => put(path, resized(file(path).data, size)),
    stat: async (path) => ({ ...get(path).meta }),
    list: async (path) => {
      dir(path);
      return children(path).map((p) => ({
        name: baseName(p),
        kind: get(p).meta.kind,
        size: get(p).meta.size,
      }));
    },
    exists: async (path) => entries.has(path),
    mkdir: async (path) => {
      if (entries.has(path)) fail('already-exists', path);
      dir(parentPath(path));
      entries.set(path, newEntry('directory'));
    },
    rmdir: async (path) => {
      if (path === '/') fail('busy', path);
      dir(path);
      if (children(path).length > 0) fail('directory-not-empty', path);
      entries.delete(path);
    },
    delete: async (path) => {
      file(path);
      entries.delete(path);
    },
    rename: async (from, to) => {
      if (from === '/' || to === '/') fail('busy', '/');
      const { kind } = get(from).meta;
      const target = entries.get(to);
      if (from === to) return;
      if (kind === 'directory' && to.startsWith(`${from}/`)) fail('invalid-path', to);
      if (!target) dir(parentPath(to));
      else if (target.meta.kind === 'directory')
        fail(kind === 'file' ? 'is-a-directory' : 'already-exists', to);
      else if (kind === 'directory') fail('not-a-directory', to);
      for (const [p, entry] of [...entries]) {
        if (p !== from && !p.startsWith(`${from}/`)) continue;
        entries.delete(p);
        entries.set(to + p.slice(from.length), entry);
      }
    },
    setTimes: async (path, { accessed, modified }) => {
      const { meta } = get(path);
      // Milliseconds: a driver that does not declare nanosecondTimes never receives a bigint.
      if (accessed !== undefined) meta.accessed = Number(accessed);
      if (modified !== undefined) meta.modified = Number(modified);
    },
  });
}
