import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnFilter } from '../../engine/api/contract.ts';
import { LakehouseError } from '../../engine/api/errors.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { createExplorer, type Explorer } from '../../engine/explore/explorer.ts';

// Comparisons on UNION columns, member by member. Cast to the union, '42' took the VARCHAR member only
// (the INTEGER 42 shown beside it was left out), `< 10` compared tags first (every INTEGER passed), and a
// union without a text member failed with DuckDB's conversion error for any value.

const TABLE = 'gold.mixed_values';
let db: Db;
let explorer: Explorer;

beforeAll(async () => {
  db = await openDb();
  await db.run('CREATE SCHEMA gold');
  await db.run(
    `CREATE TABLE ${TABLE} (id INTEGER, v UNION(num INTEGER, str VARCHAR), w UNION(n INTEGER, "the day" DATE))`,
  );
  await db.run(
    `INSERT INTO ${TABLE} VALUES (1, 42, 3), (2, 'hello', DATE '2022-06-01'), (3, '42', 42), (4, NULL, NULL),
       (5, 7, DATE '2022-06-02'), (6, '100', 7)`,
  );
  explorer = createExplorer(db);
});

afterAll(() => db?.close());

/** The ids of the rows that pass, in table order, and the count the grid is given. */
async function passing(column: string, op: ColumnFilter['op'], value: string) {
  const window = await explorer.window({
    table: TABLE,
    offset: 0,
    limit: 100,
    sort: [],
    filters: [{ column, op, value }],
  });
  const ids = tableFromIPC(window.arrow)
    .toArray()
    .map((row) => Number(row.toJSON().id));
  expect(window.totalRows).toBe(ids.length);
  return ids;
}

describe('a comparison on a UNION column', () => {
  it.each([
    ['v', 'eq', '42', [1, 3]],
    ['v', 'eq', 'hello', [2]],
    ['v', 'ne', '42', [2, 5, 6]],
    ['v', 'lt', '10', [5]],
    ['v', 'eq', '42.5', []],
    ['w', 'eq', '7', [6]],
    ['w', 'eq', '2022-06-01', [2]],
    ['w', 'lt', '2022-06-02', [2]],
    ['w', 'ge', '7', [3, 6]],
  ] as const)('%s %s %s holds on the rows whose member compares so', async (column, op, value, ids) => {
    expect(await passing(column, op, value)).toEqual(ids);
  });

  it('refuses a value no member takes, naming the members', async () => {
    const error = await passing('w', 'eq', 'hello').then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LakehouseError);
    expect((error as LakehouseError).code).toBe('INVALID_ARGUMENT');
    expect((error as LakehouseError).message).toBe(
      `Filter on ${TABLE}.w: "hello" is not a valid UNION(n INTEGER, "the day" DATE). ` +
        "Give a value of one of its members' types (INTEGER, DATE).",
    );
  });
});
