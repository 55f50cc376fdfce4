import { limits, scrub } from '@eryx/vfs-core';
import { referenceStorage, runConformance } from '../src/index.js';

const SECRETS = ['sk-live-PLACEHOLDER-0001', '{{DB_PASSWORD}}', '%API_KEY%'];
const MiB = 1024 * 1024;
const LIMITS = { maxBytes: 64 * MiB, maxFiles: 3000, maxFileSize: 16 * MiB, maxPathLength: 1024 };

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
