import { toAsync, type VfsStorage } from '@eryx/vfs-core';
import type { SyncBridgeOptions } from '@eryx/vfs-core/bridge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConformanceOptions, Declared, SuiteContext, SuiteName } from './context.js';
import {
  appendSuite,
  createSuite,
  readAtViewSuite,
  readSuite,
  setSizeSuite,
  writeAtSuite,
} from './suites/data.js';
import { flushSuite } from './suites/flush.js';
import { limitsSuite } from './suites/limits.js';
import { propertySuite } from './suites/property.js';
import { badInputSuite, chaosSuite, concurrencySuite, probeSuite, sharedSuite } from './suites/robustness.js';
import { directorySuite, listSuite, metadataSuite, renameSuite } from './suites/tree.js';
import { randomName } from './util.js';

export { type ChaosOptions, chaos } from './chaos.js';
export type { ConformanceOptions, ConformanceProbe, Declared, SuiteContext, SuiteName } from './context.js';
export { ReferenceModel, referenceStorage } from './model.js';
// Every sub-suite on its own, to compose a selection (the suite modules export nothing else).
export * from './suites/data.js';
export * from './suites/flush.js';
export * from './suites/limits.js';
export * from './suites/property.js';
export * from './suites/robustness.js';
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
  append: appendSuite,
  create: createSuite,
  setSize: setSizeSuite,
  metadata: metadataSuite,
  list: listSuite,
  directories: directorySuite,
  rename: renameSuite,
  badInput: badInputSuite,
  concurrency: concurrencySuite,
  shared: sharedSuite,
  chaos: chaosSuite,
  probe: probeSuite,
  model: propertySuite,
  limits: limitsSuite,
  flush: flushSuite,
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
  beforeEach(async () => {
    original = await options.create();
    if (form === 'sync') {
      if (!original.sync) {
        throw new Error(
          `${options.name}: the store has no sync twin; pass forms: ['async'] to runConformance to test only the async form`,
        );
      }
      storage = toAsync(original.sync);
    } else {
      storage = original;
    }
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
 * form. Sub-suites listed in `skip` are left out; `probe` runs only with a probe, `shared` only with
 * `reopen`; the `limits` tests run for the limits the store declares.
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
    };
    await (options.destroy ? options.destroy(first) : first.close());
    const forms = options.forms ?? (declared.sync ? ['async', 'sync'] : ['async']);
    for (const form of forms) registerForm(options, form, declared);
  });
}

function registerForm(options: ConformanceOptions, form: 'async' | 'sync', declared: Declared): void {
  describe(form, { timeout: options.timeout ?? 60_000 }, () => {
    const ctx = useConformanceContext(options, form, declared);
    if (form === 'sync') {
      it('the sync form answers synchronously', () => {
        const sync = ctx.storage.sync!;
        const result = sync.exists(ctx.dir) as unknown;
        expect(result).toBe(true);
        expect(result instanceof Promise).toBe(false);
      });
    }
    for (const [name, suite] of Object.entries(SUITES) as [SuiteName, (c: SuiteContext) => void][]) {
      if (options.skip?.includes(name)) continue;
      if (name === 'probe' && !options.probe) continue;
      if (name === 'shared' && !options.reopen) continue;
      suite(ctx);
    }
    options.extraTests?.(ctx);
  });
}
