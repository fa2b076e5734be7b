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
  const { db, model, stage, etlDate, partitions } = ctx;
  const columns = await columnsOf(db, stage);
  const hasQuarantine = columns.some((c) => c.name === QUARANTINE_COLUMN);
  const staged = await countRows(db, stage);

  let quarantined = 0;
  let good = `SELECT * FROM ${stage}`;
  if (hasQuarantine) {
    const q = ident(QUARANTINE_COLUMN);
    quarantined = await partitions.write(
      `quarantine.${model.name}`,
      etlDate,
      `SELECT ${q} AS quarantine_reason, * EXCLUDE (${q}) FROM ${stage} WHERE ${q} IS NOT NULL`,
    );
    good = `SELECT * EXCLUDE (${q}) FROM ${stage} WHERE ${q} IS NULL`;
  }
  if (model.config.deduplicate) {
    const keys = model.config.deduplicate.key.map(ident).join(', ');
    const order = model.config.deduplicate.order_by ?? keys;
    good = `${good} QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY ${order}) = 1`;
  }
  await db.run(`CREATE OR REPLACE TEMP VIEW __written AS ${good}`);
  const rowsOut = await partitions.write(model.id, etlDate, 'SELECT * FROM __written');
  const duplicatesRemoved = staged - quarantined - rowsOut;

  let rowsIn = staged;
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
  return { rowsIn, rowsOut, duplicatesRemoved, quarantined, testRelation: '__written', warnings: [] };
}
