// Which dates a run covers: the days the sources deliver, the dates or range asked for, and the committed
// dates whose delivery is gone. Apart from runner.ts because the engine also lists dates without running.

import { IsoDate } from '../api/contract.ts';
import { describeRun, LakehouseError, runOfDates } from '../api/errors.ts';
import type { ModelGraph } from '../graph/dependencies.ts';
import type { Project } from '../project/config.ts';
import { resolveProjectPath } from '../project/config.ts';
import { listSourceDates } from '../sources/daily-parquet.ts';
import { committedDates } from '../warehouse/metadata.ts';
import type { RunnerDeps, RunOptions } from './run-types.ts';

/** Every date any daily source of the project has, sorted. */
export async function availableDates(project: Project, readBy?: ReadSources): Promise<string[]> {
  const dates = new Set<string>();
  for (const [name, source] of Object.entries(project.config.sources)) {
    if (source.kind !== 'daily_parquet') continue;
    // A source no model reads (one just declared) neither adds dates nor, with no folder yet, blocks runs.
    if (readBy && !readBy.has(name)) continue;
    for (const d of await listSourceDates(
      resolveProjectPath(project.root, source.path),
      source.date_format,
      project.storage,
      name,
    ))
      dates.add(d);
  }
  return [...dates].sort();
}

/** Names of the sources the models read; undefined while a model is out of the graph (it may read any). */
export type ReadSources = Set<string> | undefined;

export function sourcesReadBy(graph: ModelGraph, modelErrors: LakehouseError[]): ReadSources {
  if (modelErrors.length > 0) return undefined;
  return new Set(graph.nodes.flatMap((n) => n.sources));
}

/**
 * A run without dates takes the days the sources deliver now: a day folder deleted after its date was
 * committed is left out, its partitions kept and still read by history models. Said once per model
 * reading a daily source, so that is not silent. One query per such model, not per date.
 */
export async function goneDeliveries(
  deps: RunnerDeps,
  selected: string[],
  dates: string[],
): Promise<Map<string, string>> {
  const run = new Set(dates);
  const notes = new Map<string, string>();
  for (const id of selected) {
    const daily = (deps.graph.byId.get(id)?.sources ?? []).filter(
      (name) => deps.project.config.sources[name]?.kind === 'daily_parquet',
    );
    if (daily.length === 0) continue;
    const gone = (await committedDates(deps.db, id)).filter((d) => !run.has(d));
    if (gone.length === 0) continue;
    const days = describeRun(runOfDates(gone));
    notes.set(
      id,
      `the delivery of ${days} is gone (no day folder in ${daily.join(', ')}): not run again; ` +
        `the partitions committed for ${gone.length === 1 ? 'it' : 'them'} are kept and still used`,
    );
  }
  return notes;
}

export async function resolveDates(
  project: Project,
  options: RunOptions,
  readBy: ReadSources,
): Promise<string[]> {
  const valid = (d: string, flag: string) => {
    // A calendar date: Date.parse takes 2022-02-30 and DuckDB then fails to store it.
    if (!IsoDate.safeParse(d).success) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `${flag} ${d}: expected a calendar date as YYYY-MM-DD, e.g. 2022-06-01`,
      );
    }
    return d;
  };
  if (options.dates && options.dates.length > 0 && (options.from || options.to)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      '--date and --from/--to both given: pass either dates (--date, repeatable) or one range.',
    );
  }
  if (options.dates && options.dates.length > 0)
    return [...new Set(options.dates.map((d) => valid(d, '--date')))].sort();
  if (options.from || options.to) {
    const all = await availableDates(project, readBy);
    // With no day folder yet, a bound not given is the other one: a one-day run, which names the folder.
    const from = options.from ? valid(options.from, '--from') : (all[0] ?? valid(options.to ?? '', '--to'));
    const to = valid(options.to ?? all[all.length - 1] ?? from, '--to');
    if (from > to) {
      // A bound not given is the sources' first or last day: name that, not a flag the user never typed.
      const message =
        options.from && options.to
          ? `--from ${from} is after --to ${to}`
          : options.from
            ? `--from ${from} is after the sources' last day, ${to}: no date to run. Pass a --from up to ${to}.`
            : `--to ${to} is before the sources' first day, ${from}: no date to run. Pass a --to from ${from} on.`;
      throw new LakehouseError('INVALID_ARGUMENT', message);
    }
    const out: string[] = [];
    for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
      out.push(new Date(t).toISOString().slice(0, 10));
    }
    return out;
  }
  const all = await availableDates(project, readBy);
  if (all.length === 0) {
    // Name where the day folders were looked for: a mistyped prefix reads as "no data" otherwise.
    const looked = Object.entries(project.config.sources).flatMap(([name, source]) =>
      source.kind === 'daily_parquet'
        ? [`${name} (${resolveProjectPath(project.root, source.path)}, named like ${source.date_format})`]
        : [],
    );
    // Without a daily source there are no day folders to list: the dates must be given.
    const message =
      looked.length === 0
        ? 'The project has no daily_parquet source to take dates from: pass --date YYYY-MM-DD (or --from/--to) ' +
          'for the ETL dates to run.'
        : `The sources have no dates to run: no day folder under ${looked.join(', ')}. ` +
          'Add data there, fix the path or date_format in lakehouse.yaml, or pass --date YYYY-MM-DD.';
    throw new LakehouseError('SOURCE_MISSING', message);
  }
  return all;
}
