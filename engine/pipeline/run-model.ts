// One model's run on one date: its materializer with the context it reads, then its data tests, giving
// the model's record. Apart from runner.ts, which decides which models run on which date and commits.

import { dirname, join } from 'node:path';
import { counted } from '../api/counted.ts';
import { LakehouseError } from '../api/errors.ts';
import { WARNED_TEST } from '../api/notes.ts';
import { type Db, errorWithoutStatement, ident, literal } from '../db/duckdb.ts';
import { suggestLayerTable } from '../explore/table-suggestion.ts';
import { downstreamOf } from '../graph/dependencies.ts';
import type { createPartitionStore } from '../lake/partitions.ts';
import { materializeAppend } from '../materializations/append.ts';
import { recordBuild, refuseBuildMismatch } from '../materializations/builds.ts';
import {
  checkOutputColumns,
  type LoadedCatalog,
  type MaterializeContext,
  type MaterializeOutcome,
  type Materializer,
  type StageStorage,
} from '../materializations/context.ts';
import { materializeBridge, materializeScd2 } from '../materializations/history.ts';
import { materializeKeywordMatch } from '../materializations/keyword-match.ts';
import { materializePartition } from '../materializations/partition.ts';
import { materializeScd1 } from '../materializations/scd1.ts';
import { writeStage } from '../materializations/stage.ts';
import { materializeTable } from '../materializations/table.ts';
import type { Project } from '../project/config.ts';
import type { Materialization, Model } from '../project/models.ts';
import { runDataTests, type TestResult } from '../quality/data-tests.ts';
import type { BoundSource } from '../sources/daily-parquet.ts';
import {
  inputsCatchingUp,
  keyReaders,
  missingInputPartitions,
  partitionedInputs,
  staleInputPartitions,
  testsAheadOfParents,
} from './model-inputs.ts';
import type { ModelRunRecord, RunnerDeps } from './run-types.ts';

const MATERIALIZERS: Record<Materialization, Materializer> = {
  partition: materializePartition,
  table: materializeTable,
  append: materializeAppend,
  scd1: materializeScd1,
  scd2: materializeScd2,
  bridge: materializeBridge,
  keyword_match: materializeKeywordMatch,
};

/**
 * Runs `model` on `date` in the date's open transaction. A failing error-severity test gives a 'failed'
 * record; any other failure throws, naming the model (and its SQL's file and line when DuckDB raised it).
 */
