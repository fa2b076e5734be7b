import { counted, inNumber } from '../api/counted.ts';
import { type Db, ident, literal } from '../db/duckdb.ts';
import { recordedShape } from './builds.ts';
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
  type TestHints,
  tableExists,
} from './context.ts';

/**
 * Incremental append by unique key (facts): rows whose key is already present are replaced, so
 * re-running a date never duplicates anything, and a key loaded on several dates holds the latest
 * date's row, whatever order the dates ran in. A re-run also removes the rows the date loaded before
 * and no longer produces (its source was fixed or shrank).
 */
export async function materializeAppend(ctx: MaterializeContext): Promise<MaterializeOutcome> {
  // Read five times and more (key delete, insert, every test): staged as Parquet, scanned on all cores.
  await ctx.restage(ctx.etlDate, 'parquet');
  const { db, model, stage, target } = ctx;
  const keys = model.config.unique_key ?? [];
  const rowsIn = await countRows(db, stage);
  const duplicatesRemoved = await dedupeStage(ctx, keys);
  const warnings: string[] = [];
  let testHints: TestHints | undefined;
  if (!(await tableExists(db, target))) {
    await db.run(`CREATE TABLE ${target} AS SELECT * FROM ${stage} LIMIT 0`);
  } else {
    const typesBefore = await keyTypes(db, target, keys);
    const recordedKeys = (await recordedShape(db, model.id))?.keys ?? keys;
    const changes = await alignTableColumns(db, model, target, stage);
    warnings.push(...columnNotes(model.id, changes));
    testHints = { notes: addedColumnsNote(model.id, changes) };
    await rehashRecordedKeys(ctx, keys, recordedKeys, typesBefore);
  }
  const tableTypes = await keyTypes(db, target, keys);
  const restored = await replaceDateKeys(ctx, keys, tableTypes);
  if (restored.rows > 0) {
    const from = restored.fromDates.join(', ');
    warnings.push(
      `${counted(restored.rows, 'row')} of ${keys.join(', ')} values ${ctx.etlDate} no longer loads ${inNumber(restored.rows, 'is', 'are')} ` +
        `${from}'s again, which also loaded them, as in a build in date order`,
    );
  }
  const superseded = await leaveKeysToLaterDates(ctx, keys, tableTypes);
  if (superseded.rows > 0) {
    const later = superseded.laterDates.join(', ');
    // Not "as in date order": a model upstream dropping repeats across dates gives the later date none.
    warnings.push(
      `${counted(superseded.rows, 'row')} ${inNumber(superseded.rows, 'repeats', 'repeat')} ${keys.join(', ')} values ${later} also loaded: that date's rows are kept ` +
        'and these are not written. A model upstream that drops repeats across dates keeps these instead in a ' +
        `build in date order: once ${later} has run again there, run ${ctx.etlDate} again`,
    );
  }
  const single = keys.length === 1 ? ident(keys[0]!) : undefined;
  if (single) {
    await db.run(`DELETE FROM ${target} WHERE ${single} IN (SELECT ${single} FROM ${stage})`);
    // IN matches no NULL: a NULL key is one value here, as keyMatch compares it over several columns.
    // Its own statement, because an OR beside the IN made the delete of a 1M-row stage ~30% slower.
    if (await db.scalar<boolean>(`SELECT bool_or(${single} IS NULL) FROM ${stage}`))
      await db.run(`DELETE FROM ${target} WHERE ${single} IS NULL`);
  } else {
    await db.run(`DELETE FROM ${target} t USING ${stage} s WHERE ${keyMatch(keys, 't', 's')}`);
  }
  await db.run(`INSERT INTO ${target} BY NAME SELECT * FROM ${stage}`);
  const rowsOut = await countRows(db, stage);
  return {
    rowsIn,
    rowsOut,
    duplicatesRemoved: duplicatesRemoved + superseded.rows,
    quarantined: 0,
    testRelation: stage,
    uniqueKeys: keys,
    warnings,
    testHints,
  };
}

