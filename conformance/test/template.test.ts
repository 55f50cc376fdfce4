import { runConformance } from '../src/index.js';
import { myStorage } from './template-storage.js';

// The README's backend template (copied verbatim, checked by readme.test.ts) passes the kit strictly.
runConformance({ name: 'README backend template', create: myStorage, strict: true });
