import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../../engine/db/duckdb.ts';
import type { Catalog } from '../../../engine/publish/iceberg/catalog.ts';
import { createFileSystemCatalog } from '../../../engine/publish/iceberg/catalogs/fs-catalog.ts';
import { createGlueCatalog } from '../../../engine/publish/iceberg/catalogs/glue-catalog.ts';
import { createLocalFileIO, createS3FileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { readManifestList } from '../../../engine/publish/iceberg/manifest.ts';
import { reconcileTable } from '../../../engine/publish/iceberg/publish.ts';
import { type SyncContext, syncTable } from '../../../engine/publish/iceberg/sync.ts';
import { snapshotFiles } from '../../../engine/publish/iceberg/table.ts';
import { lakehouseFailure } from '../../helpers/errors.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';
import { useS3rverCredentials } from '../../storage/s3-helpers.ts';
import {
  type ConditionalS3Server,
  type GlueServer,
  startConditionalS3,
  startGlueServer,
} from './catalog-servers.ts';
import { describeTestTable } from './helpers.ts';

// A commit that landed must never be taken for one that did not: the publisher deletes the files of a
// commit it believes refused, and a table naming deleted files cannot be read at all.

let work: string;
let db: Db;

beforeAll(async () => {
  work = await tempDir('iceberg-commit-outcome-');
  db = await openDb();
  await db.run('CREATE SCHEMA gold; CREATE SCHEMA _lakehouse');
  // Run bookkeeping, so a publish of the fact records its state for the next one.
  await db.run('CREATE TABLE _lakehouse.model_dates (model VARCHAR, etl_date DATE, run_id VARCHAR)');
  await db.run(`INSERT INTO _lakehouse.model_dates VALUES ('gold.f', DATE '2022-06-01', 'r1')`);
  await db.run(
    `CREATE TABLE gold.f AS SELECT i AS id, 20220601::INTEGER AS date_key, DATE '2022-06-01' AS etl_date FROM range(10) t(i)`,
  );
  await db.run(`CREATE TABLE gold.d AS SELECT i AS k, 'n' || i AS name FROM range(5) t(i)`);
});

afterAll(async () => {
  db.close();
  await removeDir(work);
});

const fact = () =>
  describeTestTable(db, 'f', { materialized: 'append', dateKey: 'date_key', primaryKey: ['id'] });
const dim = () => describeTestTable(db, 'd', { materialized: 'scd1', primaryKey: ['k'] });

/** A context whose progress messages are kept, for the warnings among them. */
function context(catalog: Catalog, state: string): SyncContext & { messages: string[] } {
  const messages: string[] = [];
  return {
    db,
    catalog,
    namespace: 'gold',
    stateDir: join(work, state),
    messages,
    onProgress: (message) => messages.push(message),
  };
}

/** Every file the table's current snapshot names can be read: its manifest list, manifests and data files. */
async function expectReadable(catalog: Catalog, name: string): Promise<bigint> {
  const loaded = (await catalog.load('gold', name))!;
  const snapshot = loaded.metadata.snapshots.at(-1)!;
  expect(loaded.metadata['current-snapshot-id']).toBe(snapshot['snapshot-id']);
  for (const m of await readManifestList(catalog.io, snapshot['manifest-list']))
    expect(await catalog.io.readIfExists(m.manifest_path)).toBeDefined();
  for (const e of (await snapshotFiles(catalog.io, loaded.metadata)).live)
    expect(await catalog.io.readIfExists(e.file.file_path)).toBeDefined();
  return snapshot['snapshot-id'];
}

describe('a failure after the commit', () => {
  it('a publish state that cannot be saved is a warning, and the committed files stay', async () => {
    const folder = join(work, 'state-fails');
    const catalog = createFileSystemCatalog(createLocalFileIO(join(folder, 'wh')), 'wh');
    const ctx = context(catalog, 'state-fails/state');
    // A file where the publish-state folder goes: writing the state fails after the commit.
    mkdirSync(ctx.stateDir, { recursive: true });
    writeFileSync(join(ctx.stateDir, 'publish-state'), 'not a folder');
    const result = await syncTable(ctx, await fact());
    expect(result.action).toBe('create');
    expect(String(await expectReadable(catalog, 'f'))).toBe(result.snapshotId);
    expect(ctx.messages.some((m) => /warning: the publish state could not be saved/.test(m))).toBe(true);
    expect((await reconcileTable(ctx, await fact())).matches).toBe(true);
  });

  describe('on S3', () => {
    let s3: ConditionalS3Server;
    beforeAll(async () => {
      useS3rverCredentials();
      s3 = await startConditionalS3();
    });
    afterAll(() => s3.close());

    it('a version-hint.text that cannot be written is a warning: loads find the new version anyway', async () => {
      const io = createS3FileIO(
        's3://lake/hint',
        { endpoint: s3.url, region: 'us-east-1', max_attempts: 1 },
        join(work, 'hint-cache'),
      );
      const catalog = createFileSystemCatalog(io, 's3');
      const ctx = context(catalog, 'hint-state');
      s3.failPuts.push({ key: /version-hint\.text$/, applied: false, times: 1 });
      const result = await syncTable(ctx, await dim());
      expect(result.action).toBe('create');
      expect(s3.objects.has('lake/hint/gold/d/metadata/version-hint.text')).toBe(false);
      expect(String(await expectReadable(catalog, 'd'))).toBe(result.snapshotId);
      expect(
        ctx.messages.some((m) => /warning: committed .*version-hint\.text could not be updated/.test(m)),
      ).toBe(true);
    });
  });
});

describe('a commit whose answer is lost', () => {
  describe('file-system catalog on S3', () => {
    let s3: ConditionalS3Server;
    beforeAll(async () => {
      useS3rverCredentials();
      s3 = await startConditionalS3();
    });
    afterAll(() => s3.close());

    const catalogAt = (prefix: string, maxAttempts: number) =>
      createFileSystemCatalog(
        createS3FileIO(
          `s3://lake/${prefix}`,
          { endpoint: s3.url, region: 'us-east-1', max_attempts: maxAttempts },
          join(work, `${prefix}-cache`),
        ),
        's3',
      );

    it("stored but answered 500: the SDK's retry meets our own vN+1 (412), which is the commit, not a lost race", async () => {
      const catalog = catalogAt('stored', 3);
      const ctx = context(catalog, 'stored-state');
      await syncTable(ctx, await dim());
      await db.run(`INSERT INTO gold.d VALUES (99, 'new')`);
      s3.failPuts.push({ key: /v2\.metadata\.json$/, applied: true, times: 1 });
      const failuresBefore = s3.preconditionFailures;
      const result = await syncTable(ctx, await dim());
      expect(s3.preconditionFailures).toBe(failuresBefore + 1);
      expect(result).toMatchObject({ action: 'upsert', attempts: 1 });
      expect(result.metadataLocation).toBe('s3://lake/stored/gold/d/metadata/v2.metadata.json');
      expect(String(await expectReadable(catalog, 'd'))).toBe(result.snapshotId);
      expect((await reconcileTable(ctx, await dim())).matches).toBe(true);
      await db.run('DELETE FROM gold.d WHERE k = 99');
    });

    it('answered 500 every time and not stored: the outcome is unknown, and nothing is deleted', async () => {
      const catalog = catalogAt('unknown', 2);
      const ctx = context(catalog, 'unknown-state');
      await syncTable(ctx, await dim());
      await db.run(`INSERT INTO gold.d VALUES (98, 'new')`);
      s3.failPuts.push({ key: /v2\.metadata\.json$/, applied: false, times: 2 });
      const before = new Set(s3.objects.keys());
      const failure = await lakehouseFailure(syncTable(ctx, await dim()));
      expect(failure.code).toBe('ICEBERG_COMMIT_STATE_UNKNOWN');
      expect(failure.message).toContain('gold.d');
      // The data file, manifest and manifest list of the unknown commit are all still there.
      const kept = [...s3.objects.keys()].filter((k) => !before.has(k));
      expect(kept.filter((k) => k.endsWith('.parquet'))).toHaveLength(1);
      expect(kept.filter((k) => k.endsWith('.avro'))).toHaveLength(2);
      // Publishing again commits it.
      expect((await syncTable(ctx, await dim())).action).toBe('upsert');
      expect((await reconcileTable(ctx, await dim())).matches).toBe(true);
      await db.run('DELETE FROM gold.d WHERE k = 98');
    });
  });

  describe('AWS Glue', () => {
    let glue: GlueServer;
    beforeAll(async () => {
      useS3rverCredentials();
      glue = await startGlueServer();
    });
    afterAll(() => glue.close());

    const catalogIn = (folder: string) =>
      createGlueCatalog(createLocalFileIO(folder), {
        warehouse: folder,
        endpoint: glue.url,
        region: 'us-east-1',
      });

    it('CreateTable and UpdateTable applied but answered 500: the retry is refused, yet the table is ours', async () => {
      const folder = join(work, 'glue');
      const catalog = catalogIn(folder);
      const ctx = context(catalog, 'glue-state');
      // The retry of CreateTable finds the table (AlreadyExistsException): the one this publish created.
      glue.failNext.push({ op: 'CreateTable', applied: true });
      const created = await syncTable(ctx, await dim());
      expect(created).toMatchObject({ action: 'create', attempts: 1 });
      expect(glue.tables.get('gold.d')?.Parameters?.metadata_location).toBe(created.metadataLocation);
      expect(String(await expectReadable(catalog, 'd'))).toBe(created.snapshotId);

      // The retry of UpdateTable sends a VersionId the applied call used up (ConcurrentModificationException).
      await db.run(`INSERT INTO gold.d VALUES (97, 'new')`);
      glue.failNext.push({ op: 'UpdateTable', applied: true });
      const updated = await syncTable(ctx, await dim());
      expect(updated).toMatchObject({ action: 'upsert', attempts: 1 });
      const location = glue.tables.get('gold.d')?.Parameters?.metadata_location;
      expect(location).toBe(updated.metadataLocation);
      expect(existsSync(new URL(location!).pathname)).toBe(true);
      expect(String(await expectReadable(catalog, 'd'))).toBe(updated.snapshotId);
      expect((await reconcileTable(ctx, await dim())).matches).toBe(true);
      await db.run('DELETE FROM gold.d WHERE k = 97');
    });
  });
});
