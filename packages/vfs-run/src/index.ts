export {
  type ComponentSource,
  defaultCacheDir,
  type PreparedComponent,
  type PrepareOptions,
  prepareComponent,
  prestart,
} from './component.js';
export type { RunMount, RunMountSource } from './mounts.js';
export { type RunOptions, type RunResult, type RunStatus, run, type UnstoredFile } from './run.js';
