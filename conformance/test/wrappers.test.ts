import { limits, scrub, type VfsStorage } from '@eryx/vfs-core';
import { referenceStorage, runConformance } from '../src/index.js';

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
