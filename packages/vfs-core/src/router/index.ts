export { type HostDirectoryOptions, type HostDirectoryStorage, hostDirectory } from './host-directory.js';
export { type RestrictedFilesOptions, type RestrictedFilesStorage, restrictedFiles } from './restricted.js';
