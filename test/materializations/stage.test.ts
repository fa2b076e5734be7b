import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { dropStages, writeStage } from '../../engine/materializations/stage.ts';

describe('model stages', () => {
  let db: Db;
  let dir: string;
  const kind = () =>
    db.scalar<string>(
      `SELECT 'table' FROM duckdb_tables() WHERE temporary AND table_name = '__stage'
       UNION ALL SELECT 'view' FROM duckdb_views() WHERE temporary AND view_name = '__stage'`,
    );
  beforeEach(async () => {
    db = await openDb();
    dir = join(await mkdtemp(join(tmpdir(), 'lakehouse-stage-')), 'scratch');
  });
  afterEach(async () => {
    db.close();
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('stages rows in a Parquet file behind a view, inside a transaction, and replaces them from themselves', async () => {
    await db.run('BEGIN TRANSACTION');
    const storage = await writeStage(
      db,
      '__stage',
      `SELECT range % 3 AS k, 'v' || (range % 3) AS v FROM range(9)`,
      'parquet',
      dir,
    );
    expect(storage.storage).toBe('parquet');
    expect(await kind()).toBe('view');
    expect(await readdir(dir)).toHaveLength(1);
    const rowIds = `SELECT count(DISTINCT __row)::INT AS n, min(__row)::INT AS lo, max(__row)::INT AS hi, count(v)::INT AS v`;
    expect(await db.all(`${rowIds} FROM ${storage.numbered}`)).toEqual([{ n: 9, lo: 0, hi: 8, v: 9 }]);
    await writeStage(db, '__stage', 'SELECT DISTINCT * FROM __stage', 'parquet', dir);
    expect(await db.all('SELECT k, v FROM __stage ORDER BY k')).toEqual([
      { k: 0, v: 'v0' },
      { k: 1, v: 'v1' },
      { k: 2, v: 'v2' },
    ]);
    await db.run('COMMIT');
  });

  it('keeps a stage as a table when Parquet would change a column type', async () => {
    const sql = `SELECT sum(range) AS total, 'a'::ENUM('a', 'b') AS flag FROM range(10)`;
    expect(await writeStage(db, '__stage', sql, 'parquet', dir)).toMatchObject({ storage: 'table' });
    expect(await kind()).toBe('table');
    const types = await db.all<{ column_type: string }>('DESCRIBE SELECT * FROM __stage');
    expect(types.map((t) => t.column_type)).toEqual(['HUGEINT', "ENUM('a', 'b')"]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('switches between a table and a view, each replacement reading the previous stage', async () => {
    const table = await writeStage(db, '__stage', 'SELECT 1 AS x', 'table', dir);
    expect(await db.all(`SELECT __row::INT AS r, x FROM ${table.numbered}`)).toEqual([{ r: 0, x: 1 }]);
    await writeStage(db, '__stage', 'SELECT x + 1 AS x FROM __stage', 'parquet', dir);
    expect(await kind()).toBe('view');
    await writeStage(db, '__stage', 'SELECT x + 1 AS x FROM __stage', 'table', dir);
    expect(await kind()).toBe('table');
    expect(await db.scalar('SELECT x FROM __stage')).toBe(3);
  });

  it('drops every scratch relation and stage file', async () => {
    await writeStage(db, '__stage', 'SELECT 1 AS x', 'parquet', dir);
    await writeStage(db, '__other', 'SELECT 1 AS x', 'table', dir);
    await dropStages(db, dir);
    expect(await db.scalar(`SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal`)).toBe(0);
    expect(await db.scalar(`SELECT count(*) FROM duckdb_tables() WHERE temporary`)).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });
});
