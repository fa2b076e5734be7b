// The commands that open or create a project (demo, init, generate, tables, runs, query, drop, repair).
// main.ts loads this file only when one of them runs: with the engine behind it, it takes most of a
// second to load, which `--help`, `publish` or `crawl` need not wait for.

import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LakehouseError } from '../engine/api/errors.ts';
import { groupNotes, noteDates, WARNED_TEST } from '../engine/api/notes.ts';
import { parseRenamePairs } from '../engine/api/rename-pairs.ts';
import { runClockText } from '../engine/api/run-clock.ts';
import { type JsonRowBatch, openDb } from '../engine/db/duckdb.ts';
import { createEngine, type Engine, type RunHistoryEntry } from '../engine/engine.ts';
import { PROJECT_FILE } from '../engine/project/config.ts';
import { checkInit, exists, initProject, sourceLayoutNote } from '../engine/project/init.ts';
import { isS3Uri } from '../engine/storage/s3-uri.ts';
import { projectDirArg } from './args.ts';
import { type Flags, int, str } from './flags.ts';
import {
  counted,
  datesCell,
  formatDuration,
  renderTable,
  shellWord,
  toJson,
  withProjectArg,
} from './format.ts';
import { withEngine, withReads } from './open-project.ts';
import { createProgressBar } from './progress.ts';
import { accountingLines, printRunSummary, runWithProgress, testsCell } from './run.ts';

async function generateInto(out: string, days: number, rowsPerDay: number, seed: number, startDate?: string) {
  // Loaded on demand: only generate, init and demo need the generator.
  const { generateSample } = await import('../engine/generate/generate.ts');
  const db = await openDb();
  const bar = createProgressBar();
  try {
    const summary = await generateSample(db, {
      outDir: out,
      days,
      rowsPerDay,
      seed,
      startDate,
      onProgress: (done, total) => bar.update(done, total, 'generating days'),
    });
    return summary;
  } finally {
    // Cleared on a failure too (a full disk), so the error starts on a line of its own.
    bar.done();
    db.close();
  }
}

/** A file where the folder goes was an INTERNAL error, mkdir's EEXIST. */
async function refuseFile(path: string, what: string): Promise<void> {
  if ((await stat(path).catch(() => undefined))?.isDirectory() === false) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${what} ${path} is a file, not a folder: give a new or empty folder.`,
    );
  }
}

/**
 * Refuses to generate into a folder that holds anything: a day folder holding both files loads both,
 * and a file of the same name would be overwritten.
 */
async function refuseNonEmpty(out: string, what: string): Promise<void> {
  const existing = await readdir(out).catch(() => []);
  if (existing.length > 0) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${what} ${out} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', ...' : ''}): ` +
        'generated days would overwrite or mix with what is there. Give a new or empty folder, or delete this one first.',
    );
  }
}

export async function generate(flags: Flags): Promise<number> {
  const out = str(flags, 'out');
  if (!out) throw new LakehouseError('INVALID_ARGUMENT', 'lakehouse generate needs --out <dir>');
  await refuseFile(resolve(out), '--out');
  await refuseNonEmpty(resolve(out), '--out');
  const started = Date.now();
  const summary = await generateInto(
    resolve(out),
    int(flags, 'days', 3, 1),
    int(flags, 'rows-per-day', 3000, 1),
    int(flags, 'seed', 42),
    str(flags, 'start'),
  );
  process.stdout.write(
    `Generated ${summary.rows.toLocaleString('en-US')} events over ${counted(summary.days.length, 'day')} in ${formatDuration(Date.now() - started)}\n` +
      `  source:  ${join(resolve(out), 'customer_search_log_data')}\n  catalog: ${summary.catalogPath} (${summary.titles} titles)\n`,
  );
  return 0;
}

