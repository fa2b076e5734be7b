import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

// A day with enough new keywords for a second matching thread (20,000 slugs on two cores: 140,000
// generated events give about 24,000), run while the worker's script cannot be made.
describe('keyword matching when its worker thread cannot start', () => {
  let work: string;
  let dir: string;

  beforeAll(async () => {
    work = await tempDir();
    ({ dir } = await generatedProject(work, 1, 140_000, 11));
  });
  afterAll(async () => {
    await removeDir(work);
  });

  // One core never starts a worker.
  it.skipIf(availableParallelism() < 2)(
    'matches every keyword on the main thread and says why in its notes',
    async () => {
      // A temp "folder" that is a file: the worker's script has nowhere to go.
      const notAFolder = join(work, 'not-a-folder');
      await writeFile(notAFolder, '');
      const before = process.env.TMPDIR;
      process.env.TMPDIR = notAFolder;
      try {
        await withEngine(dir, async (engine) => {
          const summary = await engine.run({ dates: ['2022-06-01'], select: ['+silver.keyword_match'] });
          expect(summary.status).toBe('success');
          const notes = summary.models.find((m) => m.model === 'silver.keyword_match')?.warnings ?? [];
          expect(notes).toEqual(
            expect.arrayContaining([
              expect.stringMatching(
                /^the keyword matcher's worker thread could not be used \(.*not-a-folder.*\): its share of the \d+ new slugs was searched on the main thread, with the same answers$/,
              ),
            ]),
          );
          const { rows } = await engine.query(
            `SELECT (SELECT count(*) FROM silver.keyword_match) AS cached,
                  (SELECT count(DISTINCT keyword) FROM bronze.customer_search WHERE keyword IS NOT NULL) AS keywords,
                  (SELECT count(*) FROM silver.keyword_match WHERE matched) AS matched`,
          );
          const [counts] = rows as { cached: number; keywords: number; matched: number }[];
          expect(counts!.cached).toBe(counts!.keywords);
          expect(counts!.matched).toBeGreaterThan(0);
        });
      } finally {
        if (before === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = before;
      }
    },
  );
});
