import { counted, inNumber } from '../api/counted.ts';
import { describeRun, LakehouseError, PROJECT_PLACEHOLDER } from '../api/errors.ts';
import { type Db, ident, pathLiteral, readParquet } from '../db/duckdb.ts';
import { partitionFileRelation } from '../lake/partitions.ts';
import type { Model, OrderItem } from '../project/models.ts';
import { hasKeySql } from '../quality/data-tests.ts';
import {
  columnsOf,
  countRows,
  keyMatch,
  type MaterializeContext,
  type MaterializeOutcome,
  parallelCopy,
  tableExists,
} from './context.ts';

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
  const before = (await tableExists(db, ctx.target)) ? await columnsOf(db, ctx.target) : undefined;
  // As DuckDB names columns, in any case: `_Quarantine_Reason` sent rejected rows into silver unnoticed.
  const quarantineName = columns.find((c) => c.name.toLowerCase() === QUARANTINE_COLUMN)?.name;
  const hasQuarantine = quarantineName !== undefined;
  const dedupe = model.config.deduplicate;
  // Checked before anything is written: a bad order_by fails the model, not half its partition.
  const order = dedupe?.order_by ? orderBySql(model, dedupe.order_by, columns) : undefined;

  let rowsOut: number;
  let quarantined = 0;
  let duplicatesRemoved = 0;
  const warnings: string[] = [];
  // A model that stopped quarantining leaves no rows of this date there: they are in its output now.
  if (!hasQuarantine) warnings.push(...(await emptyOwnQuarantine(ctx)));
  if (!hasQuarantine && !dedupe) {
    // Nothing to split or drop: stream the model's result straight into the partition file.
    rowsOut = await partitions.write(model.id, etlDate, model.sql);
  } else {
    // The stage is only read: quarantined rows and repeats are filtered out as the partition is written
    // (deleting them in place first costs a pass more, in the slow transaction-local storage).
    const stagedRows = await ctx.restage(etlDate);
    const { stage } = ctx;
    const staged = await countRows(db, stage);
    const q = ident(quarantineName ?? QUARANTINE_COLUMN);
    const internal = hasQuarantine ? `__row, ${q}` : '__row';
    const kept = `(SELECT * FROM ${stagedRows.numbered} WHERE ${hasQuarantine ? `${q} IS NULL` : 'true'})`;
    if (hasQuarantine) {
      const relation = quarantineOf(model);
      await claimQuarantine(ctx, relation);
      quarantined = await partitions.write(
        relation,
        etlDate,
        `SELECT ${q} AS quarantine_reason, * EXCLUDE (${q}) FROM ${stage} WHERE ${q} IS NOT NULL`,
      );
      if (quarantined > 0) warnings.push(await quarantineByRule(ctx, relation, quarantined));
    }
    const loadedBefore = dedupe?.across_dates
      ? await keysLoadedBefore(ctx, kept, dedupe.key, dedupe.across_dates, warnings)
      : 0;
    if (loadedBefore > 0) {
      warnings.push(
        `${counted(loadedBefore, 'row')} ${inNumber(loadedBefore, 'repeats', 'repeat')} ${dedupe!.key.join(', ')} values an earlier date already loaded: removed as duplicates`,
      );
    }
    const stale = dedupe?.across_dates ? laterDatesCheckedAgainst(ctx, dedupe.across_dates) : [];
    // Read before the write replaces it: the later dates' choices stand unless the keys change for them.
    const previous =
      stale.length > 0 && (await partitions.rowCount(model.id, etlDate)) > 0
        ? await partitions.currentPath(model.id, etlDate)
        : undefined;
    // One statement: the kept rows are copied out of the stage once (a scan on one thread inside the
    // transaction), then searched for repeats and written from that copy on every core.
    const repeats = dedupe ? `, __repeats AS (${repeatsSql('__kept', internal, dedupe.key, order)})` : '';
    const notLoaded =
      loadedBefore > 0
        ? ` AS __k ANTI JOIN __keys_loaded_before AS __b ${sameKey(dedupe!.key, '__k', '__b')}`
        : '';
    const rows = `WITH ${parallelCopy('__kept', kept)}${repeats}
      SELECT * EXCLUDE (${internal}) FROM __kept${notLoaded}${dedupe ? ' WHERE __row NOT IN (SELECT __row FROM __repeats)' : ''}`;
    rowsOut = await partitions.write(model.id, etlDate, rows);
    duplicatesRemoved = staged - quarantined - rowsOut;
    const affected =
      stale.length > 0 &&
      (await laterDatesAffected(
        ctx,
        previous,
        await partitions.currentPath(model.id, etlDate),
        await Promise.all(stale.map((d) => partitions.currentPath(model.id, d))),
        dedupe!.key,
      ));
    if (affected) {
      const them = stale.length === 1 ? 'it' : 'them';
      const key = dedupe!.key.join(', ');
      // A date loaded late had nothing the later dates could drop: they kept what are now its repeats.
      warnings.push(
        previous
          ? `${stale.join(', ')} dropped repeats of ${key} values this date held when they ran: re-run ${them} ` +
              'too, so an event this new version adds or no longer holds is kept or dropped there again'
          : `${stale.join(', ')} ran before this date was loaded and kept ${key} values it holds, which are ` +
              `repeats there now: re-run ${them} too, so they are dropped there as in a build in date order`,
      );
    }
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
  // The tests read the file just written.
  const file = await partitions.currentPath(model.id, etlDate);
  if (columns.some((c) => c.name.toLowerCase() === 'etl_date')) await refuseOtherEtlDates(ctx, file);
  const testRelation = `(${partitionFileRelation(file, etlDate)})`;
  // The repeat search leaves one row per key: the rows with no key it keeps are ones a unique test skips.
  const uniqueKeys = dedupe?.key;
  if (before) warnings.push(...(await columnChanges(ctx, before, columns)));
  return { rowsIn, rowsOut, duplicatesRemoved, quarantined, testRelation, uniqueKeys, warnings };
}

