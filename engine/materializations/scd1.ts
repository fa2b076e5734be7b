import { counted, inNumber } from '../api/counted.ts';
import { dateSpan, LakehouseError } from '../api/errors.ts';
import { ident, literal } from '../db/duckdb.ts';
import { recordedShape } from './builds.ts';
import {
  addedColumnsNote,
  alignTableColumns,
  type ColumnChanges,
  columnNotes,
  columnsOf,
  columnTypesOf,
  countRows,
  dedupeStage,
  keyMatch,
  type MaterializeContext,
  type MaterializeOutcome,
  parallelScan,
  refuseFreshKeysUnderOldReaders,
  type TestHints,
  tableExists,
} from './context.ts';
import { clearPendingReplay, owePendingReplay, pendingReplay } from './history.ts';
import {
  adoptNullKeyEntries,
  adoptSessionZoneKeys,
  recordScd1Changes,
  rekeyScd1Changes,
} from './scd1-changes.ts';

/** Surrogate key of the explicit unknown member that facts point at instead of NULL. */
export const UNKNOWN_KEY = 0;

/**
 * SCD type 1 merge by business key: existing rows are updated in place (per-column merge rules:
 * overwrite, least, greatest, keep), new keys are inserted. With `surrogate_key`, new members get
 * max + 1 in business-key order and a key never changes afterwards; `unknown_member` seeds key 0.
 */
