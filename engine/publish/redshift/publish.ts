import { randomUUID } from 'node:crypto';
import type { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { LakehouseError, toLakehouseError } from '../../api/errors.ts';
import { cancellableDb } from '../../db/cancellable.ts';
import { type Db, qualified } from '../../db/duckdb.ts';
import type { Model } from '../../project/models.ts';
import {
  describeGoldTables,
  duckdbFingerprintGroups,
  GOLD_SCHEMA,
  type GoldTable,
  portableKeyColumns,
  selectGoldModels,
} from '../gold-tables.ts';
import { createDataApi, type DataApi, type DataApiOptions, type DataApiTarget } from './data-api.ts';
import {
  type Dialect,
  type DialectName,
  type Distribution,
  dialectFor,
  PUBLISH_STATE_TABLE,
} from './dialect.ts';
import { copyStdinLoadPath, type LoadPath, removeLeftoverPublishDirs, s3ParquetLoadPath } from './load.ts';
import { connectPg, describeConnection, type PgConnection } from './pg-target.ts';
import { type Conflict, inspectTarget, type LoadAction, type PublishPlan, planPublish } from './plan.ts';

// Publishing gold tables to Redshift or any PostgreSQL-protocol server: plan (diff + DDL), then one
// transaction that loads every table, declares keys, reconciles counts and key checksums against the
// local tables, and commits only if they all match. Anything failing leaves the target as it was.

export interface S3StagingTarget {
  client: S3Client;
  /** `s3://bucket/prefix/` */
  uri: string;
  iamRole: string;
  region?: string;
}

export type RedshiftConnection =
  | {
      kind: 'pg';
      config: pg.ClientConfig;
      /** Where the password came from (`PGPASSWORD`, a target's password_env), for connection errors. */
      passwordSource?: string;
      dialect: DialectName;
      /** Redshift over pg loads from S3; PostgreSQL without it streams COPY FROM STDIN. */
      staging?: S3StagingTarget;
    }
  | {
      kind: 'data-api';
      client: RedshiftDataClient;
      target: DataApiTarget;
      staging: S3StagingTarget;
      options?: DataApiOptions;
    };

export interface PublishProgress {
  phase: 'plan' | 'load' | 'constraints' | 'reconcile' | 'commit' | 'done';
  table?: string;
  /** Steps done of total (every statement and load of the plan counts one). */
  done: number;
  total: number;
}

export interface RedshiftPublishOptions {
  /** The engine's reader (gold tables as last committed). */
  db: Db;
  models: Model[];
  connection: RedshiftConnection;
  /** Target schema; default `gold`. */
  schema?: string;
  /** Bare gold table names to publish; default all. */
  tables?: string[];
  signal?: AbortSignal;
  onProgress?: (event: PublishProgress) => void;
}

export interface TableReport {
  table: string;
  materialized: string;
  action: LoadAction;
  /** Rows of the gold table. */
  rows: number;
  /** Rows this publish sends (append tables: only the dates that differ in the target). */
  rowsToSend: number;
  /** append: the date keys sent; null when the whole table is sent. */
  sentDates: string[] | null;
  keyChecksum: string;
  addedColumns: string[];
  widenedColumns: { column: string; from: string; to: string }[];
  distribution: Distribution;
}

export interface RedshiftPreflight {
  target: string;
  schema: string;
  dialect: DialectName;
  loadPath: 'copy-stdin' | 's3-parquet';
  tables: TableReport[];
  /** DDL that the publish will run (CREATE, ALTER, constraints), in order. */
  ddl: string[];
  /** Every statement, with `-- load <table> into <relation>` where rows are sent. */
  statements: string[];
  conflicts: Conflict[];
  warnings: string[];
}

export interface ReconciliationRow {
  table: string;
  localRows: number;
  targetRows: number;
  localChecksum: string;
  targetChecksum: string;
  matches: boolean;
}

export interface RedshiftPublishResult extends RedshiftPreflight {
  reconciliation: ReconciliationRow[];
  durationMs: number;
}

interface Opened {
  label: string;
  dialect: DialectName;
  pg?: PgConnection;
  dataApi?: DataApi;
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

async function open(connection: RedshiftConnection): Promise<Opened> {
  if (connection.kind === 'pg') {
    const pgConnection = await connectPg(connection.config, connection.passwordSource);
    return {
      label: describeConnection(connection.config),
      dialect: connection.dialect,
      pg: pgConnection,
      query: (sql) => pgConnection.query(sql),
      close: () => pgConnection.close(),
    };
  }
  const dataApi = createDataApi(connection.client, connection.target, connection.options);
  return {
    label: dataApi.label,
    dialect: 'redshift',
    dataApi,
    query: (sql) => dataApi.query(sql),
    close: async () => {},
  };
}

async function plan(
  options: RedshiftPublishOptions,
  opened: Opened,
): Promise<{ plan: PublishPlan; preflight: RedshiftPreflight }> {
  const schema = options.schema ?? 'gold';
  // Names are checked before anything is read; the whole star is described once (distribution and
  // foreign keys look at every table), and the tables to publish picked from it.
  const wanted = new Set(selectGoldModels(options.models, options.tables).map((m) => m.name));
  // Key checksums the target recomputes: timestamps, dates and nested keys spelt alike on both sides.
  const allTables = await describeGoldTables(options.db, options.models, { portableKeys: true });
  const tables = allTables.filter((t) => wanted.has(t.name));
  if (opened.dialect === 'redshift' && options.connection.kind === 'pg' && !options.connection.staging) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `Redshift loads through S3: give the target a staging location (staging: {s3: s3://bucket/prefix/, iam_role: arn:aws:iam::...:role/...}).`,
      { target: opened.label },
    );
  }
  const dialect = dialectFor(opened.dialect);
  const target = await inspectTarget(opened, dialect, schema);
  const changedDates = new Map<string, { values: string[]; rows: number; gone: string[] }>();
  const contentHashes = new Map<string, [string, string][]>();
  const hasPublishState = target.tables.has(PUBLISH_STATE_TABLE);
  for (const table of tables) {
    if (table.materialized !== 'append' || !table.dateKey || table.keySource === 'all_columns') continue;
    const local = await duckdbFingerprintGroups(
      options.db,
      qualified(GOLD_SCHEMA, table.name),
      portableKeyColumns(table),
      table.dateKey,
      table.columns.map((c) => c.name),
    );
    contentHashes.set(
      table.name,
      [...local].map(([value, group]) => [value, group.contentHash ?? '']),
    );
    if (!target.tables.get(table.name)?.some((c) => c.name === table.dateKey)) continue;
    const published = hasPublishState
      ? new Map(
          (await opened.query(dialect.readPublishState(schema, table.name))).map((r) => [
            String(r.v ?? ''),
            String(r.h ?? ''),
          ]),
        )
      : new Map<string, string>();
    changedDates.set(
      table.name,
      await changedGroups(opened, dialect, schema, table, table.dateKey, local, published),
    );
  }
  const result = planPublish({
    schema,
    dialect,
    allTables,
    tables,
    target,
    changedDates,
    contentHashes,
    hasPublishState,
  });
  const loadPath =
    options.connection.kind === 'data-api' || options.connection.staging ? 's3-parquet' : 'copy-stdin';
  const preflight: RedshiftPreflight = {
    target: opened.label,
    schema,
    dialect: opened.dialect,
    loadPath,
    tables: result.tables.map((p) => ({
      table: p.table.name,
      materialized: p.table.materialized,
      action: p.action,
      rows: p.table.rowCount,
      rowsToSend: p.rowsToSend,
      sentDates: p.sentValues,
      keyChecksum: p.table.keyChecksum,
      addedColumns: p.addedColumns,
      widenedColumns: p.widenedColumns,
      distribution: p.distribution,
    })),
    ddl: result.steps.flatMap((s) =>
      s.kind === 'sql' && (s.purpose === 'ddl' || s.purpose === 'constraint') ? [s.sql] : [],
    ),
    statements: result.steps.map((s) =>
      s.kind === 'sql'
        ? s.sql
        : `-- load gold.${s.table.name} (${s.rows} rows${s.only ? ` of ${s.only.column} ${s.only.values.join(', ')}` : ''}) into ${typeof s.into === 'string' ? s.into : `${s.into.schema}.${s.into.table}`}`,
    ),
    conflicts: result.conflicts,
    warnings: result.warnings,
  };
  return { plan: result, preflight };
}

