import type { ColumnFilter, SortKey } from '../api/contract.ts';
import { LakehouseError } from '../api/errors.ts';
import { type Db, ident } from '../db/duckdb.ts';
import { columnOf, type Relation, valueLiteral } from './relation.ts';

const COMPARISONS = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

/**
 * The WHERE clause of a set of filters (all must hold), or '' for none. Identifiers are quoted (and
 * qualified with `alias` when given, for the reason orderClause gives); values are quoted literals cast
 * to the column's type (DuckDB's own type name), so `event_id = '42'` compares numbers.
 */
export function whereClause(relation: Relation, filters: ColumnFilter[], alias?: string): string {
  if (filters.length === 0) return '';
  const prefix = alias ? `${ident(alias)}.` : '';
  const parts = filters.map((filter) => {
    const column = columnOf(relation, filter.column);
    const name = `${prefix}${ident(column.name)}`;
    switch (filter.op) {
      case 'is_null':
        return `${name} IS NULL`;
      case 'not_null':
        return `${name} IS NOT NULL`;
      case 'contains':
        return `contains(lower(CAST(${name} AS VARCHAR)), lower(${valueLiteral(filter.value ?? '')}))`;
      case 'starts_with':
        return `starts_with(CAST(${name} AS VARCHAR), ${valueLiteral(filter.value ?? '')})`;
      default:
        return `${name} ${COMPARISONS[filter.op]} CAST(${valueLiteral(filter.value ?? '')} AS ${column.type})`;
    }
  });
  return `WHERE ${parts.join(' AND ')}`;
}

/**
 * Checks, before any scan, that each comparison's value converts to its column's type; a value that
 * does not is an INVALID_ARGUMENT naming the column, the value and the type.
 */
export async function checkFilterValues(db: Db, relation: Relation, filters: ColumnFilter[]): Promise<void> {
  const typed = filters.filter((f) => f.op in COMPARISONS);
  if (typed.length === 0) return;
  const probes = typed.map((f, i) => {
    const column = columnOf(relation, f.column);
    return `TRY_CAST(${valueLiteral(f.value ?? '')} AS ${column.type}) IS NULL AS ${ident(`bad${i}`)}`;
  });
  const [row] = await db.all<Record<string, boolean>>(`SELECT ${probes.join(', ')}`);
  typed.forEach((f, i) => {
    if (row?.[`bad${i}`]) {
      const column = columnOf(relation, f.column);
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `Filter on ${relation.name}.${column.name}: "${String(f.value)}" is not a valid ${column.type}. Give ${howToWrite(column.type)}.`,
        { table: relation.name, column: column.name, value: f.value ?? null, type: column.type },
      );
    }
  });
}

/** How a value of a column's type is written, for the error that refuses one. */
function howToWrite(type: string): string {
  if (/^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/.test(type)) return 'a whole number, e.g. 42';
  if (/^(FLOAT|DOUBLE|REAL|DECIMAL.*)$/.test(type)) return 'a number, e.g. 12.5';
  if (type === 'DATE') return 'a date as YYYY-MM-DD, e.g. 2022-06-01';
  if (type.startsWith('TIMESTAMP')) return 'a date and time as YYYY-MM-DD HH:MM:SS, e.g. 2022-06-01 08:30:00';
  if (type === 'BOOLEAN') return 'true or false';
  return 'a value of that type';
}

/**
 * The ORDER BY of a grid: the sort keys (nulls last either way), then `rowid`, so that windows of one
 * order never overlap (views are read through a snapshot table, so they have a rowid too). Columns are
 * qualified with the table's alias: a SELECT list that casts a column under its own name must not
 * change the order (DECIMAL as text would sort 10.5 before 9.2).
 */
export function orderClause(relation: Relation, sort: SortKey[], alias: string): string {
  const prefix = `${ident(alias)}.`;
  const keys = sort.map(
    (k) => `${prefix}${ident(columnOf(relation, k.column).name)} ${k.direction.toUpperCase()} NULLS LAST`,
  );
  return `ORDER BY ${[...keys, `${prefix}rowid`].join(', ')}`;
}
