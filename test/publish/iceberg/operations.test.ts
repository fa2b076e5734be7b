import { icebergRead } from 'icebird';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../engine/db/duckdb.ts';
import type { Materialization } from '../../../engine/project/models.ts';
import { readManifestList, Status } from '../../../engine/publish/iceberg/manifest.ts';
import { checkInvariants } from '../../../engine/publish/iceberg/metadata-json.ts';
import { reconcileTable } from '../../../engine/publish/iceberg/publish.ts';
import type { TableMetadata } from '../../../engine/publish/iceberg/spec.ts';
import { type SyncContext, syncTable } from '../../../engine/publish/iceberg/sync.ts';
import { snapshotFiles } from '../../../engine/publish/iceberg/table.ts';
import { describeTestTable, openTestWarehouse, type TestWarehouse } from './helpers.ts';

let warehouse: TestWarehouse;
let db: Db;
let ctx: SyncContext;

beforeAll(async () => {
  warehouse = await openTestWarehouse('iceberg-ops-');
  ({ db, ctx } = warehouse);
});

afterAll(() => warehouse.close());

const normalise = (v: unknown) =>
  typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString().slice(0, 10) : v;

/** Reads the table with icebird (over HTTP) and with DuckDB (local gold) and expects equal rows. */
async function expectEqualToGold(table: string, key: string, columns: string[]) {
  const published = (await icebergRead({ tableUrl: `${warehouse.url}/gold/${table}` }))
    .map((row) => Object.fromEntries(columns.map((c) => [c, normalise(row[c])])))
    .sort((a, b) => String(a[key]).localeCompare(String(b[key]), 'en', { numeric: true }));
  const local = (await db.allJson<Record<string, unknown>>(`SELECT ${columns.join(', ')} FROM gold.${table}`))
    .map((row) => Object.fromEntries(columns.map((c) => [c, normalise(row[c])])))
    .sort((a, b) => String(a[key]).localeCompare(String(b[key]), 'en', { numeric: true }));
  expect(published).toEqual(local);
  return published.length;
}

async function publish(table: string, materialized: Materialization, primaryKey: string[], dateKey?: string) {
  return syncTable(
    ctx,
    await describeTestTable(db, table, { materialized, primaryKey, ...(dateKey ? { dateKey } : {}) }),
  );
}

async function metadataOf(table: string): Promise<TableMetadata> {
  const loaded = await ctx.catalog.load('gold', table);
  checkInvariants(loaded!.metadata, table);
  return loaded!.metadata;
}

