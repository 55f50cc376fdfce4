import type { VfsOperation, VfsSyncStorage } from './types.js';

/*
 * The contract's operations described once. The guards (`createStorage`, `createSyncStorage`),
 * `toAsync`, the wrappers' pass-through, the sync bridge's wire and the conformance kit's bad-input
 * checks are all derived from this table: adding an operation means the contract type, one row
 * here, the backends' implementations and the kit's tests.
 */

/**
 * What an argument of an operation is, and so how core checks it: `path` is normalized
 * (`invalid-path`); `offset`, `length` and `size` are non-negative safe integers
 * (`invalid-offset`); `data` is a `Uint8Array` whose end, written at the preceding `offset`, stays
 * a safe integer (`invalid-argument` / `invalid-offset`); `times` is a {@link SetTimes} object
 * (`invalid-argument`); `extents` is an array of `[offset, data]` pairs, each checked as an
 * `offset` and its `data` (`invalid-argument` when it is not such an array); `writeOptions` is
 * `undefined` or a {@link WriteExtentsOptions} object: `modified` a finite number, `ifFile` a
 * `FileIdentity` (`invalid-argument`); `linkTarget` is a symbolic link's target: a string of 1 to
 * 4,096 UTF-8 bytes without NUL or lone surrogate (`invalid-argument`), kept verbatim (never
 * normalized). The sync bridge carries all of these, and `stat`'s `id`, as they are.
 */
export type ArgumentKind =
  | 'path'
  | 'offset'
  | 'length'
  | 'size'
  | 'data'
  | 'times'
  | 'extents'
  | 'writeOptions'
  | 'linkTarget';

/** What an operation resolves to. */
export type ResultKind = 'void' | 'bytes' | 'offset' | 'metadata' | 'entries' | 'boolean' | 'text';

/** One row of {@link OPERATIONS}. */
export interface OperationSpec {
  /** The arguments, in order. */
  readonly args: readonly ArgumentKind[];
  /** Whether the operation may change what is stored (a read-only storage refuses it). */
  readonly mutating: boolean;
  /** What it resolves to. */
  readonly result: ResultKind;
  /** Its number on the sync bridge's wire; never reused. */
  readonly code: number;
  /**
   * The index of the path argument that may name a new entry (a new file, a directory, a rename
   * target), which core's guards check against the name and path limits (`name-too-long`).
   */
  readonly creates?: number;
}

/** The storage operations proper: every {@link VfsOperation} but `close`. */
export type StorageOperation = Exclude<VfsOperation, 'close'>;

type Row<K extends StorageOperation> = OperationSpec & {
  // Ties each row to the contract: a row with the wrong number of arguments does not compile.
  readonly args: { readonly length: Parameters<VfsSyncStorage[K]>['length'] };
};

/** Every storage operation of the contract, with its arguments, whether it mutates and its result. */
export const OPERATIONS: { readonly [K in StorageOperation]: Row<K> } = Object.freeze({
  read: { args: ['path'], mutating: false, result: 'bytes', code: 1 },
  readAt: { args: ['path', 'offset', 'length'], mutating: false, result: 'bytes', code: 2 },
  write: { args: ['path', 'data'], mutating: true, result: 'void', code: 3, creates: 0 },
  writeAt: { args: ['path', 'offset', 'data'], mutating: true, result: 'void', code: 4, creates: 0 },
  writeExtents: {
    args: ['path', 'extents', 'writeOptions'],
    mutating: true,
    result: 'void',
    code: 19,
    creates: 0,
  },
  append: { args: ['path', 'data'], mutating: true, result: 'offset', code: 5, creates: 0 },
  create: { args: ['path'], mutating: true, result: 'void', code: 17, creates: 0 },
  setSize: { args: ['path', 'size'], mutating: true, result: 'void', code: 6 },
  stat: { args: ['path'], mutating: false, result: 'metadata', code: 7 },
  list: { args: ['path'], mutating: false, result: 'entries', code: 8 },
  exists: { args: ['path'], mutating: false, result: 'boolean', code: 9 },
  mkdir: { args: ['path'], mutating: true, result: 'void', code: 10, creates: 0 },
  rmdir: { args: ['path'], mutating: true, result: 'void', code: 11 },
  delete: { args: ['path'], mutating: true, result: 'void', code: 12 },
  rename: { args: ['path', 'path'], mutating: true, result: 'void', code: 13, creates: 1 },
  setTimes: { args: ['path', 'times'], mutating: true, result: 'void', code: 14 },
  symlink: { args: ['path', 'linkTarget'], mutating: true, result: 'void', code: 20, creates: 0 },
  readlink: { args: ['path'], mutating: false, result: 'text', code: 21 },
  link: { args: ['path', 'path'], mutating: true, result: 'void', code: 22, creates: 1 },
} as const);

/** The names of {@link OPERATIONS}, in table order. */
export const STORAGE_OPERATIONS: readonly StorageOperation[] = Object.freeze(
  Object.keys(OPERATIONS) as StorageOperation[],
);

/** The operations that change nothing stored. */
export const READ_OPERATIONS: readonly StorageOperation[] = Object.freeze(
  STORAGE_OPERATIONS.filter((op) => !OPERATIONS[op].mutating),
);

/** The operations that may change what is stored. */
export const MUTATING_OPERATIONS: readonly StorageOperation[] = Object.freeze(
  STORAGE_OPERATIONS.filter((op) => OPERATIONS[op].mutating),
);

/** Every {@link VfsOperation}: the storage operations and `close`. */
export const VFS_OPERATIONS: readonly VfsOperation[] = Object.freeze([
  ...STORAGE_OPERATIONS,
  'close' as const,
]);
