import type { Datetime } from '@bytecodealliance/preview2-shim/interfaces/wasi-clocks-wall-clock';
import type {
  Advice,
  DescriptorFlags,
  DescriptorStat,
  DescriptorType,
  DirectoryEntry,
  MetadataHashValue,
  NewTimestamp,
  OpenFlags,
  PathFlags,
} from '@bytecodealliance/preview2-shim/interfaces/wasi-filesystem-types';
import { isVfsError, VfsError } from '../errors.js';
import { parentPath } from '../path.js';
import { MAX_LINK_TARGET } from '../storage.js';
import { isStorableNs, msToNs } from '../time.js';
import type { FileKind, Metadata } from '../types.js';
import { type ErrorListener, fail, streamError, toErrorCode, WasiFailure } from './errors.js';
import { metadataHash } from './hash.js';
import { releaseRep } from './jco.js';
import type { Mount, Node } from './mount.js';
import { isOrphanPath, ORPHANS_DIRECTORY, ORPHANS_NAME } from './orphans.js';
import { resolvePath } from './resolve.js';
import { InputStream, OutputStream } from './streams.js';
import type { Located, MountTree } from './tree.js';

/** The most bytes one read hands the guest; a longer request gets a short read, as POSIX allows. */
const MAX_READ = 64 * 1024 * 1024;

/** What every descriptor of one host shares. */
export interface HostContext {
  onError: ErrorListener | undefined;
  /** Failures the guest could not be told of (flushing at close): `close()` of the host throws them. */
  deferred: unknown[];
  /** Every mount of the host, and the synthetic directories leading to them. */
  tree: MountTree;
}

const DURABLE = { durable: true } as const;
/** What creating a file appends: shared, since nothing can be written into zero bytes. */
const NOTHING = new Uint8Array(0);

function toNumber(value: bigint, what: string): number {
  if (typeof value !== 'bigint' || value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new VfsError('invalid-offset', `${what} is out of range`);
  }
  return Number(value);
}

/**
 * The last time converted: a stat has three timestamps, and they are often the same instant (a write
 * moves both access and modification time). jco only reads the object it is given.
 */
let lastMs = Number.NaN;
let lastDatetime: Datetime = { seconds: 0n, nanoseconds: 0 };

function toDatetime(ms: number): Datetime {
  if (ms === lastMs) return lastDatetime;
  if (Number.isInteger(ms)) {
    const seconds = Math.floor(ms / 1000);
    lastDatetime = { seconds: BigInt(seconds), nanoseconds: (ms - seconds * 1000) * 1_000_000 };
  } else {
    // Rounded up exactly (msToNs), as core reads a time back: a guest that sets the time it was
    // shown gets the same double stored again (msAtOrBefore), never the one before it.
    lastDatetime = exactDatetime(msToNs(ms), ms);
  }
  lastMs = ms;
  return lastDatetime;
}

const NS_PER_S = 1_000_000_000n;

/** A time the backend gave exactly (`modifiedNs`), else its milliseconds as {@link toDatetime} does. */
function exactDatetime(ns: bigint | undefined, ms: number): Datetime {
  if (ns === undefined) return toDatetime(ms);
  let seconds = ns / NS_PER_S;
  // Division truncates toward zero: a time before 1970 counts back from the second before it.
  if (ns < seconds * NS_PER_S) seconds--;
  return { seconds, nanoseconds: Number(ns - seconds * NS_PER_S) };
}

/** A guest's new time: nanoseconds (`bigint`) as given, `now` in milliseconds, or none. */
function fromTimestamp(timestamp: NewTimestamp): number | bigint | undefined {
  switch (timestamp.tag) {
    case 'no-change':
      return undefined;
    case 'now':
      return Date.now();
    case 'timestamp': {
      const ns = timestamp.val.seconds * NS_PER_S + BigInt(timestamp.val.nanoseconds);
      return isStorableNs(ns) ? ns : fail('invalid');
    }
    default:
      return fail('invalid');
  }
}

