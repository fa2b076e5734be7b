import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BrokenModel,
  type ChangedRow,
  type JsonRow,
  Layer,
  type ModelDiff,
  type ModelPreview,
  type ModelSource,
  type TableDiff,
} from '../api/contract.ts';
import { LakehouseError } from '../api/errors.ts';
import { type Db, errorWithoutStatement, ident, jsonRows, literal } from '../db/duckdb.ts';
import type { Engine } from '../engine.ts';
import {
  buildPartialGraph,
  downstreamOf,
  refuseUndeclaredVariables,
  replaceGraph,
  sqlReferences,
} from '../graph/dependencies.ts';
import { headerColumnError, keyMatch } from '../materializations/context.ts';
import { isMacroFileError } from '../project/macros.ts';
import { type Model, parseModelFile, sqlStartLineOf } from '../project/models.ts';
import { runClockOrder } from '../warehouse/metadata.ts';
import { relationExists, relationOf } from './star-schema.ts';
import { suggestLayerTable } from './table-suggestion.ts';

function findModel(engine: Engine, id: string): Model {
  const model = engine.models.find((m) => m.id === id);
  if (!model) throw noModelNamed(engine, id);
  return model;
}

function noModelNamed(engine: Engine, id: string): LakehouseError {
  const names = [...engine.models.map((m) => m.id), ...brokenModels(engine).map((b) => b.id)];
  return new LakehouseError(
    'INVALID_ARGUMENT',
    `No model named "${id}". Models: ${[...new Set(names)].join(', ')}`,
    {
      model: id,
    },
  );
}

/**
 * Model files out of the graph by an error of their own (a header that does not parse, SQL that does not
 * bind, a cycle), each once with its first error: the app lists them where the model would be, so the
 * file can be opened, fixed and saved there rather than vanish from the views.
 */
export function brokenModels(engine: Engine): BrokenModel[] {
  const inGraph = new Set(engine.graph.nodes.map((n) => n.model.id));
  const found = new Map<string, BrokenModel>();
  for (const error of engine.modelErrors) {
    const { model, models, file } = error.details;
    const ids =
      typeof model === 'string'
        ? [model]
        : Array.isArray(models)
          ? models.filter((m): m is string => typeof m === 'string')
          : [];
    for (const id of ids) {
      if (inGraph.has(id) || found.has(id)) continue;
      // A file that parses names its own path; one that does not, the error does.
      const path =
        engine.models.find((m) => m.id === id)?.file ?? (typeof file === 'string' ? file : undefined);
      const layer = Layer.safeParse(id.split('.')[0]);
      if (path === undefined || !layer.success) continue;
      const { code, message, details } = error;
      found.set(id, { id, layer: layer.data, file: path, error: { code, message, details } });
    }
  }
  return [...found.values()];
}

/** Where a model's file is: a parsed model, or a file that does not parse (which has no Model to find). */
function modelFileOf(engine: Engine, id: string): { id: string; file: string; layer: Layer } {
  const model = engine.models.find((m) => m.id === id) ?? brokenModels(engine).find((b) => b.id === id);
  if (!model) throw noModelNamed(engine, id);
  return { id: model.id, file: model.file, layer: model.layer };
}

/**
 * The model's file as it is on disk (config header and SQL) and, when its latest run ran this text and
 * failed, the text of its last successful run to restore. Pass `db` to read the run records elsewhere
 * than on the engine's reader.
 */
