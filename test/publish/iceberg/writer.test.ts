import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { icebergRead } from 'icebird';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../engine/db/duckdb.ts';
import { readAvroContainer, writeAvroContainer } from '../../../engine/publish/iceberg/avro.ts';
import { listLocalFiles, writeDataFiles } from '../../../engine/publish/iceberg/data-files.ts';
import {
  MANIFEST_FILE_SCHEMA,
  type ManifestFile,
  readManifestList,
} from '../../../engine/publish/iceberg/manifest.ts';
import {
  checkInvariants,
  parseMetadata,
  serializeMetadata,
} from '../../../engine/publish/iceberg/metadata-json.ts';
import { reconcileTable } from '../../../engine/publish/iceberg/publish.ts';
import { decodeBound, type IcebergSchema, type PartitionSpec } from '../../../engine/publish/iceberg/spec.ts';
import { type SyncContext, syncTable } from '../../../engine/publish/iceberg/sync.ts';
import { snapshotFiles } from '../../../engine/publish/iceberg/table.ts';
import { describeTestTable, openTestWarehouse, type TestWarehouse } from './helpers.ts';

let warehouse: TestWarehouse;
let db: Db;
let ctx: SyncContext;

beforeAll(async () => {
  warehouse = await openTestWarehouse('iceberg-writer-');
  ({ db, ctx } = warehouse);
});

afterAll(() => warehouse.close());

/** icebird's rows in a comparable form: bigints and dates as plain JSON values. */
function plain(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    out[k] = typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : v;
  }
  return out;
}

async function icebirdRows(table: string, key: string) {
  const rows = await icebergRead({ tableUrl: `${warehouse.url}/gold/${table}` });
  return rows.map(plain).sort((a, b) => Number(a[key]) - Number(b[key]));
}

