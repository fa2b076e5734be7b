import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LakehouseError, toLakehouseError } from '../../api/errors.ts';
import { cancellableDb } from '../../db/cancellable.ts';
import type { Db } from '../../db/duckdb.ts';
import type { Engine } from '../../engine.ts';
import type { Project } from '../../project/config.ts';
import { locationKind } from '../../storage/s3-uri.ts';
import { describeGoldTables, type GoldTable } from '../gold-tables.ts';
import { type Catalog, CommitStateUnknownError } from './catalog.ts';
import { openCatalog } from './catalogs/open-catalog.ts';
import { type IcebergCatalogConfig, icebergCatalogConfig } from './config.ts';
import { forgetPublishState } from './publish-state.ts';
import { addDecimal, openFingerprintStore } from './published-files.ts';
import { currentSchema } from './spec.ts';
import { removeLeftoverStaging } from './staging.ts';
import {
  checkSchemas,
  planTable,
  type SyncContext,
  syncTable,
  type TablePlan,
  type TableResult,
} from './sync.ts';
import { snapshotFiles } from './table.ts';

/** Where to publish: a catalog named in lakehouse.yaml, or a bare warehouse folder / s3:// prefix. */
export interface IcebergTarget {
  catalog?: string;
  warehouse?: string;
}

export interface OpenedTarget {
  catalog: Catalog;
  namespace: string;
  properties: Record<string, string>;
  stateDir: string;
}

/** Local scratch for a project's Iceberg publishing (staging, downloads, fingerprints), beside its warehouse. */
export function icebergStateDir(project: Project): string {
  return join(dirname(project.warehousePath), '.iceberg');
}

export async function openTarget(project: Project, target: IcebergTarget): Promise<OpenedTarget> {
  let config: IcebergCatalogConfig;
  if (target.catalog) config = icebergCatalogConfig(project, target.catalog);
  else if (target.warehouse) {
    // A bare --warehouse reaches S3 the way the project does (its s3: block: endpoint, region, profile).
    const { endpoint, region, profile, force_path_style } = project.config.s3;
    config = {
      type: 'filesystem',
      warehouse: absoluteWarehouse(target.warehouse),
      namespace: 'gold',
      properties: {},
      s3: { endpoint, region, profile, force_path_style },
    };
  } else {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      'Say where to publish: --catalog <name from lakehouse.yaml> or --warehouse <folder or s3://bucket/prefix>.',
    );
  }
  const stateDir = icebergStateDir(project);
  return {
    catalog: await openCatalog(config, join(stateDir, 'downloads')),
    namespace: config.namespace,
    properties: config.properties,
    stateDir,
  };
}

/**
 * A bare local warehouse as an absolute folder, so the preflight names the folder files will go to: a
 * relative one is taken from the working directory (the shell's for the CLI, the app's for the UI).
 */
function absoluteWarehouse(warehouse: string): string {
  if (locationKind(warehouse, { fileUri: true }) !== 'path' || isAbsolute(warehouse)) return warehouse;
  return resolve(warehouse);
}

export interface Reconciliation {
  localRows: number;
  publishedRows: number;
  localKeyChecksum: string;
  publishedKeyChecksum: string;
  matches: boolean;
}

/**
 * Row count and key checksum of the table's current snapshot, summed over its data files: each file is
 * read back once, the first time a reconciliation or comparison meets it (data files are immutable), and
 * its figures are kept with its manifest row count and size, which every later reconciliation checks.
 */
export async function reconcileTable(
  ctx: Pick<SyncContext, 'db' | 'catalog' | 'namespace' | 'stateDir'>,
  table: GoldTable,
): Promise<Reconciliation> {
  const loaded = await ctx.catalog.load(ctx.namespace, table.name);
  let publishedRows = 0;
  let publishedKeyChecksum = '0';
  if (loaded) {
    const files = await snapshotFiles(ctx.catalog.io, loaded.metadata);
    const store = await openFingerprintStore({
      db: ctx.db,
      catalog: ctx.catalog,
      stateDir: ctx.stateDir,
      location: loaded.metadata.location,
      schema: currentSchema(loaded.metadata),
      keyColumns: table.primaryKey,
    });
    for (const fp of (await store.of(files.live)).values()) {
      publishedRows += fp.rows;
      publishedKeyChecksum = addDecimal(publishedKeyChecksum, fp.keyChecksum);
    }
    await store.save(files.live);
  }
  return {
    localRows: table.rowCount,
    publishedRows,
    localKeyChecksum: table.keyChecksum,
    publishedKeyChecksum,
    matches: table.rowCount === publishedRows && BigInt(table.keyChecksum) === BigInt(publishedKeyChecksum),
  };
}

