import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { type Db, ident, literal, pathLiteral, readParquet } from '../db/duckdb.ts';
import { type LakeStorage, localLake } from '../storage/lake-storage.ts';
import { DOWNLOAD_TEMP_SUFFIX } from '../storage/s3-objects.ts';
import { runClockOrder } from '../warehouse/metadata.ts';

/**
 * How a partition file is written: snappy, in row groups of DuckDB's default size. The benchmarks that
 * must write as the engine does (the I/O floor, plain SQL) use it too.
 */
export const PARTITION_WRITE_OPTIONS = 'FORMAT PARQUET, COMPRESSION snappy, ROW_GROUP_SIZE 122880';

/**
 * Bronze, silver and quarantine tables are Parquet files under the lake root, one file per daily
 * partition: `<lake>/<schema>/<table>/etl_date=YYYY-MM-DD/part-<run>.parquet`. A replace writes a new
 * file and swaps the pointer in `_lakehouse.partitions` inside the run's transaction, so readers see
 * the old partition or the new one, never half of either; files no pointer names are garbage.
 * On an S3 lake (engine/storage/lake-storage.ts) files are written to a local mirror, uploaded
 * before the commit, and published in the lake's manifest after it (by `collectGarbage`).
 */
export interface PartitionStore {
  /**
   * Writes the rows of `selectSql` as the new file of (relation, date); returns its row count.
   * Downstream models of the same date read that file back: inside the run's transaction DuckDB reads
   * Parquet 2-3x faster than a table written in the same transaction (see BENCHMARKS.md).
   */
  write(relation: string, etlDate: string, selectSql: string): Promise<number>;
  /** Waits for this date's uploads to an S3 lake (before COMMIT): a failed upload fails the commit. */
  flushUploads(): Promise<void>;
  /** Re-creates the view `<schema>.<table>` over the relation's committed files. */
  refreshView(relation: string): Promise<void>;
  /**
   * Re-creates every partitioned relation's view (on open: the lake root may have moved). The files
   * must be under the local root: the open's missingPartitionFiles fetched an S3 lake's into its mirror.
   */
  refreshAllViews(): Promise<void>;
  /**
   * Deletes files no committed pointer names (left by replaced partitions or killed runs). On an S3
   * lake it first publishes the committed partitions (after each COMMIT), then deletes remotely too.
   */
  collectGarbage(): Promise<number>;
  /** The file a partition points at now (inside the run's transaction: the one just written). */
  currentPath(relation: string, etlDate: string): Promise<string>;
  /** Rows currently committed for one partition, or 0. */
  rowCount(relation: string, etlDate: string): Promise<number>;
  /** The dates a relation has partitions for, in order. */
  dates(relation: string): Promise<string[]>;
  /** The committed files of a relation's partitions dated before `etlDate`: the `latest` ones, or all. */
  filesBefore(relation: string, etlDate: string, latest?: number): Promise<string[]>;
}

