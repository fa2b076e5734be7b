import { join } from 'node:path';
import { counted } from '../../api/counted.ts';
import { LakehouseError } from '../../api/errors.ts';
import { type Db, ident, literal, qualified } from '../../db/duckdb.ts';
import { GOLD_SCHEMA, type GoldTable } from '../gold-tables.ts';
import { type Catalog, type CatalogTable, CommitConflictError, CommitStateUnknownError } from './catalog.ts';
import { writeDataFiles } from './data-files.ts';
import type { DataFile } from './manifest.ts';
import {
  committedEtlRuns,
  etlDatesSince,
  LINEAGE_COLUMN,
  type PublishState,
  readPublishState,
  writePublishState,
} from './publish-state.ts';
import { addDecimal, openFingerprintStore, publishedSelect, rowHashSql } from './published-files.ts';
import {
  currentSchema,
  dateOfDays,
  defaultSpec,
  duckdbTypeOf,
  type IcebergField,
  type IcebergSchema,
  isAllowedPromotion,
  mapDuckdbType,
  type PartitionSpec,
  type SnapshotOperation,
  type TableMetadata,
} from './spec.ts';
import {
  buildSnapshot,
  type LiveEntry,
  placeSchema,
  type SnapshotFiles,
  snapshotFiles,
  UNSORTED,
} from './table.ts';

/** How a gold table's materialization is mirrored in Iceberg. */
export type SyncMode =
  /** `append` facts: identity-partitioned by the date key; new days are fast-appended, changed days replaced. */
  | { kind: 'partitions'; column: string }
  /** scd1 / scd2 / bridge: copy-on-write upsert by key (only files holding changed keys are rewritten). */
  | { kind: 'upsert'; key: string[] }
  /** `table`: the whole table is replaced when anything differs. */
  | { kind: 'overwrite' };

/** Identity partitions are written for these source types only (their values are plain in paths and manifests). */
const PARTITIONABLE = new Set(['int', 'long', 'string', 'date']);

export function syncModeOf(table: GoldTable): SyncMode {
  const dateColumn = table.columns.find((c) => c.name === table.dateKey);
  if (
    table.materialized === 'append' &&
    dateColumn &&
    PARTITIONABLE.has(mapDuckdbType(table.name, dateColumn.name, dateColumn.duckdbType).icebergType)
  ) {
    return { kind: 'partitions', column: dateColumn.name };
  }
  if (
    ['scd1', 'scd2', 'bridge', 'append'].includes(table.materialized) &&
    table.keySource !== 'all_columns'
  ) {
    return { kind: 'upsert', key: table.primaryKey };
  }
  return { kind: 'overwrite' };
}

export interface SchemaChange {
  added: string[];
  widened: { column: string; from: string; to: string }[];
  dropped: string[];
}

/** What publishing a table will do (the preflight), computed without writing anything. */
export interface TablePlan {
  table: string;
  namespace: string;
  location: string;
  mode: SyncMode['kind'];
  action: 'create' | 'append' | 'overwrite' | 'upsert' | 'none';
  operation: SnapshotOperation | null;
  rowsAdded: number;
  rowsRemoved: number;
  filesRemoved: number;
  columns: { name: string; duckdbType: string; icebergType: string; fieldId: number }[];
  schemaChange: SchemaChange | null;
  partitionedBy: string | null;
  /** How much of the table was compared with the published one, and why. */
  comparison: { scope: 'all' | 'since-last-publish'; reason: string; partitionsCompared: number };
}

/**
 * Maps the gold columns onto the table's schema, never reusing ids: known names keep their id (int→long
 * and float→double are widened in place), new names get ids above last-column-id, vanished ones drop.
 */
