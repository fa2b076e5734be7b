import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, literal } from '../../../engine/db/duckdb.ts';
import { type SyncContext, syncTable } from '../../../engine/publish/iceberg/sync.ts';
import { snapshotFiles } from '../../../engine/publish/iceberg/table.ts';
import { describeTestTable, openTestWarehouse, type TestWarehouse } from './helpers.ts';

// What the data files a publish writes say of themselves: the schema in their footer is the one the
// commit makes current.

let warehouse: TestWarehouse;
let db: Db;
let ctx: SyncContext;

beforeAll(async () => {
  warehouse = await openTestWarehouse('iceberg-written-files-');
  ({ db, ctx } = warehouse);
});

afterAll(() => warehouse.close());

describe('the iceberg.schema footer of a data file', () => {
  const table = () => describeTestTable(db, 't_footer', { materialized: 'table' });
  /** The schema id in the footer of each file the last publish added, with the table's current one. */
  async function footerIds(): Promise<{ footer: number[]; current: number }> {
    const { metadata } = (await ctx.catalog.load('gold', 't_footer'))!;
    const { live } = await snapshotFiles(ctx.catalog.io, metadata);
    const added = live.filter((e) => e.snapshotId === metadata['current-snapshot-id']);
    const footer = await Promise.all(
      added.map(async (e) => {
        const path = await ctx.catalog.io.readablePath(e.file.file_path);
        const value = await db.scalar<string>(
          `SELECT decode(value) FROM parquet_kv_metadata(${literal(path)}) WHERE decode(key) = 'iceberg.schema'`,
        );
        return JSON.parse(value ?? 'null')?.['schema-id'] as number;
      }),
    );
    return { footer, current: metadata['current-schema-id'] };
  }

  it('names the schema the commit adds or makes current again, not the one before', async () => {
    await db.run(`CREATE TABLE gold.t_footer AS SELECT 1 AS a, 'x' AS b`);
    await syncTable(ctx, await table());
    expect(await footerIds()).toEqual({ footer: [0], current: 0 });
    // A new column: schema 1 (before, its files said 0).
    await db.run('ALTER TABLE gold.t_footer ADD COLUMN c INTEGER DEFAULT 5');
    await syncTable(ctx, await table());
    expect(await footerIds()).toEqual({ footer: [1], current: 1 });
    // Back to {a, b}: schema 0 again (before, its files said 1).
    await db.run('ALTER TABLE gold.t_footer DROP COLUMN c');
    await syncTable(ctx, await table());
    expect(await footerIds()).toEqual({ footer: [0], current: 0 });
    // c again is a new column (a new field id): schema 2, above the highest.
    await db.run('ALTER TABLE gold.t_footer ADD COLUMN c INTEGER DEFAULT 6');
    await syncTable(ctx, await table());
    expect(await footerIds()).toEqual({ footer: [2], current: 2 });
  });
});
