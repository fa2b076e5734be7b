import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { LakehouseError, PROJECT_PLACEHOLDER } from './api/errors.ts';
import { withIsoOffset } from './api/run-clock.ts';
import {
  applyWriteSettings,
  type Db,
  type DbOptions,
  errorWithoutStatement,
  type JsonRowBatch,
  jsonRows,
  openDb,
  streamJsonRows,
  throwIfStreamFailed,
} from './db/duckdb.ts';
import { errorInUserText } from './explore/query-error.ts';
import { withoutStatementEnds } from './explore/statement-end.ts';
import { suggestLayerTable } from './explore/table-suggestion.ts';
import {
  buildPartialGraph,
  builtByBrokenFiles,
  type ModelGraph,
  replaceGraph,
} from './graph/dependencies.ts';
import {
  forgetPartitions,
  type MissingPartition,
  missingFilesError,
  missingPartitionFiles,
} from './lake/missing-files.ts';
import { createPartitionStore, viewsNameAnotherLake } from './lake/partitions.ts';
import { removeStageFiles } from './materializations/stage.ts';
import type { TitleIndex } from './normalize/matcher.ts';
import { availableDates, sourcesReadBy } from './pipeline/dates.ts';
import { stageDirOf } from './pipeline/run-model.ts';
import { type RunOptions, type RunSummary, runPipeline } from './pipeline/runner.ts';
import { loadProject, type Project } from './project/config.ts';
import { isMacroFileError, loadMacros, macroFilesText } from './project/macros.ts';
import { loadModels, type Model } from './project/models.ts';
import { type DropResult, dropOrphanTable } from './warehouse/drop.ts';
import {
  abandonedRunReason,
  ensureWarehouseSchema,
  hasEngineTable,
  hasWarehouseSchema,
  markAbandonedRuns,
  runClockOrder,
} from './warehouse/metadata.ts';

export interface EngineOptions {
  projectDir: string;
  /** Open the warehouse read-only (query, tables, runs): several readers may then share it. */
  readOnly?: boolean;
  /** Overrides settings.memory_limit of lakehouse.yaml, e.g. '1GB'. */
  memoryLimit?: string;
  threads?: number;
  /**
   * Forget committed partitions whose file is gone from the lake (`lakehouse repair`), so their dates
   * run again; without it, opening such a project fails saying which files are missing.
   */
  forgetMissingFiles?: boolean;
}

export interface TableInfo {
  /** `layer.name` as queries use it. */
  name: string;
  layer: string;
  kind: 'table' | 'view';
  rows: number;
  columns: { name: string; type: string }[];
  /** File of the model that builds it; null for quarantine tables and tables a deleted model left. */
  model: string | null;
  materialized: string | null;
  /** Committed date partitions (bronze, silver, quarantine); null for warehouse tables. */
  partitions: number | null;
}

export interface RunHistoryEntry {
  runId: string;
  /** The machine's wall clock then, with its zone's UTC offset: `2022-06-02 20:40:36.178245+07:00`. */
  startedAt: string;
  finishedAt: string | null;
  status: string;
  dates: string;
  selection: string;
  error: string | null;
  /** The error's code; null without an error, or for a run an earlier version recorded. */
  errorCode: string | null;
  models: {
    model: string;
    etlDate: string | null;
    status: string;
    rowsIn: number;
    rowsOut: number;
    duplicatesRemoved: number;
    quarantined: number;
    durationMs: number;
    error: string | null;
    tests: unknown[];
    warnings: string[];
  }[];
}

export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
}

/** A query's columns, and its rows a chunk at a time as they are read (see streamJsonRows). */
export interface StreamedQuery {
  columns: QueryResult['columns'];
  batches: AsyncGenerator<JsonRowBatch>;
}

