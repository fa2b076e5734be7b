import { counted } from '../api/counted.ts';
import { dateSpan, describeRun, LakehouseError, runOfDates } from '../api/errors.ts';
import { historyHeldNote, historyReplayedNote } from '../api/history-notes.ts';
import { ident, literal } from '../db/duckdb.ts';
import { nameAndType, splitTypeList } from '../db/type-list.ts';
import type { Model } from '../project/models.ts';
import {
  addedColumnsNote,
  alignTableColumns,
  columnNotes,
  columnsOf,
  columnTypesOf,
  countRows,
  dedupeStage,
  keyMatch,
  type MaterializeContext,
  type MaterializeOutcome,
  parallelCopy,
  parallelScan,
  type TestHints,
  tableExists,
} from './context.ts';

/** The columns SCD2 adds to a model's: each version's validity and the hash of its tracked values. */
const SCD2_COLUMNS = ['valid_from', 'valid_to', 'is_current', 'row_hash'];

/** The columns a bridge adds to its entity and member. */
const BRIDGE_COLUMNS = [
  'is_effective',
  'first_effective_date',
  'recent_effective_date',
  'last_effective_date',
];

/** How a history row is recognised across a replay, so it keeps its surrogate key. */
interface RowIdentity {
  surrogateKey: string;
  /** Columns that name one row for good: e.g. the business key and the version's start. */
  columns: string[];
}

/**
 * History models (SCD2, bridge) fold one date at a time onto the state the earlier dates left. Re-running
 * a date at or before the last one committed would fold it onto a later state, so instead the table is
 * rebuilt by replaying every committed date in order. The replay numbers rows afresh, so a backfilled
 * earlier date would shift every later row's key: rows the table held before (same identity) get their
 * old keys back, and rows new to it get keys above every old one.
 */
export async function applyHistory(
  ctx: MaterializeContext,
  applyDate: (date: string) => Promise<{ rowsIn: number; rowsOut: number; duplicates: number }>,
  create: () => Promise<void>,
  identity?: RowIdentity,
): Promise<MaterializeOutcome> {
  const { db, etlDate, target, committedDates } = ctx;
  const last = committedDates[committedDates.length - 1];
  const warnings: string[] = [];
  let outcome: { rowsIn: number; rowsOut: number; duplicates: number };
  let heldThrough: string | undefined;
  let replayedDates: string[] | undefined;
  // A held replay that never came (the run stopped first) is owed before anything else is applied.
  const owed = await pendingReplay(ctx);
  const replayTo =
    last !== undefined && (etlDate <= last || owed.length > 0) && (await tableExists(db, target))
      ? last
      : undefined;
  // The run's last date that replays too: every date this run changes is in its replay, so one replay
  // there gives the table every replay before it would have given, for one replay a run, not one a date.
  const replayDate = replayTo ? ctx.runDates.filter((d) => d <= replayTo).at(-1) : undefined;
  const mayHold = replayTo !== undefined && replayDate !== undefined && replayDate > etlDate;
  // A dimension rebuilt in this run (dropped with --rebuild, or new) holds only the dates it has run so
  // far: a replay now would also lose its later members.
  const waitFor = mayHold ? ((await ctx.inputsCatchingUp?.(replayTo)) ?? []) : [];
  // A model of this run reading the history on this date (a fact taking the version valid then) would
  // keep the state before this run's changes: then the history replays now, as on every date, unless a
  // dimension it reads is still catching up.
  const hold = mayHold && (waitFor.length > 0 || (ctx.readersInRun?.() ?? []).length === 0);
  if (replayTo && replayDate !== undefined && hold) {
    // The table stays as it was until then.
    await ctx.restage(etlDate);
    outcome = { rowsIn: 0, rowsOut: 0, duplicates: 0 };
    const behind = waitFor
      .map((w) => `${w.model} ${w.through ? `holds dates only to ${w.through}` : 'holds no date yet'}`)
      .join(', ');
    warnings.push(historyHeldNote(etlDate, replayDate, behind));
    heldThrough = replayTo;
    // Committed with this date: should the run stop before its replay date, the next run replays first.
    await owePendingReplay(ctx);
  } else if (replayTo) {
    const dates = [...new Set([...committedDates, etlDate])].sort();
    await refuseStaleReplay(ctx, dates);
    await ctx.restage(etlDate);
    if (identity) {
      const columns = [...identity.columns, identity.surrogateKey].map(ident).join(', ');
      await db.run(`CREATE OR REPLACE TEMP TABLE __history_keys AS SELECT ${columns} FROM ${target}`);
      await recordKeyHighWater(ctx, identity.surrogateKey);
    }
    await db.run(`DROP TABLE ${target}`);
    await create();
    outcome = { rowsIn: 0, rowsOut: 0, duplicates: 0 };
    for (const date of dates) {
      await ctx.restage(date);
      const step = await applyDate(date);
      if (date === etlDate) outcome = step;
    }
    if (identity) await restoreKeys(ctx, identity);
    await ctx.restage(etlDate);
    await clearPendingReplay(ctx);
    if (owed.some((d) => !ctx.runDates.includes(d))) {
      warnings.push(
        `replayed for ${owed.join(', ')} too, whose run stopped before its replay: their history was the previous input's`,
      );
    }
    warnings.push(historyReplayedNote(dates));
    heldThrough = dates[dates.length - 1];
    replayedDates = dates.filter((d) => d !== etlDate);
  } else {
    await ctx.restage(etlDate);
    if (!(await tableExists(db, target))) {
      await create();
      warnings.push(...(await startsLate(ctx)));
    }
    outcome = await applyDate(etlDate);
  }
  return {
    rowsIn: outcome.rowsIn,
    rowsOut: outcome.rowsOut,
    duplicatesRemoved: outcome.duplicates,
    quarantined: 0,
    testRelation: target,
    historyRelation: target,
    ...(heldThrough !== undefined && heldThrough > etlDate ? { heldThrough } : {}),
    ...(replayedDates ? { replayedDates } : {}),
    warnings,
  };
}

