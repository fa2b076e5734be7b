import { createHash } from 'node:crypto';
import { counted, inNumber } from '../api/counted.ts';
import { describeRun, runOfDates } from '../api/errors.ts';
import type { Db } from '../db/duckdb.ts';
import { downstreamOf, type ModelGraph } from '../graph/dependencies.ts';
import { macroStatements } from '../project/macros.ts';
import type { Model } from '../project/models.ts';
import { committedDates } from '../warehouse/metadata.ts';

/**
 * A macro's file, a hash of its statement and the macros it calls, keyed by macro name (lower case). A
 * file's statements that define no macro (TEMP tables, SET) are keyed by the file's path: they may
 * change any model's result.
 */
export type MacroVersions = Record<string, { file: string; fingerprint: string; calls: string[] }>;

/**
 * The version of each macro in the macro files' text (as macroFilesText joins it): a hash of the
 * statement from its first code on, so a comment above a macro can change without flagging it.
 */
export function macroVersions(macroFilesText: string): MacroVersions {
  const parts = macroFilesText === '' ? [] : macroFilesText.split('\0');
  const versions: MacroVersions = {};
  const bodies = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const file = `macros/${parts[i]}`;
    const others: string[] = [];
    for (const statement of macroStatements(parts[i + 1] ?? '')) {
      const text = statement.text.slice(statement.code.search(/\S/)).trim();
      const name = MACRO_NAME.exec(statement.code)?.[1]?.toLowerCase();
      if (name === undefined) others.push(text);
      else {
        versions[name] = { file, fingerprint: hashOf(text), calls: [] };
        bodies.set(name, statement.code);
      }
    }
    if (others.length > 0) versions[file] = { file, fingerprint: hashOf(others.join(';')), calls: [] };
  }
  const names = [...bodies.keys()];
  for (const [name, code] of bodies) {
    const version = versions[name];
    if (version) version.calls = names.filter((other) => other !== name && calls(code, other));
  }
  return versions;
}

/** `CREATE [OR REPLACE] TEMP MACRO [temp.[main.]]name`, comments and literals blanked. */
const MACRO_NAME =
  /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP|TEMPORARY)\s+(?:MACRO|FUNCTION)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:temp\.(?:main\.)?)?(\w+)/i;

function hashOf(text: string): string {
  return createHash('sha256').update(text.replace(/\s+/g, ' ')).digest('hex').slice(0, 16);
}

/**
 * Records the macro versions a run uses (once per run), and returns, per selected model, a note naming
 * the macros it calls that changed since committed dates outside this run were built, with those dates
 * and the run that rebuilds them. Dates built before versions were recorded are not judged.
 * `missingInputs` is the check a replay makes (MaterializeContext.missingInputs), asked before the run.
 */
export async function noteOlderMacros(
  db: Db,
  runId: string,
  graph: ModelGraph,
  selected: string[],
  runDates: string[],
  current: MacroVersions,
  missingInputs: MissingInputs,
): Promise<Map<string, string>> {
  await db.run('INSERT INTO _lakehouse.run_macros VALUES ($runId, $macros)', {
    runId,
    macros: JSON.stringify(current),
  });
  const notes = new Map<string, string>();
  if (selected.length === 0) return notes;
  const inRun = new Set(runDates);
  const built = await db.all<{ model: string; d: string; macros: string }>(
    `SELECT d.model, strftime(d.etl_date, '%Y-%m-%d') AS d, m.macros
     FROM _lakehouse.model_dates d JOIN _lakehouse.run_macros m USING (run_id)
     WHERE list_contains($selected::VARCHAR[], d.model) ORDER BY d.etl_date`,
    { selected: JSON.stringify(selected) },
  );
  const parsed = new Map<string, MacroVersions>();
  for (const id of selected) {
    const model = graph.byId.get(id)?.model;
    // A `table` model is rebuilt whole by every run: no earlier date keeps anything of the old macro.
    if (model === undefined || model.config.materialized === 'table') continue;
    const sql = model.sql;
    const used = macrosUsedBy(sql, current);
    const changedDates = new Map<string, string[]>();
    for (const row of built) {
      if (row.model !== id || inRun.has(row.d)) continue;
      let old = parsed.get(row.macros);
      if (old === undefined) {
        old = JSON.parse(row.macros) as MacroVersions;
        parsed.set(row.macros, old);
      }
      const changed = [...used, ...macrosUsedBy(sql, old)]
        .filter((name, i, all) => all.indexOf(name) === i)
        .filter((name) => old[name]?.fingerprint !== current[name]?.fingerprint)
        .sort();
      if (changed.length === 0) continue;
      const key = changed.map((name) => describeMacro(name, current[name] ?? old?.[name])).join(', ');
      changedDates.set(key, [...(changedDates.get(key) ?? []), row.d]);
    }
    if (changedDates.size === 0) continue;
    // A history or SCD1 model that replays in this run rebuilds its rows of every date with the current
    // macros: only what was built from them on those dates, downstream, keeps the old results.
    const replay = await replayOf(db, model, runDates, missingInputs);
    const replays = replay !== undefined && replay.missing.length === 0;
    const keeping: string[] = [];
    if (replays) {
      const below = downstreamOf(graph, id);
      for (const { model: d } of graph.nodes.filter((n) => below.has(n.model.id)))
        if (!(await rebuiltWhole(db, graph, d.id, selected, runDates, missingInputs))) keeping.push(d.id);
    }
    const parts = [...changedDates].map(([macros, dates]) => {
      const built = `${counted(dates.length, 'date')} not in this run (${describeRun(runOfDates(dates))}) ${inNumber(dates.length, 'was', 'were')} built with an earlier version of ${macros}`;
      const rerun = `run ${describeRun(runOfDates(dates, [`${id}+`]))} again`;
      if (replay !== undefined && !replays) {
        // The replay reads every date's input: without one, SCD1 merges the date alone and a history
        // model refuses (scd1.ts, history.ts), so the old results stay until the input is written.
        const inputs = replay.missing.map((m) => `${m.input} holds no partition of ${m.dates.join(', ')}`);
        const write = runOfDates(
          replay.missing.flatMap((m) => m.dates),
          replay.missing.map((m) => m.input),
        );
        return (
          `${built}: their rows keep its results, as this run cannot replay every date of ${id}: ` +
          `${inputs.join('; ')}; write those partitions (run ${describeRun(write)}), then ${rerun} so every ` +
          'date uses the current macros'
        );
      }
      if (!replays)
        return `${built}: their rows keep its results; ${rerun} so every date uses the current macros`;
      const replayed = `${built}: this run replays every date of ${id} with the current macros`;
      if (keeping.length === 0) return replayed;
      return (
        `${replayed}; ${keeping.join(', ')} still ${inNumber(keeping.length, 'holds', 'hold')} ${inNumber(dates.length, 'that date', 'those dates')} ` +
        `as built from its old rows: ${rerun} so ${inNumber(keeping.length, 'it uses', 'they use')} the current ones`
      );
    });
    notes.set(id, parts.join('; '));
  }
  return notes;
}

