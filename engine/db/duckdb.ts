import { appendFileSync } from 'node:fs';
import {
  type DuckDBConnection,
  DuckDBDateValue,
  DuckDBInstance,
  DuckDBIntervalValue,
  type DuckDBMaterializedResult,
  type DuckDBPreparedStatement,
  DuckDBResultReader,
  DuckDBTypeId,
  type DuckDBValue,
  type DuckDBValueConverter,
  type Json,
  JsonDuckDBValueConverter,
  StatementType,
} from '@duckdb/node-api';
import { LakehouseError } from '../api/errors.ts';

/** A row as plain JavaScript values (exact BIGINT → number, DATE/TIMESTAMP → Date). */
export type Row = Record<string, unknown>;
export type SqlParams = DuckDBValue[] | Record<string, DuckDBValue>;

export interface DbOptions {
  /** DuckDB `memory_limit`, e.g. '1GB'. Above it DuckDB spills to `tempDirectory`. */
  memoryLimit?: string;
  threads?: number;
  tempDirectory?: string;
  readOnly?: boolean;
}

/**
 * The one port the engine uses to talk to DuckDB. A Db owns one instance and one connection, so
 * transactions are plain BEGIN/COMMIT on it; open a second Db for concurrent readers.
 */
export interface Db {
  readonly path: string;
  readonly connection: DuckDBConnection;
  run(sql: string, params?: SqlParams): Promise<void>;
  /** Rows as JS objects: numbers stay numbers, BIGINT becomes bigint, temporal types become strings. */
  all<T = Row>(sql: string, params?: SqlParams): Promise<T[]>;
  /** Rows as JSON-safe objects (BIGINT and temporal values as strings or numbers, per DuckDB's JSON form). */
  allJson<T = Row>(sql: string, params?: SqlParams): Promise<T[]>;
  /** First column of the first row, or undefined. */
  scalar<T = unknown>(sql: string, params?: SqlParams): Promise<T | undefined>;
  /** Runs `fn` inside BEGIN/COMMIT; rolls back if it throws, then rethrows. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Aborts the statement running now (used for cancellation). */
  interrupt(): void;
  /**
   * A second connection on the same database. It reads the last committed state while this one is
   * inside a transaction (DuckDB's MVCC), so readers never wait for, nor disturb, a run.
   */
  fork(): Promise<Db>;
  close(): void;
}

/**
 * Settings every database opens with. DuckDB would otherwise download and load an extension a query
 * mentions (httpfs for an https:// path, ...): nothing the engine needs, since parquet, json and icu are
 * built in, and a download from a SQL text should not happen behind the user's back.
 */
export const DB_DEFAULTS: Readonly<Record<string, string>> = {
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
};

/**
 * How the engine writes: set on a run's connection, and on the I/O floor's (bench/io-floor-outputs.ts),
 * which must write the same bytes the same way to stay a floor.
 */
export async function applyWriteSettings(db: Db): Promise<void> {
  // Row order inside partition files and tables carries no meaning; not keeping it lets DuckDB
  // write in parallel with less memory.
  await db.run('SET preserve_insertion_order = false');
  // DuckDB tries dictionary compression on every text column it writes and keeps it only for
  // low-cardinality ones; the trial makes a 1M-row fact insert 1.5x slower than the FSST it falls
  // back to, for a file 6% smaller (npm run bench:duckdb-transaction).
  await db.run(`SET disabled_compression_methods = 'dictionary'`);
  // A date's commit is durable in the write-ahead log; folding the log into the warehouse file
  // (rewriting every row group a date updated) is done once per run, not after every date: a 1M-event
  // date's COMMIT went from 1.0-1.1 s to 0.24-0.40 s (BENCHMARKS.md). The threshold only bounds a
  // very long run (a date adds about 10 MB of log).
  await db.run(`SET checkpoint_threshold = '1GB'`);
}

export async function openDb(path = ':memory:', options: DbOptions = {}): Promise<Db> {
  const config: Record<string, string> = { ...DB_DEFAULTS };
  if (options.memoryLimit) config.memory_limit = options.memoryLimit;
  if (options.threads) config.threads = String(options.threads);
  if (options.tempDirectory) config.temp_directory = options.tempDirectory;
  if (options.readOnly) config.access_mode = 'READ_ONLY';
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, config);
  } catch (error) {
    // DuckDB says only "Failed to set config" for a bad setting: find which one, and why.
    throw (await invalidSetting(options)) ?? error;
  }
  return wrapConnection(path, instance, await instance.connect(), () => instance.closeSync());
}

