import {
  isVfsError,
  type MigrationReport,
  type StoreBackend,
  type StoreNamespaceInfo,
  type VfsStorage,
} from '@eryx/vfs-core';
import { createSyncBridge } from '@eryx/vfs-core/bridge';
import { describe, expect, it } from 'vitest';
import { expectError, randomName } from './util.js';

/** Options of {@link runStoreBackendConformance}. */
export interface StoreBackendConformanceOptions {
  /** Shown in test names. */
  name: string;
  /**
   * The backend under test, as users import it (from the built package: its `bridgeSpec` names a
   * module the sync bridge's worker loads).
   */
  backend: StoreBackend;
  /**
   * A store URL of this backend naming `namespace`, with `params` as query parameters (limits such
   * as `maxFiles`). Every call names a namespace of the same store (one file, database or bucket
   * prefix), so `namespaces` lists them together; two namespaces are two independent filesystems.
   */
  url(namespace: string, params?: Record<string, string>): string;
  /**
   * A URL naming `namespace` in a store that does not exist yet (a new database file, PostgreSQL
   * schema or bucket prefix), on which `migrate` has everything to do. Default: {@link url}, for
   * backends whose namespaces are stores of their own (S3, memory).
   */
  freshUrl?(namespace: string): string;
  /** A URL of another backend's scheme, which `open` must refuse. Default `'memory:'`. */
  foreignUrl?: string;
  /** Per-test timeout in milliseconds (default 60,000). */
  timeout?: number;
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** The names `namespaces` lists, after checking the shape of each entry. */
function namesOf(listed: StoreNamespaceInfo[], call: string): string[] {
  expect(Array.isArray(listed), `${call} returns an array`).toBe(true);
  for (const info of listed) {
    expect(
      typeof info.name === 'string' && info.name !== '',
      `${call}: a name (${JSON.stringify(info)})`,
    ).toBe(true);
    for (const count of [info.files, info.bytes]) {
      if (count !== undefined) {
        expect(Number.isSafeInteger(count) && count >= 0, `${call}: usage of ${info.name} is a count`).toBe(
          true,
        );
      }
    }
  }
  const names = listed.map((info) => info.name);
  expect(new Set(names).size, `${call}: each namespace once`).toBe(names.length);
  return names;
}

/** Checks what every {@link MigrationReport} says: versions, and steps exactly when behind. */
function checkReport(report: MigrationReport, call: string): void {
  expect(Number.isSafeInteger(report.to) && report.to >= 0, `${call}: to (${report.to})`).toBe(true);
  if (report.from !== null) {
    expect(
      Number.isSafeInteger(report.from) && report.from >= 0 && report.from <= report.to,
      `${call}: from (${report.from}) is a version up to ${report.to}`,
    ).toBe(true);
  }
  expect(
    report.steps.every((step) => typeof step === 'string' && step !== ''),
    `${call}: steps are descriptions`,
  ).toBe(true);
  expect(report.steps.length === 0, `${call}: no steps exactly when from === to`).toBe(
    report.from === report.to,
  );
}

/**
 * Registers the checks every {@link StoreBackend} passes: a URL opens its store (and a second open
 * of a persistent store sees what the first wrote), the URL's limits are enforced, `drop` empties
 * the namespace and only it, the sync bridge spec opens the same store in a worker, `namespaces`
 * lists what a persistent store holds (and no dropped namespace), `migrate` with `dryRun` changes
 * nothing and without it does what the dry run said, once; `gc`, when the backend has it, keeps
 * every file and reports its progress; and a URL of another scheme is `invalid-argument`.
 */
export function runStoreBackendConformance(options: StoreBackendConformanceOptions): void {
  const { backend } = options;
  const fresh = (params?: Record<string, string>) => options.url(randomName('ns'), params);
  const closeAll = async (...stores: VfsStorage[]) => {
    for (const store of stores) await store.close();
  };

  describe(`${options.name} store backend`, { timeout: options.timeout ?? 60_000 }, () => {
    it('opens the store a URL names; a persistent store shows a second open what the first wrote', async () => {
      const url = fresh();
      const first = await backend.open(url);
      await first.mkdir('/d');
      await first.write('/d/f', bytes('hello'));
      expect(text(await first.read('/d/f')), 'content of /d/f after a write through the first open').toBe(
        'hello',
      );
      const persistent = first.capabilities.persistent;
      await first.close();
      const second = await backend.open(url);
      if (persistent)
        expect(text(await second.read('/d/f')), 'content of /d/f in a second open').toBe('hello');
      else expect(await second.list('/'), 'entries of / in a second open of a store in memory').toEqual([]);
      await closeAll(second);
      await backend.drop(url);
    });

    it("enforces the URL's limits", async () => {
      const url = fresh({ maxFiles: '1', maxFileSize: '10' });
      const storage = await backend.open(url);
      const declared = storage.limits ?? storage.sync?.limits;
      expect(declared, 'limits the opened store declares').toMatchObject({ maxFiles: 1, maxFileSize: 10 });
      await expectError(() => storage.write('/big', new Uint8Array(11)), 'quota-exceeded');
      await storage.write('/a', bytes('1'));
      await expectError(() => storage.write('/b', bytes('2')), 'quota-exceeded');
      expect(
        (await storage.list('/')).map((e) => e.name),
        'entries of / after the refusals',
      ).toEqual(['a']);
      await closeAll(storage);
      await backend.drop(url);
    });

    it('drops the namespace a URL names, and only it; dropping again is not an error', async () => {
      const url = fresh();
      const sibling = fresh();
      for (const u of [url, sibling]) {
        const s = await backend.open(u);
        await s.write('/f', bytes(u === url ? 'dropped' : 'kept'));
        await s.close();
      }
      await backend.drop(url);
      const again = await backend.open(url);
      expect(await again.list('/'), 'entries of / after drop').toEqual([]);
      const kept = await backend.open(sibling);
      if (kept.capabilities.persistent) {
        expect(text(await kept.read('/f')), 'content of /f in a sibling namespace').toBe('kept');
      }
      await closeAll(again, kept);
      await backend.drop(url);
      await backend.drop(sibling);
    });

    it('gives a sync bridge spec that opens the same store in a worker', async () => {
      const url = fresh({ maxFiles: '2' });
      const spec = backend.bridgeSpec(url);
      expect(structuredClone(spec), 'the spec as it crosses to the worker').toEqual(spec);
      const bridge = createSyncBridge(spec);
      let persistent: boolean;
      try {
        persistent = bridge.capabilities.persistent;
        bridge.mkdir('/d');
        bridge.write('/d/f', bytes('through the bridge'));
        bridge.write('/d/g', bytes('2'));
        expect(() => bridge.write('/d/h', bytes('3')), 'a third file through the bridge').toThrow(
          expect.objectContaining({ code: 'quota-exceeded' }),
        );
        expect(text(bridge.read('/d/f')), 'content of /d/f through the bridge').toBe('through the bridge');
      } finally {
        bridge.close();
      }
      if (persistent) {
        const direct = await backend.open(url);
        expect(text(await direct.read('/d/f')), 'content of /d/f opened directly').toBe('through the bridge');
        await closeAll(direct);
      }
      await backend.drop(url);
    });

    it("lists the store's namespaces, whatever the URL's own; a dropped one is not listed", async () => {
      const [a, b] = [randomName('ns'), randomName('ns')];
      const [urlA, urlB] = [options.url(a), options.url(b)];
      let persistent = false;
      for (const [url, content] of [
        [urlA, 'hello'],
        [urlB, 'hi'],
      ] as const) {
        const storage = await backend.open(url);
        persistent = storage.capabilities.persistent;
        await storage.mkdir('/d');
        await storage.write('/d/f', bytes(content));
        await storage.close();
      }
      const listed = await backend.namespaces(urlA);
      const names = namesOf(listed, 'namespaces() after writing two namespaces');
      if (persistent) {
        expect(names, 'namespaces() of a persistent store').toEqual(expect.arrayContaining([a, b]));
        const [first, second] = a < b ? [a, b] : [b, a];
        expect(names.indexOf(first) < names.indexOf(second), 'namespaces() sorted by name').toBe(true);
        // Usage, where the backend reports it: one file (the directory does not count) of 5 bytes,
        // and the names `d` and `f` (names count in bytes, see StorageLimits).
        const usage = listed.find((info) => info.name === a)!;
        if (usage.files !== undefined) expect(usage.files, `files of ${a}`).toBe(1);
        if (usage.bytes !== undefined) expect(usage.bytes, `bytes of ${a}`).toBe(7);
      }
      await backend.drop(urlA);
      const after = namesOf(await backend.namespaces(urlB), 'namespaces() after a drop');
      expect(after, 'namespaces() after dropping one').not.toContain(a);
      if (persistent) expect(after, 'namespaces() after dropping another').toContain(b);
      await backend.drop(urlB);
      expect(
        namesOf(await backend.namespaces(urlA), 'namespaces() after both drops'),
        'namespaces() after dropping both',
      ).not.toContain(b);
    });

    it('migrates a new store as its dry run said, once; the dry run changes nothing', async () => {
      const namespace = randomName('ns');
      const url = options.freshUrl?.(namespace) ?? options.url(namespace);
      const dry = await backend.migrate(url, { dryRun: true });
      checkReport(dry, 'migrate(dryRun) of a new store');
      expect(dry.applied, 'applied by a dry run').toBe(false);
      expect(
        await backend.migrate(url, { dryRun: true }),
        'a second dry run (the first changed nothing)',
      ).toEqual(dry);
      let listed: StoreNamespaceInfo[] = [];
      try {
        listed = await backend.namespaces(url);
      } catch (error) {
        // A store that does not exist yet may be not-found; the dry run must not have created it.
        if (!isVfsError(error, 'not-found')) throw error;
      }
      expect(namesOf(listed, 'namespaces() after a dry run'), 'namespaces() after a dry run').not.toContain(
        namespace,
      );
      const real = await backend.migrate(url);
      expect(real, 'migrate() does what its dry run said').toEqual({ ...dry, applied: dry.steps.length > 0 });
      const current = { from: real.to, to: real.to, steps: [], applied: false };
      expect(await backend.migrate(url, { dryRun: true }), 'migrate(dryRun) after migrating').toEqual(
        current,
      );
      expect(await backend.migrate(url), 'migrate() again').toEqual(current);
      const storage = await backend.open(url);
      await storage.write('/f', bytes('migrated'));
      expect(text(await storage.read('/f')), 'content of /f in the migrated store').toBe('migrated');
      await closeAll(storage);
      await backend.drop(url);
    });

    it('leaves a current store alone: from === to, no steps, nothing applied', async () => {
      const url = fresh();
      const storage = await backend.open(url);
      await storage.write('/f', bytes('kept'));
      await storage.close();
      for (const dryRun of [true, false]) {
        const report = await backend.migrate(url, { dryRun });
        checkReport(report, `migrate({ dryRun: ${dryRun} }) of a current store`);
        expect(report, `migrate({ dryRun: ${dryRun} }) of a current store`).toMatchObject({
          from: report.to,
          steps: [],
          applied: false,
        });
      }
      const again = await backend.open(url);
      if (again.capabilities.persistent) {
        expect(text(await again.read('/f')), 'content of /f after migrate').toBe('kept');
      }
      await closeAll(again);
      await backend.drop(url);
    });

    if (backend.gc) {
      const gc = backend.gc.bind(backend);
      it('gc keeps every file and reports progress ending at its totals', async () => {
        const url = fresh();
        const storage = await backend.open(url);
        await storage.mkdir('/d');
        await storage.write('/d/f', bytes('kept'));
        await storage.write('/d/g', bytes('replaced'));
        await storage.write('/d/g', bytes('replacement'));
        await storage.delete('/d/f');
        await storage.write('/d/f', bytes('written again'));
        await storage.close();
        const seen: { examined: number; deleted: number; bytes: number }[] = [];
        const result = await gc(url, { minAgeMs: 0, onProgress: (p) => seen.push({ ...p }) });
        for (const count of [result.examined, result.deleted, result.bytes]) {
          expect(Number.isSafeInteger(count) && count >= 0, 'gc result counts').toBe(true);
        }
        expect(result.examined, 'objects gc examined in a store with files').toBeGreaterThan(0);
        expect(seen.length, 'progress reports').toBeGreaterThan(0);
        expect(seen.at(-1), 'the last progress report: the totals').toMatchObject({
          examined: result.examined,
          deleted: result.deleted,
          bytes: result.bytes,
        });
        const after = await backend.open(url);
        expect(text(await after.read('/d/f')), 'content of /d/f after gc').toBe('written again');
        expect(text(await after.read('/d/g')), 'content of /d/g after gc').toBe('replacement');
        await closeAll(after);
        await backend.drop(url);
        // A URL naming no store: not-found, and gc does not create it.
        const missing = randomName('ns');
        await expectError(
          () => gc(options.url(missing), { minAgeMs: 0 }),
          'not-found',
          'gc of a missing store',
        );
        expect(
          namesOf(await backend.namespaces(options.url(missing)), 'namespaces() after gc'),
          'namespaces() after gc of a missing store',
        ).not.toContain(missing);
      });
    }

    it('refuses a URL of another scheme, or a malformed one, with invalid-argument', async () => {
      for (const bad of [options.foreignUrl ?? 'memory:', 'nonsense', 'ftp://host/x']) {
        let error: unknown;
        try {
          await backend.open(bad);
        } catch (caught) {
          error = caught;
        }
        expect(
          isVfsError(error, 'invalid-argument'),
          `open(${JSON.stringify(bad)}) fails with invalid-argument`,
        ).toBe(true);
      }
    });
  });
}
