// The checks a run makes before anything runs: a selector naming no model, and selections or dates that
// would fail part-way or commit results of no input. Each refuses in words, with the run to make instead.

import { counted } from '../api/counted.ts';
import { consecutiveDays, describeRun, LakehouseError, runOfDates } from '../api/errors.ts';
import { type Db, literal, qualified } from '../db/duckdb.ts';
import { closestName } from '../explore/table-suggestion.ts';
import { type ModelGraph, parseSelector, selectModels } from '../graph/dependencies.ts';
import { tableExists } from '../materializations/context.ts';
import { resolveProjectPath } from '../project/config.ts';
import { dayFolder, listSourceDates } from '../sources/daily-parquet.ts';
import type { RunnerDeps } from './run-types.ts';
import { sourcesOf } from './sources.ts';

/** The selected model ids; a selector naming no model suggests the closest, keeping its + marks. */
export async function resolveSelection(
  db: Db,
  graph: ModelGraph,
  select: string[] | undefined,
): Promise<string[]> {
  try {
    return selectModels(graph, select);
  } catch (error) {
    const name = error instanceof LakehouseError ? error.details.name : undefined;
    if (!(error instanceof LakehouseError) || typeof name !== 'string') throw error;
    const ids = graph.nodes.map((n) => n.model.id);
    const closest = await closestName(db, name, ids, (id) => id.slice(id.indexOf('.') + 1));
    if (!closest) throw error;
    const { up, down } = parseSelector(String(error.details.selector));
    const selector = `${up ? '+' : ''}${closest}${down ? '+' : ''}`;
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `No model named "${name}" (selected as ${String(error.details.selector).trim()}). Did you mean ${selector}?`,
      { ...error.details, suggestion: selector },
    );
  }
}

/** The refusals below, in the order a run makes them: before anything runs or is recorded. */
export async function refuseRunsThatWouldFail(
  deps: RunnerDeps,
  selected: string[],
  dates: string[],
  select: string[] | undefined,
): Promise<void> {
  const { db, graph } = deps;
  await refuseMissingUpstreamPartitions(db, graph, selected, dates);
  await refuseUnbuiltUpstreamTables(db, graph, selected);
  await refuseFirstSelfReads(db, graph, selected);
  await refuseUndeliveredDates(deps, selected, dates, select);
}

/**
 * A selected model that runs per date reads the date's partition of its upstream; when that upstream
 * is left out of the selection and has no partition for the date, the model would commit results of
 * no input (a silver partition bronze lacks, a date history models replay from then on). Refused
 * before anything runs, with one query. A `table` model reads whole relations, not a date's.
 */
async function refuseMissingUpstreamPartitions(
  db: Db,
  graph: ModelGraph,
  selected: string[],
  dates: string[],
): Promise<void> {
  const chosen = new Set(selected);
  const readers = new Map<string, string[]>();
  for (const id of selected) {
    const node = graph.byId.get(id);
    if (!node || node.model.config.materialized === 'table') continue;
    for (const up of node.upstream) {
      if (chosen.has(up) || graph.byId.get(up)?.model.config.materialized !== 'partition') continue;
      readers.set(up, [...(readers.get(up) ?? []), id]);
    }
  }
  if (readers.size === 0) return;
  const rows = await db.all<{ relation: string; d: string }>(
    `SELECT relation, strftime(etl_date, '%Y-%m-%d') AS d FROM _lakehouse.partitions
     WHERE relation IN (${[...readers.keys()].map(literal).join(', ')}) ORDER BY etl_date`,
  );
  const problems: string[] = [];
  const missing: { relation: string; dates: string[] }[] = [];
  for (const [relation, ids] of readers) {
    const committed = rows.filter((r) => r.relation === relation).map((r) => r.d);
    const absent = dates.filter((d) => !committed.includes(d));
    if (absent.length === 0) continue;
    missing.push({ relation, dates: absent });
    const has =
      committed.length === 0
        ? 'it has no partition yet'
        : `it has ${counted(committed.length, 'date')}, from ${committed[0]} to ${committed.at(-1)}`;
    const shown =
      absent.length > 5
        ? `${absent.slice(0, 5).join(', ')} and ${absent.length - 5} more`
        : absent.join(', ');
    problems.push(
      `${ids.join(', ')} read${ids.length === 1 ? 's' : ''} ${relation}, which has no partition for ${shown} (${has}).`,
    );
  }
  const first = missing[0];
  if (!first) return;
  const reader = readers.get(first.relation)?.[0] ?? first.relation;
  throw new LakehouseError(
    'INVALID_ARGUMENT',
    `${problems.join('\n')}\nNothing ran: the selection leaves out ${missing.map((m) => m.relation).join(', ')}, ` +
      `so those dates would commit empty results. Add the upstream models to the selection (+${reader}), ` +
      'run every model, or pick dates the upstream has.',
    { missing },
  );
}

/**
 * A selected model reading a warehouse table (gold, or a silver keyword cache) that the selection leaves
 * out and no run has built yet would fail on DuckDB's "Table ... does not exist" once its turn comes,
 * after the date's other work: refused before anything runs, naming the selection that builds it.
 */
