import type { Relationship } from '../api/contract.ts';
import { LakehouseError, PROJECT_PLACEHOLDER } from '../api/errors.ts';
import { type Db, ident, qualified } from '../db/duckdb.ts';
import type { Materialization, Model } from '../project/models.ts';

// What a publisher needs to know about each gold table: its columns with DuckDB types, how it
// materializes, its keys and star-schema edges, and fingerprints (row count, key checksum) that a
// target can recompute to prove it holds the same rows. Shared by the Redshift and Iceberg publishers.

export const GOLD_SCHEMA = 'gold';

export interface GoldColumn {
  name: string;
  /** DuckDB's type as DESCRIBE prints it, e.g. VARCHAR, BIGINT, DECIMAL(18,2), TIMESTAMP, VARCHAR[]. */
  duckdbType: string;
  /** Declared nullability in the warehouse (gold tables are usually all nullable). */
  nullable: boolean;
  /** Longest value in UTF-8 bytes (VARCHAR, and nested types as their JSON text); null for other types. */
  maxBytes: number | null;
  /** HUGEINT and UHUGEINT: the smallest and largest value, as decimal text (absent when every row is NULL). */
  range?: { min: string; max: string };
}

/** A foreign key: `column` of this table points at `toColumn` of gold table `toTable`. */
export interface GoldRelationship {
  column: string;
  toTable: string;
  toColumn: string;
}

export interface GoldTable {
  /** Bare table name in the gold schema, e.g. `dim_user`. */
  name: string;
  /** The model that builds it, `gold.<name>`. */
  modelId: string;
  materialized: Materialization;
  role: 'fact' | 'dimension' | 'bridge' | null;
  /** The business key (`unique_key`), empty when the model declares none. */
  uniqueKey: string[];
  /** Surrogate key column (scd1, scd2, bridge), if any. */
  surrogateKey: string | null;
  /**
   * What identifies a row: the surrogate key, else the unique key, else the columns of a `unique` test,
   * else every column. Publishers declare it as the primary key and match rows on it.
   */
  primaryKey: string[];
  /** Where primaryKey came from; `all_columns` means the table declares no key (publishers then declare none). */
  keySource: 'surrogate_key' | 'unique_key' | 'unique_test' | 'all_columns';
  /** The column pointing at the date dimension (facts' sort key and append unit), if any. */
  dateKey: string | null;
  /** Edges to other gold tables, from the model's `relationships` tests. */
  relationships: GoldRelationship[];
  columns: GoldColumn[];
  rowCount: number;
  /**
   * keyChecksum over every row (see KEY_CHECKSUM_DEFINITION), as a decimal string: of portableKeyColumns
   * when described with `portableKeys`, else of primaryKey in DuckDB's own text.
   */
  keyChecksum: string;
  /**
   * Rows with a NULL in any primaryKey column; 0 when keySource is `all_columns` (no key to fill). The
   * `unique` test skips a NULL key and merges keep one, so gold may hold them; a primary key may not.
   */
  nullKeyRows: number;
}

/**
 * The key checksum is the sum, over rows, of the first 15 hex digits of md5(key text) read as an
 * integer, where key text joins the primary key columns cast to text with '|' (NULL as ''). Any SQL
 * engine with md5 and hex parsing can recompute it, so a target proves it holds the same keys.
 */
export const KEY_CHECKSUM_DEFINITION =
  "sum(int('0x' || left(md5(concat_ws('|', coalesce(k1::text, ''), ...)), 15)))";

/** The key text expression of KEY_CHECKSUM_DEFINITION, from each key column's text expression. */
export function keyTextSql(columnTexts: string[]): string {
  const parts = columnTexts.map((text) => `coalesce(${text}, '')`);
  return parts.length === 1 ? (parts[0] ?? "''") : parts.join(" || '|' || ");
}

/**
 * How a key column is spelt in a key text that another engine recomputes. DuckDB's own cast prints a
 * TIMESTAMPTZ in its session's time zone and a nested value in its own syntax, so across engines
 * timestamps are epoch microseconds, dates ISO text and nested values the JSON text the target holds.
 */
export type KeyText = 'plain' | 'date' | 'timestamp' | 'timestamptz' | 'json';

/** A key column with its spelling; a bare name is DuckDB's own cast (DuckDB-to-DuckDB checks, e.g. Iceberg's files). */
export type KeyColumn = string | { name: string; text: KeyText };

