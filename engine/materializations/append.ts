import { ident } from '../db/duckdb.ts';
import {
  addMissingColumns,
  countRows,
  dedupeStage,
  keyMatch,
  type MaterializeContext,
  type MaterializeOutcome,
  tableExists,
} from './context.ts';

/**
 * Incremental append by unique key (facts): rows whose key is already present are replaced, so
 * re-running a date never duplicates anything and the latest run of a key wins.
 */
export async function materializeAppend(ctx: MaterializeContext): Promise<MaterializeOutcome> {
  // Read five times and more (key delete, insert, every test): staged as Parquet, scanned on all cores.
  await ctx.restage(ctx.etlDate, 'parquet');
  const { db, model, stage, target } = ctx;
  const keys = model.config.unique_key ?? [];
  const rowsIn = await countRows(db, stage);
  const duplicatesRemoved = await dedupeStage(ctx, keys);
  const warnings: string[] = [];
  if (!(await tableExists(db, target))) {
    await db.run(`CREATE TABLE ${target} AS SELECT * FROM ${stage} LIMIT 0`);
  } else {
    const added = await addMissingColumns(db, target, stage);
    if (added.length) warnings.push(`added column(s) ${added.join(', ')} to ${model.id}`);
  }
  const single = keys.length === 1 ? ident(keys[0]!) : undefined;
  if (single) {
    await db.run(`DELETE FROM ${target} WHERE ${single} IN (SELECT ${single} FROM ${stage})`);
  } else {
    await db.run(`DELETE FROM ${target} t USING ${stage} s WHERE ${keyMatch(keys, 't', 's')}`);
  }
  await db.run(`INSERT INTO ${target} BY NAME SELECT * FROM ${stage}`);
  const rowsOut = await countRows(db, stage);
  return {
    rowsIn,
    rowsOut,
    duplicatesRemoved,
    quarantined: 0,
    testRelation: stage,
    uniqueKeys: keys,
    warnings,
  };
}
