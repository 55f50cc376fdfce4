export { translateError } from './errors.js';
export {
  checkSchema,
  dropNamespace,
  listNamespaces,
  migrate,
  SCHEMA_VERSION,
  schemaVersion,
} from './schema.js';
export {
  DEFAULT_CHUNK_SIZE,
  type NamespaceInfo,
  type SqliteOptions,
  type SqliteStorage,
  type SqliteSyncStorage,
  sqlite,
} from './sqlite.js';
export * from './url.js';
