import { LakehouseError } from '../api/errors.ts';
import { type Db, errorWithoutStatement, ident, literal } from '../db/duckdb.ts';
import { closestLayerRelation } from '../explore/table-suggestion.ts';
import type { DataTest, Model } from '../project/models.ts';

export interface TestResult {
  /** e.g. `not_null(user_id)`, `relationships(user_id → gold.dim_user.user_id)`. */
  name: string;
  severity: 'error' | 'warn';
  passed: boolean;
  failingRows: number;
  /** Up to five failing rows, JSON-safe. */
  sample: Record<string, unknown>[];
  /** The DuckDB type of each column of `sample`, so it shows as a table's rows do (timestamps with milliseconds). */
  sampleTypes?: Record<string, string>;
  /** Which of a failing test's columns fail, e.g. `NULL in platform_key (1)` for not_null over several. */
  detail?: string;
}

const SAMPLE = 5;

/**
 * `relationships.to` (`layer.table`, or a bare table the search path finds) as quoted names: the text
 * comes from the model file, so it is never pasted, whatever characters it holds.
 */
function relationName(relation: string): string {
  const dot = relation.indexOf('.');
  return dot < 0 ? ident(relation) : `${ident(relation.slice(0, dot))}.${ident(relation.slice(dot + 1))}`;
}

/**
 * The rows that have a key: as dbt's unique test, a row whose key columns are all NULL has none (it is
 * not_null's business, not a repeat), while a NULL in only part of a key is a value, as GROUP BY and the
 * engine's key merges compare it. Partition deduplication uses the same rule.
 */
export function hasKeySql(keys: string[], alias?: string): string {
  return keys.map((c) => `${alias ? `${alias}.` : ''}${ident(c)} IS NOT NULL`).join(' OR ');
}

/** The SQL that returns a test's failing rows over `relation`, and the test's display name. */
export function failingRowsSql(
  test: DataTest,
  relation: string,
  model: Model,
): { name: string; sql: string } {
  if ('not_null' in test) {
    // A column listed twice is tested once: EXCLUDE refuses a name given twice.
    const cols = [...new Set(test.not_null)];
    const quoted = cols.map(ident).join(', ');
    // The tested columns first: in a wide row the NULL that failed it shows without scrolling.
    return {
      name: `not_null(${cols.join(', ')})`,
      sql: `SELECT ${quoted}, * EXCLUDE (${quoted}) FROM ${relation} WHERE ${cols.map((c) => `${ident(c)} IS NULL`).join(' OR ')}`,
    };
  }
  if ('unique' in test) {
    const keys = [...new Set(test.unique)];
    const cols = keys.map(ident).join(', ');
    // Named apart from the key: a key column called occurrences showed the count as occurrences_1.
    let count = 'occurrences';
    while (keys.some((k) => k.toLowerCase() === count)) count = `_${count}`;
    return {
      name: `unique(${test.unique.join(', ')})`,
      sql: `SELECT ${cols}, count(*) AS ${ident(count)} FROM ${relation} WHERE ${hasKeySql(keys)} GROUP BY ALL HAVING count(*) > 1`,
    };
  }
  if ('accepted_values' in test) {
    const { column, values } = test.accepted_values;
    // Every value as a text literal, which DuckDB casts to the column's type: [1, 2] then works on a
    // VARCHAR column as on an INTEGER one (a number literal made DuckDB cast the column's text to numbers).
    const list = values.map((v) => literal(String(v))).join(', ');
    const quoted = ident(column);
    // The tested column first, as for not_null: the value that failed shows without scrolling.
    return {
      name: `accepted_values(${column})`,
      sql: `SELECT ${quoted}, * EXCLUDE (${quoted}) FROM ${relation} WHERE ${quoted} IS NOT NULL AND ${quoted} NOT IN (${list})`,
    };
  }
  if ('relationships' in test) {
    const { column, to, field } = test.relationships;
    return {
      name: `relationships(${column} → ${to}.${field})`,
      // An ANTI JOIN, not NOT EXISTS: DuckDB plans it 30% faster against a 1.9M-row dim_user.
      sql: `SELECT r.${ident(column)}, r.* EXCLUDE (${ident(column)})
            FROM ${relation} AS r ANTI JOIN ${relationName(to)} AS p ON p.${ident(field)} = r.${ident(column)}
            WHERE r.${ident(column)} IS NOT NULL`,
    };
  }
  return { name: 'scd_invariants', sql: scdInvariantSql(model, relation) };
}

