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
});
