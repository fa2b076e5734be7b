import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { literal, openDb } from '../../engine/db/duckdb.ts';
import { generateSample } from '../../engine/generate/generate.ts';
import { exampleProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

// A JSON catalog whose fields mix types is read by DuckDB as JSON columns, which cast to VARCHAR with their
// quotes: titles and genres must come out as they do from a catalog of uniform types.
describe('a JSON title catalog whose fields mix types', () => {
  let work: string;
  let catalog: string;
  let dir: string;

  beforeAll(async () => {
    work = await tempDir();
    const db = await openDb();
    try {
      const { files } = await generateSample(db, { outDir: work, days: 1, rowsPerDay: 30, seed: 4 });
      // Every search is for one of the catalog's titles.
      const day = files[0]!;
      await db.run(
        `CREATE TABLE events AS SELECT * REPLACE (
           CASE row_number() OVER () % 3 WHEN 0 THEN '1984' WHEN 1 THEN 'Bóng đá Việt Nam' ELSE 'X' END AS keyword)
         FROM read_parquet(${literal(day)})`,
      );
      await db.run(`COPY events TO ${literal(day)} (FORMAT PARQUET)`);
    } finally {
      db.close();
    }
    catalog = join(work, 'titles.json');
    await writeFile(catalog, JSON.stringify([{ title: 'X', genres: ['A'] }]));
    dir = await exampleProject(join(work, 'customer_search_log_data'), catalog);
  });
  afterAll(async () => {
    await removeDir(work);
  });

  async function matches(titles: unknown[]) {
    await writeFile(catalog, JSON.stringify(titles));
    return withEngine(dir, async (engine) => {
      const summary = await engine.run({ select: ['bronze.customer_search', 'silver.keyword_match'] });
      expect(summary.error).toBeUndefined();
      return (
        await engine.query(
          'SELECT keyword, keyword_normalized, genres FROM silver.keyword_match ORDER BY keyword',
        )
      ).rows;
    });
  }

  it('unquotes a number beside string titles, and genres a list in one row and a string in another', async () => {
    expect(
      await matches([
        { title: 1984, genres: 'Drama' },
        { title: 'Bóng đá Việt Nam', genres: 'Sport; News' },
        { title: 'X', genres: ['A', ' B ', ''] },
      ]),
    ).toEqual([
      { keyword: '1984', keyword_normalized: '1984', genres: ['Drama'] },
      { keyword: 'Bóng đá Việt Nam', keyword_normalized: 'Bóng đá Việt Nam', genres: ['Sport', 'News'] },
      { keyword: 'X', keyword_normalized: 'X', genres: ['A', 'B'] },
    ]);
  });

  it('unquotes a list of genres whose items mix types', async () => {
    expect(
      await matches([
        { title: 1984, slug: 1984, genres: ['Drama', 2024] },
        { title: 'Bóng đá Việt Nam', genres: ['Sport'] },
        { title: 'X', genres: [] },
      ]),
    ).toEqual([
      { keyword: '1984', keyword_normalized: '1984', genres: ['Drama', '2024'] },
      { keyword: 'Bóng đá Việt Nam', keyword_normalized: 'Bóng đá Việt Nam', genres: ['Sport'] },
      { keyword: 'X', keyword_normalized: 'X', genres: [] },
    ]);
  });
});
