export * from './chunks.js';
export * from './errors.js';
export * from './limits/index.js';
export * from './locks.js';
export { DEFAULT_MAX_NAME_LENGTH, DEFAULT_MAX_PATH_LENGTH } from './names.js';
export * from './operations.js';
export * from './path.js';
export { readOnly } from './read-only.js';
export * from './router/index.js';
export * from './scrub/index.js';
export * from './semantics.js';
export {
  checkData,
  checkOffset,
  createStorage,
  createSyncStorage,
  isUint8Array,
  MAX_LINK_TARGET,
  toAsync,
} from './storage.js';
export * from './store-url.js';
export { exactNs, isStorableNs, msAtOrBefore, msToNs, nsToMs, storedTime, timeNs } from './time.js';
export { formatTraceEvent, type TraceEvent, type TraceOptions, trace } from './trace.js';
export * from './types.js';
export { call, type Plan, type Step, type WrapperPlans, type WrapperSpec, wrapStorage } from './wrap.js';
