// The run command: a run with a progress bar and Ctrl-C/SIGTERM cancelling, then its summary per date
// (or one JSON object). Apart from main.ts, as publish and crawl are; demo and runs reuse its printing.

import { suggestedRunOf, toLakehouseError } from '../engine/api/errors.ts';
import type { Engine, RunHistoryEntry } from '../engine/engine.ts';
import type { ModelRunRecord, RunSummary } from '../engine/pipeline/runner.ts';
import { projectDirArg } from './args.ts';
import { COMMAND_OPTIONS } from './commands.ts';
import { type Flags, list, parse, str } from './flags.ts';
import { counted, errorText, formatDuration, renderTable, toJson, withProjectArg } from './format.ts';
import { reconcileWithOf, withEngine } from './open-project.ts';
import { byteUnits, createProgressBar } from './progress.ts';
import { cancelOnStopSignals } from './stop-signals.ts';

/**
 * Runs with a progress bar on stderr; Ctrl-C or SIGTERM cancels it, rolling back the current date. The
 * exit code: 0 for success, 130 or 143 (128 + the signal) for a run a stop signal cancelled, else 1.
 */
export async function runWithProgress(
  engine: Engine,
  options: Parameters<Engine['run']>[0],
  quiet = false,
): Promise<{ summary: RunSummary; exitCode: number }> {
  const bar = createProgressBar(process.stderr, !quiet);
  const controller = new AbortController();
  const stopSignals = cancelOnStopSignals(controller, 'Cancelling: the current date is rolled back ...');
  // S3 sources: bytes fetched into the local cache (silent when every object is already cached).
  const stopTransfers = engine.project.storage.onTransfer((p) => {
    if (p.totalBytes <= p.cachedBytes) return;
    const { unit, scale } = byteUnits(p.totalBytes);
    bar.update(scale(p.doneBytes), scale(p.totalBytes), `${unit} fetched from S3 for ${p.what}`);
  });
  try {
    const summary = await engine.run({
      ...options,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.kind === 'model-start') bar.update(e.done, e.total, `${e.date} ${e.model}`);
        if (e.kind === 'run-done') bar.update(e.done, e.total, 'done');
      },
    });
    const cancelled = summary.status === 'cancelled' ? stopSignals.cancelExitCode() : undefined;
    return { summary, exitCode: summary.status === 'success' ? 0 : (cancelled ?? 1) };
  } finally {
    // Cleared however the run ends: an error thrown after S3 progress was drawn would print onto its line.
    bar.done();
    stopTransfers();
    stopSignals.remove();
  }
}

/**
 * Row accounting of each model that reconciles with its upstream partition (reconcile_with), e.g.
 * `accounting: bronze.customer_search 3000 = silver.customer_search 2998 + 1 duplicate + 1 quarantined`.
 * `withDates` names each line's date, for a list of several dates with no date heading above it.
 */
export function accountingLines(
  reconcileWith: (model: string) => string | undefined,
  records: Pick<
    RunHistoryEntry['models'][number],
    'model' | 'etlDate' | 'status' | 'rowsIn' | 'rowsOut' | 'duplicatesRemoved' | 'quarantined'
  >[],
  withDates = false,
): string[] {
  const lines: string[] = [];
  for (const r of records) {
    const upstream = reconcileWith(r.model);
    if (!upstream || r.status !== 'success') continue;
    const label = withDates && r.etlDate ? `accounting (${r.etlDate})` : 'accounting';
    lines.push(
      `${label}: ${upstream} ${r.rowsIn} = ${r.model} ${r.rowsOut} + ${counted(r.duplicatesRemoved, 'duplicate')} + ${r.quarantined} quarantined`,
    );
  }
  return lines;
}

/**
 * A model's data tests on one date as `passed/total`, blank when it has none. Run history keeps them as
 * stored JSON (unknown[]), a fresh run as TestResults: both carry `passed`.
 */
export function testsCell(record: { tests: readonly unknown[] }): string {
  const passed = record.tests.filter(
    (t) => typeof t === 'object' && t !== null && (t as { passed?: unknown }).passed === true,
  ).length;
  return record.tests.length ? `${passed}/${record.tests.length}` : '';
}

