import { baseName, exactNs, isStorableNs, msToNs, parentPath, pathSegments } from '@eryx/vfs-core';

/*
 * Object layout under the filesystem's prefix `P` (see README):
 *   P/root!<gen>!<meta>                  the root directory
 *   P/e/<dir>/<sub>/<name>!<gen>!<meta>  one entry (kind, size and times are in the key; the body
 *                                        is a small file's bytes, a manifest or a link's target)
 *   P/e/.../<name>!<gen>                 a claim (conditional mode only, empty)
 *   P/n/<id>!<gen>!<meta>                an inode: a hard-linked file's content and link count,
 *                                        versioned like an entry (its names are `h` entries)
 *   P/c/<id>                             a chunk of file data (immutable, path-independent)
 *   P/j/<id>                             a rename journal
 *   P/p/<id>                             the start-up probe for conditional writes
 * Names are percent-encoded to [A-Za-z0-9-_.~%] plus non-ASCII, so `!`, `+`, `*` and `~` are free
 * as separators and every key survives URL-encoding in a copy source. A long name is cut into
 * pieces joined by `+/`, so no key segment exceeds what file-system-backed servers (s3rver, MinIO)
 * accept as a file name; a listing finds such a name as a common prefix ending in `+/`.
 */

const PIECE_BYTES = 160;

/**
 * The version of this layout. It is the only one released: a filesystem is current once its root
 * entry exists, and nothing records the version (a later layout would have to mark itself). The
 * link kind `l` was added to it as a forward change: every store of the earlier code reads as is,
 * but an earlier vfs-s3 cannot parse a link's key, so it must not open a store that holds links.
 * Exact nanosecond times were added the same way, as optional fields after the three times (see
 * {@link encodeMeta}); an earlier vfs-s3 ignores them and reads the milliseconds. Hard links were
 * added the same way as the link kind: the name kind `h` and inode objects under `P/n/`, which an
 * earlier vfs-s3 does not see (so it must not open a store that holds hard links).
 */
export const LAYOUT_VERSION = 1;

/** A common prefix ending in this continues a long name (see the layout above). */
export const PIECE_END = '+/';

/**
 * Entry kinds as stored: `i` inline file, `c` chunked file, `d` directory, `l` symbolic link (its
 * body is the target in UTF-8, its size the target's byte length), `h` one name of a hard-linked
 * file or link (its inode's id is in the key, in place of the size), `t` tombstone. An inode is
 * `i`, `c` or `l` (or `t` once its last name went).
 */
export type StoredKind = 'i' | 'c' | 'd' | 'l' | 'h' | 't';

/** The `path` under which the driver handles inode `id` like an entry (no real path starts so). */
export function inodePath(id: string): string {
  return `#${id}`;
}

/** The id of an {@link inodePath}, `undefined` for a real path. */
export function inodeOf(path: string): string | undefined {
  return path.startsWith('#') ? path.slice(1) : undefined;
}

/** Inode ids are random hex (see `newId`). */
const INODE_ID = /^[0-9a-f]{1,64}$/;

export interface EntryMeta {
  kind: StoredKind;
  size: number;
  created: number;
  modified: number;
  accessed: number;
  /** `modified` exactly, in nanoseconds, when setTimes was given it so; `modified` is its nsToMs. */
  modifiedNs?: bigint;
  /** `accessed` exactly, as {@link EntryMeta.modifiedNs} is `modified`. */
  accessedNs?: bigint;
  /** Kind `h`: the id of the inode holding the file. */
  inode?: string;
  /** An inode's number of names (hard links); absent on entries. */
  links?: number;
}

/** One key found under a name: a claim (no meta) or a data key. */
export interface NameKey {
  key: string;
  gen: number;
  meta?: EntryMeta;
  /** When the object was written (from the listing), milliseconds since the epoch. */
  written?: number;
}

