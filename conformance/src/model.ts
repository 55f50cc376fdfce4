import {
  type Capabilities,
  createSyncStorage,
  type DirEntry,
  type FileKind,
  type Metadata,
  type SetTimes,
  toAsync,
  VfsError,
  type VfsStorage,
  type VfsSyncDriver,
} from '@eryx/vfs-core';

/** What the reference model stores beyond files and directories: both by default. */
export interface ReferenceOptions {
  /** Symbolic links (default `true`). */
  symlinks?: boolean;
  /** Hard links (default `true`). */
  hardLinks?: boolean;
}

interface Entry {
  kind: FileKind;
  /** A file's content; a link's target as UTF-8. */
  data: Uint8Array;
  created: number;
  modified: number;
  accessed: number;
}

const parentOf = (path: string) => {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
};
const nameOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const within = (dir: string, path: string) => path.startsWith(dir === '/' ? '/' : `${dir}/`);

/**
 * The reference model: the contract written as plainly as possible, a flat map of path → entry with
 * whole-file buffers. Written independently of core's shared checks, following the contract's TSDoc,
 * so the property test compares two independent readings of the contract. With `symlinks: false`
 * it stores no links (it has no `symlink` or `readlink`), as a backend that declares none; with
 * `hardLinks: false` no hard links (no `link`). A hard link is a second path mapped to the same
 * entry object.
 */
export class ReferenceModel implements VfsSyncDriver {
  readonly capabilities: Partial<Capabilities>;
  readonly entries = new Map<string, Entry>();
  symlink?: (path: string, target: string) => void;
  readlink?: (path: string) => string;
  link?: (from: string, to: string) => void;

  constructor(options: ReferenceOptions = {}) {
    const symlinks = options.symlinks !== false;
    const hardLinks = options.hardLinks !== false;
    this.capabilities = {
      nativeAppend: true,
      atomicRename: true,
      atomicDirectoryRename: true,
      symlinks,
      hardLinks,
    };
    if (symlinks) {
      this.symlink = (path, target) => this.#symlink(path, target);
      this.readlink = (path) => this.#readlink(path);
    }
    if (hardLinks) this.link = (from, to) => this.#link(from, to);
    const t = Date.now();
    this.entries.set('/', {
      kind: 'directory',
      data: new Uint8Array(0),
      created: t,
      modified: t,
      accessed: t,
    });
  }

  private fail(code: ConstructorParameters<typeof VfsError>[0], path: string): never {
    throw new VfsError(code, undefined, { path });
  }

  private file(path: string): Entry {
    const e = this.entries.get(path);
    if (!e) this.fail('not-found', path);
    if (e.kind === 'directory') this.fail('is-a-directory', path);
    if (e.kind === 'symlink') this.fail('is-a-symlink', path);
    return e;
  }

  private creatable(path: string): void {
    const parent = this.entries.get(parentOf(path));
    if (!parent) this.fail('not-found', path);
    if (parent.kind !== 'directory') this.fail('not-a-directory', path);
  }

  private fileForWrite(path: string): Entry {
    const e = this.entries.get(path);
    if (e?.kind === 'directory') this.fail('is-a-directory', path);
    if (e?.kind === 'symlink') this.fail('is-a-symlink', path);
    if (e) return e;
    this.creatable(path);
    const t = Date.now();
    const created: Entry = { kind: 'file', data: new Uint8Array(0), created: t, modified: t, accessed: t };
    this.entries.set(path, created);
    return created;
  }

  private resize(e: Entry, size: number): void {
    const data = new Uint8Array(size);
    data.set(e.data.subarray(0, Math.min(size, e.data.length)));
    e.data = data;
  }

  private touch(e: Entry): void {
    e.modified = Date.now();
    e.accessed = e.modified;
  }

  read(path: string): Uint8Array {
    return this.file(path).data.slice();
  }

  readAt(path: string, offset: number, length: number): Uint8Array {
    const data = this.file(path).data;
    if (offset >= data.length) return new Uint8Array(0);
    return data.slice(offset, Math.min(data.length, offset + length));
  }

  write(path: string, data: Uint8Array): void {
    const e = this.fileForWrite(path);
    e.data = data.slice();
    this.touch(e);
  }

  writeAt(path: string, offset: number, data: Uint8Array): void {
    const e = this.fileForWrite(path);
    if (offset + data.length > e.data.length) this.resize(e, offset + data.length);
    e.data.set(data, offset);
    this.touch(e);
  }

  append(path: string, data: Uint8Array): number {
    const e = this.fileForWrite(path);
    const at = e.data.length;
    this.resize(e, at + data.length);
    e.data.set(data, at);
    this.touch(e);
    return at;
  }

  create(path: string): void {
    if (this.entries.has(path)) this.fail('already-exists', path);
    this.fileForWrite(path);
  }