/**
 * Records the key hashes this date loads, first removing what a previous run of the date loaded and
 * this one does not: rows whose key hash that run recorded and no other date did. A key another date
 * loaded since belongs to that date and stays; so does, conservatively, a stale row whose hash collides
 * with another date's key (64-bit hashes: about one in a million at 10M keys). A key only earlier dates
 * share is put back as they load it (restoreEarlierRows). DuckDB's hash() may change across versions:
 * hashes recorded by another version then match nothing, and a re-run removes nothing extra, as before
 * this record existed. Returns the rows put back and the dates they came from.
 */
async function replaceDateKeys(
  ctx: MaterializeContext,
  keys: string[],
  tableTypes: Map<string, string>,
): Promise<Restored> {
  const { db, model, stage, target, etlDate } = ctx;
  const params = { model: model.id, d: etlDate };
  let restored: Restored = { rows: 0, fromDates: [] };
  if (ctx.committedDates.includes(etlDate)) {
    // The previous run's hashes another date recorded too, and whether a later one did: one pass over
    // the record serves both the removal and restoreEarlierRows.
    await db.run(
      `CREATE OR REPLACE TEMP TABLE __append_shared AS
       SELECT key_hash, bool_or(etl_date > $d::DATE) AS later FROM _lakehouse.append_keys
       WHERE model = $model AND etl_date <> $d::DATE AND key_hash IN (
         SELECT key_hash FROM _lakehouse.append_keys WHERE model = $model AND etl_date = $d::DATE)
       GROUP BY key_hash`,
      params,
    );
    await db.run(
      `DELETE FROM ${target} WHERE ${tableKeyHash(keys)} IN (
         SELECT key_hash FROM _lakehouse.append_keys WHERE model = $model AND etl_date = $d::DATE
         EXCEPT SELECT key_hash FROM temp.main.__append_shared)`,
      params,
    );
    restored = await restoreEarlierRows(ctx, keys, tableTypes);
    await db.run(
      `DROP TABLE temp.main.__append_shared;
       DELETE FROM _lakehouse.append_keys WHERE model = $model AND etl_date = $d::DATE`,
      params,
    );
  }
  await db.run(
    `INSERT INTO _lakehouse.append_keys SELECT $model, $d::DATE, ${await stageKeyHash(db, stage, keys, tableTypes)} FROM ${stage}`,
    params,
  );
  return restored;
}

interface Restored {
  rows: number;
  fromDates: string[];
}

/**
 * Keys a previous run of the date loaded and this one does not, that an earlier date loaded too and no
 * later date did: the table holds this date's old row, a build in date order the earlier date's. Those
 * rows are replaced by the latest earlier date's, as its model output gives them now (a date that no
 * longer gives a key has it struck from its record, and the next earlier one is asked). Leaves the stage
 * holding this date's rows again. Costs one query unless such keys exist; then a staging per date asked.
 */
