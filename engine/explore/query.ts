import { type DuckDBDataChunk, type DuckDBResult, JsonDuckDBValueConverter } from '@duckdb/node-api';
import type { Column, QueryInput, QueryResult } from '../api/contract.ts';
import { LakehouseError } from '../api/errors.ts';
import { type Db, exactWideIntegers, wideIntegerColumns } from '../db/duckdb.ts';
import { checkOneQuery } from './export.ts';
import { suggestLayerTable } from './table-suggestion.ts';

const READ_ONLY =
  'The SQL console is read-only: it runs one query (SELECT, WITH, FROM, VALUES, SHOW, DESCRIBE, SUMMARIZE). To change data, edit a model and run it.';

/** Longest the first window waits for the result's row count; a query slower to count gets none. */
const COUNT_BUDGET_MS = 1000;

/**
 * The SQL console's queries. A query runs once and its rows are read window by window from that one
 * execution, so scrolling never repeats or skips a row: running it again per window with OFFSET would,
 * since a query without ORDER BY may return its rows in another order each time (parallel scans). A
 * window at any other offset than where the last one ended runs the query again and skips to it.
 */
export interface ConsoleQueries {
  /** One window of rows: the first (offset 0) also counts the whole result when that is quick. */
  window(input: QueryInput): Promise<QueryResult>;
  /**
   * Lets the open result go (and the snapshot it reads). With a reason, a window that would have
   * continued it fails saying so instead of running the query again on changed data.
   */
  release(reason?: string): Promise<void>;
  /** Stops whatever the console is running now. */
  interrupt(): void;
  close(): Promise<void>;
}

/** The open result of one query: where its reading stands. */
interface Cursor {
  sql: string;
  result: DuckDBResult;
  columns: Column[];
  /** Row object keys (DuckDB's, with repeated names made unique), and those of 64-bit integers. */
  names: string[];
  wide: string[];
  /** The chunk being read, and its next row. */
  chunk: DuckDBDataChunk | null;
  chunkRow: number;
  /** Rows read (handed out or skipped) so far. */
  position: number;
  done: boolean;
  total: number | null;
}

/**
 * `open` gives a reading connection (Engine.openReader). The console takes two: one holds the open
 * result, the other counts (a second statement on the first would end the result).
 */
export function createConsoleQueries(open: () => Promise<Db>): ConsoleQueries {
  // Opened on first use; a failed open is retried by the next query rather than remembered.
  const connections: { reading?: Promise<Db>; counting?: Promise<Db> } = {};
  // The connections once open, for interrupt(), which cannot wait.
  const opened = new Set<Db>();
  const connection = (which: 'reading' | 'counting'): Promise<Db> => {
    const existing = connections[which];
    if (existing) return existing;
    const opening = open();
    connections[which] = opening;
    opening.then(
      (db) => opened.add(db),
      () => {
        if (connections[which] === opening) delete connections[which];
      },
    );
    return opening;
  };
  let cursor: Cursor | undefined;
  let released: { sql: string; position: number; reason: string } | undefined;

  const release = async (reason?: string) => {
    const open = cursor;
    cursor = undefined;
    // A result read to its end has nothing left to read on in.
    released = open && !open.done && reason ? { sql: open.sql, position: open.position, reason } : undefined;
    // Any statement on the connection ends its open result, and with it the snapshot the result reads.
    if (open && !open.done) await (await connections.reading)?.run('SELECT 1').catch(() => undefined);
  };

  const window = async (input: QueryInput): Promise<QueryResult> => {
    const sql = input.sql.replace(/[\s;]+$/, '');
    const continues = input.offset > 0 && cursor?.sql === sql && cursor.position === input.offset;
    if (!continues && input.offset > 0 && released?.sql === sql && released.position === input.offset) {
      throw new LakehouseError(
        'QUERY_ERROR',
        `The result of this query was let go when ${released.reason}; rows from ${input.offset + 1} on ` +
          'would come from another execution of it, on changed data. Run the query again.',
        { sql: input.sql, reason: 'result-released' },
      );
    }
    const db = await connection('reading');
    if (!continues) {
      await release();
      await checkOneQuery(db, sql, READ_ONLY);
    }
    try {
      if (!continues) {
        cursor = await start(db, sql);
        await read(cursor, input.offset, false);
      }
      const current = cursor!;
      const rows = await read(current, input.limit, true);
      const hasMore = await rowLeft(current);
      if (!hasMore) current.total = current.position;
      else if (input.offset === 0) {
        current.total = await countWithin(await connection('counting'), sql, COUNT_BUDGET_MS);
      }
      return {
        columns: current.columns,
        rows,
        offset: input.offset,
        limit: input.limit,
        hasMore,
        total: current.total,
      };
    } catch (error) {
      cursor = undefined;
      throw new LakehouseError('QUERY_ERROR', await errorInUserText(db, sql, error), { sql: input.sql });
    }
  };

  return {
    window,
    release,
    interrupt() {
      for (const db of opened) db.interrupt();
    },
    async close() {
      cursor = undefined;
      for (const db of [connections.reading, connections.counting]) {
        (await db?.catch(() => undefined))?.close();
      }
      delete connections.reading;
      delete connections.counting;
      opened.clear();
    },
  };
}

/** Starts the query; DuckDB binds it now and computes its rows as they are fetched. */
async function start(db: Db, sql: string): Promise<Cursor> {
  // No newline before the query, so DuckDB's "LINE n" in errors matches the user's lines.
  const result = await db.connection.stream(`SELECT * FROM (${sql}\n) AS __query`);
  const types = result.columnTypes().map((t) => t.toString());
  const names = result.deduplicatedColumnNames();
  return {
    sql,
    result,
    columns: result.columnNames().map((name, i) => ({ name, type: types[i] ?? 'UNKNOWN' })),
    names,
    wide: wideIntegerColumns(names, types),
    chunk: null,
    chunkRow: 0,
    position: 0,
    done: false,
    total: null,
  };
}

/** Reads up to `count` rows on from where the cursor stands: as JSON rows, or skipped unconverted. */
async function read(cursor: Cursor, count: number, convert: boolean): Promise<QueryResult['rows']> {
  const rows: QueryResult['rows'] = [];
  let left = count;
  while (left > 0 && (await rowLeft(cursor))) {
    const chunk = cursor.chunk!;
    const take = Math.min(left, chunk.rowCount - cursor.chunkRow);
    if (convert) {
      for (let row = cursor.chunkRow; row < cursor.chunkRow + take; row++) {
        rows.push(jsonRow(chunk, row, cursor) as QueryResult['rows'][number]);
      }
    }
    cursor.chunkRow += take;
    cursor.position += take;
    left -= take;
  }
  return rows;
}

/** Whether a row is left to read, fetching the next chunk when the current one is used up. */
async function rowLeft(cursor: Cursor): Promise<boolean> {
  while (!cursor.done && (!cursor.chunk || cursor.chunkRow >= cursor.chunk.rowCount)) {
    const next = await cursor.result.fetchChunk();
    cursor.chunk = next && next.rowCount > 0 ? next : null;
    cursor.chunkRow = 0;
    cursor.done = cursor.chunk === null;
  }
  return !cursor.done;
}

/** One row in the JSON form jsonRows gives (DuckDB's JSON values, exact 64-bit integers as numbers). */
function jsonRow(chunk: DuckDBDataChunk, row: number, cursor: Cursor): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  chunk.visitRowValues(row, (value, _row, column, type) => {
    out[cursor.names[column]!] = JsonDuckDBValueConverter(value, type, JsonDuckDBValueConverter);
  });
  return exactWideIntegers(out, cursor.wide);
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
