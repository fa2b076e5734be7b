import type { DuckDBDataChunk, DuckDBResult } from '@duckdb/node-api';
import type { Column, QueryInput, QueryResult } from '../api/contract.ts';
import { LakehouseError } from '../api/errors.ts';
import {
  type Db,
  exactWideIntegers,
  jsonValue,
  literal,
  throwIfStreamFailed,
  wideIntegerColumns,
} from '../db/duckdb.ts';
import { checkOneQuery } from './export.ts';
import { callsThatMayChangeRows } from './query-calls.ts';
import { errorInUserText } from './query-error.ts';
import { withoutStatementEnds } from './statement-end.ts';

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
   * Lets every open result go (and the snapshot each reads). With a reason, a window that would have
   * continued one fails saying so instead of running the query again on changed data.
   */
  release(reason?: string): Promise<void>;
  /** Stops whatever the console is running now. */
  interrupt(): void;
  close(): Promise<void>;
}

/** The open result of one query: where its reading stands. */
interface Cursor {
  sql: string;
  /** The connection reading it, in a transaction of its own (see start). */
  db: Db;
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

/** Results kept open at once, so a console in each of a few windows (or the CLI through the app) reads on in its own. */
const OPEN_RESULTS = 4;
/** An open result not read for this long is let go: it may hold a sorted copy of a large table. */
const IDLE_MS = 10 * 60_000;

/** A connection for one open result. */
interface Slot {
  db: Db;
  cursor?: Cursor;
  lastRead: number;
  idle?: ReturnType<typeof setTimeout>;
}

/**
 * `open` gives a reading connection (Engine.openReader). Each open result has one of its own (another
 * statement on it would end the result), and one more counts.
 */
export function createConsoleQueries(
  open: () => Promise<Db>,
  {
    idleMs = IDLE_MS,
    prepare = async () => undefined,
  }: {
    idleMs?: number;
    /** Run on a connection before each new query on it (the engine's syncMacros), never mid-result. */
    prepare?: (db: Db) => Promise<void>;
  } = {},
): ConsoleQueries {
  const slots: Slot[] = [];
  // Opened on first use; a failed open is retried by the next query rather than remembered.
  let counting: Promise<Db> | undefined;
  let countingDb: Db | undefined;
  // Results let go for a reason, newest first: reading on in one says why.
  let released: { sql: string; position: number; reason: string }[] = [];
  // Windows, releases and idle timers take turns: a connection runs one statement at a time.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = tail.then(fn);
    tail = result.catch(() => undefined);
    return result;
  };

  const countingConnection = (): Promise<Db> => {
    if (counting) return counting;
    const opening = open();
    counting = opening;
    opening.then(
      (db) => (countingDb = db),
      () => {
        if (counting === opening) counting = undefined;
      },
    );
    return opening;
  };

  const letGo = async (slot: Slot, reason?: string) => {
    const cursor = slot.cursor;
    clearTimeout(slot.idle);
    if (!cursor) return;
    slot.cursor = undefined;
    // A result read to its end has nothing left to read on in.
    if (reason && !cursor.done) {
      released = [{ sql: cursor.sql, position: cursor.position, reason }, ...released].slice(
        0,
        OPEN_RESULTS * 2,
      );
    }
    // Ends the result's transaction, and with it the open result and the snapshot it reads.
    await slot.db.run('ROLLBACK').catch(() => undefined);
  };

  const touch = (slot: Slot) => {
    slot.lastRead = Date.now();
    clearTimeout(slot.idle);
    const reason = `it was not read for ${Math.round(idleMs / 60_000)} minutes`;
    slot.idle = setTimeout(() => void serial(() => letGo(slot, reason)), idleMs);
    slot.idle.unref?.();
  };

  /** A connection for a new result: a free one, a new one, or the one whose result was read longest ago. */
  const freeSlot = async (): Promise<Slot> => {
    const free = slots.find((s) => !s.cursor);
    if (free) return free;
    if (slots.length < OPEN_RESULTS) {
      const slot: Slot = { db: await open(), lastRead: 0 };
      slots.push(slot);
      return slot;
    }
    const oldest = slots.reduce((a, b) => (b.lastRead < a.lastRead ? b : a));
    await letGo(oldest, `${OPEN_RESULTS} newer queries took its place`);
    return oldest;
  };

  // Bumped by interrupt(): DuckDB's interrupt stops only the statement running at that instant, so a
  // window also stops itself before each next statement once one came after it was asked for.
  let interrupts = 0;

