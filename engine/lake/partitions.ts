import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { type Db, ident, literal } from '../db/duckdb.ts';

/**
 * Bronze, silver and quarantine tables are Parquet files under the lake root, one file per daily
 * partition: `<lake>/<schema>/<table>/etl_date=YYYY-MM-DD/part-<run>.parquet`. A replace writes a new
 * file and swaps the pointer in `_lakehouse.partitions` inside the run's transaction, so readers see
 * the old partition or the new one, never half of either; files no pointer names are garbage.
 */
export interface PartitionStore {
  /**
   * Writes the rows of `selectSql` as the new file of (relation, date); returns its row count. With
   * `cache`, the rows are also kept in a temp table that the relation's view reads for that date until
   * `releaseCache`, so downstream models of the same date do not read the file back.
   */
  write(relation: string, etlDate: string, selectSql: string, options?: { cache?: boolean }): Promise<number>;
  /**
   * Like `write` with `cache`, but takes an existing temp table as the day's rows (renamed into the
   * cache), so a model that already staged and cleaned its rows does not copy them again.
   */
  adopt(relation: string, etlDate: string, tempTable: string): Promise<number>;
  /** The relation holding a partition's rows: its cache table if cached, else its file. */
  rowsOf(relation: string, etlDate: string): Promise<string>;
  /** Points every cached relation's view back at files only and drops the caches (before COMMIT). */
  releaseCache(): Promise<void>;
  /** Re-creates the view `<schema>.<table>` over the relation's committed files. */
  refreshView(relation: string): Promise<void>;
  /** Re-creates every partitioned relation's view (on open: the lake root may have moved). */
  refreshAllViews(): Promise<void>;
  /** Deletes files no committed pointer names (left by replaced partitions or killed runs). */
  collectGarbage(): Promise<number>;
  /** The file a partition points at now (inside the run's transaction: the one just written). */
  currentPath(relation: string, etlDate: string): Promise<string>;
  /** Rows currently committed for one partition, or 0. */
  rowCount(relation: string, etlDate: string): Promise<number>;
}

export function createPartitionStore(db: Db, lakeRoot: string, runId: string): PartitionStore {
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

  const cached = new Map<string, { table: string; etlDate: string }>();
  // Pointers are stored relative to the lake root, so a project folder can be moved or copied.
  const absolute = (path: string) => (isAbsolute(path) ? path : join(lakeRoot, path));
  const cacheName = (relation: string) => ident(`__partition_${relation.replace(/\W/g, '_')}`);

  const createView = async (relation: string) => {
    const [schema, table] = splitRelation(relation);
    const cache = cached.get(relation);
    const files = await db.all<{ path: string }>(
      `SELECT path FROM _lakehouse.partitions WHERE relation = $relation AND ($skip IS NULL OR etl_date <> $skip::DATE)
       ORDER BY etl_date`,
      { relation, skip: cache?.etlDate ?? null },
    );
    const name = `${ident(schema)}.${ident(table)}`;
    const parts: string[] = [];
    if (files.length > 0) {
      parts.push(
        `SELECT * FROM read_parquet([${files.map((f) => literal(absolute(f.path))).join(', ')}], union_by_name = true)`,
      );
    }
    if (cache) parts.push(`SELECT * FROM temp.main.${cache.table}`);
    if (parts.length === 0) {
      await db.run(`DROP VIEW IF EXISTS ${name}`);
      return;
    }
    await db.run(`CREATE OR REPLACE VIEW ${name} AS ${parts.join(' UNION ALL BY NAME ')}`);
  };

  /** Writes the rows as the partition's new file and swaps its pointer; returns the row count. */
  const commitFile = async (relation: string, etlDate: string, source: string): Promise<number> => {
    const path = fileFor(relation, etlDate);
    await mkdir(join(path, '..'), { recursive: true });
    const count = await db.scalar<number | bigint>(
      `COPY (${source}) TO ${literal(path)} (FORMAT PARQUET, COMPRESSION snappy, ROW_GROUP_SIZE 122880)`,
    );
    const rows = Number(count ?? 0);
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
    async write(relation, etlDate, selectSql, options = {}) {
      if (!options.cache) return commitFile(relation, etlDate, selectSql);
      const table = cacheName(relation);
      await db.run(`CREATE OR REPLACE TEMP TABLE ${table} AS ${selectSql}`);
      cached.set(relation, { table, etlDate });
      return commitFile(relation, etlDate, `SELECT * FROM temp.main.${table}`);
    },

    async adopt(relation, etlDate, tempTable) {
      const table = cacheName(relation);
      await db.run(`DROP TABLE IF EXISTS temp.main.${table}`);
      await db.run(`ALTER TABLE temp.main.${ident(tempTable)} RENAME TO ${table}`);
      cached.set(relation, { table, etlDate });
      return commitFile(relation, etlDate, `SELECT * FROM temp.main.${table}`);
    },

    refreshView: createView,

    async refreshAllViews() {
      const relations = await db.all<{ relation: string }>(
        'SELECT DISTINCT relation FROM _lakehouse.partitions',
      );
      for (const { relation } of relations) await createView(relation);
    },

    async rowsOf(relation, etlDate) {
      const cache = cached.get(relation);
      if (cache && cache.etlDate === etlDate) return `temp.main.${cache.table}`;
      return `read_parquet(${literal(await this.currentPath(relation, etlDate))})`;
    },

    async releaseCache() {
      const relations = [...cached.keys()];
      const tables = [...cached.values()].map((c) => c.table);
      cached.clear();
      for (const relation of relations) await createView(relation);
      for (const table of tables) await db.run(`DROP TABLE IF EXISTS temp.main.${table}`);
    },

    async collectGarbage() {
      const live = new Set(
        (await db.all<{ path: string }>('SELECT path FROM _lakehouse.partitions')).map((r) =>
          absolute(r.path),
        ),
      );
      let removed = 0;
      for (const file of await listParquetFiles(lakeRoot)) {
        if (!live.has(file)) {
          await rm(file, { force: true });
          removed++;
        }
      }
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

    async rowCount(relation, etlDate) {
      const n = await db.scalar<number>(
        `SELECT row_count FROM _lakehouse.partitions WHERE relation = $relation AND etl_date = $d::DATE`,
        { relation, d: etlDate },
      );
      return Number(n ?? 0);
    },
  };
}

export function splitRelation(relation: string): [string, string] {
  const dot = relation.indexOf('.');
  if (dot < 0) return ['main', relation];
  return [relation.slice(0, dot), relation.slice(dot + 1)];
}

/** Every .parquet file under a folder, recursively (none if the folder does not exist). */
export async function listParquetFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listParquetFiles(full)));
    else if (entry.name.endsWith('.parquet')) out.push(full);
  }
  return out;
}