/** Records that this date held the model's replay: committed with it, owed to the next run if this one stops. */
export async function owePendingReplay(ctx: MaterializeContext): Promise<void> {
  await ctx.db.run('INSERT INTO _lakehouse.history_pending VALUES ($model, $d::DATE)', {
    model: ctx.model.id,
    d: ctx.etlDate,
  });
}

/** The model's replay is done (or given up): no run owes it any more. */
export async function clearPendingReplay(ctx: MaterializeContext): Promise<void> {
  await ctx.db.run('DELETE FROM _lakehouse.history_pending WHERE model = $model', { model: ctx.model.id });
}

/** The dates a stopped run held this model's replay for (see the hold in applyHistory and in scd1.ts). */
export async function pendingReplay(ctx: MaterializeContext): Promise<string[]> {
  const rows = await ctx.db.all<{ d: string }>(
    `SELECT DISTINCT strftime(etl_date, '%Y-%m-%d') AS d FROM _lakehouse.history_pending
     WHERE model = $model ORDER BY d`,
    { model: ctx.model.id },
  );
  return rows.map((r) => r.d);
}

/**
 * A replay reads every date's input again. A partitioned input whose columns changed since some of its
 * dates were written gives NULL for the new column there, and the replay would rewrite those dates'
 * history with it (a renamed plan column emptied every plan set of the older dates). Checked for every
 * replayed date, later dates of this run too: each date commits on its own, so a run stopped half-way
 * would keep history rebuilt from NULLs. The way out rewrites the inputs alone first.
 */
async function refuseStaleReplay(ctx: MaterializeContext, dates: string[]): Promise<void> {
  const missing = (await ctx.missingInputs?.(dates.filter((d) => d !== ctx.etlDate))) ?? [];
  if (missing.length > 0) {
    const missingDates = [...new Set(missing.flatMap((m) => m.dates))].sort();
    const inputs = missing.map((m) => `${m.input} holds no partition of ${m.dates.join(', ')}`).join('; ');
    const write = runOfDates(missingDates, [...new Set(missing.map((m) => m.input))]);
    throw new LakehouseError(
      'MODEL_INVALID',
      `${ctx.model.id} rebuilds its history by replaying ${dateSpan(dates[0] ?? '', dates.at(-1) ?? '')}, but ${inputs} (a ` +
        "model renamed or added since, or partitions repair forgot): the replay would rewrite those dates' " +
        `history from no rows. Write those partitions first (run ${describeRun(write)}), then run ` +
        `${ctx.etlDate} again.`,
      { model: ctx.model.id, missingInputs: missing, suggestedRun: write },
    );
  }
  const stale = (await ctx.staleInputs?.(dates.filter((d) => d !== ctx.etlDate))) ?? [];
  if (stale.length === 0) return;
  const staleDates = [...new Set(stale.flatMap((s) => s.dates))].sort();
  const inputs = stale
    .map((s) => `${s.input} has no ${s.columns.join(', ')} in its partitions of ${s.dates.join(', ')}`)
    .join('; ');
  const rewrite = runOfDates(staleDates, [...new Set(stale.map((s) => s.input))]);
  throw new LakehouseError(
    'MODEL_INVALID',
    `${ctx.model.id} rebuilds its history by replaying ${dateSpan(dates[0] ?? '', dates.at(-1) ?? '')}, but ${inputs}: written ` +
      "before that column was added or renamed, they would give NULL to the replay and rewrite those dates' " +
      `history with it. Rewrite those partitions first (run ${describeRun(rewrite)}), then run ${ctx.etlDate} again.`,
    { model: ctx.model.id, staleInputs: stale, suggestedRun: rewrite },
  );
}

