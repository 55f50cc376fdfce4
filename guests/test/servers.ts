// PostgreSQL and S3 for the bridge-backed guest tests; the test workers find them through
// VFS_POSTGRES_URL / VFS_S3_* (postgresStoreUrl, s3StoreUrl).
export { serversGlobalSetup as default } from '@eryx/test-servers';
