import {
  type Capabilities,
  createSyncStorage,
  resolveCapabilities,
  toAsync,
  type VfsStorage,
} from '@eryx/vfs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  conformanceReport,
  type Declared,
  expectSurvivesRestart,
  isStrict,
  ReferenceModel,
  runConformance,
  useConformanceContext,
} from '../src/index.js';

/** A Map-backed store (the reference model) that claims more than it keeps. */
class Claiming extends ReferenceModel {
  override readonly capabilities: ReferenceModel['capabilities'] & Partial<Capabilities>;
  constructor(claims: Partial<Capabilities>) {
    super();
    this.capabilities = { nativeAppend: true, atomicRename: true, atomicDirectoryRename: true, ...claims };
  }
}
const claiming = (claims: Partial<Capabilities>): VfsStorage =>
  toAsync(createSyncStorage(new Claiming(claims)));

const declaredOf = (storage: VfsStorage): Declared => ({
  limits: undefined,
  sync: storage.sync !== undefined,
  capabilities: storage.capabilities,
});
const problemsOf = (
  claims: Partial<Capabilities>,
  options: Parameters<typeof conformanceReport>[0] = { name: 'x' },
) => conformanceReport(options, declaredOf(claiming(claims))).problems;

describe('conformanceReport', () => {
  it('a Map-backed store claiming persistent, without reopen: persistent is unverified, strict fails', () => {
    const report = conformanceReport({ name: 'map' }, declaredOf(claiming({ persistent: true })));
    expect(report.unverified).toEqual([
      { capability: 'persistent', needs: 'the `persistence` sub-suite (give `reopen`)' },
    ]);
    expect(report.problems).toEqual([
      'claims persistent, but nothing verified it (needs the `persistence` sub-suite (give `reopen`))',
    ]);
    expect(report.skipped).toContainEqual({ suite: 'persistence', reason: 'no reopen', required: false });
    expect(report.summary).toMatch(/unverified claims: persistent$/);
  });

  it('claims that the suites verify leave nothing to report', () => {
    const report = conformanceReport({ name: 'model' }, declaredOf(claiming({})));
    expect(report.problems).toEqual([]);
    expect(report.verified).toEqual({
      nativeAppend: ['concurrency'],
      exclusiveCreate: ['concurrency'],
      atomicRename: ['atomicity'],
      atomicDirectoryRename: ['atomicity'],
      // The model stores links and hard links: their sub-suites, which always run, verify the claims.
      symlinks: ['links'],
      hardLinks: ['hardLinks'],
    });
    expect(report.run.async).toContain('atomicity');
    expect(report.run.sync).toContain('links');
    expect(report.run.sync).toContain('atomicity');
    expect(report.run.async).not.toContain('persistence');
  });

  it('with reopen, persistence and multiProcess are verified by their sub-suites', () => {
    const reopen = (s: VfsStorage) => s;
    const report = conformanceReport(
      { name: 'db', reopen },
      declaredOf(claiming({ persistent: true, multiProcess: true })),
    );
    expect(report.problems).toEqual([]);
    expect(report.verified).toMatchObject({
      persistent: ['persistence'],
      multiProcess: ['shared'],
      nativeAppend: ['shared'],
      exclusiveCreate: ['shared'],
    });
    expect(report.run.async).toEqual(expect.arrayContaining(['shared', 'persistence', 'atomicity']));
  });

  it('nativeIfFile: verified by sharedFiles across objects, or within one object by writeExtents', () => {
    // Declared directly: core reports nativeIfFile only for a driver with its own writeExtents.
    const declared = (claims: Partial<Capabilities>): Declared => ({
      limits: undefined,
      sync: true,
      capabilities: resolveCapabilities(claims),
    });
    const reopen = (s: VfsStorage) => s;
    const shared = conformanceReport(
      { name: 'db', reopen },
      declared({ nativeIfFile: true, multiProcess: true }),
    );
    expect(shared.verified.nativeIfFile).toEqual(['sharedFiles']);
    expect(shared.run.async).toContain('sharedFiles');
    const alone = conformanceReport({ name: 'map' }, declared({ nativeIfFile: true }));
    expect(alone.verified.nativeIfFile).toEqual(['writeExtents']);
    expect(
      conformanceReport({ name: 'db' }, declared({ nativeIfFile: true, multiProcess: true })).problems,
    ).toContain(
      'claims nativeIfFile, but nothing verified it (needs the `sharedFiles` sub-suite (give `reopen`))',
    );
  });

  it('multiProcess without reopen: the cross-object claims are unverified', () => {
    expect(problemsOf({ multiProcess: true })).toEqual([
      'claims nativeAppend, but nothing verified it (needs the `shared` sub-suite (give `reopen`))',
      'claims exclusiveCreate, but nothing verified it (needs the `shared` sub-suite (give `reopen`))',
      'claims multiProcess, but nothing verified it (needs the `shared` sub-suite (give `reopen`))',
    ]);
  });

  it('skipping a contract sub-suite or the sync form is a problem; skipping probe is not', () => {
    expect(problemsOf({}, { name: 'x', skip: ['probe'] })).toEqual([]);
    expect(problemsOf({}, { name: 'x', skip: ['rename'] })).toEqual(['rename was not run (skip)']);
    expect(problemsOf({}, { name: 'x', skip: ['atomicity', 'concurrency'] })).toEqual([
      'claims nativeAppend, but nothing verified it (needs the `shared` sub-suite (give `reopen`))',
      'claims exclusiveCreate, but nothing verified it (needs the `shared` sub-suite (give `reopen`))',
      'claims atomicRename, but nothing verified it (needs the `atomicity` sub-suite)',
      'claims atomicDirectoryRename, but nothing verified it (needs the `atomicity` sub-suite)',
      'concurrency was not run (skip)',
    ]);
    expect(problemsOf({}, { name: 'x', forms: ['async'] })).toEqual(['sync form was not run (forms)']);
  });

  it('sub-suites the store does not declare or claim are listed, not required', () => {
    const report = conformanceReport(
      { name: 'x' },
      declaredOf(claiming({ atomicRename: false, atomicDirectoryRename: false })),
    );
    expect(report.skipped).toEqual([
      { suite: 'readAtView', reason: 'not declared', required: false },
      { suite: 'shared', reason: 'no reopen', required: false },
      { suite: 'sharedFiles', reason: 'no reopen', required: false },
      { suite: 'persistence', reason: 'not claimed', required: false },
      { suite: 'atomicity', reason: 'not claimed', required: false },
      { suite: 'probe', reason: 'no probe', required: false },
      { suite: 'limits', reason: 'not declared', required: false },
      { suite: 'flush', reason: 'not declared', required: false },
    ]);
    expect(report.summary).toBe(
      'skipped readAtView, limits, flush (not declared); shared, sharedFiles (no reopen); persistence, atomicity (not claimed); probe (no probe) | unverified claims: none',
    );
  });

  describe('strict mode', () => {
    afterEach(() => vi.unstubAllEnvs());
    it('is the option, else VFS_CONFORMANCE_STRICT=1', () => {
      vi.stubEnv('VFS_CONFORMANCE_STRICT', '');
      expect(isStrict({})).toBe(false);
      expect(isStrict({ strict: true })).toBe(true);
      vi.stubEnv('VFS_CONFORMANCE_STRICT', '1');
      expect(isStrict({})).toBe(true);
      expect(isStrict({ strict: false })).toBe(false);
    });
  });
});

