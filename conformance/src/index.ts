import { toAsync, type VfsStorage } from '@eryx/vfs-core';
import type { SyncBridgeOptions } from '@eryx/vfs-core/bridge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConformanceOptions, Declared, SuiteContext, SuiteName } from './context.js';
import { conformanceReport, isStrict } from './report.js';
import { atomicitySuite, persistenceSuite } from './suites/claims.js';
import {
  appendSuite,
  createSuite,
  readAtViewSuite,
  readSuite,
  setSizeSuite,
  writeAtSuite,
} from './suites/data.js';
import { writeExtentsSuite } from './suites/extents.js';
import { flushSuite } from './suites/flush.js';
import { hardLinksSuite } from './suites/hard-links.js';
import { limitsSuite } from './suites/limits.js';
import { linksSuite } from './suites/links.js';
import { illFormedSuite, nameLimitsSuite } from './suites/names.js';
import { propertySuite } from './suites/property.js';
import { badInputSuite, chaosSuite, concurrencySuite, probeSuite, sharedSuite } from './suites/robustness.js';
import { sharedFilesSuite } from './suites/shared-files.js';
import { tarSuite } from './suites/tar.js';
import { timesSuite } from './suites/times.js';
import { directorySuite, listSuite, metadataSuite, renameSuite } from './suites/tree.js';
import { randomName } from './util.js';

export { type ChaosOptions, chaos } from './chaos.js';
export type { ConformanceOptions, ConformanceProbe, Declared, SuiteContext, SuiteName } from './context.js';
export { type FaultConformanceOptions, type FaultInjector, runFaultConformance } from './faults.js';
export { ReferenceModel, referenceStorage } from './model.js';
export {
  type Capability,
  type ConformanceReport,
  claimVerifiers,
  conformanceReport,
  isStrict,
  type SkippedSuite,
} from './report.js';
export { runStoreBackendConformance, type StoreBackendConformanceOptions } from './store-backend.js';
// Every sub-suite on its own, to compose a selection (the suite modules export nothing else but
// the checks some of them run).
export * from './suites/claims.js';
export * from './suites/data.js';
export * from './suites/extents.js';
export * from './suites/flush.js';
export * from './suites/hard-links.js';
export * from './suites/limits.js';
export * from './suites/links.js';
export * from './suites/names.js';
export * from './suites/property.js';
export * from './suites/robustness.js';
export * from './suites/shared-files.js';
export * from './suites/tar.js';
export * from './suites/times.js';
export * from './suites/tree.js';
export { expectBytes, expectError, pattern, randomName } from './util.js';

/**
 * `createSyncBridge` options for running the kit through the sync bridge: 4 KiB blocks, a 1 MiB
 * read cache and 256 KiB of buffered writes, small enough that eviction and write-back reach the
 * backend within one test (the defaults would hold a whole test's data in the bridge).
 */
export const BRIDGE_TEST_OPTIONS: Readonly<SyncBridgeOptions> = Object.freeze({
  blockSize: 4096,
  cacheBytes: 1 << 20,
  dirtyBytes: 256 * 1024,
});

/** Every sub-suite by name, in the order `runConformance` registers them. */
export const SUITES: Record<SuiteName, (ctx: SuiteContext) => void> = {
  read: readSuite,
  readAtView: readAtViewSuite,
  writeAt: writeAtSuite,
  writeExtents: writeExtentsSuite,
  append: appendSuite,
  create: createSuite,
  setSize: setSizeSuite,
  metadata: metadataSuite,
  list: listSuite,
  directories: directorySuite,
  rename: renameSuite,
  links: linksSuite,
  hardLinks: hardLinksSuite,
  times: timesSuite,
  badInput: badInputSuite,
  nameLimits: nameLimitsSuite,
  illFormed: illFormedSuite,
  concurrency: concurrencySuite,
  shared: sharedSuite,
  sharedFiles: sharedFilesSuite,
  persistence: persistenceSuite,
  atomicity: atomicitySuite,
  chaos: chaosSuite,
  probe: probeSuite,
  model: propertySuite,
  limits: limitsSuite,
  flush: flushSuite,
  tar: tarSuite,
};

/**
 * Registers a per-test context with vitest: a fresh store from `options.create` before each test
 * (in the requested form) and a fresh random directory in it, destroyed after the test.
 */
