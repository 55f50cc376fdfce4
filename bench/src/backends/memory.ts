import { memory } from '@eryx/vfs-memory';
import type { BenchBackend, BenchTarget } from '../types.js';

const CHUNK = 64 * 1024;

interface RawFile {
  size: number;
  chunks: Map<number, Uint8Array>;
}

/** The ceiling: a plain Map of fixed-size chunks per file, one Map of names per directory. */
function rawMemory(): BenchTarget {
  const files = new Map<string, RawFile>();
  const dirs = new Map<string, Set<string>>([['/', new Set()]]);
  const split = (p: string) => {
    const i = p.lastIndexOf('/');
    return [i === 0 ? '/' : p.slice(0, i), p.slice(i + 1)] as const;
  };
  const file = (p: string) => {
    let f = files.get(p);
    if (!f) {
      f = { size: 0, chunks: new Map() };
      files.set(p, f);
      const [dir, name] = split(p);
      dirs.get(dir)?.add(name);
    }
    return f;
  };
  const writeAt = (f: RawFile, offset: number, data: Uint8Array) => {
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const index = Math.floor(pos / CHUNK);
      const start = pos - index * CHUNK;
      const n = Math.min(CHUNK - start, data.length - done);
      let chunk = f.chunks.get(index);
      if (!chunk) {
        chunk = new Uint8Array(CHUNK);
        f.chunks.set(index, chunk);
      }
      chunk.set(data.subarray(done, done + n), start);
      done += n;
    }
    f.size = Math.max(f.size, offset + data.length);
  };
  return {
    async mkdir(p) {
      dirs.set(p, new Set());
      const [dir, name] = split(p);
      dirs.get(dir)?.add(name);
    },
    async write(p, data) {
      const f = file(p);
      f.chunks.clear();
      f.size = 0;
      writeAt(f, 0, data);
    },
    async writeAt(p, offset, data) {
      writeAt(file(p), offset, data);
    },
    async readAt(p, offset, length) {
      const f = files.get(p)!;
      const n = Math.max(0, Math.min(length, f.size - offset));
      const out = new Uint8Array(n);
      let done = 0;
      while (done < n) {
        const pos = offset + done;
        const index = Math.floor(pos / CHUNK);
        const start = pos - index * CHUNK;
        const k = Math.min(CHUNK - start, n - done);
        const chunk = f.chunks.get(index);
        if (chunk) out.set(chunk.subarray(start, start + k), done);
        done += k;
      }
      return out;
    },
    async append(p, data) {
      const f = file(p);
      const at = f.size;
      writeAt(f, at, data);
      return at;
    },
    async setSize(p, size) {
      file(p).size = size;
    },
    async list(p) {
      return [...(dirs.get(p) ?? [])].map((name) => ({ name }));
    },
    async stat(p) {
      return { size: files.get(p)!.size };
    },
    async delete(p) {
      files.delete(p);
      const [dir, name] = split(p);
      dirs.get(dir)?.delete(name);
    },
  };
}

const backend: BenchBackend = {
  name: 'memory',
  async open() {
    // Unlimited, which a store URL's maxBytes cannot say.
    const storage = memory({ maxBytes: Number.POSITIVE_INFINITY });
    return { storage, raw: rawMemory(), close: () => storage.close() };
  },
};

export default backend;