/**
 * A history model new to a lake whose inputs already hold earlier dates (added to the project, or
 * dropped and restored) starts its history at this date: said, with how to build it from the start.
 */
async function startsLate(ctx: MaterializeContext): Promise<string[]> {
  const inRun = new Set(ctx.runDates);
  const earlier = ((await ctx.inputDates?.()) ?? []).filter((d) => d < ctx.etlDate && !inRun.has(d));
  if (earlier.length === 0) return [];
  return [
    `history starts at ${ctx.etlDate}: its inputs hold ${counted(earlier.length, 'earlier date')} ` +
      `(${dateSpan(earlier[0]!, earlier.at(-1)!)}) it has not seen; run ${earlier[0]} .. ${ctx.etlDate} ` +
      'in one run to build it from the start',
  ];
}

/**
 * Before a replay drops the table: the largest key it has handed out, kept in _lakehouse.surrogate_keys.
 * A version or bridge row the replay no longer produces takes its key along; were the table's largest key
 * all the next new row looked at, that key would come back for another member, and a copy still holding
 * it (a published table, a fact not re-run) would silently point at the wrong one.
 */
async function recordKeyHighWater(ctx: MaterializeContext, surrogateKey: string): Promise<void> {
  const highWater = await ctx.db.scalar<number | bigint>(`SELECT ${highestKey(ctx, surrogateKey)}`);
  await ctx.db.run('DELETE FROM _lakehouse.surrogate_keys WHERE model = $model', { model: ctx.model.id });
  await ctx.db.run('INSERT INTO _lakehouse.surrogate_keys VALUES ($model, $highWater)', {
    model: ctx.model.id,
    highWater: Number(highWater ?? 0),
  });
}

/** The largest key the table holds or has ever handed out (SQL); new rows are numbered after it. */
function highestKey(ctx: MaterializeContext, surrogateKey: string): string {
  return `greatest((SELECT coalesce(max(${ident(surrogateKey)}), 0) FROM ${ctx.target}),
    (SELECT coalesce(max(high_water), 0) FROM _lakehouse.surrogate_keys WHERE model = ${literal(ctx.model.id)}))`;
}