export async function init({
  values,
  positionals,
}: {
  values: Flags;
  positionals: string[];
}): Promise<number> {
  const dir = projectDirArg(positionals, 'init');
  const options = {
    dir,
    example: str(values, 'example') ?? 'customer-search',
    catalog: str(values, 'catalog'),
    catalogRename: renames(str(values, 'catalog-rename')),
    lake: str(values, 'lake'),
    s3: { profile: str(values, 'profile'), endpoint: str(values, 'endpoint') },
  };
  let source = str(values, 'source');
  // Said before the sample is generated, which takes a while and would be left behind.
  const mapping = await checkInit({ ...options, source });
  if (!source) {
    const data = join(resolve(dir), 'data');
    await refuseNonEmpty(data, 'The sample folder');
    await generateInto(data, 3, 3000, 42);
    source = join(data, 'customer_search_log_data');
  }
  const root = await initProject({ ...options, source });
  process.stdout.write(`Created project ${root}\n`);
  const guessed = Object.entries(mapping?.guessed ?? {});
  if (guessed.length > 0) {
    const pairs = guessed.map(([from, to]) => `${from} as ${to}`);
    process.stdout.write(
      `  catalog: reading its columns ${pairs.join(', ')} (sources.title_catalog.rename in lakehouse.yaml)\n`,
    );
  }
  process.stdout.write(`  next: lakehouse run ${shellWord(dir)}\n`);
  // A project may point at data still to come, but a mistyped path is best said now (stderr, exit 0).
  for (const [flag, path] of [
    ['--source', source],
    ['--catalog', str(values, 'catalog')],
  ] as const) {
    if (path && !isS3Uri(path) && !(await exists(path)))
      process.stderr.write(`note: ${flag} ${resolve(path)} does not exist (yet): runs fail until it does.\n`);
  }
  const layout = await sourceLayoutNote(source, { projectDir: root, s3: options.s3 });
  if (layout) process.stderr.write(`note: ${layout}\n`);
  return 0;
}

