export {
  createWasiHost,
  WasiExit,
  type WasiHost,
  type WasiHostOptions,
  type WasiImports,
  type WasiMount,
  type WasiMountSource,
} from './host.js';
export {
  ORPHANS_DIRECTORY,
  type SweepOrphansOptions,
  type SweepOrphansResult,
  sweepOrphans,
} from './orphans.js';
export type { CapturedOutput, WasiStdinSource } from './stdio.js';