/**
 * A partition's etl_date is its run's date: the layer's view reads it from the partition's folder, so
 * other values the model wrote there (the day before, an event's date) would be replaced without a
 * word. Checked from the file's column statistics, not its rows.
 */
async function refuseOtherEtlDates(ctx: MaterializeContext, file: string): Promise<void> {
  const { db, model, etlDate } = ctx;
  const stats = await db.all<{ low: string | null; high: string | null; nulls: number | bigint | null }>(
    `SELECT stats_min_value AS low, stats_max_value AS high, stats_null_count AS nulls
     FROM parquet_metadata(${pathLiteral(file)}) WHERE lower(path_in_schema) = 'etl_date'`,
  );
  // A DATE's statistics read 2022-06-01, a TIMESTAMP's 2022-06-01 00:00:00: the day is what the view keeps.
  const otherDay = (value: string | null) => value !== null && value.slice(0, 10) !== etlDate;
  const other = stats.flatMap((s) => [
    ...(otherDay(s.low) ? [s.low!] : []),
    ...(otherDay(s.high) ? [s.high!] : []),
    ...(Number(s.nulls ?? 0) > 0 ? ['NULL'] : []),
  ]);
  if (other.length === 0) return;
  throw new LakehouseError(
    'MODEL_INVALID',
    `${model.file}: etl_date holds ${[...new Set(other)].sort().join(', ')}, not the run's date ${etlDate}: a ` +
      "partition's etl_date is its run's date, which the layer's view reads from the partition. Write " +
      "getvariable('etl_date') AS etl_date, and give any other date another name (e.g. event_date).",
    { model: model.id, file: model.file, etlDate },
  );
}

/** The quarantine table of a partition model: `quarantine.<name>`, whatever its layer. */
export function quarantineOf(model: Model): string {
  return `quarantine.${model.name}`;
}

/** The model that writes a quarantine table, as recorded when it first did. */
export async function quarantineOwner(db: Db, relation: string): Promise<string | undefined> {
  const owner = await db.scalar<string>(
    'SELECT model FROM _lakehouse.quarantine_owners WHERE lower(relation) = lower($relation)',
    {
      relation,
    },
  );
  return owner ?? undefined;
}

