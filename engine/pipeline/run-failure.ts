// How a failed or cancelled run is told: its error, each model's record on the failed date, and what it
// says of the dates committed and the history replays left undone. Kept apart from the run's steps.

import { counted } from '../api/counted.ts';
import { describeRun, LakehouseError, runOfDates } from '../api/errors.ts';
import type { Db } from '../db/duckdb.ts';
import type { ModelGraph } from '../graph/dependencies.ts';
import { emptyRecord } from './run-records.ts';
import type { ModelRunRecord, RunningModel } from './run-types.ts';

/**
 * `message` and then `sentence`: on the same line after a one-line message, on a line of its own after
 * one of several lines, which may end with a quoted header, a YAML caret or DuckDB's hints.
 */
function followedBy(message: string, sentence: string): string {
  if (message.includes('\n')) return `${message}\n${sentence}`;
  // DuckDB's messages end with no stop: "... boom on 2022-06-03 Of this run's dates" read as one sentence.
  return `${message}${/[.!?]$/.test(message) ? '' : '.'} ${sentence}`;
}

/**
 * A run of several dates that fails part-way keeps the dates it committed before: its error says which
 * those are and which it never ran, as a cancel's does, so the history does not read as nothing done.
 */
export function withDatesAccounted(
  failure: LakehouseError,
  dates: string[],
  committed: string[],
): LakehouseError {
  if (committed.length >= dates.length) return failure;
  const failedOn = dates[committed.length]!;
  const notRun = dates.slice(committed.length + 1);
  // A one-date run's error already says its date was not committed; a range stopped on its first date
  // must still say the later dates never ran, or "failed" reads as if they had been tried.
  if (committed.length === 0 && notRun.length === 0) return failure;
  const sentence =
    committed.length === 0
      ? `Of this run's dates, ${failedOn} was not committed and ${describeRun(runOfDates(notRun))} did not run.`
      : `Of this run's dates, ${describeRun(runOfDates(committed))} had been committed and stay; ` +
        `${failedOn} was not` +
        (notRun.length > 0 ? `, and ${describeRun(runOfDates(notRun))} did not run` : '') +
        '.';
  return new LakehouseError(failure.code, followedBy(failure.message, sentence), {
    ...failure.details,
    committedDates: committed,
    notRunDates: notRun,
  });
}

/**
 * A history model leaves the dates of a run before its replay date as they were (see applyHistory; an
 * SCD1 dimension only inserts the members they bring, see scd1.ts): a
 * run stopped before that date committed them without the replay, so the table holds what their previous
 * input gave until the model's next run, which replays first. The replays owed are the ones recorded in
 * _lakehouse.history_pending, committed with those dates. Said on the run's error, with a run that
 * replays it now (the last such date, those models alone), in words only: the error's own suggested run,
 * if any, fixes what stopped the run.
 */
export async function withReplayLeftUndone(db: Db, failure: LakehouseError): Promise<LakehouseError> {
  const owed = await db
    .all<{ model: string; d: string }>(
      `SELECT DISTINCT model, strftime(etl_date, '%Y-%m-%d') AS d FROM _lakehouse.history_pending ORDER BY ALL`,
    )
    .catch(() => []);
  if (owed.length === 0) return failure;
  const models = [...new Set(owed.map((o) => o.model))];
  const dates = [...new Set(owed.map((o) => o.d))].sort();
  const one = models.length === 1;
  return new LakehouseError(
    failure.code,
    followedBy(
      failure.message,
      // The models are named once: a second list of them (in the run to do) doubled a long note.
      `Note: ${models.join(', ')} ${one ? 'was' : 'were'} to replay ` +
        `every date in order after ${describeRun(runOfDates(dates))}, but the run ` +
        `stopped first: ${one ? 'it holds' : 'they hold'} what the previous input of those ` +
        `dates gave until their next run, which replays first; run ${dates.at(-1)} with ` +
        `${one ? 'that model' : 'those models'} alone to replay it now.`,
    ),
    { ...failure.details, historyNotReplayed: { models, dates } },
  );
}

/** The error a run fails with when models are out of the graph: the one error, or all of them. */
export function brokenModelsFailure(errors: LakehouseError[]): LakehouseError {
  const [first, ...others] = errors;
  if (!first) throw new LakehouseError('INTERNAL', 'no model error to report');
  if (others.length === 0) return first;
  return new LakehouseError(
    first.code,
    `${errors.length} problems must be fixed before a run:\n  ${errors.map((e) => e.message.replaceAll('\n', '\n  ')).join('\n  ')}`,
    { ...first.details, errors: errors.map((e) => e.toPayload()) },
  );
}

/** The broken models as failed on `date`, each with its own error, and the selected others as not run. */
export function brokenModelRecords(
  errors: LakehouseError[],
  selected: string[],
  date: string,
  failure: LakehouseError,
): ModelRunRecord[] {
  const broken = new Map<string, string>();
  for (const error of errors) {
    const { model, models } = error.details;
    const ids = typeof model === 'string' ? [model] : Array.isArray(models) ? models.map(String) : [];
    for (const id of ids) if (!broken.has(id)) broken.set(id, error.message);
  }
  const headline = failure.message.split('\n')[0] ?? failure.message;
  return [
    ...[...broken].map(([id, message]) => emptyRecord(id, date, 'failed', message)),
    ...selected
      .filter((id) => !broken.has(id))
      .map((id) => emptyRecord(id, date, 'skipped', `not run: ${headline}`)),
  ];
}

