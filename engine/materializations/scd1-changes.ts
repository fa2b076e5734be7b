import { type Db, ident, literal } from '../db/duckdb.ts';

/** The SCD1 change log: which run changed which column of which key, from what to what (JSON values). */
export const SCD1_CHANGES_TABLE = '_lakehouse.scd1_changes';

/**
 * A business key as one string, as the change log stores it and the history view finds it: the values
 * joined by '|', NULL values left out, so a member keyed on NULL alone (a dimension may key one on
 * NULL) is ''.
 */
function businessKeyText(keys: string[]): string {
  return `concat_ws('|', ${keys.map((k) => `${ident(k)}::VARCHAR`).join(', ')})`;
}

/**
 * Records, before an SCD1 merge applies, the keys it will insert and every logged column value it will
 * change, in the run's transaction (so a rolled-back date leaves no entries). SCD1 overwrites in place;
 * this log is the only trace of what a row looked like before. `merge` holds the stage's rows with
 * `__target_row` (NULL for a new key) and, per logged column, its value before and after the merge.
 */
export async function recordScd1Changes(
  db: Db,
  opts: {
    model: string;
    etlDate: string;
    runId: string;
    merge: string;
    keys: string[];
    logged: { column: string; before: string; after: string }[];
  },
): Promise<void> {
  const key = businessKeyText(opts.keys);
  const common = `${literal(opts.runId)}, ${literal(opts.model)}, ${literal(opts.etlDate)}::DATE`;
  // New keys are logged without their values: a later change logs each column's value before it.
  // Only changed values are turned into JSON.
  const inserts = `SELECT ${common}, ${key}, 'insert', NULL, NULL, NULL, now()::TIMESTAMP
     FROM ${opts.merge} WHERE __target_row IS NULL`;
  const updates = opts.logged.map(
    ({ column, before, after }) =>
      `SELECT ${common}, ${key}, 'update', ${literal(column)}, to_json(${before})::VARCHAR, to_json(${after})::VARCHAR, now()::TIMESTAMP
       FROM ${opts.merge} WHERE __target_row IS NOT NULL AND ${before} IS DISTINCT FROM ${after}`,
  );
  await db.run(`INSERT INTO ${SCD1_CHANGES_TABLE} ${[inserts, ...updates].join(' UNION ALL ')}`);
}
