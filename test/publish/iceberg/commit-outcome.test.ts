import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../../engine/db/duckdb.ts';
import type { Catalog } from '../../../engine/publish/iceberg/catalog.ts';
import { createFileSystemCatalog } from '../../../engine/publish/iceberg/catalogs/fs-catalog.ts';
import { createLocalFileIO, createS3FileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { readManifestList } from '../../../engine/publish/iceberg/manifest.ts';
import { reconcileTable } from '../../../engine/publish/iceberg/publish.ts';
import { type SyncContext, syncTable } from '../../../engine/publish/iceberg/sync.ts';
import { snapshotFiles } from '../../../engine/publish/iceberg/table.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';
import { useS3rverCredentials } from '../../storage/s3-helpers.ts';
import { type ConditionalS3Server, startConditionalS3 } from './catalog-servers.ts';
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