/**
 * Takes the quarantine table for this model, or refuses when another model's rows are in it: bronze.x
 * and silver.x would replace each other's quarantined rows of a date, which would then be nowhere.
 */
async function claimQuarantine(ctx: MaterializeContext, relation: string): Promise<void> {
  const { db, model } = ctx;
  const owner = await quarantineOwner(db, relation);
  if (owner === model.id) return;
  if (owner !== undefined) {
    const gone = ctx.hasModel?.(owner) === false;
    throw new LakehouseError(
      'MODEL_INVALID',
      `${model.file}: ${model.id} quarantines rows into ${relation}, which holds the rows ${owner} quarantined` +
        (gone
          ? ` (its model file is gone). Drop that table first (lakehouse drop ${PROJECT_PLACEHOLDER} ${relation}, or Drop table in the app), then run again.`
          : `. Two models cannot share it, or each date would keep only one model's rows: rename one of the model files.`),
      { model: model.id, file: model.file, relation, owner },
    );
  }
  await db.run('INSERT INTO _lakehouse.quarantine_owners VALUES ($relation, $model)', {
    relation,
    model: model.id,
  });
}

/** Empties this date of the model's quarantine table when the model no longer quarantines; a note says so. */
async function emptyOwnQuarantine(ctx: MaterializeContext): Promise<string[]> {
  const { db, model, etlDate, partitions } = ctx;
  const relation = quarantineOf(model);
  if ((await quarantineOwner(db, relation)) !== model.id) return [];
  const held = await partitions.rowCount(relation, etlDate);
  if (held === 0) return [];
  const file = await partitions.currentPath(relation, etlDate);
  await partitions.write(relation, etlDate, `SELECT * FROM ${readParquet(file)} WHERE false`);
  return [
    `${relation} no longer holds the ${counted(held, 'row')} of ${etlDate} an earlier version of ${model.id} quarantined: ` +
      'the model gives no quarantine reason now',
  ];
}

/**
 * "12 rows quarantined: datetime_unparseable 10, user_id_not_numeric 2": the date's quarantine counted
 * by rule, the reason up to its first ':' (after it, a reason may quote the rejected value). Read from
 * the quarantine file just written, which holds only those rows.
 */
async function quarantineByRule(ctx: MaterializeContext, relation: string, count: number): Promise<string> {
  const file = await ctx.partitions.currentPath(relation, ctx.etlDate);
  const rules = await ctx.db.all<{ rule: string; n: number | bigint }>(
    // A reason that names no rule ('' or ': value') is still counted, under a name that says so.
    `SELECT coalesce(nullif(trim(split_part(quarantine_reason, ':', 1)), ''), '(no rule named)') AS rule, count(*) AS n
     FROM ${readParquet(file)} GROUP BY ALL ORDER BY n DESC, rule`,
  );
  return `${counted(count, 'row')} quarantined: ${rules.map((r) => `${r.rule} ${Number(r.n)}`).join(', ')}`;
}

/**
 * The join condition of two relations' rows with the same deduplication key, as a repeat within a date is
 * found: a NULL in part of a key is a value (GROUP BY's equality), a row whose key columns are all NULL has
 * no key and repeats nothing. A one-column key joins USING it: the same rule, and the plain hash join the
 * example's hot write has always used.
 */
function sameKey(keys: string[], left: string, right: string): string {
  if (keys.length === 1) return `USING (${ident(keys[0]!)})`;
  return `ON ${keyMatch(keys, left, right)} AND (${hasKeySql(keys, left)})`;
}

/**
 * Finds the keys of `rows` that the partition of one of the `window` latest earlier dates holds, into
 * `__keys_loaded_before`; returns how many of `rows` carry one. Only the key columns of those files are
 * read: about 0.06 s per 1M-row date, on top of 0.1 s (BENCHMARKS.md).
 */
