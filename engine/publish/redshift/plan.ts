import { counted, inNumber } from '../../api/counted.ts';
import { ident } from '../../db/duckdb.ts';
import { type GoldTable, isFloatType } from '../gold-tables.ts';
import type { ColumnDefinition, Dialect, Distribution, TableName } from './dialect.ts';
import { compareTypes, normaliseTargetType, targetType } from './types.ts';

// A publish is planned in full before anything runs: the target is inspected, each gold table diffed
// against what exists, and the ordered steps (DDL, loads, merges, constraints) decided. Conflicts stop
// the publish at this point, so an incompatible target is reported before any statement changes it.

/** Dimensions up to this many rows are copied to every node (DISTSTYLE ALL). */
export const SMALL_DIMENSION_ROWS = 1_000_000;

/** What a target reports of itself; any client (pg, the Data API) that can run a SELECT provides it. */
export interface TargetReader {
  query(sql: string): Promise<Record<string, unknown>[]>;
}

export interface TargetColumn {
  name: string;
  type: string;
}

export interface TargetForeignKey {
  name: string;
  table: string;
  refTable: string;
  /** As the server prints it (pg_get_constraintdef), to re-declare it after a swap. */
  definition: string;
}

/** A primary key or unique constraint of the target: what a MERGE matches on and a foreign key needs. */
export interface TargetKey {
  name: string;
  table: string;
  primary: boolean;
  columns: string[];
}

export interface TargetState {
  /**
   * Whether the schema exists: CREATE SCHEMA IF NOT EXISTS still needs CREATE on the database, which a
   * loader role given only a schema it owns lacks, so the publish creates it only when it is missing.
   */
  schemaExists: boolean;
  /** Existing tables of the schema, columns in ordinal order. */
  tables: Map<string, TargetColumn[]>;
  foreignKeys: TargetForeignKey[];
  /** Primary keys and unique constraints of the schema's tables. */
  keys: TargetKey[];
}

/**
 * Reads the tables, columns and constraints (foreign, primary and unique keys) of `schema` from the
 * target's catalogs. The schema goes in as the dialect's literal: the Data API takes no bind parameters
 * in a batch, so every statement is text.
 */
export async function inspectTarget(
  reader: TargetReader,
  dialect: Pick<Dialect, 'literal'>,
  schema: string,
): Promise<TargetState> {
  const columns = await reader.query(
    `SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale
     FROM information_schema.columns WHERE table_schema = ${dialect.literal(schema)}
     ORDER BY table_name, ordinal_position`,
  );
  const tables = new Map<string, TargetColumn[]>();
  for (const row of columns) {
    const table = String(row.table_name);
    const list = tables.get(table) ?? [];
    list.push({
      name: String(row.column_name),
      type: normaliseTargetType({
        data_type: String(row.data_type),
        character_maximum_length: nullableNumber(row.character_maximum_length),
        numeric_precision: nullableNumber(row.numeric_precision),
        numeric_scale: nullableNumber(row.numeric_scale),
      }),
    });
    tables.set(table, list);
  }
  // One query for every kind (a round trip through the Data API is a polled statement). Key columns come
  // from the printed definition: Redshift's leader node has no array functions to read conkey with.
  const constraints = await reader.query(
    `SELECT c.conname AS name, c.contype AS kind, t.relname AS table_name, r.relname AS ref_table, pg_get_constraintdef(c.oid) AS definition
     FROM pg_constraint c
     JOIN pg_class t ON t.oid = c.conrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     LEFT JOIN pg_class r ON r.oid = c.confrelid
     WHERE c.contype IN ('f', 'p', 'u') AND n.nspname = ${dialect.literal(schema)}
     ORDER BY 3, 1`,
  );
  const foreignKeys: TargetForeignKey[] = [];
  const keys: TargetKey[] = [];
  for (const c of constraints) {
    const kind = String(c.kind);
    if (kind === 'f') {
      foreignKeys.push({
        name: String(c.name),
        table: String(c.table_name),
        refTable: String(c.ref_table),
        definition: String(c.definition),
      });
    } else {
      keys.push({
        name: String(c.name),
        table: String(c.table_name),
        primary: kind === 'p',
        columns: constraintColumns(String(c.definition)),
      });
    }
  }
  const namespace = await reader.query(
    `SELECT count(*) AS n FROM pg_namespace WHERE nspname = ${dialect.literal(schema)}`,
  );
  return { schemaExists: Number(namespace[0]?.n ?? 0) > 0, tables, foreignKeys, keys };
}