export async function modelSource(engine: Engine, id: string, db: Db = engine.reader): Promise<ModelSource> {
  const model = modelFileOf(engine, id);
  const text = await readFile(join(engine.project.root, model.file), 'utf8');
  // A file whose header does not parse has no SQL start the engine knows: the line after the header's end.
  const sqlStartLine = engine.models.find((m) => m.id === id)?.sqlStartLine ?? sqlStartLineOf(text);
  const [found] = await db.all<{
    ran: string;
    failed_run: string;
    status: string;
    error: string | null;
    good: string | null;
    good_run: string | null;
  }>(
    `SELECT r.text AS ran, r.run_id AS failed_run, runs.status, runs.error, s.text AS good, s.run_id AS good_run
     FROM _lakehouse.model_texts AS r
     JOIN _lakehouse.runs AS runs USING (run_id)
     LEFT JOIN _lakehouse.model_texts AS s ON s.model = r.model AND s.kind = 'succeeded'
     WHERE r.model = $model AND r.kind = 'ran'`,
    { model: model.id },
  );
  // Only a failure of the file as it is: a file changed since (by hand, by git) is not what failed, and a
  // cancel is the user's own stop, not a sign the version is broken.
  const failed = found && found.ran === text && (found.status === 'failed' || found.status === 'aborted');
  const restorable =
    failed && found.good !== null && found.good_run !== null && found.good !== text
      ? { text: found.good, runId: found.good_run, failedRunId: found.failed_run, error: found.error }
      : null;
  return { model: model.id, file: model.file, text, sqlStartLine, restorable };
}

/**
 * An error in the edited SQL, at its line of the file (DuckDB numbers lines within the statement), with
 * DuckDB's hint lines but not its excerpt of the engine's wrapper statement.
 */
function sqlErrorAt(edited: Model, message: string, statementLine: number | undefined): LakehouseError {
  const line = statementLine === undefined ? undefined : edited.sqlStartLine + statementLine - 1;
  return new LakehouseError(
    'MODEL_SQL_ERROR',
    `${line === undefined ? edited.file : `${edited.file}:${line}`}: ${message}`,
    { file: edited.file, line, model: edited.id },
  );
}

/**
 * Parses edited file text as the model's new version and checks its SQL parses; config errors are
 * MODEL_INVALID and SQL syntax errors MODEL_SQL_ERROR at the line of the file.
 */