/** After a replay: old rows take their old keys back; new rows are numbered after the largest key ever. */
async function restoreKeys(ctx: MaterializeContext, identity: RowIdentity): Promise<void> {
  const { db, target } = ctx;
  const sk = ident(identity.surrogateKey);
  const same = identity.columns.map((c) => `o.${ident(c)} IS NOT DISTINCT FROM t.${ident(c)}`).join(' AND ');
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __history_key_map AS
     SELECT t.${sk} AS replayed,
            coalesce(o.${sk}, (SELECT max(high_water) FROM _lakehouse.surrogate_keys WHERE model = ${literal(ctx.model.id)})
                              + row_number() OVER (PARTITION BY o.${sk} IS NULL ORDER BY t.${sk})) AS kept
     FROM ${target} AS t LEFT JOIN __history_keys AS o ON ${same};
     UPDATE ${target} AS t SET ${sk} = m.kept FROM __history_key_map AS m
     WHERE t.${sk} = m.replayed AND m.kept <> m.replayed;
     DROP TABLE __history_keys; DROP TABLE __history_key_map;`,
  );
}

/** Column types by lower-case name, as DuckDB binds names. */
type ColumnTypes = Map<string, string>;

const TIMESTAMPTZ = 'TIMESTAMP WITH TIME ZONE';

/**
 * A version's row hash: md5 of its tracked values joined by '|', each with backslashes and '|' escaped by
 * a backslash and NULL written as a backslash and N, so different values never give one text. Before,
 * '|' went unescaped and NULL was '∅': ('a|', 'b') and ('a', '|b'), or NULL and '∅', hashed alike and a
 * change between them went unseen. Values without those characters hash as they did.
 * Values are hashed as the table's column holds them (`tableTypes`): a stage column of another type (a
 * DECIMAL(10,2) kept in a DECIMAL(12,3) column) would write '1.50' for the '1.500' hashed before, and
 * open a version of every key without a change. A TIMESTAMPTZ's text is that of the session's time zone
 * (TZ), so it is written in UTC, also inside a LIST, STRUCT or MAP (utcNestedText): the text a UTC
 * session gives, so hashes made there still match. Values go in the table's column order, which
 * reordering the SELECT or `tracked:` leaves as it is.
 */
function rowHashSql(
  tracked: string[],
  types: { own: ColumnTypes; table: ColumnTypes },
  row?: string,
  legacy: {
    /**
     * TIMESTAMPTZ values as this session writes them, as hashes were before UTC (rehashSessionZoneVersions):
     * all of them, or (`nested`) those inside a LIST, STRUCT or MAP, as hashes were before those were in UTC.
     */
    sessionZone?: boolean | 'nested';
    /** In the order `tracked` gives, as hashes were before the table's order (trackedInGivenOrder). */
    givenOrder?: boolean;
  } = {},
): string {
  const { sessionZone = false } = legacy;
  const ordered = legacy.givenOrder ? tracked : inTableOrder(tracked, types.table);
  const values = ordered.map((c) => {
    const own = types.own.get(c.toLowerCase());
    const type = types.table.get(c.toLowerCase()) ?? own;
    const column = `${row ? `${row}.` : ''}${ident(c)}`;
    const typed = type && own && type !== own ? `CAST(${column} AS ${type})` : column;
    const nested = type && type !== TIMESTAMPTZ && !sessionZone ? utcNestedText(typed, type) : undefined;
    const value =
      type === TIMESTAMPTZ && sessionZone !== true
        ? utcText(typed)
        : nested
          ? `${nested}::VARCHAR`
          : `${typed}::VARCHAR`;
    // Escaped only where needed: replace() on every value made the hash a third slower.
    const escaped = `replace(replace(${value}, '\\', '\\\\'), '|', '\\|')`;
    return `coalesce(CASE WHEN ${needsEscape(value)} THEN ${escaped} ELSE ${value} END, '\\N')`;
  });
  return `md5(concat_ws('|', ${values.join(', ')}))`;
}

/**
 * A value's text that no session time zone changes: a TIMESTAMPTZ (also inside a LIST, STRUCT or MAP) as
 * a UTC session writes it, anything else as DuckDB casts it. For keys logged as text (scd1-changes.ts).
 */
export function zoneFreeText(value: string, type: string | undefined): string {
  if (type === TIMESTAMPTZ) return utcText(value);
  const nested = type === undefined ? undefined : utcNestedText(value, type);
  return nested ? `${nested}::VARCHAR` : `${value}::VARCHAR`;
}

/** Whether a column of this type is or holds a TIMESTAMPTZ, whose text the session's time zone sets. */
export function holdsTimestamptz(type: string | undefined): boolean {
  return type === TIMESTAMPTZ || holdsNestedTimestamptz(type);
}

/** A TIMESTAMPTZ's text as a UTC session writes it ('2022-06-01 10:00:00+00', 'infinity'), in any zone. */
function utcText(value: string): string {
  return `(CASE WHEN isfinite(${value}) THEN timezone('UTC', ${value})::VARCHAR || '+00' ELSE ${value}::VARCHAR END)`;
}

/**
 * A value of a LIST, ARRAY, STRUCT or MAP type holding TIMESTAMPTZ (`events TIMESTAMPTZ[]`) with each of
 * those as its UTC text (utcText), so that the value's text is the one a UTC session writes: nested values
 * are written in the session's zone too. Undefined when the type holds none (or only inside a UNION, left
 * as the session writes it). A lambda per list: paid only by the columns that need it.
 */
function utcNestedText(value: string, type: string): string | undefined {
  return utcNested(value, type, 0)?.sql;
}

/** utcNestedText, with the type it gives (each TIMESTAMPTZ a VARCHAR): an ARRAY is cast back to one. */
function utcNested(value: string, type: string, depth: number): { sql: string; type: string } | undefined {
  if (!type.includes(TIMESTAMPTZ)) return undefined;
  if (type === TIMESTAMPTZ) return { sql: utcText(value), type: 'VARCHAR' };
  const list = /^(.*)\[(\d*)\]$/s.exec(type);
  if (list) {
    const item = `__tz${depth}`;
    const inner = utcNested(item, list[1]!, depth + 1);
    if (!inner) return undefined;
    const transformed = `list_transform(${value}, lambda ${item}: ${inner.sql})`;
    const size = list[2]!;
    // An ARRAY writes its text items unquoted, a LIST quoted: list_transform gives a LIST.
    const sql = size ? `CAST(${transformed} AS ${inner.type}[${size}])` : transformed;
    return { sql, type: `${inner.type}[${size}]` };
  }
  const struct = /^STRUCT\((.*)\)$/s.exec(type)?.[1];
  if (struct !== undefined) {
    const fields = splitTypeList(struct).map(nameAndType);
    if (fields.some((f) => f === null)) return undefined;
    const nested = (fields as { name: string; type: string }[]).map(({ name, type: fieldType }) => {
      const field = `struct_extract(${value}, ${literal(name)})`;
      return { name, field, fieldType, utc: utcNested(field, fieldType, depth) };
    });
    // A TIMESTAMPTZ only inside a UNION field converts nothing: the struct is left as it is.
    if (nested.every((f) => f.utc === undefined)) return undefined;
    const converted = nested.map((f) => ({
      name: f.name,
      ...(f.utc ?? { sql: f.field, type: f.fieldType }),
    }));
    return {
      sql: `(CASE WHEN ${value} IS NULL THEN NULL ELSE {${converted.map((f) => `${literal(f.name)}: ${f.sql}`).join(', ')}} END)`,
      type: `STRUCT(${converted.map((f) => `${ident(f.name)} ${f.type}`).join(', ')})`,
    };
  }
  const map = /^MAP\((.*)\)$/s.exec(type)?.[1];
  const [keyType, valueType] = map === undefined ? [] : splitTypeList(map);
  if (keyType !== undefined && valueType !== undefined) {
    const entry = `__tz${depth}`;
    const utcKey = utcNested(`${entry}.key`, keyType, depth + 1);
    const utcValue = utcNested(`${entry}.value`, valueType, depth + 1);
    if (utcKey === undefined && utcValue === undefined) return undefined;
    const key = utcKey ?? { sql: `${entry}.key`, type: keyType };
    const mapped = utcValue ?? { sql: `${entry}.value`, type: valueType };
    return {
      sql: `map_from_entries(list_transform(map_entries(${value}), lambda ${entry}: {'key': ${key.sql}, 'value': ${mapped.sql}}))`,
      type: `MAP(${key.type}, ${mapped.type})`,
    };
  }
  return undefined;
}

/** Whether a column of this type holds a TIMESTAMPTZ inside a LIST, STRUCT or MAP (utcNestedText). */
function holdsNestedTimestamptz(type: string | undefined): boolean {
  return type !== undefined && type !== TIMESTAMPTZ && utcNestedText('v', type) !== undefined;
}

/** A tracked column list as _lakehouse.scd2_tracked holds it: lower case (as DuckDB compares), sorted. */
function trackedKey(tracked: string[]): string {
  return JSON.stringify(tracked.map((c) => c.toLowerCase()).sort());
}

/** The tracked columns the model's current versions were hashed over, if recorded (see trackedKey). */
async function recordedTrackedColumns(ctx: MaterializeContext): Promise<string | undefined> {
  const recorded = await ctx.db.scalar<string>(
    'SELECT columns FROM _lakehouse.scd2_tracked WHERE model = $model',
    {
      model: ctx.model.id,
    },
  );
  return recorded ?? undefined;
}

async function recordTrackedColumns(ctx: MaterializeContext, tracked: string[]): Promise<void> {
  await ctx.db.run('DELETE FROM _lakehouse.scd2_tracked WHERE model = $model', { model: ctx.model.id });
  await ctx.db.run('INSERT INTO _lakehouse.scd2_tracked VALUES ($model, $columns)', {
    model: ctx.model.id,
    columns: trackedKey(tracked),
  });
}

/** The tracked columns in the table's column order (`table` lists its columns in order). */
function inTableOrder(tracked: string[], table: ColumnTypes): string[] {
  const order = [...table.keys()];
  const position = (c: string) => {
    const at = order.indexOf(c.toLowerCase());
    return at < 0 ? order.length : at;
  };
  return [...tracked].sort((a, b) => position(a) - position(b));
}

/**
 * Of the keys that look changed, those whose current version was hashed with the tracked values in the
 * order the header's `tracked:` or the SELECT gives (as before the table's order was used), with the
 * same values as now: no change, so their version stays and takes the new hash. The version's own values
 * tell how it was hashed and whether they changed (a hash compared across orders alone would take two
 * values swapped between columns for none). Only the incoming rows are read, and only when that order
 * is not the table's. A version still holding such a hash whose key comes back with exactly those values
 * swapped reads as unchanged: rehashing every current version on every date to rule it out costs more.
 */
async function trackedInGivenOrder(
  ctx: MaterializeContext,
  tracked: string[],
  keys: string[],
  types: { own: ColumnTypes; table: ColumnTypes },
): Promise<void> {
  if (inTableOrder(tracked, types.table).join('\u0000') === tracked.join('\u0000')) return;
  const incoming = 'temp.main.__scd2_incoming';
  const own = { own: types.table, table: types.table };
  await ctx.db.run(
    `UPDATE ${ctx.target} AS t SET row_hash = s.row_hash FROM ${incoming} AS s
     WHERE t.is_current AND ${keyMatch(keys, 't', 's')}
       AND t.row_hash = ${rowHashSql(tracked, own, 't', { givenOrder: true })} AND ${rowHashSql(tracked, own, 't')} = s.row_hash;
     DELETE FROM ${incoming} AS s USING ${ctx.target} AS t
     WHERE t.is_current AND ${keyMatch(keys, 't', 's')} AND t.row_hash = s.row_hash;`,
  );
}

/** Whether a text value holds a character the row hash escapes. */
function needsEscape(value: string): string {
  return `(contains(${value}, '|') OR contains(${value}, '\\'))`;
}

/**
 * Current versions hashed the old way whose hash the new way changes (a NULL, '|' or backslash among their
 * tracked values) take the new hash, or the next date would see them all as changed. Idempotent: a row
 * rehashed no longer matches the old hash, so each is rewritten once, by the first run that meets it.
 */
async function rehashLegacyVersions(
  ctx: MaterializeContext,
  tracked: string[],
  types: ColumnTypes,
): Promise<void> {
  const values = tracked.map((c) => `t.${ident(c)}::VARCHAR`);
  const legacy = `md5(concat_ws('|', ${values.map((v) => `coalesce(${v}, '\u2205')`).join(', ')}))`;
  const differs = values.map((v) => `${v} IS NULL OR ${needsEscape(v)}`).join(' OR ');
  await ctx.db.run(
    `UPDATE ${ctx.target} AS t SET row_hash = ${rowHashSql(tracked, { own: types, table: types }, 't')}
     WHERE t.is_current AND (${differs}) AND t.row_hash = ${legacy}`,
  );
}

/**
 * Current versions whose TIMESTAMPTZ values were hashed in the session's time zone (before they were
 * hashed in UTC: all of them, or later those inside a LIST, STRUCT or MAP) take the UTC hash, or the next
 * date would see them all as changed. Only a session in another zone than UTC has such hashes to find; a
 * run in yet another zone than theirs cannot tell them from changed ones. Reads every current version of
 * such a model, on each date: no example model tracks a TIMESTAMPTZ.
 */
async function rehashSessionZoneVersions(
  ctx: MaterializeContext,
  tracked: string[],
  types: ColumnTypes,
): Promise<void> {
  const typeOf = (c: string) => types.get(c.toLowerCase());
  const topLevel = tracked.some((c) => typeOf(c) === TIMESTAMPTZ);
  const nested = tracked.some((c) => holdsNestedTimestamptz(typeOf(c)));
  if (!topLevel && !nested) return;
  const zone = await ctx.db.scalar<string>("SELECT current_setting('TimeZone')");
  if (zone === 'UTC' || zone === 'Etc/UTC') return;
  const both = { own: types, table: types };
  const legacy = [
    rowHashSql(tracked, both, 't', { sessionZone: true }),
    ...(topLevel && nested ? [rowHashSql(tracked, both, 't', { sessionZone: 'nested' })] : []),
  ];
  await ctx.db.run(
    `UPDATE ${ctx.target} AS t SET row_hash = ${rowHashSql(tracked, both, 't')}
     WHERE t.is_current AND t.row_hash IN (${legacy.join(', ')})`,
  );
}

/**
 * SCD type 2: a changed tracked value (row hash) closes the current version (valid_to = the date,
 * exclusive) and opens a new one; new keys open their first version. Keys absent that day are untouched.
 */
export async function materializeScd2(ctx: MaterializeContext): Promise<MaterializeOutcome> {
  const { db, model, stage, target } = ctx;
  const keys = model.config.unique_key ?? [];
  const sk = model.config.surrogate_key;
  const notes: string[] = [];
  let testHints: TestHints | undefined;
  // Read once the model's rows are staged (the stage before that is another model's, or none).
  let trackedColumns: string[] | undefined;
  const tracked = async () => {
    trackedColumns ??=
      model.config.tracked ??
      (await columnsOf(db, stage))
        .map((c) => c.name)
        .filter((c) => !keys.some((k) => k.toLowerCase() === c.toLowerCase()));
    return trackedColumns;
  };

  // A table from before the model gained, retyped or dropped a column: brought in line once, on the first
  // date applied onto it; a table created here (a first run, a replay) is made from the model's rows.
  let aligned = false;
  const create = async () => {
    aligned = true;
    await recordTrackedColumns(ctx, await tracked());
    const keyColumn = sk ? `0::BIGINT AS ${ident(sk)}, ` : '';
    await db.run(
      `CREATE TABLE ${target} AS SELECT ${keyColumn}*, NULL::DATE AS valid_from, NULL::DATE AS valid_to,
         NULL::BOOLEAN AS is_current, NULL::VARCHAR AS row_hash FROM ${stage} LIMIT 0`,
    );
  };
  const alignOnce = async () => {
    if (aligned) return;
    aligned = true;
    const typesBefore = await columnTypesOf(ctx.db, target);
    const changes = await alignTableColumns(db, model, target, stage, SCD2_COLUMNS);
    const types = await columnTypesOf(ctx.db, target);
    const retyped = (await tracked()).some((c) => {
      const before = typesBefore.get(c.toLowerCase());
      return before !== undefined && before !== types.get(c.toLowerCase());
    });
    // An edit of `tracked:` changes what every hash covers: without a rehash every key the date sees would
    // open a version, its tracked values unchanged. So does taking `tracked:` out, which tracks every column
    // the model gave already. (Without `tracked:`, a column the model gains or drops opens them, as the note
    // below says.)
    const trackedBefore = await recordedTrackedColumns(ctx);
    const trackedNow = trackedKey(await tracked());
    const stillTracked = new Set(JSON.parse(trackedNow) as string[]);
    const hashedBefore =
      trackedBefore === undefined ? undefined : new Set(JSON.parse(trackedBefore) as string[]);
    const trackedEdited =
      hashedBefore !== undefined &&
      trackedBefore !== trackedNow &&
      (model.config.tracked !== undefined ||
        (changes.added.length === 0 && [...hashedBefore].every((c) => stillTracked.has(c))));
    await recordTrackedColumns(ctx, await tracked());
    if (retyped || trackedEdited) {
      // A widened tracked column writes its values anew ('1.50' as '1.500'), and an edited tracked: covers
      // other columns: the current versions are hashed again from their values, so an unchanged key does not
      // open a version.
      await db.run(
        `UPDATE ${target} AS t SET row_hash = ${rowHashSql(await tracked(), { own: types, table: types }, 't')}
         WHERE t.is_current`,
      );
    } else {
      await rehashLegacyVersions(ctx, await tracked(), types);
      await rehashSessionZoneVersions(ctx, await tracked(), types);
    }
    notes.push(...columnNotes(model.id, changes));
    // A column dropped on an earlier date is still the table's, and no longer in the hash: only one the
    // hash covered until now changes it (the note came on every later date, no version opening).
    const droppedNow = changes.dropped.filter((c) => hashedBefore?.has(c.toLowerCase()) ?? true);
    const changed = [
      ...(changes.added.length > 0 ? [`added ${changes.added.join(', ')}`] : []),
      ...(droppedNow.length > 0 ? [`dropped ${droppedNow.join(', ')}`] : []),
    ];
    if (changed.length > 0 && !model.config.tracked) {
      notes.push(
        `the row hash covers every column but the key, and the model's columns changed (${changed.join('; ')}): ` +
          'every key this date sees opens a new version. List the columns to track under `tracked:` to keep ' +
          'a column out of change detection',
      );
    }
    if (changes.added.length > 0) {
      // Its older versions read NULL there; a rebuild over every date gives them the values their dates had.
      testHints = { notes: addedColumnsNote(model.id, changes), rebuild: true };
    }
  };
  const applyDate = async (date: string) => {
    const d = `${literal(date)}::DATE`;
    await alignOnce();
    const rowsIn = await countRows(db, stage);
    const duplicates = await dedupeStage(ctx, keys, date);
    const types = { own: await columnTypesOf(ctx.db, stage), table: await columnTypesOf(ctx.db, target) };
    // Only keys without a current version of the same hash change: new keys and changed ones. One
    // anti-join finds them (written as ANTI JOIN: 30% faster than NOT EXISTS on a 1.9M-row history);
    // closing and opening then touch those rows only.
    await db.run(
      `CREATE OR REPLACE TEMP TABLE __scd2_incoming AS
       WITH ${parallelCopy('staged', stage)}
       SELECT s.* FROM (SELECT *, ${rowHashSql(await tracked(), types)} AS row_hash FROM staged) AS s
       ANTI JOIN ${target} AS t ON t.is_current AND ${keyMatch(keys, 't', 's')} AND t.row_hash = s.row_hash`,
    );
    await trackedInGivenOrder(ctx, await tracked(), keys, types);
    const closed = Number(
      (await db.scalar<number | bigint>(
        `UPDATE ${target} AS t SET valid_to = ${d}, is_current = FALSE FROM __scd2_incoming AS s
         WHERE t.is_current AND ${keyMatch(keys, 't', 's')}`,
      )) ?? 0,
    );
    const newKey = sk
      ? `${highestKey(ctx, sk)} + row_number() OVER (ORDER BY ${keys.map((k) => `s.${ident(k)}`).join(', ')}) AS ${ident(sk)}, `
      : '';
    const opened = Number(
      (await db.scalar<number | bigint>(
        `INSERT INTO ${target} BY NAME
         WITH ${parallelCopy('incoming', '__scd2_incoming')}
         SELECT ${newKey}s.*, ${d} AS valid_from, NULL::DATE AS valid_to, TRUE AS is_current
         FROM incoming AS s`,
      )) ?? 0,
    );
    return { rowsIn, rowsOut: closed + opened, duplicates };
  };
  // A version is its key's row that started on a date: one per key and date. Not its row hash, which
  // every version changes when the tracked columns do (all keys were renumbered).
  const identity = sk ? { surrogateKey: sk, columns: [...keys, 'valid_from'] } : undefined;
  const outcome = await applyHistory(ctx, applyDate, create, identity);
  return { ...outcome, warnings: [...notes, ...outcome.warnings], ...(testHints ? { testHints } : {}) };
}

