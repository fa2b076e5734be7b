import { type CSSProperties, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type {
  ActiveRunState,
  GraphNodeState,
  GraphNote,
  LakehouseEvent,
  Layer,
  ModelInfo,
  ModelRunRecord,
  PipelineGraph,
  ProjectInfo,
  RunHistoryEntry,
  RunInput,
  RunProgressEvent,
  RunStep,
  RunSummary,
} from '../../../engine/api/contract.ts';
import { inNumber } from '../../../engine/api/counted.ts';
import {
  daysOfRun,
  describeRun,
  LakehouseError,
  runOfDates,
  type SuggestedRun,
  suggestedRunOf,
} from '../../../engine/api/errors.ts';
import { replayDateOf } from '../../../engine/api/history-notes.ts';
import { noteDates } from '../../../engine/api/notes.ts';
import { runClockText } from '../../../engine/api/run-clock.ts';
import type { Client } from '../api/client.ts';
import { DataGrid } from '../components/DataGrid.tsx';
import { type FailedTest, FailedTestList } from '../components/FailedTestList.tsx';
import { type GraphLayout, layoutGraph } from '../components/graph-layout.ts';
import { NoteList } from '../components/NoteList.tsx';
import { describeError } from '../connect.ts';
import { cancelledNote, committedDates, dateCount } from '../run-summary.ts';
import './explore.css';

const LANES: Layer[] = ['bronze', 'silver', 'gold'];
const ALL_DATES = '__all__';
const RANGE = '__range__';
const CARD_WIDTH = 186;
const CARD_HEIGHT = 66;
const LANE_HEADER = 30;
const LANE_PAD = 10;
/**
 * The box the layout keeps free for each edge's label: the widest text compactNumber gives (5 characters,
 * e.g. 9,999 or 1000k) at 11px, with padding and border. Every label fits it, so labels placed once per
 * layout stay apart whatever counts a run brings, and do not move when the counts change.
 */
const EDGE_LABEL = { width: 5 * 6.6 + 12, height: 17 };

/**
 * What a model card shows: its last status and, once done, its duration and tests; the rows its table
 * holds once committed, the rows it wrote while a run is still going.
 */
interface CardState {
  status: string;
  /** The status a card had when a run marked it queued. */
  before?: string;
  /** Set by the run in progress (queued, running, its record): a graph load must not replace it. */
  fromRun?: boolean;
  tableRows?: number | null;
  rowsWritten?: number;
  datesRun?: number;
  durationMs?: number;
  testsPassed?: number;
  testsFailed?: number;
  testsWarned?: number;
  error?: string | null;
  /** What the model's latest run noted (from the graph; a run in progress clears them). */
  notes?: GraphNote[];
  /** A history model's date of the run in progress that leaves its replay to this later date of the run. */
  replaysOn?: string;
}

type RunState =
  | { phase: 'idle' }
  // `adopted`: a run this view found starting when it opened (pipeline.status), not one it started.
  | { phase: 'starting'; adopted?: boolean }
  | { phase: 'running'; runId: string | null; done: number; total: number }
  | { phase: 'finished'; summary: RunSummary }
  // The latest run that ended, from the run history, when this view did not follow it (a reload, the app
  // reopened): its outcome, a success as much as a failure, stays in sight until the next run.
  | { phase: 'recorded'; entry: RunHistoryEntry };

/**
 * Run history statuses of a run that ended, which a view shows on opening. Not `running`: a run this
 * server has in progress comes from pipeline.status, and one it does not know is no run to follow here.
 */
const ENDED = new Set(['success', 'failed', 'cancelled', 'aborted']);

/**
 * A card from the graph. A model the latest run stopped before (an upstream failed, a cancel) reads
 * "not run" with the run's reason, not the success of the earlier run its figures come from.
 */
export function cardFromGraph(state: GraphNodeState): CardState {
  return {
    notes: state.notes,
    status: state.notRun ? 'skipped' : state.status,
    tableRows: state.tableRows,
    rowsWritten: state.rowsOut,
    datesRun: state.dates.length,
    durationMs: state.durationMs,
    testsPassed: state.testsPassed,
    testsFailed: state.testsFailed,
    testsWarned: state.testsWarned,
    error: state.notRun?.reason ?? state.error,
  };
}

/** A card once its model is done on a date of the run in progress. */
export function cardFromRecord(record: ModelRunRecord): CardState {
  return {
    fromRun: true,
    status: record.status,
    rowsWritten: record.rowsOut,
    replaysOn: record.status === 'success' ? replayDateOf(record.etlDate, record.warnings) : undefined,
    durationMs: record.durationMs,
    testsPassed: record.tests.filter((t) => t.passed).length,
    testsFailed: record.tests.filter((t) => !t.passed && t.severity === 'error').length,
    testsWarned: record.tests.filter((t) => !t.passed && t.severity === 'warn').length,
    error: record.error ?? null,
  };
}

/** The cards as the run's events would have left them: queued, then each step running or done. */
function cardsOfRun(cards: Map<string, CardState>, steps: RunStep[]): Map<string, CardState> {
  const next = new Map<string, CardState>(
    [...cards].map(([id, c]) => [
      id,
      { ...c, status: 'queued', before: c.status, fromRun: true, notes: undefined },
    ]),
  );
  for (const { model, record } of steps) {
    next.set(
      model,
      record ? cardFromRecord(record) : { ...next.get(model), status: 'running', fromRun: true },
    );
  }
  return next;
}

/** A progress event by what it reports (each happens once per run), to tell the ones a snapshot holds. */
function progressKey(event: Pick<RunProgressEvent, 'kind' | 'model' | 'date'>): string {
  return `${event.kind} ${event.model ?? ''} ${event.date ?? ''}`;
}

/** The progress events whose effect a pipeline.status answer already holds. */
function reflectedEvents(run: ActiveRunState): Set<string> {
  const keys = new Set([progressKey({ kind: 'run-start' })]);
  for (const { model, date, record } of run.steps) {
    keys.add(progressKey({ kind: 'model-start', model, date }));
    if (record) keys.add(progressKey({ kind: 'model-done', model, date }));
  }
  for (const date of run.committedDates) keys.add(progressKey({ kind: 'date-committed', date }));
  if (run.latest?.kind === 'run-done') keys.add(progressKey({ kind: 'run-done' }));
  return keys;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The DuckDB types of a failed run's failing rows, from the failed test's record in the summary, so they
 * show as a table's rows do (timestamps with milliseconds); none when the test left no record.
 */
function failingRowTypes(summary: RunSummary): Record<string, string> {
  const { model, etlDate, test } = summary.error?.details ?? {};
  const record = summary.models.find((m) => m.model === model && m.etlDate === etlDate);
  return record?.tests.find((t) => t.name === test)?.sampleTypes ?? {};
}

function rowsFromDetails(details: Record<string, unknown> | undefined): Record<string, unknown>[] {
  const rows = details?.failingRows;
  return Array.isArray(rows)
    ? rows.filter((r): r is Record<string, unknown> => !!r && typeof r === 'object')
    : [];
}

/** What to run: a date, every date, or a from/to range; and optionally a model selection. */
function runInput(date: string, from: string, to: string, selection: string): RunInput {
  const select = selection.split(/[\s,]+/).filter(Boolean);
  // A range picked the other way round means the same dates: ISO dates order as text.
  const range = from <= to ? { from, to } : { from: to, to: from };
  const dates: RunInput = date === ALL_DATES ? {} : date === RANGE ? range : { dates: [date] };
  return select.length > 0 ? { ...dates, select } : dates;
}

/**
 * The model graph in bronze/silver/gold lanes, laid out by ELK, each edge labelled with the rows that
 * flowed along it; a run control (date, range, selection) with live statuses, cancel, and failures.
 */
export function PipelineView({ client, project }: { client: Client; project: ProjectInfo }) {
  const [graph, setGraph] = useState<PipelineGraph | null>(null);
  const [cards, setCards] = useState<Map<string, CardState>>(new Map());
  // A project with no daily source (or no day delivered yet) has no dates to offer: one is typed in.
  const noDates = project.availableDates.length === 0;
  const [date, setDate] = useState<string>(
    project.availableDates.at(-1) ?? (noDates ? new Date().toISOString().slice(0, 10) : ALL_DATES),
  );
  // Dates delivered since a date was typed in: the picker takes over at the latest.
  useEffect(() => {
    if (!noDates && date !== ALL_DATES && date !== RANGE && !project.availableDates.includes(date))
      setDate(project.availableDates.at(-1) ?? ALL_DATES);
  }, [noDates, date, project.availableDates]);
  const [from, setFrom] = useState(project.availableDates[0] ?? '');
  const [to, setTo] = useState(project.availableDates.at(-1) ?? '');
  const [selection, setSelection] = useState('');
  const [focused, setFocused] = useState<string | null>(null);
  const [run, setRun] = useState<RunState>({ phase: 'idle' });
  const [error, setError] = useState<string | null>(null);
  const [layout, setLayout] = useState<GraphLayout | null>(null);
  const runIdRef = useRef<string | null>(null);
  // Runs whose run.finished has come: the answer to their start, arriving after it (events and replies
  // travel apart), must not make one the run in progress again.
  const finishedRuns = useRef(new Set<string>());
  // Cancel clicked while the run was starting (no run id yet): sent as soon as the id is known.
  const cancelWanted = useRef(false);
  const sendCancel = useCallback(
    async (runId: string) => {
      cancelWanted.current = false;
      try {
        await client.call('pipeline.cancel', { runId });
      } catch (e) {
        setError(describeError(e));
      }
    },
    [client],
  );
  const [graphBox, setGraphBox] = useState<HTMLDivElement | null>(null);
  const [available, setAvailable] = useState({ width: 1200, height: 600 });

  useEffect(() => {
    if (!graphBox) return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setAvailable({ width: entry.contentRect.width, height: entry.contentRect.height });
    });
    observer.observe(graphBox);
    return () => observer.disconnect();
  }, [graphBox]);

  // The graph load in flight: a run found meanwhile is shown once it has landed, or the graph's cards
  // would replace the run's.
  const graphLoad = useRef<Promise<void>>(Promise.resolve());
  const loadGraph = useCallback(() => {
    const loading = (async () => {
      try {
        const next = await client.call('pipeline.graph');
        setGraph(next);
        const fromGraph = new Map(next.nodes.map((n) => [n.model, cardFromGraph(n)]));
        // A load that lands while a run is going (it was asked before Run was clicked, or the machine is
        // slow) keeps what the run's events set: its cards would never be set again for a long model.
        setCards((prev) => {
          if (runIdRef.current === null) return fromGraph;
          const merged = new Map(fromGraph);
          for (const [id, shown] of prev) {
            if (shown.fromRun)
              merged.set(id, { ...shown, before: fromGraph.get(id)?.status ?? shown.before });
          }
          return merged;
        });
      } catch (e) {
        setError(describeError(e));
      }
    })();
    graphLoad.current = loading;
    return loading;
  }, [client]);

  useEffect(() => {
    let live = true;
    const layerOf = (m: ModelInfo) => LANES.indexOf(m.layer);
    layoutGraph(
      project.models.map((m) => ({
        id: m.id,
        partition: layerOf(m),
        width: CARD_WIDTH,
        height: CARD_HEIGHT,
      })),
      project.models.flatMap((m) => m.upstream.map((up) => ({ id: `${up}->${m.id}`, from: up, to: m.id }))),
      EDGE_LABEL,
    ).then(
      (next) => live && setLayout(next),
      (e) => live && setError(`Cannot lay the graph out: ${describeError(e)}`),
    );
    return () => {
      live = false;
    };
  }, [project.models]);

  // A run this view picked up from pipeline.status, and the events that answer already held: an
  // older event arriving after it (over HTTP, replies and events travel apart) must not undo it.
  const adoptedRun = useRef<{ runId: string; seen: Set<string> } | null>(null);

  const applyEvent = useCallback(
    (event: LakehouseEvent) => {
      if (event.type === 'run.progress') {
        const { kind, model, record } = event;
        const adopted = adoptedRun.current;
        if (adopted?.runId === event.runId && adopted.seen.has(progressKey(event))) return;
        if (kind === 'run-start') {
          runIdRef.current = event.runId;
          if (cancelWanted.current) void sendCancel(event.runId);
          setCards((prev) => cardsOfRun(prev, []));
        }
        if (kind === 'model-start' && model) {
          setCards((prev) =>
            new Map(prev).set(model, { ...prev.get(model), status: 'running', fromRun: true }),
          );
        }
        if (kind === 'model-done' && record) {
          setCards((prev) => new Map(prev).set(record.model, cardFromRecord(record)));
        }
        setRun({ phase: 'running', runId: event.runId, done: event.done, total: event.total });
      } else if (event.type === 'run.finished') {
        runIdRef.current = null;
        finishedRuns.current.add(event.summary.runId);
        adoptedRun.current = null;
        setRun({ phase: 'finished', summary: event.summary });
        // Until the graph reloads: each model the run reached as its last record says (a failed date
        // turns its successes into rolled back, and the model that failed sent no model-done); models it
        // never reached (outside a selection) were marked queued at its start, and are back to what they were.
        const last = new Map(event.summary.models.map((record) => [record.model, record]));
        setCards(
          (prev) =>
            new Map(
              [...prev].map(([id, c]) => {
                const record = last.get(id);
                if (record) return [id, cardFromRecord(record)];
                return [id, c.status === 'queued' ? { ...c, status: c.before ?? c.status } : c];
              }),
            ),
        );
        // The graph's totals (every date of the run, rows on edges) come from the committed history.
        void loadGraph();
      }
    },
    [loadGraph, sendCancel],
  );

  /** Sets the toolbar's date, range and models to a run's request. */
  const showRequest = useCallback(
    ({ dates, from, to, select }: SuggestedRun) => {
      if (dates?.length === 1 && dates[0]) setDate(dates[0]);
      else if (from || to || dates) {
        setDate(RANGE);
        setFrom(from ?? dates?.[0] ?? project.availableDates[0] ?? '');
        setTo(to ?? dates?.at(-1) ?? project.availableDates.at(-1) ?? '');
      } else setDate(ALL_DATES);
      setSelection((select ?? []).join(' '));
    },
    [project.availableDates],
  );

  /** Shows a run found in progress (on opening) as if this view had followed it from its start. */
  const adopt = useCallback(
    (found: ActiveRunState) => {
      if (found.runId === null) {
        setRun({ phase: 'starting', adopted: true });
        return;
      }
      runIdRef.current = found.runId;
      adoptedRun.current = { runId: found.runId, seen: reflectedEvents(found) };
      setRun({ phase: 'running', runId: found.runId, done: found.done, total: found.total });
      setCards((prev) => cardsOfRun(prev, found.steps));
      // The toolbar says what is running, as it did in the view that started it.
      showRequest(found.request);
    },
    [showRequest],
  );

  useEffect(() => {
    let live = true;
    // Views unmount on a tab switch and a reload starts afresh: the run in progress, if any, comes from
    // pipeline.status. Events wait until its answer is shown, then apply on top of it.
    let buffered: LakehouseEvent[] | null = [];
    const off = client.onEvent((event) => {
      if (buffered) buffered.push(event);
      else applyEvent(event);
    });
    void (async () => {
      await loadGraph();
      try {
        // Events flow before the status is asked, so none falls between its answer and them.
        await client.ready();
        const { run: found } = await client.call('pipeline.status');
        if (live && found) adopt(found);
        if (live && !found) {
          const [latest] = (await client.call('runs.list', { limit: 1 })).runs;
          // Unless a run was started meanwhile: then that one is shown.
          if (live && latest && ENDED.has(latest.status))
            setRun((prev) => (prev.phase === 'idle' ? { phase: 'recorded', entry: latest } : prev));
        }
      } catch (e) {
        if (live) setError(describeError(e));
      }
      if (!live) return;
      const caught = buffered ?? [];
      buffered = null;
      for (const event of caught) applyEvent(event);
    })();
    return () => {
      live = false;
      off();
    };
  }, [client, loadGraph, applyEvent, adopt]);

  // A run found starting may still be refused before it starts (a bad selector), which sends no event:
  // ask again until it has started (its events take over) or is gone.
  useEffect(() => {
    if (run.phase !== 'starting' || !run.adopted) return;
    let live = true;
    const timer = setTimeout(async () => {
      try {
        const { run: found } = await client.call('pipeline.status');
        if (!live) return;
        if (found) adopt(found);
        else setRun({ phase: 'idle' });
      } catch (e) {
        if (live) setError(describeError(e));
      }
    }, 500);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [run, client, adopt]);

  /** Starts the toolbar's run, or `request` (shown in the toolbar first). */
  const start = async (request?: RunInput) => {
    // A start refused before anything ran leaves the latest run as it was, and what the status says of it.
    const before = run;
    setError(null);
    setRun({ phase: 'starting' });
    cancelWanted.current = false;
    if (request) showRequest(request);
    try {
      // Subscribe before starting so no progress event is missed.
      await client.ready();
      const started = await client.call('pipeline.run', request ?? runInput(date, from, to, selection));
      if (!finishedRuns.current.has(started.runId)) runIdRef.current = started.runId;
      if (cancelWanted.current) void sendCancel(started.runId);
      setRun((prev) =>
        prev.phase === 'starting'
          ? { phase: 'running', runId: started.runId, done: 0, total: started.total }
          : prev,
      );
    } catch (e) {
      setError(describeError(e));
      setRun(before.phase === 'finished' || before.phase === 'recorded' ? before : { phase: 'idle' });
      // A run this view has not seen (its events lost, e.g. while the event stream reconnected): shown, so
      // it can be followed and cancelled rather than only named by the error.
      if (e instanceof LakehouseError && e.details.reason === 'run-in-progress') {
        const found = await client.call('pipeline.status').then(
          ({ run: r }) => r,
          () => null,
        );
        await graphLoad.current;
        if (found) adopt(found);
      }
    }
  };

  // A test failing on what a rebuild from every date fills (a column a dimension just gained): the
  // table is dropped for it, then every date runs. A failure on the way leaves it to be built by the next run.
  const rebuild = async (table: string) => {
    if (
      !window.confirm(
        `Drop ${table} and build it again from every date (${project.availableDates.length})? ` +
          'Its surrogate keys are numbered afresh, and the facts that point at it are rewritten.',
      )
    )
      return;
    setError(null);
    try {
      await client.call('tables.drop', { table, rebuild: true });
    } catch (e) {
      setError(describeError(e));
      return;
    }
    await start({});
  };

  const cancel = async () => {
    const runId = runIdRef.current ?? (run.phase === 'running' ? run.runId : null);
    if (runId) await sendCancel(runId);
    else if (run.phase === 'starting') cancelWanted.current = true;
  };

  const running = run.phase === 'running' || run.phase === 'starting';
  const failingRows = run.phase === 'finished' ? rowsFromDetails(run.summary.error?.details) : [];
  const failingTypes = run.phase === 'finished' ? failingRowTypes(run.summary) : {};
  const failingColumns = Object.keys(failingRows[0] ?? {}).map((name) => ({
    name,
    type: failingTypes[name] ?? '',
  }));
  const edgeRows = useMemo(
    () => new Map((graph?.edges ?? []).map((e) => [`${e.from}->${e.to}`, e.rows])),
    [graph],
  );
  const focusedState = graph?.nodes.find((n) => n.model === focused);
  const failedModel = run.phase === 'finished' ? run.summary.error?.details?.model : undefined;
  const rebuildOffered = run.phase === 'finished' ? run.summary.error?.details?.rebuild : undefined;
  // The run that fixes the failure, when the engine names one: the button sets the toolbar to it.
  const offered = run.phase === 'finished' ? suggestedRunOf(run.summary.error?.details) : undefined;
  // Offered only when the toolbar can hold it: one date, or a range of days the project all has.
  const suggested =
    offered &&
    (!offered.dates || offered.dates.length === 1) &&
    daysOfRun(offered).every((d) => project.availableDates.includes(d))
      ? offered
      : undefined;
  const failureShownInDetails =
    failedModel === focused && (focusedState?.failedTests.some((t) => t.sample.length > 0) ?? false);
  const focusedModel = project.models.find((m) => m.id === focused);

  return (
    <section className="view pipeline-view">
      <div className="toolbar">
        {noDates && (
          <label
            className="field"
            title="No source of this project has day folders: give the ETL date to run."
          >
            ETL date
            <input
              type="date"
              data-testid="date-input"
              value={date}
              disabled={running}
              required
              onChange={(e) => setDate(e.target.value)}
            />
          </label>
        )}
        {!noDates && (
          <label className="field">
            Date
            <select
              data-testid="date-select"
              value={date}
              disabled={running}
              onChange={(e) => setDate(e.target.value)}
            >
              {project.availableDates.map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
              <option value={ALL_DATES}>all dates ({project.availableDates.length})</option>
              <option value={RANGE}>range…</option>
            </select>
          </label>
        )}
        {date === RANGE && (
          <>
            <label className="field">
              from
              <select data-testid="range-from" value={from} onChange={(e) => setFrom(e.target.value)}>
                {project.availableDates.map((d) => (
                  <option key={d}>{d}</option>
                ))}
              </select>
            </label>
            <label className="field">
              to
              <select data-testid="range-to" value={to} onChange={(e) => setTo(e.target.value)}>
                {project.availableDates.map((d) => (
                  <option key={d}>{d}</option>
                ))}
              </select>
            </label>
          </>
        )}
        <label className="field selection-field">
          Models
          <input
            data-testid="selection-input"
            value={selection}
            placeholder="all (or e.g. gold.dim_user+)"
            disabled={running}
            onChange={(e) => setSelection(e.target.value)}
          />
        </label>
        <button
          type="button"
          className="primary"
          data-testid="run-button"
          disabled={running || (noDates && !date)}
          onClick={() => void start()}
        >
          Run
        </button>
        <button type="button" data-testid="cancel-button" disabled={!running} onClick={cancel}>
          Cancel
        </button>
        <RunStatus run={run} />
      </div>
      {project.sourceError && (
        <p className="error" role="alert">
          {project.sourceError.code}: {project.sourceError.message}
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="pipeline-error">
          {error}
        </p>
      )}
      {run.phase === 'finished' && run.summary.error?.code === 'RUN_CANCELLED' && (
        <p className="notice" data-testid="run-cancelled">
          Run cancelled. {cancelledNote(run.summary)}
        </p>
      )}
      {run.phase === 'recorded' && (
        <RecordedRunOutcome
          entry={run.entry}
          // Its failing rows, as a run just finished lists them, unless the model's open details do.
          failedTests={(graph?.nodes ?? [])
            .filter((n) => n.runId === run.entry.runId && n.status === 'failed' && n.model !== focused)
            .flatMap((n) =>
              n.failedTests.filter((t) => t.severity === 'error').map((test) => ({ test, where: n.model })),
            )}
        />
      )}
      {run.phase === 'finished' && run.summary.error && run.summary.error.code !== 'RUN_CANCELLED' && (
        <div className="run-failure" data-testid="run-error">
          <p className="error" role="alert">
            {run.summary.error.code}: {run.summary.error.message}
          </p>
          {suggested && (
            <p>
              <button
                type="button"
                data-testid="suggested-run"
                onClick={() =>
                  showRequest(
                    suggested.from && suggested.from === suggested.to
                      ? { ...suggested, dates: [suggested.from] }
                      : suggested,
                  )
                }
              >
                Set up this run: {describeRun(suggested)}
              </button>
            </p>
          )}
          {typeof rebuildOffered === 'string' && (
            <p>
              <button type="button" data-testid="rebuild-table" onClick={() => void rebuild(rebuildOffered)}>
                Rebuild {rebuildOffered} from every date
              </button>
            </p>
          )}
          {/* The failed model's details, when open, already list these rows under its failing test. */}
          {failingRows.length > 0 && !failureShownInDetails && (
            <DataGrid
              columns={failingColumns}
              rows={failingRows as Record<string, never>[]}
              testId="failing-rows"
            />
          )}
        </div>
      )}
      <div className="graph-scroll" data-testid="pipeline-graph" ref={setGraphBox}>
        {layout && (
          <GraphCanvas
            layout={layout}
            models={project.models}
            cards={cards}
            edgeRows={edgeRows}
            focused={focused}
            onFocus={(id) => setFocused((prev) => (prev === id ? null : id))}
            available={available}
          />
        )}
      </div>
      {focusedModel && (
        <ModelDetails
          model={focusedModel}
          state={focusedState}
          onSelect={(selector) =>
            setSelection((prev) =>
              [...new Set([...prev.split(/[\s,]+/).filter(Boolean), selector])].join(' '),
            )
          }
        />
      )}
    </section>
  );
}

function GraphCanvas({
  layout,
  models,
  cards,
  edgeRows,
  focused,
  onFocus,
  available,
}: {
  available: { width: number; height: number };
  layout: GraphLayout;
  models: ModelInfo[];
  cards: Map<string, CardState>;
  edgeRows: Map<string, number | null>;
  focused: string | null;
  onFocus: (id: string) => void;
}) {
  const offsetY = LANE_HEADER + LANE_PAD;
  const offsetX = LANE_PAD;
  // Each lane is the band of columns its models were placed in.
  const lanes = LANES.map((layer) => {
    const xs = models
      .filter((m) => m.layer === layer)
      .map((m) => layout.nodes.get(m.id)?.x)
      .filter((x): x is number => x !== undefined);
    if (xs.length === 0) return null;
    const left = Math.min(...xs);
    const right = Math.max(...xs) + CARD_WIDTH;
    return { layer, left, right, count: xs.length };
  }).filter((lane) => lane !== null);
  const width = layout.width + 2 * LANE_PAD;
  const height = layout.height + offsetY + LANE_PAD;
  // Shrunk to fit the view (down to 55%, then it scrolls), so the whole pipeline shows at 1280x800 and
  // the example's fits a 900 px window too (at 60% its right-most cards sat just past the edge).
  const scale = Math.max(0.55, Math.min(1, (available.width - 4) / width, (available.height - 4) / height));
  return (
    <div style={{ width: width * scale, height: height * scale }}>
      <div
        className="graph-canvas"
        data-scale={scale.toFixed(2)}
        style={{ width, height, transform: `scale(${scale})`, transformOrigin: '0 0' }}
      >
        {lanes.map((lane) => (
          <div
            key={lane.layer}
            className={`graph-lane lane-${lane.layer}`}
            data-testid={`lane-${lane.layer}`}
            style={{ left: lane.left + offsetX - 8, width: lane.right - lane.left + 16, height }}
          >
            <h2 className="lane-title">
              {lane.layer} <span className="muted">({lane.count})</span>
            </h2>
          </div>
        ))}
        <svg className="graph-edges" width={width} height={height} aria-hidden="true">
          <defs>
            <marker
              id="arrow"
              viewBox="0 0 8 8"
              refX="7"
              refY="4"
              markerWidth="7"
              markerHeight="7"
              orient="auto"
            >
              <path d="M0,0 L8,4 L0,8 z" className="graph-arrow" />
            </marker>
          </defs>
          {layout.edges.map((edge) => {
            const points = edge.points.map((p) => `${p.x + offsetX},${p.y + offsetY}`).join(' ');
            const active = focused !== null && (edge.from === focused || edge.to === focused);
            return (
              <polyline
                key={edge.id}
                points={points}
                className={`graph-edge${active ? ' active' : ''}`}
                markerEnd="url(#arrow)"
              />
            );
          })}
        </svg>
        {layout.edges.map((edge) => {
          const rows = edgeRows.get(edge.id);
          if (rows === undefined || rows === null) return null;
          const at = layout.labels.get(edge.id);
          if (!at) return null;
          return (
            <span
              key={edge.id}
              className="edge-label"
              data-testid={`edge-label-${edge.id}`}
              data-rows={rows}
              title={`${edge.from} → ${edge.to}: ${rows.toLocaleString()} rows`}
              style={{ left: at.x + offsetX, top: at.y + offsetY }}
            >
              {compactNumber(rows)}
            </span>
          );
        })}
        {models.map((m) => {
          const node = layout.nodes.get(m.id);
          if (!node) return null;
          return (
            <ModelCard
              key={m.id}
              model={m}
              state={cards.get(m.id)}
              focused={focused === m.id}
              onFocus={() => onFocus(m.id)}
              style={{
                left: node.x + offsetX,
                top: node.y + offsetY,
                width: CARD_WIDTH,
                height: CARD_HEIGHT,
              }}
            />
          );
        })}
      </div>
    </div>
  );
}

/** A count in at most 5 characters, the room EDGE_LABEL keeps for it. */
function compactNumber(n: number): string {
  if (n >= 1_000_000_000) return `${(n / 1_000_000_000).toFixed(n >= 10_000_000_000 ? 0 : 1)}B`;
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(n >= 10_000_000 ? 0 : 1)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  return n.toLocaleString();
}

function RunStatus({ run }: { run: RunState }) {
  let text = 'idle';
  let status = 'idle';
  if (run.phase === 'starting') [text, status] = ['starting…', 'running'];
  if (run.phase === 'running') [text, status] = [`running ${run.done}/${run.total}`, 'running'];
  if (run.phase === 'finished') {
    const { summary } = run;
    status = summary.status;
    const dates =
      summary.status === 'success'
        ? dateCount(summary.dates.length)
        : `${committedDates(summary).length} of ${dateCount(summary.dates.length)} committed`;
    text = `${summary.status} · ${dates} · ${formatDuration(summary.durationMs)}`;
  }
  if (run.phase === 'recorded') {
    const { entry } = run;
    status = entry.status;
    const dates = datesOf(entry);
    const committed = committedDates({ dates, models: entry.models }).length;
    const datesText =
      entry.status === 'success'
        ? dateCount(dates.length)
        : `${committed} of ${dateCount(dates.length)} committed`;
    text = `${entry.status} · ${datesText} · latest run`;
  }
  return (
    <span className="run-status-wrap">
      {/* A live region, there before a run starts: screen readers say each step of a run as it goes. */}
      <span
        className={`run-status status-${status}`}
        role="status"
        data-testid="run-status"
        data-status={status}
      >
        {text}
      </span>
      {run.phase === 'running' && run.total > 0 && (
        <progress
          className="run-progress"
          aria-label="Run progress"
          max={run.total}
          value={run.done}
          data-testid="run-progress"
        />
      )}
    </span>
  );
}

/** A run history entry's dates: stored comma-separated. */
function datesOf(entry: RunHistoryEntry): string[] {
  return entry.dates.split(',').filter(Boolean);
}

/**
 * The outcome of the latest run, read from the run history: which dates it ran and when it ended, and
 * its error with its code (or the cancel) as a run just finished shows it.
 */
function RecordedRunOutcome({ entry, failedTests }: { entry: RunHistoryEntry; failedTests: FailedTest[] }) {
  const dates = datesOf(entry);
  const outcome = entry.status === 'success' ? 'succeeded' : entry.status;
  // The engine's wall clock, to the second, with its zone: the browser's may be another.
  const ended = entry.finishedAt ? ` at ${runClockText(entry.finishedAt)}` : '';
  const when = `Latest run ${entry.runId}${dates.length > 0 ? ` (${describeRun(runOfDates(dates))})` : ''} ${outcome}${ended}`;
  // A success needs no box: one quiet line, so the graph keeps its room.
  if (entry.status === 'success') {
    return (
      <p className="muted run-recorded" data-testid="run-recorded">
        {when}.
      </p>
    );
  }
  if (!entry.error) return null;
  if (entry.status === 'cancelled') {
    return (
      <p className="notice" data-testid="run-cancelled">
        {when}: {entry.error}
      </p>
    );
  }
  // Its code, as a run just finished shows it; a run an earlier version recorded kept only the message.
  const code = entry.errorCode ? ` with ${entry.errorCode}` : '';
  return (
    <div className="run-failure" data-testid="run-error">
      <p className="error" role="alert">
        {when}
        {code}: {entry.error}
      </p>
      <FailedTestList tests={failedTests} />
    </div>
  );
}

/**
 * A card's status in words: a model a cancel or an earlier failure kept from running reads "not run",
 * not "skipped" plus its reason, which a card has no room for (it is on hover and in the details).
 */
function statusLabel(status: string, error: string | null | undefined): string {
  if (status === 'skipped' && error?.startsWith('not run')) return 'not run';
  return status.replace(/_/g, ' ');
}

export function ModelCard({
  model,
  state,
  focused,
  onFocus,
  style,
}: {
  model: ModelInfo;
  state: CardState | undefined;
  focused: boolean;
  onFocus: () => void;
  style: CSSProperties;
}) {
  const status = state?.status ?? 'never run';
  const tests = (state?.testsPassed ?? 0) + (state?.testsFailed ?? 0) + (state?.testsWarned ?? 0);
  const error = state?.error ?? null;
  const about = model.description ? `${model.id}: ${model.description}` : model.id;
  return (
    <button
      type="button"
      className={`model-card graph-card status-${status.replace(/\s+/g, '-')}${focused ? ' focused' : ''}`}
      data-testid={`model-card-${model.id}`}
      data-status={status}
      title={error ? `${about}\n${error}` : about}
      style={style}
      // A click shows the model's details below the graph, a second hides them: say which.
      aria-expanded={focused}
      aria-controls={focused ? 'model-details' : undefined}
      onClick={onFocus}
    >
      <span className="card-head">
        <span className="card-name">{model.name}</span>
        <CardNotes notes={state?.notes} />
      </span>
      <span className="card-meta">
        <span className="card-status" data-testid="card-status" title={error ?? undefined}>
          {statusLabel(status, error)}
        </span>
        <CardRows state={state} />
      </span>
      <span className="card-meta">
        <span className="muted">{model.materialized}</span>
        {state?.durationMs !== undefined && (
          <span className="muted card-duration" title={formatDuration(state.durationMs)}>
            {formatDuration(state.durationMs)}
          </span>
        )}
        {tests > 0 && (
          <span
            data-testid="card-tests"
            title={`data tests: ${state?.testsPassed} passed, ${state?.testsFailed ?? 0} failed, ${state?.testsWarned ?? 0} warned`}
            className={state?.testsFailed ? 'tests-failed' : state?.testsWarned ? 'tests-warned' : 'tests-ok'}
          >
            {/* Signs, not words: "· 1 failed" left no room on the card and was cut; the title says it in words. */}
            ✓ {state?.testsPassed}/{tests}
            {state?.testsFailed ? ` ✗ ${state.testsFailed}` : ''}
            {state?.testsWarned ? ` ⚠ ${state.testsWarned}` : ''}
          </span>
        )}
      </span>
    </button>
  );
}

/**
 * That the latest run left notes on the model (a catalog with titles that share a slug, dates matched
 * against an earlier catalog, rows quarantined...): a run that succeeds says nothing else of them, and
 * they are listed only in the model's details, which a user opens from here.
 */
function CardNotes({ notes }: { notes: GraphNote[] | undefined }) {
  if (!notes || notes.length === 0) return null;
  const title = [
    `${notes.length} ${inNumber(notes.length, 'note')} from the latest run; click for the details:`,
    ...notes.map((n) => `${n.etlDate ? `${noteDates(n)}: ` : ''}${n.text}`),
  ].join('\n');
  return (
    <span className="card-notes" data-testid="card-notes" data-count={notes.length} title={title}>
      {/* An "i" drawn in a circle, not the ⓘ sign, which Chromium's fonts on Linux may lack (an empty box);
          and small, not "2 notes", which cut the model's name on the card. */}
      <span className="card-notes-icon" aria-hidden="true">
        i
      </span>
      {notes.length}
      <span className="card-notes-words">{notes.length === 1 ? ' note' : ' notes'}</span>
    </span>
  );
}

/** The rows the model's table holds now; while a run goes on, what it just wrote. */
function CardRows({ state }: { state: CardState | undefined }) {
  if (typeof state?.tableRows === 'number') {
    const lastRun =
      state.rowsWritten !== undefined
        ? `; its latest run wrote ${state.rowsWritten.toLocaleString()} over ${dateCount(state.datesRun ?? 0)}`
        : '';
    return (
      <span data-testid="card-rows" data-rows={state.tableRows} title={`rows in the table now${lastRun}`}>
        {state.tableRows.toLocaleString()} rows
      </span>
    );
  }
  if (state?.replaysOn) {
    // Its 0 rows are no empty result: the history waits for the run's one replay, on a later date.
    return (
      <span
        data-testid="card-rows"
        title={`history kept as it was on this date: this run replays it once, on ${state.replaysOn}, with every date it changes`}
      >
        replay on {state.replaysOn.slice(5)}
      </span>
    );
  }
  if (state?.rowsWritten === undefined) return null;
  return (
    <span data-testid="card-rows" title="rows written by this date of the run, not yet committed">
      {state.rowsWritten.toLocaleString()} written
    </span>
  );
}

/**
 * A model without tests has none, rather than "0 passed", which reads as if its tests had all failed;
 * one that failed before its tests ran says so, not that it has none.
 */
function testsInWords(state: GraphNodeState): string {
  if (state.testsPassed + state.testsFailed + state.testsWarned === 0) {
    return state.status === 'success' ? 'no data tests' : 'tests not run';
  }
  return [
    `tests: ${state.testsPassed} passed`,
    state.testsFailed > 0 ? `${state.testsFailed} failed` : '',
    state.testsWarned > 0 ? `${state.testsWarned} warned` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

export function ModelDetails({
  model,
  state,
  onSelect,
}: {
  model: ModelInfo;
  state: GraphNodeState | undefined;
  onSelect: (selector: string) => void;
}) {
  return (
    <div className="model-details" id="model-details" data-testid="model-details">
      <div className="toolbar">
        <strong>{model.id}</strong>
        <span className="muted">
          {model.materialized}
          {state
            ? ` · run ${state.runId}${state.dates.length > 0 ? ` · ${state.dates.join(', ')}` : ''}`
            : ' · never run'}
        </span>
        <button type="button" data-testid="select-model" onClick={() => onSelect(model.id)}>
          Select for run
        </button>
        <button type="button" data-testid="select-downstream" onClick={() => onSelect(`${model.id}+`)}>
          Select with downstream
        </button>
      </div>
      {model.description && <p className="muted model-description">{model.description}</p>}
      {state && (
        <p className="muted" data-testid="model-run-figures">
          {state.tableRows === null ? 'not committed yet' : `${state.tableRows.toLocaleString()} rows now`} ·{' '}
          {/* Figures of the run that last ran it, when the latest run did not (the notice below says so). */}
          {state.notRun ? `run ${state.runId}` : 'latest run'}:{' '}
          {/* A run that failed or rolled back on every date kept nothing: not "read 0, wrote 0 over 0 dates". */}
          {state.dates.length > 0
            ? `read ${state.rowsIn.toLocaleString()}, wrote ${state.rowsOut.toLocaleString()} over ${dateCount(state.dates.length)}`
            : `${state.status.replace(/_/g, ' ')}, committed no date`}{' '}
          in {formatDuration(state.durationMs)} · {testsInWords(state)}
        </p>
      )}
      {state?.notRun && (
        <p className="notice" data-testid="model-not-run">
          Not run by the latest run ({state.notRun.runId}):{' '}
          {sentence(state.notRun.reason.replace(/^not run: /, ''))} It keeps what run {state.runId} left,
          shown above.
        </p>
      )}
      {state && <DateAccountingList state={state} />}
      {/* A model failed by its tests has the tests' summary as its error: the list below says it. */}
      {state?.error && !state.failedTests.some((t) => t.severity === 'error') && (
        <p className="error">{state.error}</p>
      )}
      <FailedTestList tests={(state?.failedTests ?? []).map((test) => ({ test }))} />
      {state && state.notes.length > 0 && <NoteList notes={state.notes} testId="model-notes" />}
    </div>
  );
}

/** `1 duplicate`, `3 duplicates`, as the CLI's accounting lines count them. */
function duplicates(count: number): string {
  return `${count.toLocaleString()} duplicate${count === 1 ? '' : 's'}`;
}

/** A reason ending as a sentence, before the one that follows it. */
function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function rowCount(count: number): string {
  return `${count.toLocaleString()} row${count === 1 ? '' : 's'}`;
}

/**
 * Each date's row accounting in the model's latest run, as the CLI prints it: for a model with
 * reconcile_with, its upstream's rows = rows written + duplicates + quarantined (a date that failed
 * says by how much it does not add up); for another, only when a date removed or quarantined rows.
 */
export function DateAccountingList({ state }: { state: GraphNodeState }) {
  // A date the run never reached (skipped) counted nothing.
  const dates = state.perDate.filter((d) => d.status !== 'skipped');
  const upstream = state.reconcileWith;
  if (!upstream && !dates.some((d) => d.duplicatesRemoved > 0 || d.quarantined > 0)) return null;
  if (dates.length === 0) return null;
  return (
    <ul className="date-accounting" data-testid="model-accounting" aria-label="Row accounting per date">
      {dates.map((d) => {
        const accounted = d.rowsOut + d.duplicatesRemoved + d.quarantined;
        const status = d.status === 'success' ? '' : ` (${d.status.replace(/_/g, ' ')})`;
        const parts = `${d.rowsOut.toLocaleString()} + ${duplicates(d.duplicatesRemoved)} + ${d.quarantined.toLocaleString()} quarantined`;
        const text = upstream
          ? `${upstream} ${d.rowsIn.toLocaleString()} ${d.rowsIn === accounted ? '=' : '≠'} ${state.model} ${parts}` +
            (d.rowsIn === accounted ? '' : `: off by ${rowCount(Math.abs(d.rowsIn - accounted))}`)
          : `read ${d.rowsIn.toLocaleString()}, wrote ${parts}`;
        return (
          <li key={d.etlDate} data-date={d.etlDate} data-status={d.status}>
            {d.etlDate}
            {status}: {text}
          </li>
        );
      })}
    </ul>
  );
}