async function parseEdited(db: Db, engine: Engine, id: string, text: string): Promise<Model> {
  const current = modelFileOf(engine, id);
  const edited = parseModelFile(current.file, text, current.layer);
  const { relations, variables } = await sqlReferences(db, edited.sql, edited.file, edited.sqlStartLine);
  // An undeclared variable reads NULL: a preview would show no rows (or wrong ones) without saying why.
  refuseUndeclaredVariables(edited, variables, Object.keys(engine.project.config.vars));
  if (relations.some((r) => r.startsWith('source.'))) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${edited.file} reads a raw source, which is bound only during a run: preview and edit silver and gold models here, or run it from the pipeline view.`,
      { model: id, relations },
    );
  }
  return edited;
}

async function setRunVariables(db: Db, engine: Engine, date: string): Promise<void> {
  await db.run(`SET VARIABLE etl_date = ${literal(date)}::DATE`);
  for (const [name, value] of Object.entries(engine.project.config.vars)) {
    const sqlValue = typeof value === 'string' ? literal(value) : String(value);
    await db.run(`SET VARIABLE ${ident(name)} = ${sqlValue}`);
  }
}

/** The date a preview runs for: the latest the model has committed, else the latest any model has. */
async function defaultDate(db: Db, engine: Engine, model: string): Promise<string> {
  const latest = await db.scalar<string>(
    `SELECT strftime(max(etl_date), '%Y-%m-%d') FROM _lakehouse.model_dates
     WHERE model = $model OR NOT EXISTS (SELECT 1 FROM _lakehouse.model_dates WHERE model = $model)`,
    { model },
  );
  if (latest) return latest;
  const available = await engine.availableDates();
  const last = available.at(-1);
  if (!last) {
    throw new LakehouseError('SOURCE_MISSING', 'The project has no dates to preview; add source data first.');
  }
  return last;
}

/** Runs `sql` wrapped as a subquery; a DuckDB error becomes MODEL_SQL_ERROR at the file's line. */
async function runWrapped(db: Db, edited: Model, wrap: (inner: string) => string) {
  try {
    // No newline before the body, so DuckDB's "LINE n" counts lines of the model's SQL.
    return await db.connection.runAndReadAll(wrap(`${edited.sql}\n`));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const line = /LINE (\d+):/.exec(message);
    const text = errorWithoutStatement(message);
    const hinted = await suggestLayerTable(db, text).catch(() => text);
    throw sqlErrorAt(edited, hinted, line ? Number(line[1]) : undefined);
  }
}

/**
 * Runs an edited model's SELECT for one date on the committed data, through a reading connection (the
 * app gives previews one of their own, to interrupt), writing nothing: its first `limit` rows and
 * whether more follow. `wanted` says whether the preview is still wanted (not cancelled meanwhile).
 */
export async function previewModel(
  engine: Engine,
  input: { model: string; text: string; date?: string; limit: number },
  db: Db = engine.reader,
  wanted: () => boolean = () => true,
): Promise<ModelPreview> {
  const started = Date.now();
  const edited = await parseEdited(db, engine, input.model, input.text);
  const date = input.date ?? (await defaultDate(db, engine, edited.id));
  await setRunVariables(db, engine, date);
  // Refused as Save & run refuses it: a preview must not pass an edit the save then turns down.
  await checkEdited(db, engine, edited, true);
  // A cancel during the checks interrupted one of their short statements, not the query to come.
  if (!wanted()) throw new LakehouseError('QUERY_CANCELLED', 'The preview was cancelled.');
  const result = await runWrapped(
    db,
    edited,
    (inner) => `SELECT * FROM (${inner}) AS __preview LIMIT ${input.limit + 1}`,
  );
  const rows = jsonRows(result) as JsonRow[];
  const types = result.columnTypes().map((t) => t.toString());
  return {
    date,
    columns: result.columnNames().map((name, i) => ({ name, type: types[i] ?? 'UNKNOWN' })),
    rows: rows.slice(0, input.limit),
    hasMore: rows.length > input.limit,
    durationMs: Date.now() - started,
  };
}

/**
 * What Save & run checks of an edit beyond parsing, which Preview checks the same way: the header names
 * only columns the SQL outputs (it binds, with the run variables set), and the graph stays acyclic. The
 * models and graph as they would be with the edit.
 */
async function checkEdited(db: Db, engine: Engine, edited: Model, preview = false) {
  const described = await runWrapped(db, edited, (inner) => `DESCRIBE SELECT * FROM (${inner}) AS __check`);
  // A header naming a column the edited SQL does not output would only fail (or be ignored) at the next run.
  const columns = (jsonRows(described) as { column_name: string }[]).map((r) => r.column_name);
  const missing = headerColumnError(edited, columns);
  if (missing) throw missing;
  // A file that did not parse joins the models with its fixed text.
  const models = engine.models.some((m) => m.id === edited.id)
    ? engine.models.map((m) => (m.id === edited.id ? edited : m))
    : [...engine.models, edited];
  // Every parsed model is in the graph now; only files that do not parse at all (and a broken macro file)
  // stay broken.
  const parsed = new Set(models.map((m) => m.id));
  const unparsed = engine.modelErrors.filter(
    (e) => isMacroFileError(e) || (typeof e.details.model === 'string' && !parsed.has(e.details.model)),
  );
  const { sources, vars } = engine.project.config;
  const { graph, errors } = await buildPartialGraph(
    db,
    models,
    Object.keys(sources),
    Object.keys(vars),
    unparsed,
  );
  // A preview is refused only for the edited model's own errors (a cycle through it): another model's
  // broken file stops runs, not a look at this one.
  const about = (e: LakehouseError) =>
    e.details.model === edited.id ||
    (Array.isArray(e.details.models) && e.details.models.includes(edited.id));
  const refusal = preview ? errors.find(about) : errors[0];
  if (refusal) throw refusal;
  return { models, unparsed, graph };
}

/**
 * Saves an edited model after checking it parses, binds (on the latest date) and keeps the graph
 * acyclic; then swaps the engine's model and graph in place, so the next run uses the new SQL.
 * Call it on the writer connection with no run in progress. Returns the gold tables it affects.
 */
export async function saveModel(engine: Engine, id: string, text: string, base?: string): Promise<string[]> {
  const db = engine.db;
  const edited = await parseEdited(db, engine, id, text);
  const current = await readFile(join(engine.project.root, edited.file), 'utf8').catch(() => undefined);
  if (base !== undefined && current !== base) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${edited.file} changed since this edit began (saved from another window, or edited on disk); saving ` +
        'would overwrite that change.',
      { model: id, file: edited.file, reason: 'changed-since-read' },
    );
  }
  await setRunVariables(db, engine, await defaultDate(db, engine, id));
  const { models, unparsed, graph } = await checkEdited(db, engine, edited);
  await writeFile(join(engine.project.root, edited.file), text, 'utf8');
  engine.models.splice(0, engine.models.length, ...models);
  engine.modelErrors.splice(0, engine.modelErrors.length, ...unparsed);
  replaceGraph(engine.graph, graph);
  const affected = [id, ...downstreamOf(engine.graph, id)];
  return engine.models.filter((m) => affected.includes(m.id) && m.layer === 'gold').map((m) => m.id);
}