export function evolveSchema(
  table: GoldTable,
  current: IcebergSchema | undefined,
  lastColumnId: number,
  partitionColumn: string | null,
  /** What re-creating the published table takes, for the error (the catalog decides). */
  recreate = 'drop the published table to re-create it',
): { schema: IcebergSchema; change: SchemaChange | null } {
  const change: SchemaChange = { added: [], widened: [], dropped: [] };
  let nextId = lastColumnId;
  const fields: IcebergField[] = table.columns.map((column) => {
    const mapped = mapDuckdbType(table.name, column.name, column.duckdbType);
    const existing = current?.fields.find((f) => f.name === column.name);
    if (!existing) {
      if (current) change.added.push(column.name);
      return { id: ++nextId, name: column.name, required: false, type: mapped.icebergType };
    }
    if (existing.type === mapped.icebergType || isAllowedPromotion(mapped.icebergType, existing.type))
      return existing;
    if (isAllowedPromotion(existing.type, mapped.icebergType)) {
      change.widened.push({ column: column.name, from: existing.type, to: mapped.icebergType });
      return { ...existing, type: mapped.icebergType };
    }
    throw new LakehouseError(
      'PUBLISH_CONFLICT',
      `Column ${table.name}.${column.name} changed from Iceberg ${existing.type} to ${mapped.icebergType} (DuckDB ${column.duckdbType}); Iceberg only widens int→long, float→double and decimal precision. Keep the old type in the model, rename the column, or ${recreate} (its snapshot history goes with it).`,
      { table: table.name, column: column.name, from: existing.type, to: mapped.icebergType },
    );
  });
  if (current) {
    change.dropped = current.fields
      .filter((f) => !table.columns.some((c) => c.name === f.name))
      .map((f) => f.name);
    if (partitionColumn && change.dropped.includes(partitionColumn)) {
      throw new LakehouseError(
        'PUBLISH_CONFLICT',
        `Column ${table.name}.${partitionColumn} partitions the published table and can no longer be dropped. Keep it in the model.`,
        { table: table.name, column: partitionColumn },
      );
    }
  }
  const schema: IcebergSchema = { type: 'struct', 'schema-id': current?.['schema-id'] ?? 0, fields };
  const changed = change.added.length + change.widened.length + change.dropped.length > 0;
  return { schema, change: changed ? change : null };
}

const castList = (schema: IcebergSchema) =>
  schema.fields
    .map((f) => `CAST(${ident(f.name)} AS ${duckdbTypeOf(f.type)}) AS ${ident(f.name)}`)
    .join(', ');

interface Fingerprint {
  rows: number;
  hash: string;
}

/**
 * A partition group: the value as text, or null for the NULL partition. Not a printed 'null': a string
 * column may hold the text 'null', and its rows were taken for (and written as) the NULL partition's.
 */
type GroupKey = string | null;
const groupKeyOf = (value: unknown): GroupKey =>
  value === null || value === undefined ? null : String(value);
const sameHash = (a: string, b: string) => BigInt(a) === BigInt(b);

interface Prepared {
  plan: TablePlan;
  schema: IcebergSchema;
  removed: Set<string>;
  /** SQL predicate over the local table selecting the rows to write, or null for none. */
  writeWhere: string | null;
  baseFiles: SnapshotFiles;
  /** What to record once this plan is committed (or found to change nothing), for the next publish. */
  nextState: Omit<PublishState, 'tableUuid' | 'snapshotId'> | null;
}

export interface SyncContext {
  db: Db;
  catalog: Catalog;
  namespace: string;
  /** Local scratch (staging of remote uploads, downloaded files, file fingerprints, publish state). */
  stateDir: string;
  /** Compare every partition even when the publish state says which ETL dates changed. */
  fullCompare?: boolean;
  properties?: Record<string, string>;
  onProgress?: (message: string) => void;
  /** Tests only: runs between building a snapshot and committing it (to stage a concurrent commit). */
  beforeCommit?: (attempt: number) => Promise<void>;
  /** Aborted: the table's written files are deleted and nothing is committed, if the commit was not sent. */
  signal?: AbortSignal;
}

async function localPaths(catalog: Catalog, entries: LiveEntry[]): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for (const e of entries) map.set(await catalog.io.readablePath(e.file.file_path), e.file.file_path);
  return map;
}

/** The column a published table is identity-partitioned by (its default spec), or null. */
function publishedPartitionColumn(metadata: TableMetadata): string | null {
  const [field, ...more] = defaultSpec(metadata).fields;
  if (!field || more.length > 0 || field.transform !== 'identity') return null;
  return currentSchema(metadata).fields.find((f) => f.id === field['source-id'])?.name ?? null;
}

/**
 * The column a fact's files are grouped (compared and rewritten) by: its date key, unless the table
 * was published partitioned otherwise (it was a `table` before, or had another date key). Its files
 * are written with its own spec, so grouping by the date key found every file in a NULL partition and
 * rewrote the whole table at every publish.
 */