async function refuseUnbuiltUpstreamTables(db: Db, graph: ModelGraph, selected: string[]): Promise<void> {
  const chosen = new Set(selected);
  const problems: string[] = [];
  let reader: string | undefined;
  for (const id of selected) {
    const readsWhole = graph.byId.get(id)?.model.config.materialized === 'table';
    for (const up of graph.byId.get(id)?.upstream ?? []) {
      const upstream = graph.byId.get(up)?.model;
      if (chosen.has(up) || !upstream) continue;
      // A per-date reader of a partitioned model is checked date by date above; a `table` model reads
      // the whole relation, whose view does not exist before the model's first partition commits.
      if (upstream.config.materialized === 'partition' && !readsWhole) continue;
      if (await tableExists(db, qualified(upstream.layer, upstream.name))) continue;
      problems.push(`${id} reads ${up}, which no run has built yet.`);
      reader ??= id;
    }
  }
  if (!reader) return;
  throw new LakehouseError(
    'INVALID_ARGUMENT',
    `${problems.join('\n')}\nNothing ran: add the upstream models to the selection (+${reader}) or run every model.`,
    { reader },
  );
}

/**
 * A model reading its own table (its previous state) has nothing to read before its first run commits:
 * DuckDB's "Table ... does not exist" would fail the run once its turn came. Refused before anything
 * runs, at the line that reads it, with the way to build the table first.
 */
async function refuseFirstSelfReads(db: Db, graph: ModelGraph, selected: string[]): Promise<void> {
  for (const id of selected) {
    const node = graph.byId.get(id);
    if (!node?.readsItself) continue;
    const { model } = node;
    if (await tableExists(db, qualified(model.layer, model.name))) continue;
    const line = node.readsItself.line;
    throw new LakehouseError(
      'MODEL_INVALID',
      `${model.file}${line ? `:${line}` : ''}: reads ${id}, this model's own table, which does not exist ` +
        'until its first run commits, so that run cannot read it. Nothing ran. Build the table first without ' +
        'the read of its previous state (comment it out, run, then restore it), or read the previous state ' +
        'from another model.',
      { file: model.file, line, model: id, relation: id },
    );
  }
}

/**
 * A run of several dates (a --from/--to range over a gap, a day folder deleted after it was loaded)
 * that reaches a day no source delivered would commit the dates before it, then fail there: refused
 * before anything runs, naming those days and the run of the others. One date fails on binding anyway.
 */
async function refuseUndeliveredDates(
  deps: RunnerDeps,
  selected: string[],
  dates: string[],
  select: string[] | undefined,
): Promise<void> {
  if (dates.length < 2) return;
  const { project } = deps;
  const daily: { name: string; root: string; folders: string; ifMissing: string; delivered: Set<string> }[] =
    [];
  for (const name of sourcesOf(deps, selected)) {
    const source = project.config.sources[name];
    if (source?.kind !== 'daily_parquet') continue;
    const root = resolveProjectPath(project.root, source.path);
    daily.push({
      name,
      root,
      folders: source.date_format,
      ifMissing: source.if_missing,
      delivered: new Set(await listSourceDates(root, source.date_format, project.storage, name)),
    });
  }
  if (daily.length === 0) return;
  // As binding a date decides: a source lacking it fails it unless if_missing stands in, and stand-ins
  // alone are no delivery.
  const lacking = (date: string) => daily.filter((s) => !s.delivered.has(date));
  const undelivered = dates.filter((date) => {
    const absent = lacking(date);
    return absent.some((s) => s.ifMissing === 'fail') || absent.length === daily.length;
  });
  if (undelivered.length === 0) return;
  const delivered = dates.filter((date) => !undelivered.includes(date));
  const first = undelivered[0]!;
  const where = lacking(first)
    // Not path.join, which would fold an s3:// root's double slash.
    .map(
      (s) =>
        `source "${s.name}" has no Parquet file in ${s.root.replace(/\/+$/, '')}/${dayFolder(s.folders, first)}`,
    )
    .join('; ');
  const rest =
    delivered.length > 0
      ? ` Run the others (${describeRun(runOfDates(delivered))}), or add the missing days' files and run again.`
      : ' Add their files, or run dates the sources have.';
  throw new LakehouseError(
    'SOURCE_MISSING',
    `This run's dates include ${undelivered.length === 1 ? 'a day' : 'days'} no source delivered: ` +
      `${datesInShort(undelivered)} (${where}). Nothing was run.${rest}`,
    {
      etlDate: first,
      undeliveredDates: undelivered,
      ...(delivered.length > 0 ? { suggestedRun: runOfDates(delivered, select) } : {}),
    },
  );
}

/**
 * Sorted dates in a few words: consecutive days of three or more as `from .. to`, at most five such
 * items. A range over decades (`--from 2000-01-01 --to 2100-01-01`) listed every day, 400 kB of message.
 */
function datesInShort(dates: string[]): string {
  const items = consecutiveDays(dates).flatMap((group) =>
    group.length >= 3
      ? [{ text: `${group[0]} .. ${group.at(-1)} (${group.length} days)`, days: group.length }]
      : group.map((date) => ({ text: date, days: 1 })),
  );
  const shown = items.slice(0, 5);
  const hidden = dates.length - shown.reduce((days, item) => days + item.days, 0);
  return `${shown.map((item) => item.text).join(', ')}${hidden > 0 ? ` and ${counted(hidden, 'more day')}` : ''}`;
}
