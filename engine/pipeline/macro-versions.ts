import { createHash } from 'node:crypto';
import { counted, inNumber } from '../api/counted.ts';
import { describeRun, escapeRegExp, runOfDates } from '../api/errors.ts';
import type { Db } from '../db/duckdb.ts';
import { downstreamOf, type ModelGraph } from '../graph/dependencies.ts';
import { createdMacroName, lastNamePart, macroStatements } from '../project/macros.ts';
import type { Model } from '../project/models.ts';
import { committedDates } from '../warehouse/metadata.ts';

/**
 * A macro's file, a hash of its statement and the macros and temp relations it reads, keyed by macro name
 * (lower case). A macro file's temp view or table is keyed `temp.<name>` (lower case), with its statements
 * (CREATE, DROP) and what they read: it changes the models that read it. A file's other statements that
 * define no macro (SET, a TEMP sequence) are keyed by the file's path: they may change any model's result.
 */
export type MacroVersions = Record<string, MacroVersion>;

export interface MacroVersion {
  file: string;
  fingerprint: string;
  /** The other keys (macros, `temp.<name>`) this one calls or reads. */
  calls: string[];
  /**
   * Under a file's key, whose `fingerprint` covers all its statements that define no macro (temp views and
   * tables too): a hash of those that define no temp view or table either, '' when there are none. Runs
   * recorded before temp relations had keys of their own lack it, and are judged by `fingerprint`.
   */
  everyModel?: string;
  /** Under a `temp.<name>` key, what the statements make. */
  kind?: 'view' | 'table';
}

/**
 * The version of each macro in the macro files' text (as macroFilesText joins it): a hash of the
 * statement from its first code on, so a comment above a macro can change without flagging it.
 */
export function macroVersions(macroFilesText: string): MacroVersions {
  const parts = macroFilesText === '' ? [] : macroFilesText.split('\0');
  const versions: MacroVersions = {};
  // What each macro and temp relation reads: its code (comments and literals blanked) and its text.
  const bodies = new Map<string, { code: string; text: string }>();
  const relations = new Map<
    string,
    { file: string; kind: 'view' | 'table'; texts: string[]; codes: string[] }
  >();
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const file = `macros/${parts[i]}`;
    const others: string[] = [];
    const everyModel: string[] = [];
    for (const statement of macroStatements(parts[i + 1] ?? '')) {
      const text = statement.text.slice(statement.code.search(/\S/)).trim();
      // `main.name`, `temp.main.name` and a quoted name all make the macro `name` (DuckDB ignores case).
      const name = createdMacroName(statement)?.toLowerCase();
      if (name !== undefined) {
        versions[name] = { file, fingerprint: hashOf(text), calls: [] };
        bodies.set(name, { code: statement.code, text });
        continue;
      }
      others.push(text);
      const relation = tempRelationOf(statement);
      if (relation === undefined) {
        everyModel.push(text);
        continue;
      }
      // A later file's CREATE OR REPLACE makes the relation the models read: its file is the one named.
      const made = relations.get(relation.name) ?? { file, kind: relation.kind, texts: [], codes: [] };
      relations.set(relation.name, {
        file,
        kind: relation.kind,
        texts: [...made.texts, text],
        codes: [...made.codes, statement.code],
      });
    }
    if (others.length > 0) {
      versions[file] = {
        file,
        fingerprint: hashOf(others.join(';')),
        calls: [],
        everyModel: everyModel.length > 0 ? hashOf(everyModel.join(';')) : '',
      };
    }
  }
  const macroNames = [...bodies.keys()];
  for (const [name, { file, kind, texts, codes }] of relations) {
    versions[tempKey(name)] = { file, fingerprint: hashOf(texts.join(';')), calls: [], kind };
    bodies.set(tempKey(name), { code: codes.join(';'), text: texts.join(';') });
  }
  const relationNames = [...relations.keys()];
  for (const [key, { code, text }] of bodies) {
    const version = versions[key];
    if (version === undefined) continue;
    version.calls = [
      ...macroNames.filter((other) => other !== key && calls(code, other, text)),
      ...relationNames.filter((other) => tempKey(other) !== key && readsRelation(text, other)).map(tempKey),
    ];
  }
  return versions;
}

/** `CREATE [OR REPLACE] TEMP VIEW|TABLE [IF NOT EXISTS]` or `DROP VIEW|TABLE [IF EXISTS]`, before the name. */
const TEMP_RELATION =
  /^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP|TEMPORARY)\s+(VIEW|TABLE)(?:\s+IF\s+NOT\s+EXISTS)?|DROP\s+(VIEW|TABLE)(?:\s+IF\s+EXISTS)?)(?=\s)/i;

/**
 * The temp view or table a statement creates or drops, lower case (DuckDB's names are case-insensitive),
 * as the last part of `temp.main.name`. The name is read from the text: the code has quoted names blanked.
 */