  setSize(path: string, size: number): void {
    const e = this.file(path);
    this.resize(e, size);
    this.touch(e);
  }

  stat(path: string): Metadata {
    const e = this.entries.get(path);
    if (!e) this.fail('not-found', path);
    const { kind, created, modified, accessed } = e;
    const meta: Metadata = {
      kind,
      size: kind === 'directory' ? 0 : e.data.length,
      created,
      modified,
      accessed,
    };
    if (this.link && kind !== 'directory') meta.linkCount = this.#names(e);
    return meta;
  }

  /** How many paths name the entry. */
  #names(e: Entry): number {
    let n = 0;
    for (const other of this.entries.values()) if (other === e) n++;
    return n;
  }

  list(path: string): DirEntry[] {
    const e = this.entries.get(path);
    if (!e) this.fail('not-found', path);
    if (e.kind !== 'directory') this.fail('not-a-directory', path);
    const out: DirEntry[] = [];
    for (const [p, child] of this.entries) {
      if (p !== '/' && parentOf(p) === path) {
        const size = child.kind === 'directory' ? 0 : child.data.length;
        out.push({ name: nameOf(p), kind: child.kind, size });
      }
    }
    return out;
  }

  exists(path: string): boolean {
    return this.entries.has(path);
  }

  mkdir(path: string): void {
    if (this.entries.has(path)) this.fail('already-exists', path);
    this.creatable(path);
    const t = Date.now();
    this.entries.set(path, {
      kind: 'directory',
      data: new Uint8Array(0),
      created: t,
      modified: t,
      accessed: t,
    });
  }

  rmdir(path: string): void {
    if (path === '/') this.fail('busy', path);
    const e = this.entries.get(path);
    if (!e) this.fail('not-found', path);
    if (e.kind !== 'directory') this.fail('not-a-directory', path);
    for (const p of this.entries.keys())
      if (p !== path && within(path, p)) this.fail('directory-not-empty', path);
    this.entries.delete(path);
  }

  delete(path: string): void {
    const e = this.entries.get(path);
    if (!e) this.fail('not-found', path);
    if (e.kind === 'directory') this.fail('is-a-directory', path);
    this.entries.delete(path);
  }

  rename(from: string, to: string): void {
    if (from === '/' || to === '/') this.fail('busy', from);
    const source = this.entries.get(from);
    if (!source) this.fail('not-found', from);
    if (from === to) return;
    if (source.kind === 'directory' && within(from, to)) this.fail('invalid-path', to);
    this.creatable(to);
    const target = this.entries.get(to);
    // Two names of one file: POSIX renames nothing.
    if (target === source) return;
    if (target) {
      if (source.kind !== 'directory' && target.kind === 'directory') this.fail('is-a-directory', to);
      if (source.kind === 'directory' && target.kind !== 'directory') this.fail('not-a-directory', to);
      if (source.kind === 'directory') this.fail('already-exists', to);
    }
    const moved = [...this.entries].filter(([p]) => p === from || within(from, p));
    for (const [p] of moved) this.entries.delete(p);
    for (const [p, e] of moved) this.entries.set(to + p.slice(from.length), e);
  }

  setTimes(path: string, times: SetTimes): void {
    const e = this.entries.get(path);
    if (!e) this.fail('not-found', path);
    // The model declares no nanosecondTimes: core gives it milliseconds only.
    if (times.accessed !== undefined) e.accessed = Number(times.accessed);
    if (times.modified !== undefined) e.modified = Number(times.modified);
  }

  #symlink(path: string, target: string): void {
    if (this.entries.has(path)) this.fail('already-exists', path);
    this.creatable(path);
    const t = Date.now();
    const data = new TextEncoder().encode(target);
    this.entries.set(path, { kind: 'symlink', data, created: t, modified: t, accessed: t });
  }

  #link(from: string, to: string): void {
    const source = this.entries.get(from);
    if (!source) this.fail('not-found', from);
    if (to !== '/') this.creatable(to);
    if (this.entries.has(to)) this.fail('already-exists', to);
    if (source.kind === 'directory') this.fail('is-a-directory', from);
    this.entries.set(to, source);
  }

  #readlink(path: string): string {
    const e = this.entries.get(path);
    if (!e) this.fail('not-found', path);
    if (e.kind !== 'symlink') this.fail('invalid-argument', path);
    return new TextDecoder().decode(e.data);
  }
}

/**
 * The reference model as a storage (both forms). Slow for big files (whole-buffer copies) but
 * obviously right; the kit tests itself against it, and it is a starting point for new backends.
 * It stores symbolic links unless `symlinks` is `false`.
 */
export function referenceStorage(options: ReferenceOptions = {}): VfsStorage {
  return toAsync(createSyncStorage(new ReferenceModel(options)));
}
