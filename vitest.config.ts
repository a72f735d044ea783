import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Workers use Temporal's native runtime: separate processes, not threads.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // 2 cores: integration files each start workers and servers; two at a time is plenty.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
