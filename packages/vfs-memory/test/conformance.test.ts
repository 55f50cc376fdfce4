import { runConformance } from '@eryx/vfs-conformance';
import { memory } from '../src/index.js';

runConformance({ name: 'memory', create: () => memory({ maxBytes: 256 * 1024 * 1024 }) });