/**
 * The values of `column` (date keys) whose rows differ between the gold table and the target, by count
 * and key checksum, and how many gold rows they hold: re-publishing an append table sends only those.
 * A value only the target has (its rows are gone locally, e.g. a re-run day lost its late events) is one
 * of them too, sent as no rows: the target's rows of it are deleted.
 */
/**
 * The dates of an append table to send: those whose count or key checksum differ between gold and the
 * target, and those whose content changed since the last publish recorded it (or that it never did).
 */
async function changedGroups(
  target: Opened,
  dialect: Dialect,
  schema: string,
  table: GoldTable,
  column: string,
  local: Map<string, { rowCount: number; keyChecksum: string; contentHash?: string }>,
  published: Map<string, string>,
): Promise<{ values: string[]; rows: number; gone: string[] }> {
  const remote = new Map(
    (
      await target.query(
        dialect.fingerprintGroups({ schema, table: table.name }, portableKeyColumns(table), column),
      )
    ).map((r) => [String(r.v ?? ''), { rowCount: Number(r.n), keyChecksum: String(r.checksum) }]),
  );
  const values: string[] = [];
  let rows = 0;
  for (const [value, fingerprint] of local) {
    const there = remote.get(value);
    if (
      there?.rowCount === fingerprint.rowCount &&
      there.keyChecksum === fingerprint.keyChecksum &&
      published.get(value) === fingerprint.contentHash
    )
      continue;
    values.push(value);
    rows += fingerprint.rowCount;
  }
  const gone = [...remote.keys()].filter((value) => !local.has(value)).sort();
  values.push(...gone);
  return { values: values.sort(), rows, gone };
}

