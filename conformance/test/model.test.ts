import { referenceStorage, runConformance } from '../src/index.js';

// The kit tests itself: the reference model must pass every case it is compared against.
runConformance({ name: 'reference model', create: referenceStorage });
