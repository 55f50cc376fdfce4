import {
  createSyncStorage,
  type FlushOptions,
  limits,
  STORAGE_OPERATIONS,
  type TraceEvent,
  toAsync,
  trace,
  type VfsStorage,
} from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import { type ConformanceOptions, ReferenceModel, referenceStorage, runConformance } from '../src/index.js';

// `trace` changes nothing but reports: the whole kit passes through it in both forms, and every call
// the kit makes (through either form, bad input and failures included) is reported exactly once.

type Invoke = (...args: unknown[]) => unknown;

const MiB = 1024 * 1024;
const LIMITS = { maxBytes: 32 * MiB, maxFiles: 3000, maxFileSize: 8 * MiB, maxPathLength: 1024 };

/** One line per call or event: the operation and the paths as the caller passed them. */
const describeCall = (op: string, path: unknown, to?: unknown) =>
  `${op} ${String(path)}${to === undefined ? '' : ` -> ${String(to)}`}`;

/**
 * Counts, outside the traced store, the calls made on it (and on its sync twin): what the events
 * must match one for one.
 */
function counted<S extends object>(storage: S, calls: string[]): S {
  const inner = storage as Record<string, unknown>;
  const out: Record<string, unknown> = { ...inner };
  for (const op of STORAGE_OPERATIONS) {
    const fn = inner[op] as Invoke;
    out[op] = (...args: unknown[]) => {
      calls.push(describeCall(op, args[0], op === 'rename' || op === 'link' ? args[1] : undefined));
      return fn(...args);
    };
  }
  if (typeof inner.readAtView === 'function') {
    const view = inner.readAtView as Invoke;
    out.readAtView = (...args: unknown[]) => {
      calls.push(describeCall('readAt', args[0]));
      return view(...args);
    };
  }
  if (inner.sync) out.sync = counted(inner.sync as object, calls);
  return out as S;
}

const tallies = new WeakMap<VfsStorage, { calls: string[]; events: string[] }>();

/** `runConformance` options for `trace(make())`, checking after each test: one event per call. */
function traced(
  name: string,
  make: () => VfsStorage,
  forms?: ConformanceOptions['forms'],
): ConformanceOptions {
  return {
    name,
    forms,
    create() {
      const calls: string[] = [];
      const events: string[] = [];
      const onCall = (e: TraceEvent) => {
        events.push(describeCall(e.operation, e.path, e.to));
      };
      const storage = counted(trace(make(), { onCall }), calls);
      tallies.set(storage, { calls, events });
      return storage;
    },
    async destroy(storage) {
      await storage.close();
      const tally = tallies.get(storage)!;
      // Async calls report when they settle: the same calls, not necessarily in call order.
      expect(tally.events.length, 'events, one per storage call').toBe(tally.calls.length);
      expect([...tally.events].sort()).toEqual([...tally.calls].sort());
    },
  };
}

/** The reference model with the optional sync members: `flush` and `readAtView`. */
function withExtras(): VfsStorage {
  const model = new ReferenceModel();
  const driver = Object.assign(model, {
    flush: (_path?: string, _options?: FlushOptions) => {},
    readAtView: (path: string, offset: number, length: number) => model.readAt(path, offset, length),
  });
  return toAsync(createSyncStorage(driver));
}

runConformance(traced('trace(reference)', () => referenceStorage()));
runConformance(
  traced('trace(async-only reference)', () => ({ ...referenceStorage(), sync: undefined }), ['async']),
);
runConformance(traced('trace(reference with flush and readAtView)', withExtras, ['sync']));
runConformance(traced('trace(limits(reference))', () => limits(referenceStorage(), LIMITS)));

describe('the call counter', () => {
  it('counts calls through both forms, as trace reports them', async () => {
    const calls: string[] = [];
    const events: string[] = [];
    const storage = counted(
      trace(referenceStorage(), { onCall: (e) => events.push(describeCall(e.operation, e.path, e.to)) }),
      calls,
    );
    await storage.mkdir('/a');
    storage.sync!.write('/a/f', new Uint8Array(1));
    await storage.rename('/a/f', '/a/g').catch(() => undefined);
    await storage.read('x').catch(() => undefined);
    expect(calls).toEqual(['mkdir /a', 'write /a/f', 'rename /a/f -> /a/g', 'read x']);
    expect(events).toEqual(calls);
  });
});
