import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, ident } from '../../../engine/db/duckdb.ts';
import { readAvroContainer } from '../../../engine/publish/iceberg/avro.ts';
import { reconcileTable } from '../../../engine/publish/iceberg/publish.ts';
import { decodeBound } from '../../../engine/publish/iceberg/spec.ts';
import { type SyncContext, syncTable } from '../../../engine/publish/iceberg/sync.ts';
import { snapshotFiles } from '../../../engine/publish/iceberg/table.ts';
import { lakehouseFailure } from '../../helpers/errors.ts';
import { describeTestTable, openTestWarehouse, type TestWarehouse } from './helpers.ts';

let warehouse: TestWarehouse;
let db: Db;
let ctx: SyncContext;

beforeAll(async () => {
  warehouse = await openTestWarehouse('iceberg-edge-');
  ({ db, ctx } = warehouse);
});

afterAll(() => warehouse.close());

const fact = (name: string, dateKey: string) =>
  describeTestTable(db, name, { materialized: 'append', primaryKey: ['id'], dateKey });

async function current(name: string) {
  const loaded = (await ctx.catalog.load('gold', name))!;
  return { loaded, files: await snapshotFiles(ctx.catalog.io, loaded.metadata) };
}

describe('Iceberg metadata edge cases', () => {
  it('partitions a fact by a date key whose name Avro refuses (space, accent), and re-publishes it', async () => {
    for (const column of ['date key', 'día']) {
      const name = `f_${column === 'día' ? 'accent' : 'space'}`;
      await db.run(
        `CREATE TABLE gold.${name} AS SELECT i AS id, DATE '2024-01-01' + (i % 3)::INT AS ${ident(column)} FROM range(9) t(i)`,
      );
      expect((await syncTable(ctx, await fact(name, column))).action).toBe('create');
      const { files } = await current(name);
      // Read back under the spec's name (the manifest's Avro field is renamed, found by its field id).
      expect(files.live.map((e) => e.file.partition[column]).sort()).toEqual([19723, 19724, 19725]);
      const manifest = await readAvroContainer<unknown>(
        await ctx.catalog.io.read(files.manifests[0]!.manifest_path),
        'manifest',
      );
      expect(JSON.stringify(manifest.schema)).toContain('"field-id":1000');
      await db.run(`UPDATE gold.${name} SET id = id + 100 WHERE id = 1`);
      const changed = await syncTable(ctx, await fact(name, column));
      expect(changed).toMatchObject({ action: 'overwrite', filesRemoved: 1 });
      expect((await reconcileTable(ctx, await fact(name, column))).matches).toBe(true);
      expect((await syncTable(ctx, await fact(name, column))).action).toBe('none');
    }
  });

  it('creates an empty partitioned fact at its first publish, as an empty unpartitioned table is', async () => {
    await db.run(`CREATE TABLE gold.f_empty (id INTEGER, dk DATE)`);
    const first = await syncTable(ctx, await fact('f_empty', 'dk'));
    expect(first).toMatchObject({ action: 'create', operation: 'append', filesAdded: 0 });
    const { loaded, files } = await current('f_empty');
    expect(loaded.metadata.snapshots[0]?.summary['total-records']).toBe('0');
    expect(files.live).toEqual([]);
    expect((await reconcileTable(ctx, await fact('f_empty', 'dk'))).matches).toBe(true);
    expect((await syncTable(ctx, await fact('f_empty', 'dk'))).action).toBe('none');
  });

  it('writes float bounds of zero that hold both -0.0 and 0.0 (DuckDB prints either for both)', async () => {
    await db.run(
      `CREATE TABLE gold.t_zero AS SELECT * FROM (VALUES (1, -0.0::DOUBLE, 0.0::FLOAT), (2, 0.0::DOUBLE, -0.0::FLOAT)) v(id, d, f)`,
    );
    await syncTable(ctx, await describeTestTable(db, 't_zero', { materialized: 'table' }));
    const { loaded, files } = await current('t_zero');
    const file = files.live[0]!.file;
    for (const field of loaded.metadata.schemas[0]!.fields.filter((f) => f.name !== 'id')) {
      const bound = (list: typeof file.lower_bounds) =>
        decodeBound(field.type, list!.find((b) => b.key === field.id)!.value);
      // Iceberg orders -0.0 before 0.0: the lower bound must be -0.0 and the upper +0.0.
      expect(Object.is(bound(file.lower_bounds), -0), `${field.name} lower`).toBe(true);
      expect(Object.is(bound(file.upper_bounds), 0), `${field.name} upper`).toBe(true);
    }
  });

  it('refuses a partition date of infinity, naming table and column, and leaves the table as it was', async () => {
    await db.run(`CREATE TABLE gold.f_inf AS SELECT i AS id, DATE '2024-01-01' AS dk FROM range(3) t(i)`);
    await syncTable(ctx, await fact('f_inf', 'dk'));
    const before = (await ctx.catalog.load('gold', 'f_inf'))!.metadataLocation;
    // Before, the row's partition key came out NULL and the commit went without it.
    await db.run(`INSERT INTO gold.f_inf VALUES (10, 'infinity'::DATE), (11, DATE '2024-02-01')`);
    const failure = await lakehouseFailure(syncTable(ctx, await fact('f_inf', 'dk')));
    expect(failure.code).toBe('ICEBERG_INVALID');
    expect(failure.message).toContain('Column f_inf.dk partitions the Iceberg table');
    expect(failure.message).toContain('1 row where it is infinity');
    expect((await ctx.catalog.load('gold', 'f_inf'))!.metadataLocation).toBe(before);
  });

  it('keeps to the spec a fact was published with: no rewrite of an unchanged table, a clear error for its partition column', async () => {
    // Published unpartitioned (a `table` model) and then made an `append` fact with a date key.
    await db.run(
      `CREATE TABLE gold.f_spec AS SELECT i AS id, DATE '2024-01-01' + (i % 3)::INT AS dk FROM range(9) t(i)`,
    );
    await syncTable(ctx, await describeTestTable(db, 'f_spec', { materialized: 'table' }));
    const unchanged = await syncTable(ctx, await fact('f_spec', 'dk'));
    expect(unchanged).toMatchObject({ action: 'none', rowsAdded: 0, partitionedBy: null });
    await db.run(`UPDATE gold.f_spec SET id = id + 100 WHERE id = 1`);
    expect((await syncTable(ctx, await fact('f_spec', 'dk'))).action).toBe('overwrite');
    expect((await reconcileTable(ctx, await fact('f_spec', 'dk'))).matches).toBe(true);
    expect((await syncTable(ctx, await fact('f_spec', 'dk'))).action).toBe('none');
    // Partitioned by dk, whose column is then renamed: said in the publish's terms, not DuckDB's binder's.
    await db.run(`CREATE TABLE gold.f_renamed AS SELECT i AS id, DATE '2024-01-01' AS dk FROM range(3) t(i)`);
    await syncTable(ctx, await fact('f_renamed', 'dk'));
    await db.run(`ALTER TABLE gold.f_renamed RENAME dk TO day_key`);
    const failure = await lakehouseFailure(syncTable(ctx, await fact('f_renamed', 'day_key')));
    expect(failure).toMatchObject({ code: 'PUBLISH_CONFLICT' });
    expect(failure.message).toContain('Column f_renamed.dk partitions the published table');
  });
});