/** Two long columns, partitioned by the first: the shape the data-folder clean-up tests write. */
const LONG_BY_P: { schema: IcebergSchema; spec: PartitionSpec } = {
  schema: {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'p', required: false, type: 'long' },
      { id: 2, name: 'v', required: false, type: 'long' },
    ],
  },
  spec: { 'spec-id': 0, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'p', transform: 'identity' }] },
};
describe('Iceberg writer', () => {
  it('creates a table icebird reads back row for row, with field ids, stats and binary bounds', async () => {
    await db.run(`CREATE TABLE gold.kinds AS SELECT
        i::INTEGER AS id, 'name ' || i AS name, (i * 1.25)::DECIMAL(10,2) AS amount,
        DATE '2024-01-01' + i::INTEGER AS day, TIMESTAMP '2024-01-01 01:00:00.123456' + INTERVAL (i) HOUR AS at,
        i % 2 = 0 AS even, CASE WHEN i % 3 = 0 THEN NULL ELSE i * 10000000000 END AS big, i / 4 AS ratio,
        i::SMALLINT AS small
      FROM range(1, 11) t(i)`);
    const table = await describeTestTable(db, 'kinds', { materialized: 'table', primaryKey: ['id'] });
    const result = await syncTable(ctx, table);
    expect(result.action).toBe('create');
    expect(result.rowsAdded).toBe(10);

    const rows = await icebirdRows('kinds', 'id');
    expect(rows).toHaveLength(10);
    expect(rows[0]).toMatchObject({
      id: 1,
      name: 'name 1',
      amount: 1.25,
      even: false,
      big: 10000000000,
      ratio: 0.25,
      small: 1,
    });
    expect(rows[2]).toMatchObject({ id: 3, big: null });
    expect(rows[0]?.at).toBe('2024-01-01T02:00:00.123Z');

    const loaded = await ctx.catalog.load('gold', 'kinds');
    const metadata = loaded!.metadata;
    checkInvariants(metadata, 'kinds');
    expect(metadata.schemas[0]?.fields.map((f) => [f.id, f.name, f.type])).toEqual([
      [1, 'id', 'int'],
      [2, 'name', 'string'],
      [3, 'amount', 'decimal(10, 2)'],
      [4, 'day', 'date'],
      [5, 'at', 'timestamp'],
      [6, 'even', 'boolean'],
      [7, 'big', 'long'],
      [8, 'ratio', 'double'],
      [9, 'small', 'int'],
    ]);
    // The Parquet footer carries the field ids.
    const files = await snapshotFiles(ctx.catalog.io, metadata);
    const path = ctx.catalog.io.localPath(files.live[0]!.file.file_path)!;
    const ids = await db.all<{ name: string; field_id: number }>(
      `SELECT name, field_id FROM parquet_schema('${path}') WHERE field_id IS NOT NULL`,
    );
    expect(ids.map((r) => [r.name, r.field_id])).toEqual(
      metadata.schemas[0]!.fields.map((f) => [f.name, f.id]),
    );
    // Bounds in the spec's binary form.
    const file = files.live[0]!.file;
    const bound = (list: typeof file.lower_bounds, id: number) => list?.find((b) => b.key === id)?.value;
    expect(bound(file.lower_bounds, 1)?.toString('hex')).toBe('01000000');
    expect(bound(file.upper_bounds, 3)?.toString('hex')).toBe('04e2'); // 12.50 → 1250
    expect(bound(file.lower_bounds, 4)?.toString('hex')).toBe('0c4d0000'); // 2024-01-02, the spec's own example
    expect(decodeBound('timestamp', bound(file.lower_bounds, 5)!)).toBe(1_704_074_400_123_456n);
    expect(file.null_value_counts?.find((c) => c.key === 7)?.value).toBe(3n);
    expect(file.record_count).toBe(10n);

    // Avro headers carry the raw schema with field ids, and the manifest metadata Iceberg readers need.
    const snapshot = metadata.snapshots[0]!;
    const listBytes = await readFile(ctx.catalog.io.localPath(snapshot['manifest-list'])!);
    const list = await readAvroContainer(listBytes, 'list');
    expect(list.metadata['snapshot-id']).toBe(String(snapshot['snapshot-id']));
    expect(JSON.stringify(list.schema)).toContain('"field-id":500');
    const manifests = await readManifestList(ctx.catalog.io, snapshot['manifest-list']);
    expect(manifests[0]?.added_snapshot_id).toBe(snapshot['snapshot-id']);
    const manifest = await readAvroContainer(
      await readFile(ctx.catalog.io.localPath(manifests[0]!.manifest_path)!),
      'm',
    );
    expect(manifest.metadata).toMatchObject({
      'format-version': '2',
      content: 'data',
      'schema-id': '0',
      'partition-spec-id': '0',
    });
    expect(JSON.stringify(manifest.schema)).toContain('"field-id":134');
    expect(JSON.stringify(manifest.schema)).toContain('"logicalType":"map"');
  });

  it('writes date and timestamp bounds that hold every value: early and BC years exact, none for infinity', async () => {
    await db.run(`CREATE TABLE gold.edges AS SELECT * FROM (VALUES
        (1, TIMESTAMP '0001-01-01 00:00:00', DATE '2022-01-01', DATE '0001-01-01 (BC)', TIMESTAMP '0050-03-01 00:00:00.5'),
        (2, TIMESTAMP '2022-06-01 00:00:00', DATE 'infinity', DATE '10000-01-01', TIMESTAMP '0001-12-31 (BC) 23:00:00')
      ) v(k, ts, valid_to, wide, early)`);
    await syncTable(ctx, await describeTestTable(db, 'edges', { materialized: 'scd1', primaryKey: ['k'] }));
    const files = await snapshotFiles(ctx.catalog.io, (await ctx.catalog.load('gold', 'edges'))!.metadata);
    const file = files.live[0]!.file;
    const bound = (list: typeof file.lower_bounds, id: number) => list?.find((b) => b.key === id)?.value;
    const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
    // Date.UTC read year 1 as 1901: that lower bound excluded the row of year 1.
    expect(bound(file.lower_bounds, 2)?.readBigInt64LE()).toBe(micros('0001-01-01T00:00:00Z'));
    expect(bound(file.upper_bounds, 2)?.readBigInt64LE()).toBe(micros('2022-06-01T00:00:00Z'));
    // 'infinity' has no Iceberg date: written as 0 (1970-01-01) it excluded every row past 1970.
    expect(bound(file.lower_bounds, 3)?.readInt32LE()).toBe(18_993);
    expect(bound(file.upper_bounds, 3)).toBeUndefined();
    // Year 1 BC is year 0 (366 days before 0001-01-01); year 10000 is past what Date.parse reads.
    expect(decodeBound('date', bound(file.lower_bounds, 4)!)).toBe('0001-01-01 (BC)');
    expect(bound(file.lower_bounds, 4)?.readInt32LE()).toBe(-719_528);
    expect(bound(file.upper_bounds, 4)?.readInt32LE()).toBe(2_932_897);
    expect(bound(file.lower_bounds, 5)?.readBigInt64LE()).toBe(micros('0000-12-31T23:00:00Z'));
    expect(bound(file.upper_bounds, 5)?.readBigInt64LE()).toBe(micros('0050-03-01T00:00:00.500Z'));
  });

  it('writes UBIGINT as decimal(38, 0), the precision of the 16-byte fixed DuckDB writes it as', async () => {
    await db.run(
      'CREATE TABLE gold.unsigned AS SELECT * FROM (VALUES (1, 0::UBIGINT), (2, 18446744073709551615::UBIGINT)) v(k, u)',
    );
    const table = await describeTestTable(db, 'unsigned', { materialized: 'scd1', primaryKey: ['k'] });
    await syncTable(ctx, table);
    const metadata = (await ctx.catalog.load('gold', 'unsigned'))!.metadata;
    expect(metadata.schemas[0]?.fields.find((f) => f.name === 'u')?.type).toBe('decimal(38, 0)');
    const file = (await snapshotFiles(ctx.catalog.io, metadata)).live[0]!.file;
    const path = ctx.catalog.io.localPath(file.file_path)!;
    // decimal(20, 0) declared a 9-byte fixed while the file held 16 bytes a value.
    expect(
      await db.allJson(`SELECT type, type_length, precision FROM parquet_schema('${path}') WHERE name = 'u'`),
    ).toEqual([{ type: 'FIXED_LEN_BYTE_ARRAY', type_length: '16', precision: 38 }]);
    expect(file.upper_bounds?.find((b) => b.key === 2)?.value.toString('hex')).toBe('00ffffffffffffffff');
    expect((await reconcileTable(ctx, table)).matches).toBe(true);
  });

  it('leaves a table data folder as it was when a write fails or is cancelled midway', async () => {
    const io = ctx.catalog.io;
    const location = io.locationOf('gold/partial');
    const folder = io.localPath(`${location}/data`)!;
    const { schema, spec } = LONG_BY_P;
    const write = (select: string) =>
      writeDataFiles(db, { select, schema, spec, location, io, stagingDir: join(folder, '..', 'staging') });
    // An earlier snapshot's files, which must stay.
    const earlier = await write('SELECT i % 7 AS p, i AS v FROM range(100) t(i)');
    expect(earlier).toHaveLength(7);
    const before = (await listLocalFiles(folder)).sort();
    // DuckDB has opened a file per partition when the error comes (and leaves them behind).
    const failed = await write(
      `SELECT i % 7 AS p, CASE WHEN i > 3000000 THEN error('boom') ELSE i END AS v FROM range(4000000) t(i)`,
    ).catch((error: unknown) => error);
    expect(String(failed)).toMatch(/boom/);
    expect((await listLocalFiles(folder)).sort()).toEqual(before);
  });

  it("a failed write deletes only its own files, not another publisher's written meanwhile", async () => {
    const io = ctx.catalog.io;
    const location = io.locationOf('gold/shared');
    const folder = io.localPath(`${location}/data`)!;
    const { schema, spec } = LONG_BY_P;
    await mkdir(folder, { recursive: true });
    let failed = false;
    const write = writeDataFiles(db, {
      select: `SELECT i % 3 AS p, CASE WHEN i > 3000000 THEN error('boom') ELSE i END AS v FROM range(4000000) t(i)`,
      schema,
      spec,
      location,
      io,
      stagingDir: join(folder, '..', 'staging'),
    }).catch((error: unknown) => {
      failed = true;
      return error;
    });
    // Once DuckDB has opened this write's files, another publisher of the table (the app, another
    // machine on a shared folder) writes its own, to commit later.
    while ((await listLocalFiles(folder)).length === 0) await new Promise((r) => setTimeout(r, 5));
    const other = join(folder, 'p=1', 'another-publisher.parquet');
    await mkdir(join(folder, 'p=1'), { recursive: true });
    await writeFile(other, 'rows another publisher is about to commit');
    expect(failed).toBe(false);
    expect(String(await write)).toMatch(/boom/);
    expect(await listLocalFiles(folder)).toEqual([other]);
  });

  it('keeps 64-bit snapshot ids exact through metadata JSON and Avro', async () => {
    const loaded = await ctx.catalog.load('gold', 'kinds');
    const id = loaded!.metadata['current-snapshot-id']!;
    expect(typeof id).toBe('bigint');
    const text = await readFile(ctx.catalog.io.localPath(loaded!.metadataLocation)!, 'utf8');
    expect(text).toContain(`"current-snapshot-id": ${id}`);
    const manifests = await readManifestList(ctx.catalog.io, loaded!.metadata.snapshots[0]!['manifest-list']);
    expect(manifests[0]?.added_snapshot_id).toBe(id);
  });

  it('round-trips the largest snapshot id exactly through metadata JSON and a manifest list', async () => {
    const id = 9_223_372_036_854_775_807n;
    const loaded = (await ctx.catalog.load('gold', 'kinds'))!;
    const snapshot = { ...loaded.metadata.snapshots[0]!, 'snapshot-id': id, 'parent-snapshot-id': id - 1n };
    const metadata = {
      ...loaded.metadata,
      snapshots: [snapshot],
      'current-snapshot-id': id,
      refs: { main: { 'snapshot-id': id, type: 'branch' as const } },
      'snapshot-log': [{ 'snapshot-id': id, 'timestamp-ms': snapshot['timestamp-ms'] }],
    };
    const text = serializeMetadata(metadata);
    expect(text).toContain('"current-snapshot-id": 9223372036854775807');
    const parsed = parseMetadata(text, 'max-id');
    expect(parsed['current-snapshot-id']).toBe(id);
    expect(parsed.snapshots[0]?.['parent-snapshot-id']).toBe(id - 1n);
    expect(parsed.refs.main?.['snapshot-id']).toBe(id);

    const row = (await readManifestList(ctx.catalog.io, loaded.metadata.snapshots[0]!['manifest-list']))[0]!;
    const bytes = writeAvroContainer(MANIFEST_FILE_SCHEMA, [{ ...row, added_snapshot_id: id }], {
      'snapshot-id': String(id),
    });
    const back = await readAvroContainer<ManifestFile>(bytes, 'list');
    expect(back.records[0]?.added_snapshot_id).toBe(id);
    expect(back.metadata['snapshot-id']).toBe('9223372036854775807');
  });
});