/**
 * The columns of `PRIMARY KEY (a, "b c")` or `UNIQUE [NULLS NOT DISTINCT] (a)` as the server prints them:
 * the first parenthesised list, quoted names unquoted (what follows, e.g. INCLUDE (...), is not the key).
 */
export function constraintColumns(definition: string): string[] {
  const columns: string[] = [];
  let i = definition.indexOf('(') + 1;
  if (i === 0) return columns;
  let current = '';
  for (; i < definition.length; i++) {
    const ch = definition[i];
    if (ch === '"') {
      // A quoted name: "" stands for one quote.
      for (i++; i < definition.length; i++) {
        if (definition[i] === '"' && definition[i + 1] === '"') {
          current += '"';
          i++;
        } else if (definition[i] === '"') break;
        else current += definition[i];
      }
    } else if (ch === ',' || ch === ')') {
      columns.push(current);
      current = '';
      if (ch === ')') break;
    } else if (ch !== ' ') {
      // Names the server prints unquoted hold no spaces: a space is the list's own.
      current += ch;
    }
  }
  return columns;
}

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** How a table reaches the target. */
export type LoadAction =
  /** Not in the target yet: created, then loaded directly. */
  | 'create'
  /** `table`: loaded into a new table that replaces the old one (drop + rename) in the transaction. */
  | 'swap'
  /** `scd1`: staged, then MERGE by key; members gone locally deleted. */
  | 'merge'
  /** `append`: staged; the target's rows for the staged dates (and keys) are replaced (no date key: keys gone deleted). */
  | 'append'
  /** `scd2`, `bridge`: staged, MERGE by key, and rows gone locally deleted: history mirrors the local table. */
  | 'mirror';

export interface TablePlan {
  table: GoldTable;
  target: TableName;
  action: LoadAction;
  /** Final column order in the target; loads send columns in this order. */
  columns: ColumnDefinition[];
  addedColumns: string[];
  widenedColumns: { column: string; from: string; to: string }[];
  distribution: Distribution;
  /** Rows sent to the target (append: only the dates whose rows differ there). */
  rowsToSend: number;
  /** append: the date keys sent, as text; null when the whole table is sent. */
  sentValues: string[] | null;
}

export interface Conflict {
  table: string;
  column?: string;
  message: string;
}

/** A statement, or the rows of a gold table going into a target relation (a table or a staging table). */
export type PlanStep =
  | { kind: 'sql'; sql: string; table?: string; purpose: 'ddl' | 'load' | 'constraint' | 'cleanup' }
  | {
      kind: 'load';
      table: GoldTable;
      into: TableName | string;
      columns: ColumnDefinition[];
      /** Only the rows whose `column` (as text) is one of `values`; '' stands for NULL. Default: every row. */
      only?: { column: string; values: string[] };
      rows: number;
    };

export interface PublishPlan {
  schema: string;
  dialect: Dialect;
  tables: TablePlan[];
  conflicts: Conflict[];
  warnings: string[];
  steps: PlanStep[];
}

/**
 * Redshift physical design for a star: the fact is distributed on its foreign key to its largest
 * dimension (other than the date dimension it sorts on), which is distributed on its key, so their join is co-located; other tables pointing at that
 * key share it; small dimensions are copied to every node; tables with a date key sort on it.
 */
