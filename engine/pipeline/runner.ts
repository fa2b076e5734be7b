import { randomUUID } from 'node:crypto';
import { LakehouseError, toLakehouseError } from '../api/errors.ts';
import { type Db, ident, literal } from '../db/duckdb.ts';
import { downstreamOf } from '../graph/dependencies.ts';
import { createPartitionStore } from '../lake/partitions.ts';
import type { LoadedCatalog } from '../materializations/context.ts';
import { dropStages } from '../materializations/stage.ts';
import type { Project } from '../project/config.ts';
import { macroFilesText } from '../project/macros.ts';
import type { BoundSource } from '../sources/daily-parquet.ts';
import { type CacheHold, holdCachedFiles } from '../storage/object-cache.ts';
import { committedDatesByModel, recordModelDates } from '../warehouse/metadata.ts';
import { goneDeliveries, resolveDates, sourcesReadBy } from './dates.ts';
import { macroVersions, noteOlderMacros } from './macro-versions.ts';
import { missingInputPartitions } from './model-inputs.ts';
import { refuseRunsThatWouldFail, resolveSelection } from './preflight.ts';
import {
  accountForFailedDate,
  brokenModelRecords,
  brokenModelsFailure,
  runCancelled,
  sourceFailureRecords,
  testFailure,
  withDatesAccounted,
  withReplayLeftUndone,
} from './run-failure.ts';
import { runModel, stageDirOf } from './run-model.ts';
import {
  emptyRecord,
  finishRun,
  insertModelRuns,
  insertRun,
  noteStaleDownstream,
  recordModelTexts,
  recordSucceededTexts,
} from './run-records.ts';
import type {
  ModelRunRecord,
  ProgressEvent,
  RunnerDeps,
  RunningModel,
  RunOptions,
  RunSummary,
} from './run-types.ts';
import { bindDailySources, bindReferenceSources } from './sources.ts';

// The run's types are part of its API: callers import them from here with runPipeline.
export type { ModelRunRecord, ProgressEvent, RunOptions, RunSummary } from './run-types.ts';

/**
 * Runs the selected models for each date in order. Each date is one DuckDB transaction: partitions
 * are swapped, gold tables changed and history recorded together, or not at all (a failure, a cancel
 * or a killed process leaves the previous committed state). A failed date stops the run.
 */
