import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';

// Rows in JSON form (query --json, the model editor's preview, Iceberg history) read as DuckDB prints them.

let db: Db;

beforeAll(async () => {
  db = await openDb(':memory:');
});

afterAll(() => db?.close());

describe('rows in JSON form', () => {
  it('give infinite dates as DuckDB prints them, also inside lists, and other dates unchanged', async () => {
    const [row] = await db.allJson(
      `SELECT DATE 'infinity' AS up, DATE '-infinity' AS down, [DATE 'infinity', DATE '2022-06-01'] AS listed,
              DATE '2022-06-01' AS plain, TIMESTAMP 'infinity' AS ts`,
    );
    expect(row).toEqual({
      up: 'infinity',
      down: '-infinity',
      listed: ['infinity', '2022-06-01'],
      plain: '2022-06-01',
      ts: 'infinity',
    });
  });

  it('give 64-bit integers as numbers where exact, in lists and structs too, else as strings', async () => {
    const [row] = await db.allJson(
      `SELECT 42::BIGINT AS top, [1, 2]::BIGINT[] AS listed, {'x': 1::BIGINT, 'y': [3::HUGEINT]} AS nested,
              9007199254740993::BIGINT AS inexact, [18446744073709551615::UBIGINT] AS wide_listed`,
    );
    expect(row).toEqual({
      top: 42,
      listed: [1, 2],
      nested: { x: 1, y: [3] },
      inexact: '9007199254740993',
      wide_listed: ['18446744073709551615'],
    });
  });

  it('give intervals as DuckDB prints them (a timestamp difference reads 6 days 01:40:02.404), in lists too', async () => {
    const [row] = await db.allJson(
      `SELECT TIMESTAMP '2022-06-07 01:40:02.404' - TIMESTAMP '2022-06-01 00:00:00' AS span,
              INTERVAL '14 months 2 days 00:00:01.5' AS long, -INTERVAL 90 MINUTE AS negative,
              [INTERVAL 1 DAY] AS listed`,
    );
    expect(row).toEqual({
      span: '6 days 01:40:02.404',
      long: '1 year 2 months 2 days 00:00:01.5',
      negative: '-01:30:00',
      listed: ['1 day'],
    });
  });
});