export const keyColumnName = (column: KeyColumn): string =>
  typeof column === 'string' ? column : column.name;

const FLOAT_TYPE = /^(FLOAT|DOUBLE|REAL|FLOAT4|FLOAT8)$/;

/**
 * True for FLOAT and DOUBLE: no text form of theirs is shared by DuckDB (1.0), PostgreSQL (1) and
 * Redshift (15 significant digits by default), so they cannot take part in a key checksum across engines.
 */
export function isFloatType(duckdbType: string): boolean {
  return FLOAT_TYPE.test(duckdbType.toUpperCase());
}

function keyTextOf(duckdbType: string): KeyText {
  const type = duckdbType.toUpperCase();
  if (isNestedType(type)) return 'json';
  if (type === 'DATE') return 'date';
  if (type === 'TIMESTAMPTZ' || type === 'TIMESTAMP WITH TIME ZONE') return 'timestamptz';
  if (/^TIMESTAMP(_S|_MS|_NS)?$/.test(type)) return 'timestamp';
  return 'plain';
}

/**
 * The columns a key checksum shared with another engine (Redshift, PostgreSQL) covers: the primary key,
 * each with the spelling both sides agree on. A table without a declared key is checked on every column
 * but its floats (its row count still covers them); a float in a declared key is a publisher's conflict.
 */
export function portableKeyColumns(
  table: Pick<GoldTable, 'primaryKey' | 'columns' | 'keySource'>,
): { name: string; text: KeyText }[] {
  return table.primaryKey.flatMap((name) => {
    const type = table.columns.find((c) => c.name === name)?.duckdbType ?? 'VARCHAR';
    if (table.keySource === 'all_columns' && isFloatType(type)) return [];
    return [{ name, text: keyTextOf(type) }];
  });
}

/** DuckDB's text of a key column, as `column` spells it (see KeyText). */
function duckdbKeyText(column: KeyColumn): string {
  if (typeof column === 'string') return `CAST(${ident(column)} AS VARCHAR)`;
  const quoted = ident(column.name);
  switch (column.text) {
    case 'json':
      return `CAST(to_json(${quoted}) AS VARCHAR)`;
    case 'timestamp':
      return `CAST(epoch_us(CAST(${quoted} AS TIMESTAMP)) AS VARCHAR)`;
    case 'timestamptz':
      return `CAST(epoch_us(${quoted}) AS VARCHAR)`;
    default:
      return `CAST(${quoted} AS VARCHAR)`;
  }
}

export interface DescribeGoldOptions {
  /** Bare names (or `gold.<name>`) to include; default every gold model with a table. */
  tables?: string[];
  /**
   * keyChecksum over portableKeyColumns, as another engine recomputes it (Redshift, PostgreSQL); default
   * DuckDB's own text of primaryKey, which Iceberg's published files are checked against.
   */
  portableKeys?: boolean;
}

const NESTED_TYPE = /(\[\]$|^STRUCT|^MAP|^UNION)/;

/** True for LIST, STRUCT, MAP and UNION types, which publishers carry as JSON text. */
export function isNestedType(duckdbType: string): boolean {
  return NESTED_TYPE.test(duckdbType);
}

/**
 * The gold models named in `tables` (bare or `gold.<name>`), or every gold model when none are named.
 * Fails with INVALID_ARGUMENT naming the tables that are not gold models.
 */
export function selectGoldModels(models: Model[], tables?: string[]): Model[] {
  const gold = models.filter((m) => m.layer === 'gold');
  if (!tables || tables.length === 0) return gold;
  const wanted = tables.map((t) => t.replace(/^gold\./, ''));
  const unknown = wanted.filter((name) => !gold.some((m) => m.name === name));
  if (unknown.length > 0) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `Not gold tables of this project: ${unknown.join(', ')}. Gold tables: ${gold.map((m) => m.name).join(', ')}.`,
      { unknown, gold: gold.map((m) => m.name) },
    );
  }
  return gold.filter((m) => wanted.includes(m.name));
}

/**
 * Describes the gold tables of a project in graph-independent order: dimensions first, then bridges,
 * then facts (the order a publisher loads them so keys exist before the rows that point at them).
 * Reads through `db` (the engine's reader sees the last committed run). Fails with PROJECT_INVALID when
 * a gold model has never been run, and INVALID_ARGUMENT for a name in `tables` that is not a gold model.
 */