/** Models that fold dates onto the state earlier dates left, and replay every date to re-run an old one. */
const REPLAYING = new Set(['scd1', 'scd2', 'bridge']);

/** The input partitions a model's replay of `dates` would find missing (see missingInputPartitions). */
export type MissingInputs = (model: Model, dates: string[]) => Promise<{ input: string; dates: string[] }[]>;

/**
 * Whether this run sets out to replay every committed date of the model (history.ts, scd1.ts): it is a
 * history or SCD1 model and the run has a date at or before its last committed one, or owes it a stopped
 * replay. Then also the input partitions that replay would lack: with any, it does not replay.
 */
async function replayOf(
  db: Db,
  model: Model,
  runDates: string[],
  missingInputs: MissingInputs,
): Promise<{ missing: { input: string; dates: string[] }[] } | undefined> {
  if (!REPLAYING.has(model.config.materialized)) return undefined;
  const committed = await committedDates(db, model.id);
  const last = committed.at(-1);
  // It replays on the run's last date at or before its last committed one, else (owed) on the first.
  let replayDate = last === undefined ? undefined : runDates.filter((d) => d <= last).at(-1);
  if (replayDate === undefined) {
    const owed = await db.scalar<number>(
      'SELECT count(*) FROM _lakehouse.history_pending WHERE model = $model',
      { model: model.id },
    );
    if (Number(owed) === 0) return undefined;
    replayDate = runDates[0];
  }
  return {
    missing: await missingInputs(
      model,
      committed.filter((d) => d !== replayDate),
    ),
  };
}

/** Whether this run rebuilds the model from every date: a selected `table`, or a selected model that replays. */
async function rebuiltWhole(
  db: Db,
  graph: ModelGraph,
  id: string,
  selected: string[],
  runDates: string[],
  missingInputs: MissingInputs,
): Promise<boolean> {
  const model = graph.byId.get(id)?.model;
  if (model === undefined || !selected.includes(id)) return false;
  if (model.config.materialized === 'table') return true;
  const replay = await replayOf(db, model, runDates, missingInputs);
  return replay !== undefined && replay.missing.length === 0;
}

function describeMacro(name: string, version: { file: string } | undefined): string {
  return isFileKey(name)
    ? `the statements of ${name} that define no macro`
    : `macro ${name} (${version?.file})`;
}

/** Whether a key of MacroVersions is a file's statements that define no macro (macro names are words). */
function isFileKey(name: string): boolean {
  return name.includes('/');
}

/** Whether `code` calls the macro `name`. */
function calls(code: string, name: string): boolean {
  return new RegExp(`\\b${name}\\s*\\(`, 'i').test(code);
}

/**
 * The macros a model's SQL calls, with those they call in turn, and every file's statements that
 * define no macro (a TEMP table or a SET may change any model).
 */
function macrosUsedBy(sql: string, versions: MacroVersions): string[] {
  const names = Object.keys(versions);
  const used = new Set(names.filter((name) => isFileKey(name) || calls(sql, name)));
  for (const name of used) for (const callee of versions[name]?.calls ?? []) used.add(callee);
  return [...used];
}
