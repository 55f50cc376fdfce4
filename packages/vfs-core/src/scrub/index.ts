export { globMatcher, globToRegExp, matchGlob } from './glob.js';
export { type ScrubOptions, type ScrubPolicy, scrub } from './scrub.js';
export { compileSecrets, maskFor, type SecretSet, scrubBytes } from './secrets.js';
