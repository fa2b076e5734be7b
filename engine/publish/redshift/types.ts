import { LakehouseError } from '../../api/errors.ts';
import { ident } from '../../db/duckdb.ts';
import { type GoldColumn, isNestedType } from '../gold-tables.ts';

// DuckDB → Redshift / PostgreSQL column types. Redshift has no unsigned types and no TINYINT, sizes
// VARCHAR in bytes (max 65535) and keeps DECIMAL to 38 digits; PostgreSQL accepts the same names.

/** Redshift's VARCHAR limit, in bytes. */
export const MAX_VARCHAR_BYTES = 65_535;

/** Target types in the one spelling plan diffs compare: VARCHAR(n), DECIMAL(p,s), BIGINT, TIMESTAMP, ... */
export type TargetType = string;

/**
 * VARCHAR length for the longest value seen: the next power of two at or above it (at least 16), so a
 * table is not re-widened on every publish as data grows a little, capped at Redshift's 65535 bytes.
 */
export function varcharBytes(maxBytes: number): number {
  let size = 16;
  while (size < maxBytes) size *= 2;
  return Math.min(size, MAX_VARCHAR_BYTES);
}

/** The target type of a gold column. Fails with PUBLISH_CONFLICT when no target type can hold it. */
export function targetType(table: string, column: GoldColumn): TargetType {
  const type = column.duckdbType.toUpperCase();
  const where = `gold.${table}.${column.name} (${column.duckdbType})`;
  if (type === 'VARCHAR' || isNestedType(type)) {
    const bytes = column.maxBytes ?? 0;
    if (bytes > MAX_VARCHAR_BYTES) {
      throw new LakehouseError(
        'PUBLISH_CONFLICT',
        `${where} holds values of ${bytes} bytes; Redshift VARCHAR holds at most ${MAX_VARCHAR_BYTES}. Shorten it in the model (e.g. left(${column.name}, 1000)).`,
        { table, column: column.name, maxBytes: bytes },
      );
    }
    return `VARCHAR(${varcharBytes(bytes)})`;
  }
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(type);
  if (decimal) return `DECIMAL(${decimal[1]},${decimal[2]})`;
  switch (type) {
    case 'BOOLEAN':
      return 'BOOLEAN';
    case 'TINYINT':
    case 'UTINYINT':
    case 'SMALLINT':
      return 'SMALLINT';
    case 'USMALLINT':
    case 'INTEGER':
      return 'INTEGER';
    case 'UINTEGER':
    case 'BIGINT':
      return 'BIGINT';
    case 'UBIGINT':
      return 'DECIMAL(20,0)';
    case 'HUGEINT':
    case 'UHUGEINT': {
      // A HUGEINT holds 39 digits, DECIMAL(38,0) 38: a larger value would fail the load half-way.
      const limit = 10n ** 38n;
      const range = column.range;
      const outside = range
        ? [range.min, range.max].find((v) => BigInt(v) >= limit || BigInt(v) <= -limit)
        : undefined;
      if (outside !== undefined) {
        throw new LakehouseError(
          'PUBLISH_CONFLICT',
          `${where} holds ${outside}, over the 38 digits of DECIMAL(38,0), the widest number Redshift and this publish load. Bring the values within ±(10^38 - 1) in the model, or cast the column to VARCHAR; then run and publish again.`,
          { table, column: column.name, min: range?.min, max: range?.max },
        );
      }
      return 'DECIMAL(38,0)';
    }
    case 'FLOAT':
      return 'REAL';
    case 'DOUBLE':
      return 'DOUBLE PRECISION';
    case 'DATE':
      return 'DATE';
    case 'TIMESTAMP':
    case 'TIMESTAMP_S':
    case 'TIMESTAMP_MS':
    case 'TIMESTAMP_NS':
      return 'TIMESTAMP';
    case 'TIMESTAMP WITH TIME ZONE':
    case 'TIMESTAMPTZ':
      return 'TIMESTAMPTZ';
    case 'TIME':
      return 'TIME';
    case 'UUID':
      return 'VARCHAR(36)';
    default:
      throw new LakehouseError(
        'PUBLISH_CONFLICT',
        `${where}: no Redshift type for ${column.duckdbType}. Cast the column in the model (e.g. to VARCHAR or DECIMAL).`,
        { table, column: column.name, type: column.duckdbType },
      );
  }
}

