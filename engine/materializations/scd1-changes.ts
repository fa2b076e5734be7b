import { type Db, ident, literal } from '../db/duckdb.ts';
import { columnTypesOf } from './context.ts';
import { holdsTimestamptz, zoneFreeText } from './history.ts';

/** Column types by lower-case name (as DuckDB binds names; columnTypesOf), for businessKeyText. */
export type KeyTypes = ReadonlyMap<string, string>;

/** The SCD1 change log: which run changed which column of which key, from what to what (JSON values). */
export const SCD1_CHANGES_TABLE = '_lakehouse.scd1_changes';

/**
 * A business key as one string, as the change log stores it and the history view shows and finds it. A
 * single key is its text, and NULL is '\N' (a dimension may key one member on NULL): it was '', the text
 * of an empty key too (see adoptNullKeyEntries); a key written '\N' (or '\\N', ...) takes one more '\'.
 * A composite key joins its values with '|' in unique_key order; a value holding '|' or '\' has them
 * escaped with '\', and NULL is '\N', so ('a|', 'b') and ('a', '|b'), or ('x', NULL) and (NULL, 'x'),
 * stay apart. Keys without those read as they always did, so existing logs keep matching, but for a
 * single key written '\N' itself: its entries logged before read as the NULL member's (not moved; rare).
 * Given the key columns' `types`, a TIMESTAMPTZ is written in UTC, not in the session's time zone, which
 * made one member's key two texts (see adoptSessionZoneKeys).
 */
export function businessKeyText(keys: string[], alias = '', types?: KeyTypes): string {
  const column = (k: string) =>
    zoneFreeText(`${alias ? `${alias}.` : ''}${ident(k)}`, types?.get(k.toLowerCase()));
  if (keys.length === 1) {
    const v = column(keys[0]!);
    return `CASE WHEN ${v} IS NULL THEN '\\N' WHEN ${v} <> 'N' AND ltrim(${v}, '\\') = 'N' THEN '\\' || ${v} ELSE ${v} END`;
  }
  const part = (k: string) => {
    const v = column(k);
    return `CASE WHEN ${v} IS NULL THEN '\\N' WHEN contains(${v}, '|') OR contains(${v}, '\\')
      THEN replace(replace(${v}, '\\', '\\\\'), '|', '\\|') ELSE ${v} END`;
  };
  return `concat_ws('|', ${keys.map(part).join(', ')})`;
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
  const types = await columnTypesOf(db, opts.merge);
  const key = businessKeyText(opts.keys, '', types);
  const json = (column: string) => jsonValueSql(column, types.get(column.toLowerCase()));
  const common = `${literal(opts.runId)}, ${literal(opts.model)}, ${literal(opts.etlDate)}::DATE`;
  // New keys are logged without their values: a later change logs each column's value before it.
  // Only changed values are turned into JSON.
  const inserts = `SELECT ${common}, ${key}, 'insert', NULL, NULL, NULL, now()::TIMESTAMP
     FROM ${opts.merge} WHERE __target_row IS NULL`;
  const updates = opts.logged.map(
    ({ column, before, after }) =>
      `SELECT ${common}, ${key}, 'update', ${literal(column)}, ${json(before)}, ${json(after)}, now()::TIMESTAMP
       FROM ${opts.merge} WHERE __target_row IS NOT NULL AND ${before} IS DISTINCT FROM ${after}`,
  );
  await db.run(`INSERT INTO ${SCD1_CHANGES_TABLE} ${[inserts, ...updates].join(' UNION ALL ')}`);
}

/**
 * A logged value as JSON text the history view can parse: DuckDB writes a NaN or infinite DOUBLE as the
 * bare NaN or Infinity, which JSON.parse refuses (the member's whole history failed to open), and an
 * integer past 2^53 as a number JavaScript rounds. Those are logged as their text, a JSON string.
 */
function jsonValueSql(column: string, type: string | undefined): string {
  const asText = `to_json(${column}::VARCHAR)::VARCHAR`;
  if (type === 'FLOAT' || type === 'DOUBLE') {
    return `CASE WHEN isfinite(${column}) THEN to_json(${column})::VARCHAR ELSE ${asText} END`;
  }
  if (type === 'BIGINT' || type === 'UBIGINT' || type === 'HUGEINT' || type === 'UHUGEINT') {
    return `CASE WHEN ${column} BETWEEN -9007199254740991 AND 9007199254740991 THEN to_json(${column})::VARCHAR ELSE ${asText} END`;
  }
  return `to_json(${column})::VARCHAR`;
}

