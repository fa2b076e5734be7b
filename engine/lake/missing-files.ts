import { counted, inNumber } from '../api/counted.ts';
import { LakehouseError, PROJECT_PLACEHOLDER } from '../api/errors.ts';
import type { Db } from '../db/duckdb.ts';
import type { LakeStorage } from '../storage/lake-storage.ts';

/** A committed partition whose Parquet file is not in the lake. */
export interface MissingPartition {
  relation: string;
  etlDate: string;
  /** Where the file should be: a local path, or the s3:// URI of an S3 lake's object. */
  path: string;
}

/**
 * Committed partitions whose file is gone from the lake (deleted or moved by hand, or a project copied
 * without all of its lake). Every read of such a layer fails on the file, so this is asked when a
 * project opens, before any view is re-created. An S3 lake's mirror gets the files S3 still holds on
 * the way (the views read the mirror), so a missing file is one missing from S3 itself.
 */
export async function missingPartitionFiles(db: Db, lake: LakeStorage): Promise<MissingPartition[]> {
  const pointers = await db.all<{ relation: string; d: string; path: string }>(
    `SELECT relation, strftime(etl_date, '%Y-%m-%d') AS d, path FROM _lakehouse.partitions
     ORDER BY relation, etl_date`,
  );
  const gone = new Set(await lake.ensureLocal(pointers.map((p) => p.path)));
  return pointers
    .filter((p) => gone.has(p.path))
    .map((p) => ({ relation: p.relation, etlDate: p.d, path: lake.uriOf(p.path) }));
}

/** What to do about missing partition files: put them back, or forget them and run their dates again. */
export function missingFilesError(lakeRoot: string, missing: MissingPartition[]) {
  const listed = missing
    .slice(0, 5)
    .map((m) => `${m.relation} ${m.etlDate} (${m.path})`)
    .join(', ');
  const dates = [...new Set(missing.map((m) => m.etlDate))].sort();
  return new LakehouseError(
    'PROJECT_INVALID',
    `${counted(missing.length, 'committed partition file')} ${inNumber(missing.length, 'is', 'are')} missing from the lake ${lakeRoot}: ${listed}` +
      `${missing.length > 5 ? ', ...' : ''}. Reading or running those layers would fail on them. If the lake ` +
      'was moved, put it back (or point lake: in lakehouse.yaml at it). If the files are gone for good, ' +
      `\`lakehouse repair ${PROJECT_PLACEHOLDER}\` forgets them; then run ${dates.length === 1 ? 'that date' : 'those dates'} ` +
      `again (${dates.map((d) => `--date ${d}`).join(' ')}) to write them anew.`,
    { reason: 'lake-files-missing', missing: missing.map((m) => ({ ...m })) },
  );
}

/**
 * Forgets the pointers of missing files, and the model's committed date with them, so the date runs
 * again like one never run. One transaction: nothing changes if it fails. Refused when every file is
 * missing: that is a lake elsewhere (unmounted, moved), and once it is back its files, then pointed at by
 * nothing, would be collected as garbage.
 */
export async function forgetPartitions(db: Db, missing: MissingPartition[], lakeRoot: string): Promise<void> {
  const committed = Number(
    (await db.scalar<number | bigint>('SELECT count(*) FROM _lakehouse.partitions')) ?? 0,
  );
  if (missing.length >= committed) {
    throw new LakehouseError(
      'PROJECT_INVALID',
      `Every one of the ${committed} committed partition files is missing from ${lakeRoot}: the lake is ` +
        'probably somewhere else (an unmounted disk, a moved folder, another bucket or prefix). Repair forgets ' +
        'only some missing files; put the lake back, or point lake: in lakehouse.yaml at it.',
      { reason: 'lake-missing', lakeRoot },
    );
  }
  await db.transaction(async () => {
    for (const m of missing) {
      const params = { relation: m.relation, d: m.etlDate };
      await db.run(
        'DELETE FROM _lakehouse.partitions WHERE relation = $relation AND etl_date = $d::DATE',
        params,
      );
      await db.run(
        'DELETE FROM _lakehouse.model_dates WHERE model = $relation AND etl_date = $d::DATE',
        params,
      );
    }
  });
}