/** Whether a guest path's last component is `.` or `..`. */
function isDots(path: unknown): boolean {
  if (typeof path !== 'string') return false;
  const last = lastComponent(path);
  return last === '.' || last === '..';
}

/** The last component of a guest path, trailing slashes ignored (`a/./` gives `.`). */
function lastComponent(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 47 /* / */) end--;
  return path.slice(path.lastIndexOf('/', end - 1) + 1, end);
}

/**
 * What a metadata hash (the guest's inode number) is made from: the storage's identity of the file
 * where it has one, so every name of a file (hard links) and the file after a rename or an unlink
 * hash alike, as inode numbers do; else the guest path it was opened at. (`#` never starts a path.)
 */
function identityKey(meta: Metadata, path: string): string {
  return meta.id === undefined ? path : `#${meta.id}`;
}

/** Whether `from` and `to` (both existing) are names of one file, on a mount with hard links. */
function sameFile(mount: Mount, from: string, to: string): boolean {
  const a = mount.storage.stat(from);
  if ((a.linkCount ?? 1) < 2 || a.id === undefined) return false;
  return mount.storage.stat(to).id === a.id;
}

function descriptorType(kind: FileKind): DescriptorType {
  return kind === 'directory' ? 'directory' : kind === 'symlink' ? 'symbolic-link' : 'regular-file';
}

function toStat(meta: Metadata, linkCount: bigint): DescriptorStat {
  return {
    type: descriptorType(meta.kind),
    linkCount,
    size: BigInt(meta.size),
    dataAccessTimestamp: exactDatetime(meta.accessedNs, meta.accessed),
    dataModificationTimestamp: exactDatetime(meta.modifiedNs, meta.modified),
    statusChangeTimestamp:
      meta.modified >= meta.created
        ? exactDatetime(meta.modifiedNs, meta.modified)
        : toDatetime(meta.created),
  };
}

/**
 * Where a path relative to a directory descriptor lives: resolved within that directory (never
 * above it), links followed as {@link resolvePath} does (the last component's only with `follow`),
 * and routed through the tree: a path at or below a mount point nested in the directory's mount
 * (or a synthetic directory) belongs to that mount.
 *
 * The orphan directory of a storage mount (see `Mount`) does not exist for the guest: a path into
 * it is `no-entry`, and making it (`creates`: the path is the new name of a creation or a rename)
 * is `not-permitted`.
 */
function locate(context: HostContext, dir: Node, path: string, creates = false, follow = false): Located {
  const located = resolvePath(context.tree, dir, path, follow);
  if (located.mount.hidesOrphans && isOrphanPath(located.path)) {
    return fail(creates && located.path === ORPHANS_DIRECTORY ? 'not-permitted' : 'no-entry');
  }
  return located;
}

/**
 * Renames directory `from` onto the empty directory `to`: POSIX replaces it, storage never merges
 * directories, so `to` goes first. When the rename then fails (a limit refuses it, the backend
 * fails), `to` is made again with its times: a refused rename changes nothing.
 */
function replaceEmptyDirectory(mount: Mount, from: string, to: string): void {
  const { accessed, modified, accessedNs, modifiedNs } = mount.storage.stat(to);
  mount.storage.rmdir(to);
  try {
    mount.storage.rename(from, to);
  } catch (error) {
    try {
      mount.storage.mkdir(to);
      mount.storage.setTimes(to, { accessed: accessedNs ?? accessed, modified: modifiedNs ?? modified });
    } catch {
      // The rename's own error is the one the guest must see.
    }
    throw error;
  }
  mount.removedTree(to);
}

/** A trailing slash (or `/.`) asks for a directory: POSIX reports a file there as not a directory. */
function wantsDirectory(path: string): boolean {
  return path.endsWith('/') || path.endsWith('/.') || path === '.';
}

/**
 * Creates an empty file unless one exists, in one storage call: appending nothing creates a missing
 * file and leaves an existing one alone, so a file another process creates meanwhile (and perhaps
 * already wrote) is never clobbered, as `O_CREAT` promises. True when the file is empty.
 */