/**
 * A warehouse from before runs recorded model texts knows no last good version of the model: the file as
 * it is before a save stands for it when the model's latest run succeeded, as the editor always assumed.
 * Call it on the writer connection, before the save.
 */
export async function seedSucceededText(engine: Engine, id: string, text: string): Promise<void> {
  const db = engine.db;
  const known = await db.scalar<number | bigint>(
    'SELECT count(*) FROM _lakehouse.model_texts WHERE model = $model',
    { model: id },
  );
  if (Number(known ?? 0) > 0) return;
  const [latest] = await db.all<{ run_id: string; status: string }>(
    `SELECT run_id, r.status FROM _lakehouse.model_runs AS m JOIN _lakehouse.runs AS r USING (run_id)
     WHERE m.model = $model ORDER BY ${runClockOrder('r')} DESC, m.finished_at DESC LIMIT 1`,
    { model: id },
  );
  if (latest?.status !== 'success') return;
  await db.run(`INSERT INTO _lakehouse.model_texts VALUES ($model, 'succeeded', $runId, $text)`, {
    model: id,
    runId: latest.run_id,
    text,
  });
}

/** The model's file text now, or undefined when it cannot be read. */
export function modelFileText(engine: Engine, id: string): Promise<string | undefined> {
  return readFile(join(engine.project.root, modelFileOf(engine, id).file), 'utf8').catch(() => undefined);
}

/**
 * Undoes a save whose run was refused before anything ran (dates an upstream model has not committed, a
 * bad selection): the file gets back the text it held, unless something else has written it since, and
 * the engine's models are read again (whether they changed). Call it on the writer connection.
 */
export async function unsaveModel(
  engine: Engine,
  id: string,
  saved: string,
  previous: string,
): Promise<boolean> {
  const file = join(engine.project.root, modelFileOf(engine, id).file);
  if ((await readFile(file, 'utf8').catch(() => undefined)) !== saved) return false;
  await writeFile(file, previous, 'utf8');
  return engine.reloadModels();
}

const SNAPSHOTS = 'lakehouse_snapshots';

export interface Snapshot {
  token: string;
  /** Gold table id → its snapshot relation, or null when it did not exist before the run. */
  tables: Map<string, string | null>;
}

/**
 * Copies the gold tables a run will change into an in-memory database, to diff after the run. A copy,
 * not a fingerprint, so changed rows can be shown with their values before and after.
 */