export function planDistribution(tables: GoldTable[]): Map<string, Distribution> {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const result = new Map<string, Distribution>();
  const sortKey = (t: GoldTable): string[] => {
    if (t.dateKey) return [t.dateKey];
    // The date dimension sorts on the key facts' date keys point at.
    for (const other of tables) {
      const edge = other.relationships.find((r) => r.column === other.dateKey && r.toTable === t.name);
      if (edge) return [edge.toColumn];
    }
    return [];
  };
  const shared = new Map<string, string>();
  for (const fact of tables.filter((t) => t.role === 'fact')) {
    const edges = fact.relationships
      .map((r) => ({ edge: r, dim: byName.get(r.toTable) }))
      // The date dimension is what the fact sorts on; distributing on it would skew each day onto one slice.
      .filter(
        (x): x is { edge: (typeof x)['edge']; dim: GoldTable } =>
          x.dim !== undefined && x.edge.column !== fact.dateKey,
      )
      .sort((a, b) => b.dim.rowCount - a.dim.rowCount);
    const largest = edges[0];
    if (!largest) continue;
    result.set(fact.name, { style: 'KEY', distKey: largest.edge.column, sortKey: sortKey(fact) });
    result.set(largest.dim.name, {
      style: 'KEY',
      distKey: largest.edge.toColumn,
      sortKey: sortKey(largest.dim),
    });
    shared.set(largest.dim.name, largest.edge.toColumn);
  }
  for (const t of tables) {
    if (result.has(t.name)) continue;
    const coLocated = t.relationships.find((r) => shared.get(r.toTable) === r.toColumn);
    if (coLocated) {
      result.set(t.name, { style: 'KEY', distKey: coLocated.column, sortKey: sortKey(t) });
    } else if (t.role === 'dimension' && t.rowCount <= SMALL_DIMENSION_ROWS) {
      result.set(t.name, { style: 'ALL', sortKey: sortKey(t) });
    } else {
      result.set(t.name, { style: 'AUTO', sortKey: sortKey(t) });
    }
  }
  return result;
}

/** PostgreSQL's identifier limit in bytes (NAMEDATALEN - 1); Redshift's is 127. */
export const POSTGRES_IDENTIFIER_BYTES = 63;

/**
 * A name the publish derives, within `maxBytes` UTF-8 bytes: the server would cut a longer one silently,
 * so two long names sharing a prefix would collide. Long names keep a recognisable prefix and a hash.
 */
export function fitIdentifier(name: string, maxBytes = POSTGRES_IDENTIFIER_BYTES): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  let prefix = '';
  for (const ch of name) {
    if (Buffer.byteLength(prefix + ch) > maxBytes - 9) break;
    prefix += ch;
  }
  return `${prefix}_${hash8(name)}`;
}

/** A foreign key's name, within PostgreSQL's 63 bytes (so the same on either server). */
export function foreignKeyName(table: string, column: string): string {
  return fitIdentifier(`${table}_${column}_fkey`);
}

function hash8(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16).padStart(8, '0');
}

export const SWAP_SUFFIX = '__lakehouse_new';
const swapFor = (table: string) => fitIdentifier(`${table}${SWAP_SUFFIX}`);
const stagingFor = (table: string) => fitIdentifier(`lakehouse_stage_${table}`);

function actionFor(table: GoldTable, exists: boolean): LoadAction {
  if (!exists) return 'create';
  // Merging needs a key; a table without one is replaced whole.
  if (table.keySource === 'all_columns') return 'swap';
  switch (table.materialized) {
    case 'scd1':
      return 'merge';
    case 'append':
      return 'append';
    case 'scd2':
    case 'bridge':
      return 'mirror';
    default:
      return 'swap';
  }
}

export interface PlanInput {
  schema: string;
  dialect: Dialect;
  /** Every gold table of the project (distribution and foreign keys look at the whole star). */
  allTables: GoldTable[];
  /** The tables to publish now (a subset of allTables, in load order). */
  tables: GoldTable[];
  target: TargetState;
  /**
   * append tables already in the target: the date keys whose rows differ between gold and the target
   * (count or key checksum), with the gold rows they hold. Only those dates are sent.
   */
  changedDates?: Map<string, { values: string[]; rows: number; gone?: string[] }>;
  /** Per append table with a date key: each date's content hash, recorded when the table is loaded. */
  contentHashes?: Map<string, [string, string][]>;
  /** Whether the schema already holds PUBLISH_STATE_TABLE. */
  hasPublishState?: boolean;
}

