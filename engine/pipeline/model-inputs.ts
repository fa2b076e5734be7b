// What running a model asks about its inputs and readers (MaterializeContext's callbacks, and tests
// deferred while a parent catches up). Kept apart so runModel reads as its steps: materialize, then test.

import { describeRun, escapeRegExp, runOfDates } from '../api/errors.ts';
import { qualified, readParquet } from '../db/duckdb.ts';
import type { ModelGraph } from '../graph/dependencies.ts';
import type { createPartitionStore } from '../lake/partitions.ts';
import { columnsOf } from '../materializations/context.ts';
import { type Model, relationshipTargetId } from '../project/models.ts';
import { committedDates } from '../warehouse/metadata.ts';
import type { RunnerDeps } from './run-types.ts';

/** Whether `sql` names `column` as a word, or selects every column of something. */
function namesColumn(sql: string, column: string): boolean {
  const escaped = escapeRegExp(column);
  return (
    /(^|[\s,(.])\*\s*(,|from\b|$|exclude\b|replace\b)/i.test(sql) ||
    new RegExp(`(^|[^\\w])"?${escaped}"?($|[^\\w])`, 'i').test(sql)
  );
}

/** The model's inputs written one partition per date (bronze, silver): what a replay reads per date. */
export function partitionedInputs(graph: ModelGraph, model: Model): Model[] {
  return (graph.byId.get(model.id)?.upstream ?? []).flatMap((id) => {
    const input = graph.byId.get(id)?.model;
    return input?.config.materialized === 'partition' ? [input] : [];
  });
}

/** See MaterializeContext.staleInputs: each partitioned input's partitions lacking its current columns. */
export async function staleInputPartitions(
  deps: RunnerDeps,
  partitions: ReturnType<typeof createPartitionStore>,
  model: Model,
  dates: string[],
): Promise<{ input: string; dates: string[]; columns: string[] }[]> {
  const stale: { input: string; dates: string[]; columns: string[] }[] = [];
  for (const input of partitionedInputs(deps.graph, model)) {
    const current = (await columnsOf(deps.db, qualified(input.layer, input.name))).map((c) => c.name);
    const committed = new Set(await partitions.dates(input.id));
    const lacking = new Set<string>();
    const staleDates: string[] = [];
    for (const date of dates.filter((d) => committed.has(d))) {
      const path = await partitions.currentPath(input.id, date);
      // etl_date is the partition's own, whether or not its file holds it (partitionFileRelation).
      const has = new Set(['etl_date', ...(await columnsOf(deps.db, readParquet(path))).map((c) => c.name)]);
      // Only columns the model's SQL names (or all, when it selects *): another is never read.
      const missing = current.filter((c) => !has.has(c) && namesColumn(model.sql, c));
      if (missing.length === 0) continue;
      staleDates.push(date);
      for (const column of missing) lacking.add(column);
    }
    if (staleDates.length > 0) stale.push({ input: input.id, dates: staleDates, columns: [...lacking] });
  }
  return stale;
}

/**
 * See MaterializeContext.missingInputs. `etlDate` is the date replaying; before the run starts (the
 * macro notes foretell its replays) it is undefined, and every date of the run counts as written.
 */
export async function missingInputPartitions(
  deps: RunnerDeps & { runDates: string[]; selected: ReadonlySet<string> },
  partitions: ReturnType<typeof createPartitionStore>,
  model: Model,
  etlDate: string | undefined,
  dates: string[],
): Promise<{ input: string; dates: string[] }[]> {
  const missing: { input: string; dates: string[] }[] = [];
  for (const input of partitionedInputs(deps.graph, model)) {
    const committed = new Set(await partitions.dates(input.id));
    // A later date of this run writes a selected input before the replay that run ends with.
    const writtenLater = (d: string) =>
      (etlDate === undefined || d > etlDate) && deps.runDates.includes(d) && deps.selected.has(input.id);
    const absent = dates.filter((d) => !committed.has(d) && !writtenLater(d));
    if (absent.length > 0) missing.push({ input: input.id, dates: absent });
  }
  return missing;
}

/**
 * See MaterializeContext.keyReaders: models keeping rows of earlier dates (a 'table' model is rebuilt
 * whole each date) that hold this model's surrogate keys, with their committed dates this run does not run.
 */
export async function keyReaders(
  deps: RunnerDeps & { runDates: string[] },
  model: Model,
): Promise<{ model: string; dates: string[] }[]> {
  const sk = model.config.surrogate_key;
  const rerun = new Set(deps.runDates);
  const held: { model: string; dates: string[] }[] = [];
  for (const node of deps.graph.nodes) {
    const reader = node.model;
    if (!node.upstream.includes(model.id)) continue;
    if (!['append', 'scd1', 'scd2', 'bridge'].includes(reader.config.materialized)) continue;
    // The reader's columns holding this table's keys: its relationships tests to it, else the key's
    // name. A reader without one yet (a new dimension) holds no old keys: its column is added.
    const pointing = reader.config.tests.flatMap((t) =>
      'relationships' in t &&
      relationshipTargetId(t.relationships.to) === model.id.toLowerCase() &&
      t.relationships.field === sk
        ? [t.relationships.column]
        : [],
    );
    const keyColumns = pointing.length > 0 ? pointing : sk ? [sk] : [];
    const has = new Set(
      (await columnsOf(deps.db, qualified(reader.layer, reader.name)).catch(() => [])).map((c) => c.name),
    );
    if (!keyColumns.some((c) => has.has(c))) continue;
    held.push({
      model: reader.id,
      dates: (await committedDates(deps.db, reader.id)).filter((d) => !rerun.has(d)),
    });
  }
  return held;
}

/**
 * The relationships tests of a history table replayed past the run's date (to `heldThrough`) whose
 * parent holds no date that late yet, by index, with a note each. A dimension dropped to be rebuilt
 * runs its dates from the first, so at that date the replayed bridge holds members the dimension gains
 * later in the same run: the test is left to the date both reach, where it reads every row. Only when
 * this run takes the parent there: otherwise the test runs (it would never be checked), and `behind`
 * explains its failure with the run to make.
 */
export async function testsAheadOfParents(
  deps: RunnerDeps & { ranThisDate: Set<string>; selected: ReadonlySet<string>; runDates: string[] },
  model: Model,
  date: string,
  heldThrough: string,
): Promise<{ deferred: Map<number, string>; behind: string[] }> {
  const deferred = new Map<number, string>();
  const behind: string[] = [];
  const upstream = deps.graph.byId.get(model.id)?.upstream ?? [];
  for (const [index, test] of model.config.tests.entries()) {
    if (!('relationships' in test)) continue;
    const to = relationshipTargetId(test.relationships.to);
    const parent = upstream.find((id) => id.toLowerCase() === to);
    if (!parent) continue;
    const parentThrough = await latestDateHeld(deps, parent, date);
    if (parentThrough !== undefined && parentThrough >= heldThrough) continue;
    const { column, field } = test.relationships;
    const lag = `${parent} ${parentThrough ? `only to ${parentThrough}` : 'holds no date yet'}`;
    if (!deps.selected.has(parent) || (deps.runDates.at(-1) ?? '') < heldThrough) {
      const rerun = runOfDates([...(await committedDates(deps.db, model.id)), date, heldThrough]);
      behind.push(
        `the replayed history of ${model.id} runs to ${heldThrough}, ${lag}, and this run does not take it ` +
          `there (a dimension dropped to be rebuilt?): run ${describeRun(rerun)} in one run`,
      );
      continue;
    }
    deferred.set(
      index,
      `relationships(${column} → ${test.relationships.to}.${field}) not checked on ${date}: the replayed history ` +
        `runs to ${heldThrough}, ${lag}; checked once ${parent} reaches ${heldThrough}`,
    );
  }
  return { deferred, behind };
}

/**
 * The warehouse models upstream of `model` (dimensions it joins or tests against) that hold no date as
 * late as `through`, counting this date when they ran on it, and that this run brings there later (it
 * runs `through`): a dimension dropped to be rebuilt, or new. Partitioned inputs are left out: each date
 * reads its own.
 */
export async function inputsCatchingUp(
  deps: RunnerDeps & { ranThisDate: Set<string>; selected: ReadonlySet<string>; runDates: string[] },
  model: Model,
  date: string,
  through: string,
): Promise<{ model: string; through?: string }[]> {
  // On `through` itself the history replays, with every such dimension as complete as that date makes it.
  if (!deps.runDates.includes(through)) return [];
  const behind: { model: string; through?: string }[] = [];
  for (const id of deps.graph.byId.get(model.id)?.upstream ?? []) {
    const input = deps.graph.byId.get(id)?.model;
    if (!input || input.config.materialized === 'partition' || !deps.selected.has(id)) continue;
    const held = await latestDateHeld(deps, id, date);
    if (held !== undefined && held >= through) continue;
    behind.push({ model: id, ...(held !== undefined ? { through: held } : {}) });
  }
  return behind;
}

/** The latest date a model holds: its committed dates, and this one if it ran on it in this run. */
async function latestDateHeld(
  deps: RunnerDeps & { ranThisDate: Set<string> },
  id: string,
  date: string,
): Promise<string | undefined> {
  const held = [...(await committedDates(deps.db, id)), ...(deps.ranThisDate.has(id) ? [date] : [])];
  return held.sort().at(-1);
}
