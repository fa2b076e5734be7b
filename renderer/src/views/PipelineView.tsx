import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type {
  ActiveRunState,
  LakehouseEvent,
  PipelineGraph,
  ProjectInfo,
  RunInput,
  RunProgressEvent,
} from '../../../engine/api/contract.ts';
import { inNumber } from '../../../engine/api/counted.ts';
import { LakehouseError, type SuggestedRun } from '../../../engine/api/errors.ts';
import type { Client } from '../api/client.ts';
import type { GraphLayout } from '../components/graph-layout.ts';
import { describeError } from '../connect.ts';
import { cancelledNote } from '../run-summary.ts';
import { type CardState, cardFromGraph, cardFromRecord, cardsOfRun } from './pipeline/cards.ts';
import { GraphCanvas, layoutPipeline } from './pipeline/GraphCanvas.tsx';
import { ModelDetails } from './pipeline/ModelDetails.tsx';
import { RunFailure } from './pipeline/RunFailure.tsx';
import { RecordedRunOutcome, type RunState, RunStatus } from './pipeline/RunStatus.tsx';
import './explore.css';

const ALL_DATES = '__all__';
const RANGE = '__range__';
/**
 * Run history statuses of a run that ended, which a view shows on opening. Not `running`: a run this
 * server has in progress comes from pipeline.status, and one it does not know is no run to follow here.
 */
const ENDED = new Set(['success', 'failed', 'cancelled', 'aborted']);

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
export function PipelineView({
  client,
  project,
  onEditModel,
}: {
  client: Client;
  project: ProjectInfo;
  /** Opens a model in the editor's tab. */
  onEditModel?: (model: string) => void;
}) {
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
    layoutPipeline(project.models).then(
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

  // A run started elsewhere (another window, the editor) while this view is open: the toolbar says what
  // it runs, as for a run found on opening, not the date and models picked here. Runs this view starts
  // (their run-start may come before or after pipeline.run's answer) already show their request.
  const startingHere = useRef(false);
  const startedHere = useRef(new Set<string>());
  useEffect(
    () =>
      client.onEvent((event) => {
        if (event.type !== 'run.progress' || event.kind !== 'run-start') return;
        if (startingHere.current || startedHere.current.has(event.runId)) return;
        client.call('pipeline.status').then(
          ({ run: found }) => {
            if (found?.runId === event.runId) showRequest(found.request);
          },
          () => undefined,
        );
      }),
    [client, showRequest],
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
      startingHere.current = true;
      const started = await client
        .call('pipeline.run', request ?? runInput(date, from, to, selection))
        .finally(() => {
          startingHere.current = false;
        });
      startedHere.current.add(started.runId);
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
  const edgeRows = useMemo(
    () => new Map((graph?.edges ?? []).map((e) => [`${e.from}->${e.to}`, e.rows])),
    [graph],
  );
  const focusedState = graph?.nodes.find((n) => n.model === focused);
  // The failed model's details, when open, already list the failing rows under its failing test.
  const failureShownInDetails =
    run.phase === 'finished' &&
    run.summary.error?.details?.model === focused &&
    (focusedState?.failedTests.some((t) => t.sample.length > 0) ?? false);
  const focusedModel = project.models.find((m) => m.id === focused);
  // Closing the details (their × or Escape) gives the focus back to the card they were opened from: the
  // × goes with the panel, and a lost focus falls to the start of the page.
  const closeDetails = () => {
    if (focused === null) return;
    document.querySelector<HTMLElement>(`[data-testid="model-card-${CSS.escape(focused)}"]`)?.focus();
    setFocused(null);
  };
  // Escape closes them too, from the card, from inside them or from anywhere in the view, as it closes the
  // table explorer's profile; a field that used it (a select's open list) has prevented its default.
  const closeDetailsRef = useRef(closeDetails);
  closeDetailsRef.current = closeDetails;
  useEffect(() => {
    if (focused === null) return;
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented) return;
      event.preventDefault();
      closeDetailsRef.current();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [focused]);

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
      {project.brokenModels.length > 0 && (
        // Out of the graph below: said here with their errors, not left for a run to fail on.
        <div className="error" role="alert" data-testid="pipeline-broken-models">
          {inNumber(project.brokenModels.length, 'A model file does', 'Model files do')} not load, so the
          graph leaves {inNumber(project.brokenModels.length, 'it', 'them')} out and runs refuse until fixed:
          <ul>
            {project.brokenModels.map((m) => (
              <li key={m.id} data-testid="pipeline-broken-model">
                <strong>{m.id}</strong> {m.error.message}{' '}
                {onEditModel && m.layer !== 'bronze' && (
                  <button type="button" onClick={() => onEditModel(m.id)}>
                    Open in the editor
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
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
        <RunFailure
          summary={run.summary}
          availableDates={project.availableDates}
          rowsShownInDetails={failureShownInDetails}
          onSuggestedRun={showRequest}
          onRebuild={(table) => void rebuild(table)}
        />
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
          onClose={closeDetails}
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
