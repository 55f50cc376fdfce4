// PostgreSQL and S3 once for the whole run; the test workers (and the processes they spawn) find
// them through VFS_POSTGRES_URL / VFS_S3_* (postgresStoreUrl, s3StoreUrl).
export { serversGlobalSetup as default } from '@eryx/test-servers';