function groupColumnOf(mode: SyncMode, metadata: TableMetadata | undefined): string | null {
  if (mode.kind !== 'partitions') return null;
  if (metadata && publishedPartitionColumn(metadata) !== mode.column) return null;
  return mode.column;
}

/** The gold table's columns on the published table's schema; PUBLISH_CONFLICT when they cannot go there. */
function evolveTableSchema(
  ctx: Pick<SyncContext, 'catalog' | 'namespace'>,
  table: GoldTable,
  existing: CatalogTable | undefined,
): ReturnType<typeof evolveSchema> {
  const mode = syncModeOf(table);
  const metadata = existing?.metadata;
  // No command drops a published table: say where it lives, since for a file-system warehouse its
  // folder is the table and deleting it is all it takes.
  const recreate =
    ctx.catalog.kind === 'filesystem' && metadata
      ? `delete the table's folder ${metadata.location} to publish it anew`
      : `drop ${ctx.namespace}.${table.name} in ${ctx.catalog.description} to re-create it`;
  const evolved = evolveSchema(
    table,
    metadata ? currentSchema(metadata) : undefined,
    metadata?.['last-column-id'] ?? 0,
    metadata ? publishedPartitionColumn(metadata) : mode.kind === 'partitions' ? mode.column : null,
    recreate,
  );
  if (!metadata) return evolved;
  // The data files name the schema's id in their `iceberg.schema` footer: the id the commit gives it
  // (a new one, or an equal earlier one's), not the current schema's that evolveSchema starts from.
  const schemaId = placeSchema(metadata, evolved.schema).schema['schema-id'];
  return { ...evolved, schema: { ...evolved.schema, 'schema-id': schemaId } };
}

/**
 * Fails with the first table whose columns its published table cannot take, reading only metadata:
 * run before the first commit, so such a conflict leaves every table as it was, not the ones before it
 * committed and the rest not.
 */
export async function checkSchemas(
  ctx: Pick<SyncContext, 'catalog' | 'namespace'>,
  tables: GoldTable[],
): Promise<void> {
  for (const table of tables)
    evolveTableSchema(ctx, table, await ctx.catalog.load(ctx.namespace, table.name));
}

