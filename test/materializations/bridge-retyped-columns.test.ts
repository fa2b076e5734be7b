import { afterEach, describe, expect, it } from 'vitest';
import { materializeBridge } from '../../engine/materializations/history.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { createHarness } from '../helpers/materialize.ts';

type Harness = Awaited<ReturnType<typeof createHarness>>;

const HEADER = `materialized: bridge
bridge: {entity: user_id, member: plan}
surrogate_key: user_plan_key`;

const pairs = (values: string) => `SELECT * FROM (VALUES ${values}) AS t(user_id, plan)`;

// The bridge compared its entity and member as the table held them with the model's new type: a
// retyped user_id failed the date on DuckDB's Binder or Conversion Error, or a widened one past the old
// type's range on its insert, where other gold tables widen, keep or refuse a retyped column by name.
describe('a bridge whose model retypes its entity', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('widens it to a type that holds every old value', async () => {
    h = await createHarness(HEADER);
    await h.apply(materializeBridge, '2022-06-01', pairs("(7, 'A'), (8, 'B')"));
    const outcome = await h.apply(
      materializeBridge,
      '2022-06-02',
      pairs("(7::BIGINT, 'A'), (8, 'C'), (5000000000, 'A')"),
    );
    expect(outcome.warnings).toContain('widened column user_id (INTEGER to BIGINT) in gold.model');
    expect(
      await h.rows(
        'SELECT user_plan_key AS k, user_id AS u, plan AS p, is_effective AS e FROM gold.model ORDER BY k',
      ),
    ).toEqual([
      { k: 1, u: 7, p: 'A', e: 1 },
      { k: 2, u: 8, p: 'B', e: 0 },
      { k: 3, u: 8, p: 'C', e: 1 },
      { k: 4, u: 5000000000, p: 'A', e: 1 },
    ]);
  });

  it('refuses a type the old values cannot take, naming the column and the ways out', async () => {
    h = await createHarness(HEADER);
    await h.apply(materializeBridge, '2022-06-01', pairs("('007', 'A'), ('008', 'B')"));
    const failure = await lakehouseFailure(h.apply(materializeBridge, '2022-06-02', pairs("(7, 'A')")));
    expect(failure).toMatchObject({
      code: 'MODEL_INVALID',
      message:
        'gold.model: column user_id is VARCHAR in the bridge, but models/gold/model.sql now gives INTEGER, which ' +
        'the rows already there cannot take. Cast it back in the model (CAST(... AS VARCHAR) AS user_id), or ' +
        'rebuild the bridge from every date (drop it for a rebuild, then run every date).',
      details: { column: 'user_id', rebuild: 'gold.model' },
    });
  });
});