/** `--catalog-rename keyword=title,category=genres` as {keyword: 'title', category: 'genres'}. */
function renames(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const parsed = parseRenamePairs(value);
  if ('bad' in parsed) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--catalog-rename ${value}: expected <file column>=<name>[,...], e.g. keyword=title,category=genres.`,
    );
  }
  return parsed.rename;
}

export async function demo(flags: Flags): Promise<number> {
  const dir = resolve(str(flags, 'dir') ?? 'demo');
  const started = Date.now();
  if (!(await exists(join(dir, PROJECT_FILE)))) {
    await refuseFile(dir, '--dir');
    // What init would refuse (a path DuckDB cannot hold a warehouse at, files of the user's own) is
    // refused before the sample is generated there, not after.
    await checkInit({ dir, example: 'customer-search' });
    const data = join(dir, 'data');
    await refuseNonEmpty(data, 'The sample folder');
    process.stderr.write(`Generating a sample into ${data} ...\n`);
    await mkdir(dir, { recursive: true });
    await generateInto(data, 5, 4000, 42);
    await initProject({ dir, example: 'customer-search', source: join(data, 'customer_search_log_data') });
    process.stderr.write(`Created the customer-search example project in ${dir}\n`);
  } else {
    process.stderr.write(`Re-running the existing demo project in ${dir} (runs are idempotent)\n`);
  }
  return withEngine(dir, false, async (engine) => {
    const { summary, exitCode } = await runWithProgress(engine, {});
    printRunSummary(engine, summary, dir);
    if (summary.status !== 'success') return exitCode;
    const infos = await engine.tables();
    process.stdout.write(`\nTables\n${renderTable(infos.map(tableRow))}\n`);
    process.stdout.write(
      `\nDemo finished in ${formatDuration(Date.now() - started)}. Try:\n` +
        `  npx lakehouse query ${dir} "SELECT device_type, count(*) AS searches FROM fact_customer_search JOIN dim_platform USING (platform_key) GROUP BY ALL ORDER BY 2 DESC"\n` +
        `  npx lakehouse runs ${dir}\n`,
    );
    return 0;
  });
}

function tableRow(t: Awaited<ReturnType<Engine['tables']>>[number]) {
  return {
    table: t.name,
    rows: t.rows,
    columns: t.columns.length,
    materialized: t.materialized ?? (t.layer === 'quarantine' ? 'quarantine' : t.model ? '' : 'no model'),
    partitions: t.partitions ?? '',
  };
}

export async function tables({
  values,
  positionals,
}: {
  values: Flags;
  positionals: string[];
}): Promise<number> {
  const dir = projectDirArg(positionals, 'tables');
  return withReads(dir, async (reads) => {
    const infos = await reads.tables();
    if (values.json) process.stdout.write(`${toJson(infos)}\n`);
    else if (infos.length === 0)
      process.stdout.write(
        `No tables yet: no run has committed a date. Run: lakehouse run ${shellWord(dir)}\n`,
      );
    else process.stdout.write(`${renderTable(infos.map(tableRow))}\n`);
    return 0;
  });
}

export async function drop({
  values,
  positionals,
}: {
  values: Flags;
  positionals: string[];
}): Promise<number> {
  const dir = projectDirArg(positionals, 'drop', { takes: 2 });
  const relation = positionals[1];
  if (!relation) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      'lakehouse drop needs the table to drop, e.g. lakehouse drop ./demo gold.dim_platform',
    );
  }
  return withEngine(dir, false, async (engine) => {
    const rebuild = values.rebuild === true;
    const dropped = await engine.dropTable(relation, { rebuild });
    const partitions =
      dropped.partitions > 0 ? ` and its ${counted(dropped.partitions, 'date partition')}` : '';
    process.stdout.write(
      values.json
        ? `${toJson(dropped)}\n`
        : `Dropped ${dropped.relation} (${counted(dropped.rows, 'row')})${partitions}.\n` +
            (rebuild
              ? `  next: lakehouse run ${shellWord(dir)} rebuilds it from every date, with the tables keyed on it\n`
              : ''),
    );
    return 0;
  });
}

export async function repair({
  values,
  positionals,
}: {
  values: Flags;
  positionals: string[];
}): Promise<number> {
  const dir = projectDirArg(positionals, 'repair');
  const engine = await createEngine({ projectDir: dir, forgetMissingFiles: true });
  const forgotten = engine.forgottenPartitions;
  engine.close();
  if (values.json) {
    process.stdout.write(`${toJson({ forgotten })}\n`);
    return 0;
  }
  if (forgotten.length === 0) {
    process.stdout.write('Nothing to repair: every committed partition file is in the lake.\n');
    return 0;
  }
  const dates = [...new Set(forgotten.map((m) => m.etlDate))].sort();
  process.stdout.write(
    `Forgot ${counted(forgotten.length, 'partition')} whose file was missing:\n` +
      forgotten.map((m) => `  ${m.relation} ${m.etlDate}  (${m.path})\n`).join('') +
      `Run ${dates.length === 1 ? 'that date' : 'those dates'} again to write them anew: ` +
      `lakehouse run ${shellWord(dir)} ${dates.map((d) => `--date ${d}`).join(' ')}\n`,
  );
  return 0;
}

export async function runs({
  values,
  positionals,
}: {
  values: Flags;
  positionals: string[];
}): Promise<number> {
  const limit = int(values, 'limit', 10, 1);
  const dir = projectDirArg(positionals, 'runs');
  return withReads(dir, async (reads) => {
    const history = await reads.runs(limit);
    if (values.json) {
      process.stdout.write(`${toJson(history)}\n`);
      return 0;
    }
    if (history.length === 0) {
      process.stdout.write('No runs yet.\n');
      return 0;
    }
    process.stdout.write(
      `${renderTable(
        history.map((r) => ({
          run: r.runId,
          status: r.status,
          started: runClockText(r.startedAt),
          dates: datesCell(r.dates),
          select: r.selection,
          models: r.models.length,
          failed: r.models.filter((m) => m.status === 'failed').length,
          // As `run` prints an error: its code first, the code a script or a search of the docs can match.
          error: r.error ? `${r.errorCode ? `[${r.errorCode}] ` : ''}${withProjectArg(r.error, dir)}` : '',
        })),
      )}\n`,
    );
    const latest = history[0];
    if (latest) {
      // A run stopped before its first model has no per-model rows: the table would read `(no columns)`.
      process.stdout.write(
        latest.models.length === 0
          ? `\nLatest run ${latest.runId}: no model ran\n`
          : `\nLatest run ${latest.runId}, per model and date\n${renderTable(
              latest.models.map((m) => ({
                date: m.etlDate,
                model: m.model,
                status: m.status,
                rows_in: m.rowsIn,
                rows_out: m.rowsOut,
                duplicates: m.duplicatesRemoved,
                quarantined: m.quarantined,
                tests: testsCell(m),
                ms: m.durationMs,
                error: m.error === null ? '' : withProjectArg(m.error, dir),
              })),
            )}\n`,
      );
      // The tables cut an error to their column's width: the latest run's is printed whole, as `run` did.
      if (latest.error)
        process.stdout.write(
          `error: ${latest.errorCode ? `[${latest.errorCode}] ` : ''}${withProjectArg(latest.error, dir)}\n`,
        );
      // A failed test's error says its failing rows are shown below: the history keeps them, so they are.
      for (const failed of failedTestSamples(latest.models))
        process.stdout.write(
          `failing rows of ${failed.model} on ${failed.etlDate}, ${failed.test} (first ${failed.rows.length}):\n` +
            `${renderTable(failed.rows)}\n`,
        );
      for (const line of accountingLines((m) => reads.reconcileWith(m), latest.models, true))
        process.stdout.write(`${line}\n`);
      // What each model noted (a macro changed since dates it holds, an extra source column) and which of
      // its warn-level tests failed on what: the table above has no room for them (its tests cell says
      // only 3/4), and `run` printed them only once. Every one is listed: this is where the app sends
      // a reader for the notes it leaves out.
      for (const model of new Set(latest.models.map((m) => m.model))) {
        const ofModel = latest.models.filter((m) => m.model === model);
        const grouped = (warnedTests: boolean) =>
          groupNotes(
            ofModel.flatMap((m) =>
              m.warnings
                .filter((w) => w.startsWith(WARNED_TEST) === warnedTests)
                .map((text) => ({
                  etlDate: m.etlDate,
                  text: warnedTests ? text.slice(WARNED_TEST.length) : text,
                })),
            ),
            Number.POSITIVE_INFINITY,
          );
        for (const note of grouped(false))
          process.stdout.write(`note: ${model} (${noteDates(note)}): ${note.text}\n`);
        for (const warning of grouped(true))
          process.stdout.write(`warn: ${model} (${noteDates(warning)}): ${warning.text}\n`);
      }
    }
    return 0;
  });
}

/**
 * The sample of failing rows each failed model of a run kept for its error-severity tests (the history
 * stores its tests as JSON, hence the checks), as `run` prints them when the test fails.
 */
function failedTestSamples(models: RunHistoryEntry['models']) {
  return models
    .filter((m) => m.status === 'failed')
    .flatMap((m) =>
      m.tests.flatMap((test) => {
        const { name, severity, passed, sample } = (test ?? {}) as Record<string, unknown>;
        if (passed !== false || severity !== 'error' || !Array.isArray(sample) || sample.length === 0)
          return [];
        return [
          {
            model: m.model,
            etlDate: m.etlDate,
            test: String(name),
            rows: sample as Record<string, unknown>[],
          },
        ];
      }),
    );
}

export async function query({
  values,
  positionals,
}: {
  values: Flags;
  positionals: string[];
}): Promise<number> {
  const dir = projectDirArg(positionals, 'query', { takes: 2 });
  const sql = positionals[1];
  if (!sql)
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      'lakehouse query needs SQL, e.g. lakehouse query ./demo "SELECT 1"',
    );
  // JSON prints every row unless --limit says otherwise; the table, 50.
  const limit = int(values, 'limit', values.json ? Number.POSITIVE_INFINITY : 50, 1);
  return withReads(dir, async (reads) => {
    // Past the table's rows, the rest are only counted: by count(*) over the query where running it again
    // gives the same rows (DuckDB then reads no column), as reading them all took 10.9 s on a 10M-row fact.
    const countAgain = values.json ? null : await reads.countAgain(sql);
    const result = await reads.query(sql);
    // Rows are read a chunk at a time: converted and printed as they come for JSON, only counted past the
    // table's first `limit`, so a result of millions of rows never sits in memory (it ran out of heap).
    if (values.json) {
      await printJsonRows(result.batches, limit);
      return 0;
    }
    const shown: Record<string, unknown>[] = [];
    let total = 0;
    for await (const batch of result.batches) {
      if (shown.length < limit) shown.push(...batch.rows().slice(0, limit - shown.length));
      total += batch.rowCount;
      if (countAgain && total > limit) break;
    }
    if (countAgain && total > limit) total = await countAgain();
    process.stdout.write(`${renderTable(shown, rowKeys(result.columns.map((c) => c.name)))}\n`);
    process.stdout.write(`(${counted(total, 'row')}${total > limit ? `, first ${limit} shown` : ''})\n`);
    return 0;
  });
}

/**
 * The keys the rows of a result have, in column order: a name given twice (`SELECT * FROM a JOIN b`
 * with an `id` on both sides) is keyed `id:1` for its second column, as @duckdb/node-api names it, so the
 * table reads that column's values rather than the first's again. Names already unique stay as they are.
 */
function rowKeys(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count > 1 ? `${name}:${count - 1}` : name;
  });
}

/** The first `limit` rows as the JSON array toJson would print, written a chunk at a time. */
async function printJsonRows(batches: AsyncIterable<JsonRowBatch>, limit: number): Promise<void> {
  let printed = 0;
  for await (const batch of batches) {
    const rows = batch.rows().slice(0, limit - printed);
    // Each element as toJson indents it inside the array, so the output reads the same as before.
    const text = rows.map((row) => `  ${toJson(row).replaceAll('\n', '\n  ')}`).join(',\n');
    if (rows.length > 0) await writeOut(`${printed === 0 ? '[\n' : ',\n'}${text}`);
    printed += rows.length;
    if (printed >= limit) break;
  }
  await writeOut(printed === 0 ? '[]\n' : '\n]\n');
}

/** Writes to stdout, waiting while a slow reader (a pipe) has not taken the previous text yet. */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });
}
