import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // e2e tests spawn real processes (anvil, seqnet); a 2-core CI box runs them one file at a time.
    fileParallelism: false,
    pool: 'forks',
  },
});
