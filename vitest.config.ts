import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // DuckDB uses both cores per query; running test files two at a time keeps the suite fast without thrashing.
    maxWorkers: 2,
  },
});
