import { useCallback, useEffect, useRef, useState } from 'react';
import type {
  Layer,
  ModelInfo,
  ProjectInfo,
  RunHistoryModel,
  RunSummary,
} from '../../../engine/api/contract.ts';
import type { Client } from '../api/client.ts';
import { DataGrid } from '../components/DataGrid.tsx';
import { describeError } from '../connect.ts';

const LANES: Layer[] = ['bronze', 'silver', 'gold'];
const ALL_DATES = '__all__';

/** What a model card shows: its last status and, once done, its rows and duration. */
interface CardState {
  status: string;
  rowsOut?: number;
  durationMs?: number;
  etlDate?: string | null;
  error?: string | null;
}

type RunState =
  | { phase: 'idle' }
  | { phase: 'starting' }
  | { phase: 'running'; runId: string | null; done: number; total: number }
  | { phase: 'finished'; summary: RunSummary };

/** Per model, the record of the latest date in one run. */
function latestPerModel(records: RunHistoryModel[]): Map<string, CardState> {
  const byModel = new Map<string, CardState>();
  for (const r of records) {
    const seen = byModel.get(r.model);
    if (seen && (seen.etlDate ?? '') > (r.etlDate ?? '')) continue;
    byModel.set(r.model, {
      status: r.status,
      rowsOut: r.rowsOut,
      durationMs: r.durationMs,
      etlDate: r.etlDate,
      error: r.error,
    });
  }
  return byModel;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function rowsFromDetails(details: Record<string, unknown> | undefined): Record<string, unknown>[] {
  const rows = details?.failingRows;
  return Array.isArray(rows)
    ? rows.filter((r): r is Record<string, unknown> => !!r && typeof r === 'object')
    : [];
}

/** The model graph in bronze/silver/gold lanes, with a run control and live statuses. */
export function PipelineView({ client, project }: { client: Client; project: ProjectInfo }) {
  const [cards, setCards] = useState<Map<string, CardState>>(new Map());
  const [date, setDate] = useState<string>(project.availableDates.at(-1) ?? ALL_DATES);
  const [run, setRun] = useState<RunState>({ phase: 'idle' });
  const [error, setError] = useState<string | null>(null);
  const runIdRef = useRef<string | null>(null);

  const loadHistory = useCallback(async () => {
    try {
      const { runs } = await client.call('runs.list', { limit: 1 });
      setCards(latestPerModel(runs[0]?.models ?? []));
    } catch (e) {
      setError(describeError(e));
    }
  }, [client]);

  useEffect(() => {
    void loadHistory();
    const off = client.onEvent((event) => {
      if (event.type === 'run.progress') {
        const { kind, model, record } = event;
        if (kind === 'run-start') {
          runIdRef.current = event.runId;
          setCards((prev) => new Map([...prev].map(([id, c]) => [id, { ...c, status: 'queued' }])));
        }
        if (kind === 'model-start' && model) {
          setCards((prev) => new Map(prev).set(model, { ...prev.get(model), status: 'running' }));
        }
        if (kind === 'model-done' && record) {
          setCards((prev) =>
            new Map(prev).set(record.model, {
              status: record.status,
              rowsOut: record.rowsOut,
              durationMs: record.durationMs,
              etlDate: record.etlDate,
              error: record.error ?? null,
            }),
          );
        }
        setRun({ phase: 'running', runId: event.runId, done: event.done, total: event.total });
      } else {
        runIdRef.current = null;
        setRun({ phase: 'finished', summary: event.summary });
        // Models the run never reached keep their previous state rather than "queued".
        setCards(
          (prev) =>
            new Map(
              [...prev].map(([id, c]) => [id, c.status === 'queued' ? { ...c, status: 'not run' } : c]),
            ),
        );
      }
    });
    return off;
  }, [client, loadHistory]);

  const start = async () => {
    setError(null);
    setRun({ phase: 'starting' });
    try {
      // Subscribe before starting so no progress event is missed.
      await client.ready();
      const started = await client.call('pipeline.run', date === ALL_DATES ? {} : { dates: [date] });
      runIdRef.current = started.runId;
      setRun((prev) =>
        prev.phase === 'starting'
          ? { phase: 'running', runId: started.runId, done: 0, total: started.total }
          : prev,
      );
    } catch (e) {
      setError(describeError(e));
      setRun({ phase: 'idle' });
    }
  };

  const cancel = async () => {
    const runId = runIdRef.current ?? (run.phase === 'running' ? run.runId : null);
    if (!runId) return;
    try {
      await client.call('pipeline.cancel', { runId });
    } catch (e) {
      setError(describeError(e));
    }
  };

  const running = run.phase === 'running' || run.phase === 'starting';
  const byLane = (layer: Layer) => project.models.filter((m) => m.layer === layer);
  const failingRows = run.phase === 'finished' ? rowsFromDetails(run.summary.error?.details) : [];
  const failingColumns = Object.keys(failingRows[0] ?? {}).map((name) => ({ name, type: '' }));

  return (
    <section className="view pipeline-view">
      <div className="toolbar">
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
          </select>
        </label>
        <button type="button" className="primary" data-testid="run-button" disabled={running} onClick={start}>
          Run
        </button>
        <button type="button" data-testid="cancel-button" disabled={!running} onClick={cancel}>
          Cancel
        </button>
        <RunStatus run={run} />
      </div>
      {project.sourceError && (
        <p className="error">
          {project.sourceError.code}: {project.sourceError.message}
        </p>
      )}
      {error && (
        <p className="error" data-testid="pipeline-error">
          {error}
        </p>
      )}
      {run.phase === 'finished' && run.summary.error && (
        <div className="run-failure" data-testid="run-error">
          <p className="error">
            {run.summary.error.code}: {run.summary.error.message}
          </p>
          {failingRows.length > 0 && (
            <DataGrid
              columns={failingColumns}
              rows={failingRows as Record<string, never>[]}
              testId="failing-rows"
            />
          )}
        </div>
      )}
      <div className="lanes">
        {LANES.map((layer) => (
          <div key={layer} className={`lane lane-${layer}`} data-testid={`lane-${layer}`}>
            <h2 className="lane-title">
              {layer} <span className="muted">({byLane(layer).length})</span>
            </h2>
            {byLane(layer).map((m) => (
              <ModelCard key={m.id} model={m} state={cards.get(m.id)} />
            ))}
          </div>
        ))}
      </div>
    </section>
  );
}

function RunStatus({ run }: { run: RunState }) {
  let text = 'idle';
  let status = 'idle';
  if (run.phase === 'starting') [text, status] = ['starting…', 'running'];
  if (run.phase === 'running') [text, status] = [`running ${run.done}/${run.total}`, 'running'];
  if (run.phase === 'finished') {
    status = run.summary.status;
    text = `${run.summary.status} · ${run.summary.dates.length} date(s) · ${formatDuration(run.summary.durationMs)}`;
  }
  return (
    <span className={`run-status status-${status}`} data-testid="run-status" data-status={status}>
      {text}
    </span>
  );
}

function ModelCard({ model, state }: { model: ModelInfo; state: CardState | undefined }) {
  const status = state?.status ?? 'never run';
  return (
    <article
      className={`model-card status-${status.replace(/\s+/g, '-')}`}
      data-testid={`model-card-${model.id}`}
      data-status={status}
      title={model.description ?? model.id}
    >
      <header className="card-head">
        <span className="card-name">{model.name}</span>
        <span className="card-status" data-testid="card-status">
          {status}
        </span>
      </header>
      <div className="card-meta">
        <span className="muted">{model.materialized}</span>
        {state?.rowsOut !== undefined && (
          <span data-testid="card-rows">{state.rowsOut.toLocaleString()} rows</span>
        )}
        {state?.durationMs !== undefined && <span className="muted">{formatDuration(state.durationMs)}</span>}
      </div>
      {state?.error && (
        <p className="card-error" title={state.error}>
          {state.error}
        </p>
      )}
    </article>
  );
}
