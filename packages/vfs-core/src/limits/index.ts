export { type LimitsOptions, limits } from './limits.js';