export function createPartitionStore(
  db: Db,
  lakeLocation: string,
  runId: string,
  storage?: LakeStorage,
): PartitionStore {
  const lake = storage ?? localLake(lakeLocation);
  const lakeRoot = lake.localRoot;
  const fileFor = (relation: string, etlDate: string) => {
    const [schema, table] = splitRelation(relation);
    return join(
      lakeRoot,
      schema,
      table,
      `etl_date=${etlDate}`,
      `part-${runId}-${randomUUID().slice(0, 8)}.parquet`,
    );
  };

  // Pointers are stored relative to the lake root, so a project folder can be moved or copied.
  const absolute = (path: string) => (isAbsolute(path) ? path : join(lakeRoot, path));

  const createView = async (relation: string) => {
    const [schema, table] = splitRelation(relation);
    // The view has the columns of the partition written last: the model's output as it is now. A
    // column the model no longer produces must not live on, NULL on the new dates, from older files.
    const [pointers] = await db.all<{
      files: string[] | null;
      dates: string[] | null;
      newest: string | null;
    }>(
      `SELECT list(path ORDER BY etl_date) AS files, list(strftime(etl_date, '%Y-%m-%d') ORDER BY etl_date) AS dates,
              arg_max(path, (${runClockOrder('p', 'written_at')}, p.etl_date)) AS newest
       FROM _lakehouse.partitions AS p WHERE relation = $relation`,
      { relation },
    );
    const name = `${ident(schema)}.${ident(table)}`;
    if (!pointers?.files?.length || !pointers.dates || !pointers.newest) {
      await db.run(`DROP VIEW IF EXISTS ${name}`);
      return;
    }
    const files = pointers.files.map(absolute);
    const columns = (
      await db.all<{ column_name: string }>(
        `DESCRIBE SELECT * FROM ${readParquet(absolute(pointers.newest))}`,
      )
    ).map((c) => c.column_name);
    if (!columns.some((c) => c.toLowerCase() === 'etl_date')) columns.push('etl_date');
    const selected = columns.map(ident).join(', ');
    // etl_date comes from the folder: a filter on it reads that date's file alone. Other `key=value`
    // folders above the lake would become columns too, so there each file is read with its date given.
    const source = files.some(foldersReadAsColumns)
      ? files.map((file, i) => partitionFileRelation(file, pointers.dates![i]!)).join(' UNION ALL BY NAME ')
      : `SELECT * FROM read_parquet([${files.map(pathLiteral).join(', ')}], union_by_name = true, hive_partitioning = true)`;
    await db.run(`CREATE OR REPLACE VIEW ${name} AS SELECT ${selected} FROM (${source})`);
  };

  /** Writes the rows as the partition's new file and swaps its pointer; returns the row count. */
  const commitFile = async (relation: string, etlDate: string, source: string): Promise<number> => {
    const path = fileFor(relation, etlDate);
    await mkdir(join(path, '..'), { recursive: true });
    const count = await db.scalar<number | bigint>(
      `COPY (${source}) TO ${literal(path)} (${PARTITION_WRITE_OPTIONS})`,
    );
    const rows = Number(count ?? 0);
    lake.store(relative(lakeRoot, path));
    await db.run(`DELETE FROM _lakehouse.partitions WHERE relation = $relation AND etl_date = $d::DATE`, {
      relation,
      d: etlDate,
    });
    await db.run(
      `INSERT INTO _lakehouse.partitions VALUES ($relation, $d::DATE, $path, $rows, $runId, now()::TIMESTAMP)`,
      { relation, d: etlDate, path: relative(lakeRoot, path), rows, runId },
    );
    await createView(relation);
    return rows;
  };

  return {
    write: commitFile,

    refreshView: createView,

    async refreshAllViews() {
      const relations = await db.all<{ relation: string }>(
        'SELECT DISTINCT relation FROM _lakehouse.partitions',
      );
      for (const { relation } of relations) await createView(relation);
    },

    async flushUploads() {
      await lake.flush();
    },

    async collectGarbage() {
      const committed = await db.all<{ relation: string; etl_date: string; path: string; rows: number }>(
        'SELECT relation, etl_date::VARCHAR AS etl_date, path, row_count::DOUBLE AS rows FROM _lakehouse.partitions',
      );
      const live = new Set(committed.map((r) => absolute(r.path)));
      let removed = await lake.sync(committed);
      const emptied = new Set<string>();
      for (const file of await listParquetFiles(lakeRoot, true)) {
        // A kill while an S3 lake's mirror was being refilled leaves a download's temp file beside
        // its partition file: never read, never finished, it goes whether that partition is live or not.
        const partition = file.replace(DOWNLOAD_TEMP_SUFFIX, '');
        if ((partition !== file || !live.has(file)) && isPartitionFile(lakeRoot, partition)) {
          await rm(file, { force: true });
          emptied.add(dirname(file));
          removed++;
        }
      }
      // A dropped table's (or date's) folders would stay behind empty, read as data by a user browsing.
      for (const folder of emptied) await removeEmptyParents(folder, lakeRoot);
      return removed;
    },

    async currentPath(relation, etlDate) {
      const path = await db.scalar<string>(
        `SELECT path FROM _lakehouse.partitions WHERE relation = $relation AND etl_date = $d::DATE`,
        { relation, d: etlDate },
      );
      if (!path) throw new Error(`no partition ${relation} ${etlDate}`);
      return absolute(path);
    },

    async filesBefore(relation, etlDate, latest) {
      const rows = await db.all<{ path: string }>(
        `SELECT path FROM _lakehouse.partitions WHERE relation = $relation AND etl_date < $d::DATE
         ORDER BY etl_date DESC${latest === undefined ? '' : ` LIMIT ${Math.floor(latest)}`}`,
        { relation, d: etlDate },
      );
      return rows.map((r) => absolute(r.path));
    },

    async dates(relation) {
      const rows = await db.all<{ d: string }>(
        'SELECT etl_date::VARCHAR AS d FROM _lakehouse.partitions WHERE relation = $relation ORDER BY etl_date',
        { relation },
      );
      return rows.map((r) => r.d);
    },

    async rowCount(relation, etlDate) {
      const n = await db.scalar<number>(
        `SELECT row_count FROM _lakehouse.partitions WHERE relation = $relation AND etl_date = $d::DATE`,
        { relation, d: etlDate },
      );
      return Number(n ?? 0);
    },
  };
}