async function invalidSetting(options: DbOptions): Promise<LakehouseError | undefined> {
  const settings: [string, string | undefined, string][] = [
    ['memory_limit', options.memoryLimit, "a size such as '1GB' or '512MB'"],
    ['threads', options.threads === undefined ? undefined : String(options.threads), 'a whole number'],
  ];
  const scratch = await DuckDBInstance.create(':memory:');
  try {
    const connection = await scratch.connect();
    for (const [name, value, expected] of settings) {
      if (value === undefined) continue;
      try {
        await connection.run(`SET ${name} = ${literal(value)}`);
      } catch (error) {
        const reason = (error as Error).message.split('\n')[0] ?? '';
        return new LakehouseError(
          'PROJECT_INVALID',
          `settings.${name} "${value}" is not a value DuckDB takes (${reason}). ` +
            `Use ${expected} in lakehouse.yaml's settings, or leave it out.`,
          { setting: name, value, reason, expected },
        );
      }
    }
    return undefined;
  } finally {
    scratch.closeSync();
  }
}

function wrapConnection(
  path: string,
  instance: DuckDBInstance,
  connection: DuckDBConnection,
  closeOwner: () => void,
): Db {
  let closed = false;
  const prepared = createPreparedCache(connection);
  // Closing a connection while a statement runs on it hangs that statement, and the process with it
  // (Ctrl-C on `lakehouse serve` during an export never exited): close() interrupts what runs, and the
  // connection closes when the last statement has ended.
  let running = 0;
  let interrupting: ReturnType<typeof setInterval> | undefined;
  const closeNow = () => {
    clearInterval(interrupting);
    prepared.clear();
    connection.closeSync();
    closeOwner();
  };
  const tracked = async <T>(work: () => Promise<T>): Promise<T> => {
    if (closed) throw new Error(`The database connection to ${path} is closed.`);
    running++;
    try {
      return await work();
    } finally {
      running--;
      if (running === 0 && closed) closeNow();
    }
  };
  const read = (sql: string, params?: SqlParams) =>
    tracked(async () => {
      const reader = new DuckDBResultReader(await profiled(sql, () => prepared.execute(sql, params)));
      await reader.readAll();
      return reader;
    });

  const db: Db = {
    path,
    connection,
    async run(sql, params) {
      await tracked(() => profiled(sql, () => prepared.execute(sql, params)));
    },
    async all<T>(sql: string, params?: SqlParams) {
      return (await read(sql, params)).getRowObjectsJS().map(normaliseRow) as T[];
    },
    async allJson<T>(sql: string, params?: SqlParams) {
      return jsonRows(await read(sql, params)) as T[];
    },
    async scalar<T>(sql: string, params?: SqlParams) {
      const rows = (await read(sql, params)).getRowsJS();
      return normaliseValue(rows[0]?.[0]) as T | undefined;
    },
    async transaction(fn) {
      await tracked(() => connection.run('BEGIN TRANSACTION'));
      try {
        const result = await fn();
        await tracked(() => connection.run('COMMIT'));
        return result;
      } catch (error) {
        await tracked(() => connection.run('ROLLBACK')).catch(() => undefined);
        throw error;
      }
    },
    interrupt() {
      connection.interrupt();
    },
    async fork() {
      // A forked connection is closed on its own; the instance stays with its owner.
      return wrapConnection(path, instance, await instance.connect(), () => undefined);
    },
    close() {
      if (closed) return;
      closed = true;
      if (running === 0) return closeNow();
      // Repeated: DuckDB drops an interrupt that lands while a statement is being prepared.
      connection.interrupt();
      interrupting = setInterval(() => connection.interrupt(), 50);
    },
  };
  return db;
}

/** How many parameterised statements a connection keeps prepared: the engine's own are a few dozen texts. */
export const PREPARED_LIMIT = 128;
/** The statements kept: queries and row changes. */
const KEPT_TYPES = new Set([
  StatementType.SELECT,
  StatementType.INSERT,
  StatementType.UPDATE,
  StatementType.DELETE,
]);

