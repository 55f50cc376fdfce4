import { referenceStorage, runConformance } from '../src/index.js';

// The kit tests itself: the reference model must pass every case it is compared against, and in
// strict mode, so every claim it makes is verified by a sub-suite that ran.
runConformance({ name: 'reference model', create: referenceStorage, strict: true });
