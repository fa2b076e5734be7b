import type { CSSProperties } from 'react';
import type { GraphNote, ModelInfo } from '../../../../engine/api/contract.ts';
import { inNumber } from '../../../../engine/api/counted.ts';
import { noteDates } from '../../../../engine/api/notes.ts';
import { dateCount, formatDuration } from '../../run-summary.ts';
import type { CardState } from './cards.ts';

/**
 * A card's status in words: a model a cancel or an earlier failure kept from running reads "not run",
 * not "skipped" plus its reason, which a card has no room for (it is on hover and in the details).
 */
function statusLabel(status: string, error: string | null | undefined): string {
  if (status === 'skipped' && error?.startsWith('not run')) return 'not run';
  return status.replace(/_/g, ' ');
}

/** A model's card in the graph: name, notes, status, rows, materialization, duration and tests. */
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