export async function describeGoldTables(
  db: Db,
  models: Model[],
  options: DescribeGoldOptions = {},
): Promise<GoldTable[]> {
  const selected = selectGoldModels(models, options.tables);
  const existing = new Set(
    (
      await db.all<{ table_name: string }>(
        `SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $schema`,
        { schema: GOLD_SCHEMA },
      )
    ).map((r) => r.table_name),
  );
  const missing = selected.filter((m) => !existing.has(m.name));
  if (missing.length > 0) {
    throw new LakehouseError(
      'PROJECT_INVALID',
      `Gold tables not built yet: ${missing.map((m) => m.id).join(', ')}. Run the project first (lakehouse run ${PROJECT_PLACEHOLDER}).`,
      { missing: missing.map((m) => m.id) },
    );
  }
  const tables: GoldTable[] = [];
  for (const model of selected) tables.push(await describeOne(db, model, options.portableKeys ?? false));
  const rank = (t: GoldTable) =>
    t.role === 'fact' ? 2 : t.role === 'bridge' || t.materialized === 'bridge' ? 1 : 0;
  return tables.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

async function describeOne(db: Db, model: Model, portableKeys: boolean): Promise<GoldTable> {
  const relation = qualified(GOLD_SCHEMA, model.name);
  const declared = await db.all<{ column_name: string; data_type: string; is_nullable: boolean }>(
    `SELECT column_name, data_type, is_nullable FROM duckdb_columns()
     WHERE database_name = current_database() AND schema_name = $schema AND table_name = $table
     ORDER BY column_index`,
    { schema: GOLD_SCHEMA, table: model.name },
  );
  const sized = declared.filter((c) => c.data_type === 'VARCHAR' || isNestedType(c.data_type));
  const huge = declared.filter((c) => c.data_type === 'HUGEINT' || c.data_type === 'UHUGEINT');
  const lengths = new Map<string, number>();
  const ranges = new Map<string, { min: string; max: string }>();
  const byteLength = (c: { column_name: string; data_type: string }) =>
    c.data_type === 'VARCHAR'
      ? `strlen(${ident(c.column_name)})`
      : `strlen(CAST(to_json(${ident(c.column_name)}) AS VARCHAR))`;
  if (sized.length > 0 || huge.length > 0) {
    const row = (
      await db.all<Record<string, number | string | null>>(
        `SELECT ${[
          ...sized.map((c, i) => `max(${byteLength(c)}) AS c${i}`),
          ...huge.map(
            (c, i) =>
              `CAST(min(${ident(c.column_name)}) AS VARCHAR) AS lo${i}, CAST(max(${ident(c.column_name)}) AS VARCHAR) AS hi${i}`,
          ),
        ].join(', ')} FROM ${relation}`,
      )
    )[0];
    sized.forEach((c, i) => {
      lengths.set(c.column_name, Number(row?.[`c${i}`] ?? 0));
    });
    huge.forEach((c, i) => {
      const min = row?.[`lo${i}`];
      const max = row?.[`hi${i}`];
      if (min !== null && min !== undefined && max !== null && max !== undefined)
        ranges.set(c.column_name, { min: String(min), max: String(max) });
    });
  }
  const columns: GoldColumn[] = declared.map((c) => ({
    name: c.column_name,
    duckdbType: c.data_type,
    nullable: c.is_nullable,
    maxBytes: lengths.has(c.column_name) ? (lengths.get(c.column_name) ?? 0) : null,
    ...(ranges.has(c.column_name) ? { range: ranges.get(c.column_name) } : {}),
  }));
  const names = columns.map((c) => c.name);
  const uniqueKey = model.config.unique_key ?? [];
  const surrogateKey =
    model.config.surrogate_key && names.includes(model.config.surrogate_key)
      ? model.config.surrogate_key
      : null;
  const uniqueTest = model.config.tests.flatMap((t) => ('unique' in t ? [t.unique] : []))[0];
  const keySource: GoldTable['keySource'] = surrogateKey
    ? 'surrogate_key'
    : uniqueKey.length > 0
      ? 'unique_key'
      : uniqueTest
        ? 'unique_test'
        : 'all_columns';
  const primaryKey = surrogateKey ? [surrogateKey] : uniqueKey.length > 0 ? uniqueKey : (uniqueTest ?? names);
  const relationships = model.config.tests
    .flatMap((t): Relationship[] => ('relationships' in t ? [t.relationships] : []))
    .filter((r) => r.to.startsWith(`${GOLD_SCHEMA}.`))
    .map((r) => ({ column: r.column, toTable: r.to.slice(GOLD_SCHEMA.length + 1), toColumn: r.field }));
  const dateEdge = relationships.find((r) => /date/i.test(r.toTable));
  const dateKey = dateEdge?.column ?? (names.includes('date_key') ? 'date_key' : null);
  const checksumColumns = portableKeys ? portableKeyColumns({ primaryKey, columns, keySource }) : primaryKey;
  const { rowCount, keyChecksum, nullKeyRows } = await duckdbFingerprint(
    db,
    relation,
    checksumColumns,
    undefined,
    primaryKey,
  );
  return {
    name: model.name,
    modelId: model.id,
    materialized: model.config.materialized,
    role: model.config.role ?? null,
    uniqueKey,
    surrogateKey,
    primaryKey,
    keySource,
    dateKey,
    relationships,
    columns,
    rowCount,
    keyChecksum,
    nullKeyRows: keySource === 'all_columns' ? 0 : nullKeyRows,
  };
}

/** DuckDB's form of the key checksum expression (see KEY_CHECKSUM_DEFINITION) over the key columns. */
export function duckdbKeyChecksumSql(keyColumns: readonly KeyColumn[]): string {
  const text = keyTextSql(keyColumns.map(duckdbKeyText));
  return `coalesce(sum(CAST('0x' || substr(md5(${text}), 1, 15) AS BIGINT)), 0)`;
}

/**
 * Row count, key checksum and rows with a NULL in a key column (of `nullable`, default the key columns)
 * of any DuckDB relation (optionally filtered by a WHERE clause), in one scan.
 */
export async function duckdbFingerprint(
  db: Db,
  relation: string,
  keyColumns: readonly KeyColumn[],
  where?: string,
  nullable: readonly string[] = keyColumns.map(keyColumnName),
): Promise<{ rowCount: number; keyChecksum: string; nullKeyRows: number }> {
  const anyKeyNull = nullable.map((c) => `${ident(c)} IS NULL`).join(' OR ') || 'false';
  const row = (
    await db.all<{ n: number | bigint; checksum: string; null_keys: number | bigint }>(
      `SELECT count(*) AS n, CAST(${duckdbKeyChecksumSql(keyColumns)} AS VARCHAR) AS checksum,
              count(*) FILTER (WHERE ${anyKeyNull}) AS null_keys
       FROM ${relation}${where ? ` WHERE ${where}` : ''}`,
    )
  )[0];
  return {
    rowCount: Number(row?.n ?? 0),
    keyChecksum: String(row?.checksum ?? '0'),
    nullKeyRows: Number(row?.null_keys ?? 0),
  };
}

/** Row count and key checksum per value of `column` (e.g. per date key), keyed by the value as text. */
export async function duckdbFingerprintGroups(
  db: Db,
  relation: string,
  keyColumns: readonly KeyColumn[],
  column: string,
  contentColumns: string[] = [],
): Promise<Map<string, { rowCount: number; keyChecksum: string; contentHash?: string }>> {
  // Over every column: what a count and key checksum miss (a value changed under the same keys). DuckDB's
  // hash, so only ever compared with a hash this function wrote (see PUBLISH_STATE_TABLE).
  const content =
    contentColumns.length > 0
      ? `, CAST(sum(hash(${contentColumns.map(ident).join(', ')})::HUGEINT) AS VARCHAR) AS content`
      : '';
  const rows = await db.all<{ v: string | null; n: number | bigint; checksum: string; content?: string }>(
    `SELECT CAST(${ident(column)} AS VARCHAR) AS v, count(*) AS n,
            CAST(${duckdbKeyChecksumSql(keyColumns)} AS VARCHAR) AS checksum${content}
     FROM ${relation} GROUP BY 1`,
  );
  return new Map(
    rows.map((r) => [
      r.v ?? '',
      {
        rowCount: Number(r.n),
        keyChecksum: String(r.checksum),
        ...(r.content !== undefined ? { contentHash: String(r.content) } : {}),
      },
    ]),
  );
}
