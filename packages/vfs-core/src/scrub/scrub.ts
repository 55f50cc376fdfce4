import { coalesceExtents } from '../chunks.js';
import { isVfsError, VfsError } from '../errors.js';
import { joinPath, parentPath, rebasePath } from '../path.js';
import { checkRename, type Kind } from '../semantics.js';
import type { Metadata, VfsStorage, WriteExtent, WriteExtentsOptions } from '../types.js';
import { call, type Plan, wrapStorage } from '../wrap.js';
import { globMatcher } from './glob.js';
import { applyMasks, compileSecrets, findRuns, type SecretSet, scrubBytes } from './secrets.js';

/**
 * Which paths {@link scrub} scrubs: every file (`'all'`, the default), none (`'none'`), only those
 * matching one of the globs, or all except those. Globs are matched against the path relative to
 * the storage root (see {@link globToRegExp}); `{ only: ['**\/*.env'] }` scrubs `/app/.env`.
 */
export type ScrubPolicy = 'all' | 'none' | { only: readonly string[] } | { except: readonly string[] };

/** Options of {@link scrub}. */
export interface ScrubOptions {
  /**
   * The placeholders that must never be stored, as text (stored as UTF-8) or bytes. Must be
   * non-empty, without NUL, and must not overlap one another (see {@link compileSecrets} for every
   * rule); a bad set is `invalid-argument` when `scrub` is called.
   */
  secrets: readonly (string | Uint8Array)[];
  /** Which paths are scrubbed. Default `'all'`. */
  policy?: ScrubPolicy;
  /** The text a scrubbed run starts with when it is long enough. Default `'[REDACTED]'`. */
  replacement?: string;
  /** The printable ASCII character that pads the replacement to the run's length. Default `'*'`. */
  fill?: string;
}

const READ_CHUNK = 1 << 20;
/** Windows of a writeExtents closer than this share one read of the stored bytes. */
const READ_GAP = 64 * 1024;

/** Runs of a writeExtents close enough that one secret may span them, and their neighbourhood. */
interface Window {
  start: number;
  end: number;
  runs: [number, Uint8Array][];
}

function policyMatcher(policy: ScrubPolicy | undefined): ((path: string) => boolean) | 'all' | 'none' {
  if (policy === undefined || policy === 'all') return 'all';
  if (policy === 'none') return 'none';
  if (typeof policy === 'object' && policy !== null) {
    if ('only' in policy && Array.isArray(policy.only)) return globMatcher(policy.only);
    if ('except' in policy && Array.isArray(policy.except)) {
      const match = globMatcher(policy.except);
      return (path) => !match(path);
    }
  }
  throw new VfsError(
    'invalid-argument',
    "scrub: policy must be 'all', 'none', { only: globs } or { except: globs }",
  );
}

const kindOf = (meta: Metadata | undefined): Kind => meta?.kind;

