import { LakehouseError, PROJECT_PLACEHOLDER } from '../api/errors.ts';
import { type Db, qualified } from '../db/duckdb.ts';
import { builtByBrokenFiles } from '../graph/dependencies.ts';
import type { PartitionStore } from '../lake/partitions.ts';
import { splitRelation } from '../lake/partitions.ts';
import { buildMismatch, forgetBuild } from '../materializations/builds.ts';
import { QUARANTINE_COLUMN, quarantineOwner } from '../materializations/partition.ts';
import { didYouMean } from '../project/config-issues.ts';
import type { Model } from '../project/models.ts';

export interface DropResult {
  relation: string;
  kind: 'table' | 'view';
  rows: number;
  /** Date partitions whose pointers (and, after the commit, files) were removed; 0 for a warehouse table. */
  partitions: number;
}

const DROPPABLE_LAYERS = ['bronze', 'silver', 'gold', 'quarantine'];

/**
 * Removes a layer table that no model produces any more (its model file was deleted or renamed), with
 * the engine's records of it: partition pointers, committed dates, append key hashes, SCD1 change log.
 * Run history stays. Refused for a table a model still builds (the next run would only build it again
 * from the dates it runs), unless `rebuild` asks for exactly that of a gold table. One transaction: a
 * failure leaves everything as it was. The partition files go after the commit, as unreferenced files
 * (collectGarbage).
 */
export async function dropOrphanTable(
  db: Db,
  partitions: PartitionStore,
  models: Model[],
  name: string,
  unparsed: LakehouseError[] = [],
  { rebuild = false }: { rebuild?: boolean } = {},
): Promise<DropResult> {
  // A bare name is a gold table, as in queries.
  const trimmed = unquoted(name.trim());
  const lower = trimmed.toLowerCase();
  const relation = lower.includes('.') ? lower : `gold.${lower}`;
  const [layer, table] = splitRelation(relation);
  const existing = await layerRelations(db);
  if (!DROPPABLE_LAYERS.includes(layer)) refuseUnknownLayer(trimmed, existing);
  const found = existing.find((r) => r.relation === relation);
  if (!found) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `No table ${name} to drop${didYouMean(
        relation,
        existing.map((r) => r.relation),
      )}. ` +
        `Name it as layer.table (${DROPPABLE_LAYERS.join(', ')}); \`lakehouse tables ${PROJECT_PLACEHOLDER}\` lists them.`,
      { relation: name },
    );
  }
  // A quarantine table is built by the model recorded as writing it (or, before that was recorded, by
  // the partition model of its name), while that model still gives a quarantine reason: one turned
  // into a table, or that no longer quarantines, leaves the table behind to drop.
  const owner = layer === 'quarantine' ? await quarantineOwner(db, relation) : undefined;
  const quarantines = (m: Model) =>
    m.config.materialized === 'partition' && new RegExp(`\\b${QUARANTINE_COLUMN}\\b`, 'i').test(m.sql);
  const builder = models.find((m) =>
    layer !== 'quarantine'
      ? m.id.toLowerCase() === relation
      : (owner !== undefined ? m.id === owner : m.name.toLowerCase() === table) && quarantines(m),
  );
  // A gold table its model builds may be dropped to be rebuilt whole by the next run over every date
  // (a column to fill for every member, keys to renumber); partitioned layers are rewritten by re-running,
  // unless the table was built otherwise than its header now says (partitions turned into a table).
  const rebuildable =
    rebuild &&
    builder &&
    layer !== 'quarantine' &&
    (layer === 'gold' || (await buildMismatch(db, builder)) !== undefined);
  if (builder && !rebuildable) {
    // Offered only where --rebuild is taken: a partitioned table's own dates rewrite it.
    const rebuildTaken =
      layer === 'gold' || (layer !== 'quarantine' && (await buildMismatch(db, builder)) !== undefined);
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      rebuild
        ? `${relation} is a partitioned table: running its dates again rewrites it (lakehouse run ${PROJECT_PLACEHOLDER}); ` +
            '--rebuild is for gold tables, and for tables built otherwise than their header now says.'
        : `${relation} is built by ${builder.file}; the next run would only build it again. Delete or rename ` +
            'the model file first, then drop the table it left behind. ' +
            (rebuildTaken
              ? 'To rebuild it whole from every date instead, drop it with --rebuild and run every date.'
              : `To rewrite it, run its dates again (lakehouse run ${PROJECT_PLACEHOLDER}).`),
      { relation, model: builder.id, file: builder.file },
    );
  }
  // A model file that does not parse now still builds the table once it is fixed: its rows and keys
  // are what facts point at, so dropping it would re-key the dimension under them.
  const broken = [...builtByBrokenFiles(unparsed)].find(([id]) =>
    layer === 'quarantine' ? id.split('.')[1]?.toLowerCase() === table : id.toLowerCase() === relation,
  );
  if (broken) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${relation} is built by ${broken[1]}, which does not parse now: fix that file (\`lakehouse run\` shows ` +
        'its error); dropping the table would lose what the model built, such as the keys other tables point at.',
      { relation, model: broken[0], file: broken[1] },
    );
  }
  const rows = Number(
    (await db.scalar<number | bigint>(`SELECT count(*) FROM ${qualified(layer, table)}`)) ?? 0,
  );
  const partitionCount = Number(
    (await db.scalar<number | bigint>(
      'SELECT count(*) FROM _lakehouse.partitions WHERE lower(relation) = $relation',
      {
        relation,
      },
    )) ?? 0,
  );
  await db.run('BEGIN TRANSACTION');
  try {
    await db.run(`DROP ${found.kind === 'view' ? 'VIEW' : 'TABLE'} ${qualified(layer, table)}`);
    await db.run('DELETE FROM _lakehouse.partitions WHERE lower(relation) = $relation', { relation });
    for (const records of [
      'model_dates',
      'append_keys',
      'scd1_changes',
      'keyword_catalogs',
      'history_pending',
      'scd2_tracked',
      // Its keys are numbered afresh when it is built again.
      'surrogate_keys',
    ]) {
      await db.run(`DELETE FROM _lakehouse.${records} WHERE lower(model) = $relation`, { relation });
    }
    await forgetBuild(db, relation);
    await db.run('DELETE FROM _lakehouse.quarantine_owners WHERE lower(relation) = $relation', { relation });
    await db.run('COMMIT');
  } catch (error) {
    await db.run('ROLLBACK');
    throw error;
  }
  // Nothing points at the dropped partitions' files now; a failure here only leaves them for the next open.
  if (partitionCount > 0) await partitions.collectGarbage();
  return { relation, kind: found.kind, rows, partitions: partitionCount };
}

