// Binding the sources the selected models read as views: reference files and crawls once a run, daily
// Parquet sources for each date. Apart from runner.ts, which only says when each is bound.

import { LakehouseError } from '../api/errors.ts';
import { resolveProjectPath } from '../project/config.ts';
import { bindCrawlSource } from '../sources/crawler.ts';
import { type BoundSource, bindDailyParquet } from '../sources/daily-parquet.ts';
import { bindReferenceFile } from '../sources/reference-file.ts';
import type { RunnerDeps } from './run-types.ts';

/** The names of the sources the selected models read. */
export function sourcesOf(deps: RunnerDeps, selected: string[]): Set<string> {
  const names = new Set<string>();
  for (const id of selected) for (const s of deps.graph.byId.get(id)?.sources ?? []) names.add(s);
  return names;
}

/** Binds each reference file and crawl source the selected models read, once for the whole run. */
export async function bindReferenceSources(deps: RunnerDeps, selected: string[]): Promise<void> {
  const { db, project } = deps;
  for (const name of sourcesOf(deps, selected)) {
    const source = project.config.sources[name];
    if (source?.kind === 'file')
      await bindReferenceFile(
        db,
        name,
        source,
        resolveProjectPath(project.root, source.path),
        project.storage,
      );
    else if (source?.kind === 'crawl')
      await bindCrawlSource(db, name, source, project.root, { signal: deps.signal });
  }
}

/** Binds each daily source for the date, by name (with the warnings each raised, e.g. undeclared extra columns). */
export async function bindDailySources(
  deps: RunnerDeps,
  selected: string[],
  date: string,
): Promise<Map<string, BoundSource>> {
  const { db, project } = deps;
  const bound = new Map<string, BoundSource>();
  for (const name of sourcesOf(deps, selected)) {
    const source = project.config.sources[name];
    if (source?.kind !== 'daily_parquet') continue;
    const root = resolveProjectPath(project.root, source.path);
    bound.set(name, await bindDailyParquet(db, name, source, root, date, project.storage));
  }
  // if_missing stands in for a source beside others that have the date, not for a date nobody delivered
  // (a typo'd --date, a range past the data): that would commit another day's rows under it.
  const sources = [...bound.values()];
  if (sources.length > 0 && sources.every((s) => s.standIn)) {
    throw new LakehouseError(
      'SOURCE_MISSING',
      `No daily source the selected models read has a delivery for ${date} (${sources.map((s) => s.name).join(', ')}); ` +
        'if_missing stands in for a source only on dates another source delivered. Run a date that was delivered.',
      { etlDate: date, sources: sources.map((s) => s.name) },
    );
  }
  return bound;
}
