import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Starts PostgreSQL once (VFS_POSTGRES_URL > testcontainers > embedded) and stops it at the end.
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