async function restoreEarlierRows(
  ctx: MaterializeContext,
  keys: string[],
  tableTypes: Map<string, string>,
): Promise<Restored> {
  const { db, model, stage, target, etlDate } = ctx;
  const params = { model: model.id, d: etlDate };
  const recorded = (when: string) =>
    `SELECT key_hash FROM _lakehouse.append_keys WHERE model = $model AND etl_date ${when}`;
  const onlyEarlier = 'SELECT key_hash FROM temp.main.__append_shared WHERE NOT later';
  if (Number(await db.scalar<number | bigint>(`SELECT count(*) FROM (${onlyEarlier})`)) === 0) {
    return { rows: 0, fromDates: [] };
  }
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __append_orphans AS
     ${onlyEarlier} EXCEPT SELECT ${await stageKeyHash(db, stage, keys, tableTypes)} FROM ${stage}`,
  );
  const orphans = 'temp.main.__append_orphans';
  if ((await countRows(db, orphans)) === 0) {
    await db.run(`DROP TABLE ${orphans}`);
    return { rows: 0, fromDates: [] };
  }
  await db.run(`DELETE FROM ${target} WHERE ${tableKeyHash(keys)} IN (SELECT key_hash FROM ${orphans})`);
  const earlier = await db.all<{ d: string }>(
    `SELECT DISTINCT strftime(etl_date, '%Y-%m-%d') AS d FROM _lakehouse.append_keys
     WHERE model = $model AND etl_date < $d::DATE AND key_hash IN (SELECT key_hash FROM ${orphans}) ORDER BY d DESC`,
    params,
  );
  let rows = 0;
  const fromDates: string[] = [];
  for (const { d } of earlier) {
    const asked = { model: model.id, d };
    const wanted = `SELECT key_hash FROM ${orphans} WHERE key_hash IN (${recorded('= $d::DATE')})`;
    if (Number(await db.scalar<number | bigint>(`SELECT count(*) FROM (${wanted})`, asked)) === 0) continue;
    await ctx.restage(d);
    const hashed = await stageKeyHash(db, stage, keys, tableTypes);
    // One row a key: its run loaded a repeated row once (rows that differ fail that date's own run).
    await db.run(
      `CREATE OR REPLACE TEMP TABLE __append_found AS
       SELECT DISTINCT ON (${keys.map(ident).join(', ')}) * FROM ${stage} WHERE ${hashed} IN (${wanted})`,
      asked,
    );
    const found = 'temp.main.__append_found';
    const foundHash = await stageKeyHash(db, found, keys, tableTypes);
    const before = await countRows(db, target);
    await db.run(
      `INSERT INTO ${target} BY NAME SELECT f.* FROM ${found} AS f ANTI JOIN ${target} AS t ON ${keyMatch(keys, 'f', 't')}`,
    );
    const added = (await countRows(db, target)) - before;
    if (added > 0) {
      rows += added;
      fromDates.push(d);
    }
    // That date's record keeps only the keys it still gives: a later run must not take them for its own.
    await db.run(
      `DELETE FROM _lakehouse.append_keys WHERE model = $model AND etl_date = $d::DATE
         AND key_hash IN (${wanted}) AND key_hash NOT IN (SELECT ${foundHash} FROM ${found})`,
      asked,
    );
    await db.run(
      `DELETE FROM ${orphans} WHERE key_hash IN (SELECT ${foundHash} FROM ${found}); DROP TABLE ${found}`,
    );
    if ((await countRows(db, orphans)) === 0) break;
  }
  await db.run(`DROP TABLE ${orphans}`);
  await ctx.restage(etlDate, 'parquet');
  await dedupeStage(ctx, keys);
  return { rows, fromDates: fromDates.sort() };
}

/** The table's key column types, by lower-case name. */
async function keyTypes(db: Db, target: string, keys: string[]): Promise<Map<string, string>> {
  const wanted = new Set(keys.map((k) => k.toLowerCase()));
  const types = new Map<string, string>();
  for (const c of await columnsOf(db, target)) {
    if (wanted.has(c.name.toLowerCase())) types.set(c.name.toLowerCase(), c.type);
  }
  return types;
}

/** hash() of the table's own key columns: what the record holds for the rows it has. */
function tableKeyHash(keys: string[]): string {
  return `hash(${keys.map(ident).join(', ')})`;
}

/**
 * hash() of a relation's keys as the table's columns hold them: hash(1::INTEGER) is not hash(1::DOUBLE),
 * so a key staged narrower than its column would match no recorded hash. Keys of the table's types
 * are hashed as they are, as every hash recorded before was.
 */
async function stageKeyHash(
  db: Db,
  relation: string,
  keys: string[],
  tableTypes: Map<string, string>,
): Promise<string> {
  const staged = await columnTypesOf(db, relation);
  const columns = keys.map((k) => {
    const type = tableTypes.get(k.toLowerCase());
    return type && type !== staged.get(k.toLowerCase()) ? `CAST(${ident(k)} AS ${type})` : ident(k);
  });
  return `hash(${columns.join(', ')})`;
}

/**
 * After a key column was widened (INTEGER to DOUBLE), or `unique_key` reordered (`[a, b]` to `[b, a]`),
 * the hashes every date recorded are of the old types or order and would match none of the table's keys:
 * each is rehashed through the table's key, read back as it was hashed (a lossless widening gives the old
 * values exactly). A recorded key the table does not hold keeps its old hash and matches nothing, as after
 * a DuckDB version changing hash().
 */
async function rehashRecordedKeys(
  ctx: MaterializeContext,
  keys: string[],
  recordedKeys: string[],
  typesBefore: Map<string, string>,
): Promise<void> {
  const { db, model, target } = ctx;
  const typesNow = await keyTypes(db, target, keys);
  const lower = (names: string[]) => names.map((k) => k.toLowerCase());
  const same = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);
  // The recorded order only when it names the same columns (builds.ts refuses any other key change).
  const hashedKeys = same(lower(recordedKeys).sort(), lower(keys).sort()) ? recordedKeys : keys;
  const sameTypes = keys.every((k) => typesNow.get(k.toLowerCase()) === typesBefore.get(k.toLowerCase()));
  if (sameTypes && same(lower(hashedKeys), lower(keys))) return;
  const old = hashedKeys.map((k) => {
    const type = typesBefore.get(k.toLowerCase());
    return type && type !== typesNow.get(k.toLowerCase()) ? `CAST(${ident(k)} AS ${type})` : ident(k);
  });
  // One row per old hash: two keys of one old hash (a collision) must not make the update ambiguous.
  await db.run(
    `UPDATE _lakehouse.append_keys AS a SET key_hash = m.new_hash
     FROM (SELECT hash(${old.join(', ')}) AS old_hash, min(${tableKeyHash(keys)}) AS new_hash
           FROM ${target} GROUP BY old_hash) AS m
     WHERE a.model = $model AND a.key_hash = m.old_hash`,
    { model: model.id },
  );
}

/**
 * Drops from the stage the rows whose key a later committed date also loaded and the table holds:
 * re-running an older date, or loading it late, must not put older versions of those rows back. Keys
 * are matched by the later dates' recorded hashes and then by value in the table, so a hash collision
 * cannot drop a row. Only re-runs and late dates pay for it. Returns how many rows were dropped and the
 * later dates that loaded them.
 */
async function leaveKeysToLaterDates(
  ctx: MaterializeContext,
  keys: string[],
  tableTypes: Map<string, string>,
): Promise<{ rows: number; laterDates: string[] }> {
  const { db, model, stage, target, etlDate } = ctx;
  if (!ctx.committedDates.some((d) => d > etlDate)) return { rows: 0, laterDates: [] };
  const columns = keys.map(ident).join(', ');
  const before = await countRows(db, stage);
  await ctx.replaceStage(
    `WITH held AS (
       SELECT ${columns} FROM ${target}
       WHERE ${tableKeyHash(keys)} IN (SELECT key_hash FROM _lakehouse.append_keys
                                  WHERE model = ${literal(model.id)} AND etl_date > ${literal(etlDate)}::DATE))
     SELECT s.* FROM ${stage} AS s ANTI JOIN held AS l ON ${keyMatch(keys, 's', 'l')}`,
  );
  const rows = before - (await countRows(db, stage));
  if (rows === 0) return { rows, laterDates: [] };
  // Only when rows were dropped: which later dates loaded them, for the note.
  const modelId = literal(model.id);
  const later = await db.all<{ d: string }>(
    `SELECT DISTINCT strftime(etl_date, '%Y-%m-%d') AS d FROM _lakehouse.append_keys
     WHERE model = ${modelId} AND etl_date > ${literal(etlDate)}::DATE AND key_hash IN (
       SELECT key_hash FROM _lakehouse.append_keys WHERE model = ${modelId} AND etl_date = ${literal(etlDate)}::DATE
       EXCEPT SELECT ${await stageKeyHash(db, stage, keys, tableTypes)} FROM ${stage})
     ORDER BY d`,
  );
  return { rows, laterDates: later.map((r) => r.d) };
}
