export * from './dist.js';
export * from './fault-proxy.js';
export * from './global-setup.js';
export * from './postgres.js';
export * from './s3.js';
export type { StoreUrlParams } from './store-url.js';
