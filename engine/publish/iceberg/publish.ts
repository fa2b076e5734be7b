import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LakehouseError } from '../../api/errors.ts';
import type { Engine } from '../../engine.ts';
import type { Project } from '../../project/config.ts';
import { describeGoldTables, type GoldTable } from '../gold-tables.ts';
import type { Catalog } from './catalog.ts';
import { openCatalog } from './catalogs/open-catalog.ts';
import { type IcebergCatalogConfig, icebergCatalogConfig } from './config.ts';
import { forgetPublishState } from './publish-state.ts';
import { addDecimal, openFingerprintStore } from './published-files.ts';
import { currentSchema } from './spec.ts';
import { planTable, type SyncContext, syncTable, type TablePlan, type TableResult } from './sync.ts';
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
  if (/^[a-z][a-z0-9+.-]*:/i.test(warehouse) || isAbsolute(warehouse)) return warehouse;
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
): SyncContext {
  return {
    db: engine.db,
    catalog: opened.catalog,
    namespace: opened.namespace,
    stateDir: opened.stateDir,
    properties: opened.properties,
    onProgress: (message) => options.onProgress?.({ ...(table ? { table } : {}), message, ...step }),
    ...(options.fullCompare ? { fullCompare: true } : {}),
    ...(options.beforeCommit ? { beforeCommit: options.beforeCommit } : {}),
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
  const tables = await describeGoldTables(engine.db, engine.models, {
    ...(options.tables ? { tables: options.tables } : {}),
  });
  const results: IcebergPublishResult['tables'] = [];
  const total = tables.length;
  for (const [done, table] of tables.entries()) {
    const step = { done, total };
    options.onProgress?.({
      table: table.name,
      message: `${table.name}: comparing with the published table`,
      ...step,
    });
    const ctx = context(engine, opened, options, table.name, step);
    const result = await syncTable(ctx, table);
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
    results.push({ ...result, reconciliation });
  }
  return {
    target: opened.catalog.description,
    namespace: opened.namespace,
    tables: results,
    durationMs: Date.now() - started,
  };
}
