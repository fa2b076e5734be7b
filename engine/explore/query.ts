import type { QueryInput, QueryResult } from '../api/contract.ts';
import { LakehouseError } from '../api/errors.ts';
import { type Db, jsonRows } from '../db/duckdb.ts';
import { checkOneQuery } from './export.ts';
import { suggestLayerTable } from './table-suggestion.ts';

const READ_ONLY =
  'The SQL console is read-only: it runs one query (SELECT, WITH, FROM, VALUES, SHOW, DESCRIBE, SUMMARIZE). To change data, edit a model and run it.';

/** Longest the first window waits for the result's row count; a query slower to count gets none. */
const COUNT_BUDGET_MS = 1000;

/**
 * Runs one read-only query and returns a window of its rows. DuckDB's own parser first checks, without
 * running anything, that the text is exactly one query; the window is then a LIMIT/OFFSET around it, one
 * row longer than asked to tell whether more follow. The first window also counts the whole result when
 * that is quick. `db` is a reading connection (Engine.openReader); interrupting it stops the query.
 */
export async function runQuery(db: Db, input: QueryInput): Promise<QueryResult> {
  const sql = input.sql.replace(/[\s;]+$/, '');
  await checkOneQuery(db, sql, READ_ONLY);
  let result: Awaited<ReturnType<Db['connection']['runAndReadAll']>>;
  try {
    // No newline before the query, so DuckDB's "LINE n" in errors matches the user's lines.
    result = await db.connection.runAndReadAll(
      `SELECT * FROM (${sql}\n) AS __query LIMIT ${input.limit + 1} OFFSET ${input.offset}`,
    );
  } catch (error) {
    throw new LakehouseError('QUERY_ERROR', await errorInUserText(db, sql, error), { sql: input.sql });
  }
  const types = result.columnTypes().map((t) => t.toString());
  const columns = result.columnNames().map((name, i) => ({ name, type: types[i] ?? 'UNKNOWN' }));
  const all = jsonRows(result);
  const hasMore = all.length > input.limit;
  const rows = (hasMore ? all.slice(0, input.limit) : all) as QueryResult['rows'];
  let total: number | null = hasMore ? null : input.offset + rows.length;
  if (hasMore && input.offset === 0) total = await countWithin(db, sql, COUNT_BUDGET_MS);
  return { columns, rows, offset: input.offset, limit: input.limit, hasMore, total };
}

/**
 * The rows of the whole result, or null when counting takes longer than `budgetMs` (a cross join can be
 * quick to page and endless to count): the count is interrupted then, so later reads do not wait for it.
 */
async function countWithin(db: Db, sql: string, budgetMs: number): Promise<number | null> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    db.interrupt();
  }, budgetMs);
  try {
    return Number((await db.scalar<number | bigint>(`SELECT count(*) FROM (${sql}\n) AS __query`)) ?? 0);
  } catch (error) {
    if (timedOut) return null;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** DuckDB's excerpt of the statement at the error, `LINE n: ...` and a caret under the spot. */
const EXCERPT = /\n+LINE \d+:[^\n]*\n[^\n]*$/;

/**
 * The error of the user's own text, not of the window wrapped around it. Binding the text alone (prepare
 * runs nothing) gives an excerpt and caret relative to what they wrote; an error that only running finds
 * keeps its message without the wrapper's excerpt. For a missing table DuckDB suggests from its own
 * catalog (pg_tables, duckdb_constraints); the closest table of a layer is suggested instead, if any.
 */
async function errorInUserText(db: Db, sql: string, runError: unknown): Promise<string> {
  let message = runError instanceof Error ? runError.message : String(runError);
  try {
    const prepared = await db.connection.prepare(sql);
    prepared.destroySync();
    message = message.replace(EXCERPT, '');
  } catch (bindError) {
    message = bindError instanceof Error ? bindError.message : String(bindError);
  }
  return suggestLayerTable(db, message);
}