/**
 * SCD2: one current row per key, and each version ends exactly where the next begins (valid_to is exclusive,
 * NULL only on the current version). Bridge: at most one effective row per (entity, member) and the
 * effective ranges of one pair never overlap. Both read the table once: one window pass gives each row
 * its key's count of current rows and the start of its next version (three scans took 1.6x as long
 * on a 1.6M-row history). Each failing row is a version, with its range and the next version's start,
 * so the overlap or gap shows without querying the table.
 */
function scdInvariantSql(model: Model, relation: string): string {
  const bridge = model.config.materialized === 'bridge' ? model.config.bridge : undefined;
  const keys = (bridge ? [bridge.entity, bridge.member] : (model.config.unique_key ?? []))
    .map(ident)
    .join(', ');
  const [from, current] = bridge
    ? ['first_effective_date', 'is_effective = 1']
    : ['valid_from', 'is_current'];
  const versions = `WITH versions AS MATERIALIZED (
      SELECT *, count(*) FILTER (WHERE ${current}) OVER per_key AS current_rows,
        lead(${from}) OVER (per_key ORDER BY ${from}) AS next_from
      FROM ${relation} WINDOW per_key AS (PARTITION BY ${keys}))`;
  if (bridge) {
    const shown = `${keys}, first_effective_date, last_effective_date, is_effective, next_from AS next_first_effective_date`;
    return `${versions}
      SELECT 'several effective rows' AS problem, ${shown} FROM versions
      WHERE current_rows > 1 AND is_effective = 1
      UNION ALL BY NAME
      SELECT 'overlapping effective ranges' AS problem, ${shown} FROM versions
      WHERE next_from IS NOT NULL AND (last_effective_date IS NULL OR last_effective_date >= next_from)
      UNION ALL BY NAME
      SELECT 'closed row without last_effective_date' AS problem, ${shown} FROM versions
      WHERE is_effective = 0 AND last_effective_date IS NULL`;
  }
  const shown = `${keys}, valid_from, valid_to, is_current, next_from AS next_valid_from`;
  return `${versions}
    SELECT 'several current rows' AS problem, ${shown} FROM versions
    WHERE current_rows > 1 AND is_current
    UNION ALL BY NAME
    SELECT CASE WHEN next_from IS NULL THEN 'closed version with no successor'
                WHEN valid_to IS NULL OR valid_to > next_from THEN 'overlapping versions'
                ELSE 'gap between versions' END AS problem, ${shown}
    FROM versions WHERE valid_to IS DISTINCT FROM next_from
    UNION ALL BY NAME
    SELECT 'is_current disagrees with valid_to' AS problem, ${shown} FROM versions
    WHERE is_current IS DISTINCT FROM (valid_to IS NULL)`;
}

/**
 * Runs a model's declared tests over the rows a run wrote (`relation`); SCD invariants over `history`.
 * `uniqueKeys`: columns the materializer has already proven unique over `relation` (it removed exact
 * repeats and failed the date on conflicting ones), so a `unique` test on exactly them passes unqueried.
 * A test naming a column or table that does not exist fails with MODEL_INVALID at its line of the file.
 * `deferred`: indexes of tests left for a later date (the runner notes why).
 */
