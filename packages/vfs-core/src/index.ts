export * from './bridge/index.js';
export * from './chunks.js';
export * from './errors.js';
export * from './path.js';
export * from './semantics.js';
export { checkData, checkOffset, createStorage, createSyncStorage, toAsync } from './storage.js';
export * from './types.js';
export * from './wasi/index.js';