export interface Engine {
  readonly project: Project;
  /** Every model whose file parses (its SQL may still not: see modelErrors). */
  readonly models: Model[];
  /** The models that can run, in order: those of `models` without an error in `modelErrors`. */
  readonly graph: ModelGraph;
  /**
   * What keeps models out of the graph: files that do not parse, SQL errors, undeclared sources, cycles
   * (each with details.file, details.model or details.models). Reads work; a run fails with these.
   */
  readonly modelErrors: LakehouseError[];
  /** Partitions forgotten at open because their file was missing (only with forgetMissingFiles). */
  readonly forgottenPartitions: MissingPartition[];
  readonly db: Db;
  /** Reads (tables, runs, query) go through this second connection: they see the last committed state. */
  readonly reader: Db;
  /**
   * Another connection set up like `reader` (macros, search path), for reads that must not wait behind
   * the reader's queue or must be interruptible on their own (the SQL console). The caller closes it.
   */
  openReader(): Promise<Db>;
  /**
   * Loads the macros again on a connection from openReader if the files changed since it last did
   * (reloadModels read them): the console's connections outlive reloads. Never while it has an open result.
   */
  syncMacros(connection: Db): Promise<void>;
  run(options?: RunOptions): Promise<RunSummary>;
  /**
   * Reads the model and macro files again, as an open does: files edited, added or removed outside the
   * app since it opened the project (another editor, git) count from now on. True when something
   * changed. Call it on the writer connection with no run in progress.
   */
  reloadModels(): Promise<boolean>;
  /** Removes a layer table no model builds any more, with its partitions and records (warehouse/drop.ts). */
  dropTable(relation: string, options?: { rebuild?: boolean }): Promise<DropResult>;
  availableDates(): Promise<string[]>;
  tables(): Promise<TableInfo[]>;
  runs(limit?: number): Promise<RunHistoryEntry[]>;
  /** Runs SQL over every layer; gold tables answer to bare names too. Rows are JSON-safe. */
  query(sql: string): Promise<QueryResult>;
  /** As query, with the rows read chunk by chunk as they are consumed, for results too big to hold whole. */
  streamQuery(sql: string): Promise<StreamedQuery>;
  close(): void;
}

/**
 * A copied or moved project's views still name the old lake's files, and a read-only open cannot
 * re-create them: one read-write open does (as every such open does), then the reader opens again.
 */
async function repointLakeViews(options: EngineOptions, root: string): Promise<void> {
  try {
    (await openEngine({ ...options, readOnly: false }, false)).close();
  } catch (error) {
    if (!(error instanceof LakehouseError && error.code === 'RUN_LOCKED')) throw error;
    throw new LakehouseError(
      'RUN_LOCKED',
      `${root} was copied or moved: its table views still name the lake it came from, and re-pointing them ` +
        'needs the warehouse to itself for a moment. Close the other lakehouse processes on it (the app, a run, ' +
        'another query) and retry.',
      { ...error.details },
    );
  }
}

/** Warehouses this process has open for writing (a process-wide fact, hence module state). */
const writersInThisProcess = new Set<string>();

