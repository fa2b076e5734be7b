import { LakehouseError } from '../engine/api/errors.ts';
import { type Db, literal } from '../engine/db/duckdb.ts';
import { checkOneQuery } from '../engine/explore/export.ts';
import { callsThatMayChangeRows } from '../engine/explore/query-calls.ts';
import { withoutStatementEnds } from '../engine/explore/statement-end.ts';

const READS_ONLY =
  'lakehouse query only reads: one query (SELECT, WITH, FROM, VALUES, SHOW, DESCRIBE, SUMMARIZE). ' +
  'To change data, edit a model and run it: lakehouse run.';

/**
 * Refuses, before anything runs, a text that is not exactly one read query, with the same words whether
 * the warehouse is read here or through the open app (whose SQL console applies the same parser check).
 * `db` only parses: any connection will do. Nothing to run and several statements are usage errors (exit 2).
 */
export async function checkCommandLineQuery(db: Db, sql: string): Promise<void> {
  try {
    await checkOneQuery(db, sql, READS_ONLY);
  } catch (error) {
    const reason = error instanceof LakehouseError ? error.details.reason : undefined;
    if (reason === 'no-statement') {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        'There is no query to run: the SQL holds only blanks, comments or semicolons. ' +
          'Give one query, e.g. lakehouse query ./demo "SELECT 1".',
      );
    }
    if (reason === 'several-statements') {
      const count = await db.connection.extractStatements(sql).then((s) => s.count);
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `lakehouse query runs one statement; this SQL holds ${count}. Run them one at a time.`,
      );
    }
    if (reason === 'not-a-query') throw new LakehouseError('QUERY_ERROR', READS_ONLY, { sql });
    throw error;
  }
}

/**
 * Whether the query may be run a second time to count its rows with `count(*)` (DuckDB then reads no
 * column): one SELECT whose rows cannot change between two runs, so the count is that of the rows shown.
 * No sample, and every function DuckDB knows as CONSISTENT (not random(), uuid(), now(), nextval(), nor a
 * macro of the project's, whose body is not checked). False for anything that does not parse as one.
 */
export async function repeatableQuery(db: Db, sql: string): Promise<boolean> {
  return isRepeatable(db, await parseTree(db, sql));
}

/** DuckDB's parse tree of the query (json_serialize_sql), read once for both checks. */
type ParseTree = { error?: boolean; statements?: unknown[] };
async function parseTree(db: Db, sql: string): Promise<ParseTree> {
  return JSON.parse(String((await db.scalar(`SELECT json_serialize_sql(${literal(sql)})`)) ?? '{}'));
}

async function isRepeatable(db: Db, tree: ParseTree): Promise<boolean> {
  if (tree.error || tree.statements?.length !== 1) return false;
  const { functions, sampled } = callsThatMayChangeRows(tree.statements);
  if (sampled) return false;
  if (functions.size === 0) return true;
  // Table functions (read_parquet, range) have no stability: they read the same rows both times.
  const [known] = await db.all<{ consistent: number; named: number }>(
    `SELECT count(DISTINCT function_name) FILTER (WHERE stability = 'CONSISTENT' OR function_type = 'table') AS consistent,
            count(DISTINCT function_name) FILTER (WHERE stability IS DISTINCT FROM 'CONSISTENT' AND function_type <> 'table') AS named
     FROM duckdb_functions() WHERE lower(function_name) IN (${[...functions].map(literal).join(', ')})`,
  );
  return Number(known?.consistent ?? 0) === functions.size && Number(known?.named ?? 0) === 0;
}

/**
 * The SQL that counts the query's rows by running it again, or null when that may give other rows (see
 * repeatableQuery). count(*) reads no column, so DuckDB drops the SELECT list's expressions:
 * `SELECT x::INT FROM t` whose 3000th row does not cast printed "(1000000 rows)" and exit 0 instead of the
 * error reading it gives. A query whose SELECT lists only name columns (`SELECT * FROM fact`) keeps
 * count(*); one that computes any counts row(COLUMNS(*)), which evaluates every column (2.5 s on 10M rows
 * of 12 columns, against 5 ms).
 */
export async function countAgainSql(db: Db, sql: string): Promise<string | null> {
  const tree = await parseTree(db, sql);
  if (!(await isRepeatable(db, tree))) return null;
  const count = computesColumns(tree.statements) ? 'count(row(COLUMNS(*)))' : 'count(*)';
  return `SELECT ${count} FROM (${withoutStatementEnds(sql)}\n) AS __query`;
}

/** Whether any SELECT list of the parsed query (subqueries and CTEs too) holds more than column names and constants. */
function computesColumns(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(computesColumns);
  if (node === null || typeof node !== 'object') return false;
  return Object.entries(node).some(([key, value]) =>
    key === 'select_list' && Array.isArray(value)
      ? value.some((item) => !plainColumn(item)) || computesColumns(value)
      : computesColumns(value),
  );
}

/** A column name, a constant, or a star that replaces nothing (`* REPLACE (x::INT AS x)` computes). */
function plainColumn(item: unknown): boolean {
  const entry = item as { class?: string; replace_list?: unknown[]; expr?: unknown };
  if (entry.class === 'COLUMN_REF' || entry.class === 'CONSTANT') return true;
  return entry.class === 'STAR' && (entry.replace_list ?? []).length === 0 && (entry.expr ?? null) === null;
}
