import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { QueryExport, QueryExportInput } from '../api/contract.ts';
import { LakehouseError, toLakehouseError } from '../api/errors.ts';
import { type Db, ident, literal } from '../db/duckdb.ts';
import { errorInUserText } from './query-error.ts';
import { withoutStatementEnds } from './statement-end.ts';

/** Largest file sent back as a download (over IPC or HTTP, held in memory on both sides). */
const MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024;
/** How often a download's file is measured while DuckDB writes it: a write past the limit stops this soon. */
const SIZE_CHECK_MS = 50;

const NOT_A_QUERY =
  'Export takes one read-only query (SELECT, WITH, FROM, VALUES); the warehouse changes through runs only.';

export type ExportFormat = QueryExportInput['format'];

/**
 * query.export: the whole result of one read-only query as CSV (header, RFC 4180 quoting: fields with
 * commas, quotes or newlines quoted, quotes doubled) or Parquet, sent back in `content` for a download.
 * The API takes no path: whoever holds it must not be able to write files where the engine can.
 */
export async function exportQuery(
  db: Db,
  input: QueryExportInput,
  maxBytes = MAX_DOWNLOAD_BYTES,
  /** The download's name before its time stamp. */
  name = 'query',
): Promise<QueryExport> {
  const scratch = await mkdtemp(join(tmpdir(), 'lakehouse-export-'));
  try {
    const target = join(scratch, `query.${input.format}`);
    // The file is measured as DuckDB writes it, and the write stopped once it passes the limit: a 10M-row
    // CSV was refused only when whole, after minutes of work and 1.4 GB of disk. The scratch folder goes.
    const watch = watchSize(target, maxBytes, () => db.interrupt());
    let rows: number;
    try {
      rows = await copyQuery(db, input.sql, input.format, target);
    } catch (error) {
      if (watch.passed()) throw tooBig(input.format, watch.passed() as number, maxBytes, true);
      throw error;
    } finally {
      watch.stop();
    }
    const bytes = (await stat(target)).size;
    if (bytes > maxBytes) throw tooBig(input.format, bytes, maxBytes, false);
    return {
      format: input.format,
      rows,
      bytes,
      fileName: `${name}-${timestamp()}.${input.format}`,
      content: new Uint8Array(await readFile(target)),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Measures `path` every SIZE_CHECK_MS until stopped; once it is larger than maxBytes, calls `stop` (again
 * at every check: an interrupt stops only the statement running at that instant). `passed` gives the
 * size it was seen at, or null.
 */
function watchSize(path: string, maxBytes: number, stop: () => void) {
  let passed: number | null = null;
  let watching = true;
  const timer = setInterval(() => {
    if (passed !== null) return stop();
    stat(path).then(
      ({ size }) => {
        // Not once stopped: the connection may be running the next statement, which must go on.
        if (watching && size > maxBytes && passed === null) {
          passed = size;
          stop();
        }
      },
      () => undefined, // Not created yet.
    );
  }, SIZE_CHECK_MS);
  return {
    passed: () => passed,
    stop: () => {
      watching = false;
      clearInterval(timer);
    },
  };
}

/** A size in MB: one decimal below 10 MB, so a file just past a small limit does not read as the limit. */
export function megabytes(bytes: number): string {
  const mb = bytes / 1048576;
  return `${mb < 10 ? mb.toFixed(1).replace(/\.0$/, '') : Math.round(mb).toLocaleString('en-US')} MB`;
}

/** The refusal of a download past the limit, with the ways to get the rows anyway. */
function tooBig(format: ExportFormat, bytes: number, maxBytes: number, stopped: boolean): LakehouseError {
  return new LakehouseError(
    'INVALID_ARGUMENT',
    `${stopped ? `The export passed ${megabytes(bytes)} and was stopped` : `The export is ${megabytes(bytes)}`}: a download ` +
      `holds at most ${megabytes(maxBytes)}. Export fewer rows or columns (a WHERE, a LIMIT or an aggregate)` +
      `${format === 'csv' ? ', or as Parquet, several times smaller,' : ''} or write every row with the CLI: ` +
      `lakehouse query <project> "<sql>" --json > rows.json`,
    { bytes, limit: maxBytes, stopped },
  );
}

/**
 * Writes a query's whole result to `path` (never over an existing file), for callers inside the
 * process (benchmarks); the API has no way to reach it. Returns the rows and bytes written.
 */
export async function exportQueryToFile(
  db: Db,
  input: QueryExportInput,
  path: string,
): Promise<{ rows: number; bytes: number }> {
  if (!isAbsolute(path)) {
    throw new LakehouseError('INVALID_ARGUMENT', `Export path ${path} is not absolute: give the full path.`, {
      path,
    });
  }
  const parent = await stat(dirname(path)).catch(() => null);
  if (!parent?.isDirectory()) {
    throw new LakehouseError('INVALID_ARGUMENT', `Cannot export to ${path}: its folder does not exist.`, {
      path,
    });
  }
  if (await stat(path).catch(() => null)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${path} already exists; choose another file name or delete it first.`,
      { path },
    );
  }
  const rows = await copyQuery(db, input.sql, input.format, path);
  return { rows, bytes: (await stat(path)).size };
}

/** COPY of one checked read-only query to `target`; returns the rows written. */
async function copyQuery(db: Db, text: string, format: ExportFormat, target: string): Promise<number> {
  await checkOneQuery(db, text);
  const sql = withoutStatementEnds(text);
  const options = format === 'csv' ? `(FORMAT csv, HEADER true)` : `(FORMAT parquet, COMPRESSION zstd)`;
  // In a transaction rolled back after: a query may still change the connection, as read_csv(...,
  // store_rejects = true, rejects_table = 'dim_user') creates temp tables that would outlive the export
  // and stand for gold's tables of those names on it. The written file stays.
  await db.run('BEGIN TRANSACTION');
  const rollback = () => db.run('ROLLBACK').catch(() => undefined);
  let nested: string[] = [];
  try {
    // Wrapped as the console wraps it: COPY takes only a SELECT, and DESCRIBE, SHOW and SUMMARIZE (which
    // the console runs) failed with a syntax error. A subquery's ORDER BY still orders what is written.
    const query = `(${sql}\n) AS __query`;
    const parquet = format === 'parquet' ? await parquetExact(db, query) : null;
    nested = parquet?.nested ?? [];
    const [copied] = await db.all<{ Count?: number; count?: number }>(
      `COPY (SELECT ${parquet?.select ?? '*'} FROM ${query}) TO ${literal(target)} ${options}`,
    );
    await rollback();
    return Number(copied?.Count ?? copied?.count ?? 0);
  } catch (error) {
    await rollback();
    const tooWide = wideIntegerError(error, nested, text);
    if (tooWide) throw tooWide;
    const failure = toLakehouseError(error, 'QUERY_ERROR');
    // About the text as written, as the console's errors are: not the COPY wrapped around it.
    const message = failure.code === 'QUERY_ERROR' ? await errorInUserText(db, sql, error) : failure.message;
    throw new LakehouseError(failure.code, message, { sql: text });
  }
}

/** A 128-bit integer type where a column's type names one (HUGEINT, a STRUCT's UHUGEINT[], ...). */
const WIDE_INTEGER = /\bU?HUGEINT(?=[,)[]|$)/g;
/** The largest number of 38 digits: DuckDB's widest DECIMAL, and Parquet's as DuckDB writes it. */
const MAX_38_DIGITS = '9'.repeat(38);
/** Starts the error a 128-bit integer past 38 digits raises inside the COPY (wideIntegerError). */
const WIDE_VALUE_MARK = 'lakehouse-wide-integer:';

/**
 * The SELECT list that writes a query's HUGEINT and UHUGEINT values (also inside lists and structs) to
 * Parquet whole, as DECIMAL(38,0): DuckDB writes them as DOUBLE, so 2^63 + 1 came back as 2^63. Null
 * when the query has none. `nested` names the columns holding them inside lists or structs, for
 * wideIntegerError.
 */
async function parquetExact(db: Db, query: string): Promise<{ select: string; nested: string[] } | null> {
  const columns = await db.all<{ column_name: string; column_type: string }>(
    `DESCRIBE SELECT * FROM ${query}`,
  );
  const wide = columns.filter((c) => new RegExp(WIDE_INTEGER.source).test(c.column_type));
  if (wide.length === 0) return null;
  const replaced = wide.map(({ column_name: name, column_type: type }) => {
    const c = ident(name);
    if (type !== 'HUGEINT' && type !== 'UHUGEINT') {
      return `CAST(${c} AS ${type.replace(WIDE_INTEGER, 'DECIMAL(38,0)')}) AS ${c}`;
    }
    // Past 38 digits there is no exact Parquet number: refused, naming the column and the value, rather
    // than written as text, which would change the column's type under whoever reads the file.
    const max = `CAST('${MAX_38_DIGITS}' AS ${type})`;
    const past = type === 'HUGEINT' ? `${c} > ${max} OR ${c} < -${max}` : `${c} > ${max}`;
    const message = `${literal(`${WIDE_VALUE_MARK}${name}:`)} || CAST(${c} AS VARCHAR)`;
    return `CASE WHEN ${past} THEN error(${message}) ELSE CAST(${c} AS DECIMAL(38,0)) END AS ${c}`;
  });
  const nested = wide.filter((c) => c.column_type !== 'HUGEINT' && c.column_type !== 'UHUGEINT');
  return { select: `* REPLACE (${replaced.join(', ')})`, nested: nested.map((c) => c.column_name) };
}

/**
 * The refusal of a Parquet export holding a 128-bit integer past 38 digits (raised by parquetExact's
 * SELECT, or by DuckDB's cast of a nested one), with the ways to export it; null for any other error.
 */
function wideIntegerError(error: unknown, nestedColumns: string[], sql: string): LakehouseError | null {
  const message = error instanceof Error ? error.message : String(error);
  const marked = new RegExp(`${WIDE_VALUE_MARK}(.*):(-?\\d+)`).exec(message);
  const nested = /Could not cast value (-?\d+) to DECIMAL\(38,0\)/.exec(message);
  if (!marked && !(nested && nestedColumns.length > 0)) return null;
  const columns = marked ? [marked[1] as string] : nestedColumns;
  const value = (marked ? marked[2] : nested?.[1]) as string;
  const named = columns.map((c) => `"${c}"`).join(', ');
  return new LakehouseError(
    'INVALID_ARGUMENT',
    `${columns.length === 1 ? `Column ${named} holds` : `One of the columns ${named} holds`} ${value}, ` +
      'past the 38 digits a Parquet number holds exactly (DuckDB would write it as a DOUBLE, losing digits). ' +
      `Export as CSV, which keeps every digit, or cast it to text in the query: CAST(${ident(columns[0] as string)} AS VARCHAR).`,
    { sql, columns, value },
  );
}

/**
 * DuckDB's own parser says, without running anything, whether the text is exactly one query; if not,
 * QUERY_ERROR with the parser's error (and its character position) or `notAQuery`. Returns the query's
 * parse tree (json_serialize_sql's statements).
 */
export async function checkOneQuery(db: Db, sql: string, notAQuery = NOT_A_QUERY): Promise<unknown[]> {
  const tree = JSON.parse(
    String((await db.scalar(`SELECT json_serialize_sql(${literal(sql)})`)) ?? '{}'),
  ) as {
    error?: boolean;
    error_type?: string;
    error_message?: string;
    position?: string;
    statements?: unknown[];
  };
  if (tree.error) {
    const parserError = tree.error_type === 'parser';
    // A PIVOT without IN (...) reads, but DuckDB's parser makes it two statements (the first creates a
    // type of the values found): refused, it must not read as a statement that changes data.
    if (!parserError && /\bPIVOT\b/i.test(sql)) {
      throw new LakehouseError(
        'QUERY_ERROR',
        "A PIVOT here must list the values its columns come from (PIVOT ... ON action IN ('search', 'play') " +
          'USING count(*)): without IN, DuckDB first runs a statement of its own that creates a type of them.',
        { sql, reason: 'pivot-without-in' },
      );
    }
    throw new LakehouseError(
      'QUERY_ERROR',
      parserError ? await syntaxError(db, sql, tree.error_message) : notAQuery,
      parserError
        ? { sql, reason: 'syntax', position: tree.position === undefined ? null : Number(tree.position) }
        : { sql, reason: 'not-a-query' },
    );
  }
  // Only comments: nothing to run, and nothing that tried to write, whatever the read-only message says.
  if ((tree.statements?.length ?? 0) === 0) {
    throw new LakehouseError(
      'QUERY_ERROR',
      'There is no query to run: the text holds only comments or semicolons. Write one query (SELECT, WITH, FROM, VALUES, ...).',
      { sql, reason: 'no-statement' },
    );
  }
  if ((tree.statements?.length ?? 0) !== 1) {
    throw new LakehouseError(
      'QUERY_ERROR',
      `${notAQuery} This text holds ${tree.statements?.length ?? 0} statements.`,
      {
        sql,
        reason: 'several-statements',
      },
    );
  }
  const refused = [...calledFunctions(tree.statements)].filter((name) => WRITING_FUNCTIONS.has(name)).sort();
  if (refused.length > 0) {
    throw new LakehouseError(
      'QUERY_ERROR',
      `${notAQuery} It calls ${refused.join(', ')}, which ${refused.length === 1 ? 'writes' : 'write'} files, ` +
        'changes the session for later queries, or runs SQL text no check sees.',
      { sql, reason: 'writing-function', functions: refused },
    );
  }
  return tree.statements ?? [];
}

/**
 * Functions a read-only query may not call, though DuckDB runs them inside a SELECT: profiling and
 * logging write files at any path the caller names, checkpoints write the warehouse, the parser switches
 * and log settings outlive the query, and query(), query_table() and json_execute_serialized_sql() run
 * SQL text that this check never parses. arrow_scan reads memory at an address it is given.
 */
const WRITING_FUNCTIONS = new Set([
  'enable_profiling',
  'disable_profiling',
  'enable_logging',
  'disable_logging',
  'truncate_duckdb_logs',
  'write_log',
  'checkpoint',
  'force_checkpoint',
  'enable_peg_parser',
  'disable_peg_parser',
  'query',
  'query_table',
  'json_execute_serialized_sql',
  'arrow_scan',
  'arrow_scan_dumb',
  'nextval',
]);

/** The name of every function a serialized statement calls, anywhere in it (lower case, as DuckDB binds). */
function calledFunctions(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) calledFunctions(item, found);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'function_name' && typeof value === 'string') found.add(value.toLowerCase());
      else calledFunctions(value, found);
    }
  }
  return found;
}

/**
 * A syntax error with DuckDB's excerpt and caret (`LINE 3: ...`), which json_serialize_sql leaves out:
 * without them "syntax error at or near "="" does not say which line of a long query. Extracting the
 * statements only parses, so nothing runs.
 */
async function syntaxError(db: Db, sql: string, bare: string | undefined): Promise<string> {
  try {
    await db.connection.extractStatements(sql);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const at = message.indexOf('Parser Error: ');
    if (at >= 0) return message.slice(at);
  }
  return `Parser Error: ${bare}`;
}

function timestamp(): string {
  return new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
}
