import type { QueryResult } from '../../engine/api/contract.ts';

/** The console's starting query, until the user writes another. */
const FIRST_QUERY = 'SELECT * FROM fact_customer_search LIMIT 100';

/**
 * What the SQL console shows, for the app's life: its view unmounts when its tab is left, and coming back
 * must find the query and its rows as they were. The rows stay here; the engine's open result behind them
 * may be let go meanwhile (idle for 10 minutes), and scrolling on then says so.
 */
export class ConsoleSession {
  /** The text in the box, run or not. */
  sql = FIRST_QUERY;
  /** The last result, with the rows scrolled in so far. */
  result: QueryResult | null = null;
  /** The SQL the result came from: scrolling reads on with it, whatever the box holds now. */
  ranSql: string | null = null;
  /** The error shown under the box, if any. */
  error: string | null = null;
  /** A query that was still running when the tab was left, and was stopped then: the view offers it again. */
  stoppedOnLeave: string | null = null;
  /** Whether the last query was cancelled: the rows shown, if any, are then the query's before it. */
  cancelled = false;
}
