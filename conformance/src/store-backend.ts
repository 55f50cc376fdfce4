import { isVfsError, type StoreBackend, type VfsStorage } from '@eryx/vfs-core';
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
   * as `maxFiles`). Two namespaces are two independent stores.
   */
  url(namespace: string, params?: Record<string, string>): string;
  /** A URL of another backend's scheme, which `open` must refuse. Default `'memory:'`. */
  foreignUrl?: string;
  /** Per-test timeout in milliseconds (default 60,000). */
  timeout?: number;
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * Registers the checks every {@link StoreBackend} passes: a URL opens its store (and a second open
 * of a persistent store sees what the first wrote), the URL's limits are enforced, `drop` empties
 * the namespace and only it, the sync bridge spec opens the same store in a worker, and a URL of
 * another scheme is `invalid-argument`.
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
