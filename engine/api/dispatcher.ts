import type { z } from 'zod';
import type { Db } from '../db/duckdb.ts';
import type { Engine } from '../engine.ts';
import { createExplorer } from '../explore/explorer.ts';
import { historyKeys, keyHistory } from '../explore/history.ts';
import {
  brokenModels,
  diffSnapshot,
  dropSnapshot,
  modelFileText,
  modelSource,
  previewModel,
  type Snapshot,
  saveModel,
  seedSucceededText,
  snapshotTables,
  unsaveModel,
} from '../explore/model-edit.ts';
import { pipelineGraph } from '../explore/pipeline-graph.ts';
import { createConsoleQueries } from '../explore/query.ts';
import { starOrphans, starSchema } from '../explore/star-schema.ts';
import type { RunSummary as EngineRunSummary, ProgressEvent } from '../pipeline/runner.ts';
import { icebergApi } from '../publish/iceberg/api.ts';
import { redshiftApi } from '../publish/redshift/api.ts';
import type { PublishProgress as RedshiftPublishProgress } from '../publish/redshift/publish.ts';
import { probeSource } from '../sources/probe.ts';
import { removeSource, saveSource, sourceDefinition } from '../sources/save.ts';
import { createCancellableQueue } from './cancellable-queue.ts';
import {
  type ErrorPayload,
  isMethodName,
  type LakehouseEvent,
  type Materialization,
  METHOD_NAMES,
  type MethodArgs,
  type MethodName,
  type ModelApplyStarted,
  type ModelDiff,
  type ModelInfo,
  methods,
  type PipelineStatus,
  type QueryResult,
  type RpcResponse,
  type RunList,
  RunProgressEvent,
  type RunStarted,
  type RunStep,
  RunSummary,
} from './contract.ts';
import { LakehouseError, toLakehouseError } from './errors.ts';
import { createProfileCalls } from './profile-calls.ts';
import { RecentNames } from './recent-names.ts';

export type EventListener = (event: LakehouseEvent) => void;

/** The Redshift publisher reports phases; the UI shows words, like the Iceberg publisher's messages. */
const REDSHIFT_PHASE_MESSAGES: Record<RedshiftPublishProgress['phase'], string> = {
  plan: 'Planning the load',
  load: 'Loading',
  constraints: 'Declaring keys',
  reconcile: 'Reconciling row counts and key checksums',
  commit: 'Committing',
  done: 'Published',
};

/**
 * The engine behind the contract. Every transport (IPC, HTTP, in-process) hands it untrusted method
 * names and inputs; it validates both ways, so a handler only sees parsed input and a caller only gets
 * output that matches the contract.
 */
export interface Dispatcher {
  /** Runs a method; rejects with a LakehouseError (INVALID_ARGUMENT for unknown methods or bad input). */
  call(method: string, input: unknown): Promise<unknown>;
  /** Like call, but never rejects: the reply transports send as is. */
  invoke(method: string, input: unknown): Promise<RpcResponse>;
  /** Every event (run progress, run finished) goes to every listener. Returns the unsubscribe. */
  subscribe(listener: EventListener): () => void;
  /**
   * Cancels the run and the publishes in progress and waits for them to end. The engine stays open:
   * its owner closes it.
   */
  close(): Promise<void>;
}

type Handlers = {
  [M in MethodName]: (input: MethodArgs<M>) => Promise<z.input<(typeof methods)[M]['output']>>;
};

interface ActiveRun {
  controller: AbortController;
  runId: string | null;
  finished: Promise<void>;
  // The run's progress so far, kept for pipeline.status: a view that opens mid-run catches up from it.
  startedAt: string;
  request: MethodArgs<'pipeline.run'>;
  /** The dates as the run recorded them (read back once it has started), or null while starting. */
  dates: Promise<string[]> | null;
  latest: RunProgressEvent | null;
  /** By `model date`, in the order they started. */
  steps: Map<string, RunStep>;
  committedDates: string[];
}

