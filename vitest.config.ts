import { defineConfig } from 'vitest/config';

// Test files that set AWS credentials or endpoints in process.env for their S3 server (and do not all put
// them back): each runs in a process of its own, so what it sets cannot reach another file.
const OWN_PROCESS = ['test/storage/**/*.test.ts', 'test/publish/**/*.test.ts', 'test/sources/**/*.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // expect.poll waits for what a UI or a server does next; its default second is too short when two
    // test files and a browser share two cores. A poll stops as soon as it matches.
    expect: { poll: { timeout: 15_000 } },
    // DuckDB uses both cores per query; running test files two at a time keeps the suite fast without thrashing.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        // The other files share their worker processes: each file importing the engine, the AWS SDK and
        // Playwright afresh took 150 s of a 15-minute suite. They leave no global state behind them.
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: OWN_PROCESS, isolate: false },
      },
      { extends: true, test: { name: 'own-process', include: OWN_PROCESS, isolate: true } },
    ],
  },
});