/**
 * Each date's models as a table with their accounting and notes, then the run's line; an error on
 * stderr, its suggested commands naming the project as `projectArg`.
 */
export function printRunSummary(engine: Engine, summary: RunSummary, projectArg: string): void {
  const byDate = new Map<string, ModelRunRecord[]>();
  for (const r of summary.models) byDate.set(r.etlDate, [...(byDate.get(r.etlDate) ?? []), r]);
  for (const [date, records] of byDate) {
    process.stdout.write(`\n${date}\n`);
    process.stdout.write(
      `${renderTable(
        records.map((r) => ({
          model: r.model,
          status: r.status,
          rows_in: r.rowsIn,
          rows_out: r.rowsOut,
          duplicates: r.duplicatesRemoved,
          quarantined: r.quarantined,
          tests: testsCell(r),
          time: formatDuration(r.durationMs),
        })),
      )}\n`,
    );
    for (const line of accountingLines(reconcileWithOf(engine.models), records))
      process.stdout.write(`  ${line}\n`);
    // What a model noted for the date (an extra source column, a column added to a table, matcher work).
    for (const r of records)
      for (const note of r.warnings) process.stdout.write(`  note: ${r.model}: ${note}\n`);
  }
  const line = `\nRun ${summary.runId}: ${summary.status} (${counted(summary.dates.length, 'date')}, ${formatDuration(summary.durationMs)})`;
  process.stdout.write(`${line}\n`);
  if (summary.error) {
    process.stderr.write(errorText(summary.error, projectArg));
    const failing = summary.error.details.failingRows;
    if (Array.isArray(failing) && failing.length > 0) {
      process.stderr.write(
        `failing rows (first ${failing.length}):\n${renderTable(failing as Record<string, unknown>[])}\n`,
      );
    }
  }
}

/**
 * `lakehouse run`: exit 0 when the run succeeded, 1 when it failed, 130 or 143 when Ctrl-C or SIGTERM
 * cancelled it, 2 for a bad argument.
 */
export async function runCommand(args: string[]): Promise<number> {
  // Known before the options parse: a script asking for JSON gets its object for a bad option too.
  const json = args.includes('--json');
  const started = Date.now();
  let dir: string | undefined;
  try {
    const { values, positionals } = parse(args, COMMAND_OPTIONS.run);
    dir = projectDirArg(positionals, 'run');
    return await runAndReport(dir, values, json);
  } catch (error) {
    if (!json) {
      // A run refused before it started may suggest the run that goes through: print its command too.
      const failure = toLakehouseError(error);
      if (dir === undefined || !suggestedRunOf(failure.details)) throw error;
      process.stderr.write(errorText(failure.toPayload(), dir));
      return failure.code === 'INVALID_ARGUMENT' ? 2 : 1;
    }
    // A script reads one object from `run --json` whatever happens: here the run never started (a bad
    // argument, a locked warehouse, no dates), so it has no id and nothing was recorded.
    const failure = toLakehouseError(error);
    const summary = {
      runId: null,
      status: 'failed',
      dates: [],
      models: [],
      durationMs: Date.now() - started,
    };
    process.stdout.write(`${toJson({ ...summary, error: failure.toPayload() })}\n`);
    process.stderr.write(
      `error [${failure.code}]: ${dir === undefined ? failure.message : withProjectArg(failure.message, dir)}\n`,
    );
    return failure.code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
}

async function runAndReport(dir: string, values: Flags, json: boolean): Promise<number> {
  return withEngine(
    dir,
    false,
    async (engine) => {
      const { summary, exitCode } = await runWithProgress(engine, {
        dates: list(values, 'date'),
        from: str(values, 'from'),
        to: str(values, 'to'),
        select: list(values, 'select'),
      });
      if (json) {
        process.stdout.write(`${toJson(summary)}\n`);
        if (summary.error) process.stderr.write(errorText(summary.error, dir));
      } else printRunSummary(engine, summary, dir);
      return exitCode;
    },
    str(values, 'memory-limit'),
  );
}
