import { type Db, ident, literal } from '../db/duckdb.ts';

/** The SCD1 change log: which run changed which column of which key, from what to what (JSON values). */
export const SCD1_CHANGES_TABLE = '_lakehouse.scd1_changes';

/**
 * Records, before an SCD1 merge applies, the keys it will insert and every column value it will change,
 * in the run's transaction (so a rolled-back date leaves no entries). SCD1 overwrites in place; this log
 * is the only trace of what a row looked like before. `merged` pairs each non-key column with the SQL
 * expression (over `t` target and `s` stage) the merge assigns it.
 */
export async function recordScd1Changes(
  db: Db,
  opts: {
    model: string;
    etlDate: string;
    runId: string;
    target: string;
    stage: string;
    keys: string[];
    merged: [column: string, expression: string][];
    /** `t` and `s` matched on the business key, excluding the unknown member. */
    match: string;
  },
): Promise<void> {
  const key = (alias: string) =>
    opts.keys.length === 1
      ? `${alias}.${ident(opts.keys[0]!)}::VARCHAR`
      : `concat_ws('|', ${opts.keys.map((k) => `${alias}.${ident(k)}::VARCHAR`).join(', ')})`;
  const common = `${literal(opts.runId)}, ${literal(opts.model)}, ${literal(opts.etlDate)}::DATE`;
  // New keys are logged without their values: a later change logs each column's value before it.
  await db.run(
    `INSERT INTO ${SCD1_CHANGES_TABLE}
     SELECT ${common}, ${key('s')}, 'insert', NULL, NULL, NULL, now()::TIMESTAMP
     FROM ${opts.stage} AS s WHERE NOT EXISTS (SELECT 1 FROM ${opts.target} AS t WHERE ${opts.match})`,
  );
  if (opts.merged.length === 0) return;
  // One join of the matched rows, raw values before and after; only changed values are turned into JSON.
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __scd1_matched AS
     SELECT ${key('t')} AS key, ${opts.merged.map(([column, expression], i) => `t.${ident(column)} AS b${i}, ${expression} AS a${i}`).join(', ')}
     FROM ${opts.target} AS t, ${opts.stage} AS s WHERE ${opts.match}`,
  );
  await db.run(
    `INSERT INTO ${SCD1_CHANGES_TABLE}
     ${opts.merged
       .map(
         ([column], i) =>
           `SELECT ${common}, key, 'update', ${literal(column)}, to_json(b${i})::VARCHAR, to_json(a${i})::VARCHAR, now()::TIMESTAMP
            FROM __scd1_matched WHERE b${i} IS DISTINCT FROM a${i}`,
       )
       .join(' UNION ALL ')}`,
  );
  await db.run('DROP TABLE temp.main.__scd1_matched');
}
