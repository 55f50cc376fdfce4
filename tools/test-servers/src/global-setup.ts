import { startPostgres } from './postgres.js';
import { startS3 } from './s3.js';

/**
 * A vitest `globalSetup` body: starts PostgreSQL and S3 at once (an explicit `VFS_POSTGRES_URL` /
 * `VFS_S3_ENDPOINT` wins, then testcontainers, then the embedded servers), puts their variables in
 * the environment the test workers (and the processes they spawn) inherit, and returns the
 * teardown that stops both and restores the environment.
 *
 * ```ts
 * // test/global-setup.ts
 * export { serversGlobalSetup as default } from '@eryx/test-servers';
 * ```
 */
export async function serversGlobalSetup(): Promise<() => Promise<void>> {
  const [postgres, s3] = await Promise.all([startPostgres(), startS3()]);
  const saved = { ...process.env };
  Object.assign(process.env, postgres.env, s3.env);
  return async () => {
    await Promise.all([postgres.stop(), s3.stop()]);
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}
