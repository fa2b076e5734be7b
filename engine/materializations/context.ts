import { counted, inNumber } from '../api/counted.ts';
import { describeRun, LakehouseError, runOfDates } from '../api/errors.ts';
import type { Db } from '../db/duckdb.ts';
import { ident } from '../db/duckdb.ts';
import { isLosslessCast } from '../db/lossless-cast.ts';
import type { PartitionStore } from '../lake/partitions.ts';
import type { CatalogTitle, ShadowedTitle, TitleIndex } from '../normalize/matcher.ts';
import { didYouMean } from '../project/config-issues.ts';
import type { Model } from '../project/models.ts';

/**
 * Where a model's staged rows live. `table`: a temp table. `parquet`: a scratch Parquet file behind a
 * temp view. Inside the date's transaction DuckDB scans a table written in that transaction on one
 * thread, and a Parquet file on every core (BENCHMARKS.md), so a big stage read several times (the
 * fact: key delete, insert, ten tests) is cheaper through a file.
 */
export type StageStorage = 'table' | 'parquet';

/** Where `restage` put the rows, and a relation over them with a stable row number `__row`. */
export interface StagedRows {
  storage: StageStorage;
  numbered: string;
}

/** What a materialization gets to write one model for one date. */
export interface MaterializeContext {
  db: Db;
  model: Model;
  etlDate: string;
  /** The run this materialization belongs to (what SCD1's change log records). */
  runId: string;
  /** Temp relation that `restage` fills with the rows the model's SQL produces for a date. */
  stage: string;
  /** Quoted `"schema"."table"` the model writes. */
  target: string;
  partitions: PartitionStore;
  /** Title indexes built this session, by catalog fingerprint (building one costs seconds on big catalogs). */
  titleIndexes: Map<string, TitleIndex>;
  /** Reference catalogs read this run, by relation (a source is bound once per run: 0.2 s a date saved). */
  catalogs: Map<string, LoadedCatalog>;
  /**
   * Runs the model's SQL for a date into `stage`; materializers call it when they need the rows staged.
   * Default storage: a temp table (see StageStorage for when a Parquet file is better).
   */
  restage(etlDate: string, storage?: StageStorage): Promise<StagedRows>;
  /** Replaces the stage's rows with those of `selectSql` (which may read the stage), in the same storage. */
  replaceStage(selectSql: string): Promise<void>;
  /** Dates this model has already committed. */
  committedDates: string[];
  /** The dates this run goes through, in order. */
  runDates: string[];
  /**
   * Of these dates, the partitions of the model's partitioned inputs that lack a column the input has
   * now (written before the column was added or renamed): a replay would read NULL there.
   */
  staleInputs?(dates: string[]): Promise<{ input: string; dates: string[]; columns: string[] }[]>;
  /**
   * Of these dates, those a partitioned input of the model holds no partition of (an input renamed or
   * added since, or forgotten by repair) that this run does not write first: a replay would read no rows.
   */
  missingInputs?(dates: string[]): Promise<{ input: string; dates: string[] }[]>;
  /** The dates the model's partitioned inputs have committed (a new history model starts after some). */
  inputDates?(): Promise<string[]>;
  /** The models holding this one's surrogate keys in rows of earlier dates, with their dates this run does not run. */
  keyReaders?(): Promise<{ model: string; dates: string[] }[]>;
  /** Whether the project has a model of this id now (a quarantine table's owner may be gone). */
  hasModel?(id: string): boolean;
  /**
   * The upstream warehouse models (dimensions) that hold no date as late as `through` yet but reach it
   * later in this run, each with the latest date it holds (none: absent). A history replay to `through`
   * now would join their incomplete rows.
   */
  inputsCatchingUp?(through: string): Promise<{ model: string; through?: string }[]>;
  /**
   * The models of this run downstream of this one that keep what they read on each date (all but
   * `table` models, which the run's last date rebuilds from the final state).
   */
  readersInRun?(): string[];
}

/**
 * A dimension created anew hands out surrogate keys afresh (in another order than the table it
 * replaces: a renamed or dropped and restored model). Readers' rows of dates this run does not rewrite
 * (facts, the bridge) hold the old keys and would join to other members, silently, so the date is
 * refused with what to run instead.
 */