export interface PublishProgress {
  table?: string;
  message: string;
  /** Tables finished so far, of `total`. */
  done: number;
  total: number;
}

export interface PublishIcebergOptions {
  tables?: string[];
  onProgress?: (progress: PublishProgress) => void;
  /** Compare every partition of the facts, not only those runs changed since the last publish. */
  fullCompare?: boolean;
  /** Tests only: see SyncContext.beforeCommit. */
  beforeCommit?: SyncContext['beforeCommit'];
  /**
   * Cancels the publish: the table being written is left as it was (its new files deleted) unless its
   * commit was already sent, and the tables after it are not touched. Tables committed before stay.
   */
  signal?: AbortSignal;
}

export interface IcebergPreflight {
  target: string;
  namespace: string;
  tables: TablePlan[];
}

export interface IcebergPublishResult {
  target: string;
  namespace: string;
  tables: (TableResult & { reconciliation: Reconciliation })[];
  durationMs: number;
}

function context(
  engine: Engine,
  opened: OpenedTarget,
  options: PublishIcebergOptions,
  table?: string,
  step = { done: 0, total: 0 },
  db: Db = engine.db,
): SyncContext {
  return {
    db,
    catalog: opened.catalog,
    namespace: opened.namespace,
    stateDir: opened.stateDir,
    properties: opened.properties,
    onProgress: (message) => options.onProgress?.({ ...(table ? { table } : {}), message, ...step }),
    ...(options.fullCompare ? { fullCompare: true } : {}),
    ...(options.beforeCommit ? { beforeCommit: options.beforeCommit } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/** What publishing would do, table by table (type mapping, target, action, rows), writing nothing. */
export async function preflightIceberg(
  engine: Engine,
  opened: OpenedTarget,
  options: PublishIcebergOptions = {},
): Promise<IcebergPreflight> {
  // "Nothing is written until you publish" must not hide a folder publishing cannot write.
  await opened.catalog.io.checkWritable?.();
  const tables = await describeGoldTables(engine.db, engine.models, {
    ...(options.tables ? { tables: options.tables } : {}),
  });
  const plans: TablePlan[] = [];
  for (const table of tables)
    plans.push(await planTable(context(engine, opened, options, table.name), table));
  return { target: opened.catalog.description, namespace: opened.namespace, tables: plans };
}

/**
 * Publishes the gold tables (dimensions first, facts last), one atomic commit per table, then reads
 * every table back to prove its row count and key checksum equal the local gold table's.
 */
export async function publishIceberg(
  engine: Engine,
  opened: OpenedTarget,
  options: PublishIcebergOptions = {},
): Promise<IcebergPublishResult> {
  const started = Date.now();
  await opened.catalog.io.checkWritable?.();
  await removeLeftoverStaging(join(opened.stateDir, 'staging'));
  const tables = await describeGoldTables(engine.db, engine.models, {
    ...(options.tables ? { tables: options.tables } : {}),
  });
  // Tables commit one by one: a conflict found at a later table would leave the earlier ones published.
  await checkSchemas({ catalog: opened.catalog, namespace: opened.namespace }, tables);
  const results: IcebergPublishResult['tables'] = [];
  const total = tables.length;
  const { signal } = options;
  // A cancel stops the statement DuckDB is running (writing a table's files can take minutes) and
  // every later one, so the publish stops at once rather than at its check before the next commit.
  const db = signal ? cancellableDb(engine.db, signal) : undefined;
  try {
    for (const [done, table] of tables.entries()) {
      // Tables found equal were not written: named apart, so a cancel reads as changing only the others.
      const published = results.filter((r) => r.action !== 'none').map((r) => r.table);
      const unchanged = results.filter((r) => r.action === 'none').map((r) => r.table);
      if (signal?.aborted) throw publishCancelled(opened, published, unchanged, table.name);
      let committed = false;
      try {
        const step = { done, total };
        results.push(await publishTable(engine, opened, options, table, step, () => (committed = true), db));
      } catch (error) {
        if (!signal?.aborted) throw publishFailed(error, committed ? [...published, table.name] : published);
        if (error instanceof CommitStateUnknownError) throw error;
        // Cut short after its commit (while reading it back), the table is published all the same.
        throw committed
          ? publishCancelled(opened, [...published, table.name], unchanged, tables[done + 1]?.name)
          : publishCancelled(opened, published, unchanged, table.name);
      }
    }
  } finally {
    db?.release();
  }
  return {
    target: opened.catalog.description,
    namespace: opened.namespace,
    tables: results,
    durationMs: Date.now() - started,
  };
}

/**
 * A table's failure, saying which tables of this publish had committed before it: without that, an
 * error on the fact read as if the whole publish had changed nothing, while its dimensions were newer.
 */
function publishFailed(error: unknown, published: string[]): unknown {
  if (published.length === 0 || error instanceof CommitStateUnknownError) return error;
  const failure = toLakehouseError(error);
  return new LakehouseError(
    failure.code,
    `${failure.message} Before it failed, ${published.join(', ')} had been published (each table commits ` +
      'on its own); publishing again finishes the rest.',
    { ...failure.details, published },
  );
}

/**
 * Why a cancelled publish stopped: the tables it had committed (each commit is atomic), those it found
 * already up to date, and the first one it left unchanged (none when the last table was being read back).
 */
function publishCancelled(
  opened: OpenedTarget,
  published: string[],
  unchanged: string[],
  stoppedAt?: string,
): LakehouseError {
  const committed =
    (published.length > 0
      ? `${published.join(', ')} had been published (each table commits on its own); `
      : '') +
    (unchanged.length > 0
      ? `${unchanged.join(', ')} ${unchanged.length === 1 ? 'was' : 'were'} already up to date, nothing written; `
      : '');
  const rest =
    stoppedAt === undefined
      ? 'only the read-back check of the last one was cut short.'
      : `no rows of ${stoppedAt} or the tables after it were committed.`;
  return new LakehouseError(
    'RUN_CANCELLED',
    `The Iceberg publish to ${opened.catalog.description} was cancelled: ${committed}${rest}`,
    { target: opened.catalog.description, published, unchanged, ...(stoppedAt ? { table: stoppedAt } : {}) },
  );
}

/** Syncs one table and reads it back: its row count and key checksum must equal the gold table's. */
async function publishTable(
  engine: Engine,
  opened: OpenedTarget,
  options: PublishIcebergOptions,
  table: GoldTable,
  { done, total }: { done: number; total: number },
  onCommitted: () => void,
  db?: Db,
): Promise<IcebergPublishResult['tables'][number]> {
  const step = { done, total };
  options.onProgress?.({
    table: table.name,
    message: `${table.name}: comparing with the published table`,
    ...step,
  });
  const ctx = context(engine, opened, options, table.name, step, db);
  const result = await syncTable(ctx, table);
  onCommitted();
  // Reading a big table's new files back takes a while: without this the bar would still say
  // "writing", and a cancel then would read as stopping a write that has in fact been committed.
  if (result.action !== 'none') {
    options.onProgress?.({
      table: table.name,
      message: `${table.name}: committed; reading it back to check rows and keys`,
      ...step,
    });
  }
  const reconciliation = await reconcileTable(ctx, table);
  if (!reconciliation.matches) {
    // The state claims the table equals gold: without it the next publish compares everything.
    await forgetPublishState(opened.stateDir, result.location);
    throw new LakehouseError(
      'PUBLISH_MISMATCH',
      `Iceberg table ${opened.namespace}.${table.name} does not match gold.${table.name} after the commit: ${reconciliation.publishedRows} rows (key checksum ${reconciliation.publishedKeyChecksum}) published, ${reconciliation.localRows} (${reconciliation.localKeyChecksum}) local. Publish again; if it persists, report it with the table's metadata folder.`,
      { table: table.name, ...reconciliation },
    );
  }
  options.onProgress?.({
    table: table.name,
    message: `${table.name}: ${result.action}, ${reconciliation.publishedRows} rows reconciled`,
    done: done + 1,
    total,
  });
  return { ...result, reconciliation };
}