/**
 * A single key's NULL member was logged under '' before it was '\N' (businessKeyText). Those entries are
 * the NULL member's when the table holds one and no member keyed '' (with both, they cannot be told
 * apart and stay): they move to '\N', once, so the history view finds them. Reads the table's NULL key
 * only (a filter its statistics answer), and the log only for a model that has one other than the unknown
 * member (`unknownKey`, never logged: dim_platform's is keyed on NULL).
 */
export async function adoptNullKeyEntries(
  db: Db,
  opts: {
    model: string;
    target: string;
    keys: string[];
    unknownKey: { column: string; value: number } | undefined;
  },
): Promise<void> {
  const [key] = opts.keys;
  if (opts.keys.length !== 1 || key === undefined) return;
  const k = ident(key);
  const known = opts.unknownKey ? ` AND ${ident(opts.unknownKey.column)} <> ${opts.unknownKey.value}` : '';
  const hasNull = await db.scalar<boolean>(
    `SELECT true FROM ${opts.target} WHERE ${k} IS NULL${known} LIMIT 1`,
  );
  if (!hasNull) return;
  await db.run(
    `UPDATE ${SCD1_CHANGES_TABLE} SET key = '\\N' WHERE model = ${literal(opts.model)} AND key = ''
       AND NOT EXISTS (SELECT 1 FROM ${opts.target} WHERE ${k}::VARCHAR = '')`,
  );
}

/**
 * Keys holding a TIMESTAMPTZ were logged in the session's time zone before they were in UTC
 * (businessKeyText): entries logged in this session's zone move to the UTC text, once, so the history
 * view finds them. Entries from a run in yet another zone cannot be told apart and stay. Reads the table
 * only for such a key in a session not in UTC.
 */
export async function adoptSessionZoneKeys(
  db: Db,
  opts: { model: string; target: string; keys: string[] },
): Promise<void> {
  const types = await columnTypesOf(db, opts.target);
  if (!opts.keys.some((k) => holdsTimestamptz(types.get(k.toLowerCase())))) return;
  const zone = await db.scalar<string>("SELECT current_setting('TimeZone')");
  if (zone === 'UTC' || zone === 'Etc/UTC') return;
  await db.run(
    `UPDATE ${SCD1_CHANGES_TABLE} AS c SET key = m.now_key
     FROM (SELECT DISTINCT ${businessKeyText(opts.keys)} AS logged_key, ${businessKeyText(opts.keys, '', types)} AS now_key
           FROM ${opts.target}) AS m
     WHERE c.model = ${literal(opts.model)} AND c.key = m.logged_key AND m.logged_key <> m.now_key`,
  );
}

/**
 * Rewrites a model's logged keys from the `unique_key` order they were logged in to the header's order
 * now (`[a, b]` turned `[b, a]`), so the history view finds a member's earlier entries by the key it
 * shows. Every logged key is a member the table still holds (SCD1 never deletes one): the table gives
 * both texts of each. Inside the date's transaction, so a failed date leaves the log as it was.
 */
export async function rekeyScd1Changes(
  db: Db,
  opts: { model: string; target: string; loggedKeys: string[]; keys: string[] },
): Promise<void> {
  const lower = (keys: string[]) => keys.map((k) => k.toLowerCase()).join('\u0000');
  if (opts.keys.length < 2 || lower(opts.loggedKeys) === lower(opts.keys)) return;
  const types = await columnTypesOf(db, opts.target);
  await db.run(
    `UPDATE ${SCD1_CHANGES_TABLE} AS c SET key = m.now_key
     FROM (SELECT DISTINCT ${businessKeyText(opts.loggedKeys, '', types)} AS logged_key, ${businessKeyText(opts.keys, '', types)} AS now_key
           FROM ${opts.target}) AS m
     WHERE c.model = ${literal(opts.model)} AND c.key = m.logged_key`,
  );
}
