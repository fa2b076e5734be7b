import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Db, ident, literal, readParquet, tempRelations } from '../db/duckdb.ts';
import { columnsOf, type StagedRows, type StageStorage } from './context.ts';

/**
 * Writes the rows of `selectSql` as the temp relation `name` (replacing it; `selectSql` may read the
 * old one) and returns where they went. A Parquet stage that would change a column's type (HUGEINT,
 * ENUM, UNION, ... have no exact Parquet form) is written as a table instead.
 */
export async function writeStage(
  db: Db,
  name: string,
  selectSql: string,
  storage: StageStorage,
  scratchDir: string,
): Promise<StagedRows> {
  const relation = `temp.main.${ident(name)}`;
  // Whether the stage is a view now (a Parquet stage); else it is a table or not there yet. Views only:
  // listing tables costs twice as much (DuckDB sizes each one).
  const isView =
    (await db.scalar<boolean>('SELECT true FROM duckdb_views() WHERE temporary AND view_name = $name', {
      name,
    })) === true;
  if (storage === 'parquet') {
    const expected = await columnsOf(db, `(${selectSql})`);
    await mkdir(scratchDir, { recursive: true });
    const path = join(scratchDir, `${randomUUID()}.parquet`);
    // Uncompressed: the file lives for one date, and snappy cost 0.2 s a day on the fact's stage
    // (1M rows: 71 MB snappy, 106 MB uncompressed).
    await db.run(`COPY (${selectSql}) TO ${literal(path)} (FORMAT PARQUET, COMPRESSION uncompressed)`);
    const written = await columnsOf(db, readParquet(path));
    if (written.every((c, i) => c.name === expected[i]?.name && c.type === expected[i]?.type)) {
      if (!isView) await db.run(`DROP TABLE IF EXISTS ${relation}`);
      await db.run(`CREATE OR REPLACE TEMP VIEW ${ident(name)} AS SELECT * FROM ${readParquet(path)}`);
      return {
        storage: 'parquet',
        numbered: `(SELECT file_row_number AS __row, * EXCLUDE (file_row_number) FROM ${readParquet(path, 'file_row_number = true')})`,
      };
    }
    await rm(path, { force: true });
  }
  if (isView) {
    // The new rows may come from the view being replaced: build them aside first.
    await db.run(`CREATE OR REPLACE TEMP TABLE ${ident(`${name}_next`)} AS ${selectSql}`);
    await db.run(`DROP VIEW ${relation}`);
    await db.run(`ALTER TABLE temp.main.${ident(`${name}_next`)} RENAME TO ${ident(name)}`);
  } else {
    await db.run(`CREATE OR REPLACE TEMP TABLE ${ident(name)} AS ${selectSql}`);
  }
  return { storage: 'table', numbered: `(SELECT rowid AS __row, * FROM ${relation})` };
}

/** Drops the engine's scratch relations (temp tables and views named `__...`) and stage files. */
export async function dropStages(db: Db, scratchDir: string): Promise<void> {
  for (const { name, kind } of await tempRelations(db)) {
    if (name.startsWith('__')) await db.run(`DROP ${kind} IF EXISTS temp.main.${ident(name)}`);
  }
  await removeStageFiles(scratchDir);
}

/**
 * Removes the stage files writeStage leaves in `scratchDir` (the `.stage` folder beside the warehouse,
 * whose path lakehouse.yaml sets), then the folder if that emptied it: never anything else in it.
 */
export async function removeStageFiles(scratchDir: string): Promise<void> {
  const names = await readdir(scratchDir).catch(() => [] as string[]);
  for (const name of names) {
    if (name.endsWith('.parquet')) await rm(join(scratchDir, name), { force: true });
  }
  await rmdir(scratchDir).catch(() => undefined);
}