/**
 * Opens a project: reads lakehouse.yaml and the models, infers the model graph from their SQL, and
 * opens the warehouse (creating it on first use). One writer per warehouse: DuckDB's file lock makes
 * a second writer fail with RUN_LOCKED instead of corrupting anything.
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  return openEngine(options, true);
}

async function openEngine(options: EngineOptions, mayRepoint: boolean): Promise<Engine> {
  const project = await loadProject(options.projectDir);
  // A broken model file must not lock the analyst out of the committed tables while fixing it: the
  // errors are kept, and only a run (which needs every model) fails with them.
  const { models, errors: modelErrors } = await loadModels(project.root);
  // Files that do not parse: they stay errors until reopened, whatever the graph says.
  const fileErrors = [...modelErrors];
  await mkdir(dirname(project.warehousePath), { recursive: true });
  const dbOptions: DbOptions = {
    memoryLimit: options.memoryLimit ?? project.config.settings.memory_limit,
    threads: options.threads ?? project.config.settings.threads,
    tempDirectory: join(dirname(project.warehousePath), '.duckdb-tmp'),
  };
  const lockKey = resolve(project.warehousePath);
  const noWarehouseYet = () =>
    new LakehouseError(
      'PROJECT_INVALID',
      `The project has no warehouse yet (${project.warehousePath}). Run it first: lakehouse run ${PROJECT_PLACEHOLDER}`,
      { path: project.warehousePath, reason: 'no-warehouse' },
    );
  const locked = () =>
    new LakehouseError(
      'RUN_LOCKED',
      `The warehouse ${project.warehousePath} is open in another lakehouse process: the app or \`lakehouse serve\` ` +
        'on this project (it keeps it open), or a run in progress. While the app is open, run from it ' +
        '(`lakehouse query`, `tables` and `runs` read through it); otherwise wait for the run ' +
        'to finish, then retry.',
      { path: project.warehousePath },
    );
  // DuckDB's file lock only guards against other processes; within one process this set does.
  if (!options.readOnly && writersInThisProcess.has(lockKey)) throw locked();
  let db: Db;
  try {
    db = await openDb(project.warehousePath, options.readOnly ? { ...dbOptions, readOnly: true } : dbOptions);
  } catch (error) {
    const message = (error as Error).message;
    // The value came from the caller (run --memory-limit), not from lakehouse.yaml: say so.
    if (
      error instanceof LakehouseError &&
      error.details.setting === 'memory_limit' &&
      options.memoryLimit !== undefined
    ) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `--memory-limit ${options.memoryLimit}: not a value DuckDB takes (${String(error.details.reason)}). ` +
          `Give ${String(error.details.expected)}, or leave the option out to use settings.memory_limit of lakehouse.yaml.`,
        { option: 'memory-limit', value: options.memoryLimit },
      );
    }
    // DuckDB: 'Could not set lock on file ...: Conflicting lock is held in ...' ("block" is no lock).
    if (/Could not set lock|Conflicting lock/i.test(message)) throw locked();
    if (/Out of Memory/i.test(message)) {
      throw new LakehouseError(
        'PROJECT_INVALID',
        `DuckDB ran out of memory opening ${project.warehousePath} with memory_limit ${dbOptions.memoryLimit ?? '(default)'}: ` +
          'raise settings.memory_limit in lakehouse.yaml (or --memory-limit); a run needs a few hundred MB at least.',
        { path: project.warehousePath, memoryLimit: dbOptions.memoryLimit ?? null, reason: 'out-of-memory' },
      );
    }
    if (options.readOnly && /does not exist|no such file|Cannot open/i.test(message)) throw noWarehouseYet();
    // `warehouse:` naming a folder or another file (lakehouse.yaml, a CSV): DuckDB leaves it as it is.
    if (/not a valid DuckDB database file|Is a directory/i.test(message)) {
      throw new LakehouseError(
        'PROJECT_INVALID',
        `warehouse: ${project.warehousePath} in lakehouse.yaml is ${/Is a directory/i.test(message) ? 'a folder' : 'a file but no DuckDB database'}, ` +
          'so the gold tables and run history cannot live there (it was left as it is): point warehouse at ' +
          "the project's own warehouse file, or at a new file name to start a new warehouse.",
        { path: project.warehousePath, key: 'warehouse' },
      );
    }
    throw error;
  }
  // A first run killed before it created the engine's tables left the file without them: as no warehouse.
  if (options.readOnly && !(await hasWarehouseSchema(db))) {
    db.close();
    throw noWarehouseYet();
  }
  // Read-only opens too: an S3 lake's mirror (a second machine, a deleted .lakehouse/) is filled here,
  // or the views would fail on the files it lacks.
  const lakeFilesMissing = () => missingPartitionFiles(db, project.storage.lake(project.lakeRoot));
  const forgottenPartitions: MissingPartition[] = [];
  if (options.readOnly) {
    const missing = await lakeFilesMissing().catch((error: unknown) => {
      db.close();
      throw error;
    });
    if (missing.length > 0) {
      db.close();
      throw missingFilesError(project.lakeRoot, missing);
    }
  }
  const lakeMirror = project.storage.lake(project.lakeRoot).localRoot;
  if (options.readOnly && mayRepoint && (await viewsNameAnotherLake(db, lakeMirror))) {
    db.close();
    await repointLakeViews(options, project.root);
    return openEngine(options, false);
  }
  if (!options.readOnly) writersInThisProcess.add(lockKey);
  let reader: Db | undefined;
  // The macro files as last loaded: a reload runs them again only when they changed.
  let macroText = '';
  // The macro files' text each connection last loaded, to tell which ones a reload left behind.
  const macrosLoadedOn = new WeakMap<Db, string>();
  /** The project's macros on `connection`; an error per macro file that failed (the others load). */
  const loadProjectMacros = async (connection: Db, text = macroText): Promise<LakehouseError[]> => {
    macrosLoadedOn.delete(connection);
    const errors = await loadMacros(connection, project.root);
    // Only a clean load counts: a file that failed (or a load interrupted by a cancel) is tried again.
    if (errors.length === 0) macrosLoadedOn.set(connection, text);
    return errors;
  };
  // Macros and the search path are per connection: every reading connection needs its own.
  const openReader = async (): Promise<Db> => {
    const connection = await db.fork();
    try {
      // A broken macro file is already among modelErrors (see below); reads go on without its macros.
      await loadProjectMacros(connection);
      await connection.run(`SET search_path = 'gold,main'`);
      return connection;
    } catch (error) {
      connection.close();
      throw error;
    }
  };
  const close = () => {
    reader?.close();
    db.close();
    if (!options.readOnly) writersInThisProcess.delete(lockKey);
  };
  // The graph of the models as loaded, files that do not parse counted as building their tables.
  const graphOfModels = () =>
    buildPartialGraph(
      db,
      models,
      Object.keys(project.config.sources),
      Object.keys(project.config.vars),
      fileErrors,
    );
  let graph: ModelGraph;
  try {
    if (!options.readOnly) {
      await applyWriteSettings(db);
      // Sources are views in an in-memory catalog: bound per date, never persisted in the warehouse.
      await db.run(`ATTACH ':memory:' AS source`);
      await ensureWarehouseSchema(db);
      await markAbandonedRuns(db);
      // Before any view is re-created: a view over a missing file fails every read of its layer.
      const missing = await lakeFilesMissing();
      if (missing.length > 0 && !options.forgetMissingFiles) {
        throw missingFilesError(project.lakeRoot, missing);
      }
      if (missing.length > 0) await forgetPartitions(db, missing, project.lakeRoot);
      forgottenPartitions.push(...missing);
      const partitions = createPartitionStore(
        db,
        project.lakeRoot,
        'startup',
        project.storage.lake(project.lakeRoot),
      );
      // A killed run may have left files behind; nothing points at them, so they go.
      await partitions.collectGarbage();
      await removeStageFiles(stageDirOf(project));
      await partitions.refreshAllViews();
    }
    // Like a broken model file, a broken macro file must not lock the analyst out of the committed
    // tables: runs refuse with its error, reads work (a query calling its macros fails, saying which).
    macroText = await macroFilesText(project.root);
    const macroErrors = await loadProjectMacros(db);
    fileErrors.push(...macroErrors);
    await db.run(`SET search_path = 'gold,main'`);
    const built = await graphOfModels();
    graph = built.graph;
    modelErrors.push(...macroErrors, ...built.errors);
    reader = await openReader();
  } catch (error) {
    close();
    throw error;
  }
  const titleIndexes = new Map<string, TitleIndex>();
  const readerDb = reader as Db;

  return {
    project,
    models,
    graph,
    modelErrors,
    forgottenPartitions,
    db,
    async run(runOptions = {}) {
      if (options.readOnly) throw new LakehouseError('INVALID_ARGUMENT', 'This engine was opened read-only');
      return runPipeline({ db, project, graph, titleIndexes, modelErrors, macroText }, runOptions);
    },
    async reloadModels() {
      const loaded = await loadModels(project.root);
      const macrosNow = await macroFilesText(project.root);
      const unchanged =
        macrosNow === macroText &&
        JSON.stringify(loaded.models) === JSON.stringify(models) &&
        JSON.stringify(loaded.errors.map((e) => e.message)) ===
          JSON.stringify(fileErrors.filter((e) => !isMacroFileError(e)).map((e) => e.message));
      if (unchanged) return false;
      let macroErrors = fileErrors.filter(isMacroFileError);
      if (macrosNow !== macroText) {
        // Recorded only once loaded: a load that throws (a file unreadable mid-checkout) is tried again
        // by the next reload, and runs refuse until then. Other connections catch up in syncMacros.
        macroErrors = await loadProjectMacros(db, macrosNow);
        if (reader) await loadProjectMacros(reader, macrosNow);
        macroText = macrosNow;
      }
      const errors = [...loaded.errors, ...macroErrors];
      const { sources, vars } = project.config;
      // Built before anything is replaced: if it throws, the engine keeps the models it had.
      const rebuilt = await buildPartialGraph(
        db,
        loaded.models,
        Object.keys(sources),
        Object.keys(vars),
        errors,
      );
      fileErrors.splice(0, fileErrors.length, ...errors);
      models.splice(0, models.length, ...loaded.models);
      replaceGraph(graph, rebuilt.graph);
      modelErrors.splice(0, modelErrors.length, ...errors, ...rebuilt.errors);
      return true;
    },
    async dropTable(relation, dropOptions = {}) {
      if (options.readOnly) throw new LakehouseError('INVALID_ARGUMENT', 'This engine was opened read-only');
      const partitions = createPartitionStore(
        db,
        project.lakeRoot,
        'drop',
        project.storage.lake(project.lakeRoot),
      );
      const dropped = await dropOrphanTable(db, partitions, models, relation, fileErrors, dropOptions);
      // A model that read the dropped table no longer has a left-over table to read: ask the graph again.
      const rebuilt = await graphOfModels();
      replaceGraph(graph, rebuilt.graph);
      modelErrors.splice(0, modelErrors.length, ...fileErrors, ...rebuilt.errors);
      return dropped;
    },
    availableDates: () => availableDates(project, sourcesReadBy(graph, modelErrors)),
    reader: readerDb,
    openReader,
    async syncMacros(connection) {
      if (macrosLoadedOn.get(connection) !== macroText) await loadProjectMacros(connection);
    },
    tables: () => listTables(readerDb, models, modelErrors),
    // Read-only, the engine could open the warehouse only because no process writes it: a run still
    // 'running' in its history was killed (a writer marks those aborted when it opens, as in markAbandonedRuns).
    runs: (limit = 20) => listRuns(readerDb, limit, options.readOnly === true),
    async query(sql) {
      try {
        const result = await readerDb.connection.runAndReadAll(sql);
        const names = result.columnNames();
        const types = result.columnTypes().map((t) => t.toString());
        const rows = jsonRows(result);
        return { columns: names.map((name, i) => ({ name, type: types[i] ?? 'UNKNOWN' })), rows };
      } catch (error) {
        throw new LakehouseError('QUERY_ERROR', await suggestLayerTable(readerDb, (error as Error).message), {
          sql,
        });
      }
    },
    async streamQuery(sql) {
      // About the text as the user wrote it, not the wrapper below (its excerpt showed SQL they never
      // typed); asked once the read is rolled back, as binding in an aborted transaction fails.
      const failed = async (error: unknown) => {
        await rollback();
        return new LakehouseError('QUERY_ERROR', await errorInUserText(readerDb, sql, error), { sql });
      };
      // A streamed result that fails on a later row (a cast) ends, through @duckdb/node-api, as if it were
      // complete: no error, an empty last chunk (the CLI printed 1,914,880 of 2,000,000 rows and exit 0).
      // In a transaction the failure leaves it aborted, which the next statement tells.
      await readerDb.run('BEGIN TRANSACTION');
      let open = true;
      const rollback = async () => {
        if (open) await readerDb.run('ROLLBACK').catch(() => undefined);
        open = false;
      };
      let streamed: Awaited<ReturnType<typeof streamJsonRows>>;
      try {
        // Read as a subquery, DuckDB names repeated columns apart (a, a_1) as the app's console and the
        // command line through the app do; the rows of a bare SELECT 1 AS a, 2 AS a lost one of them.
        streamed = await streamJsonRows(
          readerDb.connection,
          `SELECT * FROM (${withoutStatementEnds(sql)}\n) AS __query`,
        );
      } catch (error) {
        throw await failed(error);
      }
      async function* batches(): AsyncGenerator<JsonRowBatch> {
        let rows = 0;
        try {
          try {
            for await (const batch of streamed.batches) {
              rows += batch.rowCount;
              yield batch;
            }
          } catch (error) {
            throw await failed(error);
          }
          await throwIfStreamFailed(readerDb, withoutStatementEnds(sql), rows).catch(async (error) => {
            throw error instanceof LakehouseError
              ? error
              : await failed(new Error(errorWithoutStatement(error)));
          });
        } finally {
          await rollback();
        }
      }
      return { columns: streamed.columns, batches: batches() };
    },
    close,
  };
}

