import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakehouseError } from '../../engine/api/errors.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { checkOneQuery, exportQuery } from '../../engine/explore/export.ts';
import { createConsoleQueries } from '../../engine/explore/query.ts';

// A syntax error in the SQL console or an export says which line of the user's text it is on, with
// DuckDB's excerpt and caret, as every other SQL error there does.

const SQL = 'SELECT n,\n  n * 2 AS twice\nFROM range(3) t(n)\nWHERE n = = 1';

let db: Db;
beforeAll(async () => {
  db = await openDb();
});
afterAll(() => db?.close());

async function failure(promise: Promise<unknown>): Promise<LakehouseError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LakehouseError) return error;
    throw error;
  }
  throw new Error('expected a LakehouseError');
}

describe('a syntax error in a console query', () => {
  it('names the line and points at the spot', async () => {
    const error = await failure(checkOneQuery(db, SQL));
    expect(error).toMatchObject({ code: 'QUERY_ERROR', details: { reason: 'syntax' } });
    expect(error.message).toMatch(
      /^Parser Error: syntax error at or near "="\n\nLINE 4: WHERE n = = 1\n {18}\^$/,
    );
  });

  it('does so in query.run and query.export too', async () => {
    const console = createConsoleQueries(() => db.fork());
    try {
      const run = await failure(console.window({ sql: SQL, offset: 0, limit: 10 }));
      expect(run.message).toContain('LINE 4: WHERE n = = 1');
    } finally {
      await console.close();
    }
    const exported = await failure(exportQuery(db, { sql: SQL, format: 'csv' }));
    expect(exported.message).toContain('LINE 4: WHERE n = = 1');
  });

  it('in the second of two statements still names its line, running neither', async () => {
    const error = await failure(checkOneQuery(db, 'CREATE TABLE t AS SELECT 1;\nSELEC 2'));
    expect(error.message).toContain('LINE 2: SELEC 2');
    expect(await db.all("SELECT * FROM duckdb_tables() WHERE table_name = 't'")).toEqual([]);
  });

  it('says a text of only comments holds no query, rather than that the console is read-only', async () => {
    const error = await failure(
      checkOneQuery(db, '-- top customers, to do\n;', 'The SQL console is read-only.'),
    );
    expect(error).toMatchObject({ code: 'QUERY_ERROR', details: { reason: 'no-statement' } });
    expect(error.message).toMatch(/^There is no query to run: the text holds only comments/);
  });
});