/** The plans of the scrubbing operations, shared by the sync and async forms. */
function plans(set: SecretSet, policy: ReturnType<typeof policyMatcher>, hardLinks: boolean) {
  const scrubbed = (path: string) => (policy === 'all' ? true : policy === 'none' ? false : policy(path));
  const K = set.maxLength - 1;

  function* statOrUndefined(path: string): Plan<Metadata | undefined> {
    try {
      return yield* call('stat', path);
    } catch (error) {
      if (isVfsError(error, 'not-found')) return undefined;
      throw error;
    }
  }

  function* readAtOrEmpty(path: string, offset: number, length: number): Plan<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    try {
      return yield* call('readAt', path, offset, length);
    } catch (error) {
      if (isVfsError(error, 'not-found')) return new Uint8Array(0);
      throw error;
    }
  }

  /**
   * Masks every secret of the stored file, reading it in overlapping windows. Each window is read
   * after the previous one's masks were written, so occurrences across windows are seen whole.
   */
  function* scrubStoredFile(path: string, size: number): Plan<void> {
    for (let start = 0; start < size; start += READ_CHUNK) {
      const window = Uint8Array.from(yield* call('readAt', path, start, READ_CHUNK + K));
      const runs = findRuns(set, window).filter(([s]) => s < READ_CHUNK);
      if (runs.length === 0) continue;
      const from = runs[0]![0];
      const to = runs[runs.length - 1]![1];
      applyMasks(set, window, runs);
      yield* call('writeAt', path, start + from, window.subarray(from, to));
    }
  }

  /**
   * What to write for one window of a writeExtents, given the stored bytes of `[start, end)`: its
   * runs, or one extent from the first new or masked byte to the last (see `writeAt`).
   */
  function scrubWindow(w: Window, stored: Uint8Array): [number, Uint8Array][] {
    const [lastOffset, lastData] = w.runs[w.runs.length - 1]!;
    const newEnd = lastOffset + lastData.length - w.start;
    const window = new Uint8Array(Math.max(stored.length, newEnd));
    window.set(stored);
    for (const [offset, data] of w.runs) window.set(data, offset - w.start);
    const runs = findRuns(set, window);
    if (runs.length === 0) return w.runs;
    applyMasks(set, window, runs);
    // Stored bytes between the runs are rewritten as they are (or masked): zeros past the old end
    // lie below the new end, so they change nothing either.
    const from = Math.min(w.runs[0]![0] - w.start, runs[0]![0]);
    const to = Math.max(newEnd, runs[runs.length - 1]![1]);
    return [[w.start + from, window.subarray(from, to)]];
  }

  /** A link's target with every secret masked (the same string when it holds none). */
  function scrubTarget(target: string): string {
    const bytes = Buffer.from(target, 'utf8');
    const masked = scrubBytes(set, bytes);
    return masked === bytes ? target : Buffer.from(masked).toString('utf8');
  }

  /** Makes the link at `path` hold its target masked, keeping its times (see `rename`). */
  function* scrubStoredLink(path: string): Plan<void> {
    const target = yield* call('readlink', path);
    const masked = scrubTarget(target);
    if (masked === target) return;
    const { modified, accessed, modifiedNs, accessedNs } = yield* call('stat', path);
    yield* call('delete', path);
    yield* call('symlink', path, masked);
    yield* call('setTimes', path, { modified: modifiedNs ?? modified, accessed: accessedNs ?? accessed });
  }

  /** The files and links of a directory tree, as paths relative to it (`''` is the root itself). */
  function* entriesBelow(dir: string, rel = ''): Plan<{ rel: string; kind: Kind; size: number }[]> {
    const out: { rel: string; kind: Kind; size: number }[] = [];
    for (const entry of yield* call('list', rel === '' ? dir : joinPath(dir, rel.slice(1)))) {
      const child = `${rel}/${entry.name}`;
      if (entry.kind === 'directory') out.push(...(yield* entriesBelow(dir, child)));
      else out.push({ rel: child, kind: entry.kind, size: entry.size });
    }
    return out;
  }

  return {
    *write(path: string, data: Uint8Array): Plan<void> {
      yield* call('write', path, scrubbed(path) ? scrubBytes(set, data) : data);
    },

    *writeAt(path: string, offset: number, data: Uint8Array): Plan<void> {
      if (!scrubbed(path) || data.length === 0) return yield* call('writeAt', path, offset, data);
      // The stored neighbours within reach of a secret overlapping the new bytes. Bytes between
      // the end of the file and `offset` are a gap of zeros, which no secret contains.
      const start = Math.max(0, offset - K);
      const before = yield* readAtOrEmpty(path, start, offset - start);
      const after = yield* readAtOrEmpty(path, offset + data.length, K);
      const window = new Uint8Array(offset - start + data.length + after.length);
      window.set(before);
      window.set(data, offset - start);
      window.set(after, offset - start + data.length);
      const runs = findRuns(set, window);
      if (runs.length === 0) return yield* call('writeAt', path, offset, data);
      applyMasks(set, window, runs);
      // Runs contain no zero byte, so one that reaches outside the new bytes covers stored bytes
      // only: rewriting them with the mask neither fills a gap nor grows the file.
      const from = Math.min(offset - start, runs[0]![0]);
      const to = Math.max(offset - start + data.length, runs[runs.length - 1]![1]);
      yield* call('writeAt', path, start + from, window.subarray(from, to));
    },

    *writeExtents(path: string, extents: readonly WriteExtent[], options?: WriteExtentsOptions): Plan<void> {
      if (!scrubbed(path)) return yield* call('writeExtents', path, extents, options);
      // As writeAt does for one extent, but over all of them at once: runs within reach of one
      // secret share a window, and nearby windows one read, so the cost follows the bytes touched.
      const windows: Window[] = [];
      for (const run of coalesceExtents(extents)) {
        const [offset, data] = run;
        const last = windows[windows.length - 1];
        if (last && offset - K <= last.end) {
          last.end = offset + data.length + K;
          last.runs.push(run);
        } else {
          windows.push({ start: Math.max(0, offset - K), end: offset + data.length + K, runs: [run] });
        }
      }
      const out: [number, Uint8Array][] = [];
      for (let i = 0; i < windows.length; ) {
        const from = windows[i]!.start;
        let j = i + 1;
        while (
          j < windows.length &&
          windows[j]!.start - windows[j - 1]!.end < READ_GAP &&
          windows[j]!.end - from <= READ_CHUNK
        ) {
          j++;
        }
        const stored = yield* readAtOrEmpty(path, from, windows[j - 1]!.end - from);
        for (const w of windows.slice(i, j)) {
          const at = Math.min(stored.length, w.start - from);
          out.push(...scrubWindow(w, stored.subarray(at, Math.min(stored.length, w.end - from))));
        }
        i = j;
      }
      // One inner call: the scrubbed extents are stored all or nothing, as given.
      yield* call('writeExtents', path, out, options);
    },

    *append(path: string, data: Uint8Array): Plan<number> {
      if (!scrubbed(path) || data.length === 0) return yield* call('append', path, data);
      const meta = yield* statOrUndefined(path);
      const size = meta?.kind === 'file' ? meta.size : 0;
      const start = Math.max(0, size - K);
      const tail = yield* readAtOrEmpty(path, start, size - start);
      const window = new Uint8Array(tail.length + data.length);
      window.set(tail);
      window.set(data, tail.length);
      const runs = findRuns(set, window);
      applyMasks(set, window, runs);
      const first = runs[0]?.[0] ?? tail.length;
      if (first >= tail.length) return yield* call('append', path, window.subarray(tail.length));
      // A secret completed across the old end: rewrite its stored part together with the new bytes.
      yield* call('writeAt', path, start + first, window.subarray(first));
      return size;
    },

    *symlink(path: string, target: string): Plan<void> {
      yield* call('symlink', path, scrubbed(path) ? scrubTarget(target) : target);
    },

    *link(from: string, to: string): Plan<void> {
      // Names of one file share its bytes: one outside the policy would write, unmasked, what the
      // other shows at a scrubbed path. With globs, the wrapper stores no hard links at all.
      if (policy !== 'all' && policy !== 'none') {
        throw new VfsError('unsupported', 'scrub with a glob policy does not store hard links', {
          path: from,
        });
      }
      yield* call('link', from, to);
    },

    *rename(from: string, to: string): Plan<void> {
      if (policy === 'all' || policy === 'none' || from === to) return yield* call('rename', from, to);
      const source = yield* statOrUndefined(from);
      if (source === undefined) return yield* call('rename', from, to);
      const files =
        source.kind === 'directory'
          ? yield* entriesBelow(from)
          : [{ rel: '', kind: source.kind, size: source.size }];
      const movedTo = (rel: string) => (rel === '' ? to : rebasePath(from + rel, from, to));
      // Files that move from an unscrubbed path to a scrubbed one are scrubbed first, so a secret is
      // never stored under a scrubbed path, not even for a moment.
      const moving = files.filter(({ rel }) => !scrubbed(from + rel) && scrubbed(movedTo(rel)));
      const crossing = files.filter(({ rel }) => scrubbed(from + rel) !== scrubbed(movedTo(rel)));
      if (crossing.length > 0) {
        // Refuse up front what the rename itself would refuse, so a failing rename changes nothing.
        const target = yield* statOrUndefined(to);
        const targetParent = yield* statOrUndefined(parentPath(to));
        checkRename(from, to, source.kind, kindOf(target), kindOf(targetParent));
        // A file with other names (made beside the wrapper) on the other side of the policy could
        // be written there unmasked (see link), in either direction: refused as Linux refuses a
        // rename across mounts. One stat per crossing file, on a store with hard links only.
        if (hardLinks) {
          for (const { rel, kind } of crossing) {
            if (kind === 'directory') continue;
            const meta = rel === '' ? source : yield* call('stat', from + rel);
            if ((meta.linkCount ?? 1) > 1) {
              throw new VfsError('cross-device', 'a file with several names may not cross the scrub policy', {
                path: from + rel,
              });
            }
          }
        }
        for (const { rel, kind, size } of moving) {
          if (kind === 'symlink') yield* scrubStoredLink(from + rel);
          else yield* scrubStoredFile(from + rel, size);
        }
      }
      yield* call('rename', from, to);
    },
  };
}

