import { joinPath, MAX_LINK_TARGET, VfsError } from '@eryx/vfs-core';
import {
  CHUNK_SIZE,
  type DirNode,
  type FileNode,
  type LinkNode,
  type Node,
  nameBytes,
  newDir,
  newLink,
  nextId,
  readFileRange,
} from './tree.js';

/*
 * Format (all integers little-endian):
 *   "EVFSMEM" + version byte (1, or 2 when it holds symbolic links)
 *   root times: 3 x f64 (created, modified, accessed)
 *   entries in pre-order, each: u8 kind (1 file, 2 directory, 3 symbolic link, version 2 only),
 *     u32 path length, UTF-8 path, 3 x f64 times, and for files f64 size + size bytes of content,
 *     for links u32 target length + UTF-8 target
 *   u8 0 (end)
 * A snapshot without links is written as version 1, which code older than links reads too.
 */
const MAGIC = new TextEncoder().encode('EVFSMEM\x01');
/** The version byte's offset, and the version whose entries may be links. */
const VERSION_AT = MAGIC.length - 1;
const WITH_LINKS = 2;
const utf8 = new TextEncoder();
const text = new TextDecoder('utf-8', { fatal: true });

class Writer {
  parts: Uint8Array[] = [];
  private readonly scratch = new DataView(new ArrayBuffer(8));

  bytes(b: Uint8Array) {
    this.parts.push(b);
  }
  u8(v: number) {
    this.parts.push(Uint8Array.of(v));
  }
  u32(v: number) {
    this.scratch.setUint32(0, v, true);
    this.parts.push(new Uint8Array(this.scratch.buffer.slice(0, 4)));
  }
  f64(v: number) {
    this.scratch.setFloat64(0, v, true);
    this.parts.push(new Uint8Array(this.scratch.buffer.slice(0, 8)));
  }
  times(n: Node) {
    this.f64(n.created);
    this.f64(n.modified);
    this.f64(n.accessed);
  }
}

export function encodeSnapshot(root: DirNode): Uint8Array {
  const w = new Writer();
  const magic = MAGIC.slice();
  w.bytes(magic);
  w.times(root);
  const visit = (dir: DirNode, path: string) => {
    for (const [name, node] of dir.children) {
      const childPath = joinPath(path, name);
      const encoded = utf8.encode(childPath);
      w.u8(node.kind === 'file' ? 1 : node.kind === 'directory' ? 2 : 3);
      w.u32(encoded.length);
      w.bytes(encoded);
      w.times(node);
      if (node.kind === 'file') {
        w.f64(node.size);
        w.bytes(readFileRange(node, 0, node.size));
      } else if (node.kind === 'symlink') {
        magic[VERSION_AT] = WITH_LINKS;
        const target = utf8.encode(node.target);
        w.u32(target.length);
        w.bytes(target);
      } else {
        visit(node, childPath);
      }
    }
  };
  visit(root, '/');
  w.u8(0);
  const total = w.parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of w.parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function corrupt(reason: string): VfsError {
  return new VfsError('invalid-argument', `not a valid memory snapshot: ${reason}`);
}

export function decodeSnapshot(bytes: Uint8Array): { root: DirNode; usedBytes: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw corrupt('truncated');
  };
  const u8 = () => {
    need(1);
    return view.getUint8(at++);
  };
  const u32 = () => {
    need(4);
    const v = view.getUint32(at, true);
    at += 4;
    return v;
  };
  const f64 = () => {
    need(8);
    const v = view.getFloat64(at, true);
    at += 8;
    return v;
  };
  /** A u32 length and that many bytes of UTF-8. */
  const string = (what: string): string => {
    const length = u32();
    need(length);
    try {
      return text.decode(bytes.subarray(at, at + length));
    } catch {
      throw corrupt(`${what} is not UTF-8`);
    } finally {
      at += length;
    }
  };
  need(MAGIC.length);
  const version = bytes[VERSION_AT]!;
  if (
    !MAGIC.every((b, i) => i === VERSION_AT || bytes[i] === b) ||
    (version !== 1 && version !== WITH_LINKS)
  ) {
    throw corrupt('bad magic or version');
  }
  at = MAGIC.length;
  const root = newDir();
  [root.created, root.modified, root.accessed] = [f64(), f64(), f64()];
  const dirs = new Map<string, DirNode>([['/', root]]);
  let usedBytes = 0;
  for (let kind = u8(); kind !== 0; kind = u8()) {
    if (kind !== 1 && kind !== 2 && (kind !== 3 || version !== WITH_LINKS)) {
      throw corrupt(`unknown entry kind ${kind}`);
    }
    const path = string('path');
    const slash = path.lastIndexOf('/');
    const parent = dirs.get(slash <= 0 ? '/' : path.slice(0, slash));
    const name = path.slice(slash + 1);
    if (!path.startsWith('/') || !parent || name === '' || parent.children.has(name)) {
      throw corrupt(`misplaced entry ${JSON.stringify(path)}`);
    }
    const created = f64();
    const modified = f64();
    const accessed = f64();
    // Usage as the tree counts it: every entry's name, then each file's size and link's target.
    usedBytes += nameBytes(name);
    if (kind === 2) {
      const dir: DirNode = {
        kind: 'directory',
        children: new Map(),
        id: nextId(),
        created,
        modified,
        accessed,
      };
      parent.children.set(name, dir);
      dirs.set(path, dir);
      continue;
    }
    if (kind === 3) {
      const target = string('link target');
      const link: LinkNode = { ...newLink(target), created, modified, accessed };
      if (link.size === 0 || link.size > MAX_LINK_TARGET || target.includes('\0')) {
        throw corrupt('bad link target');
      }
      usedBytes += link.size;
      parent.children.set(name, link);
      continue;
    }
    const size = f64();
    if (!Number.isSafeInteger(size) || size < 0) throw corrupt('bad file size');
    need(size);
    const file: FileNode = {
      kind: 'file',
      size,
      chunks: new Map(),
      id: nextId(),
      created,
      modified,
      accessed,
    };
    for (let i = 0; i * CHUNK_SIZE < size; i++) {
      const start = at + i * CHUNK_SIZE;
      file.chunks.set(i, bytes.slice(start, Math.min(start + CHUNK_SIZE, at + size)));
    }
    at += size;
    usedBytes += size;
    parent.children.set(name, file);
  }
  if (at !== bytes.length) throw corrupt('trailing bytes');
  return { root, usedBytes };
}