describe('Iceberg operations', () => {
  it('partitions the fact by date_key, fast-appends a new day and replaces only a changed day', async () => {
    await db.run(
      `CREATE TABLE gold.fact AS SELECT i AS event_id, 20240101 + (i % 2)::INTEGER AS date_key, 'k' || i AS keyword FROM range(6) t(i)`,
    );
    const created = await publish('fact', 'append', ['event_id'], 'date_key');
    expect(created).toMatchObject({
      action: 'create',
      rowsAdded: 6,
      filesAdded: 2,
      partitionedBy: 'date_key',
    });
    let metadata = await metadataOf('fact');
    expect(metadata['partition-specs'][0]?.fields).toEqual([
      { 'source-id': 2, 'field-id': 1000, name: 'date_key', transform: 'identity' },
    ]);
    expect(metadata['last-partition-id']).toBe(1000);
    await expectEqualToGold('fact', 'event_id', ['event_id', 'date_key', 'keyword']);
    const firstManifests = await readManifestList(ctx.catalog.io, metadata.snapshots[0]!['manifest-list']);

    await db.run(`INSERT INTO gold.fact SELECT i, 20240103, 'k' || i FROM range(6, 9) t(i)`);
    const appended = await publish('fact', 'append', ['event_id'], 'date_key');
    expect(appended).toMatchObject({
      action: 'append',
      operation: 'append',
      rowsAdded: 3,
      rowsRemoved: 0,
      filesAdded: 1,
    });
    metadata = await metadataOf('fact');
    const second = metadata.snapshots[1]!;
    expect(second['sequence-number']).toBe(2);
    expect(second['parent-snapshot-id']).toBe(metadata.snapshots[0]!['snapshot-id']);
    expect(second.summary).toMatchObject({ operation: 'append', 'added-records': '3', 'total-records': '9' });
    const secondManifests = await readManifestList(ctx.catalog.io, second['manifest-list']);
    // Fast append: the first snapshot's manifest is carried over untouched.
    expect(secondManifests.map((m) => m.manifest_path)).toContain(firstManifests[0]!.manifest_path);
    expect(await expectEqualToGold('fact', 'event_id', ['event_id', 'date_key', 'keyword'])).toBe(9);

    await db.run(`UPDATE gold.fact SET keyword = 'changed' WHERE event_id = 3`);
    const replaced = await publish('fact', 'append', ['event_id'], 'date_key');
    expect(replaced).toMatchObject({
      action: 'overwrite',
      operation: 'overwrite',
      rowsAdded: 3,
      rowsRemoved: 3,
      filesRemoved: 1,
    });
    metadata = await metadataOf('fact');
    const files = await snapshotFiles(ctx.catalog.io, metadata);
    expect(files.deleted).toHaveLength(1);
    expect(files.deleted[0]!.file.partition).toEqual({ date_key: 20240102 });
    // The DELETED entry keeps the sequence number of the snapshot that added it.
    expect(files.deleted[0]!.sequenceNumber).toBe(1n);
    const untouched = files.live.find((e) => e.file.partition.date_key === 20240101)!;
    expect(untouched.status).toBe(Status.EXISTING);
    expect(untouched.sequenceNumber).toBe(1n);
    expect(files.live.find((e) => e.file.partition.date_key === 20240102)!.sequenceNumber).toBe(3n);
    // Day 3's manifest carried over; the first one rewritten (day 1 EXISTING at 1, day 2 DELETED); the new one.
    const third = await readManifestList(ctx.catalog.io, metadata.snapshots[2]!['manifest-list']);
    expect(
      third.map((m) => [
        m.sequence_number,
        m.min_sequence_number,
        m.added_files_count,
        m.existing_files_count,
        m.deleted_files_count,
      ]),
    ).toEqual([
      [3n, 3n, 1, 0, 0],
      [2n, 2n, 1, 0, 0],
      [3n, 1n, 0, 1, 1],
    ]);
    expect(await expectEqualToGold('fact', 'event_id', ['event_id', 'date_key', 'keyword'])).toBe(9);

    const unchanged = await publish('fact', 'append', ['event_id'], 'date_key');
    expect(unchanged.action).toBe('none');
    expect((await metadataOf('fact')).snapshots).toHaveLength(3);

    // A day gone locally: its file is removed and nothing added, which the spec calls a delete.
    await db.run(`DELETE FROM gold.fact WHERE date_key = 20240103`);
    const deleted = await publish('fact', 'append', ['event_id'], 'date_key');
    expect(deleted).toMatchObject({ operation: 'delete', rowsRemoved: 3, filesRemoved: 1, filesAdded: 0 });
    const fourth = (await metadataOf('fact')).snapshots[3]!;
    expect(fourth.summary).toMatchObject({
      operation: 'delete',
      'deleted-records': '3',
      'total-records': '6',
    });
    expect(await expectEqualToGold('fact', 'event_id', ['event_id', 'date_key', 'keyword'])).toBe(6);
  });

  it('partitions by a DATE column too (partition values as days since the epoch)', async () => {
    await db.run(
      `CREATE TABLE gold.fact_dated AS SELECT i AS event_id, DATE '2024-03-01' + (i % 2)::INTEGER AS day FROM range(4) t(i)`,
    );
    await publish('fact_dated', 'append', ['event_id'], 'day');
    await db.run(`INSERT INTO gold.fact_dated VALUES (10, DATE '2024-03-05')`);
    expect(await publish('fact_dated', 'append', ['event_id'], 'day')).toMatchObject({
      action: 'append',
      rowsAdded: 1,
    });
    expect((await publish('fact_dated', 'append', ['event_id'], 'day')).action).toBe('none');
    const files = await snapshotFiles(ctx.catalog.io, await metadataOf('fact_dated'));
    expect(files.live.map((e) => e.file.partition.day).sort()).toEqual([19783, 19784, 19787]);
    expect(await expectEqualToGold('fact_dated', 'event_id', ['event_id', 'day'])).toBe(5);
  });

  it('partitions by a BIGINT column: values past 2^53 stay exact, a changed partition is replaced', async () => {
    const big = 9_007_199_254_740_993n; // 2^53 + 1: a JS number rounds it to 2^53
    await db.run(
      `CREATE TABLE gold.fact_big AS SELECT i AS event_id, (CASE i % 3 WHEN 0 THEN 9 WHEN 1 THEN 10 ELSE ${big} END)::BIGINT AS date_key FROM range(6) t(i)`,
    );
    await publish('fact_big', 'append', ['event_id'], 'date_key');
    // A re-run of one partition: an overwrite, which failed on the BigInt values read back from Avro.
    await db.run('UPDATE gold.fact_big SET event_id = event_id + 100 WHERE date_key = 9');
    expect(await publish('fact_big', 'append', ['event_id'], 'date_key')).toMatchObject({
      action: 'overwrite',
      rowsRemoved: 2,
      rowsAdded: 2,
    });
    const metadata = await metadataOf('fact_big');
    expect(metadata.snapshots[1]?.summary['changed-partition-count']).toBe('1');
    const files = await snapshotFiles(ctx.catalog.io, metadata);
    expect(files.live.map((e) => e.file.partition.date_key).sort()).toEqual([10n, 9n, big]);
    // Partition summaries order values as numbers (as strings, 10 came before 9) and keep them exact.
    const manifests = await readManifestList(ctx.catalog.io, metadata.snapshots[1]!['manifest-list']);
    const summary = manifests.find((m) => m.existing_files_count === 2)!.partitions![0]!;
    expect(summary.lower_bound?.readBigInt64LE()).toBe(9n);
    expect(summary.upper_bound?.readBigInt64LE()).toBe(big);
    expect((await publish('fact_big', 'append', ['event_id'], 'date_key')).action).toBe('none');
    expect(
      (
        await reconcileTable(
          ctx,
          await describeTestTable(db, 'fact_big', {
            materialized: 'append',
            primaryKey: ['event_id'],
            dateKey: 'date_key',
          }),
        )
      ).matches,
    ).toBe(true);
  });

  it('upserts an SCD1 dimension copy-on-write: only files holding changed keys are rewritten', async () => {
    await db.run(
      `CREATE TABLE gold.dim_user AS SELECT 'u' || i AS user_id, 'guest' AS user_type, i::INTEGER AS visits FROM range(5) t(i)`,
    );
    await publish('dim_user', 'scd1', ['user_id']);
    await db.run(`INSERT INTO gold.dim_user SELECT 'u' || i, 'registered', i::INTEGER FROM range(5, 8) t(i)`);
    const appended = await publish('dim_user', 'scd1', ['user_id']);
    // New keys only: an append of a new file, nothing rewritten.
    expect(appended).toMatchObject({ action: 'upsert', operation: 'append', rowsAdded: 3, filesRemoved: 0 });

    await db.run(`UPDATE gold.dim_user SET user_type = 'guest' WHERE user_id = 'u6'`);
    await db.run(`INSERT INTO gold.dim_user VALUES ('u9', 'guest', 9)`);
    const upserted = await publish('dim_user', 'scd1', ['user_id']);
    // u6 lives in the second file (3 rows): that file is rewritten with u9, the first file stays.
    expect(upserted).toMatchObject({
      action: 'upsert',
      operation: 'overwrite',
      rowsAdded: 4,
      rowsRemoved: 3,
      filesRemoved: 1,
    });
    const metadata = await metadataOf('dim_user');
    const files = await snapshotFiles(ctx.catalog.io, metadata);
    expect(files.live.map((e) => Number(e.file.record_count)).sort()).toEqual([4, 5]);
    expect(files.deleted.map((e) => [e.status, e.sequenceNumber, e.fileSequenceNumber])).toEqual([
      [Status.DELETED, 2n, 2n],
    ]);
    // The first file's manifest held no changed key: carried over as is, its entry still ADDED at sequence 1.
    const first = files.live.find((e) => Number(e.file.record_count) === 5)!;
    expect([first.status, first.sequenceNumber]).toEqual([Status.ADDED, 1n]);
    expect(files.live.find((e) => Number(e.file.record_count) === 4)?.sequenceNumber).toBe(3n);
    expect(await expectEqualToGold('dim_user', 'user_id', ['user_id', 'user_type', 'visits'])).toBe(9);
  });

  it('evolves the schema: a new column gets a fresh id, int widens to long in place, ids are never reused', async () => {
    await db.run(`ALTER TABLE gold.dim_user ADD COLUMN country VARCHAR DEFAULT 'vn'`);
    await db.run(`ALTER TABLE gold.dim_user ALTER visits TYPE BIGINT`);
    await db.run(`UPDATE gold.dim_user SET visits = visits + 5000000000 WHERE user_id = 'u1'`);
    const evolved = await publish('dim_user', 'scd1', ['user_id']);
    expect(evolved.schemaChange).toEqual({
      added: ['country'],
      widened: [{ column: 'visits', from: 'int', to: 'long' }],
      dropped: [],
    });
    const metadata = await metadataOf('dim_user');
    expect(metadata.schemas).toHaveLength(2);
    expect(metadata['current-schema-id']).toBe(1);
    expect(metadata.schemas[1]?.fields.map((f) => [f.id, f.name, f.type])).toEqual([
      [1, 'user_id', 'string'],
      [2, 'user_type', 'string'],
      [3, 'visits', 'long'],
      [4, 'country', 'string'],
    ]);
    expect(metadata['last-column-id']).toBe(4);
    expect(
      await expectEqualToGold('dim_user', 'user_id', ['user_id', 'user_type', 'visits', 'country']),
    ).toBe(9);

    // Dropping country and adding it back gives it a new id: 4 is never reused.
    await db.run(`ALTER TABLE gold.dim_user DROP COLUMN country`);
    await publish('dim_user', 'scd1', ['user_id']);
    await db.run(`ALTER TABLE gold.dim_user ADD COLUMN country VARCHAR DEFAULT 'th'`);
    await publish('dim_user', 'scd1', ['user_id']);
    const last = await metadataOf('dim_user');
    expect(last.schemas.at(-1)?.fields.find((f) => f.name === 'country')?.id).toBe(5);
    expect(await expectEqualToGold('dim_user', 'user_id', ['user_id', 'visits', 'country'])).toBe(9);
  });

  it('refuses a type change Iceberg cannot make, naming the column', async () => {
    await db.run(`CREATE TABLE gold.dim_narrow AS SELECT 1 AS k, 'x' AS label`);
    await publish('dim_narrow', 'scd1', ['k']);
    await db.run(`ALTER TABLE gold.dim_narrow ALTER label TYPE DATE USING DATE '2024-01-01'`);
    await expect(publish('dim_narrow', 'scd1', ['k'])).rejects.toMatchObject({
      code: 'PUBLISH_CONFLICT',
      message: expect.stringContaining('dim_narrow.label'),
    });
    // No command drops a published table: the message says which folder to delete to re-create it.
    const { location } = await metadataOf('dim_narrow');
    await expect(publish('dim_narrow', 'scd1', ['k'])).rejects.toMatchObject({
      message: expect.stringContaining(`delete the table's folder ${location} to publish it anew`),
    });
  });

  it('overwrites a full-refresh table whole', async () => {
    await db.run(`CREATE TABLE gold.dim_date AS SELECT 20240101 + i::INTEGER AS date_key FROM range(3) t(i)`);
    await publish('dim_date', 'table', ['date_key']);
    await db.run(`INSERT INTO gold.dim_date VALUES (20240104)`);
    const result = await publish('dim_date', 'table', ['date_key']);
    expect(result).toMatchObject({
      action: 'overwrite',
      operation: 'overwrite',
      rowsAdded: 4,
      rowsRemoved: 3,
    });
    expect((await metadataOf('dim_date')).snapshots.at(-1)?.summary).toMatchObject({
      'total-records': '4',
      'deleted-records': '3',
    });
    expect(await expectEqualToGold('dim_date', 'date_key', ['date_key'])).toBe(4);
  });
});
