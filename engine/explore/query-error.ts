import type { Db } from '../db/duckdb.ts';
import { suggestLayerTable } from './table-suggestion.ts';

/** DuckDB's excerpt of the statement at the error, `LINE n: ...` and a caret under the spot. */
const EXCERPT = /\n+LINE \d+:[^\n]*\n[^\n]*$/;

/**
 * The error of the user's own text, not of the window wrapped around it. Binding the text alone (prepare
 * runs nothing) gives an excerpt and caret relative to what they wrote; an error that only running finds
 * keeps its message without the wrapper's excerpt. For a missing table DuckDB suggests from its own
 * catalog (pg_tables, duckdb_constraints); the closest table of a layer is suggested instead, if any.
 */
export async function errorInUserText(db: Db, sql: string, runError: unknown): Promise<string> {
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
