// Review of the generator (reviewer "matcher"): each case is a defect found on real generated data.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { generateSample } from '../../engine/generate/generate.ts';
import { buildTitleCatalog } from '../../engine/generate/titles.ts';
import { shadowedTitles } from '../../engine/normalize/matcher.ts';
import { slugify } from '../../engine/normalize/slug.ts';

let db: Db;
let root: string;

beforeAll(async () => {
  db = await openDb();
  root = await mkdtemp(join(tmpdir(), 'generate-review-'));
});

afterAll(async () => {
  db?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('generated title catalog', () => {
  // 150,000 rows a day make 15,000 titles: 245 of them ('Nàng Trọn Đời' beside 'Nắng Trọn Đời', 'X Phần 5'
  // beside 'X (Phần 5)') shared a slug with a title of other genres, so the matcher dropped their genres
  // and every run on the data told the user to fix a catalog the generator wrote.
  it('gives every title its own slug, so the matcher ignores none of them', () => {
    const titles = buildTitleCatalog(15_000, 3);
    expect(titles).toHaveLength(15_000);
    expect(new Set(titles.map((t) => slugify(t.title))).size).toBe(15_000);
    expect(shadowedTitles(titles)).toEqual([]);
  });
});

describe('generateSample date range', () => {
  // From 9999-12-30, a third day was written to a folder named '+01000001' (toISOString's six-digit year).
  it('refuses days past 9999-12-31, naming --days and --start, and writes nothing', async () => {
    const outDir = join(root, 'past-9999');
    await expect(
      generateSample(db, { outDir, days: 3, rowsPerDay: 10, seed: 1, startDate: '9999-12-30' }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(
        /--days 3 from --start 9999-12-30 runs past 9999-12-31: give at most 2 days/,
      ),
    });
    expect(existsSync(outDir)).toBe(false);
  });

  it('still writes the last days up to 9999-12-31', async () => {
    const outDir = join(root, 'up-to-9999');
    const summary = await generateSample(db, {
      outDir,
      days: 2,
      rowsPerDay: 10,
      seed: 1,
      startDate: '9999-12-30',
    });
    expect(summary.days).toEqual(['99991230', '99991231']);
    expect((await readdir(join(outDir, 'customer_search_log_data'))).sort()).toEqual([
      '99991230',
      '99991231',
    ]);
  });
});
