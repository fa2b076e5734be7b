import { countRows, type MaterializeContext, type MaterializeOutcome } from './context.ts';

/** Full overwrite: the model's result replaces the table (inside the run's transaction, so atomically). */
export async function materializeTable(ctx: MaterializeContext): Promise<MaterializeOutcome> {
  await ctx.restage(ctx.etlDate);
  const { db, stage, target } = ctx;
  await db.run(`CREATE OR REPLACE TABLE ${target} AS SELECT * FROM ${stage}`);
  const rows = await countRows(db, target);
  return {
    rowsIn: rows,
    rowsOut: rows,
    duplicatesRemoved: 0,
    quarantined: 0,
    testRelation: target,
    warnings: [],
  };
}
