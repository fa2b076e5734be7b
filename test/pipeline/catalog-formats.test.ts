import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { literal, openDb } from '../../engine/db/duckdb.ts';
import { generateSample } from '../../engine/generate/generate.ts';
import { exampleProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

// The title catalog is a source like any other: CSV with genres joined by ';', or Parquet and JSON with a
// list of genres and an optional slug. All three must give the same matches.
describe('title catalogs in CSV, Parquet and JSON', () => {
  let data: string;
  let csv: string;
  const dirs: string[] = [];

  beforeAll(async () => {
    data = await tempDir();
    const db = await openDb();
    csv = (await generateSample(db, { outDir: data, days: 1, rowsPerDay: 400, seed: 5 })).catalogPath;
    const list = `SELECT title, list_transform(string_split(genres, ';'), g -> trim(g)) AS genres FROM read_csv(${literal(csv)}, header = true, all_varchar = true)`;
    await db.run(`COPY (${list}) TO ${literal(join(data, 'titles.parquet'))} (FORMAT PARQUET)`);
    await db.run(`COPY (${list}) TO ${literal(join(data, 'titles.json'))} (FORMAT JSON, ARRAY true)`);
    db.close();
  });
  afterAll(async () => {
    for (const dir of dirs) await removeDir(dir);
    await removeDir(data);
  });

  async function matches(catalog: string) {
    const dir = await exampleProject(join(data, 'customer_search_log_data'), catalog);
    dirs.push(dir);
    return withEngine(dir, async (engine) => {
      const summary = await engine.run({ select: ['bronze.customer_search', 'silver.keyword_match'] });
      expect(summary.error).toBeUndefined();
      return (
        await engine.query(
          `SELECT keyword, keyword_normalized, genres, round(score, 9) AS score FROM silver.keyword_match ORDER BY keyword`,
        )
      ).rows;
    });
  }

  it('gives identical matches whatever the file format', async () => {
    const fromCsv = await matches(csv);
    expect(fromCsv.length).toBeGreaterThan(100);
    expect(fromCsv.filter((r) => r.keyword_normalized !== 'not_matched').length).toBeGreaterThan(
      fromCsv.length / 2,
    );
    expect(fromCsv.some((r) => Array.isArray(r.genres) && (r.genres as string[]).length > 1)).toBe(true);
    expect(await matches(join(data, 'titles.parquet'))).toEqual(fromCsv);
    expect(await matches(join(data, 'titles.json'))).toEqual(fromCsv);
  });
});