export async function snapshotTables(engine: Engine, tables: string[]): Promise<Snapshot> {
  const db = engine.db;
  await db.run(`ATTACH IF NOT EXISTS ':memory:' AS ${SNAPSHOTS}`);
  const token = `s${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const snapshot: Snapshot = { token, tables: new Map() };
  for (const id of tables) {
    const model = findModel(engine, id);
    if (!(await relationExists(engine.db, model))) {
      snapshot.tables.set(id, null);
      continue;
    }
    const copy = `${SNAPSHOTS}.main.${ident(`${token}__${model.name}`)}`;
    await db.run(`CREATE TABLE ${copy} AS SELECT * FROM ${relationOf(model)}`);
    snapshot.tables.set(id, copy);
  }
  return snapshot;
}

export async function dropSnapshot(engine: Engine, snapshot: Snapshot): Promise<void> {
  for (const copy of snapshot.tables.values()) {
    if (copy) await engine.db.run(`DROP TABLE IF EXISTS ${copy}`);
  }
}

/** The key rows of a table are compared by: its history key for SCD2/bridge, else its unique key. */
function diffKey(model: Model): string[] {
  const { materialized, unique_key, surrogate_key } = model.config;
  if (materialized === 'scd2') return [...(unique_key ?? []), 'valid_from'];
  if (materialized === 'bridge' && surrogate_key) return [surrogate_key];
  return unique_key ?? [];
}

const EXAMPLES = 5;

/**
 * For a column whose type the run changed: SQL true when its value differs, `b` and `a` being its
 * before and after. hash() tells 1 from 1.0 and IS DISTINCT FROM casts both sides to a common type, so
 * rows were counted changed with no column named. The value is the same when each side, cast to the
 * other's type, equals the other: 1 and 1.0, not 1.5 and 2 (DOUBLE to INTEGER), nor '01' and 1. Types
 * with no cast between them are compared as text.
 */
async function retypedDiffers(
  db: Db,
  beforeType: string,
  afterType: string,
): Promise<(b: string, a: string) => string> {
  try {
    await db.all(
      `SELECT TRY_CAST(NULL::${beforeType} AS ${afterType}), TRY_CAST(NULL::${afterType} AS ${beforeType})`,
    );
  } catch {
    return (b, a) => `CAST(${b} AS VARCHAR) IS DISTINCT FROM CAST(${a} AS VARCHAR)`;
  }
  return (b, a) =>
    `(TRY_CAST(${b} AS ${afterType}) IS DISTINCT FROM ${a} OR ${b} IS DISTINCT FROM TRY_CAST(${a} AS ${beforeType}))`;
}

function parseJsonRow(value: unknown): JsonRow {
  return typeof value === 'string' ? (JSON.parse(value) as JsonRow) : {};
}

async function diffTable(engine: Engine, id: string, before: string | null): Promise<TableDiff> {
  const db = engine.db;
  const model = findModel(engine, id);
  const after = relationOf(model);
  const afterExists = await relationExists(engine.db, model);
  if (!before && !afterExists) {
    return {
      ...{ table: id, key: [], rowsBefore: 0, rowsAfter: 0, added: 0, removed: 0, changed: 0 },
      ...{ changedColumns: {}, addedColumns: [], removedColumns: [] },
      ...{ addedExamples: [], removedExamples: [], changedExamples: [] },
    };
  }
  // A table the run created is diffed against an empty one of its shape (and the other way round).
  const beforeRel = before ?? `(SELECT * FROM ${after} LIMIT 0)`;
  const afterRel = afterExists ? after : `(SELECT * FROM ${before} LIMIT 0)`;
  const count = async (sql: string) => Number((await db.scalar<number | bigint>(sql)) ?? 0);
  const describe = (rel: string) =>
    db.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${rel}`);
  const afterDescribed = await describe(afterRel);
  const beforeDescribed = await describe(beforeRel);
  const afterColumns = afterDescribed.map((c) => c.column_name);
  const beforeColumns = beforeDescribed.map((c) => c.column_name);
  const columnTypes: Record<string, string> = {};
  for (const c of [...beforeDescribed, ...afterDescribed]) columnTypes[c.column_name] = c.column_type;
  const beforeTypes = new Map(beforeDescribed.map((c) => [c.column_name, c.column_type]));
  const common = afterColumns.filter((c) => beforeColumns.includes(c));
  const key = diffKey(model).filter((k) => common.includes(k));
  const rowsBefore = await count(`SELECT count(*) FROM ${beforeRel}`);
  const rowsAfter = await count(`SELECT count(*) FROM ${afterRel}`);
  const json = async (sql: string) => (await db.all<{ row: string }>(sql)).map((r) => parseJsonRow(r.row));
  // Rows are compared on the shared columns only, so a renamed or dropped column must be named apart.
  const base = {
    ...{ table: id, key, rowsBefore, rowsAfter },
    addedColumns: afterColumns.filter((c) => !beforeColumns.includes(c)),
    removedColumns: beforeColumns.filter((c) => !afterColumns.includes(c)),
    retypedColumns: Object.fromEntries(
      common.flatMap((c) => {
        const was = beforeTypes.get(c);
        return was && was !== columnTypes[c] ? [[c, { before: was, after: columnTypes[c] as string }]] : [];
      }),
    ),
    columnTypes,
  };

  if (key.length === 0) {
    // No key: rows are compared whole, so a change shows as one row removed and one added.
    const list = common.map(ident).join(', ');
    const added = `SELECT ${list} FROM ${afterRel} EXCEPT ALL SELECT ${list} FROM ${beforeRel}`;
    const removed = `SELECT ${list} FROM ${beforeRel} EXCEPT ALL SELECT ${list} FROM ${afterRel}`;
    return {
      ...base,
      added: await count(`SELECT count(*) FROM (${added})`),
      removed: await count(`SELECT count(*) FROM (${removed})`),
      changed: 0,
      changedColumns: {},
      addedExamples: await json(`SELECT to_json(x)::VARCHAR AS row FROM (${added}) AS x LIMIT ${EXAMPLES}`),
      removedExamples: await json(
        `SELECT to_json(x)::VARCHAR AS row FROM (${removed}) AS x LIMIT ${EXAMPLES}`,
      ),
      changedExamples: [],
    };
  }
  // One narrow pass (key and a hash of the other columns) finds the keys that differ; per-column
  // flags then come from joining only the changed keys back to both sides.
  const match = keyMatch(key, 'b', 'a');
  const compared = common.filter((c) => !key.includes(c));
  const keyList = key.map(ident).join(', ');
  // Columns of one type on both sides go into the hash; those the run retyped are carried and compared apart.
  const retyped = compared.filter((c) => beforeTypes.get(c) !== columnTypes[c]);
  const hashed = compared.filter((c) => !retyped.includes(c));
  const retypedCompare = new Map<string, (b: string, a: string) => string>();
  for (const c of retyped) {
    retypedCompare.set(c, await retypedDiffers(db, beforeTypes.get(c) as string, columnTypes[c] as string));
  }
  const differs = (c: string, b: string, a: string) =>
    retypedCompare.get(c)?.(b, a) ?? `${b} IS DISTINCT FROM ${a}`;
  const rowHash = hashed.length ? `hash(${hashed.map(ident).join(', ')})` : '0';
  const carried = retyped.map((c, i) => `, ${ident(c)} AS __r${i}`).join('');
  const retypedChanged = retyped.map((c, i) => differs(c, `b.__r${i}`, `a.__r${i}`));
  const keyColumns = key.map((k) => `coalesce(a.${ident(k)}, b.${ident(k)}) AS ${ident(k)}`).join(', ');
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __diff_keys AS
     SELECT ${keyColumns}, CASE WHEN b.__hash IS NULL THEN 'added' WHEN a.__hash IS NULL THEN 'removed' END AS __kind
     FROM (SELECT ${keyList}, ${rowHash} AS __hash${carried} FROM ${beforeRel}) AS b
     FULL OUTER JOIN (SELECT ${keyList}, ${rowHash} AS __hash${carried} FROM ${afterRel}) AS a ON ${match}
     WHERE ${['b.__hash IS DISTINCT FROM a.__hash', ...retypedChanged].join(' OR ')}`,
  );
  const changedKeys = `(SELECT ${keyList} FROM __diff_keys WHERE __kind IS NULL) AS d`;
  const flags = compared.map((c, i) => `${differs(c, `b.${ident(c)}`, `a.${ident(c)}`)} AS __c${i}`);
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __diff AS
     SELECT ${keyList}, __kind${compared.map((_, i) => `, FALSE AS __c${i}`).join('')} FROM __diff_keys WHERE __kind IS NOT NULL
     UNION ALL BY NAME
     SELECT ${key.map((k) => `d.${ident(k)}`).join(', ')}, NULL::VARCHAR AS __kind${flags.length ? `, ${flags.join(', ')}` : ''}
     FROM ${changedKeys} JOIN ${beforeRel} AS b ON ${keyMatch(key, 'd', 'b')} JOIN ${afterRel} AS a ON ${keyMatch(key, 'd', 'a')}`,
  );
  await db.run('DROP TABLE IF EXISTS temp.main.__diff_keys');
  try {
    const [counts] = await db.all<Record<string, number>>(
      `SELECT count(*) FILTER (WHERE __kind = 'added')::DOUBLE AS added,
              count(*) FILTER (WHERE __kind = 'removed')::DOUBLE AS removed,
              count(*) FILTER (WHERE __kind IS NULL)::DOUBLE AS changed
              ${compared.map((_, i) => `, count(*) FILTER (WHERE __kind IS NULL AND __c${i})::DOUBLE AS c${i}`).join('')}
       FROM __diff`,
    );
    const changedColumns: Record<string, number> = {};
    compared.forEach((c, i) => {
      const n = Number(counts?.[`c${i}`] ?? 0);
      if (n > 0) changedColumns[c] = n;
    });
    const order = key.map(ident).join(', ');
    const flagList = compared.map((_, i) => `, __c${i}`).join('');
    const sample = (kind: string) =>
      `(SELECT ${order}${flagList} FROM __diff WHERE __kind ${kind} ORDER BY ${order} LIMIT ${EXAMPLES})`;
    const sampleMatch = (alias: string) => keyMatch(key, 'd', alias);
    const keyStruct = `{${key.map((k) => `${literal(k)}: d.${ident(k)}`).join(', ')}}`;
    const changedRows = await db.all<
      { key: string; before: string; after: string } & Record<string, unknown>
    >(
      `SELECT to_json(${keyStruct})::VARCHAR AS key, to_json(b)::VARCHAR AS before, to_json(a)::VARCHAR AS after${compared.map((_, i) => `, d.__c${i}`).join('')}
       FROM ${sample('IS NULL')} AS d JOIN ${beforeRel} AS b ON ${sampleMatch('b')} JOIN ${afterRel} AS a ON ${sampleMatch('a')}
       ORDER BY ${key.map((k) => `d.${ident(k)}`).join(', ')}`,
    );
    const changedExamples: ChangedRow[] = changedRows.map((r) => {
      const beforeRow = parseJsonRow(r.before);
      const afterRow = parseJsonRow(r.after);
      return {
        key: parseJsonRow(r.key),
        before: beforeRow,
        after: afterRow,
        // As counted: a retyped column's 1 and 1.0 (or a date and its midnight) are the same value.
        columns: compared.filter((_, i) => r[`__c${i}`] === true),
      };
    });
    return {
      ...base,
      added: counts?.added ?? 0,
      removed: counts?.removed ?? 0,
      changed: counts?.changed ?? 0,
      changedColumns,
      addedExamples: await json(
        `SELECT to_json(a)::VARCHAR AS row FROM ${sample("= 'added'")} AS d JOIN ${afterRel} AS a ON ${sampleMatch('a')}`,
      ),
      removedExamples: await json(
        `SELECT to_json(b)::VARCHAR AS row FROM ${sample("= 'removed'")} AS d JOIN ${beforeRel} AS b ON ${sampleMatch('b')}`,
      ),
      changedExamples,
    };
  } finally {
    await db.run('DROP TABLE IF EXISTS temp.main.__diff');
  }
}

/** What the run changed in each snapshotted table; drops the snapshot. Call after the run has ended. */
export async function diffSnapshot(engine: Engine, snapshot: Snapshot, runId: string): Promise<ModelDiff> {
  try {
    const status = await engine.db.scalar<string>(
      `SELECT status FROM _lakehouse.runs WHERE run_id = $runId`,
      {
        runId,
      },
    );
    const tables: TableDiff[] = [];
    for (const [id, before] of snapshot.tables) tables.push(await diffTable(engine, id, before));
    return {
      runId,
      status: status === 'success' || status === 'cancelled' ? status : 'failed',
      tables,
    };
  } finally {
    await dropSnapshot(engine, snapshot);
  }
}