/**
 * The DuckDB expression that exports a column in a form the target type loads: unsigned and huge
 * integers as DECIMAL, nanosecond timestamps as microseconds, nested values as JSON text.
 */
export function exportExpression(column: GoldColumn): string {
  const quoted = ident(column.name);
  const type = column.duckdbType.toUpperCase();
  if (isNestedType(type)) return `CAST(to_json(${quoted}) AS VARCHAR) AS ${quoted}`;
  switch (type) {
    case 'TINYINT':
    case 'UTINYINT':
      return `CAST(${quoted} AS SMALLINT) AS ${quoted}`;
    case 'USMALLINT':
      return `CAST(${quoted} AS INTEGER) AS ${quoted}`;
    case 'UINTEGER':
      return `CAST(${quoted} AS BIGINT) AS ${quoted}`;
    case 'UBIGINT':
      return `CAST(${quoted} AS DECIMAL(20,0)) AS ${quoted}`;
    case 'HUGEINT':
    case 'UHUGEINT':
      return `CAST(${quoted} AS DECIMAL(38,0)) AS ${quoted}`;
    case 'TIMESTAMP_S':
    case 'TIMESTAMP_MS':
    case 'TIMESTAMP_NS':
      return `CAST(${quoted} AS TIMESTAMP) AS ${quoted}`;
    case 'UUID':
      return `CAST(${quoted} AS VARCHAR) AS ${quoted}`;
    default:
      return quoted;
  }
}

/**
 * A target column type as information_schema.columns describes it, in TargetType spelling (both
 * PostgreSQL and Redshift fill data_type with the SQL standard names).
 */
export function normaliseTargetType(info: {
  data_type: string;
  character_maximum_length: number | null;
  numeric_precision: number | null;
  numeric_scale: number | null;
}): TargetType {
  const type = info.data_type.toLowerCase();
  switch (type) {
    case 'character varying':
    case 'varchar':
      return info.character_maximum_length === null ? 'VARCHAR' : `VARCHAR(${info.character_maximum_length})`;
    case 'text':
      return 'VARCHAR';
    case 'numeric':
    case 'decimal':
      return `DECIMAL(${info.numeric_precision ?? 18},${info.numeric_scale ?? 0})`;
    case 'integer':
      return 'INTEGER';
    case 'bigint':
      return 'BIGINT';
    case 'smallint':
      return 'SMALLINT';
    case 'boolean':
      return 'BOOLEAN';
    case 'real':
      return 'REAL';
    case 'double precision':
      return 'DOUBLE PRECISION';
    case 'date':
      return 'DATE';
    case 'timestamp without time zone':
      return 'TIMESTAMP';
    case 'timestamp with time zone':
      return 'TIMESTAMPTZ';
    case 'time without time zone':
      return 'TIME';
    default:
      return type.toUpperCase();
  }
}

/** How an existing target column relates to the type the gold column needs. */
export type TypeChange = { kind: 'same' } | { kind: 'widen'; to: TargetType } | { kind: 'incompatible' };

/**
 * Numeric types by what they hold, narrowest first. A model may widen a gold column along these
 * (INTEGER to BIGINT, FLOAT to DOUBLE: README), so the target follows, as it does for a VARCHAR.
 */
const NUMERIC_LADDERS: readonly (readonly TargetType[])[] = [
  ['SMALLINT', 'INTEGER', 'BIGINT'],
  ['REAL', 'DOUBLE PRECISION'],
];

/**
 * A VARCHAR, or a number along its ladder, may be widened; a target column already at least as wide
 * takes gold's values as they are. Anything else must match exactly.
 */
export function compareTypes(existing: TargetType, wanted: TargetType): TypeChange {
  if (existing === wanted) return { kind: 'same' };
  for (const ladder of NUMERIC_LADDERS) {
    const had = ladder.indexOf(existing);
    const needs = ladder.indexOf(wanted);
    if (had >= 0 && needs >= 0) return had >= needs ? { kind: 'same' } : { kind: 'widen', to: wanted };
  }
  const had = /^VARCHAR(?:\((\d+)\))?$/.exec(existing);
  const needs = /^VARCHAR\((\d+)\)$/.exec(wanted);
  if (had && needs) {
    // Unbounded text (PostgreSQL) or a wide enough VARCHAR already holds the data.
    if (had[1] === undefined || Number(had[1]) >= Number(needs[1])) return { kind: 'same' };
    return { kind: 'widen', to: wanted };
  }
  return { kind: 'incompatible' };
}
