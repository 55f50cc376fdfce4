import { runConformance } from '@eryx/vfs-conformance';
import { memory } from '../src/index.js';

runConformance({ name: 'memory', create: () => memory({ maxBytes: 256 * 1024 * 1024 }) });

// The same kit with a tight limit: the limits sub-suite exceeds it in every way.
runConformance({ name: 'memory (16 MiB limit)', create: () => memory({ maxBytes: 16 * 1024 * 1024 }) });
