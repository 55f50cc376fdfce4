import { defineConfig } from 'vitest/config';

// The AWS SDK warns once per process that its releases after January 2027 need Node 22; every
// spawned eryx-vfs on an s3:// URL would print it. Silenced for the tests only (the documented
// switch, aws/aws-sdk-js-v3#7983); users of the CLI still see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Generous timeouts: CI runs every package's suite on 2 cores, several at once. The tests spawn
// `node dist/bin.js`, so the package must be built first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
