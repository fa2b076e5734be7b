import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { createExplorer, type Explorer } from '../../engine/explore/explorer.ts';

// Column profiles at the ends of their types' ranges: doubles spanning -1e308 to 1e308 (a range wider
// than a double holds) and dates and timestamps past the years 1-9999 that JS writes as DuckDB does.

const TABLE = 'gold.extremes';
let db: Db;
let explorer: Explorer;

beforeAll(async () => {
  db = await openDb();
  await db.run('CREATE SCHEMA gold');
  // 30 distinct values each, so the histograms are equal-width bins rather than one bin per value.
  await db.run(
    `CREATE TABLE ${TABLE} AS SELECT i AS id,
       CASE WHEN i = 0 THEN -1e308 WHEN i = 29 THEN 1e308 ELSE i END::DOUBLE AS sentinel_double,
       CASE WHEN i = 29 THEN TIMESTAMP '294246-01-01 00:00:00' ELSE TIMESTAMP '2022-06-01' + to_days(CAST(i AS INTEGER)) END AS far_timestamp,
       CASE WHEN i = 0 THEN DATE '4713-01-01 (BC)' WHEN i = 29 THEN DATE '5877641-06-25' ELSE DATE '2022-06-01' + CAST(i AS INTEGER) END AS far_date,
       TIMESTAMP '9999-01-01' + to_days(CAST(i * 40 AS INTEGER)) AS past_9999
     FROM range(30) t(i)`,
  );
  explorer = createExplorer(db);
});

afterAll(() => db?.close());

const profile = (column: string) => explorer.profile({ table: TABLE, column, filters: [] });

describe('a profile at the ends of its type', () => {
  it('bins doubles from -1e308 to 1e308, whose range overflows a double', async () => {
    const result = await profile('sentinel_double');
    expect(result).toMatchObject({ rows: 30, min: '-1e+308', max: '1e+308' });
    const bins = result.histogram ?? [];
    expect(bins).toHaveLength(20);
    expect(bins[0]).toMatchObject({ low: '-1e+308', count: 1 });
    expect(bins.at(-1)).toMatchObject({ high: '1e+308', count: 1 });
    // 1 to 28 lie in the bin starting at 0.
    expect(bins.find((b) => b.low === '0')?.count).toBe(28);
    expect(bins.reduce((sum, b) => sum + b.count, 0)).toBe(30);
    expect(bins.flatMap((b) => [b.low, b.high]).some((label) => label.includes('Infinity'))).toBe(false);
  });

  it('labels timestamp and date bins past year 9999 and before year 1 as DuckDB writes them', async () => {
    const timestamps = await profile('far_timestamp');
    expect(timestamps.histogram?.[0]).toMatchObject({ low: '2022-06-01 00:00:00.000', count: 29 });
    expect(timestamps.histogram?.at(-1)).toMatchObject({ high: '294246-01-01 00:00:00.000', count: 1 });

    const dates = await profile('far_date');
    // Bins of about 294,000 years: the first holds 4713 BC and the dates of 2022.
    expect(dates.histogram?.[0]).toMatchObject({ low: '4713-01-01 (BC)', count: 29 });
    expect(dates.histogram?.at(-1)).toMatchObject({ high: '5877641-06-25', count: 1 });

    // Within JS's dates, but written +010000-01-01 by its ISO text.
    const past = await profile('past_9999');
    expect(past.histogram?.[0]?.low).toBe('9999-01-01 00:00:00.000');
    expect(past.histogram?.at(-1)?.high).toBe(past.max);
    expect(past.max).toMatch(/^10002-\d\d-\d\d 00:00:00\.000$/);
  });
});
