import { runConformance } from '@eryx/vfs-conformance';
import { mapStorage } from '../src/map-storage.js';

// The whole kit, strictly: a capability the backend claims but no sub-suite verified fails too.
runConformance({ name: 'map-storage', create: mapStorage, strict: true });
