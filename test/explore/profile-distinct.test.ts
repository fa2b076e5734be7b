import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { createExplorer, type Explorer } from '../../engine/explore/explorer.ts';

// A profile's distinct count on a table past the exact-count limit (set low here, 2M rows in the app):
// exact for text, which its top values count anyway; an estimate within a few percent for numbers and
// dates, where DuckDB's approx_count_distinct read 2,065,098 of 1,868,665 user ids on the 10M-row fact.

const TABLE = 'gold.many_values';
const ROWS = 300_000;
let db: Db;
let explorer: Explorer;

beforeAll(async () => {
  db = await openDb();
  await db.run('CREATE SCHEMA gold');
  // 250,000 distinct values of each kind: plain approx_count_distinct reads 221,487 of the integers.
  await db.run(
    `CREATE TABLE ${TABLE} AS SELECT i AS id,
       CASE WHEN i % 100 = 0 THEN NULL ELSE lpad(CAST(i % 250000 AS VARCHAR), 8, '0') END AS user_id,
       i % 250000 AS n,
       TIMESTAMP '2022-06-01' + to_milliseconds(i % 250000) AS ts
     FROM range(${ROWS}) t(i)`,
  );
  explorer = createExplorer(db, { exactDistinctMaxRows: 1000 });
});

afterAll(() => db?.close());

const profile = (column: string) => explorer.profile({ table: TABLE, column, filters: [] });

describe("a profile's distinct count past the exact-count limit", () => {
  it('is exact for a text column, read from the same counts as its top values', async () => {
    const [exact] = await db.all<{ distinct: number; nulls: number }>(
      `SELECT count(DISTINCT user_id) AS distinct, count(*) - count(user_id) AS nulls FROM ${TABLE}`,
    );
    const users = await profile('user_id');
    expect(users).toMatchObject({
      rows: ROWS,
      nulls: exact?.nulls,
      distinct: exact?.distinct,
      distinctApprox: false,
      min: '00000001',
      max: '00249999',
    });
    // Values 1..49,999 occur twice (i and i + 250,000), but not the multiples of 100 (NULL at i): the
    // first ten in text order lead, after the 3,000 NULLs.
    expect(users.topValues?.slice(0, 3)).toEqual([
      { value: null, count: 3000 },
      { value: '00000001', count: 2 },
      { value: '00000002', count: 2 },
    ]);
  });

  it('is an estimate within 5% for numbers and timestamps', async () => {
    for (const column of ['n', 'ts']) {
      const { distinct, distinctApprox } = await profile(column);
      expect(distinctApprox, column).toBe(true);
      expect(Math.abs(distinct / 250_000 - 1), `${column}: ${distinct}`).toBeLessThan(0.05);
    }
  });

  it('never passes the count of values it estimates', async () => {
    // Every id is distinct: the sketch reads more than there are.
    const { distinct, distinctApprox } = await profile('id');
    expect(distinctApprox).toBe(true);
    expect(distinct).toBeLessThanOrEqual(ROWS);
    expect(distinct).toBeGreaterThan(ROWS * 0.95);
  });
});
