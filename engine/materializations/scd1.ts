import { counted, inNumber } from '../api/counted.ts';
import { ident, literal } from '../db/duckdb.ts';
import {
  addedColumnsNote,
  alignTableColumns,
  columnNotes,
  columnsOf,
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
import { recordScd1Changes } from './scd1-changes.ts';

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

  if (!(await tableExists(db, target))) {
    if (sk) await refuseFreshKeysUnderOldReaders(ctx, sk);
    const keyColumn = sk ? `0::BIGINT AS ${ident(sk)}, ` : '';
    await db.run(`CREATE TABLE ${target} AS SELECT ${keyColumn}* FROM ${stage} LIMIT 0`);
  } else {
    const changes = await alignTableColumns(db, model, target, stage);
    warnings.push(...columnNotes(model.id, changes));
    if (changes.added.length > 0) {
      const leftNull = await membersLeftNull(ctx, keys, changes.added);
      warnings.push(...leftNull);
      testHints = {
        notes: [...addedColumnsNote(model.id, changes), ...leftNull],
        rebuild: leftNull.length > 0,
      };
    }
  }
  if (sk && model.config.unknown_member) {
    warnings.push(...(await upsertUnknownMember(ctx, sk, model.config.unknown_member)));
  }

  const nonKey = columns.filter((c) => !keys.includes(c) && c !== sk);
  const notUnknown = sk ? ` AND t.${ident(sk)} <> ${UNKNOWN_KEY}` : '';
  // One join of the stage with the table: each stage row with the row it merges into (NULL for a new
  // key) and every column's value before and after the merge. The change log, the update and the
  // insert read this instead of joining again (four joins were 0.5 s a day on a 1.4M-user dim_user).
  const pairs = nonKey.map((c, i) => ({
    column: c,
    rule: model.config.merge[c] ?? 'overwrite',
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
     FROM ${parallelScan(stage)} AS s LEFT JOIN ${target} AS t ON ${keyMatch(keys, 't', 's')}${notUnknown}`,
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
    logged: pairs.filter((p) => p.rule === 'overwrite'),
  });
  if (pairs.length > 0) {
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
  return {
    rowsIn,
    // Every deduplicated stage row was merged: inserted, or matched (rewritten only where a value changed).
    rowsOut: rowsIn - duplicatesRemoved,
    duplicatesRemoved,
    quarantined: 0,
    testRelation: target,
    warnings,
    testHints,
  };
}

/**
 * Members this date does not merge hold NULL in columns the table just gained, until a date merges
 * them: said, since a not_null test on such a column fails until then.
 */
async function membersLeftNull(ctx: MaterializeContext, keys: string[], added: string[]): Promise<string[]> {
  const { db, model, stage, target } = ctx;
  const sk = model.config.surrogate_key;
  const notUnknown = sk ? ` AND t.${ident(sk)} <> ${UNKNOWN_KEY}` : '';
  const left = Number(
    await db.scalar(
      `SELECT count(*) FROM ${target} AS t ANTI JOIN ${stage} AS s ON ${keyMatch(keys, 't', 's')} WHERE TRUE${notUnknown}`,
    ),
  );
  if (left === 0) return [];
  return [
    `${counted(left, 'member')} of ${model.id} that this date does not merge ${inNumber(left, 'holds', 'hold')} NULL in ${added.join(', ')} until a ` +
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