export async function runPipeline(deps: RunnerDeps, options: RunOptions): Promise<RunSummary> {
  const { db, project, graph } = deps;
  const started = Date.now();
  const runId = newRunId();
  const brokenModels = deps.modelErrors ?? [];
  // With a model out of the graph nothing runs, and a selector may name that model: the selection
  // only says which models the history shows as not run.
  const selected =
    brokenModels.length > 0
      ? await resolveSelection(db, graph, options.select).catch(() => [])
      : await resolveSelection(db, graph, options.select);
  const dates = await resolveDates(project, options, sourcesReadBy(graph, brokenModels));
  if (brokenModels.length === 0) await refuseRunsThatWouldFail(deps, selected, dates, options.select);
  const goneDeliveryNotes =
    brokenModels.length === 0 && !options.dates?.length && !options.from && !options.to
      ? await goneDeliveries(deps, selected, dates)
      : new Map<string, string>();
  const selectedSet = new Set(selected);
  const total = selected.length * dates.length;
  const emit = (event: Omit<ProgressEvent, 'runId' | 'total'>) =>
    options.onProgress?.({ ...event, runId, total });
  const partitions = createPartitionStore(
    db,
    project.lakeRoot,
    runId,
    project.storage.lake(project.lakeRoot),
  );
  const records: ModelRunRecord[] = [];
  const catalogs = new Map<string, LoadedCatalog>();
  const columnsChecked = new Set<string>();
  let done = 0;

  // Once per run, not per date: the models' notes go on their records of the run's first date.
  const macroNotes =
    brokenModels.length > 0
      ? new Map<string, string>()
      : await noteOlderMacros(
          db,
          runId,
          graph,
          selected,
          dates,
          macroVersions(deps.macroText ?? (await macroFilesText(project.root))),
          (model, replayed) =>
            missingInputPartitions(
              { ...deps, runDates: dates, selected: selectedSet },
              partitions,
              model,
              undefined,
              replayed,
            ),
        );
  await insertRun(db, runId, dates, options.select);
  await recordModelTexts(
    db,
    runId,
    selected.flatMap((id) => graph.byId.get(id)?.model ?? []),
  );
  emit({ kind: 'run-start', done });
  // Each date commits on its own: a cancel says which of them it kept.
  const committedInRun: string[] = [];

  const { stopInterrupting, stopListening } = interruptOnCancel(db, options.signal);
  // Fetched source objects stay in the cache while read: the reference files for the whole run, a
  // day's files until its date is done (evicting them earlier broke the views reading them).
  const runHold = holdCachedFiles();
  let dateHold: CacheHold | undefined;
  try {
    if (brokenModels.length > 0) {
      // Recorded like a source failure: the run failed on its first date, before any model ran.
      const failure = brokenModelsFailure(brokenModels);
      const failed = brokenModelRecords(brokenModels, selected, dates[0] ?? '', failure);
      await insertModelRuns(db, runId, failed);
      records.push(...failed);
      throw failure;
    }
    await runHold.during(() => bindReferenceSources(deps, selected));
    for (const date of dates) {
      throwIfCancelled(options.signal);
      dateHold?.release();
      const hold = holdCachedFiles();
      dateHold = hold;
      let boundSources: Map<string, BoundSource>;
      try {
        boundSources = await hold.during(() => bindDailySources(deps, selected, date));
      } catch (error) {
        const failure = toLakehouseError(error);
        const failed = sourceFailureRecords(graph, selected, date, failure);
        await insertModelRuns(db, runId, failed);
        records.push(...failed);
        throw failure;
      }
      await setVariables(db, project, date);
      const committedAtDateStart = await committedDatesByModel(db);
      const dateRecords: ModelRunRecord[] = [];
      // The model under way, which has no record until it returns: a cancel that stops it rolls it back.
      let running: RunningModel | undefined;
      await db.run('BEGIN TRANSACTION');
      try {
        // Each model that cannot run on this date, with the failed model that stops it: a model downstream
        // of a skipped one names the failure, not the skipped model as if that had failed.
        const failedModels = new Map<string, string>();
        for (const id of selected) {
          throwIfCancelled(options.signal);
          const node = graph.byId.get(id)!;
          const blockedBy = failedModels.get(node.upstream.find((u) => failedModels.has(u)) ?? '');
          if (blockedBy) {
            failedModels.set(id, blockedBy);
            dateRecords.push(emptyRecord(id, date, 'skipped', `skipped: upstream ${blockedBy} failed`));
            continue;
          }
          // Before the event: a cancel its listener sends stops this model.
          running = { model: id, started: Date.now() };
          emit({ kind: 'model-start', date, model: id, done });
          const ranThisDate = new Set(dateRecords.filter((r) => r.status === 'success').map((r) => r.model));
          const record = await runModel(
            {
              ...deps,
              signal: options.signal,
              catalogs,
              columnsChecked,
              runDates: dates,
              ranThisDate,
              committedAtDateStart,
              selected: selectedSet,
            },
            node.model,
            date,
            partitions,
            runId,
            node.sources.flatMap((name) => boundSources.get(name) ?? []),
          );
          for (const source of node.sources)
            record.warnings.push(...(boundSources.get(source)?.warnings ?? []));
          const firstDateNotes = date === dates[0] ? [macroNotes.get(id), goneDeliveryNotes.get(id)] : [];
          for (const note of firstDateNotes) if (note) record.warnings.push(note);
          dateRecords.push(record);
          running = undefined;
          done++;
          emit({ kind: 'model-done', date, model: id, done, record });
          if (record.status === 'failed') {
            failedModels.set(id, id);
            for (const d of downstreamOf(graph, id)) if (!failedModels.has(d)) failedModels.set(d, id);
          }
        }
        const failures = dateRecords.filter((r) => r.status === 'failed');
        if (failures.length > 0) throw testFailure(graph, date, failures);
        await noteStaleDownstream(db, graph, selected, dateRecords, date);
        await insertModelRuns(db, runId, dateRecords);
        // A replay rebuilt its other dates too: which run built a date decides which macros it used and
        // which dates the next incremental Iceberg publish compares.
        const built = dateRecords
          .filter((record) => record.status === 'success')
          .flatMap((record) =>
            [date, ...(record.replayedDates ?? [])].map((etlDate) => ({ model: record.model, etlDate })),
          );
        await recordModelDates(db, built, runId);
        await partitions.flushUploads();
        await db.run('COMMIT');
      } catch (error) {
        stopInterrupting();
        await db.run('ROLLBACK').catch(() => undefined);
        await partitions.flushUploads().catch(() => undefined);
        // An interrupt may surface as DuckDB's own error (a statement before the model's own try).
        const failure = options.signal?.aborted ? cancelledDate() : toLakehouseError(error);
        accountForFailedDate(graph, selected, date, dateRecords, failure, running);
        await insertModelRuns(db, runId, dateRecords);
        records.push(...dateRecords);
        throw failure;
      }
      records.push(...dateRecords);
      await dropStages(db, stageDirOf(project));
      await partitions.collectGarbage();
      committedInRun.push(date);
      emit({ kind: 'date-committed', date, done });
    }
    await recordSucceededTexts(db, runId);
    await finishRun(db, runId, 'success');
    emit({ kind: 'run-done', done });
    return { runId, status: 'success', dates, models: records, durationMs: Date.now() - started };
  } catch (error) {
    stopInterrupting();
    const stopped = options.signal?.aborted
      ? runCancelled(committedInRun)
      : withDatesAccounted(toLakehouseError(error), dates, committedInRun);
    const failure = await withReplayLeftUndone(db, stopped);
    const status = failure.code === 'RUN_CANCELLED' ? 'cancelled' : 'failed';
    await dropStages(db, stageDirOf(project)).catch(() => undefined);
    await finishRun(db, runId, status, failure);
    await partitions.collectGarbage().catch(() => 0);
    emit({ kind: 'run-done', done });
    return {
      runId,
      status,
      dates,
      models: records,
      durationMs: Date.now() - started,
      error: failure.toPayload() as RunSummary['error'],
    };
  } finally {
    stopInterrupting();
    stopListening();
    dateHold?.release();
    runHold.release();
  }
}