export async function refuseFreshKeysUnderOldReaders(
  ctx: MaterializeContext,
  surrogateKey: string,
): Promise<void> {
  const stale = ((await ctx.keyReaders?.()) ?? []).filter((r) => r.dates.length > 0);
  if (stale.length === 0) return;
  // From the first date to the last any of them holds or this run goes to: one run rewrites them all.
  const dates = [...new Set([...stale.flatMap((r) => r.dates), ctx.etlDate, ...ctx.runDates])].sort();
  const held = stale.map((r) => `${r.model} holds ${r.dates.join(', ')}`).join('; ');
  const all = runOfDates(dates);
  throw new LakehouseError(
    'MODEL_INVALID',
    `${ctx.model.id} is a new table and numbers its ${surrogateKey} afresh, but ${held} with ${surrogateKey} ` +
      'values from the table it replaces (renamed, or dropped and restored): those rows would point at other ' +
      `members. Run every date in one run, so they are rewritten with the new keys: ${describeRun(all)}. ` +
      'If that run stops early, run it again: the dates it has not reached hold the old keys until then.',
    { model: ctx.model.id, readers: stale, suggestedRun: all },
  );
}

export interface MaterializeOutcome {
  rowsIn: number;
  rowsOut: number;
  duplicatesRemoved: number;
  quarantined: number;
  /** A relation holding the rows this run wrote, for the data tests. */
  testRelation: string;
  /** Relation the SCD-invariant test checks (whole history table). */
  historyRelation?: string;
  /** Key columns the materializer verified unique over `testRelation` (see dedupeStage). */
  uniqueKeys?: string[];
  /** After a history replay: the latest date `testRelation` now holds, later than the run's date. */
  heldThrough?: string;
  /** Committed dates besides the run's that a replay rebuilt: the run history then says this run built them. */
  replayedDates?: string[];
  warnings: string[];
  /**
   * Those of the warnings that explain a data test failing on this run (e.g. a column just added), and
   * whether rebuilding the table whole from every date would fill what such a test finds missing.
   */
  testHints?: TestHints;
}

/** A title catalog as the matcher takes it, with the fingerprint its cached matches are keyed by. */
export interface LoadedCatalog {
  titles: CatalogTitle[];
  fingerprint: string;
  /** Titles the matcher ignores for sharing another's slug with other genres (see shadowedTitles). */
  shadowed: ShadowedTitle[];
}

export interface TestHints {
  notes: string[];
  rebuild?: boolean;
}

export type Materializer = (ctx: MaterializeContext) => Promise<MaterializeOutcome>;

export async function countRows(db: Db, relation: string): Promise<number> {
  return Number((await db.scalar<number | bigint>(`SELECT count(*) FROM ${relation}`)) ?? 0);
}