export async function runDataTests(
  db: Db,
  model: Model,
  relation: string,
  history: string | undefined,
  uniqueKeys?: string[],
  deferred: ReadonlySet<number> = new Set(),
): Promise<TestResult[]> {
  const results: TestResult[] = [];
  const proven = uniqueKeys && new Set(uniqueKeys);
  const columns = new Map<string, Map<string, string>>();
  for (const [index, test] of model.config.tests.entries()) {
    if (deferred.has(index)) continue;
    const over = 'scd_invariants' in test ? (history ?? relation) : relation;
    const { name, sql } = failingRowsSql(test, over, model);
    if (
      'unique' in test &&
      proven &&
      test.unique.length === proven.size &&
      test.unique.every((c) => proven.has(c))
    ) {
      results.push({ name, severity: test.severity, passed: true, failingRows: 0, sample: [] });
      continue;
    }
    const declared = declaredTest(model, index, name);
    await checkNames(db, model, test, over, columns, declared);
    let failingRows: number;
    let sample: Record<string, unknown>[];
    let sampleTypes: Record<string, string> | undefined;
    let detail: string | undefined;
    try {
      failingRows = Number((await db.scalar<number | bigint>(`SELECT count(*) FROM (${sql})`)) ?? 0);
      sample = failingRows > 0 ? await db.allJson(`SELECT * FROM (${sql}) LIMIT ${SAMPLE}`) : [];
      if (failingRows > 0) {
        const described = await db.all<{ column_name: string; column_type: string }>(
          `DESCRIBE SELECT * FROM (${sql})`,
        );
        sampleTypes = Object.fromEntries(described.map((c) => [c.column_name, c.column_type]));
        const nullable = 'not_null' in test ? [...new Set(test.not_null)] : [];
        if (nullable.length > 1) detail = await nullColumns(db, over, nullable);
        if ('accepted_values' in test)
          detail = `not accepted: ${await failingValues(db, sql, test.accepted_values.column)}`;
        if ('relationships' in test) {
          const { column, to, field } = test.relationships;
          detail = `not in ${to}.${field}: ${await failingValues(db, sql, column)}`;
        }
      }
    } catch (error) {
      // Not the model's SQL: the test's own, which the engine wrote from the header. A binding error or
      // values of the wrong type are the header's fault; anything else (out of memory, ...) is not.
      const message = errorWithoutStatement(error);
      const invalid = /^(Binder|Catalog|Parser|Conversion) Error/.test(message);
      throw testError(
        model,
        declared,
        `could not run: ${message}`,
        {},
        invalid ? 'MODEL_INVALID' : 'INTERNAL',
      );
    }
    results.push({
      name,
      severity: test.severity,
      passed: failingRows === 0,
      failingRows,
      sample,
      ...(sampleTypes ? { sampleTypes } : {}),
      ...(detail ? { detail } : {}),
    });
  }
  return results;
}

/** `NULL in platform_key (1), user_id (3)`: the columns of a not_null test over several that hold NULLs. */
async function nullColumns(db: Db, relation: string, columns: string[]): Promise<string> {
  const counts = await db.all<Record<string, number | bigint>>(
    `SELECT ${columns.map((c, i) => `count(*) FILTER (WHERE ${ident(c)} IS NULL) AS c${i}`).join(', ')} FROM ${relation}`,
  );
  const row = counts[0] ?? {};
  const failing = columns.flatMap((c, i) =>
    Number(row[`c${i}`] ?? 0) > 0 ? [`${c} (${Number(row[`c${i}`])})`] : [],
  );
  return `NULL in ${failing.join(', ')}`;
}

/**
 * `'lost' (2), '' (1)`: the most frequent values of `column` among a test's failing rows, so a warning
 * names what to map or accept without a query; the rest as `and N more`.
 */
