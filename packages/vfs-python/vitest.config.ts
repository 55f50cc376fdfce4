import { defineConfig } from 'vitest/config';

// Generous timeouts: CI runs every package's suite on 2 cores, several at once.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // PostgreSQL and S3 for the bridged mounts (VFS_POSTGRES_URL / VFS_S3_ENDPOINT > testcontainers > embedded).
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