function createFile(mount: Mount, path: string): boolean {
  return mount.storage.append(path, NOTHING) === 0;
}

/**
 * `O_TRUNC`. With `O_CREAT`, a file that another process removed between the creation and the
 * truncation is created again, so the open succeeds as it would on a POSIX file system.
 */
function truncate(mount: Mount, path: string, create: boolean): void {
  for (let attempt = 0; ; attempt++) {
    try {
      mount.storage.setSize(path, 0);
      return;
    } catch (error) {
      if (!create || attempt >= 3 || !isVfsError(error, 'not-found')) throw error;
      createFile(mount, path);
    }
  }
}

/** Streams the entries of a directory listing (`.` and `..` are left to the preview1 adapter). */
export class DirectoryEntryStream {
  readonly #entries: DirectoryEntry[];
  #next = 0;

  constructor(entries: DirectoryEntry[]) {
    this.#entries = entries;
  }

  [Symbol.dispose](): void {
    releaseRep(this);
  }

  readDirectoryEntry(): DirectoryEntry | undefined {
    const entry = this.#entries[this.#next];
    if (entry) this.#next++;
    return entry;
  }
}

/**
 * The `wasi:filesystem/types` descriptor resource: an open file or directory of a mount. Every
 * method reports failures as error codes (never a trap); a host's descriptors only ever see the
 * mounts of that host.
 */
export class Descriptor {
  /** @internal Made by the host only. */
  static open(node: Node, flags: DescriptorFlags, context: HostContext): Descriptor {
    const descriptor = new Descriptor();
    descriptor.#node = node;
    descriptor.#flags = flags;
    descriptor.#context = context;
    descriptor.#closed = false;
    descriptor.#errorsSeen = node.writeErrors;
    return descriptor;
  }

  // Fields of the descriptor itself rather than of a state object it points to: one object less
  // per open, and one hop less per call. Only `open` makes a descriptor that is not closed.
  #node!: Node;
  #flags!: DescriptorFlags;
  #context!: HostContext;
  /** Something was written through this descriptor since it was last flushed. */
  #dirty = false;
  #closed = true;
  /** How many of the node's write failures this descriptor has reported (see {@link Node.failed}). */
  #errorsSeen = 0;