/**
 * A storage that masks configured secrets before bytes reach `storage`, whatever the write pattern.
 *
 * **What is stored.** No configured secret ever appears in the stored bytes of a scrubbed path:
 * not when written whole, nor when a placeholder is split across `writeAt` calls, the extents of a
 * `writeExtents`, appends or stream flushes, nor when a write completes a placeholder together with bytes stored around it. Before each
 * write the wrapper reads the stored neighbours within reach of a secret (the longest secret's length
 * minus one on each side), masks every occurrence in that window and stores the result in one inner
 * write: the secret never touches storage, even for a moment.
 *
 * **Masks keep lengths.** A run of scrubbed bytes is replaced by a mask of the same length: the
 * replacement followed by fill characters (`[REDACTED]****` for a 14-byte secret) or, for runs
 * shorter than the replacement, fill characters only (`*****`). Offsets, sizes and the offsets
 * `append` returns are therefore exactly those of the bytes the caller wrote, whether the file was
 * written whole or piece by piece, and no NUL is ever introduced. Reads return what is stored.
 *
 * **Symbolic links.** A link's target is what is written at the link's path, and a guest could
 * store a secret in one and read it back with `readlink`: `symlink` at a scrubbed path stores the
 * target with every secret masked, as a file's content would be (same length in bytes; a secret
 * given as bytes that splits a UTF-8 character leaves U+FFFD in its place). `readlink` passes
 * through.
 *
 * **Policy.** Only paths chosen by {@link ScrubOptions.policy} are scrubbed. A file renamed from an
 * unscrubbed path to a scrubbed one is scrubbed in place before the rename (the rename is checked
 * first; an inner failure after that leaves the source scrubbed); a link is made again with its
 * target masked, keeping its times. With a glob policy the wrapper stores no hard links
 * (`capabilities.hardLinks` is `false`, `link` is `unsupported`): names of one file on both sides
 * of the policy would share bytes written unmasked through one of them; for the same reason a
 * rename that moves a file that already has several names (itself, or inside a moved directory)
 * into or out of the scrubbed paths is `cross-device`.
 *
 * **Limits of the guarantee.** Bytes stored before the wrapper was applied, or by other writers of the
 * same store, are not examined. Mutating calls are serialized within the wrapper (read-modify-write
 * of the neighbours), so the wrapper declares `nativeAppend` and `multiProcess` as `false`. When
 * `storage` has a sync twin, both forms of the result run through it, so they share one order of
 * operations; the result's twin passes `flush` and `readAtView` through.
 *
 * @throws {VfsError} `invalid-argument` for bad options (see {@link compileSecrets})
 */
export function scrub(storage: VfsStorage, options: ScrubOptions): VfsStorage {
  const set = compileSecrets(options.secrets, options.replacement ?? '[REDACTED]', options.fill ?? '*');
  const policy = policyMatcher(options.policy);
  const p = plans(set, policy, storage.capabilities.hardLinks);
  const hardLinks = storage.capabilities.hardLinks && typeof policy === 'string';
  return wrapStorage(storage, {
    capabilities: { ...storage.capabilities, nativeAppend: false, multiProcess: false, hardLinks },
    plans: {
      write: p.write,
      writeAt: p.writeAt,
      writeExtents: p.writeExtents,
      append: p.append,
      symlink: p.symlink,
      link: p.link,
      rename: p.rename,
    },
  });
}
