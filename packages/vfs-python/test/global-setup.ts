import { startPostgres, startS3 } from '@eryx/test-servers';

/**
 * vitest globalSetup: PostgreSQL and S3 for the runs over bridged store URLs (an explicit
 * `VFS_POSTGRES_URL` / `VFS_S3_ENDPOINT` wins, then testcontainers, then the embedded servers). The
 * test workers find them through the same environment variables (`postgresStoreUrl`, `s3StoreUrl`).
 */
export default async function servers(): Promise<() => Promise<void>> {
  const [postgres, s3] = await Promise.all([startPostgres(), startS3()]);
  const saved = { ...process.env };
  Object.assign(process.env, postgres.env, s3.env);
  return async () => {
    await Promise.all([postgres.stop(), s3.stop()]);
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}
