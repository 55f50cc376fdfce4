import { createHash } from 'node:crypto';
import { isVfsError, type VfsStorage } from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import { randomName } from './util.js';

/**
 * Injects a network fault between a storage object and its store: `@eryx/test-servers`'
 * `startFaultProxy` fits, or anything that makes the `request`-th request from now fail.
 */
export interface FaultInjector {
  /**
   * Makes the `request`-th request from now fail: `before` it reaches the store, or `after` the
   * store did the work (the caller never hears the answer). `count` consecutive requests fail
   * (clients retry).
   */
  fail(spec: { mode: 'reset'; request: number; when: 'before' | 'after'; count?: number }): void;
  /** Disarms the fault. */
  heal(): void;
  /** How many requests a fault hit so far. */
  readonly stats: { faults: number };
}

/** Options of {@link runFaultConformance}. */
export interface FaultConformanceOptions {
  /** Shown in test names. */
  name: string;
  /**
   * Opens a fresh namespace `namespace` twice on one store: `faulty` reaches the store through the
   * injector (and should not retry a failed request, so that a fault surfaces), `direct` does not
   * and tells what the store holds.
   */
  open(namespace: string): Promise<{ faulty: VfsStorage; direct(): Promise<VfsStorage> }>;
  faults: FaultInjector;
  /**
   * The store declares hard links: the sweep also fails `link`, a write through a second name and
   * the deletion of one of two names (default `false`).
   */
  hardLinks?: boolean;
  /** Highest request index tried per operation (default 24). */
  maxRequests?: number;
  /** Per-test timeout in milliseconds (default 300,000). */
  timeout?: number;
}

const enc = (s: string) => new TextEncoder().encode(s);
const big = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 7 + seed) % 253);

/** The operations the sweep fails, each on the tree {@link seed} made. */
const OPERATIONS: Record<string, (s: VfsStorage) => Promise<unknown>> = {
  'write over a file': (s) => s.write('/d/f', enc('new content')),
  'write of a new file': (s) => s.write('/d/n', enc('fresh')),
  'write of a large file': (s) => s.write('/d/f', big(300_000, 3)),
  writeAt: (s) => s.writeAt('/d/f', 2, enc('XY')),
  'writeAt into a large file': (s) => s.writeAt('/d/l', 150_000, big(70_000, 5)),
  append: (s) => s.append('/d/f', enc('+tail')),
  'append to a large file': (s) => s.append('/d/l', big(10_000, 9)),
  setSize: (s) => s.setSize('/d/l', 1_000),
  create: (s) => s.create('/d/c'),
  mkdir: (s) => s.mkdir('/d/m'),
  rmdir: (s) => s.rmdir('/e'),
  delete: (s) => s.delete('/d/f'),
  'rename of a file over a file': (s) => s.rename('/d/f', '/d/l'),
  'rename of a directory': (s) => s.rename('/d', '/moved'),
  setTimes: (s) => s.setTimes('/d/f', { modified: 1_000_000 }),
};

/**
 * The same for hard links, on a store that declares them: {@link seed} then gave the large file a
 * second name, `/d/k`.
 */
const LINK_OPERATIONS: Record<string, (s: VfsStorage) => Promise<unknown>> = {
  link: (s) => s.link('/d/f', '/d/h'),
  'writeAt through a second name': (s) => s.writeAt('/d/k', 150_000, big(70_000, 11)),
  'delete of one of two names': (s) => s.delete('/d/l'),
};

async function seed(s: VfsStorage): Promise<void> {
  await s.mkdir('/d');
  await s.mkdir('/e');
  await s.write('/d/f', enc('old content'));
  await s.write('/d/l', big(200_000, 1));
  if (s.capabilities.hardLinks) await s.link('/d/l', '/d/k');
  // Warm every cache the storage object keeps: listings, entries, blocks.
  await s.list('/');
  await s.list('/d');
  await s.read('/d/f');
  await s.read('/d/l');
}

interface Seen {
  kind: string;
  size: number;
  links?: number;
  digest?: string;
}

/** Everything under `/` as one storage object sees it. */
async function view(s: VfsStorage): Promise<Record<string, Seen>> {
  const seen: Record<string, Seen> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await s.list(dir)) {
      const path = dir === '/' ? `/${entry.name}` : `${dir}/${entry.name}`;
      const meta = await s.stat(path);
      if (meta.kind === 'directory') {
        seen[path] = { kind: 'directory', size: 0 };
        await walk(path);
      } else {
        const data = await s.read(path);
        seen[path] = {
          kind: 'file',
          size: meta.size,
          // Whether every name of a file is counted, a failure or not.
          ...(meta.linkCount === undefined ? {} : { links: meta.linkCount }),
          digest: `${data.length}:${createHash('sha256').update(data).digest('hex').slice(0, 16)}`,
        };
      }
    }
  };
  await walk('/');
  return seen;
}

/**
 * Registers the network-fault sweep: for each mutating operation, and each request it makes, the
 * request fails (before the store sees it, and after the store did the work); then the storage
 * object that saw the failure must agree with a fresh one on everything it lists, stats and reads,
 * and keep agreeing after a follow-up write. "I do not know" must never turn into "absent", and
 * a cached view must never outlive the failure that made it wrong.
 */
export function runFaultConformance(options: FaultConformanceOptions): void {
  const maxRequests = options.maxRequests ?? 24;
  const { faults } = options;

  describe(`${options.name} under network faults`, { timeout: options.timeout ?? 300_000 }, () => {
    const operations = { ...OPERATIONS, ...(options.hardLinks ? LINK_OPERATIONS : {}) };
    for (const [label, operation] of Object.entries(operations)) {
      for (const when of ['before', 'after'] as const) {
        it(`${label}: a request failing ${when} the store acts leaves the storage object consistent`, async () => {
          for (let request = 1; request <= maxRequests; request++) {
            const { faulty, direct } = await options.open(randomName('faults'));
            try {
              await seed(faulty);
              const struck = faults.stats.faults;
              faults.fail({ mode: 'reset', request, when });
              let failure: unknown;
              try {
                await operation(faulty);
              } catch (error) {
                failure = error;
              } finally {
                faults.heal();
              }
              const hit = faults.stats.faults > struck;
              if (failure !== undefined && !hit) throw failure;
              if (failure !== undefined) {
                expect(isVfsError(failure), `${label} fails with a VfsError: ${String(failure)}`).toBe(true);
              }
              const at = `${label}, request ${request} failing ${when}`;
              // A new storage object each time: one that has looked caches what it saw.
              const truth = async () => {
                const fresh = await direct();
                try {
                  return await view(fresh);
                } finally {
                  await fresh.close();
                }
              };
              expect(await view(faulty), `${at}: what the storage object sees`).toEqual(await truth());
              // The next write through the same object lands on what the store holds.
              const target = (await faulty.exists('/d')) ? '/d/after' : '/after';
              await faulty.write(target, enc('after'));
              const offset = await faulty.append(target, enc('!'));
              expect(offset, `${at}: offset of an append after the failure`).toBe(5);
              expect(await view(faulty), `${at}: after a follow-up write`).toEqual(await truth());
              if (!hit) return; // the operation made fewer requests: every one of them was tried
            } finally {
              faults.heal();
              await faulty.close();
            }
          }
          throw new Error(`${label} still made requests past ${maxRequests}: raise maxRequests`);
        });
      }
    }
  });
}