async function prepare(
  ctx: SyncContext,
  table: GoldTable,
  existing: CatalogTable | undefined,
): Promise<Prepared> {
  const { db, catalog } = ctx;
  const mode = syncModeOf(table);
  const metadata = existing?.metadata;
  const column = groupColumnOf(mode, metadata);
  const { schema, change } = evolveTableSchema(ctx, table, existing);
  const location = metadata?.location ?? catalog.defaultLocation(ctx.namespace, table.name);
  const baseFiles = metadata
    ? await snapshotFiles(catalog.io, metadata)
    : { manifests: [], live: [], deleted: [] };
  // Every comparison and every write reads the gold rows cast to their Iceberg types, so hashes of
  // local and published rows (read back with the same casts) agree.
  const local = `(SELECT ${castList(schema)} FROM ${qualified(GOLD_SCHEMA, table.name)})`;
  const plan: TablePlan = {
    table: table.name,
    namespace: ctx.namespace,
    location,
    mode: mode.kind,
    action: 'none',
    operation: null,
    rowsAdded: 0,
    rowsRemoved: 0,
    filesRemoved: 0,
    columns: schema.fields.map((f) => ({
      name: f.name,
      duckdbType: table.columns.find((c) => c.name === f.name)?.duckdbType ?? '',
      icebergType: f.type,
      fieldId: f.id,
    })),
    schemaChange: change,
    partitionedBy: column,
    comparison: { scope: 'all', reason: 'keyed tables are compared key by key', partitionsCompared: 0 },
  };
  const removed = new Set<string>();
  let nextState: Prepared['nextState'] = null;
  const done = (action: TablePlan['action'], writeWhere: string | null): Prepared => {
    plan.action =
      existing?.metadata['current-snapshot-id'] === undefined && action !== 'none' ? 'create' : action;
    plan.filesRemoved = removed.size;
    plan.rowsRemoved = baseFiles.live
      .filter((e) => removed.has(e.file.file_path))
      .reduce((n, e) => n + Number(e.file.record_count), 0);
    plan.operation = action === 'none' ? null : removed.size === 0 ? 'append' : 'overwrite';
    return { plan, schema, removed, writeWhere, baseFiles, nextState };
  };

  if (mode.kind === 'upsert') {
    const keyHash = `hash(${mode.key.map(ident).join(', ')})`;
    const duplicates = await db.scalar<number>(`SELECT count(*) - count(DISTINCT ${keyHash}) FROM ${local}`);
    if (Number(duplicates) === 0 && baseFiles.live.length > 0 && !change) {
      const paths = await localPaths(catalog, baseFiles.live);
      const published = await publishedSelect(db, [...paths.keys()], schema, 'file');
      await db.run(
        `CREATE OR REPLACE TEMP TABLE _iceberg_published AS SELECT filename, ${keyHash} AS k, ${rowHashSql(schema)} AS h FROM (${published})`,
      );
      await db.run(
        `CREATE OR REPLACE TEMP TABLE _iceberg_local AS SELECT ${keyHash} AS k, ${rowHashSql(schema)} AS h FROM ${local}`,
      );
      await db.run(
        `CREATE OR REPLACE TEMP TABLE _iceberg_changed AS
         SELECT coalesce(p.k, l.k) AS k, p.filename FROM _iceberg_published p FULL OUTER JOIN _iceberg_local l ON p.k = l.k
         WHERE p.h IS DISTINCT FROM l.h`,
      );
      const files = await db.all<{ filename: string }>(
        `SELECT DISTINCT filename FROM _iceberg_changed WHERE filename IS NOT NULL`,
      );
      for (const f of files) removed.add(paths.get(f.filename) ?? f.filename);
      await db.run(
        `CREATE OR REPLACE TEMP TABLE _iceberg_write_keys AS
         SELECT k FROM _iceberg_changed WHERE filename IS NULL
         UNION SELECT k FROM _iceberg_published WHERE filename IN (SELECT filename FROM _iceberg_changed WHERE filename IS NOT NULL)`,
      );
      const rowsAdded = Number(
        await db.scalar(
          `SELECT count(*) FROM ${local} WHERE ${keyHash} IN (SELECT k FROM _iceberg_write_keys)`,
        ),
      );
      plan.rowsAdded = rowsAdded;
      if (rowsAdded === 0 && removed.size === 0) return done('none', null);
      return done('upsert', `${keyHash} IN (SELECT k FROM _iceberg_write_keys)`);
    }
    // First publish, a schema change or duplicate keys: replace the whole table.
  }

  // Groups are keyed by the partition value as manifests record it (a date as days since the epoch).
  const isDate = column !== null && schema.fields.find((f) => f.name === column)?.type === 'date';
  if (isDate) await refuseInfiniteDates(db, table, column);
  const groupExpr = !column
    ? "'all'"
    : isDate
      ? `datediff('day', DATE '1970-01-01', ${ident(column)})`
      : ident(column);
  const columnType = schema.fields.find((f) => f.name === column)?.type;
  /** A group key as a constant of the column's type, so DuckDB skips other row groups by their min/max. */
  const groupConstant = (g: string) =>
    columnType === 'int' || columnType === 'long'
      ? g
      : isDate
        ? `DATE ${literal(dateOfDays(Number(g)))}`
        : literal(g);
  /** SQL selecting the local rows of the given groups (partition values as groupKeyOf prints them). */
  const groupsWhere = (groups: GroupKey[]): string | null => {
    if (!column) return groups.length > 0 ? 'true' : null;
    const values = groups.filter((g) => g !== null);
    const parts = [
      ...(values.length ? [`${ident(column)} IN (${values.map(groupConstant).join(', ')})`] : []),
      ...(groups.includes(null) ? [`${ident(column)} IS NULL`] : []),
    ];
    return parts.length ? parts.join(' OR ') : null;
  };
  const publishedByGroup = new Map<GroupKey, LiveEntry[]>();
  for (const e of baseFiles.live) {
    const g = column ? groupKeyOf(e.file.partition[column]) : 'all';
    publishedByGroup.set(g, [...(publishedByGroup.get(g) ?? []), e]);
  }
  const since = column ? await changedSinceLastPublish(ctx, table, existing, schema, column, !!change) : null;
  if (since) {
    nextState = since.nextState;
    plan.comparison.reason = since.reason;
  } else {
    plan.comparison.reason = change
      ? 'the schema changed: every file is rewritten'
      : mode.kind === 'partitions'
        ? `the published table is not partitioned by ${mode.column}: compared as a whole`
        : 'not a partitioned fact';
  }
  // Only the groups runs may have changed since the last publish, or all of them.
  let compared: GroupKey[] | null = null;
  if (since?.etlDates) {
    plan.comparison.scope = 'since-last-publish';
    compared = await groupsTouchedBy(db, table, groupExpr, groupsWhere, since.etlDates, publishedByGroup);
  }
  const localWhere = compared ? groupsWhere(compared) : 'true';
  const localGroups = new Map<GroupKey, Fingerprint>();
  if (localWhere) {
    // Groups with nothing published (or all of them, after a schema change) are rewritten whatever
    // their rows hash to: then they are only counted.
    const hashNeeded =
      !change && (compared ? compared.some((g) => publishedByGroup.has(g)) : publishedByGroup.size > 0);
    const hashed = hashNeeded ? `CAST(sum(${rowHashSql(schema)}) AS VARCHAR)` : "'0'";
    const rows = await db.allJson<{ g: unknown; n: number; h: string }>(
      `SELECT ${groupExpr} AS g, count(*) AS n, ${hashed} AS h FROM ${local} WHERE ${localWhere} GROUP BY ALL`,
    );
    for (const r of rows) localGroups.set(groupKeyOf(r.g), { rows: Number(r.n), hash: r.h });
  }
  const comparedGroups = compared ?? [...new Set([...localGroups.keys(), ...publishedByGroup.keys()])];
  plan.comparison.partitionsCompared = comparedGroups.length;
  const publishedGroups = new Map<GroupKey, Fingerprint>();
  // A schema change rewrites every group: the files must carry the new layout.
  if (!change) {
    const entries = comparedGroups.flatMap((g) => publishedByGroup.get(g) ?? []);
    const store = await openFingerprintStore({
      db,
      catalog,
      stateDir: ctx.stateDir,
      location,
      schema,
      keyColumns: table.primaryKey,
    });
    if (entries.length > 0) ctx.onProgress?.(`${table.name}: comparing ${entries.length} published files`);
    const files = await store.of(entries);
    await store.save(baseFiles.live);
    for (const g of comparedGroups) {
      const fps = (publishedByGroup.get(g) ?? []).map((e) => files.get(e.file.file_path));
      if (fps.length === 0) continue;
      publishedGroups.set(g, {
        rows: fps.reduce((n, fp) => n + (fp?.rows ?? 0), 0),
        hash: fps.reduce((h, fp) => addDecimal(h, fp?.rowHash ?? '0'), '0'),
      });
    }
  }
  const changedGroups = comparedGroups.filter((g) => {
    const a = localGroups.get(g);
    const b = publishedGroups.get(g);
    return !a || !b || a.rows !== b.rows || !sameHash(a.hash, b.hash);
  });
  if (changedGroups.length === 0) {
    // An empty partitioned fact has no partition to differ in, but a table that was never published
    // must still appear (empty), as an empty unpartitioned one does: readers fail on a missing table.
    return done(metadata?.['current-snapshot-id'] === undefined ? 'append' : 'none', null);
  }
  for (const g of changedGroups) {
    for (const e of publishedByGroup.get(g) ?? []) removed.add(e.file.file_path);
    plan.rowsAdded += localGroups.get(g)?.rows ?? 0;
  }
  const writeWhere = groupsWhere(changedGroups.filter((g) => localGroups.has(g)));
  if (!column) return done('overwrite', writeWhere);
  return done(removed.size === 0 ? 'append' : 'overwrite', writeWhere);
}

