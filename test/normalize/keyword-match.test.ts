import { describe, expect, it } from 'vitest';
import { openDb } from '../../engine/db/duckdb.ts';
import type { MaterializeContext } from '../../engine/materializations/context.ts';
import { materializeKeywordMatch } from '../../engine/materializations/keyword-match.ts';
import { buildTitleIndex, matchKeywords } from '../../engine/normalize/matcher.ts';
import { loadMacros } from '../../engine/project/macros.ts';

describe('keyword_match materialization', () => {
  it('stores exactly what matchKeywords returns and matches each keyword once across days', async () => {
    const db = await openDb();
    await loadMacros(db, '/nonexistent-project');
    await db.run(`CREATE SCHEMA silver`);
    await db.run(`CREATE TABLE catalog (title VARCHAR, genres VARCHAR)`);
    await db.run(
      `INSERT INTO catalog VALUES ('Naruto', 'Anime'), ('Bóng Đá', 'Sport;Live'), ('Running Man', 'Show')`,
    );
    const titles = [
      { title: 'Bóng Đá', slug: null, genres: ['Sport', 'Live'] },
      { title: 'Naruto', slug: null, genres: ['Anime'] },
      { title: 'Running Man', slug: null, genres: ['Show'] },
    ];
    const context = (etlDate: string): MaterializeContext =>
      ({
        db,
        model: { file: 'keyword_match.sql', config: { catalog: 'catalog' } },
        etlDate,
        stage: 'stage',
        target: 'silver.keyword_match',
        titleIndexes: new Map(),
        restage: async () => undefined,
        committedDates: [],
      }) as unknown as MaterializeContext;
    const days = [
      ['naruto', 'bong da', 'narutoo', 'it\'s "quoted"', 'xổ số', '???'],
      ['naruto', 'running man tap 5', 'đá bóng'],
      // Same slugs as keywords of earlier days (answered from those), one new slug, one without a slug.
      ['NARUTO', 'Đá   Bóng!', 'Running-Man tap 5', 'naruto shippuden', '!!'],
    ];
    const outcomes = [];
    for (const [i, keywords] of days.entries()) {
      await db.run(`CREATE OR REPLACE TEMP TABLE stage (keyword VARCHAR)`);
      for (const k of [...keywords, null]) await db.run(`INSERT INTO stage VALUES ($1)`, [k]);
      outcomes.push(await materializeKeywordMatch(context(`2022-06-0${i + 1}`)));
    }
    expect(outcomes.map((o) => [o.rowsIn, o.rowsOut])).toEqual([
      [6, 6],
      [3, 2],
      [5, 5],
    ]);
    expect(outcomes[2]?.warnings).toEqual([
      '0 of 5 keywords answered from the cache, 3 more from a cached keyword with the same slug',
    ]);
    const stored = await db.all<Record<string, unknown>>(
      `SELECT keyword, keyword_slug, keyword_normalized, keyword_normalized_slug, genres, score, matched
       FROM silver.keyword_match ORDER BY keyword`,
    );
    const keywords = [...new Set(days.flat())].sort();
    const expected = matchKeywords(buildTitleIndex(titles), keywords).map((m) => ({
      keyword: m.keyword,
      keyword_slug: m.keywordSlug,
      keyword_normalized: m.normalized,
      keyword_normalized_slug: m.normalizedSlug,
      genres: m.genres,
      score: m.score,
      matched: m.matched,
    }));
    expect(stored.sort((a, b) => String(a.keyword).localeCompare(String(b.keyword)))).toEqual(
      expected.sort((a, b) => a.keyword.localeCompare(b.keyword)),
    );
    db.close();
  });
});
