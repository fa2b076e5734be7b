import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { resultToArrow, wireSelectList } from '../../engine/explore/arrow.ts';

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

  it('give FLOAT values as DuckDB prints them (0.1, not 0.10000000149011612), in lists too', async () => {
    const [row] = await db.allJson(
      `SELECT 0.1::FLOAT AS f, 1.25e3::REAL AS r, [0.1::FLOAT, 2.5::FLOAT] AS listed, 0.1::DOUBLE AS d,
              1e-7::FLOAT AS tiny, 16777217::FLOAT AS big, 'nan'::FLOAT AS nan`,
    );
    expect(row).toEqual({
      f: 0.1,
      r: 1250,
      listed: [0.1, 2.5],
      d: 0.1,
      tiny: 1e-7,
      big: 16777216,
      nan: 'NaN',
    });
  });
});

describe('table windows in Arrow', () => {
  it('carry FLOAT values as DuckDB prints them, not widened to 0.10000000149011612', async () => {
    const columns = [
      { name: 'f', type: 'FLOAT' },
      { name: 'd', type: 'DOUBLE' },
    ];
    const result = await db.connection.runAndReadAll(
      `SELECT ${wireSelectList(columns)} FROM (SELECT 0.1::FLOAT AS f, 0.1::DOUBLE AS d UNION ALL SELECT NULL, 2.5)`,
    );
    const table = tableFromIPC(resultToArrow(columns, result));
    expect(table.toArray().map((r) => ({ ...r.toJSON() }))).toEqual([
      { f: 0.1, d: 0.1 },
      { f: null, d: 2.5 },
    ]);
  });
});