/**
 * An Iceberg date has no `infinity`: such a row has no partition, and its group key (days since the
 * epoch) came out NULL, so it was silently left out of the commit. Equality filters, so DuckDB skips
 * row groups by their min/max: a scan only of tables that hold such a date.
 */
async function refuseInfiniteDates(db: Db, table: GoldTable, column: string): Promise<void> {
  const rows = Number(
    await db.scalar(
      `SELECT count(*) FROM ${qualified(GOLD_SCHEMA, table.name)} WHERE ${ident(column)} = DATE 'infinity' OR ${ident(column)} = DATE '-infinity'`,
    ),
  );
  if (rows === 0) return;
  throw new LakehouseError(
    'ICEBERG_INVALID',
    `Column ${table.name}.${column} partitions the Iceberg table, but gold.${table.name} has ${counted(rows, 'row')} where it is infinity or -infinity, which an Iceberg date cannot hold. Replace it in the model (NULL, or a real date), then publish again.`,
    { table: table.name, column, rows },
  );
}

interface SinceLastPublish {
  /** ETL dates committed by runs after the last publish, or null to compare every partition. */
  etlDates: string[] | null;
  reason: string;
  nextState: Prepared['nextState'];
}

/**
 * Which ETL dates runs committed since the last publish from here, from the publish state and the
 * warehouse's `_lakehouse.model_dates`; null dates (with the reason) when everything must be compared.
 */
