import { describe, expect, it } from 'vitest';
import { openDb } from '../../engine/db/duckdb.ts';
import type { MaterializeContext } from '../../engine/materializations/context.ts';
import { materializeKeywordMatch } from '../../engine/materializations/keyword-match.ts';
import { buildTitleIndex, matchKeywords } from '../../engine/normalize/matcher.ts';
import { loadMacros } from '../../engine/project/macros.ts';
import { ensureWarehouseSchema } from '../../engine/warehouse/metadata.ts';

describe('keyword_match materialization', () => {
  it('stores exactly what matchKeywords returns and matches each keyword once across days', async () => {
    const db = await openDb();
    await loadMacros(db, '/nonexistent-project');
    await ensureWarehouseSchema(db);
    await db.run(`CREATE TABLE catalog (title VARCHAR, genres VARCHAR)`);
    await db.run(
      `INSERT INTO catalog VALUES ('Naruto', 'Anime'), ('Bóng Đá', 'Sport;Live'), ('Running Man', 'Show'),
         ('One Piece', 'Phim "Hay" \\ Đặc Sắc;Anime')`,
    );
    // Genres with quotes, a backslash and accents: the answers reach DuckDB as JSON text.
    const titles = [
      { title: 'Bóng Đá', slug: null, genres: ['Sport', 'Live'] },
      { title: 'Naruto', slug: null, genres: ['Anime'] },
      { title: 'One Piece', slug: null, genres: ['Phim "Hay" \\ Đặc Sắc', 'Anime'] },
      { title: 'Running Man', slug: null, genres: ['Show'] },
    ];
    const context = (etlDate: string): MaterializeContext =>
      ({
        db,
        model: { id: 'silver.keyword_match', file: 'keyword_match.sql', config: { catalog: 'catalog' } },
        etlDate,
        stage: 'stage',
        target: 'silver.keyword_match',
        titleIndexes: new Map(),
        catalogs: new Map(),
        restage: async () => undefined,
        committedDates: [],
        runDates: [etlDate],
      }) as unknown as MaterializeContext;
    const days = [
      // Three spellings of one slug: searched once, stored for each.
      [
        'naruto',
        'bong da',
        'Bóng Đá',
        'BONG  DA',
        'narutoo',
        'it\'s "quoted"',
        'xổ số',
        '???',
        '三十而已',
        '  ',
        // Blank too, as the matcher says, though DuckDB's trim() keeps them.
        '\t',
        '\u00a0',
        '\u200b',
        '\u3000\ufeff',
      ],
      ['naruto', 'running man tap 5', 'đá bóng', 'one piece'],
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
      [14, 14],
      [4, 3],
      [5, 5],
    ]);
    expect(outcomes[0]?.warnings).toEqual(['7 new keywords searched as 5 distinct slugs']);
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
  it('reads a source catalog once per run, and a changed one again in the next run', async () => {
    const db = await openDb();
    await loadMacros(db, '/nonexistent-project');
    await ensureWarehouseSchema(db);
    await db.run(`ATTACH ':memory:' AS source`);
    await db.run(`CREATE TABLE source.titles AS SELECT 'Naruto' AS title, 'Anime' AS genres`);
    const run = (catalogs: MaterializeContext['catalogs']) => (etlDate: string) =>
      ({
        db,
        model: {
          id: 'silver.keyword_match',
          file: 'keyword_match.sql',
          config: { catalog: 'source.titles' },
        },
        etlDate,
        stage: 'stage',
        target: 'silver.keyword_match',
        titleIndexes: new Map(),
        catalogs,
        restage: async () => undefined,
        committedDates: [],
        runDates: [etlDate],
      }) as unknown as MaterializeContext;
    const matchOn = async (context: MaterializeContext, keyword: string) => {
      await db.run(`CREATE OR REPLACE TEMP TABLE stage AS SELECT $1::VARCHAR AS keyword`, [keyword]);
      await materializeKeywordMatch(context);
      return db.scalar<string>(`SELECT keyword_normalized FROM silver.keyword_match WHERE keyword = $1`, [
        keyword,
      ]);
    };
    const firstRun = run(new Map());
    expect(await matchOn(firstRun('2022-06-01'), 'naruto')).toBe('Naruto');
    // Edited while the run goes on: the run keeps the catalog it started with.
    await db.run(`UPDATE source.titles SET title = 'Boruto'`);
    expect(await matchOn(firstRun('2022-06-02'), 'boruto')).toBe('not_matched');
    // The next run reads it again, and re-matches what the old catalog answered.
    const secondRun = run(new Map());
    expect(await matchOn(secondRun('2022-06-03'), 'boruto')).toBe('Boruto');
    expect(await matchOn(secondRun('2022-06-03'), 'naruto')).toBe('not_matched');
    db.close();
  });
});
