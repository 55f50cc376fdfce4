import { exactNs, joinPath, MAX_LINK_TARGET, nsToMs, VfsError } from '@eryx/vfs-core';
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
 *   "EVFSMEM" + version byte (1; 2 when it holds symbolic links; 3 when it holds exact times; 4
 *     when it holds hard links)
 *   root times
 *   entries in pre-order, each: u8 kind (1 file, 2 directory, 3 symbolic link, version 2 and up,
 *     4 another name of an earlier file or link, version 4), u32 path length, UTF-8 path, then for
 *     kind 4 the u32 length and UTF-8 path of the earlier entry, else times, and for files f64 size
 *     + size bytes of content, for links u32 target length + UTF-8 target
 *   u8 0 (end)
 * Times are 3 x f64 (created, modified, accessed), in version 3 followed by a u8 mask (bit 0
 * modified, bit 1 accessed) and an i64 of exact nanoseconds for each bit set, modified first
 * (version 4 too).
 * Each store is written in the oldest version that holds it, which older code reads too.
 */
const MAGIC = new TextEncoder().encode('EVFSMEM\x01');
/** The version byte's offset, the version whose entries may be links, and the one with exact times. */
const VERSION_AT = MAGIC.length - 1;
const WITH_LINKS = 2;
const WITH_EXACT_TIMES = 3;
const WITH_HARD_LINKS = 4;
/** The exact-times mask's bits. */
const MODIFIED_NS = 1;
const ACCESSED_NS = 2;
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
  i64(v: bigint) {
    this.scratch.setBigInt64(0, v, true);
    this.parts.push(new Uint8Array(this.scratch.buffer.slice(0, 8)));
  }
  times(n: Node, exact: boolean) {
    this.f64(n.created);
    this.f64(n.modified);
    this.f64(n.accessed);
    if (!exact) return;
    const modifiedNs = exactNs(n.modifiedNs, n.modified);
    const accessedNs = exactNs(n.accessedNs, n.accessed);
    this.u8((modifiedNs === undefined ? 0 : MODIFIED_NS) | (accessedNs === undefined ? 0 : ACCESSED_NS));
    if (modifiedNs !== undefined) this.i64(modifiedNs);
    if (accessedNs !== undefined) this.i64(accessedNs);
  }
}

/** Whether a node of the tree has exact times that still stand (stale ones are not written). */
const exactTimes = (n: Node): boolean =>
  exactNs(n.modifiedNs, n.modified) !== undefined || exactNs(n.accessedNs, n.accessed) !== undefined;

/** Whether a node of the tree has more than one name. */
const hardLinked = (n: Node): boolean => n.kind !== 'directory' && n.links > 1;

/** Whether any node of the tree is `found`. */
function holds(root: DirNode, found: (n: Node) => boolean): boolean {
  const pending: Node[] = [root];
  for (let n = pending.pop(); n; n = pending.pop()) {
    if (found(n)) return true;
    // One at a time: spreading a directory of many entries would exceed the arguments' limit.
    if (n.kind === 'directory') for (const child of n.children.values()) pending.push(child);
  }
  return false;
}