async function changedSinceLastPublish(
  ctx: SyncContext,
  table: GoldTable,
  existing: CatalogTable | undefined,
  schema: IcebergSchema,
  column: string,
  schemaChanged: boolean,
): Promise<SinceLastPublish | null> {
  const hasLineage = table.columns.some((c) => c.name === LINEAGE_COLUMN && c.duckdbType === 'DATE');
  if (!hasLineage)
    return { etlDates: null, reason: `no ${LINEAGE_COLUMN} column of type DATE`, nextState: null };
  // Read before the table is scanned: a run committing meanwhile shows as new at the next publish.
  const etlRuns = await committedEtlRuns(ctx.db, table.modelId);
  if (!etlRuns) return { etlDates: null, reason: 'the warehouse records no runs', nextState: null };
  const layout = JSON.stringify([schema.fields, column]);
  const nextState = { model: table.modelId, layout, etlRuns };
  const full = (reason: string): SinceLastPublish => ({ etlDates: null, reason, nextState });
  if (schemaChanged) return full('the schema changed: every file is rewritten');
  if (ctx.fullCompare) return full('a full comparison was asked for');
  const metadata = existing?.metadata;
  if (metadata?.['current-snapshot-id'] === undefined) return full('first publish');
  const state = await readPublishState(ctx.stateDir, metadata.location);
  if (!state) return full('no publish state from an earlier publish');
  if (
    state.tableUuid !== metadata['table-uuid'] ||
    state.snapshotId !== String(metadata['current-snapshot-id'])
  )
    return full('the table was committed by another publisher since the last publish from here');
  if (state.model !== table.modelId || state.layout !== layout)
    return full('the model or its columns changed since the last publish');
  const since = etlDatesSince(state.etlRuns, etlRuns);
  if ('reason' in since) return full(since.reason);
  return {
    etlDates: since.dates,
    reason: `${counted(since.dates.length, 'ETL date')} committed since the last publish`,
    nextState,
  };
}

/**
 * The partitions that may differ from the published ones. Any row added or changed since the last
 * publish was written by a run of one of `etlDates`, so a partition holding no row of those dates (nor
 * one without an ETL date) can only have lost rows: a run moving a key to another date_key. Those are
 * found by counting: if the untouched partitions together hold as many rows as the manifests give them,
 * none lost any; only otherwise is every partition counted (reading the partition column alone).
 */
async function groupsTouchedBy(
  db: Db,
  table: GoldTable,
  groupExpr: string,
  groupsWhere: (groups: GroupKey[]) => string | null,
  etlDates: string[],
  publishedByGroup: Map<GroupKey, LiveEntry[]>,
): Promise<GroupKey[]> {
  const relation = qualified(GOLD_SCHEMA, table.name);
  const lineage = ident(LINEAGE_COLUMN);
  // Two filters DuckDB can answer from row-group min/max and null statistics, skipping the rest.
  const written = [
    ...(etlDates.length ? [`${lineage} IN (${etlDates.map((d) => `DATE ${literal(d)}`).join(', ')})`] : []),
    `${lineage} IS NULL`,
  ];
  const touched = new Set(
    (
      await db.allJson<{ g: unknown }>(
        written
          .map((where) => `SELECT DISTINCT ${groupExpr} AS g FROM ${relation} WHERE ${where}`)
          .join(' UNION '),
      )
    ).map((r) => groupKeyOf(r.g)),
  );
  const publishedRows = (g: GroupKey) =>
    (publishedByGroup.get(g) ?? []).reduce((n, e) => n + Number(e.file.record_count), 0);
  const total = Number(await db.scalar(`SELECT count(*) FROM ${relation}`));
  const touchedWhere = groupsWhere([...touched]);
  const touchedRows = touchedWhere
    ? Number(await db.scalar(`SELECT count(*) FROM ${relation} WHERE ${touchedWhere}`))
    : 0;
  const untouchedPublished = [...publishedByGroup.keys()]
    .filter((g) => !touched.has(g))
    .reduce((n, g) => n + publishedRows(g), 0);
  if (total - touchedRows === untouchedPublished) return [...touched];
  const counts = await db.allJson<{ g: unknown; n: number }>(
    `SELECT ${groupExpr} AS g, count(*) AS n FROM ${relation} GROUP BY ALL`,
  );
  const local = new Set<GroupKey>();
  for (const r of counts) {
    const g = groupKeyOf(r.g);
    local.add(g);
    if (Number(r.n) !== publishedRows(g)) touched.add(g);
  }
  for (const g of publishedByGroup.keys()) if (!local.has(g)) touched.add(g);
  return [...touched];
}

