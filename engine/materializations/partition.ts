import { LakehouseError } from '../api/errors.ts';
import { ident } from '../db/duckdb.ts';
import { columnsOf, countRows, type MaterializeContext, type MaterializeOutcome } from './context.ts';

/** A column a model may emit: rows where it is not null go to `quarantine.<model>` with that reason. */
export const QUARANTINE_COLUMN = '_quarantine_reason';

/**
 * Daily partition replace (bronze, silver): writes the date's rows as one new Parquet file and swaps
 * the partition pointer. Rows carrying a quarantine reason are written to the quarantine partition instead;
 * repeated keys are dropped and counted. With `reconcile_with`, upstream rows must equal
 * rows out + duplicates + quarantined, or the run fails.
 */
export async function materializePartition(ctx: MaterializeContext): Promise<MaterializeOutcome> {
  const { db, model, etlDate, partitions } = ctx;
  const columns = await columnsOf(db, `(${model.sql})`);
  const hasQuarantine = columns.some((c) => c.name === QUARANTINE_COLUMN);
  const dedupe = model.config.deduplicate;

  let rowsOut: number;
  let quarantined = 0;
  let duplicatesRemoved = 0;
  if (!hasQuarantine && !dedupe) {
    // Nothing to split or drop: stream the model's result straight into the partition file.
    rowsOut = await partitions.write(model.id, etlDate, model.sql, { cache: true });
  } else {
    await ctx.restage(etlDate);
    const { stage } = ctx;
    const staged = await countRows(db, stage);
    // The staged table is cleaned in place and then becomes the day's partition: copying the good rows
    // into a new table cost more than the model itself on million-row days.
    if (hasQuarantine) {
      const q = ident(QUARANTINE_COLUMN);
      quarantined = await partitions.write(
        `quarantine.${model.name}`,
        etlDate,
        `SELECT ${q} AS quarantine_reason, * EXCLUDE (${q}) FROM ${stage} WHERE ${q} IS NOT NULL`,
      );
      await db.run(`DELETE FROM ${stage} WHERE ${q} IS NOT NULL`);
      await db.run(`ALTER TABLE ${stage} DROP COLUMN ${q}`);
    }
    if (dedupe) await db.run(deleteRepeatsSql(stage, dedupe.key, dedupe.order_by));
    rowsOut = await partitions.adopt(model.id, etlDate, stage);
    duplicatesRemoved = staged - quarantined - rowsOut;
  }

  let rowsIn = rowsOut + duplicatesRemoved + quarantined;
  if (model.config.reconcile_with) {
    rowsIn = await partitions.rowCount(model.config.reconcile_with, etlDate);
    if (rowsIn !== rowsOut + duplicatesRemoved + quarantined) {
      throw new LakehouseError(
        'ACCOUNTING_MISMATCH',
        `${model.id} ${etlDate}: ${model.config.reconcile_with} has ${rowsIn} rows but ${model.id} accounts for ` +
          `${rowsOut} written + ${duplicatesRemoved} duplicates + ${quarantined} quarantined = ` +
          `${rowsOut + duplicatesRemoved + quarantined}. The model drops or adds rows silently: ` +
          `give every rejected row a ${QUARANTINE_COLUMN} instead of filtering it out.`,
        { model: model.id, etlDate, rowsIn, rowsOut, duplicatesRemoved, quarantined },
      );
    }
  }
  const testRelation = await partitions.rowsOf(model.id, etlDate);
  return { rowsIn, rowsOut, duplicatesRemoved, quarantined, testRelation, warnings: [] };
}

/**
 * Deletes every row but the first per key by `orderBy`, ties broken by the whole row's text so re-runs
 * keep the same one (the real sample repeats event ids whose keywords differ in case). Only keys that
 * repeat are sorted.
 */
function deleteRepeatsSql(table: string, keys: string[], orderBy: string | undefined): string {
  const k = keys.map(ident).join(', ');
  const order = orderBy ?? k;
  return `DELETE FROM ${table} WHERE rowid IN (
    SELECT rowid FROM ${table} AS r
    WHERE (${k}) IN (SELECT (${k}) FROM ${table} GROUP BY ALL HAVING count(*) > 1)
    QUALIFY row_number() OVER (PARTITION BY ${k} ORDER BY ${order}, CAST(r AS VARCHAR)) > 1)`;
}