// The persistence check itself: a Map-backed store fails it whatever `reopen` returns; a store whose
// data outlives the storage object passes.
describe('expectSurvivesRestart', () => {
  describe('a Map-backed store reopened as a fresh store', () => {
    const ctx = useConformanceContext(
      {
        name: 'fresh',
        create: () => claiming({ persistent: true }),
        reopen: () => claiming({ persistent: true }),
      },
      'async',
    );
    it('fails, naming what is missing', async () => {
      await expect(expectSurvivesRestart(ctx)).rejects.toThrow(/after reopening/);
    });
  });

  describe('a Map-backed store reopened as the same, closed, object', () => {
    const ctx = useConformanceContext(
      { name: 'same', create: () => claiming({ persistent: true }), reopen: (s) => s },
      'async',
    );
    it('fails', async () => {
      await expect(expectSurvivesRestart(ctx)).rejects.toThrow();
    });
  });

  describe('a store whose data outlives its storage objects', () => {
    const kept = new Claiming({ persistent: true });
    const open = () => toAsync(createSyncStorage(kept));
    const ctx = useConformanceContext({ name: 'kept', create: open, reopen: open }, 'async');
    it('passes, and the reopened object is the store under test', async () => {
      const before = ctx.storage;
      await expectSurvivesRestart(ctx);
      expect(ctx.storage).not.toBe(before);
    });
  });
});

// In normal mode a store claiming what nothing verifies still passes, with a report saying so.
runConformance({
  name: 'claims persistent (Map-backed)',
  create: () => claiming({ persistent: true }),
  strict: false,
  skip: ['model', 'list', 'writeAt', 'setSize', 'badInput'],
});