/**
 * The name without SQL's double quotes: `"gold"."dim_platform"`, or `"gold.dim_platform"` as a query
 * would need it, is gold.dim_platform (no table's name holds a quote or a dot), where it was refused with
 * a "did you mean gold.dim_platform?" that read as the same name.
 */
function unquoted(name: string): string {
  return name.replace(/"((?:[^"]|"")*)"/g, (_quoted, inner: string) => inner.replaceAll('""', '"'));
}

/**
 * `my.table`: a name whose first part is no layer. Said as such, with the table of that name in
 * whichever layer holds it, or the tables there are: "No table my.table" alone named no table when
 * none was close. The app and the command line both get it.
 */
function refuseUnknownLayer(name: string, existing: { relation: string }[]): never {
  const dot = name.indexOf('.');
  const table = name.slice(dot + 1).toLowerCase();
  const relations = existing.map((r) => r.relation).sort();
  const sameName = relations.filter((r) => r.slice(r.indexOf('.') + 1) === table);
  const shown = relations.slice(0, 20).join(', ');
  const tables =
    relations.length === 0
      ? 'The warehouse holds no table yet.'
      : `Tables: ${shown}${relations.length > 20 ? `, and ${relations.length - 20} more (lakehouse tables ${PROJECT_PLACEHOLDER} lists them)` : ''}.`;
  throw new LakehouseError(
    'INVALID_ARGUMENT',
    `No table ${name} to drop: "${name.slice(0, dot)}" is no layer. Name the table as layer.table, the ` +
      `layer one of ${DROPPABLE_LAYERS.join(', ')} (a bare name is a gold table)` +
      `${sameName.length > 0 ? `: did you mean ${sameName.join(' or ')}?` : '.'} ${tables}`,
    { relation: name, ...(sameName.length > 0 ? { suggestions: sameName } : {}) },
  );
}

async function layerRelations(db: Db): Promise<{ relation: string; kind: 'table' | 'view' }[]> {
  const schemas = DROPPABLE_LAYERS.map((l) => `'${l}'`).join(', ');
  return db.all<{ relation: string; kind: 'table' | 'view' }>(
    `SELECT lower(schema_name || '.' || table_name) AS relation, 'table' AS kind FROM duckdb_tables()
       WHERE database_name = current_database() AND schema_name IN (${schemas})
     UNION ALL
     SELECT lower(schema_name || '.' || view_name), 'view' FROM duckdb_views()
       WHERE database_name = current_database() AND schema_name IN (${schemas})`,
  );
}