export function encodeSnapshot(root: DirNode): Uint8Array {
  const w = new Writer();
  const magic = MAGIC.slice();
  // Known before the entries, whose layout it changes (links only add an entry kind). Version 4
  // includes version 3's times.
  const linked = holds(root, hardLinked);
  const exact = linked || holds(root, exactTimes);
  if (exact) magic[VERSION_AT] = linked ? WITH_HARD_LINKS : WITH_EXACT_TIMES;
  w.bytes(magic);
  w.times(root, exact);
  /** The first path of each node with several names, once written. */
  const firstNames = new Map<Node, Uint8Array>();
  const visit = (dir: DirNode, path: string) => {
    for (const [name, node] of dir.children) {
      const childPath = joinPath(path, name);
      const encoded = utf8.encode(childPath);
      const first = firstNames.get(node);
      w.u8(first ? 4 : node.kind === 'file' ? 1 : node.kind === 'directory' ? 2 : 3);
      w.u32(encoded.length);
      w.bytes(encoded);
      if (first) {
        w.u32(first.length);
        w.bytes(first);
        continue;
      }
      if (hardLinked(node)) firstNames.set(node, encoded);
      w.times(node, exact);
      if (node.kind === 'file') {
        w.f64(node.size);
        w.bytes(readFileRange(node, 0, node.size));
      } else if (node.kind === 'symlink') {
        if (magic[VERSION_AT] === 1) magic[VERSION_AT] = WITH_LINKS;
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
  const i64 = () => {
    need(8);
    const v = view.getBigInt64(at, true);
    at += 8;
    return v;
  };
  /** A node's times (see the format), checked: the exact times must be their milliseconds' own. */
  const times = (): Pick<Node, 'created' | 'modified' | 'accessed' | 'modifiedNs' | 'accessedNs'> => {
    const [created, modified, accessed] = [f64(), f64(), f64()];
    if (version < WITH_EXACT_TIMES)
      return { created, modified, accessed, modifiedNs: undefined, accessedNs: undefined };
    const mask = u8();
    if (mask > (MODIFIED_NS | ACCESSED_NS)) throw corrupt(`unknown times mask ${mask}`);
    const modifiedNs = mask & MODIFIED_NS ? i64() : undefined;
    const accessedNs = mask & ACCESSED_NS ? i64() : undefined;
    if (
      (modifiedNs !== undefined && nsToMs(modifiedNs) !== modified) ||
      (accessedNs !== undefined && nsToMs(accessedNs) !== accessed)
    ) {
      throw corrupt('exact times disagree with their milliseconds');
    }
    return { created, modified, accessed, modifiedNs, accessedNs };
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
    version < 1 ||
    version > WITH_HARD_LINKS
  ) {
    throw corrupt('bad magic or version');
  }
  at = MAGIC.length;
  const root: DirNode = { ...newDir(), ...times() };
  const dirs = new Map<string, DirNode>([['/', root]]);
  /** Files and links by path, for the later names (kind 4) of those that have several. */
  const named = new Map<string, FileNode | LinkNode>();
  let usedBytes = 0;
  for (let kind = u8(); kind !== 0; kind = u8()) {
    if (
      kind !== 1 &&
      kind !== 2 &&
      (kind !== 3 || version < WITH_LINKS) &&
      (kind !== 4 || version < WITH_HARD_LINKS)
    ) {
      throw corrupt(`unknown entry kind ${kind}`);
    }
    const path = string('path');
    const slash = path.lastIndexOf('/');
    const parent = dirs.get(slash <= 0 ? '/' : path.slice(0, slash));
    const name = path.slice(slash + 1);
    if (!path.startsWith('/') || !parent || name === '' || parent.children.has(name)) {
      throw corrupt(`misplaced entry ${JSON.stringify(path)}`);
    }
    // Usage as the tree counts it: every entry's name, then each file's size and link's target once.
    usedBytes += nameBytes(name);
    if (kind === 4) {
      const node = named.get(string('earlier name'));
      if (!node) throw corrupt(`another name of nothing at ${JSON.stringify(path)}`);
      node.links++;
      parent.children.set(name, node);
      continue;
    }
    const nodeTimes = times();
    if (kind === 2) {
      const dir: DirNode = {
        kind: 'directory',
        children: new Map(),
        id: nextId(),
        ...nodeTimes,
      };
      parent.children.set(name, dir);
      dirs.set(path, dir);
      continue;
    }
    if (kind === 3) {
      const target = string('link target');
      const link: LinkNode = { ...newLink(target), ...nodeTimes };
      if (link.size === 0 || link.size > MAX_LINK_TARGET || target.includes('\0')) {
        throw corrupt('bad link target');
      }
      usedBytes += link.size;
      parent.children.set(name, link);
      if (version >= WITH_HARD_LINKS) named.set(path, link);
      continue;
    }
    const size = f64();
    if (!Number.isSafeInteger(size) || size < 0) throw corrupt('bad file size');
    need(size);
    const file: FileNode = {
      kind: 'file',
      size,
      links: 1,
      chunks: new Map(),
      id: nextId(),
      ...nodeTimes,
    };
    for (let i = 0; i * CHUNK_SIZE < size; i++) {
      const start = at + i * CHUNK_SIZE;
      file.chunks.set(i, bytes.slice(start, Math.min(start + CHUNK_SIZE, at + size)));
    }
    at += size;
    usedBytes += size;
    parent.children.set(name, file);
    if (version >= WITH_HARD_LINKS) named.set(path, file);
  }
  if (at !== bytes.length) throw corrupt('trailing bytes');
  return { root, usedBytes };
}