async function keysLoadedBefore(
  ctx: MaterializeContext,
  rows: string,
  keys: string[],
  window: number | 'all',
  warnings: string[],
): Promise<number> {
  const files = await ctx.partitions.filesBefore(
    ctx.model.id,
    ctx.etlDate,
    window === 'all' ? undefined : window,
  );
  if (files.length === 0) return 0;
  await refuseKeysMissingBefore(ctx, files, keys);
  const k = keys.map(ident).join(', ');
  const today = `(SELECT ${k} FROM ${rows})`;
  let earlier = readParquet(files, 'union_by_name = true');
  // A key column retyped since (ids that became text) would make the join cast one side and fail on a
  // value it cannot convert: the earlier keys are compared in today's type, and one that has none matches nothing.
  const retyped = await retypedKeys(ctx.db, `(SELECT ${k} FROM ${earlier})`, today);
  if (retyped.length > 0) {
    const cast = new Map(retyped.map((r) => [r.name, r.now]));
    const columns = keys.map((key) =>
      cast.has(key) ? `TRY_CAST(${ident(key)} AS ${cast.get(key)}) AS ${ident(key)}` : ident(key),
    );
    earlier = `(SELECT ${columns.join(', ')} FROM ${earlier})`;
    warnings.push(
      `deduplicate.key ${retyped.map((r) => `${r.name} is ${r.now}, and ${r.was} in the dates before`).join('; ')}: ` +
        "their keys are compared as today's type in the repeat search",
    );
  }
  await ctx.db.run(
    `CREATE OR REPLACE TEMP TABLE __keys_loaded_before AS
     SELECT DISTINCT ${k} FROM ${earlier} AS earlier
     SEMI JOIN ${today} AS today ${sameKey(keys, 'earlier', 'today')}`,
  );
  const count = await ctx.db.scalar<number | bigint>(
    `SELECT count(*) FROM ${rows} AS r SEMI JOIN __keys_loaded_before AS b ${sameKey(keys, 'r', 'b')}`,
  );
  return Number(count ?? 0);
}

/** The key columns whose type in `earlier` differs from `today`'s (both select the key columns alone). */
async function retypedKeys(
  db: Db,
  earlier: string,
  today: string,
): Promise<{ name: string; was: string; now: string }[]> {
  const was = await columnsOf(db, earlier);
  const now = await columnsOf(db, today);
  return now.flatMap((column, i) =>
    was[i] && was[i].type !== column.type ? [{ name: column.name, was: was[i].type, now: column.type }] : [],
  );
}

/** The key columns each of `files` lacks, by the date of its partition, for those lacking one. */
async function keysLacking(
  db: Db,
  files: string[],
  keys: string[],
): Promise<{ date: string; columns: string[] }[]> {
  const lacking: { date: string; columns: string[] }[] = [];
  for (const file of files) {
    const has = new Set((await columnsOf(db, readParquet(file))).map((c) => c.name.toLowerCase()));
    const columns = keys.filter((key) => !has.has(key.toLowerCase()));
    const date = /etl_date=(\d{4}-\d{2}-\d{2})/.exec(file)?.[1] ?? file;
    if (columns.length > 0) lacking.push({ date, columns });
  }
  return lacking.sort((a, b) => a.date.localeCompare(b.date));
}

/**
 * A `deduplicate.key` column that earlier partitions lack (added to the model and the key since) failed
 * the repeat search with a Binder Error on the engine's own join. Refused instead, with the run that
 * writes them again: in date order from the first lacking it, each date finds its predecessors rewritten.
 */