/** Diffs the gold tables against the target and lays out every step of the publish, in order. */
export function planPublish(input: PlanInput): PublishPlan {
  const { schema, dialect, target } = input;
  const distribution = planDistribution(input.allTables);
  const conflicts: Conflict[] = [];
  const warnings: string[] = [];
  const plans: TablePlan[] = [];
  for (const table of input.tables) {
    const existing = target.tables.get(table.name);
    const wanted: ColumnDefinition[] = [];
    for (const column of table.columns) {
      try {
        wanted.push({
          name: column.name,
          type: targetType(table.name, column),
          notNull: table.keySource !== 'all_columns' && table.primaryKey.includes(column.name),
        });
      } catch (error) {
        conflicts.push({ table: table.name, column: column.name, message: (error as Error).message });
      }
    }
    conflicts.push(...nameConflicts(schema, dialect, table), ...floatKeyConflicts(table));
    const nullKeys = nullKeyConflict(schema, table);
    if (nullKeys) conflicts.push(nullKeys);
    const plan: TablePlan = {
      table,
      target: { schema, table: table.name },
      action: actionFor(table, existing !== undefined),
      columns: wanted,
      addedColumns: [],
      widenedColumns: [],
      distribution: distribution.get(table.name) ?? { style: 'AUTO', sortKey: [] },
      rowsToSend: table.rowCount,
      sentValues: null,
    };
    if (existing && plan.action !== 'swap') {
      const ordered: ColumnDefinition[] = [];
      for (const column of existing) {
        const want = wanted.find((w) => w.name === column.name);
        if (!want) {
          conflicts.push({
            table: table.name,
            column: column.name,
            message: `${schema}.${table.name}.${column.name} exists in the target but not in gold.${table.name}: drop or rename it in the target, or add it back to the model.`,
          });
          continue;
        }
        const change = compareTypes(column.type, want.type);
        if (change.kind === 'incompatible') {
          conflicts.push({
            table: table.name,
            column: column.name,
            message: `${schema}.${table.name}.${column.name} is ${column.type} in the target but gold needs ${want.type}: change it in the target (or drop the table to have it re-created), or cast it in the model.`,
          });
        } else if (change.kind === 'widen') {
          if (dialect.widenColumn({ schema, table: table.name }, column.name, want.type) === null) {
            conflicts.push({
              table: table.name,
              column: column.name,
              // ALTER COLUMN ... TYPE on Redshift only widens a VARCHAR, and never in a transaction.
              message: want.type.startsWith('VARCHAR')
                ? `${schema}.${table.name}.${column.name} is ${column.type} but values need ${want.type}. Redshift cannot widen a column inside a transaction: run ALTER TABLE ${schema}.${table.name} ALTER COLUMN ${column.name} TYPE ${want.type}; then publish again.`
                : `${schema}.${table.name}.${column.name} is ${column.type} in the target but gold.${table.name} now needs ${want.type}, and Redshift cannot change a ${column.type} column's type: drop ${schema}.${table.name} in the target so that the next publish re-creates it with every row, or cast the column back in the model.`,
            });
          } else {
            plan.widenedColumns.push({ column: column.name, from: column.type, to: want.type });
          }
        }
        ordered.push({ ...want, type: change.kind === 'same' ? column.type : want.type });
      }
      for (const want of wanted) {
        if (!existing.some((c) => c.name === want.name)) {
          ordered.push({ ...want, notNull: false });
          plan.addedColumns.push(want.name);
        }
      }
      plan.columns = ordered;
      const changed = input.changedDates?.get(table.name);
      // A new column must be filled in every row, so the whole table goes.
      if (
        plan.action === 'append' &&
        changed &&
        plan.addedColumns.length === 0 &&
        plan.widenedColumns.length === 0
      ) {
        plan.sentValues = changed.values;
        plan.rowsToSend = changed.rows;
      }
    }
    plans.push(plan);
  }
  conflicts.push(...keyConflicts(input, plans));
  const steps = conflicts.length > 0 ? [] : buildSteps(input, plans, warnings);
  return { schema, dialect, tables: plans, conflicts, warnings, steps };
}

