// Starts PostgreSQL once for the tests (VFS_POSTGRES_URL > testcontainers > embedded) and stops it.
export { postgresGlobalSetup as default } from '@eryx/test-servers';