/**
 * Runs statements, keeping those with parameters prepared by their text. The engine's bookkeeping (run
 * records, partition pointers, model dates) runs the same few dozen texts hundreds of times a run, and
 * preparing one costs about as much as running it. DuckDB binds a kept statement again when the
 * catalog changed under it (a table replaced, dropped, re-created), so a kept one answers as a fresh
 * one would. Only queries and row changes are kept; a text with several statements cannot be prepared:
 * both run as before.
 */
function createPreparedCache(connection: DuckDBConnection) {
  const kept = new Map<string, DuckDBPreparedStatement>();
  // Texts run the plain way every time: several statements, or a statement of a kind not kept.
  const notKept = new Set<string>();
  // Statements running now. A kept statement holds one set of values: a second call binding its own
  // while the first runs would change (or crash) the first, so it runs unprepared instead.
  const busy = new Set<DuckDBPreparedStatement>();
  const prepare = async (sql: string): Promise<DuckDBPreparedStatement | undefined> => {
    const found = kept.get(sql);
    if (found) {
      // Most recently used last, so the first entry is the one to let go.
      kept.delete(sql);
      kept.set(sql, found);
      return found;
    }
    if (notKept.has(sql)) return undefined;
    let statement: DuckDBPreparedStatement;
    try {
      statement = await connection.prepare(sql);
    } catch (error) {
      // One that fails to bind (a table not there yet) runs the plain way, which gives DuckDB's own
      // error; several statements never prepare, so they are not tried again.
      const several = /multiple statements/i.test((error as Error).message);
      if (several && notKept.size < PREPARED_LIMIT) notKept.add(sql);
      return undefined;
    }
    if (!KEPT_TYPES.has(statement.statementType)) {
      // DuckDB runs a prepared CREATE ... AS once: run again, it made a table without columns.
      statement.destroySync();
      if (notKept.size < PREPARED_LIMIT) notKept.add(sql);
      return undefined;
    }
    const storedMeanwhile = kept.get(sql);
    if (storedMeanwhile) {
      // Another call of this text prepared it while this one waited: keep one.
      statement.destroySync();
      return storedMeanwhile;
    }
    kept.set(sql, statement);
    if (kept.size > PREPARED_LIMIT) {
      const [oldest, statementOut] = kept.entries().next().value as [string, DuckDBPreparedStatement];
      kept.delete(oldest);
      // One still running is destroyed when it ends.
      if (!busy.has(statementOut)) statementOut.destroySync();
    }
    return statement;
  };
  return {
    async execute(sql: string, params?: SqlParams): Promise<DuckDBMaterializedResult> {
      const statement = params ? await prepare(sql) : undefined;
      if (!statement || busy.has(statement)) return connection.run(sql, params);
      busy.add(statement);
      try {
        statement.clearBindings();
        statement.bind(params!);
        return await statement.run();
      } finally {
        busy.delete(statement);
        if (kept.get(sql) !== statement) statement.destroySync();
      }
    },
    clear() {
      for (const statement of kept.values()) if (!busy.has(statement)) statement.destroySync();
      kept.clear();
      notKept.clear();
    },
  };
}

// LAKEHOUSE_PROFILE=<file> appends one line per statement (its start in ms since the process began, wall ms,
// process CPU ms, then the SQL's start): where a run's time goes, statement by statement, without a profiler;
// the gaps between one statement's end and the next one's start are the engine's own work. Off unless set.
const PROFILE_FILE = process.env.LAKEHOUSE_PROFILE;
// LAKEHOUSE_PROFILE_CHARS=<n> keeps more of each statement (default 160), to re-run one alone.
const PROFILE_CHARS = Number(process.env.LAKEHOUSE_PROFILE_CHARS ?? 160);

async function profiled<T>(sql: string, fn: () => Promise<T>): Promise<T> {
  if (!PROFILE_FILE) return fn();
  const started = performance.now();
  const cpu = process.cpuUsage();
  try {
    return await fn();
  } finally {
    const ms = (performance.now() - started).toFixed(1);
    const used = process.cpuUsage(cpu);
    const cpuMs = ((used.user + used.system) / 1000).toFixed(0);
    appendFileSync(
      PROFILE_FILE,
      `${started.toFixed(1)}\t${ms}\t${cpuMs}\t${sql.replace(/\s+/g, ' ').slice(0, PROFILE_CHARS)}\n`,
    );
  }
}