export interface TableResult extends TablePlan {
  snapshotId: string | null;
  filesAdded: number;
  bytesAdded: number;
  attempts: number;
  metadataLocation: string | null;
}

const MAX_ATTEMPTS = 6;

/** The identity partition spec on `column` (field id 1000), or the unpartitioned spec. */
export function partitionSpecFor(schema: IcebergSchema, column: string | null): PartitionSpec {
  if (!column) return { 'spec-id': 0, fields: [] };
  const source = schema.fields.find((f) => f.name === column);
  if (!source)
    throw new LakehouseError('ICEBERG_INVALID', `Partition column ${column} is not a column of the table`);
  return {
    'spec-id': 0,
    fields: [{ 'source-id': source.id, 'field-id': 1000, name: column, transform: 'identity' }],
  };
}

/** The temp tables an upsert comparison stages on the connection. */
async function dropComparisonTables(db: Db): Promise<void> {
  for (const temp of ['_iceberg_published', '_iceberg_local', '_iceberg_changed', '_iceberg_write_keys']) {
    await db.run(`DROP TABLE IF EXISTS temp.${temp}`);
  }
}

/**
 * Remembers which runs the now-current snapshot covers, so the next publish compares only what they
 * changed. Runs after the commit: a failure is a warning, never an error that reads as "not published".
 */
async function recordState(
  ctx: SyncContext,
  table: GoldTable,
  prepared: Prepared,
  metadata: TableMetadata,
): Promise<void> {
  const snapshotId = metadata['current-snapshot-id'];
  if (!prepared.nextState || snapshotId === undefined) return;
  try {
    await writePublishState(ctx.stateDir, metadata.location, {
      ...prepared.nextState,
      tableUuid: metadata['table-uuid'],
      snapshotId: String(snapshotId),
    });
  } catch (error) {
    // The state left on disk names an older snapshot (or none), so the next publish compares everything.
    ctx.onProgress?.(
      `${table.name}: warning: the publish state could not be saved in ${join(ctx.stateDir, 'publish-state')} (${(error as Error).message}); the table is published, and the next publish compares every partition`,
    );
  }
}

/** Plans one table without writing anything (the preflight). */
export async function planTable(ctx: SyncContext, table: GoldTable): Promise<TablePlan> {
  const existing = await ctx.catalog.load(ctx.namespace, table.name);
  try {
    return (await prepare(ctx, table, existing)).plan;
  } finally {
    await dropComparisonTables(ctx.db);
  }
}

/**
 * Brings the Iceberg table in line with the gold table: load → plan → write data files and manifests
 * → atomic commit. A lost commit race deletes only this attempt's unreferenced files and starts over
 * from the new state; an unknown commit outcome deletes nothing and fails.
 */
