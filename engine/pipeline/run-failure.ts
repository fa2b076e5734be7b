// How a failed run is told: the error when models are out of the graph, and what a failure part-way says
// of the dates it committed and the history replays it left undone. Kept apart from the run's steps.

import { describeRun, LakehouseError, runOfDates } from '../api/errors.ts';
import type { Db } from '../db/duckdb.ts';
import { emptyRecord } from './run-records.ts';
import type { ModelRunRecord } from './run-types.ts';

/**
 * A run of several dates that fails part-way keeps the dates it committed before: its error says which
 * those are and which it never ran, as a cancel's does, so the history does not read as nothing done.
 */
export function withDatesAccounted(
  failure: LakehouseError,
  dates: string[],
  committed: string[],
): LakehouseError {
  if (committed.length === 0 || committed.length >= dates.length) return failure;
  const failedOn = dates[committed.length]!;
  const notRun = dates.slice(committed.length + 1);
  return new LakehouseError(
    failure.code,
    `${failure.message} Of this run's dates, ${describeRun(runOfDates(committed))} had been committed and stay; ` +
      `${failedOn} was not` +
      (notRun.length > 0 ? `, and ${describeRun(runOfDates(notRun))} did not run` : '') +
      '.',
    { ...failure.details, committedDates: committed, notRunDates: notRun },
  );
}

/**
 * A history model leaves the dates of a run before its replay date as they were (see applyHistory): a
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
  const replay = runOfDates([dates.at(-1)!], models);
  return new LakehouseError(
    failure.code,
    `${failure.message} Note: ${models.join(', ')} ${models.length === 1 ? 'was' : 'were'} to replay ` +
      `${models.length === 1 ? 'its' : 'their'} history after ${describeRun(runOfDates(dates))}, but the run ` +
      `stopped first: ${models.length === 1 ? 'it holds' : 'they hold'} what the previous input of those ` +
      `dates gave until their next run, which replays first; run ${describeRun(replay)} to replay it now.`,
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
