import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { exportQuery } from '../../engine/explore/export.ts';
import { createConsoleQueries } from '../../engine/explore/query.ts';
import { withoutStatementEnds } from '../../engine/explore/statement-end.ts';

// A query ended by a semicolon and a comment runs in the SQL console and exports, as DuckDB runs it:
// the console wraps it in a subquery, where that semicolon was a syntax error.

let db: Db;
beforeAll(async () => {
  db = await openDb();
});
afterAll(() => db?.close());

describe('a console query ended by a semicolon', () => {
  it('runs and exports when a comment follows the semicolon', async () => {
    const sql = 'SELECT 1 AS one; -- checked by hand\n\n-- more notes\n';
    const console = createConsoleQueries(() => db.fork());
    try {
      const result = await console.window({ sql, offset: 0, limit: 10 });
      expect(result.rows).toEqual([{ one: 1 }]);
    } finally {
      await console.close();
    }
    const exported = await exportQuery(db, { sql, format: 'csv' });
    expect(new TextDecoder().decode(exported.content)).toMatch(/^one\r?\n1\r?\n?$/);
  });

  it('blanks only the semicolons that end the statement: not those in strings, names or comments', () => {
    expect(withoutStatementEnds("SELECT ';' AS \"a;b\", $$;$$ AS d, E'\\';' AS e /* ; */; -- ;\n;")).toBe(
      "SELECT ';' AS \"a;b\", $$;$$ AS d, E'\\';' AS e /* ; */  -- ;",
    );
  });

  it('reads a $ inside a name as part of it, not as the start of a dollar-quoted string', async () => {
    // `a$$b` was taken for a $$ string running to the end, so the final semicolon stayed: a syntax error.
    expect(withoutStatementEnds('SELECT 1 AS a$$b, 2 AS c$d$e;')).toBe('SELECT 1 AS a$$b, 2 AS c$d$e');
    expect(withoutStatementEnds('SELECT $$a;$$ AS t,$x$;$x$ AS u;')).toBe('SELECT $$a;$$ AS t,$x$;$x$ AS u');
    const console = createConsoleQueries(() => db.fork());
    try {
      const result = await console.window({ sql: 'SELECT 1 AS a$$b;', offset: 0, limit: 10 });
      expect(result.rows).toEqual([{ a$$b: 1 }]);
    } finally {
      await console.close();
    }
  });

  it('still refuses a second statement after the semicolon, naming why', async () => {
    const console = createConsoleQueries(() => db.fork());
    try {
      await expect(console.window({ sql: 'SELECT 1; SELECT 2', offset: 0, limit: 10 })).rejects.toMatchObject(
        {
          code: 'QUERY_ERROR',
          details: { reason: 'several-statements' },
        },
      );
    } finally {
      await console.close();
    }
  });
});