async function failingValues(db: Db, failingSql: string, column: string): Promise<string> {
  const counted = await db.allJson<{ value: unknown; rows: number; more: number }>(
    `SELECT ${ident(column)} AS value, count(*) AS rows, count(*) OVER () - ${SAMPLE} AS more
     FROM (${failingSql}) GROUP BY ALL ORDER BY rows DESC, value LIMIT ${SAMPLE}`,
  );
  const shown = counted.map(
    ({ value, rows }) => `${typeof value === 'string' ? literal(value) : JSON.stringify(value)} (${rows})`,
  );
  const more = counted[0]?.more ?? 0;
  return `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** Where a test is declared and how it reads there, e.g. `models/gold/x.sql:9`, `unique: id`. */
interface DeclaredTest {
  where: string;
  line: number | undefined;
  text: string;
}

function declaredTest(model: Model, index: number, name: string): DeclaredTest {
  const source = model.testSources[index];
  return {
    where: source ? `${model.file}:${source.line}` : model.file,
    line: source?.line,
    text: source?.text ?? name,
  };
}

function testError(
  model: Model,
  declared: DeclaredTest,
  problem: string,
  details: Record<string, unknown>,
  code: 'MODEL_INVALID' | 'INTERNAL' = 'MODEL_INVALID',
): LakehouseError {
  return new LakehouseError(code, `${declared.where}: test "${declared.text}" ${problem}`, {
    file: model.file,
    line: declared.line,
    model: model.id,
    test: declared.text,
    ...details,
  });
}

/**
 * Fails with MODEL_INVALID when a test names a column the tested rows lack, a parent table that does
 * not exist or a parent field it lacks: DuckDB would report those against SQL the user never wrote.
 */
async function checkNames(
  db: Db,
  model: Model,
  test: DataTest,
  over: string,
  cache: Map<string, Map<string, string>>,
  declared: DeclaredTest,
): Promise<void> {
  // Column name → its DuckDB type, per relation: the names to check, the types for a relationships test.
  const typesOf = async (relation: string): Promise<Map<string, string>> => {
    let types = cache.get(relation);
    if (!types) {
      const rows = await db.all<{ column_name: string; column_type: string }>(
        `DESCRIBE SELECT * FROM ${relation}`,
      );
      types = new Map(rows.map((r) => [r.column_name, r.column_type]));
      cache.set(relation, types);
    }
    return types;
  };
  const columnsOf = async (relation: string): Promise<string[]> => [...(await typesOf(relation)).keys()];
  const typeOf = (types: Map<string, string>, column: string): string =>
    [...types].find(([name]) => name.toLowerCase() === column.toLowerCase())?.[1] ?? '';
  const missing = (names: string[], column: string) =>
    !names.some((n) => n.toLowerCase() === column.toLowerCase());
  const refuse = (column: string, of: string, names: string[]) =>
    testError(
      model,
      declared,
      `names column "${column}", but ${of} has no such column (its columns: ${names.join(', ')}). ` +
        'Fix the column name in the test.',
      { column, relation: of },
    );
  const own =
    'not_null' in test
      ? test.not_null
      : 'unique' in test
        ? test.unique
        : 'accepted_values' in test
          ? [test.accepted_values.column]
          : 'relationships' in test
            ? [test.relationships.column]
            : [];
  if (own.length > 0) {
    const names = await columnsOf(over);
    const column = own.find((c) => missing(names, c));
    if (column !== undefined) throw refuse(column, model.id, names);
  }
  if (!('relationships' in test)) return;
  const { to, field } = test.relationships;
  let parent: string[];
  try {
    parent = await columnsOf(relationName(to));
  } catch (error) {
    if (!/Catalog Error: (Table|Schema) with name/.test(String((error as Error).message))) throw error;
    const closest = await closestLayerRelation(db, to);
    throw testError(
      model,
      declared,
      `reads ${to}, which does not exist. ${closest ? `Did you mean ${closest}? ` : ''}` +
        'Fix "to:" in the test (lakehouse tables lists the tables there are).',
      { relation: to },
    );
  }
  if (missing(parent, field)) throw refuse(field, to, parent);
  const columnType = typeOf(await typesOf(over), test.relationships.column);
  const fieldType = typeOf(await typesOf(relationName(to)), field);
  if (typeFamily(columnType) === typeFamily(fieldType)) return;
  const text = [columnType, fieldType].find((t) => typeFamily(t) === 'text');
  const cast = text
    ? `DuckDB casts the text to ${text === columnType ? fieldType : columnType} to compare them, so text that is ` +
      "not the key's own ('01' or '1.0' for 1) passes as equal"
    : "DuckDB casts one to the other's type to compare them, so values that differ may pass as equal";
  throw testError(
    model,
    declared,
    `compares ${model.id}.${test.relationships.column} (${columnType}) with ${to}.${field} (${fieldType}): ${cast}. ` +
      'Give both columns one type where the models build them (a CAST in one of them: text keeps the ' +
      'leading zeros of an id, which a number drops), then run again.',
    { column: test.relationships.column, columnType, relation: to, field, fieldType },
  );
}

/**
 * Types whose values compare equal only when they are: a relationships test between two of one family
 * (INTEGER and BIGINT, VARCHAR and an ENUM, DATE and TIMESTAMP) keeps its meaning; across families DuckDB
 * casts one side, and '01' = 1 holds. Other types (UUID, BLOB, lists, ...) must match exactly.
 */
function typeFamily(type: string): string {
  if (/^(VARCHAR|ENUM\(.*\))$/.test(type)) return 'text';
  if (/^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))$/.test(type))
    return 'number';
  if (/^(DATE|TIMESTAMP(_S|_MS|_NS| WITH TIME ZONE)?)$/.test(type)) return 'date and time';
  return type;
}
