import { VfsError } from '../errors.js';
import { ancestorsOf, baseName, isSameOrDescendant } from '../path.js';
import { createSyncStorage } from '../storage.js';
import type { Metadata, VfsSyncStorage } from '../types.js';
import { Mount } from './mount.js';

/** Where a guest path lives: a mount and the storage path within it. */
export interface Located {
  mount: Mount;
  path: string;
}

/**
 * The one tree a guest sees: every mount at its guest path, and the synthetic read-only
 * directories that lead to them (mounts `/data` and `/host/etc` make `/` and `/host` synthetic).
 * A directory that contains a mount point lists it, whether it is synthetic or part of another
 * mount's storage; the mount point hides whatever that storage has under the same name.
 */
export class MountTree {
  /** Longest guest path first, so the first match is the longest prefix. */
  readonly #mounts: Mount[];
  readonly #children = new Map<string, Set<string>>();
  readonly #syntheticDirs = new Set<string>();
  /** The mount of the synthetic directories (its storage paths are guest paths). */
  readonly synthetic: Mount;
  /** Mounts with no other mount point below them: every path within one of them is its own. */
  readonly #leaves: ReadonlySet<Mount>;

  constructor(readonly mounts: readonly Mount[]) {
    this.#mounts = [...mounts].sort((a, b) => b.guestPath.length - a.guestPath.length);
    const points = new Set(mounts.map((mount) => mount.guestPath));
    for (const point of points) {
      if (point === '/') continue;
      const chain = [...ancestorsOf(point), point];
      for (let i = 0; i + 1 < chain.length; i++) {
        const dir = chain[i] as string;
        if (!points.has(dir)) this.#syntheticDirs.add(dir);
        const names = this.#children.get(dir) ?? new Set<string>();
        names.add(baseName(chain[i + 1] as string));
        this.#children.set(dir, names);
      }
    }
    // No mounts, no preopen: a guest given nothing sees no directory at all (fd 3 is invalid).
    if (points.size > 0 && !points.has('/')) this.#syntheticDirs.add('/');
    this.synthetic = new Mount('/', syntheticStorage(this.#syntheticDirs), true);
    this.#leaves = new Set(
      mounts.filter(
        (mount) => ![...points].some((p) => p !== mount.guestPath && isSameOrDescendant(mount.guestPath, p)),
      ),
    );
  }

  /**
   * Where `path` (normalized, within `mount`) lives: in `mount` itself unless a mount point nested
   * in it covers the path. The common case (no nested mount) needs no guest path at all.
   */
  locateIn(mount: Mount, path: string): Located {
    if (this.#leaves.has(mount)) return { mount, path };
    return this.route(this.guestPathOf(mount, path));
  }

  /** Whether the guest needs a synthetic root preopen (nothing is mounted at `/`). */
  get hasSyntheticRoot(): boolean {
    return this.#syntheticDirs.has('/');
  }

  /** The mount and storage path of a normalized guest path. */
  route(guestPath: string): Located {
    if (this.#syntheticDirs.has(guestPath)) return { mount: this.synthetic, path: guestPath };
    for (const mount of this.#mounts) {
      if (isSameOrDescendant(mount.guestPath, guestPath)) {
        return { mount, path: toInner(mount.guestPath, guestPath) };
      }
    }
    // Below a synthetic directory but in no mount: the synthetic storage reports it missing.
    return { mount: this.synthetic, path: guestPath };
  }

  /** The guest path of a storage path of `mount`. */
  guestPathOf(mount: Mount, path: string): string {
    if (mount.guestPath === '/') return path;
    return path === '/' ? mount.guestPath : `${mount.guestPath}${path}`;
  }

  /** The names of the mount points and synthetic directories directly in a guest directory. */
  mountedIn(guestDir: string): ReadonlySet<string> | undefined {
    return this.#children.get(guestDir);
  }
}

function toInner(mountPath: string, guestPath: string): string {
  if (mountPath === '/') return guestPath;
  return guestPath === mountPath ? '/' : guestPath.slice(mountPath.length);
}

/** The read-only storage of the synthetic directories: they exist and are empty (mounts fill them). */
function syntheticStorage(dirs: ReadonlySet<string>): VfsSyncStorage {
  const time = Date.now();
  const meta: Metadata = { kind: 'directory', size: 0, created: time, modified: time, accessed: time };
  const missing = (path: string): never => {
    throw new VfsError('not-found', undefined, { path });
  };
  const readOnly = (path: string): never => {
    throw new VfsError('read-only', 'the directories leading to mounts are read-only', { path });
  };
  const directory = (path: string): never => {
    if (dirs.has(path)) throw new VfsError('is-a-directory', undefined, { path });
    return missing(path);
  };
  return createSyncStorage({
    read: directory,
    readAt: directory,
    write: readOnly,
    writeAt: readOnly,
    append: readOnly,
    create: readOnly,
    setSize: readOnly,
    stat: (path) => (dirs.has(path) ? { ...meta } : missing(path)),
    list: (path) => (dirs.has(path) ? [] : missing(path)),
    exists: (path) => dirs.has(path),
    mkdir: readOnly,
    rmdir: readOnly,
    delete: readOnly,
    rename: readOnly,
    setTimes: readOnly,
  });
}