/**
 * Table and column names longer than the server keeps: it would cut them silently, so the first publish
 * would succeed and every later one find a column gold does not have (or two names fold into one). On
 * Redshift also names with capitals, which it folds to lower case even quoted (unless the cluster sets
 * enable_case_sensitive_identifier, which every query of the table would then need too): the same trap.
 */
function nameConflicts(schema: string, dialect: Dialect, table: GoldTable): Conflict[] {
  const limit = dialect.maxIdentifierBytes;
  const server = dialect.name === 'redshift' ? 'Redshift' : 'PostgreSQL';
  const tooLong = (name: string) => Buffer.byteLength(name) > limit;
  const conflicts: Conflict[] = [];
  if (tooLong(table.name)) {
    conflicts.push({
      table: table.name,
      message: `gold.${table.name}: the name is ${Buffer.byteLength(table.name)} bytes, and ${server} keeps at most ${limit} (it would cut it, so ${schema}.${table.name} would not be found again). Rename the model to at most ${limit} bytes; then run and publish again.`,
    });
  }
  const folded = (name: string) => dialect.name === 'redshift' && name !== name.toLowerCase();
  const foldedMessage = (what: string, name: string, fix: string) =>
    `${what}: Redshift folds names to lower case (${name.toLowerCase()}), quoted or not, so the next publish would not find ${name}. ${fix} in lower case; then run and publish again.`;
  if (folded(table.name)) {
    conflicts.push({
      table: table.name,
      message: foldedMessage(`gold.${table.name}`, table.name, 'Rename the model'),
    });
  }
  for (const column of table.columns) {
    if (folded(column.name)) {
      conflicts.push({
        table: table.name,
        column: column.name,
        message: foldedMessage(`gold.${table.name}.${column.name}`, column.name, 'Alias the column'),
      });
    }
    if (!tooLong(column.name)) continue;
    conflicts.push({
      table: table.name,
      column: column.name,
      message: `gold.${table.name}.${column.name}: the column name is ${Buffer.byteLength(column.name)} bytes, and ${server} keeps at most ${limit} (it would cut it, and the next publish would find a column gold does not have). Alias it to at most ${limit} bytes in the model; then run and publish again.`,
    });
  }
  return conflicts;
}

/**
 * A float in a declared key: DuckDB, PostgreSQL and Redshift print floats differently (1.0, 1, 15
 * digits), so the key checksum could never match, and matching rows by a float's equality is fragile.
 */
function floatKeyConflicts(table: GoldTable): Conflict[] {
  if (table.keySource === 'all_columns') return [];
  return table.primaryKey.flatMap((name) => {
    const type = table.columns.find((c) => c.name === name)?.duckdbType ?? '';
    if (!isFloatType(type)) return [];
    return [
      {
        table: table.name,
        column: name,
        message: `gold.${table.name}.${name} is ${type} and part of its key: floating-point keys print differently in DuckDB and the target, so the publish cannot check them, and rows matched by a float's equality are fragile. Cast ${name} to DECIMAL or BIGINT in the model, or give the model a surrogate_key; then run and publish again.`,
      },
    ];
  });
}

/**
 * A gold table with NULLs in its key cannot load: the target declares the key NOT NULL (a primary key
 * must be), and a merge by key matches a NULL to nothing. Found here, before anything is sent, rather
 * than as the server's bare constraint error mid-load.
 */
function nullKeyConflict(schema: string, table: GoldTable): Conflict | null {
  if (table.keySource === 'all_columns' || table.nullKeyRows === 0) return null;
  const key = table.primaryKey;
  const from = {
    surrogate_key: 'its surrogate_key',
    unique_key: 'its unique_key',
    unique_test: 'its unique test',
  }[table.keySource];
  const notNull = `a not_null test on ${key.join(' and ')}`;
  const fix =
    table.keySource === 'surrogate_key'
      ? `Fill ${key.join(', ')} in every row of the model (${notNull} finds the rows)`
      : `Add ${notNull} to the model and fix those rows upstream, or give the model a surrogate_key`;
  return {
    table: table.name,
    ...(key.length === 1 ? { column: key[0] } : {}),
    message: `gold.${table.name} has ${counted(table.nullKeyRows, 'row')} with a NULL in its key (${key.join(', ')}, ${from}), and the key is the primary key of ${schema}.${table.name} in the target, which holds no NULL: ${inNumber(table.nullKeyRows, 'that row', 'those rows')} cannot load. ${fix}; then run and publish again.`,
  };
}