// DATE and TIMESTAMP come back from getRowObjectsJS as JS Date objects (UTC-based); keep them as Dates,
// but turn small bigints into numbers where exact so callers can compare with plain literals.
function normaliseRow(row: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) out[key] = normaliseValue(value);
  return out;
}

function normaliseValue(value: unknown): unknown {
  if (
    typeof value === 'bigint' &&
    value <= BigInt(Number.MAX_SAFE_INTEGER) &&
    value >= BigInt(Number.MIN_SAFE_INTEGER)
  ) {
    return Number(value);
  }
  return value;
}

/**
 * DuckDB's error message without the excerpt of the statement it failed on ("LINE n: ..." and its
 * caret): the statement is the engine's wrapper around the user's SQL, which would only confuse. The
 * hint lines (Did you mean ...?, Candidate bindings: ...) stay.
 */
export function errorWithoutStatement(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\n*LINE \d+:[\s\S]*$/, '').trimEnd();
}

/** Quotes an SQL identifier (table, column, schema) so user-supplied names are never pasted raw. */
/** The connection's temporary tables and views, with the keyword that drops each (`DROP TABLE`, `DROP VIEW`). */
export function tempRelations(db: Db): Promise<{ name: string; kind: 'TABLE' | 'VIEW' }[]> {
  return db.all<{ name: string; kind: 'TABLE' | 'VIEW' }>(
    `SELECT table_name AS name, 'TABLE' AS kind FROM duckdb_tables() WHERE temporary
     UNION ALL SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary`,
  );
}

export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes an SQL string literal. */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * One file's path as the argument of read_parquet, read_csv, parquet_metadata and the like: quoted, with
 * the characters DuckDB globs on (`*`, `?`, `[`) put in brackets, so the path names that file alone. As a
 * pattern, `part[12].parquet` read `part1.parquet` instead, and `part-?.parquet` both files.
 */
export function pathLiteral(path: string): string {
  return literal(path.replace(/[*?[]/g, (c) => `[${c}]`));
}

/**
 * Reading files the engine names, never with columns guessed from their folders: DuckDB otherwise reads
 * every `key=value` folder of a path as a Hive partition column, so under a project folder named
 * `category=archive` every row's category read 'archive'. For read_parquet, read_json and read_csv.
 */
export const NO_HIVE_COLUMNS = 'hive_partitioning = false';

/** `read_parquet` of one file or a list of files (see NO_HIVE_COLUMNS), with further options. */
export function readParquet(paths: string | readonly string[], options = ''): string {
  const files = typeof paths === 'string' ? pathLiteral(paths) : `[${paths.map(pathLiteral).join(', ')}]`;
  return `read_parquet(${files}, ${NO_HIVE_COLUMNS}${options ? `, ${options}` : ''})`;
}

/** A qualified name `"schema"."table"`. */
export function qualified(schema: string, table: string): string {
  return `${ident(schema)}.${ident(table)}`;
}

/**
 * DuckDB's JSON form of one value, nested values included, except that DATE 'infinity' and '-infinity'
 * read as DuckDB prints them (the client library formats their sentinel day counts as real dates,
 * 5881580-07-11), intervals read as DuckDB prints them (`6 days 01:40:02.404`), and that 64-bit integers, strings in that form, are numbers whenever that is exact:
 * in lists and structs too, where the columns' types alone cannot say where they are.
 */
export const jsonValue: DuckDBValueConverter<Json> = (value, type, converter) => {
  if (typeof value === 'number' && Number.isFinite(value) && type.typeId === DuckDBTypeId.FLOAT) {
    return shortestFloat(value);
  }
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof DuckDBDateValue) {
    if (value.days === DuckDBDateValue.PosInf.days) return 'infinity';
    if (value.days === DuckDBDateValue.NegInf.days) return '-infinity';
  }
  // The library's JSON form is {months, days, micros} with micros a string; scripts want DuckDB's text.
  if (value instanceof DuckDBIntervalValue) return value.toString();
  return JsonDuckDBValueConverter(value, type, converter);
};

/**
 * A FLOAT (32-bit) value as the shortest decimal that reads back as the same float, as DuckDB prints it:
 * widened to a JS number, FLOAT 0.1 showed as 0.10000000149011612.
 */
