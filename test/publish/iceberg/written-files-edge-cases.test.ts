import { icebergRead } from 'icebird';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, literal } from '../../../engine/db/duckdb.ts';
import { reconcileTable } from '../../../engine/publish/iceberg/publish.ts';
import { type SyncContext, syncTable } from '../../../engine/publish/iceberg/sync.ts';
import { snapshotFiles } from '../../../engine/publish/iceberg/table.ts';
import { ensureWarehouseSchema, recordModelDates } from '../../../engine/warehouse/metadata.ts';
import { describeTestTable, openTestWarehouse, type TestWarehouse } from './helpers.ts';

// What the data files a publish writes say of themselves: the schema in their footer is the one the
// commit makes current; and where they go: a partition value too long for a folder name gets a short one.

let warehouse: TestWarehouse;
let db: Db;
let ctx: SyncContext;

beforeAll(async () => {
  warehouse = await openTestWarehouse('iceberg-written-files-');
  ({ db, ctx } = warehouse);
  await ensureWarehouseSchema(db);
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

describe('a partition value too long for a folder name', () => {
  const fact = () =>
    describeTestTable(db, 'f_long', { materialized: 'append', primaryKey: ['id'], dateKey: 'dk' });
  let runs = 0;
  const run = async (etlDate: string, sql: string) => {
    await db.run(sql);
    await recordModelDates(db, [{ model: 'gold.f_long', etlDate }], `run-${++runs}`);
  };
  // 300 bytes as they are; 90 slashes are 270 bytes once escaped (%2F) for the folder name.
  const long = 'x'.repeat(300);
  const slashes = '/'.repeat(90);

  async function published() {
    const { metadata } = (await ctx.catalog.load('gold', 'f_long'))!;
    const { live } = await snapshotFiles(ctx.catalog.io, metadata);
    return Promise.all(
      live.map(async (e) => {
        const path = await ctx.catalog.io.readablePath(e.file.file_path);
        const held = await db.allJson<{ dk: string | null }>(
          `SELECT DISTINCT dk FROM read_parquet(${literal(path)}, hive_partitioning = false)`,
        );
        return {
          path: e.file.file_path,
          folder: e.file.file_path.split('/').at(-2) ?? '',
          partition: e.file.partition.dk as string | null,
          rows: Number(e.file.record_count),
          held: held.map((r) => r.dk),
        };
      }),
    );
  }

  it('is written under a short folder, with the value itself in the manifest and the file', async () => {
    await db.run('CREATE TABLE gold.f_long (id INTEGER, dk VARCHAR, v INTEGER, etl_date DATE)');
    await run(
      '2024-01-01',
      `INSERT INTO gold.f_long VALUES (1, 'a', 0, DATE '2024-01-01'), (2, ${literal(long)}, 0, DATE '2024-01-01'),
         (3, ${literal(long)}, 0, DATE '2024-01-01'), (4, ${literal(slashes)}, 0, DATE '2024-01-01'),
         (5, NULL, 0, DATE '2024-01-01')`,
    );
    // Before, DuckDB's 'IO Error: Failed to create directory ... File name too long' failed the publish.
    expect(await syncTable(ctx, await fact())).toMatchObject({
      action: 'create',
      rowsAdded: 5,
      filesAdded: 4,
    });
    const files = await published();
    const of = (value: string | null) => files.filter((f) => f.partition === value);
    expect(of('a')).toMatchObject([{ rows: 1, held: ['a'], folder: 'dk=a' }]);
    expect(of(long)).toMatchObject([{ rows: 2, held: [long] }]);
    expect(of(slashes)).toMatchObject([{ rows: 1, held: [slashes] }]);
    for (const f of files) expect(Buffer.byteLength(f.folder)).toBeLessThanOrEqual(128);
    expect(of(long)[0]?.folder).toMatch(/^dk=x{32}-[0-9a-f]{16}$/);
    expect(of(slashes)[0]?.folder).toMatch(/^dk=_{32}-[0-9a-f]{16}$/);
    // Another reader (icebird, over HTTP) takes the value from the manifest and the file, not the path.
    const read = await icebergRead({ tableUrl: `${warehouse.url}/gold/f_long` });
    expect(read.map((r) => [Number(r.id), r.dk]).sort()).toEqual([
      [1, 'a'],
      [2, long],
      [3, long],
      [4, slashes],
      [5, null],
    ]);
    expect((await reconcileTable(ctx, await fact())).matches).toBe(true);
    expect((await syncTable(ctx, await fact())).action).toBe('none');

    // A run changing a long value's row replaces its file alone.
    await run('2024-01-02', `UPDATE gold.f_long SET v = 1, etl_date = DATE '2024-01-02' WHERE id = 2`);
    expect(await syncTable(ctx, await fact())).toMatchObject({
      action: 'overwrite',
      filesRemoved: 1,
      rowsAdded: 2,
      rowsRemoved: 2,
    });
    const after = await published();
    expect(after.find((f) => f.partition === 'a')?.path).toBe(of('a')[0]?.path);
    expect(after.find((f) => f.partition === long)?.path).not.toBe(of(long)[0]?.path);
    expect((await reconcileTable(ctx, await fact())).matches).toBe(true);
  });
});
