import { createSyncStorage, toAsync } from '@eryx/vfs-core';
import { describe } from 'vitest';
import {
  badInputSuite,
  linksSuite,
  nameLimitsSuite,
  ReferenceModel,
  referenceStorage,
  runConformance,
  useConformanceContext,
} from '../src/index.js';

// The kit tests itself: the reference model must pass every case it is compared against, and in
// strict mode, so every claim it makes is verified by a sub-suite that ran.
runConformance({ name: 'reference model', create: referenceStorage, strict: true });

// The model without links: what the kit asks of a store that declares none.
const noLinks = () => referenceStorage({ symlinks: false });
describe('reference model without links', () => {
  for (const form of ['async', 'sync'] as const) {
    describe(form, () => {
      const declared = { limits: undefined, sync: true, capabilities: { ...noLinks().capabilities } };
      const ctx = useConformanceContext(
        { name: 'reference model without links', create: noLinks },
        form,
        declared,
      );
      linksSuite(ctx);
      badInputSuite(ctx);
      nameLimitsSuite(ctx);
    });
  }
});

// A model kept across storage objects, claiming `persistent`: the links sub-suite's reopen test.
describe('reference model kept across storage objects', () => {
  const kept = new ReferenceModel();
  Object.assign(kept.capabilities, { persistent: true });
  const open = () => toAsync(createSyncStorage(kept));
  const declared = { limits: undefined, sync: true, capabilities: { ...open().capabilities } };
  const ctx = useConformanceContext({ name: 'kept', create: open, reopen: open }, 'async', declared);
  linksSuite(ctx);
});
