import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnProfile } from '../../engine/api/contract.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { createExplorer, type Explorer } from '../../engine/explore/explorer.ts';

// Histogram bins of integer and decimal columns are counted and labelled in the column's own type:
// through doubles a DECIMAL(10,2)'s edges read 13.336 (no value of the column), a BIGINT past 2^53
// started its first bin below its minimum and ended its last one before its maximum, and a UBIGINT
// near its top read as one bin of 18446744073709552000, a value past the type.

const TABLE = 'gold.exact_numbers';
const ROWS = 57;
const OUTLIERS = 'gold.keys_with_outlier';
let db: Db;
let explorer: Explorer;

beforeAll(async () => {
  db = await openDb();
  await db.run('CREATE SCHEMA gold');
  await db.run(
    `CREATE TABLE ${TABLE} AS SELECT i AS id,
       CAST(12.3 + i * 0.37 AS DECIMAL(10,2)) AS price,
       CAST(9007199254740993 + i * 7 AS BIGINT) AS hashed_key,
       CAST(18446744073709551615 - i * 3 AS UBIGINT) AS top_ubigint,
       CASE WHEN i = 0 THEN -170141183460469231731687303715884105727::HUGEINT - 1
            WHEN i = 1 THEN 170141183460469231731687303715884105727::HUGEINT ELSE i::HUGEINT END AS huge FROM range(${ROWS}) t(i)`,
  );
  // 300 keys past 2^60 and one far above: the 99th percentile stays among the keys.
  await db.run(
    `CREATE TABLE ${OUTLIERS} AS SELECT
       CASE WHEN i = 300 THEN 4611686018427387904 ELSE 1152921504606846976 + i * 13 END::BIGINT AS k
     FROM range(301) t(i)`,
  );
  explorer = createExplorer(db);
});

afterAll(() => db?.close());

const profile = (column: string, table = TABLE) => explorer.profile({ table, column, filters: [] });

/** The column's values, exactly, as DuckDB writes them. */
async function valuesOf(column: string, table = TABLE): Promise<string[]> {
  const rows = await db.all<{ v: string }>(`SELECT CAST("${column}" AS VARCHAR) AS v FROM ${table}`);
  return rows.map((r) => r.v);
}

/** Every value lies in exactly one of the equal-width bins, which hold the counts found by hand. */
function expectExactBins(result: ColumnProfile, values: bigint[], units: (label: string) => bigint) {
  const bins = (result.histogram ?? []).filter((b) => b.overflow === undefined);
  expect(bins.length).toBeGreaterThan(1);
  for (const [i, bin] of bins.entries()) {
    expect(units(bin.low)).toBeLessThanOrEqual(units(bin.high));
    // Contiguous: the next bin starts at the value after this one's last.
    const next = bins[i + 1];
    if (next) expect(units(next.low)).toBe(units(bin.high) + 1n);
    const inside = values.filter((v) => v >= units(bin.low) && v <= units(bin.high)).length;
    expect(bin.count, `${bin.low} – ${bin.high}`).toBe(inside);
  }
  const total = (result.histogram ?? []).reduce((sum, b) => sum + b.count, 0);
  expect(total).toBe(result.rows - result.nulls);
}

describe('histogram bins of integers and decimals, exactly', () => {
  it("labels a DECIMAL's bins on its own scale, from its min to its max", async () => {
    const result = await profile('price');
    const cents = (label: string) => BigInt(label.replace('.', ''));
    const labels = (result.histogram ?? []).flatMap((b) => [b.low, b.high]);
    for (const label of labels) expect(label).toMatch(/^\d+\.\d{2}$/);
    expect(result.histogram?.[0]?.low).toBe('12.30');
    expect(result.histogram?.at(-1)?.high).toBe('33.02');
    expectExactBins(result, (await valuesOf('price')).map(cents), cents);
  });

  it('starts and ends a BIGINT past 2^53 at its own min and max', async () => {
    const result = await profile('hashed_key');
    expect(result.histogram?.[0]?.low).toBe('9007199254740993');
    expect(result.histogram?.at(-1)?.high).toBe('9007199254741385');
    expectExactBins(result, (await valuesOf('hashed_key')).map(BigInt), BigInt);
  });

  it('bins a UBIGINT near its top, and a HUGEINT over its whole range, without float labels', async () => {
    const top = await profile('top_ubigint');
    expect(top.histogram?.[0]?.low).toBe('18446744073709551447');
    expect(top.histogram?.at(-1)?.high).toBe('18446744073709551615');
    expectExactBins(top, (await valuesOf('top_ubigint')).map(BigInt), BigInt);

    const huge = await profile('huge');
    expect(huge.histogram?.[0]).toMatchObject({ low: '-170141183460469231731687303715884105728', count: 1 });
    expect(huge.histogram?.at(-1)).toMatchObject({
      high: '170141183460469231731687303715884105727',
      count: 1,
    });
    expectExactBins(huge, (await valuesOf('huge')).map(BigInt), BigInt);
  });

  it('bins the values between the outlier fences from their exact min and max', async () => {
    const result = await profile('k', OUTLIERS);
    expect(result.histogram?.at(-1)).toMatchObject({
      overflow: 'above',
      low: '4611686018427387904',
      high: '4611686018427387904',
      count: 1,
    });
    const inner = (result.histogram ?? []).filter((b) => b.overflow === undefined);
    expect(inner[0]?.low).toBe('1152921504606846976');
    expect(inner.at(-1)?.high).toBe(String(1152921504606846976n + 299n * 13n));
    const values = (await valuesOf('k', OUTLIERS)).map(BigInt);
    expectExactBins(
      result,
      values.filter((v) => v < 2n ** 62n),
      BigInt,
    );
  });
});