/**
 * Effective-dated bridge (entity ↔ member, e.g. user ↔ plan). For each entity seen on the date: a member
 * seen again extends recent_effective_date; a member missing from its set closes (is_effective = 0,
 * last_effective_date = recent_effective_date); a new or returning member opens a new row. Entities not
 * seen keep every row open. Input rows with a NULL member mean "seen, with no members". A NULL entity is
 * one entity, as a NULL key is one key to the other merges (keyMatch).
 */
export async function materializeBridge(ctx: MaterializeContext): Promise<MaterializeOutcome> {
  const { db, model, stage, target } = ctx;
  const { entity, member } = model.config.bridge!;
  const sk = ident(model.config.surrogate_key!);
  const e = ident(entity);
  const m = ident(member);

  // A table from before the model retyped its entity or member: widened, kept or refused by name once, on
  // the first date applied onto it, as other gold tables are, where comparing its old values with the
  // new failed on a Binder or Conversion Error ('guest' as INTEGER) or cast them silently.
  let aligned = false;
  const notes: string[] = [];
  const create = async () => {
    aligned = true;
    await db.run(
      `CREATE TABLE ${target} AS SELECT 0::BIGINT AS ${sk}, ${e}, ${m}, 0::INTEGER AS is_effective,
         NULL::DATE AS first_effective_date, NULL::DATE AS recent_effective_date, NULL::DATE AS last_effective_date
       FROM ${stage} LIMIT 0`,
    );
  };
  const applyDate = async (date: string) => {
    const d = `${literal(date)}::DATE`;
    if (!aligned) {
      aligned = true;
      const pairs = `(SELECT ${e}, ${m} FROM ${stage})`;
      const changes = await alignTableColumns(db, model, target, pairs, BRIDGE_COLUMNS).catch((error) => {
        throw retypedBridgeColumn(model, error);
      });
      notes.push(...columnNotes(model.id, changes));
    }
    const rowsIn = await countRows(db, stage);
    await db.run(
      `CREATE OR REPLACE TEMP TABLE __bridge_pairs AS SELECT DISTINCT ${e}, ${m} FROM ${parallelScan(stage)} WHERE ${m} IS NOT NULL;
       CREATE OR REPLACE TEMP TABLE __bridge_seen AS SELECT DISTINCT ${e} FROM ${parallelScan(stage)};`,
    );
    // The same pair: members are never NULL here (filtered above), entities may be.
    const samePair = (t: string, p: string) => `${keyMatch([entity], t, p)} AND ${t}.${m} = ${p}.${m}`;
    const extended = Number(
      (await db.scalar<number | bigint>(
        `UPDATE ${target} AS t SET recent_effective_date = greatest(t.recent_effective_date, ${d})
         FROM ${parallelScan('__bridge_pairs')} AS p WHERE t.is_effective = 1 AND ${samePair('t', 'p')}`,
      )) ?? 0,
    );
    // IN matches no NULL: a NULL entity seen today is asked for apart, and only then (an OR beside the IN
    // slows the update for every entity).
    const nullSeen = await db.scalar<boolean>(`SELECT bool_or(${e} IS NULL) FROM __bridge_seen`);
    const closed = Number(
      (await db.scalar<number | bigint>(
        `UPDATE ${target} AS t SET is_effective = 0, last_effective_date = t.recent_effective_date
         WHERE t.is_effective = 1 AND (t.${e} IN (SELECT ${e} FROM __bridge_seen)${nullSeen ? ` OR t.${e} IS NULL` : ''})
           AND NOT EXISTS (SELECT 1 FROM __bridge_pairs AS p WHERE ${samePair('t', 'p')})`,
      )) ?? 0,
    );
    const opened = Number(
      (await db.scalar<number | bigint>(
        `INSERT INTO ${target}
         SELECT ${highestKey(ctx, model.config.surrogate_key!)} + row_number() OVER (ORDER BY p.${e}, p.${m}),
                p.${e}, p.${m}, 1, ${d}, ${d}, NULL
         FROM ${parallelScan('__bridge_pairs')} AS p
         ANTI JOIN ${target} AS t ON t.is_effective = 1 AND ${samePair('t', 'p')}`,
      )) ?? 0,
    );
    return { rowsIn, rowsOut: extended + closed + opened, duplicates: 0 };
  };
  // A bridge row is one stretch of a member for an entity, named by where it started.
  const identity = {
    surrogateKey: model.config.surrogate_key!,
    columns: [entity, member, 'first_effective_date'],
  };
  const outcome = await applyHistory(ctx, applyDate, create, identity);
  return { ...outcome, warnings: [...notes, ...outcome.warnings] };
}

/**
 * A bridge's entity or member retyped so its rows cannot take the new values: the way out is not the
 * new column name alignTableColumns suggests (bridge.entity and bridge.member name the columns), but
 * a cast back or a rebuild from every date.
 */
function retypedBridgeColumn(model: Model, error: unknown): unknown {
  if (!(error instanceof LakehouseError) || typeof error.details.tableType !== 'string') return error;
  const { column, tableType, modelType } = error.details;
  return new LakehouseError(
    'MODEL_INVALID',
    `${model.id}: column ${column} is ${tableType} in the bridge, but ${model.file} now gives ${modelType}, ` +
      `which the rows already there cannot take. Cast it back in the model (CAST(... AS ${tableType}) AS ${column}), ` +
      'or rebuild the bridge from every date (drop it for a rebuild, then run every date).',
    { ...error.details, rebuild: model.id },
  );
}
