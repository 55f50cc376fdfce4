export {
  DEFAULT_CHUNK_SIZE,
  migrate,
  type NamespaceInfo,
  type PostgresConnectionOptions,
  type PostgresOptions,
  type PostgresStorage,
  postgres,
} from './postgres.js';
export { SCHEMA_VERSION } from './schema.js';
export * from './url.js';