function tempRelationOf(statement: {
  text: string;
  code: string;
}): { name: string; kind: 'view' | 'table' } | undefined {
  const prefix = TEMP_RELATION.exec(statement.code);
  if (!prefix) return undefined;
  let at = prefix[0].length;
  // Blanked comments are spaces in the code; a quoted name is too, but starts with a quote in the text.
  while (at < statement.code.length && /\s/.test(statement.code[at] ?? '') && statement.text[at] !== '"')
    at++;
  const name = lastNamePart(statement.text.slice(at));
  const kind = (prefix[1] ?? prefix[2] ?? '').toLowerCase() === 'view' ? 'view' : 'table';
  return name === undefined ? undefined : { name: name.toLowerCase(), kind };
}

/** The MacroVersions key of a macro file's temp view or table. */
function tempKey(name: string): string {
  return `temp.${name}`;
}

function isTempKey(key: string): boolean {
  return key.startsWith('temp.') && !isFileKey(key);
}

/**
 * Whether a macro's or temp view's text reads the temp relation `name` (bare, quoted, or under `temp.`):
 * from the text, as the code has quoted names blanked, so a comment inside it counts as a read (a doubt
 * notes the model); `silver.name` is another table.
 */
function readsRelation(text: string, name: string): boolean {
  const quoted = `"${name.replaceAll('"', '""')}"`;
  return new RegExp(
    `(?<![\\w.$"])(?:temp\\s*\\.\\s*(?:main\\s*\\.\\s*)?)?(?:${escapeRegExp(name)}|${escapeRegExp(quoted)})(?![\\w$"])`,
    'i',
  ).test(text);
}

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
    const reads = new Set(graph.byId.get(id)?.bareNames);
    const used = macrosUsedBy(sql, reads, current);
    const changedDates = new Map<string, string[]>();
    for (const row of built) {
      if (row.model !== id || inRun.has(row.d)) continue;
      let old = parsed.get(row.macros);
      if (old === undefined) {
        old = JSON.parse(row.macros) as MacroVersions;
        parsed.set(row.macros, old);
      }
      const changed = [...used, ...macrosUsedBy(sql, reads, old)]
        .filter((name, i, all) => all.indexOf(name) === i)
        .filter((name) => changedSince(name, old, current))
        .sort();
      if (changed.length === 0) continue;
      const key = changed.map((name) => describeMacro(name, old, current)).join(', ');
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

/**
 * Whether the version `name` (a key of either) differs between a run's recorded versions and the current
 * ones. A file's key compares the statements that define no macro, temp view or table; in a run recorded
 * before those had keys of their own, all its statements that define no macro, as it recorded them.
 */
function changedSince(name: string, old: MacroVersions, current: MacroVersions): boolean {
  const before = old[name];
  const now = current[name];
  if (isFileKey(name)) {
    if (before !== undefined && before.everyModel === undefined)
      return before.fingerprint !== now?.fingerprint;
    return (before?.everyModel ?? '') !== (now?.everyModel ?? '');
  }
  // A temp relation the older run recorded within its file's key is judged by that key, above.
  const file = now?.file;
  if (before === undefined && isTempKey(name) && file !== undefined && isOlderFileKey(old[file]))
    return false;
  return before?.fingerprint !== now?.fingerprint;
}

/** Whether a file's version was recorded before temp views and tables had keys of their own. */
function isOlderFileKey(version: MacroVersion | undefined): boolean {
  return version !== undefined && version.everyModel === undefined;
}

function describeMacro(name: string, old: MacroVersions, current: MacroVersions): string {
  const version = current[name] ?? old[name];
  if (isFileKey(name)) {
    return isOlderFileKey(old[name])
      ? `the statements of ${name} that define no macro`
      : `the statements of ${name} that define no macro, temp view or temp table`;
  }
  if (isTempKey(name))
    return `the temp ${version?.kind ?? 'view'} ${name.slice('temp.'.length)} (${version?.file})`;
  return `macro ${name} (${version?.file})`;
}

/** Whether a key of MacroVersions is a file's statements that define no macro (macro names are words). */
function isFileKey(name: string): boolean {
  return name.includes('/');
}

/**
 * Whether `code` calls the macro `name` by its bare name, or `text` (the code's text with quoted names,
 * where the code has them blanked) by its quoted one: `"Add One"(x)`.
 */
function calls(code: string, name: string, text = code): boolean {
  const bare = new RegExp(`(?<![\\w$"])${escapeRegExp(name)}\\s*\\(`, 'i');
  const quoted = new RegExp(`"${escapeRegExp(name.replaceAll('"', '""'))}"\\s*\\(`, 'i');
  return bare.test(code) || quoted.test(text);
}

/**
 * The macros a model's SQL calls and the macro files' temp views and tables it reads (`reads`, lower-case
 * names), with those they call and read in turn, and every file's other statements that define no macro
 * (a SET may change any model).
 */
export function macrosUsedBy(sql: string, reads: Set<string>, versions: MacroVersions): string[] {
  const names = Object.keys(versions);
  const used = new Set(
    names.filter((name) =>
      isFileKey(name) ? true : isTempKey(name) ? reads.has(name.slice('temp.'.length)) : calls(sql, name),
    ),
  );
  for (const name of used) for (const callee of versions[name]?.calls ?? []) used.add(callee);
  return [...used];
}
