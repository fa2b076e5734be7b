import type { RunHistoryEntry, RunSummary } from '../../../../engine/api/contract.ts';
import { describeRun, runOfDates } from '../../../../engine/api/errors.ts';
import { runClockText } from '../../../../engine/api/run-clock.ts';
import { type FailedTest, FailedTestList } from '../../components/FailedTestList.tsx';
import { committedDates, dateCount, formatDuration } from '../../run-summary.ts';

/** Where the view's run stands, from idle to the outcome of the run that ended last. */
export type RunState =
  | { phase: 'idle' }
  // `adopted`: a run this view found starting when it opened (pipeline.status), not one it started.
  | { phase: 'starting'; adopted?: boolean }
  | { phase: 'running'; runId: string | null; done: number; total: number }
  | { phase: 'finished'; summary: RunSummary }
  // The latest run that ended, from the run history, when this view did not follow it (a reload, the app
  // reopened): its outcome, a success as much as a failure, stays in sight until the next run.
  | { phase: 'recorded'; entry: RunHistoryEntry };

/** The toolbar's one-line status (a live region) and, while a run goes, its progress bar. */
export function RunStatus({ run }: { run: RunState }) {
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
export function RecordedRunOutcome({
  entry,
  failedTests,
}: {
  entry: RunHistoryEntry;
  failedTests: FailedTest[];
}) {
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