/** The date and the project's vars as DuckDB variables, which the models' SQL reads with getvariable(). */
async function setVariables(db: Db, project: Project, date: string): Promise<void> {
  await db.run(`SET VARIABLE etl_date = ${literal(date)}::DATE`);
  for (const [name, value] of Object.entries(project.config.vars)) {
    const sqlValue = typeof value === 'string' ? literal(value) : String(value);
    await db.run(`SET VARIABLE ${ident(name)} = ${sqlValue}`);
  }
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledDate();
}

function cancelledDate(): LakehouseError {
  return new LakehouseError('RUN_CANCELLED', 'The run was cancelled.');
}

/** A run's id: its start time to the second (UTC), then six random characters. */
function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomUUID().slice(0, 6)}`;
}

/**
 * An interrupt stops only the statement running at that instant (DuckDB clears it when the next one
 * starts): one landing between two statements of a model was lost, and the run went on. So it is
 * repeated until the date's failure is being handled, which must not be interrupted itself.
 */
function interruptOnCancel(
  db: Db,
  signal: AbortSignal | undefined,
): { stopInterrupting: () => void; stopListening: () => void } {
  let interrupting: ReturnType<typeof setInterval> | undefined;
  const onAbort = () => {
    db.interrupt();
    interrupting = setInterval(() => db.interrupt(), 100);
  };
  signal?.addEventListener('abort', onAbort);
  return {
    stopInterrupting: () => clearInterval(interrupting),
    stopListening: () => signal?.removeEventListener('abort', onAbort),
  };
}
