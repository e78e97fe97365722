import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    allowOnly: false,
    pool: 'forks',
    setupFiles: ['test/support/leak-guard.ts'],
    globalSetup: ['test/support/console-build.ts', 'test/support/cli-build.ts'],
  },
});