export async function runModel(
  // With the catalogs read so far in this run (see MaterializeContext.catalogs), and the models whose
  // output columns were checked: names come from the SQL and declared source columns, not the date.
  deps: RunnerDeps & {
    catalogs: Map<string, LoadedCatalog>;
    columnsChecked: Set<string>;
    runDates: string[];
    /** Models that succeeded on this date before this one. */
    ranThisDate: Set<string>;
    /**
     * Each model's committed dates as the date began: the date records what it built only as it
     * commits, so they hold for all of its models (one query a date, not one a model).
     */
    committedAtDateStart: ReadonlyMap<string, string[]>;
    /** The models this run runs. */
    selected: ReadonlySet<string>;
  },
  model: Model,
  date: string,
  partitions: ReturnType<typeof createPartitionStore>,
  runId: string,
  dailySources: BoundSource[],
): Promise<ModelRunRecord> {
  const { db } = deps;
  const started = Date.now();
  const stage = '__stage';
  let stagedAs: StageStorage = 'table';
  const restage = async (etlDate: string, storage: StageStorage = 'table') => {
    await db.run(`SET VARIABLE etl_date = ${literal(etlDate)}::DATE`);
    try {
      const staged = await writeStage(db, stage, model.sql, storage, stageDirOf(deps.project));
      stagedAs = staged.storage;
      return staged;
    } catch (error) {
      throw await modelSqlError(db, model, error);
    }
  };
  const replaceStage = async (selectSql: string) => {
    stagedAs = (await writeStage(db, stage, selectSql, stagedAs, stageDirOf(deps.project))).storage;
  };
  const ctx: MaterializeContext = {
    db,
    model,
    etlDate: date,
    runId,
    stage,
    target: `${ident(model.layer)}.${ident(model.name)}`,
    partitions,
    titleIndexes: deps.titleIndexes,
    catalogs: deps.catalogs,
    restage,
    replaceStage,
    committedDates: [...(deps.committedAtDateStart.get(model.id) ?? [])],
    runDates: deps.runDates,
    staleInputs: (dates) => staleInputPartitions(deps, partitions, model, dates),
    missingInputs: (dates) => missingInputPartitions(deps, partitions, model, date, dates),
    inputDates: async () => {
      const dates = await Promise.all(
        partitionedInputs(deps.graph, model).map((m) => partitions.dates(m.id)),
      );
      return [...new Set(dates.flat())].sort();
    },
    keyReaders: () => keyReaders(deps, model),
    hasModel: (id) => deps.graph.byId.has(id),
    inputsCatchingUp: (through) => inputsCatchingUp(deps, model, date, through),
    readersInRun: () =>
      [...downstreamOf(deps.graph, model.id)].filter(
        (id) => deps.selected.has(id) && deps.graph.byId.get(id)?.model.config.materialized !== 'table',
      ),
  };
  let outcome: MaterializeOutcome;
  let tests: TestResult[];
  try {
    // Once a run: the header cannot change within it, and a failed date ends it.
    const firstDateOfRun = !deps.columnsChecked.has(model.id);
    if (firstDateOfRun) {
      await checkOutputColumns(db, model);
      await refuseBuildMismatch(db, model);
      deps.columnsChecked.add(model.id);
    }
    outcome = await MATERIALIZERS[model.config.materialized](ctx);
    if (firstDateOfRun) await recordBuild(db, model);
    // Inside the try: a test that cannot run (a misspelt column) fails this model, by name.
    const { deferred, behind } = outcome.heldThrough
      ? await testsAheadOfParents(deps, model, date, outcome.heldThrough)
      : { deferred: new Map<number, string>(), behind: [] };
    outcome.warnings.push(...deferred.values());
    // A parent this run leaves behind fails the test: say why, and which run brings both to the same date.
    if (behind.length > 0) outcome.testHints = { notes: [...(outcome.testHints?.notes ?? []), ...behind] };
    tests = await runDataTests(
      db,
      model,
      outcome.testRelation,
      outcome.historyRelation,
      outcome.uniqueKeys,
      new Set(deferred.keys()),
    );
  } catch (error) {
    // DuckDB errors raised while materializing come from the model's SQL: point at its file and line.
    if (deps.signal?.aborted) throw new LakehouseError('RUN_CANCELLED', 'The run was cancelled.');
    // Source text is only checked in full when a model reading it fails in DuckDB: if the source is the
    // cause, the error names its file and column instead of the model.
    const fromDuckDb = !(error instanceof LakehouseError) || error.code === 'MODEL_SQL_ERROR';
    if (fromDuckDb) for (const source of dailySources) await source.findUnreadable();
    const failure = error instanceof LakehouseError ? error : await modelSqlError(db, model, error);
    failure.details.model ??= model.id;
    throw failure;
  }
  const failed = tests.filter((t) => !t.passed && t.severity === 'error');
  const warned = tests.filter((t) => !t.passed && t.severity === 'warn');
  return {
    model: model.id,
    etlDate: date,
    status: failed.length > 0 ? 'failed' : 'success',
    rowsIn: outcome.rowsIn,
    rowsOut: outcome.rowsOut,
    duplicatesRemoved: outcome.duplicatesRemoved,
    quarantined: outcome.quarantined,
    durationMs: Date.now() - started,
    error:
      failed.length > 0
        ? `test ${failed.map((t) => `${t.name}: ${failingRowsText(t)}`).join('; ')}`
        : undefined,
    tests,
    warnings: [
      ...outcome.warnings,
      ...warned.map((t) => `${WARNED_TEST}${t.name} has ${failingRowsText(t)}`),
    ],
    testHints: outcome.testHints,
    ...(outcome.replayedDates ? { replayedDates: outcome.replayedDates } : {}),
  };
}

/** `3 failing rows (NULL in platform_key (3))`: a failed test's count, with which columns when it has several. */
function failingRowsText(test: TestResult): string {
  return `${counted(test.failingRows, 'failing row')}${test.detail ? ` (${test.detail})` : ''}`;
}

/**
 * Maps a DuckDB error on a model's SQL to the model file and line. DuckDB's hint lines stay (Did you
 * mean ...?, Candidate bindings: ...), with a missing table's hint naming the closest layer table.
 */
async function modelSqlError(db: Db, model: Model, error: unknown): Promise<LakehouseError> {
  const message = error instanceof Error ? error.message : String(error);
  const lineMatch = /LINE (\d+):/.exec(message);
  const text = errorWithoutStatement(message);
  // A missing table is a catalog error, which leaves the date's transaction usable for this lookup.
  const hinted = await suggestLayerTable(db, text).catch(() => text);
  // DuckDB numbers lines within the statement, which starts on the model SQL's first line.
  const line = lineMatch ? model.sqlStartLine + Number(lineMatch[1]) - 1 : undefined;
  const where = line === undefined ? model.file : `${model.file}:${line}`;
  return new LakehouseError('MODEL_SQL_ERROR', `${where}: ${hinted}`, {
    file: model.file,
    line,
    model: model.id,
  });
}

/** Scratch folder for Parquet stages, beside the warehouse; emptied after every date. */
export function stageDirOf(project: Project): string {
  return join(dirname(project.warehousePath), '.stage');
}