/**
 * Whether any of the lake's views names files outside `localRoot`: the project folder was copied or
 * moved since a read-write open last re-created them (views hold absolute paths; pointers do not).
 * Every view is asked, not one: an open that failed half-way re-created only some of them.
 */
export async function viewsNameAnotherLake(db: Db, localRoot: string): Promise<boolean> {
  const pointers = await db.all<{ relation: string; path: string }>(
    'SELECT relation, min(path) AS path FROM _lakehouse.partitions GROUP BY relation ORDER BY relation',
  );
  for (const pointer of pointers) {
    if (isAbsolute(pointer.path)) continue;
    const [schema, table] = splitRelation(pointer.relation);
    const view = await db.scalar<string>(
      'SELECT sql FROM duckdb_views() WHERE schema_name = $schema AND view_name = $table',
      { schema, table },
    );
    // As the view's SQL spells the path: quoted, its glob characters bracketed (pathLiteral).
    const named = pathLiteral(join(localRoot, pointer.path));
    if (view === undefined || view === null || !view.includes(named)) return true;
  }
  return false;
}

/**
 * A partition file's rows with its date as etl_date, whatever the file holds under that name: what the
 * layer's view reads (the run refuses a file whose etl_date is another day, refuseOtherEtlDates).
 */
export function partitionFileRelation(file: string, etlDate: string): string {
  return `SELECT COLUMNS(c -> lower(c) <> 'etl_date'), ${literal(etlDate)}::DATE AS etl_date FROM ${readParquet(file)}`;
}

/** Whether DuckDB would read a column from a folder above a partition file's `etl_date=` one. */
function foldersReadAsColumns(file: string): boolean {
  return dirname(dirname(file))
    .split(/[\\/]/)
    .some((folder) => folder.includes('='));
}

export function splitRelation(relation: string): [string, string] {
  const dot = relation.indexOf('.');
  if (dot < 0) return ['main', relation];
  return [relation.slice(0, dot), relation.slice(dot + 1)];
}

/**
 * Whether `file` is laid out as a partition file this store writes (fileFor): only those are ever
 * garbage. `lake:` comes from lakehouse.yaml and may name a folder holding other Parquet files (a
 * shared project, a lake set to a data folder); those are not this warehouse's to delete.
 */
function isPartitionFile(lakeRoot: string, file: string): boolean {
  const path = relative(lakeRoot, file).split(sep).join('/');
  return /^[^/]+\/[^/]+\/etl_date=\d{4}-\d{2}-\d{2}\/part-[^/]+\.parquet$/.test(path);
}

/** Removes a partition's date folder, then its table and layer folders, each only while it is empty. */
async function removeEmptyParents(folder: string, lakeRoot: string): Promise<void> {
  let dir = folder;
  for (let level = 0; level < 3 && dir !== lakeRoot; level++) {
    if (
      !(await rmdir(dir).then(
        () => true,
        () => false,
      ))
    )
      return;
    dir = dirname(dir);
  }
}

/**
 * Every .parquet file under a folder, recursively (none if the folder does not exist), and with
 * `downloadTemps` the temp files of downloads into them (see DOWNLOAD_TEMP_SUFFIX).
 */
export async function listParquetFiles(dir: string, downloadTemps = false): Promise<string[]> {
  const out: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listParquetFiles(full, downloadTemps)));
    else if (entry.name.endsWith('.parquet')) out.push(full);
    else if (downloadTemps && entry.name.replace(DOWNLOAD_TEMP_SUFFIX, '').endsWith('.parquet'))
      out.push(full);
  }
  return out;
}
