import type { Capabilities, StorageLimits, VfsStorage } from '@eryx/vfs-core';

/** Reads a backend directly, bypassing the storage object, to check what was really stored. */
export interface ConformanceProbe {
  /**
   * The bytes stored for the file at `path` (normalized, absolute within `storage`), read from the
   * backend's own tables or objects; `undefined` when nothing is stored for that path.
   */
  readRaw(storage: VfsStorage, path: string): Promise<Uint8Array | undefined>;
}

/** The names of the sub-suites, for {@link ConformanceOptions.skip}. */
export type SuiteName =
  | 'flush'
  | 'readAtView'
  | 'read'
  | 'writeAt'
  | 'writeExtents'
  | 'append'
  | 'create'
  | 'setSize'
  | 'metadata'
  | 'list'
  | 'directories'
  | 'rename'
  | 'links'
  | 'hardLinks'
  | 'times'
  | 'badInput'
  | 'nameLimits'
  | 'illFormed'
  | 'concurrency'
  | 'shared'
  | 'sharedFiles'
  | 'persistence'
  | 'atomicity'
  | 'chaos'
  | 'probe'
  | 'model'
  | 'limits'
  | 'tar';

/** Options of `runConformance`. */
export interface ConformanceOptions {
  /** Shown in test names. */
  name: string;
  /**
   * Returns a fresh, isolated store (a new namespace, prefix or database). Called once per test;
   * tests also work in a random directory of their own, so stores may share a backend.
   */
  create(): VfsStorage | Promise<VfsStorage>;
  /**
   * Opens a second storage object on the same store as `storage` (the store under test, in the
   * form under test: in the sync form its `sync` is the original's twin), as another process would:
   * its own connection, client or handle, sharing nothing in memory with the first. Enables the
   * `shared` sub-suite, which checks across the two what the capabilities promise across processes
   * (`exclusiveCreate`, `nativeAppend`, `multiProcess`), and the `sharedFiles` sub-suite, which
   * checks that a file one object deletes or replaces is never brought back nor overwritten by the
   * other's writes through its identity (`nativeIfFile`). The kit closes it with `close()`. With
   * `persistent` claimed it also enables the `persistence` sub-suite: the kit closes the store under
   * test and calls `reopen` with the closed object (read only what identifies the store from it: a
   * path, a namespace), as a new process would open the store after this one exited. Leave it out
   * for a store that lives in one object's memory.
   */
  reopen?(storage: VfsStorage): VfsStorage | Promise<VfsStorage>;
  /** Disposes of a store made by `create` (close it, drop its data). Default: `storage.close()`. */
  destroy?(storage: VfsStorage): void | Promise<void>;
  /** Direct reads of the backend; enables the `probe` sub-suite. */
  probe?: ConformanceProbe;
  /**
   * Which forms to test. Default: `async`, plus `sync` when the store has a `sync` twin (the kit
   * creates one store before registering the tests to find out). The sync form runs the same suite
   * through the synchronous methods.
   */
  forms?: readonly ('async' | 'sync')[];
  /** Sub-suites not to run. Use only for what the backend's capabilities do not promise. */
  skip?: readonly SuiteName[];
  /**
   * Fail (in the registered `kit report` test) on every capability claim no sub-suite verified and
   * on every sub-suite left out that the store's claims and declarations call for. Default: `true`
   * when the environment variable `VFS_CONFORMANCE_STRICT` is `1`, else `false` (the report is
   * printed and its test passes).
   */
  strict?: boolean;
  /** Random operation sequences in the model-based test (default 100). */
  propertyRuns?: number;
  /**
   * Sizes of the `tar` sub-suite's round trip through `@eryx/vfs-core/tar`: `files` small files and
   * one file of `largeFileBytes`. Default 10,000 files and 100 MiB, the scale the tar import/export
   * promises. Lower them only for a backend whose server cannot do it within the test's timeout
   * (at least 15 minutes), and say so where the kit is called; a store whose declared limits cannot
   * hold the tree twice leaves the sub-suite out (the kit report says so).
   */
  tar?: { files?: number; largeFileBytes?: number };
  /** Per-test timeout in milliseconds (default 60,000). */
  timeout?: number;
  /** Registers further tests with the same per-test context. */
  extraTests?(ctx: SuiteContext): void;
}

/** What a first store made by `create` declared, read once before the tests are registered. */
export interface Declared {
  /** The store's declared limits, if any (`storage.limits ?? storage.sync?.limits`). */
  limits: StorageLimits | undefined;
  /** Whether the store has a sync twin. */
  sync: boolean;
  /** Whether its sync twin has `flush` (the `flush` sub-suite runs only then, in the sync form). */
  flush?: boolean;
  /** Whether its sync twin has `readAtView` (the `readAtView` sub-suite runs only then, sync form). */
  readAtView?: boolean;
  /**
   * What the store claims (its capabilities, defaults filled in). The sub-suites that verify a claim
   * (`persistence`, `atomicity`) are registered only for the claims made.
   */
  capabilities?: Capabilities;
}

/** What each test sees; its getters return the current test's values. */
export interface SuiteContext {
  readonly options: ConformanceOptions;
  /** What the backend declared, known when the tests are registered (not a per-test value). */
  readonly declared: Declared;
  /** `async` or `sync`: the form under test. */
  readonly form: 'async' | 'sync';
  /** The store under test in the current test. */
  readonly storage: VfsStorage;
  /** Its capabilities (defaults filled in). */
  readonly capabilities: Capabilities;
  /** A fresh directory of the current test, e.g. `/t-3f9a0c1e`; exists when the test starts. */
  readonly dir: string;
  /** A path below {@link SuiteContext.dir}. */
  path(...names: string[]): string;
  /**
   * Closes the store under test and opens the same store again with `options.reopen`, as a new
   * process would after this one exited. The new object (in the form under test) is the store under
   * test from then on, and the one disposed of after the test. Throws without `reopen`.
   */
  restart(): Promise<VfsStorage>;
}
