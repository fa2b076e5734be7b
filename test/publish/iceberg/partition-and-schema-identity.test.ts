import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, literal } from '../../../engine/db/duckdb.ts';
import { createRestCatalog } from '../../../engine/publish/iceberg/catalogs/rest-catalog.ts';
import { createLocalFileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { reconcileTable } from '../../../engine/publish/iceberg/publish.ts';
import { type SyncContext, syncTable } from '../../../engine/publish/iceberg/sync.ts';
import { snapshotFiles } from '../../../engine/publish/iceberg/table.ts';
import { ensureWarehouseSchema, recordModelDates } from '../../../engine/warehouse/metadata.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';
import { type RestCatalogServer, startRestCatalog } from './catalog-servers.ts';
import { describeTestTable, openTestWarehouse, type TestWarehouse } from './helpers.ts';

// A partition value and a schema are identities in Iceberg: the text 'null' is no NULL partition, and
// columns that change back make the earlier schema current again rather than a copy of it.

let warehouse: TestWarehouse;
let db: Db;
let ctx: SyncContext;
let runs = 0;

beforeAll(async () => {
  warehouse = await openTestWarehouse('iceberg-identity-');
  ({ db, ctx } = warehouse);
  await ensureWarehouseSchema(db);
});

afterAll(() => warehouse.close());

/** The published files with their partition value, record count and the dk values they hold. */
async function publishedPartitions(name: string) {
  const loaded = (await ctx.catalog.load('gold', name))!;
  const { live } = await snapshotFiles(ctx.catalog.io, loaded.metadata);
  return Promise.all(
    live.map(async (e) => {
      const path = await ctx.catalog.io.readablePath(e.file.file_path);
      const held = await db.allJson<{ dk: string | null }>(
        `SELECT DISTINCT dk FROM read_parquet(${literal(path)}, hive_partitioning = false)`,
      );
      return {
        path: e.file.file_path,
        partition: e.file.partition.dk as string | null,
        rows: Number(e.file.record_count),
        held: held.map((r) => r.dk),
      };
    }),
  );
}

/** The metadata JSON file the catalog points at, as written. */
async function metadataFile(name: string) {
  const loaded = (await ctx.catalog.load('gold', name))!;
  return JSON.parse(await readFile(await ctx.catalog.io.readablePath(loaded.metadataLocation), 'utf8'));
}

describe('Iceberg partition values', () => {
  const fact = () =>
    describeTestTable(db, 'f_text_null', { materialized: 'append', primaryKey: ['id'], dateKey: 'dk' });
  /** A run of one ETL date, as the append materialization leaves it: the rows, and the date recorded. */
  const run = async (etlDate: string, sql: string) => {
    await db.run(sql);
    await recordModelDates(db, [{ model: 'gold.f_text_null', etlDate }], `run-${++runs}`);
  };

  it("keeps a VARCHAR partition holding the text 'null' apart from the NULL partition", async () => {
    await db.run('CREATE TABLE gold.f_text_null (id INTEGER, dk VARCHAR, v INTEGER, etl_date DATE)');
    await run(
      '2024-01-01',
      `INSERT INTO gold.f_text_null VALUES (1, 'a', 0, DATE '2024-01-01'), (2, 'null', 0, DATE '2024-01-01'),
         (3, NULL, 0, DATE '2024-01-01'), (4, NULL, 0, DATE '2024-01-01'), (5, 'NULL', 0, DATE '2024-01-01')`,
    );
    // Before, the 'null' row was grouped with the NULL ones and written by neither: silently left out.
    expect(await syncTable(ctx, await fact())).toMatchObject({
      action: 'create',
      rowsAdded: 5,
      filesAdded: 4,
    });
    const files = await publishedPartitions('f_text_null');
    const byPartition = (value: string | null) => files.filter((f) => f.partition === value);
    expect(byPartition(null)).toMatchObject([{ rows: 2, held: [null] }]);
    expect(byPartition('null')).toMatchObject([{ rows: 1, held: ['null'] }]);
    expect(byPartition('NULL')).toMatchObject([{ rows: 1, held: ['NULL'] }]);
    expect((await reconcileTable(ctx, await fact())).matches).toBe(true);
    expect((await syncTable(ctx, await fact())).action).toBe('none');

    // A run changing only the 'null' row replaces its file alone (compared since the last publish).
    await run('2024-01-02', `UPDATE gold.f_text_null SET v = 1, etl_date = DATE '2024-01-02' WHERE id = 2`);
    const textChanged = await syncTable(ctx, await fact());
    expect(textChanged).toMatchObject({ action: 'overwrite', filesRemoved: 1, rowsAdded: 1, rowsRemoved: 1 });
    expect(textChanged.comparison.scope).toBe('since-last-publish');
    const afterText = await publishedPartitions('f_text_null');
    expect(afterText.find((f) => f.partition === null)?.path).toBe(byPartition(null)[0]?.path);
    expect((await reconcileTable(ctx, await fact())).matches).toBe(true);

    // And one changing a NULL row replaces the NULL partition's file, not the 'null' one.
    await run('2024-01-03', `UPDATE gold.f_text_null SET v = 2, etl_date = DATE '2024-01-03' WHERE id = 3`);
    expect(await syncTable(ctx, await fact())).toMatchObject({
      action: 'overwrite',
      filesRemoved: 1,
      rowsAdded: 2,
      rowsRemoved: 2,
    });
    const afterNull = await publishedPartitions('f_text_null');
    expect(afterNull.find((f) => f.partition === 'null')?.path).toBe(
      afterText.find((f) => f.partition === 'null')?.path,
    );
    expect((await reconcileTable(ctx, await fact())).matches).toBe(true);
  });
});

describe('Iceberg schema ids', () => {
  const table = (name: string) => describeTestTable(db, name, { materialized: 'table' });
  const schemasOf = (metadata: {
    schemas: { 'schema-id': number; fields: { id: number; name: string }[] }[];
  }) => metadata.schemas.map((s) => [s['schema-id'], s.fields.map((f) => `${f.id}:${f.name}`)]);

  it('makes the earlier schema current again when the columns change back, as Java does', async () => {
    await db.run(`CREATE TABLE gold.t_back AS SELECT 1 AS a, 'x' AS b`);
    await syncTable(ctx, await table('t_back'));
    await db.run('ALTER TABLE gold.t_back ADD COLUMN c INTEGER DEFAULT 5');
    await syncTable(ctx, await table('t_back'));
    await db.run('ALTER TABLE gold.t_back DROP COLUMN c');
    await syncTable(ctx, await table('t_back'));
    const metadata = await metadataFile('t_back');
    // Before, {a, b} came back as a third schema (id 2) that equals schema 0.
    expect(schemasOf(metadata)).toEqual([
      [0, ['1:a', '2:b']],
      [1, ['1:a', '2:b', '3:c']],
    ]);
    expect(metadata['current-schema-id']).toBe(0);
    expect(metadata['last-column-id']).toBe(3);
    expect(metadata.snapshots.map((s: { 'schema-id': number }) => s['schema-id'])).toEqual([0, 1, 0]);
    expect((await reconcileTable(ctx, await table('t_back'))).matches).toBe(true);
    // A column re-added under its old name is a new column (a new id): a new schema, not schema 1.
    await db.run('ALTER TABLE gold.t_back ADD COLUMN c INTEGER DEFAULT 6');
    await syncTable(ctx, await table('t_back'));
    const readded = await metadataFile('t_back');
    expect(schemasOf(readded).at(-1)).toEqual([2, ['1:a', '2:b', '4:c']]);
    expect(readded['current-schema-id']).toBe(2);
  });

  describe('through a REST catalog', () => {
    let server: RestCatalogServer;
    let rest: SyncContext;
    let folder: string;
    beforeAll(async () => {
      folder = await tempDir('iceberg-identity-rest-');
      server = await startRestCatalog(createLocalFileIO(join(folder, 'warehouse')));
      rest = {
        ...ctx,
        catalog: createRestCatalog(
          { uri: server.url, warehouse: join(folder, 'warehouse') },
          join(folder, 'cache'),
        ),
        stateDir: join(folder, 'state'),
      };
    });
    afterAll(async () => {
      await server.close();
      await removeDir(folder);
    });

    it('sets the earlier schema current by its id rather than adding a copy of it', async () => {
      await db.run(`CREATE TABLE gold.t_rest AS SELECT 1 AS a, 'x' AS b`);
      await syncTable(rest, await table('t_rest'));
      await db.run('ALTER TABLE gold.t_rest ADD COLUMN c INTEGER DEFAULT 5');
      await syncTable(rest, await table('t_rest'));
      await db.run('ALTER TABLE gold.t_rest DROP COLUMN c');
      await syncTable(rest, await table('t_rest'));
      const { metadata } = (await rest.catalog.load('gold', 't_rest'))!;
      expect(schemasOf(metadata)).toEqual([
        [0, ['1:a', '2:b']],
        [1, ['1:a', '2:b', '3:c']],
      ]);
      expect(metadata['current-schema-id']).toBe(0);
      expect(metadata.snapshots.map((s) => s['schema-id'])).toEqual([0, 1, 0]);
      expect((await reconcileTable(rest, await table('t_rest'))).matches).toBe(true);
    });
  });
});
