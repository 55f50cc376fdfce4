import {
  createStorage,
  type Metadata,
  parentPath,
  type VfsDriver,
  VfsError,
  type VfsStorage,
} from '@eryx/vfs-core';

interface Node {
  meta: Metadata;
  data: Uint8Array;
}

export function myStorage(): VfsStorage {
  const now = () => Date.now();
  const nodes = new Map<string, Node>([['/', { meta: dirMeta(now()), data: new Uint8Array(0) }]]);
  const get = (path: string): Node => {
    const node = nodes.get(path);
    if (!node) throw new VfsError('not-found', undefined, { path });
    return node;
  };
  const file = (path: string): Node => {
    const node = get(path);
    if (node.meta.kind === 'directory') throw new VfsError('is-a-directory', undefined, { path });
    return node;
  };
  const parentDir = (path: string) => {
    if (path === '/') throw new VfsError('is-a-directory', undefined, { path });
    const parent = nodes.get(parentPath(path));
    if (!parent) throw new VfsError('not-found', undefined, { path });
    if (parent.meta.kind !== 'directory') throw new VfsError('not-a-directory', undefined, { path });
  };
  const children = (dir: string) => [...nodes.keys()].filter((p) => p !== dir && parentPath(p) === dir);
  const store = (path: string, data: Uint8Array) => {
    const old = nodes.get(path);
    if (old?.meta.kind === 'directory') throw new VfsError('is-a-directory', undefined, { path });
    if (!old) parentDir(path);
    const t = now();
    const meta = old ? { ...old.meta, size: data.length, modified: t } : fileMeta(t, data.length);
    nodes.set(path, { meta, data });
  };
  const driver: VfsDriver = {
    // Claim only what the conformance kit can verify for you (see "What it does not test").
    capabilities: { atomicRename: true },
    read: async (path) => file(path).data.slice(),
    readAt: async (path, offset, length) => file(path).data.slice(offset, offset + length),
    write: async (path, data) => store(path, data.slice()),
    writeAt: async (path, offset, data) => {
      const old = nodes.has(path) ? file(path).data : new Uint8Array(0);
      const next = new Uint8Array(Math.max(old.length, offset + data.length));
      next.set(old);
      next.set(data, offset);
      store(path, next);
    },
    setSize: async (path, size) => {
      const next = new Uint8Array(size);
      next.set(file(path).data.subarray(0, size));
      store(path, next);
    },
    stat: async (path) => ({ ...get(path).meta }),
    list: async (path) => {
      if (get(path).meta.kind !== 'directory') throw new VfsError('not-a-directory', undefined, { path });
      return children(path).map((p) => {
        const { kind, size } = get(p).meta;
        return { name: p.slice(p.lastIndexOf('/') + 1), kind, size };
      });
    },
    exists: async (path) => nodes.has(path),
    mkdir: async (path) => {
      if (nodes.has(path)) throw new VfsError('already-exists', undefined, { path });
      parentDir(path);
      nodes.set(path, { meta: dirMeta(now()), data: new Uint8Array(0) });
    },
    rmdir: async (path) => {
      if (path === '/') throw new VfsError('busy', undefined, { path });
      if (get(path).meta.kind !== 'directory') throw new VfsError('not-a-directory', undefined, { path });
      if (children(path).length > 0) throw new VfsError('directory-not-empty', undefined, { path });
      nodes.delete(path);
    },
    delete: async (path) => {
      file(path);
      nodes.delete(path);
    },
    rename: async (from, to) => {
      if (from === '/' || to === '/') throw new VfsError('busy', undefined, { path: '/' });
      const source = get(from);
      if (from === to) return;
      if (source.meta.kind === 'directory' && to.startsWith(`${from}/`))
        throw new VfsError('invalid-path', 'into its own subtree', { path: to });
      const target = nodes.get(to);
      if (!target) parentDir(to);
      else if (target.meta.kind === 'directory')
        throw new VfsError(
          source.meta.kind === 'directory' ? 'already-exists' : 'is-a-directory',
          undefined,
          { path: to },
        );
      else if (source.meta.kind === 'directory')
        throw new VfsError('not-a-directory', undefined, { path: to });
      for (const p of [...nodes.keys()]) {
        if (p === from || p.startsWith(`${from}/`)) {
          nodes.set(to + p.slice(from.length), nodes.get(p)!);
          nodes.delete(p);
        }
      }
    },
    setTimes: async (path, times) => {
      const { meta } = get(path);
      // Milliseconds only: without nanosecondTimes declared, core never passes a bigint.
      if (times.accessed !== undefined) meta.accessed = Number(times.accessed);
      if (times.modified !== undefined) meta.modified = Number(times.modified);
    },
  };
  return createStorage(driver);
}

function dirMeta(t: number): Metadata {
  return { kind: 'directory', size: 0, created: t, modified: t, accessed: t };
}
function fileMeta(t: number, size: number): Metadata {
  return { kind: 'file', size, created: t, modified: t, accessed: t };
}