export async function syncTable(ctx: SyncContext, table: GoldTable): Promise<TableResult> {
  const { db, catalog } = ctx;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    let current = await catalog.load(ctx.namespace, table.name);
    const prepared = await prepare(ctx, table, current);
    const { plan, schema } = prepared;
    if (plan.action === 'none') {
      await dropComparisonTables(db);
      if (current) await recordState(ctx, table, prepared, current.metadata);
      return {
        ...plan,
        snapshotId: null,
        filesAdded: 0,
        bytesAdded: 0,
        attempts: attempt,
        metadataLocation: current?.metadataLocation ?? null,
      };
    }
    const written: string[] = [];
    let outcome: {
      committed: CatalogTable;
      metadata: TableMetadata;
      operation: SnapshotOperation;
      files: DataFile[];
    };
    try {
      if (!current) {
        // Staged, not created: the table appears with its first snapshot at the commit, so a cancel or
        // failure before it leaves no empty table behind (another writer's create makes it a retry).
        const spec = partitionSpecFor(schema, plan.partitionedBy);
        current = await catalog.stageCreate({
          namespace: ctx.namespace,
          name: table.name,
          location: plan.location,
          schema,
          spec,
          sortOrder: UNSORTED,
          properties: {
            'write.format.default': 'parquet',
            'created-by': 'lakehouse-explorer',
            ...ctx.properties,
          },
        });
      }
      const spec = defaultSpec(current.metadata);
      ctx.onProgress?.(`${table.name}: writing ${plan.rowsAdded} rows (${plan.action})`);
      const files: DataFile[] = prepared.writeWhere
        ? await writeDataFiles(db, {
            select: `SELECT * FROM (SELECT ${castList(schema)} FROM ${qualified(GOLD_SCHEMA, table.name)}) WHERE ${prepared.writeWhere}`,
            schema,
            spec,
            location: current.metadata.location,
            io: catalog.io,
            stagingDir: join(ctx.stateDir, 'staging'),
          })
        : [];
      written.push(...files.map((f) => f.file_path));
      // Files removed and none added is a `delete` in the spec's terms, not an `overwrite`: readers of
      // changes (Spark's incremental reads) treat the two differently.
      const operation =
        files.length === 0 && prepared.removed.size > 0 ? 'delete' : (plan.operation ?? 'append');
      const pending = await buildSnapshot(catalog.io, current.metadata, prepared.baseFiles, {
        operation,
        added: files,
        removed: prepared.removed,
        schema,
        attempt,
        extraSummary: { 'lakehouse.action': plan.action, 'lakehouse.mode': plan.mode },
      });
      written.push(...pending.writtenFiles);
      await ctx.beforeCommit?.(attempt);
      // The last moment a cancel leaves the table as it was: the files written so far are deleted below.
      ctx.signal?.throwIfAborted();
      const committed = await catalog.commit(ctx.namespace, table.name, current, pending.metadata, {
        snapshot: pending.snapshot,
        ...(pending.addedSchema ? { addedSchema: pending.addedSchema } : {}),
        ...(pending.reusedSchemaId !== undefined ? { reusedSchemaId: pending.reusedSchemaId } : {}),
      });
      outcome = { committed, metadata: pending.metadata, operation, files };
    } catch (error) {
      if (error instanceof CommitStateUnknownError) throw error;
      // Nothing references these files: the commit was refused or never sent.
      await catalog.io.delete(written).catch(() => undefined);
      if (error instanceof CommitConflictError) {
        ctx.onProgress?.(`${table.name}: another writer committed first (${error.message}); retrying`);
        continue;
      }
      throw error;
    } finally {
      // Refused once a cancel came: the temp tables are replaced by the next publish. Throwing here
      // would hide the error above, or a commit that has happened.
      await dropComparisonTables(db).catch(() => undefined);
    }
    // Committed: from here on the snapshot's files are the table's, and nothing that fails may fail
    // the publish as if it had not happened (deleting them left a table naming missing files).
    const { committed, metadata, operation, files } = outcome;
    if (committed.warning) ctx.onProgress?.(`${table.name}: warning: ${committed.warning}`);
    await recordState(ctx, table, prepared, metadata);
    return {
      ...plan,
      action: plan.action,
      operation,
      snapshotId: String(metadata['current-snapshot-id']),
      filesAdded: files.length,
      bytesAdded: files.reduce((n, f) => n + Number(f.file_size_in_bytes), 0),
      attempts: attempt,
      metadataLocation: committed.metadataLocation,
    };
  }
  throw new LakehouseError(
    'ICEBERG_COMMIT_CONFLICT',
    `Iceberg table ${ctx.namespace}.${table.name}: ${MAX_ATTEMPTS} commits in a row lost a race with another writer. Wait for the other publisher to finish and publish again.`,
    { table: table.name },
  );
}
