import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInit } from '../../engine/project/init.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { removeDir, tempDir } from '../helpers/project.ts';
import { events, writeDay } from '../helpers/source-files.ts';

// A day's file of the search log given as --catalog was taken: its keyword and category columns passed for
// title and genres, so every keyword matched a "title" whose genres were enter or quit.

let work: string;
beforeAll(async () => {
  work = await tempDir('lakehouse-init-catalog-');
  await writeDay(join(work, 'src'), '20220601', events(3));
  await mkdir(join(work, 'src', 'reference'));
  await writeFile(join(work, 'src', 'reference', 'titles.csv'), 'title,genres\nDune,Sci-Fi\n');
});
afterAll(() => removeDir(work));

describe('init --catalog', () => {
  it('refuses a file of a day folder of the source, the search log itself', async () => {
    const catalog = join(work, 'src', '20220601', 'part-00000.parquet');
    const error = await lakehouseFailure(
      checkInit({ dir: join(work, 'p1'), example: 'customer-search', source: join(work, 'src'), catalog }),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe(
      `--catalog ${catalog} is a file of the source's day 20220601, the search log itself: give the catalog of ` +
        'titles and their genres (a CSV with a header, Parquet or JSON file), or leave --catalog out to use the built-in one.',
    );
  });

  it('takes a catalog kept in the source folder beside its day folders', async () => {
    const catalog = join(work, 'src', 'reference', 'titles.csv');
    await expect(
      checkInit({ dir: join(work, 'p2'), example: 'customer-search', source: join(work, 'src'), catalog }),
    ).resolves.toMatchObject({ rename: {} });
  });
});