async function refuseKeysMissingBefore(
  ctx: MaterializeContext,
  files: string[],
  keys: string[],
): Promise<void> {
  const { db, model, etlDate, partitions } = ctx;
  const lacking = await keysLacking(db, files, keys);
  if (lacking.length === 0) return;
  const first =
    (await keysLacking(db, await partitions.filesBefore(model.id, etlDate), keys))[0] ?? lacking[0]!;
  const columns = [...new Set(lacking.flatMap((l) => l.columns))];
  const run = { from: first.date, to: etlDate };
  const line = model.configLines['deduplicate.key'];
  throw new LakehouseError(
    'MODEL_INVALID',
    `${model.file}${line ? `:${line}` : ''}: deduplicate.key names ${columns.join(', ')}, which the partitions of ` +
      `${lacking.map((l) => l.date).join(', ')} lack (written before ${columns.length > 1 ? 'they were' : 'it was'} added), ` +
      `and the repeat search compares ${etlDate}'s keys with theirs. Write the dates again in one run, in date ` +
      `order (run ${describeRun(run)}), or leave ${columns.join(', ')} out of the key.`,
    {
      model: model.id,
      file: model.file,
      line,
      columns,
      dates: lacking.map((l) => l.date),
      suggestedRun: run,
    },
  );
}

/**
 * The committed later dates whose repeat search read this date's partition, or would have had it been
 * there (it is among the `window` dates before each), and that this run does not run again after it:
 * re-running this date, or loading it late, leaves their choice of what was a repeat as it was.
 */
function laterDatesCheckedAgainst(ctx: MaterializeContext, window: number | 'all'): string[] {
  const later = ctx.committedDates.filter((d) => d > ctx.etlDate);
  const consulted = window === 'all' ? later : later.slice(0, window);
  const rerunLater = new Set(ctx.runDates.filter((d) => d > ctx.etlDate));
  return consulted.filter((d) => !rerunLater.has(d));
}

/**
 * Whether this date's new partition changes what the later dates' repeat search found: a key it no
 * longer holds (a later date dropped that key's event as a repeat), or a key it newly holds that a later
 * date's partition kept (now a repeat there). A late first load has no keys it no longer holds. Files
 * whose key columns are missing or of other types count as changed, without a query that could fail
 * (and abort the date's transaction).
 */
