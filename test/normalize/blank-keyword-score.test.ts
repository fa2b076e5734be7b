import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import type { MaterializeContext } from '../../engine/materializations/context.ts';
import { materializeKeywordMatch } from '../../engine/materializations/keyword-match.ts';
import { loadMacros } from '../../engine/project/macros.ts';
import { ensureWarehouseSchema } from '../../engine/warehouse/metadata.ts';
import { removeDir, tempDir, withEngine } from '../helpers/project.ts';
import { event, exampleProjectOnDays, writeDay } from '../helpers/source-files.ts';

// A blank keyword ('  ', a tab) is no keyword, as NULL is: its answers were NULL but its score 0 and matched
// false, so silver.customer_search showed match_score 0 for an event with no keyword, beside NULL for one
// whose keyword is NULL.

/** What silver.keyword_match holds for each of `keywords`, as [keyword, normalized, score, matched]. */
async function stored(db: Db, keywords: string[]): Promise<unknown[][]> {
  const rows = await db.all<{
    keyword: string;
    normalized: string | null;
    score: number | null;
    matched: boolean | null;
  }>('SELECT keyword, keyword_normalized AS normalized, score, matched FROM silver.keyword_match');
  return keywords.map((keyword) => {
    const row = rows.find((r) => r.keyword === keyword);
    return [keyword, row?.normalized, row?.score, row?.matched];
  });
}

describe('a blank keyword has no score in keyword_match', () => {
  let db: Db;
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
  const stage = async (keywords: (string | null)[]) => {
    await db.run('CREATE OR REPLACE TEMP TABLE stage (keyword VARCHAR)');
    for (const keyword of keywords) await db.run('INSERT INTO stage VALUES ($1)', [keyword]);
  };

  beforeAll(async () => {
    db = await openDb();
    await loadMacros(db, '/nonexistent-project');
    await ensureWarehouseSchema(db);
    await db.run(`CREATE TABLE catalog AS SELECT 'Naruto' AS title, 'Anime' AS genres`);
  });

  afterAll(() => db.close());

  it('stores NULL score and matched for a blank keyword, 0 and false for one without a slug', async () => {
    await stage(['  ', '\t', '\u00a0', '???', 'naruto', null]);
    await materializeKeywordMatch(context('2022-06-01'));
    expect(await stored(db, ['\t', '  ', '???', 'naruto', '\u00a0'])).toEqual([
      ['\t', null, null, null],
      ['  ', null, null, null],
      ['???', 'not_matched', 0, false],
      ['naruto', 'Naruto', 1, true],
      ['\u00a0', null, null, null],
    ]);
  });

  it('corrects a cache row an earlier run wrote with score 0, the next time the model runs', async () => {
    // As runs before this fix cached a blank keyword: no answer, but scored 0 and not matched.
    await db.run(`UPDATE silver.keyword_match SET score = 0, matched = false WHERE keyword IN ('  ', '\t')`);
    await stage(['naruto']);
    await materializeKeywordMatch(context('2022-06-02'));
    expect(await stored(db, ['\t', '  ', '???'])).toEqual([
      ['\t', null, null, null],
      ['  ', null, null, null],
      ['???', 'not_matched', 0, false],
    ]);
  });
});

describe("silver.customer_search's match_score for an event whose keyword is blank", () => {
  let src: string;
  let dir: string;

  beforeAll(async () => {
    src = await tempDir('lakehouse-src-');
    await writeDay(
      src,
      '20220601',
      ['\t', '   ', null, 'naruto'].map((keyword, i) => event({ eventID: `e-${i}`, keyword })),
    );
    dir = await exampleProjectOnDays(src);
  });

  afterAll(async () => {
    await removeDir(dir);
    await removeDir(src);
  });

  it('is NULL, as for an event whose keyword is NULL', async () => {
    await withEngine(dir, async (engine) => {
      expect((await engine.run({ dates: ['2022-06-01'] })).status).toBe('success');
      const { rows } = await engine.query(
        'SELECT event_id, original_keyword, keyword_normalized, match_score FROM silver.customer_search ORDER BY event_id',
      );
      expect(rows.slice(0, 3)).toEqual([
        { event_id: 'e-0', original_keyword: null, keyword_normalized: null, match_score: null },
        { event_id: 'e-1', original_keyword: null, keyword_normalized: null, match_score: null },
        { event_id: 'e-2', original_keyword: null, keyword_normalized: null, match_score: null },
      ]);
    });
  });
});