/**
 * Existing target tables that lack the key the publish relies on. A merge, mirror or append matches
 * rows by the gold key, and a foreign key needs the referenced column to be a key: a table created
 * outside the publish without one is a conflict, named with the ALTER TABLE that fixes it. The publish
 * does not add the key itself: duplicates already in the table would fail it mid-transaction, and
 * building an index on the user's table is theirs to decide.
 */
function keyConflicts(input: PlanInput, plans: TablePlan[]): Conflict[] {
  const { schema, dialect, target } = input;
  const recreated = new Set(
    plans.filter((p) => p.action === 'create' || p.action === 'swap').map((p) => p.table.name),
  );
  const needs = new Map<string, { key: string[]; load?: string; referencedBy: string[] }>();
  for (const plan of plans) {
    const load =
      plan.action === 'merge' || plan.action === 'mirror'
        ? `gold.${plan.table.name} is merged by it`
        : plan.action === 'append'
          ? `gold.${plan.table.name}'s rows are replaced by it`
          : undefined;
    if (load) needs.set(plan.table.name, { key: plan.table.primaryKey, load, referencedBy: [] });
  }
  for (const plan of plans) {
    for (const edge of plan.table.relationships) {
      // The foreign keys buildSteps declares on a table that stays: the referenced key must be one there.
      if (recreated.has(edge.toTable) || !target.tables.has(edge.toTable)) continue;
      const referenced = input.allTables.find((t) => t.name === edge.toTable);
      if (
        referenced &&
        (referenced.keySource === 'all_columns' || referenced.primaryKey.join() !== edge.toColumn)
      )
        continue;
      const entry = needs.get(edge.toTable) ?? { key: [edge.toColumn], referencedBy: [] };
      if (entry.key.join() !== edge.toColumn) continue;
      entry.referencedBy.push(`${plan.table.name}.${edge.column}`);
      needs.set(edge.toTable, entry);
    }
  }
  const conflicts: Conflict[] = [];
  const sameColumns = (a: string[], b: string[]) => a.length === b.length && a.every((c) => b.includes(c));
  for (const [table, { key, load, referencedBy }] of needs) {
    const keys = target.keys.filter((k) => k.table === table);
    if (keys.some((k) => sameColumns(k.columns, key))) continue;
    const name = { schema, table };
    const other = keys.find((k) => k.primary);
    const fix = other
      ? `${dialect.dropConstraint(name, other.name)}; ${dialect.addPrimaryKey(name, key)};`
      : `${dialect.addPrimaryKey(name, key)};`;
    const has = other
      ? `has its primary key on (${other.columns.join(', ')}), not on (${key.join(', ')})`
      : `has no primary key on (${key.join(', ')})`;
    const uses = [
      ...(load ? [load] : []),
      ...(referencedBy.length > 0
        ? [`${referencedBy.join(', ')} ${referencedBy.length > 1 ? 'reference' : 'references'} it`]
        : []),
    ];
    conflicts.push({
      table,
      message: `${schema}.${table} ${has}: ${uses.join(', and ')}. Run ${fix} first (it fails, naming a key, if the table holds duplicates), or drop the table to have it re-created; then publish again.`,
    });
  }
  return conflicts;
}

