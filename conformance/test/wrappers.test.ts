import {
  createSyncStorage,
  type FlushOptions,
  limits,
  scrub,
  toAsync,
  type VfsStorage,
} from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import { ReferenceModel, referenceStorage, runConformance } from '../src/index.js';

const SECRETS = ['sk-live-PLACEHOLDER-0001', '{{DB_PASSWORD}}', '%API_KEY%'];
const MiB = 1024 * 1024;
/** The reference model without its sync twin: the wrappers' async-only path (serialized by a queue). */
const asyncOnly = (): VfsStorage => ({ ...referenceStorage(), sync: undefined });

const LIMITS = { maxBytes: 32 * MiB, maxFiles: 3000, maxFileSize: 8 * MiB, maxPathLength: 1024 };

// Both wrappers implement the contract they wrap: the whole kit passes through each and through
// their composition, in both forms.
runConformance({ name: 'scrub(reference)', create: () => scrub(referenceStorage(), { secrets: SECRETS }) });
runConformance({
  name: 'scrub(reference, only globs)',
  create: () => scrub(referenceStorage(), { secrets: SECRETS, policy: { only: ['**/*.log', '**/a'] } }),
  forms: ['async'],
});
runConformance({ name: 'limits(reference)', create: () => limits(referenceStorage(), LIMITS) });
runConformance({
  name: 'limits(scrub(reference))',
  create: () => limits(scrub(referenceStorage(), { secrets: SECRETS }), LIMITS),
});
runConformance({
  name: 'limits(scrub(async-only reference))',
  create: () => limits(scrub(asyncOnly(), { secrets: SECRETS }), LIMITS),
  forms: ['async'],
});
runConformance({
  name: 'scrub(limits(async-only reference), except globs)',
  create: () => scrub(limits(asyncOnly(), LIMITS), { secrets: SECRETS, policy: { except: ['**/b/**'] } }),
  forms: ['async'],
});

/** The reference model with the optional sync members too: `flush` (recorded) and `readAtView`. */
function withExtras(flushes: unknown[][] = []): VfsStorage {
  const model = new ReferenceModel();
  const driver = Object.assign(model, {
    flush: (path?: string, options?: FlushOptions) => {
      flushes.push([path, options]);
    },
    readAtView: (path: string, offset: number, length: number) => model.readAt(path, offset, length),
  });
  return toAsync(createSyncStorage(driver));
}

// Wrappers pass flush and readAtView on: the kit's flush and readAtView sub-suites run through them.
runConformance({
  name: 'limits(scrub(reference with flush and readAtView))',
  create: () => limits(scrub(withExtras(), { secrets: SECRETS }), LIMITS),
  forms: ['sync'],
});

describe('wrappers and the optional sync members', () => {
  it('pass flush on with its path and options, and readAtView when the inner storage has them', () => {
    const flushes: unknown[][] = [];
    const wrapped = limits(scrub(withExtras(flushes), { secrets: SECRETS }), LIMITS).sync!;
    wrapped.flush!('/a/./b', { durable: true });
    wrapped.flush!();
    expect(flushes).toEqual([
      ['/a/b', { durable: true }],
      [undefined, { durable: false }],
    ]);
    wrapped.write('/f', new TextEncoder().encode('x sk-live-PLACEHOLDER-0001'));
    expect(new TextDecoder().decode(wrapped.readAtView!('/f', 0, 100))).toBe(
      `x ${'[REDACTED]'.padEnd(24, '*')}`,
    );
  });

  it('leave them out when the inner storage has none', () => {
    const wrapped = limits(scrub(referenceStorage(), { secrets: SECRETS }), LIMITS).sync!;
    expect(wrapped.flush).toBeUndefined();
    expect(wrapped.readAtView).toBeUndefined();
  });
});
