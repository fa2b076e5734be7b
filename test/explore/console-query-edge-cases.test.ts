import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakehouseError } from '../../engine/api/errors.ts';
import { type Db, literal, openDb } from '../../engine/db/duckdb.ts';
import { createExplorer } from '../../engine/explore/explorer.ts';
import { type ConsoleQueries, createConsoleQueries } from '../../engine/explore/query.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// The SQL console on queries that read but are not plain SELECTs to DuckDB's parser (a PIVOT without
// IN), on queries whose second run, which counts the result, returns other rows than the first, and on
// queries that change the connection they run on (read_csv's rejects_table creates temp tables).

let db: Db;
let consoleQueries: ConsoleQueries;
let work: string;

beforeAll(async () => {
  work = await tempDir('lakehouse-console-edge-');
  db = await openDb();
  await db.run(
    `CREATE TABLE searches AS SELECT i, (['search', 'play'])[i % 2 + 1] AS action FROM range(100) t(i)`,
  );
  consoleQueries = createConsoleQueries(() => db.fork());
});

afterAll(async () => {
  await consoleQueries?.close();
  db?.close();
  if (work) await removeDir(work);
});

const window = (sql: string, limit = 100) => consoleQueries.window({ sql, offset: 0, limit });

async function rejection(promise: Promise<unknown>): Promise<LakehouseError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LakehouseError);
  return error as LakehouseError;
}

describe('the SQL console', () => {
  it('asks a PIVOT for its IN list rather than calling it a statement that changes data', async () => {
    const error = await rejection(window('PIVOT searches ON action USING count(*)'));
    expect(error.code).toBe('QUERY_ERROR');
    expect(error.details.reason).toBe('pivot-without-in');
    expect(error.message).toMatch(
      /^A PIVOT here must list the values its columns come from \(PIVOT \.\.\. ON/,
    );
    expect(error.message).not.toMatch(/read-only|change data/);
    // No type of the values was created.
    expect(await db.scalar(`SELECT count(*) FROM duckdb_types() WHERE NOT internal`).then(Number)).toBe(0);

    const listed = await window(
      `PIVOT (SELECT action FROM searches) ON action IN ('search', 'play') USING count(*)`,
    );
    expect(listed.rows).toEqual([{ search: 50, play: 50 }]);
  });

  it('gives no total for a sample, whose count from another run would be of other rows', async () => {
    const sampled = await window('SELECT i FROM range(100000) t(i) USING SAMPLE 10%', 10);
    expect(sampled).toMatchObject({ hasMore: true, total: null });
    const random = await window('SELECT i FROM range(100000) t(i) WHERE random() < 0.5', 10);
    expect(random).toMatchObject({ hasMore: true, total: null });
    // An order, random or not, keeps the number of rows: counted.
    const shuffled = await window('SELECT i FROM range(100000) t(i) ORDER BY random()', 10);
    expect(shuffled).toMatchObject({ hasMore: true, total: 100_000 });
    const plain = await window('SELECT i, upper(action) FROM searches WHERE i < 60', 10);
    expect(plain).toMatchObject({ hasMore: true, total: 60 });
  });

  it('leaves no temp table a query creates on the connections it counts and exports on', async () => {
    const csv = join(work, 'bad.csv');
    await writeFile(csv, 'a\n1\nx\n');
    // Rows it cannot read go to a temp table named as the query likes, here as a table it reads.
    const rejecting = `SELECT * FROM read_csv(${literal(csv)}, store_rejects = true, rejects_table = 'searches',
      columns = {'a': 'INTEGER'}, header = true), range(1000)`;
    expect(await window(rejecting, 10)).toMatchObject({ hasMore: true });
    // Counted on the same connection: the temp table of one row stood for the table of 100.
    expect(await window('SELECT * FROM searches', 10)).toMatchObject({ hasMore: true, total: 100 });

    const explorer = createExplorer(db);
    const exported = await explorer.exportQuery({ sql: rejecting, format: 'csv' });
    expect(exported.rows).toBe(1000);
    const temporary = await db.all<{ name: string }>(
      `SELECT table_name AS name FROM duckdb_tables() WHERE temporary`,
    );
    expect(temporary).toEqual([]);
    expect(await db.scalar('SELECT count(*) FROM searches').then(Number)).toBe(100);
  });
});