export function shortestFloat(value: number): number {
  if (!Number.isFinite(value)) return value;
  const single = Math.fround(value);
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(single.toPrecision(digits));
    if (Math.fround(candidate) === single) return candidate;
  }
  return Number(single.toPrecision(9));
}

const WIDE_INTEGER = /^(BIGINT|HUGEINT|UBIGINT|UINTEGER|UHUGEINT)$/;

/**
 * Rows in DuckDB's JSON form (dates and timestamps as wall-clock strings, lists as arrays), except that
 * 64-bit integers, which that form gives as strings, become numbers whenever they are exact.
 */
export function jsonRows(reader: DuckDBResultReader): Record<string, unknown>[] {
  const rows = reader.convertRowObjects(jsonValue) as Record<string, unknown>[];
  const wide = wideIntegerColumns(
    reader.columnNames(),
    reader.columnTypes().map((t) => t.toString()),
  );
  if (wide.length === 0) return rows;
  for (const row of rows) exactWideIntegers(row, wide);
  return rows;
}

/** One chunk of a streamed result: how many rows it holds, and those rows in jsonRows' form when asked. */
export interface JsonRowBatch {
  rowCount: number;
  rows(): Record<string, unknown>[];
}

/**
 * A query's rows chunk by chunk from DuckDB's streaming result, in jsonRows' form, so a result of millions
 * of rows is never held whole: only the chunk being read (2048 rows) is in memory.
 */
export async function streamJsonRows(
  connection: DuckDBConnection,
  sql: string,
): Promise<{ columns: { name: string; type: string }[]; batches: AsyncGenerator<JsonRowBatch> }> {
  const result = await connection.stream(sql);
  const types = result.columnTypes().map((t) => t.toString());
  const names = result.deduplicatedColumnNames();
  const wide = wideIntegerColumns(names, types);
  async function* batches(): AsyncGenerator<JsonRowBatch> {
    for (
      let chunk = await result.fetchChunk();
      chunk && chunk.rowCount > 0;
      chunk = await result.fetchChunk()
    ) {
      const current = chunk;
      yield {
        rowCount: current.rowCount,
        rows: () => {
          const rows: Record<string, unknown>[] = [];
          for (let row = 0; row < current.rowCount; row++) {
            const out: Record<string, unknown> = {};
            current.visitRowValues(row, (value, _row, column, type) => {
              out[names[column]!] = jsonValue(value, type, jsonValue);
            });
            rows.push(exactWideIntegers(out, wide));
          }
          return rows;
        },
      };
    }
  }
  return {
    columns: result.columnNames().map((name, i) => ({ name, type: types[i] ?? 'UNKNOWN' })),
    batches: batches(),
  };
}

/**
 * Call at the end of a result streamed inside a transaction of its own. Through @duckdb/node-api a result
 * that fails on a later row (a cast) ends as if it were complete, while the failure leaves the transaction
 * aborted. When it is, rolls back and throws DuckDB's error, read by running the query again past the rows
 * read, counting whole rows so every column is computed (count(*) or a LIMIT would leave them out).
 * `beforeRerun` may throw instead (a cancel ends a result so too, and stays a cancel).
 */
export async function throwIfStreamFailed(
  db: Db,
  sql: string,
  rowsRead: number,
  beforeRerun?: () => void,
): Promise<void> {
  const aborted = await db.run('SELECT 1').then(
    () => false,
    () => true,
  );
  if (!aborted) return;
  await db.run('ROLLBACK');
  beforeRerun?.();
  await db.all(`SELECT count(__query) FROM (SELECT * FROM (${sql}\n) OFFSET ${rowsRead}) AS __query`);
  throw new LakehouseError(
    'QUERY_ERROR',
    `The query failed after ${rowsRead} rows, and DuckDB did not say why (it did not fail when run again from there): run it again.`,
    { sql },
  );
}

/** The columns whose JSON form is a string because the type is 64 bits or wider. */
export function wideIntegerColumns(names: string[], types: string[]): string[] {
  return names.filter((_, i) => WIDE_INTEGER.test(types[i] ?? ''));
}

/** Turns the `wide` columns' values into numbers where that is exact, in place. */
export function exactWideIntegers(row: Record<string, unknown>, wide: string[]): Record<string, unknown> {
  for (const name of wide) {
    const value = row[name];
    if (typeof value === 'string' && Number.isSafeInteger(Number(value))) row[name] = Number(value);
  }
  return row;
}