async function laterDatesAffected(
  ctx: MaterializeContext,
  before: string | undefined,
  after: string,
  later: string[],
  keys: string[],
): Promise<boolean> {
  const keyTypes = async (file: string) => {
    const described = await ctx.db.all<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT * FROM ${readParquet(file)}`,
    );
    const types = new Map(described.map((c) => [c.column_name.toLowerCase(), c.column_type]));
    return keys.map((key) => types.get(key.toLowerCase()) ?? null).join(',');
  };
  const expected = await keyTypes(after);
  for (const file of [...(before ? [before] : []), ...later]) {
    if ((await keyTypes(file)) !== expected) return true;
  }
  const k = keys.map(ident).join(', ');
  const read = (file: string) => `SELECT ${k} FROM ${readParquet(file)}`;
  if (before) {
    const dropped = await ctx.db.scalar<number | bigint>(
      `SELECT count(*) FROM (${read(before)} EXCEPT ${read(after)})`,
    );
    if (Number(dropped) > 0) return true;
  }
  const added = before ? `(${read(after)} EXCEPT ${read(before)})` : `(${read(after)})`;
  const keptLater = await ctx.db.scalar<number | bigint>(
    `SELECT count(*) FROM ${added} AS a
     SEMI JOIN ${readParquet(later, 'union_by_name = true')} AS l ${sameKey(keys, 'a', 'l')}`,
  );
  return Number(keptLater) > 0;
}

/** Notes when this date's partition has other columns than the table had: what older dates lack or hold. */
async function columnChanges(
  ctx: MaterializeContext,
  before: { name: string; type: string }[],
  written: { name: string; type: string }[],
): Promise<string[]> {
  const after = await columnsOf(ctx.db, ctx.target);
  const names = (list: { name: string }[]) => new Set(list.map((c) => c.name));
  const added = after.filter((c) => !names(before).has(c.name)).map((c) => c.name);
  const removed = before.filter((c) => !names(after).has(c.name)).map((c) => c.name);
  // The view reads every date's files as one type: a retyped column reads as what all of them hold (VARCHAR
  // for INTEGER over VARCHAR), whatever this date wrote, until the other dates are written again.
  const retyped = written.flatMap((column) => {
    const was = before.find((c) => c.name === column.name)?.type;
    const reads = after.find((c) => c.name === column.name)?.type;
    return was && reads && was !== column.type ? [{ ...column, was, reads }] : [];
  });
  if (added.length === 0 && removed.length === 0 && retyped.length === 0) return [];
  const others = (await ctx.partitions.dates(ctx.model.id)).filter((d) => d !== ctx.etlDate);
  const which = `${counted(others.length, 'other date')}${others.length ? ` (${others[0]}${others.length > 1 ? ` .. ${others[others.length - 1]}` : ''})` : ''}`;
  const them = (list: unknown[]) => inNumber(list.length, 'it', 'them');
  const notes: string[] = [];
  if (added.length) {
    notes.push(
      `new ${inNumber(added.length, 'column')} ${added.join(', ')}: NULL in the ${which} written before; re-run ${them(others)} to fill it`,
    );
  }
  if (removed.length) {
    notes.push(
      `${inNumber(removed.length, 'column')} ${removed.join(', ')} no longer produced: gone from ${ctx.model.id}, though the ${which} written ` +
        `before still ${inNumber(others.length, 'holds', 'hold')} ${them(removed)}; models that read ${them(removed)} now fail until they are changed`,
    );
  }
  if (retyped.length && others.length) {
    notes.push(
      `${inNumber(retyped.length, 'column')} retyped: ${retyped.map((c) => `${c.name} was ${c.was}, now ${c.type}`).join('; ')}. The ${which} ` +
        `written before ${inNumber(others.length, 'keeps', 'keep')} the old type, so ${ctx.model.id} reads ` +
        `${retyped.map((c) => `${c.name} as ${c.reads}`).join(', ')} until ${inNumber(others.length, 'it is', 'they are')} re-run: re-run ${them(others)}, ` +
        'or cast back in the model',
    );
  }
  return notes;
}

/**
 * The ORDER BY of `deduplicate.order_by`: each item's column, which must be one of the model's output
 * columns (matched as DuckDB matches names, regardless of case), quoted, with the keywords parsed.
 */
function orderBySql(model: Model, items: OrderItem[], columns: { name: string }[]): string {
  return items
    .map((item) => {
      const column =
        columns.find((c) => c.name === item.column) ??
        columns.find((c) => c.name.toLowerCase() === item.column.toLowerCase());
      if (!column) {
        const available = columns.map((c) => c.name);
        throw new LakehouseError(
          'MODEL_INVALID',
          `${model.file}: deduplicate.order_by names "${item.column}", which the model does not output. ` +
            `Order by its output columns: ${available.join(', ')}.`,
          {
            model: model.id,
            file: model.file,
            field: 'deduplicate.order_by',
            column: item.column,
            available,
          },
        );
      }
      return [ident(column.name), item.direction, item.nulls].filter(Boolean).join(' ');
    })
    .join(', ');
}

/**
 * The `__row` of every row but the first per key by `orderBy`, ties broken by the whole row's text (the
 * model's columns, without `internal` ones) so re-runs keep the same one (the real sample repeats event
 * ids whose keywords differ in case). Only keys that repeat are sorted. Rows with no key (NULL in every
 * key column) repeat nothing, as the unique test skips them; a NULL in part of a key is a value.
 */
function repeatsSql(rows: string, internal: string, keys: string[], orderBy: string | undefined): string {
  const k = keys.map(ident).join(', ');
  const order = orderBy ?? k;
  // Filtered where keys are counted, so no pass is added: an all-NULL key is never among those that repeat.
  return `SELECT __row FROM (
      SELECT *, CAST(struct_pack(*COLUMNS(* EXCLUDE (${internal}))) AS VARCHAR) AS __row_text FROM ${rows}
      WHERE (${k}) IN (SELECT (${k}) FROM ${rows} WHERE ${hasKeySql(keys)} GROUP BY ALL HAVING count(*) > 1))
    QUALIFY row_number() OVER (PARTITION BY ${k} ORDER BY ${order}, __row_text) > 1`;
}
