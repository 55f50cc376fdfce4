import { runConformance } from '@eryx/vfs-conformance';
import { myStorage } from './my-storage.js';

runConformance({ name: 'my-storage', create: () => myStorage(), destroy: (s) => s.close() });