/** A bad source fails the models that read it; the rest of the date did not run. */
export function sourceFailureRecords(
  graph: ModelGraph,
  selected: string[],
  date: string,
  failure: LakehouseError,
): ModelRunRecord[] {
  const failedSource = typeof failure.details.source === 'string' ? failure.details.source : undefined;
  const headline = failure.message.split('\n')[0] ?? failure.message;
  return selected.map((id) => {
    const reads = failedSource !== undefined && graph.byId.get(id)?.sources.includes(failedSource);
    return emptyRecord(id, date, reads ? 'failed' : 'skipped', reads ? headline : `not run: ${headline}`);
  });
}

/** The error of a date on which models ran and an error-severity test failed: nothing of it is committed. */
export function testFailure(graph: ModelGraph, date: string, failures: ModelRunRecord[]): LakehouseError {
  const first = failures[0]!;
  const failedTest = first.tests.find((t) => !t.passed && t.severity === 'error');
  return new LakehouseError(
    'TEST_FAILED',
    `${first.model} failed on ${date}: ${first.error}` +
      (failures.length > 1 ? ` (and ${counted(failures.length - 1, 'more failure')})` : '') +
      `. Nothing of ${date} was committed. Fix ${graph.byId.get(first.model)?.model.file ?? 'the model'} or its input; ` +
      'the failing rows are shown below and kept in the run history.' +
      // E.g. a column the table just gained explains NULLs a test finds in rows the date did not write.
      (first.testHints?.notes ?? []).map((w) => ` Note: ${w}.`).join(''),
    {
      model: first.model,
      etlDate: date,
      test: failedTest?.name,
      failingRows: failedTest?.sample ?? [],
      // The table to drop for a rebuild from every date, when that fills what the test finds missing.
      ...(first.testHints?.rebuild ? { rebuild: first.model } : {}),
    },
  );
}

/** The error of the model a cancel stopped while it ran, rolled back with the models before it. */
export const CANCELLED_WHILE_RUNNING = 'cancelled while running';

/**
 * The records of a date rolled back by `failure`: what ran before it was rolled back with it, what did
 * not run is skipped, and the model (or the models reading the source) the failure names failed. The
 * model `running` when a cancel stopped it is rolled back too, as it is when the cancel lands just after
 * it returned: not "not run", which the pipeline graph reads as a model that keeps its previous run.
 */
export function accountForFailedDate(
  graph: ModelGraph,
  selected: string[],
  date: string,
  dateRecords: ModelRunRecord[],
  failure: LakehouseError,
  running?: RunningModel,
): void {
  for (const record of dateRecords) {
    if (record.status === 'success') record.status = 'rolled_back';
  }
  for (const id of selected) {
    if (dateRecords.some((r) => r.model === id)) continue;
    if (failure.code === 'RUN_CANCELLED' && id === running?.model) {
      const stopped = emptyRecord(id, date, 'rolled_back', CANCELLED_WHILE_RUNNING);
      dateRecords.push({ ...stopped, durationMs: Date.now() - running.started });
    } else {
      dateRecords.push(emptyRecord(id, date, 'skipped', `not run: ${failure.message.split('\n')[0]}`));
    }
  }
  if (failure.code !== 'RUN_CANCELLED') {
    // The model that failed (also with TEST_FAILED, which a materializer's key check raises before
    // the model has a record), or every model reading the source found unreadable.
    const source = typeof failure.details.source === 'string' ? failure.details.source : undefined;
    for (const r of dateRecords) {
      const culprit =
        r.model === failure.details.model ||
        (source !== undefined && graph.byId.get(r.model)?.sources.includes(source));
      if (r.status === 'skipped' && culprit) {
        r.status = 'failed';
        r.error = failure.message;
        if (r.model === failure.details.model) Object.assign(r, countsOf(failure.details));
        // The model that threw ran until then: its record showed 0 ms whatever it took.
        if (r.model === running?.model) r.durationMs = Date.now() - running.started;
      }
    }
  }
}

/**
 * The row counts a failure names for its model (ACCOUNTING_MISMATCH counts every row before it fails):
 * its record keeps them, or the history would show the failed date as 0 rows read and written.
 */
const COUNTS = ['rowsIn', 'rowsOut', 'duplicatesRemoved', 'quarantined'] as const;
function countsOf(details: Record<string, unknown>): Partial<Record<(typeof COUNTS)[number], number>> {
  const counts: Partial<Record<(typeof COUNTS)[number], number>> = {};
  for (const key of COUNTS) {
    const value = details[key];
    if (typeof value === 'number') counts[key] = value;
  }
  return counts;
}

/** A cancel's error: the dates it had committed stay, the unfinished one was not committed. */
export function runCancelled(committed: string[]): LakehouseError {
  return new LakehouseError(
    'RUN_CANCELLED',
    `The run was cancelled; ${committed.length > 0 ? `${committed.join(', ')} had been committed, ` : ''}nothing of the unfinished date was committed.`,
  );
}
