import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { icebergRead } from 'icebird';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../../engine/db/duckdb.ts';
import type { Project } from '../../../engine/project/config.ts';
import type { Catalog } from '../../../engine/publish/iceberg/catalog.ts';
import { createFileSystemCatalog } from '../../../engine/publish/iceberg/catalogs/fs-catalog.ts';
import { createGlueCatalog } from '../../../engine/publish/iceberg/catalogs/glue-catalog.ts';
import { createRestCatalog } from '../../../engine/publish/iceberg/catalogs/rest-catalog.ts';
import { createLocalFileIO, createS3FileIO, type FileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { readManifestList } from '../../../engine/publish/iceberg/manifest.ts';
import { checkInvariants } from '../../../engine/publish/iceberg/metadata-json.ts';
import { openTarget, reconcileTable } from '../../../engine/publish/iceberg/publish.ts';
import { type SyncContext, syncTable } from '../../../engine/publish/iceberg/sync.ts';
import { snapshotFiles } from '../../../engine/publish/iceberg/table.ts';
import { createS3Client } from '../../../engine/storage/s3-client.ts';
import { lakehouseFailure } from '../../helpers/errors.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';
import { keysUnder, type S3Server, startS3Server, useS3rverCredentials } from '../../storage/s3-helpers.ts';
import {
  type ConditionalS3Server,
  type GlueServer,
  type RestCatalogServer,
  startConditionalS3,
  startGlueServer,
  startRestCatalog,
} from './catalog-servers.ts';
import { describeTestTable, serveFolder } from './helpers.ts';

let work: string;
let writerA: Db;
let writerB: Db;
let http: Awaited<ReturnType<typeof serveFolder>>;

beforeAll(async () => {
  work = await tempDir('iceberg-catalogs-');
  http = await serveFolder(work);
  [writerA, writerB] = await Promise.all([openDb(), openDb()]);
  for (const db of [writerA, writerB]) {
    await db.run('CREATE SCHEMA gold');
    await db.run(
      `CREATE TABLE gold.dim_plan AS SELECT i AS plan_key, 'plan ' || i AS plan_name FROM range(4) t(i)`,
    );
  }
});

afterAll(async () => {
  writerA.close();
  writerB.close();
  await http.close();
  await removeDir(work);
});

const context = (db: Db, catalog: Catalog, state: string): SyncContext => ({
  db,
  catalog,
  namespace: 'gold',
  stateDir: join(work, state),
});
const table = (db: Db) =>
  describeTestTable(db, 'dim_plan', { materialized: 'scd1', primaryKey: ['plan_key'] });

/** Every data, manifest and manifest-list file on disk is referenced by some snapshot: a lost race leaves no orphan. */
async function expectNoOrphans(io: FileIO, catalog: Catalog, folder: string) {
  const loaded = (await catalog.load('gold', 'dim_plan'))!;
  const referenced = new Set<string>();
  for (const snapshot of loaded.metadata.snapshots) {
    referenced.add(io.localPath(snapshot['manifest-list'])!);
    for (const m of await readManifestList(io, snapshot['manifest-list']))
      referenced.add(io.localPath(m.manifest_path)!);
    const files = await snapshotFiles(io, loaded.metadata, snapshot['snapshot-id']);
    for (const e of [...files.live, ...files.deleted]) referenced.add(io.localPath(e.file.file_path)!);
  }
  const onDisk = (await readdir(folder, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && (e.name.endsWith('.parquet') || e.name.endsWith('.avro')))
    .map((e) => join(e.parentPath, e.name));
  expect(onDisk.filter((f) => !referenced.has(f))).toEqual([]);
}

/** Two writers: B commits while A is between building its snapshot and committing it. */
async function raceTwoWriters(catalogA: Catalog, catalogB: Catalog, tag: string) {
  await syncTable(context(writerA, catalogA, `${tag}-a`), await table(writerA));
  await writerA.run(`UPDATE gold.dim_plan SET plan_name = 'a-' || plan_key WHERE plan_key < 2`);
  await writerB.run(`UPDATE gold.dim_plan SET plan_name = 'b-' || plan_key WHERE plan_key >= 2`);
  let bSnapshot = '';
  const ctxA: SyncContext = {
    ...context(writerA, catalogA, `${tag}-a`),
    beforeCommit: async (attempt) => {
      if (attempt === 1)
        bSnapshot = String(
          (await syncTable(context(writerB, catalogB, `${tag}-b`), await table(writerB))).snapshotId,
        );
    },
  };
  const result = await syncTable(ctxA, await table(writerA));
  const loaded = (await catalogA.load('gold', 'dim_plan'))!;
  checkInvariants(loaded.metadata, tag);
  // B's commit stays in history; A's retry is built on top of it and wins the content.
  const [, b, a] = loaded.metadata.snapshots;
  expect(String(b?.['snapshot-id'])).toBe(bSnapshot);
  expect(a?.['parent-snapshot-id']).toBe(b?.['snapshot-id']);
  expect(a?.['sequence-number']).toBe(3);
  expect(result.attempts).toBe(2);
  expect((await reconcileTable(ctxA, await table(writerA))).matches).toBe(true);
  // Restore both writers for the next catalog.
  for (const db of [writerA, writerB])
    await db.run(`UPDATE gold.dim_plan SET plan_name = 'plan ' || plan_key`);
  return loaded;
}

describe('file-system catalog on a local folder', () => {
  it('detects a concurrent commit (exclusive create of vN), retries on the new state and leaves no orphan', async () => {
    const folder = join(work, 'fs');
    const io = createLocalFileIO(folder, `${http.url}/fs`);
    const catalogA = createFileSystemCatalog(io, 'a');
    const catalogB = createFileSystemCatalog(createLocalFileIO(folder, `${http.url}/fs`), 'b');
    const loaded = await raceTwoWriters(catalogA, catalogB, 'fs');
    // v1 is the table created with A's first snapshot (no empty v1 before it), v2 B's, v3 A's retry.
    expect(loaded.metadataLocation.endsWith('/v3.metadata.json')).toBe(true);
    expect(loaded.metadata['metadata-log'].map((e) => e['metadata-file'].split('/').pop())).toEqual([
      'v1.metadata.json',
      'v2.metadata.json',
    ]);
    await expectNoOrphans(io, catalogA, folder);
    const rows = await icebergRead({ tableUrl: `${http.url}/fs/gold/dim_plan` });
    expect(rows.map((r) => r.plan_name).sort()).toEqual(['a-0', 'a-1', 'plan 2', 'plan 3']);
  });
});

describe('REST catalog on a loopback server', () => {
  let server: RestCatalogServer;
  let io: FileIO;
  const folder = () => join(work, 'rest');
  beforeAll(async () => {
    io = createLocalFileIO(folder());
    server = await startRestCatalog(io);
  });
  afterAll(() => server.close());
  const catalog = () => createRestCatalog({ uri: server.url, warehouse: folder() }, join(work, 'rest-cache'));

  it('retries a commit refused with 409 (requirement assert-ref-snapshot-id failed) on the new state', async () => {
    await raceTwoWriters(catalog(), catalog(), 'rest');
    expect(server.commits).toBe(3);
    await expectNoOrphans(io, catalog(), folder());
  });

  it('on a 5xx commit reply deletes nothing and reports the state as unknown, unless the table holds the commit', async () => {
    await writerA.run(`UPDATE gold.dim_plan SET plan_name = 'x-' || plan_key WHERE plan_key = 0`);
    server.failNext.push({ status: 504, applied: false });
    const before = (await readdir(folder(), { recursive: true })).length;
    await expect(
      syncTable(context(writerA, catalog(), 'rest-a'), await table(writerA)),
    ).rejects.toMatchObject({
      code: 'ICEBERG_COMMIT_STATE_UNKNOWN',
    });
    // The data file, manifests and manifest list of the unknown commit are all still there.
    expect((await readdir(folder(), { recursive: true })).length).toBeGreaterThan(before);

    // Applied, but the reply was an error: the reloaded table holds the commit, so it is done, and
    // publishing again finds the table already equal.
    server.failNext.push({ status: 502, applied: true });
    const applied = await syncTable(context(writerA, catalog(), 'rest-a'), await table(writerA));
    expect(applied.action).not.toBe('none');
    const again = await syncTable(context(writerA, catalog(), 'rest-a'), await table(writerA));
    expect(again.action).toBe('none');
    expect((await reconcileTable(context(writerA, catalog(), 'rest-a'), await table(writerA))).matches).toBe(
      true,
    );
    await writerA.run(`UPDATE gold.dim_plan SET plan_name = 'plan ' || plan_key`);
  });
});

describe('AWS Glue catalog on a loopback server', () => {
  let glue: GlueServer;
  beforeAll(async () => {
    useS3rverCredentials();
    glue = await startGlueServer();
  });
  afterAll(() => glue.close());

  it('registers an Iceberg table with field-id columns and retries on ConcurrentModificationException', async () => {
    const folder = join(work, 'glue');
    const io = createLocalFileIO(folder, `${http.url}/glue`);
    const catalog = createGlueCatalog(io, { warehouse: folder, endpoint: glue.url, region: 'us-east-1' });
    await syncTable(context(writerA, catalog, 'glue'), await table(writerA));
    const created = glue.tables.get('gold.dim_plan')!;
    expect(created.TableType).toBe('EXTERNAL_TABLE');
    expect(created.Parameters?.table_type).toBe('ICEBERG');
    expect(created.StorageDescriptor?.Columns).toEqual([
      {
        Name: 'plan_key',
        Type: 'bigint',
        Parameters: {
          'iceberg.field.id': '1',
          'iceberg.field.optional': 'true',
          'iceberg.field.current': 'true',
        },
      },
      {
        Name: 'plan_name',
        Type: 'string',
        Parameters: {
          'iceberg.field.id': '2',
          'iceberg.field.optional': 'true',
          'iceberg.field.current': 'true',
        },
      },
    ]);
    const first = created.Parameters?.metadata_location;

    await writerA.run(`UPDATE gold.dim_plan SET plan_name = 'glue' WHERE plan_key = 3`);
    glue.raceNextUpdates = 1;
    const result = await syncTable(context(writerA, catalog, 'glue'), await table(writerA));
    expect(result.attempts).toBe(2);
    const updated = glue.tables.get('gold.dim_plan')!;
    expect(updated.Parameters?.previous_metadata_location).toBe(first);
    expect(updated.Parameters?.metadata_location).toBe(result.metadataLocation);
    await expectNoOrphans(io, catalog, folder);
    const rows = await icebergRead({
      tableUrl: `${http.url}/glue/gold.db/dim_plan`,
      metadataFileName: updated.Parameters!.metadata_location!.split('/').pop()!,
    });
    expect(rows.find((r) => r.plan_key === 3n)?.plan_name).toBe('glue');
    await writerA.run(`UPDATE gold.dim_plan SET plan_name = 'plan ' || plan_key`);
  });
});

describe('file-system catalog on S3 (s3rver)', () => {
  let s3: S3Server;
  beforeAll(async () => {
    useS3rverCredentials();
    s3 = await startS3Server(['lake', 'other']);
  });
  afterAll(() => s3.close());

  it('publishes, appends and reads back through S3', async () => {
    const settings = { endpoint: s3.endpoint, region: 'us-east-1' };
    const io = createS3FileIO('s3://lake/warehouse', settings, join(work, 's3-cache'));
    const catalog = createFileSystemCatalog(io, 's3');
    const ctx = context(writerA, catalog, 's3');
    expect((await syncTable(ctx, await table(writerA))).action).toBe('create');
    await writerA.run(`INSERT INTO gold.dim_plan VALUES (10, 'plan 10')`);
    expect((await syncTable(ctx, await table(writerA))).action).toBe('upsert');
    const keys = await keysUnder(createS3Client(settings), 'lake', 'warehouse/gold/dim_plan/metadata');
    // v1 is the create with its first snapshot, v2 the upsert.
    expect(keys).toContain('warehouse/gold/dim_plan/metadata/v2.metadata.json');
    expect(keys).toContain('warehouse/gold/dim_plan/metadata/version-hint.text');
    expect((await io.read('s3://lake/warehouse/gold/dim_plan/metadata/version-hint.text')).toString()).toBe(
      '2',
    );
    const reconciliation = await reconcileTable(ctx, await table(writerA));
    expect(reconciliation).toMatchObject({ matches: true, publishedRows: 5 });
    await writerA.run(`DELETE FROM gold.dim_plan WHERE plan_key = 10`);
  });

  it('refuses URIs outside the warehouse prefix: planted metadata cannot send writes to another bucket', async () => {
    const settings = { endpoint: s3.endpoint, region: 'us-east-1' };
    const io = createS3FileIO('s3://lake/warehouse', settings, join(work, 's3-cache'));
    for (const uri of ['s3://other/gold/t/data/x.parquet', 's3://lake/warehouse-2/x', 's3://lake/x']) {
      for (const attempt of [() => io.write(uri, 'x'), () => io.readIfExists(uri), () => io.delete([uri])]) {
        await expect(attempt()).rejects.toThrow(`${uri} is outside the warehouse s3://lake/warehouse`);
      }
    }
    expect(await keysUnder(createS3Client(settings), 'other', '')).toEqual([]);
    // A catalog that keeps tables anywhere (Glue, REST) may still reach them.
    const anywhere = createS3FileIO('s3://lake/warehouse', settings, join(work, 's3-cache'), {
      anywhere: true,
    });
    await anywhere.write('s3://other/t/x.txt', 'x');
    expect((await anywhere.read('s3://other/t/x.txt')).toString()).toBe('x');
  });

  it('a warehouse in a bucket that does not exist is refused at the first read, not planned as new tables', async () => {
    const settings = { endpoint: s3.endpoint, region: 'us-east-1' };
    const missing = createFileSystemCatalog(
      createS3FileIO('s3://nosuch/wh', settings, join(work, 's3-cache')),
      's3',
    );
    const failure = await lakehouseFailure(missing.load('gold', 'dim_plan'));
    expect(failure.code).toBe('STORAGE_BUCKET_MISSING');
    expect(failure.message).toContain('bucket nosuch does not exist');
    // A table not published yet, in a bucket that exists, is still simply absent.
    const present = createFileSystemCatalog(
      createS3FileIO('s3://lake/wh', settings, join(work, 's3-cache')),
      's3',
    );
    expect(await present.load('gold', 'never_published')).toBeUndefined();
  });

  it("takes a bare --warehouse s3:// to the project's S3 endpoint (it went to AWS)", async () => {
    const project = {
      root: work,
      warehousePath: join(work, 'warehouse.duckdb'),
      config: { s3: { endpoint: s3.endpoint, region: 'us-east-1' } },
    } as unknown as Project;
    const target = await openTarget(project, { warehouse: 's3://lake/bare' });
    expect((await syncTable(context(writerA, target.catalog, 's3'), await table(writerA))).action).toBe(
      'create',
    );
    const settings = { endpoint: s3.endpoint, region: 'us-east-1' };
    expect(await keysUnder(createS3Client(settings), 'lake', 'bare/gold/dim_plan/metadata')).toContain(
      'bare/gold/dim_plan/metadata/version-hint.text',
    );
  });
});

describe('file-system catalog on an S3 endpoint that enforces If-None-Match', () => {
  let s3: ConditionalS3Server;
  beforeAll(async () => {
    useS3rverCredentials();
    s3 = await startConditionalS3();
  });
  afterAll(() => s3.close());

  it('loses the race for vN with 412, retries on the new state, and leaves no orphan object', async () => {
    const settings = { endpoint: s3.url, region: 'us-east-1' };
    const catalog = () =>
      createFileSystemCatalog(createS3FileIO('s3://lake/wh', settings, join(work, 'cond-cache')), 's3');
    await raceTwoWriters(catalog(), catalog(), 'cond');
    expect(s3.preconditionFailures).toBe(1);
    const loaded = (await catalog().load('gold', 'dim_plan'))!;
    const referenced = new Set<string>();
    const io = catalog().io;
    for (const snapshot of loaded.metadata.snapshots) {
      referenced.add(snapshot['manifest-list']);
      for (const m of await readManifestList(io, snapshot['manifest-list'])) referenced.add(m.manifest_path);
      const files = await snapshotFiles(io, loaded.metadata, snapshot['snapshot-id']);
      for (const e of [...files.live, ...files.deleted]) referenced.add(e.file.file_path);
    }
    const stored = [...s3.objects.keys()]
      .filter((k) => k.endsWith('.parquet') || k.endsWith('.avro'))
      .map((k) => `s3://${k}`);
    expect(stored.filter((k) => !referenced.has(k))).toEqual([]);
    expect(stored.length).toBe(referenced.size);
  });
});

// Creating the table before its files were written left it behind empty (v1.metadata.json and
// version-hint.text, or a Glue/REST entry) when the first publish was cancelled: readers saw an empty table.
describe('a cancelled first publish of a table leaves no table, in every catalog', () => {
  let s3: S3Server;
  let glue: GlueServer;
  let rest: RestCatalogServer;
  let restIo: FileIO;
  beforeAll(async () => {
    useS3rverCredentials();
    s3 = await startS3Server(['fresh']);
    glue = await startGlueServer();
    restIo = createLocalFileIO(join(work, 'rest-fresh'));
    rest = await startRestCatalog(restIo);
  });
  afterAll(async () => {
    await Promise.all([s3?.close(), glue?.close(), rest?.close()]);
  });

  /** Cancels the first publish just before its commit, then checks nothing names the table; publishing again creates it. */
  async function cancelThenPublish(catalog: Catalog, tag: string) {
    const controller = new AbortController();
    const ctx: SyncContext = {
      ...context(writerA, catalog, tag),
      namespace: 'fresh',
      signal: controller.signal,
    };
    const cancelled = syncTable(
      { ...ctx, beforeCommit: async () => controller.abort() },
      await table(writerA),
    );
    await expect(cancelled).rejects.toThrow();
    expect(await catalog.load('fresh', 'dim_plan')).toBeUndefined();
    const { signal: _signal, ...again } = ctx;
    expect((await syncTable(again, await table(writerA))).action).toBe('create');
    expect((await reconcileTable(again, await table(writerA))).matches).toBe(true);
  }

  it('file-system warehouse in a local folder', async () => {
    const folder = join(work, 'fs-fresh');
    const catalog = createFileSystemCatalog(createLocalFileIO(folder), 'fs-fresh');
    const controller = new AbortController();
    await expect(
      syncTable(
        {
          ...context(writerA, catalog, 'fs-fresh'),
          namespace: 'fresh',
          signal: controller.signal,
          beforeCommit: async () => controller.abort(),
        },
        await table(writerA),
      ),
    ).rejects.toThrow();
    const left = await readdir(join(folder, 'fresh', 'dim_plan'), { recursive: true }).catch(() => []);
    expect(left.filter((f) => /metadata\.json$|version-hint\.text$/.test(String(f)))).toEqual([]);
    await cancelThenPublish(catalog, 'fs-fresh');
    // Created once, with its first snapshot: v1 holds the rows.
    const loaded = (await catalog.load('fresh', 'dim_plan'))!;
    expect(loaded.metadataLocation.endsWith('/v1.metadata.json')).toBe(true);
    expect(loaded.metadata.snapshots).toHaveLength(1);
  });

  it('file-system warehouse on S3', async () => {
    const settings = { endpoint: s3.endpoint, region: 'us-east-1' };
    const catalog = createFileSystemCatalog(
      createS3FileIO('s3://fresh/wh', settings, join(work, 'fresh-cache')),
      's3-fresh',
    );
    const controller = new AbortController();
    await expect(
      syncTable(
        {
          ...context(writerA, catalog, 's3-fresh'),
          namespace: 'fresh',
          signal: controller.signal,
          beforeCommit: async () => controller.abort(),
        },
        await table(writerA),
      ),
    ).rejects.toThrow();
    expect(await keysUnder(createS3Client(settings), 'fresh', 'wh/fresh/dim_plan/')).toEqual([]);
    await cancelThenPublish(catalog, 's3-fresh');
  });

  it('AWS Glue', async () => {
    const folder = join(work, 'glue-fresh');
    const catalog = createGlueCatalog(createLocalFileIO(folder), {
      warehouse: folder,
      endpoint: glue.url,
      region: 'us-east-1',
    });
    await cancelThenPublish(catalog, 'glue-fresh');
    expect(glue.tables.get('fresh.dim_plan')?.Parameters?.metadata_location).toMatch(
      /00000-.*\.metadata\.json$/,
    );
  });

  it('Iceberg REST, and a table another writer created meanwhile makes a retry', async () => {
    const catalog = () =>
      createRestCatalog(
        { uri: rest.url, warehouse: join(work, 'rest-fresh') },
        join(work, 'rest-fresh-cache'),
      );
    await cancelThenPublish(catalog(), 'rest-fresh');
    // B creates the same new table while A is about to commit its create: A retries on B's table.
    const ctx = (db: Db, tag: string): SyncContext => ({
      ...context(db, catalog(), tag),
      namespace: 'other',
    });
    await writerB.run(`UPDATE gold.dim_plan SET plan_name = 'b-' || plan_key WHERE plan_key >= 2`);
    const result = await syncTable(
      {
        ...ctx(writerA, 'rest-race-a'),
        beforeCommit: async (attempt) => {
          if (attempt === 1) await syncTable(ctx(writerB, 'rest-race-b'), await table(writerB));
        },
      },
      await table(writerA),
    );
    expect(result.attempts).toBe(2);
    const loaded = (await catalog().load('other', 'dim_plan'))!;
    expect(loaded.metadata.snapshots).toHaveLength(2);
    expect((await reconcileTable(ctx(writerA, 'rest-race-a'), await table(writerA))).matches).toBe(true);
    await writerB.run(`UPDATE gold.dim_plan SET plan_name = 'plan ' || plan_key`);
  });
});
