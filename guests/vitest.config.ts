import { defineConfig } from 'vitest/config';

// The AWS SDK warns once per process and worker thread that its releases after January 2027 need
// Node 22; the tests start many of both, so it would flood the log. Silenced here, for the tests
// only (the documented switch, aws/aws-sdk-js-v3#7983); users of the library still see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup.ts', 'test/servers.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
