import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, literal, openDb } from '../../engine/db/duckdb.ts';
import { createExplorer, type Explorer } from '../../engine/explore/explorer.ts';

// table.export writes what the grid shows: a view (as partitioned layers are) through the grid's own
// snapshot, and a table whose column named rowid hides DuckDB's, in the grid's order, without the
// explorer's row numbers.

let db: Db;
let explorer: Explorer;
let scratch: string;

beforeAll(async () => {
  db = await openDb();
  await db.run(`CREATE SCHEMA silver`);
  await db.run(`CREATE TABLE silver.base AS SELECT i AS id, i % 3 AS k, 'v' || i AS v FROM range(10) t(i)`);
  await db.run(`CREATE VIEW silver.events AS SELECT * FROM silver.base`);
  await db.run(`CREATE TABLE silver.rowids AS SELECT i AS rowid, 9 - i AS n FROM range(5) t(i)`);
  explorer = createExplorer(db);
  scratch = await mkdtemp(join(tmpdir(), 'lakehouse-table-export-'));
});

afterAll(async () => {
  db?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function exported(input: Parameters<Explorer['exportTable']>[0]) {
  const file = await explorer.exportTable(input);
  const path = join(scratch, file.fileName);
  await writeFile(path, file.content);
  return { file, rows: await db.all(`SELECT * FROM read_parquet(${literal(path)})`) };
}

describe('table.export', () => {
  it('exports a view through its filters, in its order, named after it', async () => {
    const { file, rows } = await exported({
      table: 'silver.events',
      sort: [{ column: 'k', direction: 'desc' }],
      filters: [{ column: 'id', op: 'lt', value: '6' }],
      format: 'parquet',
    });
    expect(file.fileName).toMatch(/^silver\.events-.*\.parquet$/);
    expect(file.rows).toBe(6);
    // Ties of k keep the view's row order, as the grid breaks them.
    expect(rows.map((r) => Number(r.id))).toEqual([2, 5, 1, 4, 0, 3]);
  });

  it("exports a table whose rowid column hides DuckDB's with its own columns only", async () => {
    const { rows } = await exported({
      table: 'silver.rowids',
      sort: [{ column: 'n', direction: 'asc' }],
      filters: [],
      format: 'parquet',
    });
    expect(rows.map((r) => Object.keys(r))).toEqual(Array(5).fill(['rowid', 'n']));
    expect(rows.map((r) => Number(r.rowid))).toEqual([4, 3, 2, 1, 0]);
  });
});