  const window = async (input: QueryInput, interrupted: () => boolean): Promise<QueryResult> => {
    const stopIfInterrupted = () => {
      if (interrupted()) {
        throw new LakehouseError('QUERY_CANCELLED', 'The query was cancelled.', { reason: 'cancelled' });
      }
    };
    const sql = withoutStatementEnds(input.sql);
    const at = (c: { sql: string; position: number }) => c.sql === sql && c.position === input.offset;
    let slot = input.offset > 0 ? slots.find((s) => s.cursor && at(s.cursor)) : undefined;
    const gone = slot || input.offset === 0 ? undefined : released.find(at);
    if (gone) {
      throw new LakehouseError(
        'QUERY_ERROR',
        `The result of this query was let go when ${gone.reason}; rows from ${input.offset + 1} on ` +
          'would come from another execution of it. Run the query again.',
        { sql: input.sql, reason: 'result-released' },
      );
    }
    const continues = slot !== undefined;
    slot ??= await freeSlot();
    const { db } = slot;
    stopIfInterrupted();
    // The parse tree of a query started here (a window at offset 0 always starts one).
    let statements: unknown[] = [];
    if (!continues) {
      await prepare(db);
      statements = await checkOneQuery(db, input.sql, READ_ONLY);
    }
    try {
      if (!continues) {
        released = released.filter((r) => r.sql !== sql);
        stopIfInterrupted();
        slot.cursor = await start(db, sql);
        await readRows(slot.cursor, input.offset, false, stopIfInterrupted);
      }
      const cursor = slot.cursor!;
      touch(slot);
      const rows = await readRows(cursor, input.limit, true, stopIfInterrupted);
      const hasMore = await rowLeft(cursor, stopIfInterrupted);
      if (!hasMore) cursor.total = cursor.position;
      else if (input.offset === 0) {
        stopIfInterrupted();
        const counter = await countingConnection();
        await prepare(counter);
        if (await sameRowsAgain(counter, statements)) {
          cursor.total = await countWithin(counter, sql, COUNT_BUDGET_MS);
        }
      }
      if (!hasMore) await letGo(slot);
      return {
        columns: cursor.columns,
        rows,
        offset: input.offset,
        limit: input.limit,
        hasMore,
        total: cursor.total,
      };
    } catch (error) {
      clearTimeout(slot.idle);
      slot.cursor = undefined;
      await db.run('ROLLBACK').catch(() => undefined);
      if (error instanceof LakehouseError) throw error;
      throw new LakehouseError('QUERY_ERROR', await errorInUserText(db, sql, error), { sql: input.sql });
    }
  };

  return {
    window: (input) => {
      const asked = interrupts;
      return serial(() => window(input, () => interrupts !== asked));
    },
    release: (reason) =>
      serial(async () => {
        for (const slot of slots) await letGo(slot, reason);
      }),
    interrupt() {
      interrupts += 1;
      for (const slot of slots) slot.db.interrupt();
      countingDb?.interrupt();
    },
    close: () =>
      serial(async () => {
        for (const slot of slots.splice(0)) {
          clearTimeout(slot.idle);
          slot.db.close();
        }
        (await counting?.catch(() => undefined))?.close();
        counting = countingDb = undefined;
      }),
  };
}

/**
 * Starts the query; DuckDB binds it now and computes its rows as they are fetched. In a transaction:
 * a streamed result that fails on a later row ends, through @duckdb/node-api, as if it were complete
 * (114,688 of 200,000 rows, no error), while the failure leaves the transaction aborted (rowLeft).
 */
async function start(db: Db, sql: string): Promise<Cursor> {
  await db.run('ROLLBACK').catch(() => undefined); // A transaction left open by an earlier result.
  await db.run('BEGIN TRANSACTION');
  // No newline before the query, so DuckDB's "LINE n" in errors matches the user's lines.
  const result = await db.connection.stream(`SELECT * FROM (${sql}\n) AS __query`);
  const types = result.columnTypes().map((t) => t.toString());
  const names = result.deduplicatedColumnNames();
  return {
    sql,
    db,
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
async function readRows(
  cursor: Cursor,
  count: number,
  convert: boolean,
  stopIfInterrupted: () => void,
): Promise<QueryResult['rows']> {
  const rows: QueryResult['rows'] = [];
  let left = count;
  while (left > 0 && (await rowLeft(cursor, stopIfInterrupted))) {
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
async function rowLeft(cursor: Cursor, stopIfInterrupted: () => void): Promise<boolean> {
  while (!cursor.done && (!cursor.chunk || cursor.chunkRow >= cursor.chunk.rowCount)) {
    stopIfInterrupted();
    const next = await cursor.result.fetchChunk();
    cursor.chunk = next && next.rowCount > 0 ? next : null;
    cursor.chunkRow = 0;
    cursor.done = cursor.chunk === null;
    if (cursor.done) await throwIfStreamFailed(cursor.db, cursor.sql, cursor.position, stopIfInterrupted);
  }
  return !cursor.done;
}

/** One row in the JSON form jsonRows gives (DuckDB's JSON values, exact 64-bit integers as numbers). */
function jsonRow(chunk: DuckDBDataChunk, row: number, cursor: Cursor): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  chunk.visitRowValues(row, (value, _row, column, type) => {
    out[cursor.names[column]!] = jsonValue(value, type, jsonValue);
  });
  return exactWideIntegers(out, cursor.wide);
}

/**
 * Whether running the query again (to count it) gives as many rows as the run being read: not when it
 * samples or calls a function DuckDB marks VOLATILE (random(), uuid()) outside an ORDER BY (which orders
 * the rows, whatever it calls, and keeps their number). `USING SAMPLE 10%` was counted at 12,288 rows
 * where the result held 6,144; such a result gets no total until it is read to its end.
 */
async function sameRowsAgain(db: Db, statements: unknown[]): Promise<boolean> {
  const { functions, sampled } = callsThatMayChangeRows(statements);
  if (sampled) return false;
  if (functions.size === 0) return true;
  const volatile = await db.scalar<number | bigint>(
    `SELECT count(*) FROM duckdb_functions()
     WHERE stability = 'VOLATILE' AND lower(function_name) IN (${[...functions].map(literal).join(', ')})`,
  );
  return Number(volatile ?? 0) === 0;
}

/**
 * The rows of the whole result, or null when counting takes longer than `budgetMs` (a cross join can be
 * quick to page and endless to count): the count is interrupted then, so later reads do not wait for it.
 * In a transaction rolled back after, as each result is read: temp tables a query creates (read_csv's
 * rejects_table = 'dim_user') would stay on this connection and be what later counts of dim_user count.
 */
async function countWithin(db: Db, sql: string, budgetMs: number): Promise<number | null> {
  let timedOut = false;
  await db.run('BEGIN TRANSACTION');
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
    await db.run('ROLLBACK').catch(() => undefined);
  }
}
