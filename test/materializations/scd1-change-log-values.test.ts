import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materializeScd1 } from '../../engine/materializations/scd1.ts';
import { createHarness } from '../helpers/materialize.ts';

type Harness = Awaited<ReturnType<typeof createHarness>>;

const day = (score: string, big: string) =>
  `SELECT 'k1' AS id, ${score}::DOUBLE AS score, ${big}::BIGINT AS big`;

// The change log stored to_json() of each value: a NaN or infinite DOUBLE as the bare NaN or Infinity,
// which the history view's JSON.parse refused (the member's history failed to open), and an integer
// past 2^53 as a number JavaScript rounds.
describe("SCD1's change log of values JSON has no exact number for", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('materialized: scd1\nunique_key: id');
    await h.apply(materializeScd1, '2022-06-01', day('1.5', '1'));
    await h.apply(materializeScd1, '2022-06-02', day("'NaN'", '9007199254740993'));
    await h.apply(materializeScd1, '2022-06-03', day("'-Infinity'", '-9007199254740993'));
  });
  afterAll(() => h.close());

  it('logs them as JSON the history view parses, keeping every digit', async () => {
    const rows = await h.rows(
      `SELECT etl_date::VARCHAR AS d, column_name AS c, before, after FROM _lakehouse.scd1_changes
       WHERE kind = 'update' ORDER BY d, c`,
    );
    const parsed = (rows as { d: string; c: string; before: string; after: string }[]).map((r) => ({
      d: r.d,
      c: r.c,
      before: JSON.parse(r.before),
      after: JSON.parse(r.after),
    }));
    expect(parsed).toEqual([
      { d: '2022-06-02', c: 'big', before: 1, after: '9007199254740993' },
      { d: '2022-06-02', c: 'score', before: 1.5, after: 'nan' },
      { d: '2022-06-03', c: 'big', before: '9007199254740993', after: '-9007199254740993' },
      { d: '2022-06-03', c: 'score', before: 'nan', after: '-inf' },
    ]);
  });
});