export function useConformanceContext(
  options: ConformanceOptions,
  form: 'async' | 'sync',
  declared: Declared = { limits: undefined, sync: form === 'sync' },
): SuiteContext {
  let original: VfsStorage | undefined;
  let storage: VfsStorage | undefined;
  let dir = '';
  // The store under test in the form under test.
  const inForm = (store: VfsStorage): VfsStorage => {
    if (form === 'async') return store;
    if (!store.sync) {
      throw new Error(
        `${options.name}: the store has no sync twin; pass forms: ['async'] to runConformance to test only the async form`,
      );
    }
    return toAsync(store.sync);
  };
  beforeEach(async () => {
    // Let the event loop turn once per test. A synchronous store (the sync form, the sync bridge)
    // resolves everything through microtasks and may block, so a whole suite could otherwise run
    // without a turn, and vitest's worker, which answers its runner only between turns, times out.
    await new Promise((resolve) => setImmediate(resolve));
    original = await options.create();
    storage = inForm(original);
    dir = `/${randomName()}`;
    await storage.mkdir(dir);
  });
  afterEach(async () => {
    if (original) await (options.destroy ? options.destroy(original) : original.close());
    original = storage = undefined;
  });
  const current = () => {
    if (!storage) throw new Error('the conformance context is only available inside a test');
    return storage;
  };
  return {
    options,
    declared,
    form,
    get storage() {
      return current();
    },
    get capabilities() {
      return current().capabilities;
    },
    get dir() {
      return dir;
    },
    path: (...names: string[]) => [dir, ...names].join('/'),
    async restart() {
      const closing = current();
      if (!options.reopen) throw new Error(`${options.name}: restart() needs the reopen option`);
      // Closed, the old object is no longer disposed of after the test; the reopened one is.
      await original!.close();
      original = storage = undefined;
      original = await options.reopen(closing);
      storage = inForm(original);
      return storage;
    },
  };
}

/**
 * Registers the whole conformance suite for a backend with vitest:
 *
 * ```ts
 * import { runConformance } from '@eryx/vfs-conformance';
 * import { myStorage } from 'my-backend';
 *
 * runConformance({ name: 'my-backend', create: () => myStorage() });
 * ```
 *
 * Runs every sub-suite in the async form and, when the store has a `sync` twin, again in the sync
 * form. Sub-suites listed in `skip` are left out; `probe` runs only with a probe, `shared` and `sharedFiles` only with
 * `reopen`; `persistence` and `atomicity` only for the claims the store makes (`persistence` with
 * `reopen`); the `limits` tests run for the limits the store declares. A first test, `kit report`,
 * says what was left out and which claims nothing verified (see {@link conformanceReport}); in
 * strict mode (`strict`, or `VFS_CONFORMANCE_STRICT=1`) it fails on those.
 */
export function runConformance(options: ConformanceOptions): void {
  // One store is made (and disposed of) before registration to learn what the backend declares, so
  // the registered tests match it: nothing is skipped at run time.
  describe(`${options.name} conformance`, async () => {
    const first = await options.create();
    const declared: Declared = {
      limits: first.limits ?? first.sync?.limits,
      sync: first.sync !== undefined,
      flush: typeof first.sync?.flush === 'function',
      readAtView: typeof first.sync?.readAtView === 'function',
      capabilities: { ...first.capabilities },
    };
    await (options.destroy ? options.destroy(first) : first.close());
    const report = conformanceReport(options, declared);
    const strict = isStrict(options);
    it(`kit report: ${report.summary}`, () => {
      const line = `[vfs-conformance] ${options.name}${strict ? ' (strict)' : ''}: ${report.summary}`;
      if (report.problems.length === 0) console.log(line);
      else console.warn(`${line}\n  ${report.problems.join('\n  ')}`);
      if (strict && report.problems.length > 0) {
        expect.fail(`strict mode: ${report.problems.join('; ')}`);
      }
    });
    for (const form of report.forms) registerForm(options, form, declared, report.run[form] ?? []);
  });
}

function registerForm(
  options: ConformanceOptions,
  form: 'async' | 'sync',
  declared: Declared,
  suites: readonly SuiteName[],
): void {
  describe(form, { timeout: options.timeout ?? 60_000 }, () => {
    const ctx = useConformanceContext(options, form, declared);
    if (form === 'sync') {
      it('the sync form answers synchronously', () => {
        const sync = ctx.storage.sync!;
        const result = sync.exists(ctx.dir) as unknown;
        expect(result, 'sync.exists of the test directory').toBe(true);
        expect(result instanceof Promise, 'sync.exists returned a Promise').toBe(false);
      });
    }
    for (const name of suites) SUITES[name](ctx);
    options.extraTests?.(ctx);
  });
}
