import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    allowOnly: false,
    pool: 'forks',
    // most files wait on agents, timers and sockets more than they compute: more files than cores
    maxWorkers: 3,
    setupFiles: ['test/support/leak-guard.ts'],
    globalSetup: ['test/support/console-build.ts', 'test/support/cli-build.ts'],
  },
});
