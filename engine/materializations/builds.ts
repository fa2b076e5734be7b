import { LakehouseError } from '../api/errors.ts';
import type { Db } from '../db/duckdb.ts';
import { splitRelation } from '../lake/partitions.ts';
import type { Model } from '../project/models.ts';

/**
 * What a table's rows are keyed by, as the header that built it said: a merge carries rows over by
 * these keys, so a table built with others cannot take the next run's rows (keys would repeat, or
 * lose their surrogate keys). Kept in `_lakehouse.builds`, one row per relation.
 */
export interface BuildShape {
  materialized: string;
  /** unique_key, or a bridge's entity and member; lower case, as DuckDB compares names. */
  keys: string[];
  surrogateKey: string | null;
}

export function buildShapeOf(model: Model): BuildShape {
  const { config } = model;
  const keys = config.bridge ? [config.bridge.entity, config.bridge.member] : (config.unique_key ?? []);
  return {
    materialized: config.materialized,
    keys: keys.map((k) => k.toLowerCase()),
    surrogateKey: config.surrogate_key?.toLowerCase() ?? null,
  };
}

/** A partition model's relation is a view over its Parquet files; every other model builds a table. */
function relationKindOf(model: Model): 'view' | 'table' {
  return model.config.materialized === 'partition' ? 'view' : 'table';
}

async function existingKind(db: Db, relation: string): Promise<'view' | 'table' | undefined> {
  const [schema, name] = splitRelation(relation);
  const kind = await db.scalar<string>(
    `SELECT 'table' FROM duckdb_tables()
       WHERE database_name = current_database() AND lower(schema_name) = lower($schema) AND lower(table_name) = lower($name)
     UNION ALL
     SELECT 'view' FROM duckdb_views()
       WHERE database_name = current_database() AND lower(schema_name) = lower($schema) AND lower(view_name) = lower($name)`,
    { schema, name },
  );
  return kind === 'view' || kind === 'table' ? kind : undefined;
}

export async function recordedShape(db: Db, relation: string): Promise<BuildShape | undefined> {
  const row = (
    await db.all<{ materialized: string; keys: string; surrogate_key: string | null }>(
      'SELECT materialized, keys, surrogate_key FROM _lakehouse.builds WHERE relation = lower($relation)',
      { relation },
    )
  )[0];
  return (
    row && { materialized: row.materialized, keys: JSON.parse(row.keys), surrogateKey: row.surrogate_key }
  );
}

function describeShape(shape: BuildShape): string {
  const keys = shape.keys.length > 0 ? ` keyed by ${shape.keys.join(', ')}` : '';
  const surrogate = shape.surrogateKey ? ` with surrogate key ${shape.surrogateKey}` : '';
  return `materialized: ${shape.materialized}${keys}${surrogate}`;
}

/**
 * How the model's table was built, when its header now asks for something the table cannot take:
 * a partitioned model over a table (or the other way round), or another materialization or key for
 * a merged table, or a merged table turned `table`. Undefined when the next run can go on from the table
 * as it is. A `table` model replaces its table whole, so its own keys do not matter.
 */
export async function buildMismatch(
  db: Db,
  model: Model,
): Promise<
  { built: string; storageChanged: boolean; replacesMerged?: boolean; reordered?: boolean } | undefined
> {
  const kind = await existingKind(db, model.id);
  if (!kind) return undefined;
  if (kind !== relationKindOf(model)) {
    const built =
      kind === 'view'
        ? 'built as daily partitions (materialized: partition)'
        : 'built as a warehouse table, not daily partitions';
    return { built, storageChanged: true };
  }
  if (kind === 'view') return undefined;
  const recorded = await recordedShape(db, model.id);
  if (model.config.materialized === 'table') {
    // Replaced whole by one run's SELECT, a merged table would lose the rows of every other date it holds.
    if (!recorded || recorded.materialized === 'table') return undefined;
    return { built: `built as ${describeShape(recorded)}`, storageChanged: false, replacesMerged: true };
  }
  const wanted = buildShapeOf(model);
  if (!recorded || JSON.stringify(recorded) === JSON.stringify(wanted)) return undefined;
  const reordered = sameKeySet(recorded, wanted);
  // SCD1 and SCD2 match rows on their key columns, whatever their order; append rehashes its record of
  // each date's keys in the new order (append.ts, rehashRecordedKeys).
  if (reordered && ['scd1', 'scd2', 'append'].includes(wanted.materialized)) return undefined;
  return { built: `built as ${describeShape(recorded)}`, storageChanged: false, reordered };
}

/** The same build but for the order of its keys. */
function sameKeySet(a: BuildShape, b: BuildShape): boolean {
  const sorted = (keys: string[]) => JSON.stringify([...keys].sort());
  return (
    a.materialized === b.materialized &&
    a.surrogateKey === b.surrogateKey &&
    a.keys.length === b.keys.length &&
    sorted(a.keys) === sorted(b.keys)
  );
}

/** Refuses, before anything is written, a model whose table was built otherwise (see buildMismatch). */
export async function refuseBuildMismatch(db: Db, model: Model): Promise<void> {
  const mismatch = await buildMismatch(db, model);
  if (!mismatch) return;
  const why = mismatch.storageChanged
    ? 'A run cannot turn one into the other in place'
    : mismatch.replacesMerged
      ? 'A table model replaces its rows with what one run gives, so the rows of every other date the ' +
        'table holds would be lost without a word'
      : mismatch.reordered
        ? // A bridge's key columns are its entity and member, in that order.
          'Its key columns are its entity and member, which are not interchangeable'
        : 'Its rows cannot be carried over (keys would repeat, or lose their surrogate keys)';
  throw new LakehouseError(
    'MODEL_INVALID',
    `${model.file}: ${model.id} was ${mismatch.built}, and its header now says ${describeShape(buildShapeOf(model))}. ` +
      `${why}: rebuild it from every date (drop it for a rebuild, then run every date), or put the header back.`,
    { model: model.id, file: model.file, rebuild: model.id },
  );
}

/** Keeps how the model's table was built (inside the date's transaction), when that changed. */
export async function recordBuild(db: Db, model: Model): Promise<void> {
  if (relationKindOf(model) === 'view') return;
  const shape = buildShapeOf(model);
  const recorded = await recordedShape(db, model.id);
  if (recorded && JSON.stringify(recorded) === JSON.stringify(shape)) return;
  await db.run('DELETE FROM _lakehouse.builds WHERE relation = lower($relation)', { relation: model.id });
  await db.run('INSERT INTO _lakehouse.builds VALUES (lower($relation), $materialized, $keys, $surrogate)', {
    relation: model.id,
    materialized: shape.materialized,
    keys: JSON.stringify(shape.keys),
    surrogate: shape.surrogateKey,
  });
}

/** Forgets how a dropped table was built: the next run builds it as its header says. */
export async function forgetBuild(db: Db, relation: string): Promise<void> {
  await db.run('DELETE FROM _lakehouse.builds WHERE relation = lower($relation)', { relation });
}