/**
 * One dispatcher per engine. One run at a time: a second pipeline.run gets RUN_LOCKED. Reads (tables,
 * runs, queries) go through the engine's reader connection, one after another, and answer during a run
 * with the last committed state; project.info answers during a run too (it reads the model files
 * again only when no run or publish is in progress).
 */
export function createDispatcher(
  engine: Engine,
  options: { explorer?: Parameters<typeof createExplorer>[1] } = {},
): Dispatcher {
  const listeners = new Set<EventListener>();
  let active: ActiveRun | undefined;
  let closed = false;
  // Queues of work on the engine's two connections: the writer (runs) and the reader (everything else).
  let tail: Promise<unknown> = Promise.resolve();
  let readTail: Promise<unknown> = Promise.resolve();
  // The table explorer's caches (counts, sort indexes, view snapshots) live on the reader connection.
  const explorer = createExplorer(engine.reader, options.explorer);
  const iceberg = icebergApi(engine);
  const redshift = redshiftApi(engine);
  // Publishes (and preflights) on the writer queue, oldest first. A run queued behind one would wait
  // with no run id and nothing to cancel, so runs are refused while any is there, naming it.
  const publishes: { label: string; controller: AbortController; cancellable: boolean }[] = [];
  const refuseWhilePublishing = (what: string) => {
    const publish = publishes[0]?.label;
    if (publish === undefined) return;
    throw new LakehouseError('RUN_LOCKED', `${publish} is in progress; ${what} when it has finished.`, {
      runId: null,
      reason: 'publish-in-progress',
      publish,
    });
  };
  // A model.apply from its checks until its run starts (saving the file, snapshotting gold): a run,
  // publish or project edit starting meanwhile would have it refused after its file was written, or run
  // the edit where its diff cannot see it. They are refused instead, naming the model.
  let applying: string | undefined;
  const refuseWhileApplying = (what: string) => {
    if (applying === undefined) return;
    throw new LakehouseError(
      'RUN_LOCKED',
      `${applying} is being saved and run from the editor; ${what} when its run has finished.`,
      { runId: null, reason: 'apply-in-progress', model: applying },
    );
  };
  // Publishing reads gold through the writer connection: never during a run, one publish at a time.
  const publishing = <T>(
    label: string,
    fn: (signal: AbortSignal) => Promise<T>,
    cancellable = true,
  ): Promise<T> => {
    refuseWhileApplying('publish');
    if (active) {
      throw new LakehouseError(
        'RUN_LOCKED',
        `Run ${active.runId ?? '(starting)'} is in progress; publish when it has finished.`,
        { runId: active.runId, reason: 'run-in-progress' },
      );
    }
    const publish = { label, controller: new AbortController(), cancellable };
    publishes.push(publish);
    const done = () => {
      publishes.splice(publishes.indexOf(publish), 1);
    };
    return exclusive(() => fn(publish.controller.signal)).finally(done);
  };

  // Work queued or running on the writer: project.info does not wait behind it to re-read the files.
  let writerWork = 0;
  let reloading: Promise<boolean> | undefined;
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    writerWork += 1;
    const result = tail.then(fn).finally(() => {
      writerWork -= 1;
    });
    tail = result.catch(() => undefined);
    return result;
  };

  const emit = (event: LakehouseEvent) => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch {
        // A failing listener (a closed window, a dropped connection) must not stop the run or the others.
      }
    }
  };

  const read = <T>(_method: MethodName, fn: () => Promise<T>): Promise<T> => {
    const result = readTail.then(fn);
    readTail = result.catch(() => undefined);
    return result;
  };

  const profiles = createProfileCalls(
    (fn) => read('table.profile', fn),
    () => engine.reader.interrupt(),
  );

  // The SQL console's queries run on connections of their own: a slow one neither holds up the explorer's
  // reads on the reader queue nor is interrupted along with them, and query.cancel can interrupt it.
  const consoleQueries = createConsoleQueries(() => engine.openReader(), {
    prepare: (db) => engine.syncMacros(db),
  });
  const consoleQueue = createCancellableQueue('The query was cancelled.', () => consoleQueries.interrupt());
  // A run and its cancel are two requests, and the cancel may be read first (leaving the console's tab
  // right after Run): a cancel naming a query not seen yet is remembered, and that query never runs.
  const seenQueries = new RecentNames();
  const cancelledBeforeRun = new RecentNames();
  const consoleQuery = (input: MethodArgs<'query.run'>): Promise<QueryResult> => {
    if (input.queryId !== undefined) {
      seenQueries.add(input.queryId);
      if (cancelledBeforeRun.delete(input.queryId)) {
        return Promise.reject(
          new LakehouseError('QUERY_CANCELLED', 'The query was cancelled.', { reason: 'cancelled' }),
        );
      }
    }
    return consoleQueue.call(() => consoleQueries.window(input));
  };
  const cancelConsole = (queryId?: string): boolean => {
    if (queryId !== undefined && !seenQueries.has(queryId)) cancelledBeforeRun.add(queryId);
    const busy = consoleQueue.cancel();
    void consoleQueue.after(() => consoleQueries.release());
    return busy;
  };

  // The editor's previews, like the console's queries, run on a connection of their own: a slow one
  // holds up no other read, and model.preview.cancel interrupts it. Opened on first use; let go when the
  // model files change, so the next preview reads the macros as they are now.
  let previewDb: Db | undefined;
  const previewQueue = createCancellableQueue('The preview was cancelled.', () => previewDb?.interrupt());
  const preview = (input: MethodArgs<'model.preview'>) =>
    previewQueue.call(async (wanted) => {
      previewDb ??= await engine.openReader();
      return previewModel(engine, input, previewDb, wanted);
    });
  const releasePreviewConnection = () =>
    void previewQueue.after(async () => {
      previewDb?.close();
      previewDb = undefined;
    });

  /**
   * Before the project changes: the console's open result reads a snapshot whose lake files a run may
   * delete, so it is let go, and reading on in it says why.
   */
  const releaseConsole = (reason: string) => {
    void consoleQueue.after(() => consoleQueries.release(reason));
  };

  const startRun = (input: MethodArgs<'pipeline.run'>): Promise<RunStarted> => {
    refuseWhilePublishing('run the pipeline');
    refuseWhileApplying('run the pipeline');
    if (active) {
      throw new LakehouseError(
        'RUN_LOCKED',
        `Run ${active.runId ?? '(starting)'} is already in progress; wait for it to finish or cancel it (pipeline.cancel).`,
        { runId: active.runId, reason: 'run-in-progress' },
      );
    }
    releaseConsole('a pipeline run started');
    const controller = new AbortController();
    const started = Date.now();
    const run: ActiveRun = {
      controller,
      runId: null,
      finished: Promise.resolve(),
      startedAt: new Date(started).toISOString(),
      request: input,
      dates: null,
      latest: null,
      steps: new Map(),
      committedDates: [],
    };
    active = run;
    return new Promise<RunStarted>((resolveStarted, rejectStarted) => {
      const onProgress = (event: ProgressEvent) => {
        const progress = progressEvent(event);
        recordProgress(run, progress);
        if (event.kind === 'run-start') {
          run.runId = event.runId;
          run.dates = runDates(event.runId);
          resolveStarted({ runId: event.runId, total: event.total });
        }
        emit(progress);
      };
      run.finished = exclusive(async () => {
        let summary: EngineRunSummary | undefined;
        let failure: LakehouseError | undefined;
        try {
          // Model files edited outside the app (another editor, git) run as they are now.
          if (await engine.reloadModels()) releasePreviewConnection();
          summary = await engine.run({
            dates: input.dates,
            from: input.from,
            to: input.to,
            select: input.select,
            signal: controller.signal,
            onProgress,
          });
        } catch (error) {
          failure = toLakehouseError(error);
        }
        // Free the engine before announcing the end, so a listener may call runs.list straight away.
        if (active === run) active = undefined;
        explorer.invalidate();
        if (run.runId === null) {
          // It failed before it started (a bad selector, no dates): the caller gets the error itself.
          rejectStarted(failure ?? new LakehouseError('INTERNAL', 'The run ended without starting'));
          return;
        }
        emit({
          type: 'run.finished',
          runId: run.runId,
          summary: finishedSummary(run.runId, summary, failure, started),
        });
      });
    });
  };

  /**
   * The dates a run takes, as it recorded them before its run-start (resolving a range or "every date"
   * is the runner's): one read of its history row, queued like the graph a view loads first anyway.
   */
  const runDates = (runId: string): Promise<string[]> =>
    read('pipeline.status', () =>
      engine.reader.allJson<{ dates: string }>('SELECT dates FROM _lakehouse.runs WHERE run_id = $runId', {
        runId,
      }),
    ).then(
      (rows) => rows[0]?.dates.split(',').filter(Boolean) ?? [],
      () => [],
    );

  const runStatus = async (): Promise<PipelineStatus> => {
    const run = active;
    if (!run) return { run: null };
    const dates = (await run.dates) ?? [];
    return {
      run: {
        runId: run.runId,
        startedAt: run.startedAt,
        request: run.request,
        dates,
        done: run.latest?.done ?? 0,
        total: run.latest?.total ?? 0,
        latest: run.latest,
        steps: [...run.steps.values()],
        committedDates: run.committedDates,
        cancelRequested: run.controller.signal.aborted,
      },
    };
  };

  // Diffs of model.apply runs by run id, answered once the run has ended; the last few are kept.
  const diffs = new Map<string, Promise<ModelDiff | null>>();

  /** Saves the model, snapshots the gold tables it affects, runs it and its downstream, then diffs. */
  const applyModel = async (input: MethodArgs<'model.apply'>): Promise<ModelApplyStarted> => {
    refuseWhilePublishing(`save ${input.model}`);
    if (active) {
      throw new LakehouseError(
        'RUN_LOCKED',
        `Run ${active.runId ?? '(starting)'} is in progress; wait for it to finish or cancel it before saving ${input.model}.`,
        { runId: active.runId, reason: 'run-in-progress' },
      );
    }
    refuseWhileApplying(`save ${input.model}`);
    applying = input.model;
    let saved: { tables: string[]; previous: string | undefined; snapshot: Snapshot };
    try {
      saved = await exclusive(async () => {
        const previous = await modelFileText(engine, input.model);
        // A file out of the graph is not what the model's last successful run ran: not seeded as it.
        const wasBroken = brokenModels(engine).some((b) => b.id === input.model);
        const tables = await saveModel(engine, input.model, input.text, input.base);
        if (previous !== undefined && !wasBroken) await seedSucceededText(engine, input.model, previous);
        return { tables, previous, snapshot: await snapshotTables(engine, tables) };
      });
    } finally {
      // Cleared just before the run starts (nothing awaited in between), so only this apply's run begins.
      applying = undefined;
    }
    const { tables, previous, snapshot } = saved;
    let started: Promise<RunStarted>;
    try {
      started = startRun({ dates: input.dates, select: [`${input.model}+`] });
    } catch (error) {
      await exclusive(() => dropSnapshot(engine, snapshot));
      throw error;
    }
    // Queued behind the run on the writer, so it sees the run's committed (or rolled-back) state.
    const diff = exclusive(async () => {
      const run = await started.catch(() => null);
      if (!run) {
        await dropSnapshot(engine, snapshot);
        return null;
      }
      return diffSnapshot(engine, snapshot, run.runId);
    });
    diff.catch(() => undefined);
    const run = await started.catch(async (error: unknown) => {
      // Refused before anything ran: the file goes back too, so "nothing ran" holds for it as well, and
      // the editor's text still matches the file its next save starts from.
      if (previous !== undefined && previous !== input.text) {
        if (await exclusive(() => unsaveModel(engine, input.model, input.text, previous))) {
          releasePreviewConnection();
        }
      }
      throw error;
    });
    diffs.set(run.runId, diff);
    for (const old of [...diffs.keys()].slice(0, -10)) diffs.delete(old);
    return { ...run, tables };
  };

  const modelDiff = async (runId: string): Promise<ModelDiff> => {
    const diff = await diffs.get(runId);
    if (!diff) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `No diff for run ${runId}: diffs exist for runs started by model.apply in this session (the last 10).`,
        { runId },
      );
    }
    return diff;
  };

  /** The models reading a source, by id. */
  const readersOf = (name: string): string[] =>
    engine.graph.nodes.filter((n) => n.sources.includes(name)).map((n) => n.model.id);
  const sourceList = () =>
    Object.entries(engine.project.config.sources).map(([name, source]) => ({
      name,
      kind: source.kind,
      location: source.kind === 'crawl' ? source.url : source.path,
    }));

  /** Changes to the project (lakehouse.yaml, a left-over table) on the writer queue, never during a run. */
  const editingProject = <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    refuseWhilePublishing(what);
    refuseWhileApplying(what);
    if (active) {
      throw new LakehouseError(
        'RUN_LOCKED',
        `Run ${active.runId ?? '(starting)'} is in progress; ${what} when it has finished (or cancel it).`,
        { runId: active.runId, reason: 'run-in-progress' },
      );
    }
    releaseConsole('the project changed');
    return exclusive(fn);
  };

  const handlers: Handlers = {
    async 'project.info'() {
      // The models as their files are now; during a run, a publish or other writer work (a model.apply's
      // diff), as last read: the next ask (the app's, on focus or after a run) reads them again.
      // Two asks at once (focus and a run's end) share one reload, so neither answers from before it.
      if (reloading) await reloading;
      else if (!active && publishes.length === 0 && writerWork === 0) {
        reloading = exclusive(() => engine.reloadModels()).finally(() => {
          reloading = undefined;
        });
        if (await reloading) releasePreviewConnection();
      }
      let availableDates: string[] = [];
      let sourceError: ErrorPayload | null = null;
      try {
        availableDates = await engine.availableDates();
      } catch (error) {
        const { code, message, details } = toLakehouseError(error);
        sourceError = { code, message, details };
      }
      return {
        name: engine.project.config.name,
        root: engine.project.root,
        lakeRoot: engine.project.lakeRoot,
        warehousePath: engine.project.warehousePath,
        sources: sourceList(),
        models: engine.graph.nodes.map((node): ModelInfo => {
          const { model } = node;
          return {
            id: model.id,
            layer: model.layer,
            name: model.name,
            file: model.file,
            materialized: model.config.materialized,
            role: model.config.role ?? null,
            description: model.config.description ?? null,
            uniqueKey: model.config.unique_key ?? [],
            upstream: node.upstream,
            sources: node.sources,
            relationships: model.config.tests.flatMap((t) => ('relationships' in t ? [t.relationships] : [])),
          };
        }),
        availableDates,
        brokenModels: brokenModels(engine),
        sourceError,
        activeRunId: active?.runId ?? null,
      };
    },
    'pipeline.run': (input) => startRun(input),
    'pipeline.status': () => runStatus(),
    async 'pipeline.cancel'({ runId }) {
      if (!active || active.runId !== runId) return { runId, cancelled: false };
      active.controller.abort();
      return { runId, cancelled: true };
    },
    'tables.list': () =>
      read('tables.list', async () => ({
        tables: (await engine.tables()).map((t) => ({
          name: t.name,
          layer: t.layer,
          kind: t.kind,
          rows: t.rows,
          columns: t.columns,
          model: t.model,
          // The engine types it as a string; the output schema checks it is a known materialization.
          materialized: t.materialized as Materialization | null,
          partitions: t.partitions,
        })),
      })),
    // Test results come from stored JSON the engine types as unknown[]; the output schema checks them.
    'runs.list': ({ limit }) =>
      read('runs.list', async () => ({ runs: (await engine.runs(limit)) as RunList['runs'] })),
    'query.run': (input) => consoleQuery(input),
    'query.cancel': async (input) => ({ cancelled: cancelConsole(input.queryId) }),
    'pipeline.graph': () => read('pipeline.graph', () => pipelineGraph(engine)),
    'star.schema': () => read('star.schema', () => starSchema(engine)),
    'star.orphans': (input) => read('star.orphans', () => starOrphans(engine, input)),
    'history.keys': (input) => read('history.keys', () => historyKeys(engine, input)),
    'history.key': (input) => read('history.key', () => keyHistory(engine, input)),
    'model.source': (input) => read('model.source', () => modelSource(engine, input.model)),
    'model.preview': (input) => preview(input),
    'model.preview.cancel': async () => ({ cancelled: previewQueue.cancel() }),
    'model.apply': (input) => applyModel(input),
    'model.diff': ({ runId }) => modelDiff(runId),
    // Reads only the source (files, S3 listings, one crawl page): no database queue needed.
    'sources.test': (input) => probeSource(engine.project, input),
    'sources.get': async ({ name }) => ({ name, source: await sourceDefinition(engine.project, name) }),
    'sources.save': (input) =>
      editingProject('save the source', async () => {
        const before = engine.project.config.sources[input.name];
        const saved = await saveSource(engine.project, input);
        const after = engine.project.config.sources[input.name];
        // An edit can break the models reading the source: name them, and the declared columns they lose
        // (without declared columns a run reads every column the files have, so none is known lost).
        const droppedColumns =
          before?.kind === 'daily_parquet' &&
          after?.kind === 'daily_parquet' &&
          Object.keys(after.columns).length > 0
            ? Object.keys(before.columns).filter((c) => !(c in after.columns))
            : [];
        return {
          ...saved,
          readers: saved.replaced ? readersOf(input.name) : [],
          droppedColumns,
          sources: sourceList(),
        };
      }),
    'tables.drop': ({ table, rebuild }) =>
      editingProject(`drop ${table}`, () => engine.dropTable(table, { rebuild })),
    'sources.remove': ({ name }) =>
      editingProject('remove the source', async () => {
        await removeSource(engine.project, name, readersOf(name));
        return { name, sources: sourceList() };
      }),
    'table.window': (input) => read('table.window', () => explorer.window(input)),
    'table.profile': (input) => profiles.call(input.profileId, () => explorer.profile(input)),
    'table.profile.cancel': async ({ profileId }) => ({ cancelled: profiles.cancel(profileId) }),
    'query.export': (input) => read('query.export', () => explorer.exportQuery(input)),
    'table.export': (input) => read('table.export', () => explorer.exportTable(input)),
    'publish.iceberg.preflight': (input) =>
      publishing(`An Iceberg preflight of ${icebergWhere(input)}`, () => iceberg.preflight(input), false),
    'publish.iceberg.run': (input) =>
      publishing(`An Iceberg publish to ${icebergWhere(input)}`, (signal) =>
        iceberg.publish(
          input,
          (progress) => emit({ type: 'publish.progress', target: 'iceberg', ...progress }),
          signal,
        ),
      ),
    'iceberg.snapshots': (input) => iceberg.snapshots(input),
    // Deletes files: never beside a publish of this app, which may be writing the files it would find.
    'iceberg.orphans': (input) =>
      publishing(`Orphan-file removal in ${icebergWhere(input)}`, () => iceberg.orphans(input), false),
    'iceberg.scan': (input) => read('iceberg.scan', () => iceberg.scan(input)),
    'iceberg.diff': (input) => read('iceberg.diff', () => iceberg.diff(input)),
    'publish.redshift.preflight': (input) =>
      publishing('A Redshift preflight', () => redshift.preflight(input), false),
    'publish.redshift.run': (input) =>
      publishing('A Redshift publish', (signal) =>
        redshift.publish(
          input,
          ({ phase, ...progress }) =>
            emit({
              type: 'publish.progress',
              target: 'redshift',
              message: REDSHIFT_PHASE_MESSAGES[phase],
              ...progress,
            }),
          signal,
        ),
      ),
    // Preflights only read and are left to finish; publishes stop, queued ones too.
    'publish.cancel': async () => {
      const running = publishes.filter((p) => p.cancellable && !p.controller.signal.aborted);
      for (const p of running) p.controller.abort();
      return { cancelled: running.length > 0 };
    },
  };

  const call = async (method: string, input: unknown): Promise<unknown> => {
    if (closed) throw new LakehouseError('INTERNAL', 'The engine is shutting down; restart the app.');
    if (!isMethodName(method)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `Unknown method "${String(method)}". Methods: ${METHOD_NAMES.join(', ')}.`,
        { method: String(method), methods: METHOD_NAMES },
      );
    }
    const spec = methods[method];
    const parsed = spec.input.safeParse(input ?? {});
    if (!parsed.success) throw invalidInput(method, parsed.error);
    const handler = handlers[method] as (input: unknown) => Promise<unknown>;
    let output: unknown;
    try {
      output = await handler(parsed.data);
    } catch (error) {
      throw toLakehouseError(error);
    }
    const checked = spec.output.safeParse(output);
    if (!checked.success) {
      throw new LakehouseError('INTERNAL', `${method} returned output that breaks the contract`, {
        method,
        issues: issueList(checked.error),
      });
    }
    return checked.data;
  };

  return {
    call,
    async invoke(method, input) {
      try {
        return { ok: true, value: await call(method, input) };
      } catch (error) {
        const { code, message, details } = toLakehouseError(error);
        return { ok: false, error: { code, message, details } };
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async close() {
      closed = true;
      const run = active;
      if (run) {
        run.controller.abort();
        await run.finished;
      }
      // A publish would hold the shutdown for as long as it takes: it stops as a cancel does.
      for (const publish of publishes) if (publish.cancellable) publish.controller.abort();
      await tail;
      cancelConsole();
      await consoleQueue.after(() => consoleQueries.close());
      previewQueue.cancel();
      releasePreviewConnection();
      await previewQueue.after(async () => undefined);
      listeners.clear();
    },
  };
}

/** How a publish's target is named in a RUN_LOCKED message. */
function icebergWhere(input: { catalog?: string | undefined; warehouse?: string | undefined }): string {
  return input.catalog ? `catalog ${input.catalog}` : `warehouse ${input.warehouse ?? '(none)'}`;
}

function issueList(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

function invalidInput(method: MethodName, error: z.ZodError): LakehouseError {
  const issues = issueList(error);
  const text = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return new LakehouseError('INVALID_ARGUMENT', `${method}: ${text}`, { method, issues });
}

/** Keeps what pipeline.status answers: the latest event, each model's step, the committed dates. */
function recordProgress(run: ActiveRun, event: RunProgressEvent): void {
  run.latest = event;
  const { kind, model, date, record } = event;
  if ((kind === 'model-start' || kind === 'model-done') && model && date) {
    run.steps.set(`${model} ${date}`, {
      model,
      date,
      record: kind === 'model-done' ? (record ?? null) : null,
    });
  }
  if (kind === 'date-committed' && date) run.committedDates.push(date);
}

/**
 * A run.progress event, validated like any output. A record that broke the contract would be left out
 * (the run goes on; the run.finished summary, validated too, then reports the breach).
 */
function progressEvent(event: ProgressEvent): RunProgressEvent {
  const raw = {
    type: 'run.progress' as const,
    runId: event.runId,
    kind: event.kind,
    date: event.date,
    model: event.model,
    done: event.done,
    total: event.total,
  };
  const parsed = RunProgressEvent.safeParse({ ...raw, record: event.record });
  return parsed.success ? parsed.data : raw;
}

/** The summary a run.finished event carries; validated, since the engine types it more loosely. */
function finishedSummary(
  runId: string,
  summary: EngineRunSummary | undefined,
  failure: LakehouseError | undefined,
  started: number,
): RunSummary {
  if (summary) {
    const parsed = RunSummary.safeParse(summary);
    if (parsed.success) return parsed.data;
    failure = new LakehouseError('INTERNAL', 'The run summary breaks the contract', {
      issues: issueList(parsed.error),
    });
  }
  const error = failure ?? new LakehouseError('INTERNAL', 'The run ended without a summary');
  return {
    runId,
    status: 'failed',
    dates: summary?.dates ?? [],
    models: [],
    durationMs: summary?.durationMs ?? Date.now() - started,
    error: { code: error.code, message: error.message, details: error.details },
  };
}
