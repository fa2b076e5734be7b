import type { GraphNodeState, ModelInfo } from '../../../../engine/api/contract.ts';
import { FailedTestList } from '../../components/FailedTestList.tsx';
import { NoteList } from '../../components/NoteList.tsx';
import { dateCount, formatDuration } from '../../run-summary.ts';

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

/**
 * The focused model's details below the graph: its latest run's figures, why the latest run left it out,
 * each date's row accounting, its failed tests with their rows, its notes; and buttons to select it for a run.
 */
export function ModelDetails({
  model,
  state,
  onSelect,
  onClose,
}: {
  model: ModelInfo;
  state: GraphNodeState | undefined;
  onSelect: (selector: string) => void;
  /** Hides the details (as a second click on the model's card does); without it, no close button. */
  onClose?: () => void;
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
        {onClose && (
          <>
            <span className="toolbar-spacer" />
            <button
              type="button"
              className="details-close"
              data-testid="model-details-close"
              aria-label={`Close the details of ${model.id}`}
              title="Close (Esc)"
              onClick={onClose}
            >
              ×
            </button>
          </>
        )}
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