  /** `descriptor`, when it is an open descriptor (the other one of a rename or link). */
  static #opened(descriptor: unknown): Descriptor {
    return descriptor instanceof Descriptor && !descriptor.#closed ? descriptor : fail('bad-descriptor');
  }

  /**
   * After a write: O_SYNC / O_DSYNC descriptors make it durable before returning (an orphan's too:
   * a caching storage such as the sync bridge applies the store's limits when it stores).
   */
  #wrote(): void {
    this.#dirty = true;
    const node = this.#node;
    if ((this.#flags.fileIntegritySync || this.#flags.dataIntegritySync) && node.inStorage) {
      this.#flush(node.path);
      this.#dirty = false;
    }
  }

  /**
   * Flushes durably (`path`, or the whole mount when `undefined`), then reports a failure to store
   * the file that this descriptor has not reported yet: a failure belongs to the file, whichever
   * descriptor's flush (or the storage's own background flush) met it, and each descriptor reports
   * it once, as Linux reports a writeback error once per open file.
   */
  #flush(path: string | undefined): void {
    const node = this.#node;
    if (node.inStorage) {
      try {
        node.mount.storage.flush?.(path, DURABLE);
      } catch (error) {
        if (node.kind !== 'file') {
          // A directory's sync flushed the whole mount: the files it failed for (open ones) get
          // their failures too, for their own descriptors' next sync; this one reported them.
          const cause = (error as { cause?: unknown }).cause;
          for (const one of cause instanceof AggregateError ? cause.errors : [error]) {
            const file = node.mount.openFile((one as { path?: unknown }).path);
            file?.failed(one);
            if (file) file.writeErrorSeen = true;
          }
          throw error;
        }
        node.failed(error);
      }
    }
    if (node.writeErrors !== this.#errorsSeen) {
      this.#errorsSeen = node.writeErrors;
      node.writeErrorSeen = true;
      throw node.writeError;
    }
  }

  /**
   * Runs a method for the guest: any failure leaves as a `wasi:filesystem` error code (jco lowers a
   * thrown non-`Error` value into the `err` case of the method's result). The methods called on
   * every open (`get-flags`, `get-type`) check for a closed descriptor themselves, without the
   * closure this takes.
   */
  #run<T>(fn: () => T): T {
    try {
      if (this.#closed) return fail('bad-descriptor');
      return fn();
    } catch (error) {
      throw toErrorCode(error, this.#context?.onError);
    }
  }

  #file(access?: 'read' | 'write'): Node {
    const node = this.#node;
    if (node.kind !== 'file') return fail('is-directory');
    if (access && !this.#flags[access]) return fail('bad-descriptor');
    return node;
  }

  #directory(): Node {
    const node = this.#node;
    if (node.kind !== 'directory') return fail('not-directory');
    if (node.unlinked) return fail('no-entry');
    return node;
  }

  /** Where `path` relative to the directory `dir` (this descriptor's node) lives (see {@link locate}). */
  #locate(dir: Node, path: string, creates = false, follow = false): Located {
    return locate(this.#context, dir, path, creates, follow);
  }

  readViaStream(offset: bigint): InputStream {
    return this.#run(() => {
      const node = this.#file('read');
      let position = toNumber(offset, 'offset');
      const { onError } = this.#context;
      return InputStream.create({
        read(max: number): Uint8Array {
          let bytes: Uint8Array;
          try {
            bytes = node.readAt(position, Math.min(max, MAX_READ));
          } catch (error) {
            throw streamError(error, onError);
          }
          if (bytes.length === 0) throw { tag: 'closed' };
          position += bytes.length;
          return bytes;
        },
      });
    });
  }

  writeViaStream(offset: bigint): OutputStream {
    return this.#run(() => {
      const node = this.#file('write');
      let position = toNumber(offset, 'offset');
      const { onError } = this.#context;
      const descriptor = this;
      return OutputStream.create({
        write(buffer: Uint8Array): void {
          try {
            if (buffer.length === 0) return;
            node.writeAt(position, buffer);
            position += buffer.length;
            descriptor.#wrote();
          } catch (error) {
            throw streamError(error, onError);
          }
        },
      });
    });
  }

  appendViaStream(): OutputStream {
    return this.#run(() => {
      const node = this.#file('write');
      const { onError } = this.#context;
      const descriptor = this;
      return OutputStream.create({
        write(buffer: Uint8Array): void {
          try {
            if (buffer.length === 0) return;
            // storage.append writes at the end as it is now, whoever else wrote meanwhile.
            node.append(buffer);
            descriptor.#wrote();
          } catch (error) {
            throw streamError(error, onError);
          }
        },
      });
    });
  }

  advise(_offset: bigint, _length: bigint, _advice: Advice): void {
    this.#run(() => {
      this.#file();
    });
  }

  syncData(): void {
    this.sync();
  }

  sync(): void {
    this.#run(() => {
      const node = this.#node;
      // fsync: durable, not merely stored (a directory's sync covers the whole mount). An orphan's
      // too: what a caching storage buffered may be refused by the store's limits only then.
      this.#flush(node.kind === 'file' ? node.path : undefined);
      this.#dirty = false;
      node.dirty = false;
    });
  }

  // The preview1 adapter asks for the flags once and the type twice per open: without #run's
  // closure, since a closed descriptor is all these can fail on.
  getFlags(): DescriptorFlags {
    if (!this.#closed) return { ...this.#flags };
    throw toErrorCode(new WasiFailure('bad-descriptor'));
  }

  getType(): DescriptorType {
    if (!this.#closed) return descriptorType(this.#node.kind);
    throw toErrorCode(new WasiFailure('bad-descriptor'));
  }

  setSize(size: bigint): void {
    this.#run(() => {
      const node = this.#file('write');
      node.setSize(toNumber(size, 'size'));
      this.#wrote();
    });
  }

  setTimes(atime: NewTimestamp, mtime: NewTimestamp): void {
    this.#run(() => {
      this.#node.mount.assertWritable(this.#node.path);
      if (this.#node.kind === 'directory' && this.#node.unlinked) return fail('no-entry');
      const accessed = fromTimestamp(atime);
      const modified = fromTimestamp(mtime);
      if (accessed !== undefined || modified !== undefined) this.#node.setTimes(accessed, modified);
    });
  }

  read(length: bigint, offset: bigint): [Uint8Array, boolean] {
    return this.#run(() => {
      const node = this.#file('read');
      const want = toNumber(length, 'length');
      const bytes = node.readAt(toNumber(offset, 'offset'), Math.min(want, MAX_READ));
      return [bytes, bytes.length < Math.min(want, MAX_READ) || want === 0];
    });
  }

  write(buffer: Uint8Array, offset: bigint): bigint {
    return this.#run(() => {
      const node = this.#file('write');
      if (buffer.length > 0) {
        node.writeAt(toNumber(offset, 'offset'), buffer);
        this.#wrote();
      }
      return BigInt(buffer.length);
    });
  }

  readDirectory(): DirectoryEntryStream {
    return this.#run(() => {
      const node = this.#directory();
      if (!this.#flags.read) return fail('bad-descriptor');
      const { tree } = this.#context;
      const mounted = tree.mountedIn(tree.guestPathOf(node.mount, node.path));
      const hidden = node.path === '/' && node.mount.hidesOrphans ? ORPHANS_NAME : undefined;
      const entries = node.mount.storage
        .list(node.path)
        .filter((entry) => !mounted?.has(entry.name) && entry.name !== hidden)
        .map((entry): DirectoryEntry => ({ name: entry.name, type: descriptorType(entry.kind) }));
      // Mount points (and the synthetic directories leading to them) hide same-named entries.
      for (const name of mounted ?? []) entries.push({ name, type: 'directory' });
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return new DirectoryEntryStream(entries);
    });
  }

  createDirectoryAt(path: string): void {
    this.#run(() => {
      const dir = this.#directory();
      // `mkdir("name/")` is `mkdir("name")`: a link there, dangling or not, is EEXIST, not followed.
      const trimmed = typeof path === 'string' && path.length > 1 ? path.replace(/(?<=[^/])\/+$/, '') : path;
      const { mount, path: target } = this.#locate(dir, trimmed, true);
      mount.assertWritable(target);
      mount.storage.mkdir(target);
    });
  }

  stat(): DescriptorStat {
    return this.#run(() => {
      const node = this.#node;
      const meta = node.stat();
      // An unlinked file's orphan name is not one of its names (counted out by visibleLinks when
      // the file has others): what is left is the others.
      const own = node.unlinked && node.linkedId === undefined ? 1 : 0;
      return toStat(meta, BigInt(node.mount.visibleLinks(meta) - own));
    });
  }

  statAt(pathFlags: PathFlags, path: string): DescriptorStat {
    return this.#run(() => {
      const dir = this.#directory();
      const { mount, path: target } = this.#locate(dir, path, false, !!pathFlags?.symlinkFollow);
      const meta = mount.storage.stat(target);
      if (meta.kind !== 'directory' && wantsDirectory(path)) return fail('not-directory');
      return toStat(meta, BigInt(mount.visibleLinks(meta)));
    });
  }

  setTimesAt(pathFlags: PathFlags, path: string, atime: NewTimestamp, mtime: NewTimestamp): void {
    this.#run(() => {
      const dir = this.#directory();
      const { mount, path: target } = this.#locate(dir, path, false, !!pathFlags?.symlinkFollow);
      mount.assertWritable(target);
      const accessed = fromTimestamp(atime);
      const modified = fromTimestamp(mtime);
      if (accessed === undefined && modified === undefined) {
        mount.storage.stat(target);
        return;
      }
      mount.storage.setTimes(target, { accessed, modified });
    });
  }

  linkAt(oldPathFlags: PathFlags, oldPath: string, newDescriptor: Descriptor, newPath: string): void {
    this.#run(() => {
      const dir = this.#directory();
      const other = Descriptor.#opened(newDescriptor);
      const from = this.#locate(dir, oldPath, false, !!oldPathFlags?.symlinkFollow);
      const to = other.#locate(other.#directory(), newPath, true);
      const source = from.mount.storage.stat(from.path);
      if (source.kind !== 'directory' && wantsDirectory(oldPath)) return fail('not-directory');
      to.mount.assertWritable(to.path);
      // Linux: a new name ending in `/` asks for a directory, which a link never makes.
      if (wantsDirectory(newPath)) return fail(to.mount.kindOf(to.path) === undefined ? 'no-entry' : 'exist');
      if (to.mount !== from.mount) {
        to.mount.assertParent(to.path);
        return fail('cross-device');
      }
      // Storage without hard links, or a host directory (whose links could reach outside it):
      // EPERM, as POSIX file systems without them report.
      if (!to.mount.hardLinks) return fail('not-permitted');
      try {
        to.mount.storage.link(from.path, to.path);
      } catch (error) {
        // A directory cannot be linked: EPERM on Linux (once the new name is known to be free).
        if (isVfsError(error, 'is-a-directory')) return fail('not-permitted');
        throw error;
      }
    });
  }

  openAt(pathFlags: PathFlags, path: string, openFlags: OpenFlags, flags: DescriptorFlags): Descriptor {
    return this.#run(() => {
      const dir = this.#directory();
      // O_CREAT|O_EXCL never follows a final link (POSIX): the link itself is what exists.
      const follow = !!pathFlags?.symlinkFollow && !(openFlags.create && openFlags.exclusive);
      const { mount, path: target } = this.#locate(dir, path, !!openFlags.create, follow);
      const wantsWrite = !!flags.write || !!openFlags.truncate;
      const wantsDir = !!openFlags.directory || wantsDirectory(path);
      let kind: FileKind | undefined;
      let empty = false;
      if (openFlags.create && openFlags.truncate && !openFlags.exclusive && !wantsDir && !mount.readOnly) {
        // O_CREAT|O_TRUNC (C's fopen "w", Python's open "w"): whatever is there ends up an empty
        // file, so there is nothing to ask first. One append of nothing creates a missing file;
        // a directory there fails it with EISDIR, as POSIX has it.
        empty = createFile(mount, target);
        kind = 'file';
      } else {
        // With O_CREAT the file is usually new: ask in the way that is cheap for a miss. Not in a
        // read-only mount, where the lookup's own error (a name too long) must win over EROFS.
        kind = mount.kindOf(target, !!openFlags.create && !mount.readOnly);
      }

      if (kind !== undefined && openFlags.create && openFlags.exclusive) return fail('exist');
      // A link not followed (O_NOFOLLOW) cannot be opened: ELOOP, as Linux has it.
      if (kind === 'symlink') return fail('loop');
      if (kind === undefined) {
        if (!openFlags.create) return fail('no-entry');
        if (wantsDir) return fail('invalid');
        mount.assertWritable(target);
        if (openFlags.exclusive) {
          // O_EXCL asks the storage itself, so a creator in another process wins or loses cleanly.
          mount.storage.create(target);
          empty = true;
        } else {
          empty = createFile(mount, target);
        }
        kind = 'file';
      }
      if (kind !== 'directory' && wantsDir) return fail('not-directory');
      if (kind === 'directory' && openFlags.create && !openFlags.directory) return fail('is-directory');
      if (kind === 'directory' && wantsWrite) return fail('is-directory');
      if (wantsWrite) mount.assertWritable(target);
      // A file this open created is empty already (unless another process wrote it meanwhile).
      if (openFlags.truncate && !empty) truncate(mount, target, !!openFlags.create);

      const granted: DescriptorFlags =
        kind === 'directory'
          ? {
              read: true,
              // Crossing into another mount takes that mount's rights, not the parent's.
              mutateDirectory: !mount.readOnly && (mount !== dir.mount || !!this.#flags.mutateDirectory),
            }
          : {
              read: !!flags.read,
              write: !!flags.write,
              fileIntegritySync: !!flags.fileIntegritySync,
              dataIntegritySync: !!flags.dataIntegritySync,
              requestedWriteSync: !!flags.requestedWriteSync,
            };
      return Descriptor.open(mount.acquire(target, kind, !!flags.write), granted, this.#context);
    });
  }

  readlinkAt(path: string): string {
    return this.#run(() => {
      const dir = this.#directory();
      const { mount, path: target } = this.#locate(dir, path);
      if (!mount.links) {
        mount.storage.stat(target);
        // Nothing in this mount is a link: readlink of a file or directory is EINVAL.
        return fail('invalid');
      }
      // A file or a directory is EINVAL too (storage says `invalid-argument`).
      return mount.storage.readlink(target);
    });
  }

  removeDirectoryAt(path: string): void {
    this.#run(() => {
      const dir = this.#directory();
      const { mount, path: target } = this.#locate(dir, path);
      mount.assertWritable(target);
      // As Linux, once the directory it names is found: `.` is `invalid`, `..` is `not-empty`. A
      // mount's root stays `busy` (libc turns rmdir("/data") into "." of its preopen).
      if (isDots(path) && target !== '/') {
        const last = lastComponent(path);
        if (mount.storage.stat(target).kind !== 'directory') fail('not-directory');
        fail(last === '.' ? 'invalid' : 'not-empty');
      }
      mount.storage.rmdir(target);
      mount.removedTree(target);
    });
  }

  renameAt(oldPath: string, newDescriptor: Descriptor, newPath: string): void {
    this.#run(() => {
      const dir = this.#directory();
      const other = Descriptor.#opened(newDescriptor);
      const newDir = other.#directory();
      const { mount, path: from } = this.#locate(dir, oldPath);
      const destination = other.#locate(newDir, newPath, true);
      const to = destination.path;
      if (destination.mount !== mount || from === '/' || to === '/') {
        // Linux looks both directories up before it compares mounts (but the source after).
        mount.assertParent(from);
        destination.mount.assertParent(to);
        // A mount point is an entry of the directory it is in: renaming it, or onto it, within
        // that directory's mount is EROFS or EBUSY there, not EXDEV.
        const { tree } = this.#context;
        const holder = (m: Mount, path: string) =>
          path === '/' && m.guestPath !== '/' ? tree.route(parentPath(m.guestPath)).mount : m;
        const within = holder(mount, from);
        if (within !== holder(destination.mount, to)) return fail('cross-device');
        return fail(within.readOnly ? 'read-only' : 'busy');
      }
      // As Linux, once the directories are found: a last component `.` or `..` names no entry of
      // its directory to move or replace (`a/b/.` would otherwise move `a/b`).
      if (isDots(oldPath) || isDots(newPath)) {
        if (isDots(oldPath) && mount.kindOf(from) === undefined) return fail('no-entry');
        if (isDots(newPath) && mount.kindOf(to) === undefined) return fail('no-entry');
        return fail('busy');
      }
      mount.assertWritable(from);
      if (from === to) {
        mount.storage.stat(from);
        return;
      }
      const fromKind = mount.kindOf(from);
      if (fromKind === undefined) return fail('no-entry');
      const toKind = mount.kindOf(to);
      if (fromKind !== 'directory' && wantsDirectory(oldPath)) return fail('not-directory');
      if (fromKind === 'directory' && toKind === 'directory') {
        if (mount.storage.list(to).length > 0) return fail('not-empty');
        if (to.startsWith(`${from}/`)) return fail('invalid');
        replaceEmptyDirectory(mount, from, to);
      } else if (fromKind !== 'directory' && toKind === 'file') {
        // Two names of one file: POSIX renames nothing (and no open target becomes an orphan).
        if (mount.hardLinks && sameFile(mount, from, to)) return;
        // An open target lives on as an orphan; if the rename fails, it is still there.
        mount.replaceFile(from, to);
      } else {
        mount.storage.rename(from, to);
      }
      mount.moved(from, to);
    });
  }

  symlinkAt(oldPath: string, newPath: string): void {
    this.#run(() => {
      const dir = this.#directory();
      if (typeof oldPath !== 'string') return fail('invalid');
      const { mount, path: target } = this.#locate(dir, newPath, true);
      mount.assertWritable(target);
      if (!mount.links) {
        if (mount.kindOf(target) !== undefined) return fail('exist');
        // A host directory refuses links (one could point outside it), as does storage without them.
        return fail('unsupported');
      }
      // Linux: an empty target is ENOENT, a longer one than PATH_MAX ENAMETOOLONG.
      if (oldPath === '') return fail('no-entry');
      if (Buffer.byteLength(oldPath, 'utf8') > MAX_LINK_TARGET) return fail('name-too-long');
      if (oldPath.includes('\0')) return fail('invalid');
      mount.storage.symlink(target, oldPath);
    });
  }

  unlinkFileAt(path: string): void {
    this.#run(() => {
      const dir = this.#directory();
      const { mount, path: target } = this.#locate(dir, path);
      mount.assertWritable(target);
      const kind = mount.kindOf(target);
      if (kind === undefined) return fail('no-entry');
      if (kind === 'directory') return fail('is-directory');
      if (wantsDirectory(path)) return fail('not-directory');
      // A link is removed like a file (never its target); no descriptor is ever open on one.
      // An open file lives on as an orphan (see Mount); the common case is one delete.
      mount.unlinkFile(target);
    });
  }

  isSameObject(other: Descriptor): boolean {
    try {
      const a: Node | undefined = this.#node;
      const b: Node | undefined = other instanceof Descriptor ? other.#node : undefined;
      if (!a || !b || a.mount !== b.mount) return false;
      if (a === b) return true;
      if (!a.unlinked && !b.unlinked && a.path === b.path) return true;
      // Two names of one file (hard links) are one object, as two paths to one inode are.
      if (!a.mount.hardLinks || a.kind !== 'file' || b.kind !== 'file') return false;
      const id = a.stat().id;
      return id !== undefined && id === b.stat().id;
    } catch {
      return false;
    }
  }

  metadataHash(): MetadataHashValue {
    return this.#run(() => {
      const meta = this.#node.stat();
      return metadataHash(this.#node.mount.hashSeed, identityKey(meta, this.#node.hashPath), meta.created);
    });
  }

  metadataHashAt(pathFlags: PathFlags, path: string): MetadataHashValue {
    return this.#run(() => {
      const dir = this.#directory();
      const { mount, path: target } = this.#locate(dir, path, false, !!pathFlags?.symlinkFollow);
      // A file open at this path is the one stored there (an unlinked one has left the mount's
      // open nodes), so storage answers for both.
      const meta = mount.storage.stat(target);
      return metadataHash(mount.hashSeed, identityKey(meta, target), meta.created);
    });
  }

  /**
   * Closing the last descriptor of a file that any of them wrote flushes it (caching storage such
   * as the sync bridge stores it then). Not durably: closing a file does not fsync it on POSIX
   * either, and an fsync per closed file would cost more than the file.
   */
  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.#closed = true;
    releaseRep(this);
    const node = this.#node;
    if (this.#dirty) node.dirty = true;
    try {
      if (node.refs <= 1 && node.dirty && !node.unlinked) {
        node.dirty = false;
        node.mount.storage.flush?.(node.path);
      }
    } catch (error) {
      node.failed(error);
    } finally {
      node.mount.release(node);
    }
    // Dropping a descriptor cannot fail for the guest: a failure no descriptor reported is the
    // host's close() to report, once.
    if (!node.writeErrorSeen && node.writeErrors !== this.#errorsSeen) {
      node.writeErrorSeen = true;
      this.#context.deferred.push(node.writeError);
    }
  }
}

/** The root descriptor of a mount, the guest's preopen. */
export function rootDescriptor(mount: Mount, context: HostContext): Descriptor {
  return Descriptor.open(
    mount.acquire('/', 'directory'),
    { read: true, mutateDirectory: !mount.readOnly },
    context,
  );
}
