import { afterEach, describe, expect, it } from 'vitest';
import { materializeScd1 } from '../../engine/materializations/scd1.ts';
import { createHarness } from '../helpers/materialize.ts';

type Harness = Awaited<ReturnType<typeof createHarness>>;

// An unknown_member value its column cannot hold failed the date with DuckDB's bare Conversion Error,
// which the runner pinned to a line of the model's SELECT: nothing named the header setting.
describe('SCD1 unknown_member values', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('refuses one its column cannot hold at the setting, and takes one it can', async () => {
    h = await createHarness(`materialized: scd1
unique_key: sku
surrogate_key: k
unknown_member:
  sku: unknown
  price: none`);
    const day = "SELECT * FROM (VALUES ('a', 1)) AS t(sku, price)";
    await expect(h.apply(materializeScd1, '2022-06-01', day)).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message:
        'models/gold/model.sql:7: unknown_member.price is "none", which column price (INTEGER) cannot hold. ' +
        'Give a value of that type, or null.',
    });
    h.model.config.unknown_member = { sku: 'unknown', price: '-1' };
    await h.apply(materializeScd1, '2022-06-01', day);
    expect(await h.rows('SELECT k, sku, price FROM gold.model ORDER BY k')).toEqual([
      { k: 0, sku: 'unknown', price: -1 },
      { k: 1, sku: 'a', price: 1 },
    ]);
  });
});