export function encodeName(name: string): string {
  let out = '';
  for (const char of name) {
    const code = char.codePointAt(0) ?? 0;
    if (code > 0x7f || /[A-Za-z0-9\-_~]/.test(char) || (char === '.' && out !== '')) out += char;
    else out += `%${code.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeName(encoded: string): string {
  return decodeURIComponent(encoded);
}

/** Cuts an encoded name into pieces of at most {@link PIECE_BYTES} bytes joined by `+/`. */
function splitName(encoded: string): string {
  if (Buffer.byteLength(encoded) <= PIECE_BYTES) return encoded;
  const units = encoded.match(/%[0-9A-F]{2}|[\s\S]/gu) ?? [];
  const pieces: string[] = [];
  let piece = '';
  let bytes = 0;
  for (const unit of units) {
    const size = Buffer.byteLength(unit);
    if (bytes + size > PIECE_BYTES) {
      pieces.push(piece);
      piece = '';
      bytes = 0;
    }
    piece += unit;
    bytes += size;
  }
  pieces.push(piece);
  return pieces.join(PIECE_END);
}

function encodeTime(t: number): string {
  return Number.isSafeInteger(t) ? t.toString(36) : `*${String(t).replace('+', '')}`;
}

function decodeTime(s: string): number {
  return s.startsWith('*') ? Number(s.slice(1)) : parseInt(s, 36);
}

/*
 * Meta: `<kind><size>~<created>~<modified>~<accessed>[~<modified ns>[~<accessed ns>[~<links>]]]`,
 * with the inode id in place of the size for kind `h`, and the count of names (decimal) on inodes
 * only. A time set in nanoseconds is stored as its milliseconds (nsToMs) plus, in the optional
 * field, its distance in nanoseconds from msToNs(milliseconds): a few digits (for int64 times the
 * double is within about a microsecond), not the 19 of the time. An empty field (`~~<accessed ns>`)
 * is none. Keys written before these fields have exactly four, so they read as before.
 */

function encodeNs(ns: bigint | undefined, ms: number): string {
  // A stale exact time (one the milliseconds moved away from) is not worth its bytes.
  return exactNs(ns, ms) === undefined ? '' : (ns! - msToNs(ms)).toString();
}

function decodeNs(s: string | undefined, ms: number): bigint | undefined {
  if (!s || !/^-?\d+$/.test(s)) return undefined;
  const ns = exactNs(msToNs(ms) + BigInt(s), ms);
  return ns !== undefined && isStorableNs(ns) ? ns : undefined;
}

function encodeMeta(m: EntryMeta): string {
  const fields = [
    m.kind + (m.kind === 'h' ? m.inode! : m.size.toString(36)),
    encodeTime(m.created),
    encodeTime(m.modified),
    encodeTime(m.accessed),
    encodeNs(m.modifiedNs, m.modified),
    encodeNs(m.accessedNs, m.accessed),
    m.links === undefined ? '' : String(m.links),
  ];
  while (fields[fields.length - 1] === '') fields.pop();
  return fields.join('~');
}

function decodeMeta(s: string): EntryMeta | undefined {
  // Fields after these are ignored, as earlier versions ignore the nanoseconds (and the count).
  const [head, created, modified, accessed, modifiedNs, accessedNs, links] = s.split('~');
  if (!head || created === undefined || modified === undefined || accessed === undefined) return undefined;
  const kind = head[0] as StoredKind;
  if (!'icdlht'.includes(kind)) return undefined;
  const hard = kind === 'h';
  if (hard && !INODE_ID.test(head.slice(1))) return undefined;
  const meta: EntryMeta = {
    kind,
    size: hard ? 0 : parseInt(head.slice(1), 36),
    created: decodeTime(created),
    modified: decodeTime(modified),
    accessed: decodeTime(accessed),
  };
  if (hard) meta.inode = head.slice(1);
  if (links && /^[1-9][0-9]*$/.test(links)) meta.links = Number(links);
  const mNs = decodeNs(modifiedNs, meta.modified);
  const aNs = decodeNs(accessedNs, meta.accessed);
  if (mNs !== undefined) meta.modifiedNs = mNs;
  if (aNs !== undefined) meta.accessedNs = aNs;
  return meta;
}

/** Splits a key's last segment `<name>!<gen>[!<meta>]`; `undefined` for anything else. */
export function parseLeaf(leaf: string): { name: string; key: Omit<NameKey, 'key'> } | undefined {
  const parts = leaf.split('!');
  if (parts.length < 2 || parts.length > 3) return undefined;
  const [name, gen, meta] = parts as [string, string, string | undefined];
  const parsed = { gen: parseInt(gen, 36), meta: meta === undefined ? undefined : decodeMeta(meta) };
  if (!Number.isSafeInteger(parsed.gen) || (meta !== undefined && parsed.meta === undefined))
    return undefined;
  return { name, key: parsed };
}

export class Layout {
  /** `''` or a prefix ending in `/`. */
  readonly root: string;

  constructor(prefix: string) {
    const trimmed = prefix.replace(/^\/+|\/+$/g, '');
    this.root = trimmed === '' ? '' : `${trimmed}/`;
  }

  /** Entry keys (all but the root's) start with this. */
  get entries(): string {
    return `${this.root}e/`;
  }

  get chunks(): string {
    return `${this.root}c/`;
  }

  /** Inode keys start with this. */
  get inodes(): string {
    return `${this.root}n/`;
  }

  get journals(): string {
    return `${this.root}j/`;
  }

  get probes(): string {
    return `${this.root}p/`;
  }

  /** Every key of the entry at `path` starts with this plus `!`. */
  namePrefix(path: string): string {
    if (path === '/') return `${this.root}root`;
    const inode = inodeOf(path);
    if (inode !== undefined) return `${this.inodes}${inode}`;
    return this.childPrefix(parentPath(path)) + splitName(encodeName(baseName(path)));
  }

  /** The keys of a directory's entries start with this; list them with `Delimiter: '/'`. */
  childPrefix(dir: string): string {
    return `${this.entries}${pathSegments(dir)
      .map((s) => `${splitName(encodeName(s))}/`)
      .join('')}`;
  }

  /**
   * Reads an entry key (or the root's, or an inode's): the prefix of its directory's entries (the
   * inodes' prefix for an inode), its name prefix, the encoded name (the inode id), its generation
   * and meta; `undefined` for any other key.
   */
  parseKey(
    key: string,
  ): { parentPrefix: string; namePrefix: string; name: string; key: NameKey } | undefined {
    let start: number;
    if (key.startsWith(`${this.root}root!`)) {
      start = this.root.length;
    } else if (key.startsWith(this.inodes)) {
      start = this.inodes.length;
      if (!INODE_ID.test(key.slice(start, key.indexOf('!', start)))) return undefined;
    } else if (key.startsWith(this.entries)) {
      // The name starts after the last `/` that does not join two pieces of it.
      let slash = key.lastIndexOf('/');
      while (key[slash - 1] === '+') slash = key.lastIndexOf('/', slash - 1);
      start = slash + 1;
    } else {
      return undefined;
    }
    const bang = key.indexOf('!', start);
    if (bang < 0) return undefined;
    const parsed = parseLeaf(key.slice(start).replaceAll(PIECE_END, ''));
    if (!parsed) return undefined;
    return {
      parentPrefix: key.slice(0, start),
      namePrefix: key.slice(0, bang),
      name: parsed.name,
      key: { key, ...parsed.key },
    };
  }

  dataKey(path: string, gen: number, meta: EntryMeta): string {
    return `${this.namePrefix(path)}!${gen.toString(36)}!${encodeMeta(meta)}`;
  }

  claimKey(path: string, gen: number): string {
    return `${this.namePrefix(path)}!${gen.toString(36)}`;
  }

  chunkKey(id: string): string {
    return `${this.chunks}${id}`;
  }

  /** The same key with its name prefix replaced (used when a rename moves an entry). */
  static rebase(key: string, fromPrefix: string, toPrefix: string): string {
    return toPrefix + key.slice(fromPrefix.length);
  }
}