function buildSteps(input: PlanInput, plans: TablePlan[], warnings: string[]): PlanStep[] {
  const { schema, dialect, target } = input;
  const steps: PlanStep[] = target.schemaExists
    ? []
    : [{ kind: 'sql', sql: dialect.createSchema(schema), purpose: 'ddl' }];
  const keyOf = (t: GoldTable) => (t.keySource === 'all_columns' ? [] : t.primaryKey);
  const recreated = new Set(
    plans.filter((p) => p.action === 'create' || p.action === 'swap').map((p) => p.table.name),
  );
  const swapped = new Set(plans.filter((p) => p.action === 'swap').map((p) => p.table.name));
  /** Deletes of rows gone locally (with their staging table's drop), run once every table is loaded. */
  const deletions: PlanStep[] = [];
  if (!input.hasPublishState && (input.contentHashes?.size ?? 0) > 0) {
    steps.push({ kind: 'sql', sql: dialect.createPublishState(schema), purpose: 'ddl' });
  }
  for (const plan of plans) {
    const { table } = plan;
    const name = plan.target;
    const columnNames = plan.columns.map((c) => c.name);
    // Nearly every step is one statement on this table; the few on another table push their own.
    const sqlStep = (sql: string, purpose: Extract<PlanStep, { kind: 'sql' }>['purpose']) =>
      steps.push({ kind: 'sql', sql, table: table.name, purpose });
    for (const column of plan.addedColumns) {
      const definition = plan.columns.find((c) => c.name === column);
      if (definition) sqlStep(dialect.addColumn(name, definition), 'ddl');
    }
    for (const widened of plan.widenedColumns) {
      const sql = dialect.widenColumn(name, widened.column, widened.to);
      if (sql) sqlStep(sql, 'ddl');
    }
    // An append table whose dates all match the target already: nothing to send.
    if (plan.sentValues?.length === 0) continue;
    // Loaded, whichever way: what its dates hold is recorded in the same transaction.
    const hashes = input.contentHashes?.get(table.name);
    for (const sql of hashes ? dialect.replacePublishState(schema, table.name, hashes) : [])
      sqlStep(sql, 'load');
    const only =
      plan.sentValues && table.dateKey ? { column: table.dateKey, values: plan.sentValues } : undefined;
    const rows = plan.rowsToSend;
    const inlineKey = dialect.primaryKeyAfterLoad ? [] : keyOf(table);
    const laterKey = dialect.primaryKeyAfterLoad ? keyOf(table) : [];
    switch (plan.action) {
      case 'create':
        sqlStep(dialect.createTable(name, plan.columns, inlineKey, plan.distribution), 'ddl');
        steps.push({ kind: 'load', table, into: name, columns: plan.columns, rows });
        if (laterKey.length > 0) {
          sqlStep(dialect.addPrimaryKey(name, laterKey), 'ddl');
        }
        break;
      case 'swap': {
        const fresh = { schema, table: swapFor(table.name) };
        sqlStep(dialect.createTable(fresh, plan.columns, inlineKey, plan.distribution), 'ddl');
        steps.push({ kind: 'load', table, into: fresh, columns: plan.columns, rows });
        // Foreign keys pointing at the old table go first (they are declared again below); anything else
        // depending on it, such as a view, makes the drop fail and the publish roll back.
        for (const key of target.foreignKeys.filter(
          (k) => k.refTable === table.name && k.table !== table.name,
        )) {
          steps.push({
            kind: 'sql',
            sql: dialect.dropConstraint({ schema, table: key.table }, key.name),
            table: key.table,
            purpose: 'load',
          });
        }
        sqlStep(dialect.dropTable(name), 'load');
        sqlStep(dialect.renameTable(fresh, table.name), 'load');
        // Added after the rename, so the key's name (and PostgreSQL's index name) is the table's own.
        if (laterKey.length > 0) {
          sqlStep(dialect.addPrimaryKey(name, laterKey), 'ddl');
        }
        break;
      }
      default: {
        const staging = stagingFor(table.name);
        const key = keyOf(table);
        sqlStep(dialect.createStaging(staging, name), 'load');
        steps.push({ kind: 'load', table, into: staging, columns: plan.columns, only, rows });
        if (plan.action === 'append') {
          if (table.dateKey) {
            // Only some dates sent: delete exactly those, including dates no local row has any more.
            sqlStep(
              only
                ? dialect.deleteValues(name, table.dateKey, only.values)
                : dialect.deleteMatchingValues(name, staging, table.dateKey),
              'load',
            );
            // Every date sent (a column was added or widened): the staged dates replace the target's, and
            // the dates only the target has are gone locally, so they go too, or the counts never match.
            const gone = only ? [] : (input.changedDates?.get(table.name)?.gone ?? []);
            if (gone.length > 0) sqlStep(dialect.deleteValues(name, table.dateKey, gone), 'load');
          }
          sqlStep(dialect.deleteMatchingKeys(name, staging, key), 'load');
          sqlStep(dialect.insertFrom(name, staging, columnNames), 'load');
        } else {
          sqlStep(dialect.merge(name, staging, key, columnNames), 'load');
        }
        // The whole table was staged (a merge, or an append with no date key to replace rows by): rows only
        // the target has are gone locally (an scd1 rebuilt by `drop --rebuild`, a re-run date that lost
        // events), and kept they would fail this and every later reconciliation, so they are deleted. After
        // every table is loaded, referencing tables first: a target row still pointing at a gone member is
        // replaced by then, and PostgreSQL checks foreign keys per statement.
        if (plan.action !== 'append' || !table.dateKey) {
          deletions.unshift(
            {
              kind: 'sql',
              sql: dialect.deleteMissingKeys(name, staging, key),
              table: table.name,
              purpose: 'load',
            },
            { kind: 'sql', sql: `DROP TABLE ${ident(staging)}`, table: table.name, purpose: 'cleanup' },
          );
        } else {
          sqlStep(`DROP TABLE ${ident(staging)}`, 'cleanup');
        }
      }
    }
  }
  steps.push(...deletions);
  // Foreign keys last: every referenced key is loaded by then, and PostgreSQL checks each one once.
  const finalTables = new Set([...target.tables.keys(), ...plans.map((p) => p.table.name)]);
  const kept = target.foreignKeys.filter((k) => !recreated.has(k.table) && !swapped.has(k.refTable));
  const declared = new Set(kept.map((k) => `${k.table}.${k.name}`));
  for (const plan of plans) {
    for (const edge of plan.table.relationships) {
      const constraint = foreignKeyName(plan.table.name, edge.column);
      if (declared.has(`${plan.table.name}.${constraint}`)) continue;
      if (!finalTables.has(edge.toTable)) {
        warnings.push(
          `${schema}.${plan.table.name}.${edge.column} → ${edge.toTable}.${edge.toColumn}: not declared, ${edge.toTable} is not in the target (publish it too).`,
        );
        continue;
      }
      const referenced = input.allTables.find((t) => t.name === edge.toTable);
      if (
        referenced &&
        (referenced.keySource === 'all_columns' || referenced.primaryKey.join() !== edge.toColumn)
      ) {
        warnings.push(
          `${schema}.${plan.table.name}.${edge.column} → ${edge.toTable}.${edge.toColumn}: not declared, ${edge.toColumn} is not the primary key of ${edge.toTable}.`,
        );
        continue;
      }
      declared.add(`${plan.table.name}.${constraint}`);
      steps.push({
        kind: 'sql',
        sql: dialect.addForeignKey(
          plan.target,
          constraint,
          edge.column,
          { schema, table: edge.toTable },
          edge.toColumn,
        ),
        table: plan.table.name,
        purpose: 'constraint',
      });
    }
  }
  // Keys of tables not published now that pointed at a swapped table come back exactly as they were.
  for (const key of target.foreignKeys) {
    if (!swapped.has(key.refTable) || recreated.has(key.table) || declared.has(`${key.table}.${key.name}`))
      continue;
    declared.add(`${key.table}.${key.name}`);
    steps.push({
      kind: 'sql',
      sql: `ALTER TABLE ${quotedRelation(schema, key.table)} ADD CONSTRAINT "${key.name.replaceAll('"', '""')}" ${key.definition}`,
      table: key.table,
      purpose: 'constraint',
    });
  }
  return steps;
}

function quotedRelation(schema: string, table: string): string {
  return `"${schema.replaceAll('"', '""')}"."${table.replaceAll('"', '""')}"`;
}