async function listTables(db: Db, models: Model[], modelErrors: LakehouseError[]): Promise<TableInfo[]> {
  // A table whose model file does not parse is still built by that file.
  const brokenFiles = builtByBrokenFiles(modelErrors);
  const relations = await db.all<{ schema_name: string; table_name: string; kind: 'table' | 'view' }>(
    `SELECT schema_name, table_name, 'table' AS kind FROM duckdb_tables()
       WHERE database_name = current_database() AND schema_name IN ('bronze', 'silver', 'gold', 'quarantine')
     UNION ALL
     SELECT schema_name, view_name, 'view' FROM duckdb_views()
       WHERE database_name = current_database() AND schema_name IN ('bronze', 'silver', 'gold', 'quarantine')
     ORDER BY 1, 2`,
  );
  const order = ['bronze', 'silver', 'gold', 'quarantine'];
  relations.sort(
    (a, b) =>
      order.indexOf(a.schema_name) - order.indexOf(b.schema_name) || a.table_name.localeCompare(b.table_name),
  );
  const partitionCounts = new Map(
    (
      await db.all<{ relation: string; n: number }>(
        'SELECT relation, count(*) AS n FROM _lakehouse.partitions GROUP BY relation',
      )
    ).map((r) => [r.relation, Number(r.n)]),
  );
  const out: TableInfo[] = [];
  for (const r of relations) {
    const name = `${r.schema_name}.${r.table_name}`;
    const quoted = `"${r.schema_name}"."${r.table_name.replaceAll('"', '""')}"`;
    const columns = (
      await db.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${quoted}`)
    ).map((c) => ({ name: c.column_name, type: c.column_type }));
    const rows = Number((await db.scalar<number | bigint>(`SELECT count(*) FROM ${quoted}`)) ?? 0);
    const model = models.find((m) => m.id === name);
    out.push({
      name,
      layer: r.schema_name,
      kind: r.kind,
      rows,
      columns,
      // Null, not absent: `tables --json` prints every key on every entry.
      model: model?.file ?? brokenFiles.get(name) ?? null,
      materialized: model?.config.materialized ?? null,
      partitions: partitionCounts.get(name) ?? null,
    });
  }
  return out;
}

/** A run's clock time with its UTC offset: `2022-06-02 20:40:36.178245+07` (see withIsoOffset). */
const CLOCK_FORMAT = '%Y-%m-%d %H:%M:%S.%f%z';

/**
 * SQL for when a run started or finished (`event`), as CLOCK_FORMAT gives it: the instant of run_clocks
 * (alias c) in the offset the machine's zone had then. A run recorded before run_clocks existed has only
 * the wall clock of runs (alias r), shown with the offset the zone has now for that time: right unless the
 * machine's zone was changed since (a laptop that travelled), or in the hour a DST change repeats.
 */
function runClockSql(event: 'started' | 'finished', withClocks: boolean): string {
  const recordedBefore = `strftime(r.${event}_at::TIMESTAMPTZ, '${CLOCK_FORMAT}')`;
  if (!withClocks) return recordedBefore;
  const offset = `c.${event}_offset`;
  const wallClock = `strftime(timezone('UTC', c.${event}_at) + to_seconds(${offset}), '%Y-%m-%d %H:%M:%S.%f')`;
  const offsetText = `printf('%s%02d:%02d', CASE WHEN ${offset} < 0 THEN '-' ELSE '+' END, abs(${offset}) // 3600, abs(${offset}) % 3600 // 60)`;
  return `CASE WHEN c.${event}_at IS NULL THEN ${recordedBefore} ELSE ${wallClock} || ${offsetText} END`;
}

async function listRuns(db: Db, limit: number, noWriter: boolean): Promise<RunHistoryEntry[]> {
  const newest = `ORDER BY ${runClockOrder('r')} DESC, run_id DESC LIMIT ${Math.max(1, Math.floor(limit))}`;
  // Read-only on a warehouse an earlier version wrote, not opened to write since: no codes to join.
  const withCodes = await hasEngineTable(db, 'run_errors');
  const withClocks = await hasEngineTable(db, 'run_clocks');
  const runs = await db.allJson<{
    run_id: string;
    started_at: string;
    finished_at: string | null;
    status: string;
    dates: string;
    selection: string;
    error: string | null;
    error_code: string | null;
  }>(
    `SELECT r.run_id, ${runClockSql('started', withClocks)} AS started_at,
            ${runClockSql('finished', withClocks)} AS finished_at,
            r.status, r.dates, r.selection, r.error, ${withCodes ? 'e.code' : 'NULL'} AS error_code
     FROM _lakehouse.runs AS r
     ${withCodes ? 'LEFT JOIN _lakehouse.run_errors AS e USING (run_id)' : ''}
     ${withClocks ? 'LEFT JOIN _lakehouse.run_clocks AS c USING (run_id)' : ''} ${newest}`,
  );
  const out: RunHistoryEntry[] = [];
  for (const run of runs) {
    const models = await db.allJson<Record<string, unknown>>(
      `SELECT model, strftime(etl_date, '%Y-%m-%d') AS etl_date, status, rows_in, rows_out, duplicates_removed,
              quarantined, duration_ms, error, tests, warnings
       FROM _lakehouse.model_runs WHERE run_id = $runId ORDER BY etl_date, finished_at, rowid`,
      { runId: run.run_id },
    );
    const abandoned = noWriter && run.status === 'running';
    out.push({
      runId: run.run_id,
      startedAt: withIsoOffset(run.started_at),
      finishedAt: run.finished_at === null ? null : withIsoOffset(run.finished_at),
      status: abandoned ? 'aborted' : run.status,
      dates: run.dates,
      selection: run.selection,
      error: abandoned
        ? abandonedRunReason(models.filter((m) => m.status === 'success').map((m) => String(m.etl_date)))
        : run.error,
      errorCode: abandoned ? null : run.error_code,
      models: models.map((m) => ({
        model: String(m.model),
        etlDate: (m.etl_date as string | null) ?? null,
        status: String(m.status),
        rowsIn: Number(m.rows_in ?? 0),
        rowsOut: Number(m.rows_out ?? 0),
        duplicatesRemoved: Number(m.duplicates_removed ?? 0),
        quarantined: Number(m.quarantined ?? 0),
        durationMs: Number(m.duration_ms ?? 0),
        error: (m.error as string | null) ?? null,
        tests: JSON.parse(String(m.tests ?? '[]')) as unknown[],
        warnings: JSON.parse(String(m.warnings ?? '[]')) as string[],
      })),
    });
  }
  return out;
}