/** Plans a publish without changing anything: DDL to run, rows per table, conflicts, warnings. */
export async function preflightRedshift(options: RedshiftPublishOptions): Promise<RedshiftPreflight> {
  const opened = await open(options.connection);
  try {
    return (await plan(options, opened)).preflight;
  } finally {
    await opened.close();
  }
}

/**
 * Publishes the gold tables in one transaction. Throws PUBLISH_CONFLICT (before anything runs) when the
 * target's tables cannot take them, PUBLISH_FAILED when the target refuses a statement, PUBLISH_MISMATCH
 * when rows read back differ from the local tables, RUN_CANCELLED on abort; in each case the target is
 * left as it was.
 */
export async function publishRedshift(options: RedshiftPublishOptions): Promise<RedshiftPublishResult> {
  const started = Date.now();
  // Every publish tidies up after a killed one, even a publish with nothing to load; it never throws.
  await removeLeftoverPublishDirs();
  const opened = await open(options.connection);
  const progress = options.onProgress ?? (() => undefined);
  let loadPath: LoadPath | undefined;
  // Exporting a large table can take minutes: a cancel stops it, and no export starts after one.
  const exportDb = options.signal ? cancellableDb(options.db, options.signal) : undefined;
  try {
    const { plan: publishPlan, preflight } = await plan(options, opened);
    const total = publishPlan.steps.length + 2;
    progress({ phase: 'plan', done: 0, total });
    if (publishPlan.conflicts.length > 0) {
      throw new LakehouseError(
        'PUBLISH_CONFLICT',
        `Cannot publish to ${opened.label} (nothing was changed):\n  ${publishPlan.conflicts.map((c) => c.message).join('\n  ')}`,
        { target: opened.label, conflicts: publishPlan.conflicts },
      );
    }
    const staging =
      options.connection.kind === 'data-api' ? options.connection.staging : options.connection.staging;
    loadPath = staging
      ? s3ParquetLoadPath(exportDb ?? options.db, {
          ...staging,
          runId: `${new Date().toISOString().slice(0, 10)}-${randomUUID()}`,
        })
      : copyStdinLoadPath(exportDb ?? options.db);
    const published = publishPlan.tables.map((p) => p.table);
    const reconciliation = opened.pg
      ? await runOverPg(opened.pg, publishPlan, loadPath, published, options.signal, progress, total)
      : await runOverDataApi(
          opened.dataApi as DataApi,
          publishPlan,
          loadPath,
          published,
          options.signal,
          progress,
          total,
        );
    progress({ phase: 'done', done: total, total });
    return { ...preflight, reconciliation, durationMs: Date.now() - started };
  } finally {
    exportDb?.release();
    await loadPath?.cleanup();
    await opened.close();
  }
}

function cancelled(label: string): LakehouseError {
  return new LakehouseError(
    'RUN_CANCELLED',
    `The publish to ${label} was cancelled; the target is unchanged.`,
    {
      target: label,
    },
  );
}