export async function columnsOf(db: Db, relation: string): Promise<{ name: string; type: string }[]> {
  const rows = await db.all<{ column_name: string; column_type: string }>(
    `DESCRIBE SELECT * FROM ${relation}`,
  );
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

/** The relation's column types by lower-case name, as DuckDB binds names. */
export async function columnTypesOf(db: Db, relation: string): Promise<Map<string, string>> {
  return new Map((await columnsOf(db, relation)).map((c) => [c.name.toLowerCase(), c.type]));
}

/**
 * Column names the engine's own statements use: DuckDB's `rowid` and Parquet `file_row_number` (which a
 * column of that name would shadow, so repeats or merges would pick the wrong rows), and `__` names
 * (stage and merge helpers). A model emitting one is refused before anything is written.
 */
function reservedColumn(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'rowid' || lower === 'file_row_number' || name.startsWith('__');
}

/**
 * Fails with MODEL_INVALID before anything is written when the model's SQL emits a reserved name, or
 * when its header names a column the SQL does not output (see headerColumnError).
 */
export async function checkOutputColumns(db: Db, model: Model): Promise<void> {
  const columns = (await columnsOf(db, `(${model.sql})`)).map((c) => c.name);
  const clash = columns.find(reservedColumn);
  if (clash) throw reservedColumnError(model, clash);
  const missing = headerColumnError(model, columns);
  if (missing) throw missing;
}

function reservedColumnError(model: Model, clash: string): LakehouseError {
  return new LakehouseError(
    'MODEL_INVALID',
    `${model.file}: the model outputs a column named "${clash}", a name the engine reserves ` +
      '(DuckDB row ids, Parquet row numbers, and names starting with "__"). Rename it in the model\'s ' +
      `SELECT ("... AS ${clash.replace(/^_+/, '') || 'value'}_value"), or leave it out ` +
      `("SELECT * EXCLUDE (${ident(clash)})").`,
    { model: model.id, file: model.file, column: clash },
  );
}

/** The materializations that number their rows' surrogate keys themselves. */
const HANDS_OUT_KEYS = new Set(['scd1', 'scd2', 'bridge']);

/**
 * The first header setting naming a column the model's SQL does not output (`columns`), as an error
 * at the setting's line: otherwise a key fails later as a DuckDB error at some line of the SQL, and a
 * merge rule for a misspelt column is silently never applied. A merge rule on a key column is refused
 * too: keys are matched, never merged.
 */
export function headerColumnError(model: Model, columns: string[]): LakehouseError | undefined {
  const { config, configLines } = model;
  // DuckDB binds names case-insensitively, but merge rules are looked up by the exact output name.
  const outputs = new Set(columns.map((c) => c.toLowerCase()));
  const named: { field: string; column: string; exact?: boolean }[] = [
    ...(config.unique_key ?? []).map((column, i) => ({ field: `unique_key.${i}`, column })),
    ...Object.keys(config.merge).map((column) => ({ field: `merge.${column}`, column, exact: true })),
    ...(config.tracked ?? []).map((column, i) => ({ field: `tracked.${i}`, column })),
    ...(config.bridge ? [config.bridge.entity, config.bridge.member] : []).map((column, i) => ({
      field: `bridge.${i === 0 ? 'entity' : 'member'}`,
      column,
    })),
    ...Object.keys(config.unknown_member ?? {}).map((column) => ({
      field: `unknown_member.${column}`,
      column,
    })),
    ...(config.deduplicate?.key ?? []).map((column, i) => ({ field: `deduplicate.key.${i}`, column })),
  ];
  const where = (field: string) => {
    // A list item has its own line; a scalar (unique_key: user_id) only its key's.
    const line = configLines[field] ?? configLines[field.replace(/\.\d+$/, '')];
    return { line, at: line === undefined ? model.file : `${model.file}:${line}` };
  };
  const setting = (field: string) => field.replace(/\.\d+$/, '');
  for (const { field, column, exact } of named) {
    if (exact ? columns.includes(column) : outputs.has(column.toLowerCase())) continue;
    const { line, at } = where(field);
    return new LakehouseError(
      'MODEL_INVALID',
      `${at}: ${setting(field)} names the column "${column}", which the model does not output` +
        `${didYouMean(column, columns)}. The model's columns: ${columns.join(', ')}. ` +
        "Fix the header, or the model's SELECT.",
      { model: model.id, file: model.file, line, field: setting(field), column, columns },
    );
  }
  const sk = config.surrogate_key;
  if (sk && HANDS_OUT_KEYS.has(config.materialized) && outputs.has(sk.toLowerCase())) {
    const { line, at } = where('surrogate_key');
    return new LakehouseError(
      'MODEL_INVALID',
      `${at}: surrogate_key names "${sk}", which the model outputs too: a ${config.materialized} model's ` +
        "surrogate keys are the engine's to hand out. Leave the column out of the SELECT (SELECT * EXCLUDE " +
        `(${ident(sk)})), or name the surrogate key otherwise.`,
      { model: model.id, file: model.file, line, field: 'surrogate_key', column: sk, columns },
    );
  }
  const keys = new Set([...(config.unique_key ?? []), config.surrogate_key].map((k) => k?.toLowerCase()));
  const mergedKey = Object.keys(config.merge).find((column) => keys.has(column.toLowerCase()));
  if (mergedKey !== undefined) {
    const { line, at } = where(`merge.${mergedKey}`);
    return new LakehouseError(
      'MODEL_INVALID',
      `${at}: merge.${mergedKey}: "${mergedKey}" is a key column; rows are matched on it, never merged. ` +
        'Remove the rule: merge rules apply to the other columns.',
      { model: model.id, file: model.file, line, field: `merge.${mergedKey}`, column: mergedKey, columns },
    );
  }
  return undefined;
}

export async function tableExists(db: Db, target: string): Promise<boolean> {
  try {
    await db.run(`SELECT 1 FROM ${target} LIMIT 0`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Brings an existing table in line with the model's staged rows: a column the stage adds is added to
 * the table (earlier rows read NULL there); a column the model now gives a wider type that holds every
 * old value exactly (INTEGER to BIGINT, FLOAT to DOUBLE) is widened; a narrower type the column holds
 * exactly goes in as it is, noted. Any other change is refused: the insert would cast silently ('true'
 * among 'enter' and 'quit', BIGINT rounded to DOUBLE), and a merge would fail on its first old value.
 */
export async function alignTableColumns(
  db: Db,
  model: Model,
  target: string,
  stage: string,
  /** Columns the materialization adds to the model's (SCD2's validity), never the model's to give. */
  engineColumns: readonly string[] = [],
): Promise<ColumnChanges> {
  // By name in any case, as DuckDB binds them: `Kind` for `kind` is the same column, not one to add.
  const lower = (name: string) => name.toLowerCase();
  const tableColumns = await columnsOf(db, target);
  const have = new Map(tableColumns.map((c) => [lower(c.name), c.type]));
  const added: string[] = [];
  const widened: string[] = [];
  const kept: string[] = [];
  const staged = await columnsOf(db, stage);
  const stagedNames = new Set(staged.map((c) => lower(c.name)));
  const engineNames = new Set([model.config.surrogate_key ?? '', ...engineColumns].map(lower));
  // A column the model stopped giving stays (its older rows keep their values); new rows get NULL.
  const dropped = tableColumns
    .map((c) => c.name)
    .filter((name) => !engineNames.has(lower(name)) && !stagedNames.has(lower(name)));
  for (const column of staged) {
    const name = ident(column.name);
    const tableType = have.get(lower(column.name));
    if (tableType === undefined) {
      await db.run(`ALTER TABLE ${target} ADD COLUMN ${name} ${column.type}`);
      added.push(column.name);
    } else if (tableType === column.type) {
      // unchanged
    } else if (isLosslessCast(tableType, column.type)) {
      await db.run(`ALTER TABLE ${target} ALTER COLUMN ${name} TYPE ${column.type}`);
      widened.push(`${column.name} (${tableType} to ${column.type})`);
    } else if (Number(await db.scalar(`SELECT count(${name}) FROM ${stage}`)) === 0) {
      // A column the model leaves all NULL (a bare NULL is staged as INTEGER) has nothing to cast.
    } else if (isLosslessCast(column.type, tableType)) {
      kept.push(`${column.name} as ${tableType} (the model gives ${column.type})`);
    } else {
      throw columnTypeChanged(model, column.name, tableType, column.type);
    }
  }
  return { added, widened, kept, dropped };
}

/** What alignTableColumns found: columns added, widened, kept at the table's type, no longer given. */
export interface ColumnChanges {
  added: string[];
  widened: string[];
  kept: string[];
  dropped: string[];
}

/** The note on columns a table just gained: also a hint when a test then finds NULLs there. */
export function addedColumnsNote(modelId: string, changes: ColumnChanges): string[] {
  return changes.added.length
    ? [`added ${inNumber(changes.added.length, 'column')} ${changes.added.join(', ')} to ${modelId}`]
    : [];
}

/** The run's notes on what alignTableColumns did. */
export function columnNotes(modelId: string, changes: ColumnChanges): string[] {
  return [
    ...addedColumnsNote(modelId, changes),
    ...(changes.widened.length
      ? [`widened ${inNumber(changes.widened.length, 'column')} ${changes.widened.join(', ')} in ${modelId}`]
      : []),
    ...(changes.kept.length
      ? [`kept ${inNumber(changes.kept.length, 'column')} ${changes.kept.join(', ')} in ${modelId}`]
      : []),
    ...(changes.dropped.length
      ? [
          `${inNumber(changes.dropped.length, 'column')} ${changes.dropped.join(', ')} of ${modelId} no longer produced by its model: the rows this ` +
            'run writes (new members, for a dimension) hold NULL there, the others keep their values; ' +
            'put the column back in the model to go on filling it',
        ]
      : []),
  ];
}

function columnTypeChanged(
  model: Model,
  column: string,
  tableType: string,
  modelType: string,
): LakehouseError {
  return new LakehouseError(
    'MODEL_INVALID',
    `${model.id}: column ${column} is ${tableType} in the table, but ${model.file} now gives ${modelType}, ` +
      `which the rows already there cannot take. Cast it back in the model (CAST(... AS ${tableType}) AS ${column}), ` +
      'or give the new values a new column name: it is added to the table, and earlier rows read NULL there.',
    { model: model.id, file: model.file, column, tableType, modelType },
  );
}

/**
 * A WITH entry `name` holding a statement-local copy of `relation`. Inside the date's transaction DuckDB
 * scans a table written in it on one thread; a materialized CTE is copied in that one scan and then read
 * on every core, which pays off when a statement does real work on a big stage.
 */
export function parallelCopy(name: string, relation: string): string {
  return `${name} AS MATERIALIZED (SELECT * FROM ${relation})`;
}

/** The same copy as a derived table, for FROM clauses that cannot take a WITH (UPDATE ... FROM). */
export function parallelScan(relation: string): string {
  return `(WITH ${parallelCopy('__copy', relation)} SELECT * FROM __copy)`;
}

/** `a.k IS NOT DISTINCT FROM b.k AND ...` over the key columns. */
export function keyMatch(keys: string[], left: string, right: string): string {
  return keys.map((k) => `${left}.${ident(k)} IS NOT DISTINCT FROM ${right}.${ident(k)}`).join(' AND ');
}

/**
 * Drops rows that repeat exactly (counted as duplicates). Rows that share a unique key but disagree
 * are a model bug, not duplicates: they fail the date as a unique test would, with the rows shown. A
 * NULL key is one key here (rows are merged by key), though the unique test skips it.
 */
export async function dedupeStage(
  ctx: MaterializeContext,
  keys: string[],
  /** The date staged, when a replay staged another than the run's (named in the failure). */
  stagedDate = ctx.etlDate,
): Promise<number> {
  const { db, stage } = ctx;
  const modelId = ctx.model.id;
  const keyList = keys.map(ident).join(', ');
  const before = await countRows(db, stage);
  const distinctKeys = Number(
    (await db.scalar<number | bigint>(`SELECT count(*) FROM (SELECT DISTINCT ${keyList} FROM ${stage})`)) ??
      0,
  );
  if (distinctKeys === before) return 0;
  await ctx.replaceStage(`SELECT DISTINCT * FROM ${stage}`);
  const after = await countRows(db, stage);
  if (after !== distinctKeys) {
    // Matched as the merge matches keys: `IN` never found the rows of a NULL key.
    const conflicts = `SELECT * FROM ${stage} AS s SEMI JOIN (
      SELECT ${keyList} FROM ${stage} GROUP BY ALL HAVING count(*) > 1) AS c ON ${keyMatch(keys, 's', 'c')}
      ORDER BY ${keyList}`;
    const failingRows = await db.allJson(`${conflicts} LIMIT 10`);
    const test = `unique(${keys.join(', ')})`;
    // The unique test skips a key NULL in every column; a merge cannot, so say why it fails here.
    const noKey = Number(
      (await db.scalar<number | bigint>(
        `SELECT count(*) FROM ${stage} WHERE ${keys.map((k) => `${ident(k)} IS NULL`).join(' AND ')}`,
      )) ?? 0,
    );
    const nullKeys =
      noKey > 1
        ? ` ${counted(noKey, 'row')} with ${keys.join(', ')} NULL differ: rows are merged by key, so a NULL key is one ` +
          'key here, though the unique test skips it. Give them a key, or quarantine or filter them out.'
        : '';
    // A replay stages every committed date: the one at fault may not be the run's.
    const replayed =
      stagedDate === ctx.etlDate ? '' : ` on ${stagedDate} (replayed by this run of ${ctx.etlDate})`;
    throw new LakehouseError(
      'TEST_FAILED',
      `${modelId} emits ${counted(after - distinctKeys, 'more row')}${replayed} than distinct ${keys.join(', ')} values, with different ` +
        `values for the same key (test ${test}). Make the model's SQL return one row per key (GROUP BY the key, or fix the mapping).${nullKeys}`,
      { model: modelId, test, failingRows, ...(stagedDate === ctx.etlDate ? {} : { etlDate: stagedDate }) },
    );
  }
  return before - after;
}