export async function materializeScd1(ctx: MaterializeContext): Promise<MaterializeOutcome> {
  await ctx.restage(ctx.etlDate);
  const { db, model, stage, target } = ctx;
  const keys = model.config.unique_key ?? [];
  const sk = model.config.surrogate_key;
  const rowsIn = await countRows(db, stage);
  const duplicatesRemoved = await dedupeStage(ctx, keys);
  const warnings: string[] = [];
  let testHints: TestHints | undefined;
  const columns = (await columnsOf(db, stage)).map((c) => c.name);
  const order = await mergeOrder(ctx);
  let changes: ColumnChanges | undefined;
  // The notes in the order they read: the table's columns, the members a new one leaves NULL, the rest.
  let columnWarnings: string[] = [];
  let leftNull: string[] = [];

  if (!(await tableExists(db, target))) {
    if (sk) await refuseFreshKeysUnderOldReaders(ctx, sk);
    const keyColumn = sk ? `0::BIGINT AS ${ident(sk)}, ` : '';
    await db.run(`CREATE TABLE ${target} AS SELECT ${keyColumn}* FROM ${stage} LIMIT 0`);
  } else {
    changes = await alignTableColumns(db, model, target, stage);
    columnWarnings = columnNotes(model.id, changes);
    // A unique_key reordered since the last run (builds.ts takes it): the log follows the new order.
    const loggedKeys = (await recordedShape(db, model.id))?.keys;
    if (loggedKeys) await rekeyScd1Changes(db, { model: model.id, target, loggedKeys, keys });
    // Once a run: entries of an earlier version's log, written before this member's text changed.
    if (ctx.etlDate === ctx.runDates[0]) {
      const unknownKey = sk ? { column: sk, value: UNKNOWN_KEY } : undefined;
      await adoptNullKeyEntries(db, { model: model.id, target, keys, unknownKey });
      await adoptSessionZoneKeys(db, { model: model.id, target, keys });
    }
  }
  if (sk && model.config.unknown_member) {
    warnings.push(...(await upsertUnknownMember(ctx, sk, model.config.unknown_member)));
  }

  // The header may spell a key in another case than the SELECT (DuckDB binds either).
  const keyNames = new Set([...keys, sk ?? ''].map((k) => k.toLowerCase()));
  const nonKey = columns.filter((c) => !keyNames.has(c.toLowerCase()));
  const notUnknown = sk ? ` AND t.${ident(sk)} <> ${UNKNOWN_KEY}` : '';
  if (order.note) warnings.push(order.note);
  // A replay merges every committed date's rows at once, each column by its rule over the dates in order.
  const source = order.replay ? await replayedState(ctx, order.replay, keys, nonKey) : parallelScan(stage);
  if (changes && changes.added.length > 0) {
    // Members the merge does not reach: this date's, or with a replay every date's (which fills the rest).
    const merged = order.replay ? source : stage;
    leftNull = await membersLeftNull(ctx, keys, changes.added, merged, order.replay !== undefined);
    testHints = {
      notes: [...addedColumnsNote(model.id, changes), ...leftNull],
      rebuild: leftNull.length > 0,
    };
  }
  // One join of the stage with the table: each stage row with the row it merges into (NULL for a new
  // key) and every column's value before and after the merge. The change log, the update and the
  // insert read this instead of joining again (four joins were 0.5 s a day on a 1.4M-user dim_user).
  const pairs = nonKey.map((c, i) => ({
    column: c,
    // The replayed state already applied the rule across every date: it holds each column's value.
    rule: order.replay ? 'overwrite' : (model.config.merge[c] ?? 'overwrite'),
    before: `__before${i}`,
    after: `__after${i}`,
  }));
  const internal = ['__target_row', ...pairs.flatMap((p) => [p.before, p.after])];
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __scd1_merge AS
     SELECT s.*, t.rowid AS __target_row${pairs
       .map(
         (p) => `, t.${ident(p.column)} AS ${p.before}, ${mergeExpression(p.rule, p.column)} AS ${p.after}`,
       )
       .join('')}
     FROM ${source} AS s LEFT JOIN ${target} AS t ON ${keyMatch(keys, 't', 's')}${notUnknown}`,
  );
  const merge = 'temp.main.__scd1_merge';
  await recordScd1Changes(db, {
    model: model.id,
    etlDate: ctx.etlDate,
    runId: ctx.runId,
    merge,
    keys,
    // Attributes are logged, running extremes are not: a least/greatest column (last_search_dt) moves
    // for nearly every key on every load, which made the log a row per user per day (a third of a 10M
    // run's gold time) and says nothing about the member; a keep column never changes.
    logged: order.insertOnly
      ? []
      : pairs.filter((p) => (model.config.merge[p.column] ?? 'overwrite') === 'overwrite'),
  });
  if (pairs.length > 0 && !order.insertOnly) {
    // Only rows whose values change are rewritten: the same result, and fewer updated rows for the
    // checkpoint to fold in (a member seen again with the same attributes is most of a day's rows).
    await db.run(
      `UPDATE ${target} AS t SET ${pairs.map((p) => `${ident(p.column)} = m.${p.after}`).join(', ')}
       FROM ${merge} AS m
       WHERE t.rowid = m.__target_row AND (${pairs.map((p) => `m.${p.before} IS DISTINCT FROM m.${p.after}`).join(' OR ')})`,
    );
  }
  const newKey = sk
    ? `(SELECT coalesce(max(${ident(sk)}), ${UNKNOWN_KEY}) FROM ${target}) + row_number() OVER (ORDER BY ${keys.map((k) => `m.${ident(k)}`).join(', ')}) AS ${ident(sk)}, `
    : '';
  await db.run(
    `INSERT INTO ${target} BY NAME
     SELECT ${newKey}m.* EXCLUDE (${internal.join(', ')}) FROM ${merge} AS m WHERE m.__target_row IS NULL`,
  );
  await db.run(`DROP TABLE ${merge}`);
  if (order.replay) {
    await db.run('DROP TABLE temp.main.__scd1_state');
    await clearPendingReplay(ctx);
  }
  return {
    rowsIn,
    // Every deduplicated stage row was merged: inserted, or matched (rewritten only where a value changed).
    rowsOut: rowsIn - duplicatesRemoved,
    duplicatesRemoved,
    quarantined: 0,
    testRelation: target,
    ...(order.replay ? { replayedDates: order.replay.filter((d) => d !== ctx.etlDate) } : {}),
    warnings: [...columnWarnings, ...leftNull, ...warnings],
    testHints,
  };
}

/**
 * How this date merges. Dates merged in order fold onto what the earlier ones left; a date at or before
 * the last committed one (re-run, corrected or late) would fold an older value over a newer one (an
 * `overwrite` column went back to that date's value) and keep extremes its removed rows set. Then every
 * committed date is merged again in date order (`replay`), once a run, on its last such date: its
 * earlier dates only insert members new to the table, so the facts of those dates find their keys, and
 * leave the others as they were. A run stopped before its replay date owes it to the next run.
 */
async function mergeOrder(
  ctx: MaterializeContext,
): Promise<{ replay?: string[]; insertOnly?: boolean; note?: string }> {
  const { etlDate, committedDates } = ctx;
  const last = committedDates.at(-1);
  const owed = await pendingReplay(ctx);
  if (last === undefined || (etlDate > last && owed.length === 0)) return {};
  const replayDate = ctx.runDates.filter((d) => d <= last).at(-1);
  if (replayDate !== undefined && replayDate > etlDate) {
    await owePendingReplay(ctx);
    return { insertOnly: true };
  }
  const dates = [...new Set([...committedDates, ...owed, etlDate])].sort();
  const others = dates.filter((d) => d !== etlDate);
  const missing = (await ctx.missingInputs?.(others)) ?? [];
  // Partitions written before a column the model reads was added or renamed read NULL there.
  const stale = missing.length > 0 ? [] : ((await ctx.staleInputs?.(others)) ?? []);
  if (missing.length > 0 || stale.length > 0) {
    // A date with no input rows, or NULL for a column, would drop its values from the replay (and
    // overwrite members' values with NULL): merge this date alone, as before.
    await clearPendingReplay(ctx);
    const inputs = [
      ...missing.map((m) => `${m.input} holds no partition of ${m.dates.join(', ')}`),
      ...stale.map(
        (s) => `${s.input} has no ${s.columns.join(', ')} in its partitions of ${s.dates.join(', ')}`,
      ),
    ].join('; ');
    return {
      note:
        `merged ${etlDate} alone, not every date in order: ${inputs}; an overwrite column may hold an older ` +
        "date's value until those partitions are written again and this date re-runs",
    };
  }
  return {
    replay: dates,
    note: `merged ${counted(dates.length, 'date')} ${dateSpan(dates[0] ?? '', dates.at(-1) ?? '')} again in date order`,
  };
}

/**
 * Every replayed date's deduplicated rows, merged into one row per key the way merging them one date at
 * a time in order would: `overwrite` takes the last date's value (NULL too), `keep` the first non-NULL,
 * `least`/`greatest` the extremes over every date. Leaves the stage holding this date's rows again.
 */
async function replayedState(
  ctx: MaterializeContext,
  dates: string[],
  keys: string[],
  nonKey: string[],
): Promise<string> {
  const { db, model, stage, etlDate } = ctx;
  const all = 'temp.main.__scd1_replay';
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __scd1_replay AS SELECT ${literal(etlDate)}::DATE AS __date, * FROM ${stage}`,
  );
  for (const date of dates.filter((d) => d !== etlDate)) {
    await ctx.restage(date);
    await dedupeStage(ctx, keys, date);
    await db.run(`INSERT INTO ${all} BY NAME SELECT ${literal(date)}::DATE AS __date, * FROM ${stage}`);
  }
  const rule = (c: string): string => {
    const column = ident(c);
    switch (model.config.merge[c] ?? 'overwrite') {
      case 'least':
        return `min(${column})`;
      case 'greatest':
        return `max(${column})`;
      case 'keep':
        return `arg_min(${column}, __date)`;
      default:
        return `arg_max_null(${column}, __date)`;
    }
  };
  const keyList = keys.map(ident).join(', ');
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __scd1_state AS
     SELECT ${keyList}${nonKey.map((c) => `, ${rule(c)} AS ${ident(c)}`).join('')} FROM ${all} GROUP BY ${keyList};
     DROP TABLE ${all};`,
  );
  await ctx.restage(etlDate);
  await dedupeStage(ctx, keys);
  return 'temp.main.__scd1_state';
}

/**
 * Members the merge does not reach (`merged`: the stage, or with a replay every date's rows) hold NULL
 * in columns the table just gained, until a date merges them: said, since a not_null test on such a
 * column fails until then.
 */
async function membersLeftNull(
  ctx: MaterializeContext,
  keys: string[],
  added: string[],
  merged: string,
  replayed: boolean,
): Promise<string[]> {
  const { db, model, target } = ctx;
  const sk = model.config.surrogate_key;
  const notUnknown = sk ? ` AND t.${ident(sk)} <> ${UNKNOWN_KEY}` : '';
  const left = Number(
    await db.scalar(
      `SELECT count(*) FROM ${target} AS t ANTI JOIN ${merged} AS s ON ${keyMatch(keys, 't', 's')} WHERE TRUE${notUnknown}`,
    ),
  );
  if (left === 0) return [];
  return [
    `${counted(left, 'member')} of ${model.id} that ${replayed ? 'no date merges' : 'this date does not merge'} ${inNumber(left, 'holds', 'hold')} NULL in ${added.join(', ')} until a ` +
      'date that has them runs again (a not_null test on it fails until then); to fill it for every member ' +
      'at once, rebuild the table from every date (drop it for a rebuild, then run every date)',
  ];
}

/**
 * Key 0 holds the header's `unknown_member` values: inserted the first time, and set again when the
 * header changes them (or names a column the table just gained), with a note.
 */
async function upsertUnknownMember(
  ctx: MaterializeContext,
  sk: string,
  values: Record<string, string | number | boolean | null>,
): Promise<string[]> {
  const { db, model, target } = ctx;
  await refuseUnfitUnknownValues(ctx, values);
  const names = [sk, ...Object.keys(values)].map(ident).join(', ');
  const literals = [String(UNKNOWN_KEY), ...Object.values(values).map(sqlValue)].join(', ');
  await db.run(
    `INSERT INTO ${target} (${names}) SELECT ${literals}
     WHERE NOT EXISTS (SELECT 1 FROM ${target} WHERE ${ident(sk)} = ${UNKNOWN_KEY})`,
  );
  const differs = Object.entries(values)
    .map(([column, value]) => `${ident(column)} IS DISTINCT FROM ${sqlValue(value)}`)
    .join(' OR ');
  if (!differs) return [];
  const changed = Number(
    await db.scalar(`SELECT count(*) FROM ${target} WHERE ${ident(sk)} = ${UNKNOWN_KEY} AND (${differs})`),
  );
  if (changed === 0) return [];
  await db.run(
    `UPDATE ${target} SET ${Object.entries(values)
      .map(([column, value]) => `${ident(column)} = ${sqlValue(value)}`)
      .join(', ')} WHERE ${ident(sk)} = ${UNKNOWN_KEY}`,
  );
  return [`set the unknown member (${sk} ${UNKNOWN_KEY}) of ${model.id} to the values its header gives`];
}

/**
 * An `unknown_member` value its column cannot hold ('none' for an INTEGER) failed the date with DuckDB's
 * Conversion Error, pinned to a line of the model's SELECT: refused at the header's line instead.
 */
async function refuseUnfitUnknownValues(
  ctx: MaterializeContext,
  values: Record<string, string | number | boolean | null>,
): Promise<void> {
  const { db, model, target } = ctx;
  const types = await columnTypesOf(db, target);
  for (const [column, value] of Object.entries(values)) {
    const type = types.get(column.toLowerCase());
    if (value === null || type === undefined || type === 'VARCHAR') continue;
    const fits = await db.scalar<boolean>(`SELECT TRY_CAST(${sqlValue(value)} AS ${type}) IS NOT NULL`);
    if (fits) continue;
    const line = model.configLines[`unknown_member.${column}`] ?? model.configLines.unknown_member;
    throw new LakehouseError(
      'MODEL_INVALID',
      `${model.file}${line === undefined ? '' : `:${line}`}: unknown_member.${column} is ${JSON.stringify(value)}, ` +
        `which column ${column} (${type}) cannot hold. Give a value of that type, or null.`,
      { model: model.id, file: model.file, line, field: `unknown_member.${column}`, column, type },
    );
  }
}

function mergeExpression(rule: 'least' | 'greatest' | 'overwrite' | 'keep', column: string): string {
  const t = `t.${ident(column)}`;
  const s = `s.${ident(column)}`;
  switch (rule) {
    case 'least':
      return `least(${t}, ${s})`;
    case 'greatest':
      return `greatest(${t}, ${s})`;
    case 'keep':
      return `coalesce(${t}, ${s})`;
    default:
      return s;
  }
}

export function sqlValue(value: string | number | boolean | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  return literal(value);
}
