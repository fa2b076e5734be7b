import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // expect.poll waits for what a UI or a server does next; its default second is too short when two
    // test files and a browser share two cores. A poll stops as soon as it matches.
    expect: { poll: { timeout: 15_000 } },
    // DuckDB uses both cores per query; running test files two at a time keeps the suite fast without thrashing.
    maxWorkers: 2,
  },
});
