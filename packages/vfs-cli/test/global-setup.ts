import { postgresGlobalSetup, startS3 } from '@eryx/test-servers';

/**
 * Starts PostgreSQL and S3 once for the whole run (env URL > testcontainers > embedded servers) and
 * puts their `VFS_POSTGRES_URL` / `VFS_S3_*` variables in the environment, which the test workers
 * and the `eryx-vfs` processes they spawn inherit.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const stopPostgres = await postgresGlobalSetup();
  const s3 = await startS3();
  Object.assign(process.env, s3.env);
  return async () => {
    await Promise.all([stopPostgres(), s3.stop()]);
  };
}
