import { isVfsError, VfsError } from './errors.js';
import { baseName, joinPath } from './path.js';
import { call, type Plan } from './plan.js';
import type { Metadata, StorageLimits } from './types.js';

/** The longest name (path segment) core's guards let an operation create, in UTF-8 bytes. */
export const DEFAULT_MAX_NAME_LENGTH = 255;
/** The longest path core's guards let an operation create, in UTF-8 bytes. */
export const DEFAULT_MAX_PATH_LENGTH = 4096;

/** The name and path limits a guard enforces: the driver's declared ones, else the defaults. */
export interface NameLimits {
  readonly maxNameLength: number;
  readonly maxPathLength: number;
}

export function nameLimits(declared: StorageLimits | undefined): NameLimits {
  return {
    maxNameLength: declared?.maxNameLength ?? DEFAULT_MAX_NAME_LENGTH,
    maxPathLength: declared?.maxPathLength ?? DEFAULT_MAX_PATH_LENGTH,
  };
}

const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

function tooLong(path: string, what: string, length: number, max: number): VfsError {
  return new VfsError('name-too-long', `the ${what} is ${length} bytes long, the limit is ${max}`, { path });
}

/** A `name-too-long` error when the normalized `path` is too long to create, else `undefined`. */
export function nameTooLong(path: string, max: NameLimits): VfsError | undefined {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most paths need no counting.
  if (path.length * 3 <= Math.min(max.maxNameLength, max.maxPathLength)) return undefined;
  const length = utf8Length(path);
  if (length > max.maxPathLength) return tooLong(path, 'path', length, max.maxPathLength);
  const name = baseName(path);
  if (name.length * 3 <= max.maxNameLength) return undefined;
  const nameLength = utf8Length(name);
  return nameLength > max.maxNameLength ? tooLong(path, 'name', nameLength, max.maxNameLength) : undefined;
}

/** True when {@link checkCreatedName} has nothing to ask: the common case, without allocating. */
export function createdNameFits(op: string, created: string, max: NameLimits): boolean {
  return op !== 'rename' && nameTooLong(created, max) === undefined;
}

/**
 * Checks the entry an operation may create (`OPERATIONS[op].creates`) against the limits, asking
 * the driver through the yielded queries. A too-long path that already exists is let through (it
 * creates nothing). A directory renamed to a longer path is refused when one of its entries would
 * get a path over `maxPathLength` (walking it: as costly as the rename is for most backends).
 */
export function* checkCreatedName(op: string, from: string, path: string, max: NameLimits): Plan<void> {
  const error = nameTooLong(path, max);
  if (error) {
    if (yield* call('exists', path)) return;
    throw error;
  }
  if (op !== 'rename') return;
  const growth = utf8Length(path) - utf8Length(from);
  if (growth <= 0 || from === '/') return;
  let source: Metadata;
  try {
    source = yield* call('stat', from);
  } catch (e) {
    if (isVfsError(e, 'not-found')) return; // the rename reports it
    throw e;
  }
  if (source.kind !== 'directory') return;
  const pending = [from];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    for (const entry of yield* call('list', dir)) {
      const child = joinPath(dir, entry.name);
      const length = utf8Length(child) + growth;
      if (length > max.maxPathLength) {
        throw new VfsError(
          'name-too-long',
          `an entry of the moved directory would get a ${length}-byte path, the limit is ${max.maxPathLength}`,
          { path },
        );
      }
      if (entry.kind === 'directory') pending.push(child);
    }
  }
}