async function runOverPg(
  connection: PgConnection,
  publishPlan: PublishPlan,
  loadPath: LoadPath,
  published: GoldTable[],
  signal: AbortSignal | undefined,
  progress: (event: PublishProgress) => void,
  total: number,
): Promise<ReconciliationRow[]> {
  const { dialect } = publishPlan;
  const onAbort = () => void connection.cancel();
  signal?.addEventListener('abort', onAbort);
  await connection.begin();
  try {
    for (const sql of dialect.transactionSettings()) await connection.execute(sql);
    let done = 0;
    for (const step of publishPlan.steps) {
      if (signal?.aborted) throw cancelled(connection.label);
      if (step.kind === 'sql') {
        progress({
          phase: step.purpose === 'constraint' ? 'constraints' : 'load',
          table: step.table,
          done,
          total,
        });
        await connection.execute(step.sql);
      } else {
        progress({ phase: 'load', table: step.table.name, done, total });
        const prepared = await loadPath.prepare(step, dialect);
        if (signal?.aborted) throw cancelled(connection.label);
        if (prepared.kind === 'stdin') await connection.copyIn(prepared.sql, prepared.file, prepared.written);
        else await connection.execute(prepared.sql);
      }
      done++;
    }
    progress({ phase: 'reconcile', done, total });
    const reconciliation: ReconciliationRow[] = [];
    for (const table of published) {
      const [row] = await connection.query(
        dialect.fingerprint({ schema: publishPlan.schema, table: table.name }, portableKeyColumns(table)),
      );
      reconciliation.push(reconcile(table, row));
    }
    throwOnMismatch(connection.label, publishPlan.schema, reconciliation);
    if (signal?.aborted) throw cancelled(connection.label);
    progress({ phase: 'commit', done: done + 1, total });
    await connection.commit();
    return reconciliation;
  } catch (error) {
    await connection.rollback();
    if (signal?.aborted) throw cancelled(connection.label);
    throw toLakehouseError(error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function throwOnMismatch(label: string, schema: string, reconciliation: ReconciliationRow[]): void {
  const bad = reconciliation.filter((r) => !r.matches);
  if (bad.length === 0) return;
  const lines = bad.map(
    (r) =>
      `${schema}.${r.table}: target has ${r.targetRows} rows (key checksum ${r.targetChecksum}), gold.${r.table} has ${r.localRows} (key checksum ${r.localChecksum})`,
  );
  throw new LakehouseError(
    'PUBLISH_MISMATCH',
    `Reconciliation failed on ${label}; the publish was rolled back:\n  ${lines.join('\n  ')}\nCheck for triggers, rules or concurrent writers on these tables, then publish again.`,
    { target: label, reconciliation },
  );
}

async function runOverDataApi(
  dataApi: DataApi,
  publishPlan: PublishPlan,
  loadPath: LoadPath,
  published: GoldTable[],
  signal: AbortSignal | undefined,
  progress: (event: PublishProgress) => void,
  total: number,
): Promise<ReconciliationRow[]> {
  const { dialect, schema } = publishPlan;
  const sqls: string[] = [];
  let done = 0;
  // Rows are staged on S3 first; the batch then runs every statement as one transaction on Redshift.
  for (const step of publishPlan.steps) {
    if (signal?.aborted) throw cancelled(dataApi.label);
    // Staging tables are temporary: they end with the batch's session, and each statement saved keeps a
    // whole star's re-publish within the Data API's 40 statements.
    if (step.kind === 'sql' && step.purpose === 'cleanup') continue;
    if (step.kind === 'sql') sqls.push(step.sql);
    else {
      progress({ phase: 'load', table: step.table.name, done, total });
      const prepared = await loadPath.prepare(step, dialect);
      if (prepared.kind !== 'sql') throw new LakehouseError('INTERNAL', 'The Data API loads from S3 only');
      sqls.push(prepared.sql);
    }
    done++;
  }
  sqls.push(
    dialect.assertFingerprints(
      published.map((t) => ({
        name: { schema, table: t.name },
        key: portableKeyColumns(t),
        rowCount: t.rowCount,
        keyChecksum: t.keyChecksum,
      })),
    ),
  );
  progress({ phase: 'commit', done, total });
  await dataApi.executeBatch(sqls, signal);
  progress({ phase: 'reconcile', done: done + 1, total });
  const reconciliation: ReconciliationRow[] = [];
  for (const table of published) {
    const [row] = await dataApi.query(
      dialect.fingerprint({ schema, table: table.name }, portableKeyColumns(table)),
    );
    reconciliation.push(reconcile(table, row));
  }
  return reconciliation;
}

/** A gold table against the row count and key checksum read back from the target (absent: no match). */
function reconcile(table: GoldTable, target: Record<string, unknown> | undefined): ReconciliationRow {
  const targetRows = Number(target?.n ?? -1);
  const targetChecksum = String(target?.checksum ?? '');
  return {
    table: table.name,
    localRows: table.rowCount,
    targetRows,
    localChecksum: table.keyChecksum,
    targetChecksum,
    matches: targetRows === table.rowCount && targetChecksum === table.keyChecksum,
  };
}
