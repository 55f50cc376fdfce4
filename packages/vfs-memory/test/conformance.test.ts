import { runConformance } from '@eryx/vfs-conformance';
import { memory } from '../src/index.js';

// No `reopen`: a memory store lives in one storage object, so no second object can share it; the
// kit report lists `shared` and `sharedFiles` as left out (the `ifFile` checks run in `writeExtents`).
runConformance({ name: 'memory', create: () => memory({ maxBytes: 256 * 1024 * 1024 }) });

// The same kit with a tight limit: the limits sub-suite exceeds it in every way.
runConformance({ name: 'memory (16 MiB limit)', create: () => memory({ maxBytes: 16 * 1024 * 1024 }) });
