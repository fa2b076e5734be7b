import type { Column } from '../api/contract.ts';
import { LakehouseError } from '../api/errors.ts';
import { type Db, literal, qualified } from '../db/duckdb.ts';

/** Schemas the explorer opens: every layer, plus the quarantine tables. */
export const EXPLORABLE_SCHEMAS = ['bronze', 'silver', 'gold', 'quarantine'] as const;

/** A table or view the explorer can read, with its columns as DuckDB types them. */
export interface Relation {
  /** `layer.name`, as the UI names it. */
  name: string;
  schema: string;
  table: string;
  /** Tables have a stable `rowid` (a tiebreak and an index key); views over Parquet do not. */
  kind: 'table' | 'view';
  /** The quoted `"schema"."table"` to put in SQL. */
  sql: string;
  columns: Column[];
}

/**
 * Finds `layer.name` in the warehouse (a bare name means gold) and reads its columns. A name that is
 * not there is an INVALID_ARGUMENT naming the table and listing what exists in that layer.
 */
export async function resolveRelation(db: Db, name: string): Promise<Relation> {
  const dot = name.indexOf('.');
  const schema = dot < 0 ? 'gold' : name.slice(0, dot);
  const table = dot < 0 ? name : name.slice(dot + 1);
  const known = (EXPLORABLE_SCHEMAS as readonly string[]).includes(schema);
  const found = known
    ? await db.all<{ kind: 'table' | 'view' }>(
        `SELECT 'table' AS kind FROM duckdb_tables()
           WHERE database_name = current_database() AND schema_name = $1 AND table_name = $2
         UNION ALL
         SELECT 'view' FROM duckdb_views()
           WHERE database_name = current_database() AND schema_name = $1 AND view_name = $2`,
        [schema, table],
      )
    : [];
  const kind = found[0]?.kind;
  if (!kind) {
    const siblings = known
      ? await db.all<{ name: string }>(
          `SELECT table_name AS name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $1
           UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND schema_name = $1
           ORDER BY 1`,
          [schema],
        )
      : [];
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      known
        ? `There is no table ${schema}.${table}. Tables in ${schema}: ${siblings.map((s) => s.name).join(', ') || 'none yet (run the pipeline)'}.`
        : `Unknown layer "${schema}" in ${name}: name a table as <layer>.<table>, layer one of ${EXPLORABLE_SCHEMAS.join(', ')}.`,
      { table: name, reason: 'no-such-table' },
    );
  }
  const sql = qualified(schema, table);
  const described = await db.all<{ column_name: string; column_type: string }>(
    `DESCRIBE SELECT * FROM ${sql}`,
  );
  return {
    name: `${schema}.${table}`,
    schema,
    table,
    kind,
    sql,
    columns: described.map((c) => ({ name: c.column_name, type: c.column_type })),
  };
}

/** The column of a relation by name; INVALID_ARGUMENT listing the columns when there is none. */
export function columnOf(relation: Relation, name: string): Column {
  const column = relation.columns.find((c) => c.name === name);
  if (!column) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${relation.name} has no column "${name}". Columns: ${relation.columns.map((c) => c.name).join(', ')}.`,
      { table: relation.name, column: name, reason: 'no-such-column' },
    );
  }
  return column;
}

/** `literal` for values that may not be strings (numbers and booleans go through their text form). */
export function valueLiteral(value: string | number | boolean): string {
  return literal(String(value));
}
