export {
  createWasiHost,
  WasiExit,
  type WasiHost,
  type WasiHostOptions,
  type WasiImports,
  type WasiMount,
  type WasiMountSource,
} from './host.js';
export type { CapturedOutput, WasiStdinSource } from './stdio.js';
