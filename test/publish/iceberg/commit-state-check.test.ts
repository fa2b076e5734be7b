import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../../engine/db/duckdb.ts';
import type { Catalog } from '../../../engine/publish/iceberg/catalog.ts';
import { createGlueCatalog } from '../../../engine/publish/iceberg/catalogs/glue-catalog.ts';
import { createRestCatalog } from '../../../engine/publish/iceberg/catalogs/rest-catalog.ts';
import { createLocalFileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { reconcileTable } from '../../../engine/publish/iceberg/publish.ts';
import { type SyncContext, syncTable } from '../../../engine/publish/iceberg/sync.ts';
import { snapshotFiles } from '../../../engine/publish/iceberg/table.ts';
import { lakehouseFailure } from '../../helpers/errors.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';
import { useS3rverCredentials } from '../../storage/s3-helpers.ts';
import {
  type GlueServer,
  type RestCatalogServer,
  startGlueServer,
  startRestCatalog,
} from './catalog-servers.ts';
import { describeTestTable } from './helpers.ts';

// A commit whose answer says nothing clear may have landed. The publisher looks at the table before
// deciding: our snapshot in it is a commit (nothing deleted, nothing appended twice), its absence after a
// final answer is a failure (our files removed), and a look that fails is an unknown outcome.

let work: string;
let db: Db;

beforeAll(async () => {
  work = await tempDir('iceberg-commit-state-');
  db = await openDb();
  await db.run('CREATE SCHEMA gold');
});

afterAll(async () => {
  db.close();
  await removeDir(work);
});

async function dimension(name: string) {
  await db.run(`CREATE TABLE gold.${name} AS SELECT i AS k, 'n' || i AS v FROM range(5) t(i)`);
  return () => describeTestTable(db, name, { materialized: 'scd1', primaryKey: ['k'] });
}

const context = (catalog: Catalog, extra: Partial<SyncContext> = {}): SyncContext => ({
  db,
  catalog,
  namespace: 'gold',
  stateDir: join(work, 'state'),
  ...extra,
});

/** The current snapshot's data files, each of which must exist. */
async function liveFiles(catalog: Catalog, name: string): Promise<string[]> {
  const loaded = (await catalog.load('gold', name))!;
  const files = (await snapshotFiles(catalog.io, loaded.metadata)).live.map((e) => e.file.file_path);
  for (const file of files) expect(existsSync(new URL(file).pathname), file).toBe(true);
  return files;
}

describe('REST catalog: a commit answered 200 without the table', () => {
  let server: RestCatalogServer;
  let catalog: Catalog;
  beforeAll(async () => {
    const folder = join(work, 'rest');
    server = await startRestCatalog(createLocalFileIO(folder));
    catalog = createRestCatalog({ uri: server.url, warehouse: folder }, join(work, 'rest-cache'));
  });
  afterAll(() => server.close());

  it.each([
    ['no metadata-location', '{}'],
    ['a body that is not JSON', '<html>OK</html>'],
  ])('that landed (%s) is a commit: its files stay and it is not appended again', async (_, body) => {
    const name = body === '{}' ? 'rest_landed' : 'rest_landed_text';
    const table = await dimension(name);
    // The first snapshot too: the create transaction is answered the same way.
    server.failNext.push({ status: 200, applied: true, body });
    const created = await syncTable(context(catalog), await table());
    expect(created).toMatchObject({ action: 'create', attempts: 1 });
    expect(String(server.tables.get(`gold.${name}`)?.metadata['current-snapshot-id'])).toBe(
      created.snapshotId,
    );

    await db.run(`INSERT INTO gold.${name} VALUES (99, 'new')`);
    const commitsBefore = server.commits;
    server.failNext.push({ status: 200, applied: true, body });
    const updated = await syncTable(context(catalog), await table());
    expect(updated).toMatchObject({ action: 'upsert', attempts: 1 });
    expect(server.commits).toBe(commitsBefore + 1);
    const stored = server.tables.get(`gold.${name}`)!;
    expect(String(stored.metadata['current-snapshot-id'])).toBe(updated.snapshotId);
    expect(updated.metadataLocation).toBe(stored.metadataLocation);
    expect(await liveFiles(catalog, name)).toHaveLength(2);
    expect((await reconcileTable(context(catalog), await table())).matches).toBe(true);
    expect((await syncTable(context(catalog), await table())).action).toBe('none');
  });

  it('that did not land fails, removes the files it wrote and leaves the table as it was', async () => {
    const table = await dimension('rest_not_landed');
    await syncTable(context(catalog), await table());
    const before = server.tables.get('gold.rest_not_landed')!;
    await db.run(`INSERT INTO gold.rest_not_landed VALUES (99, 'new')`);
    server.failNext.push({ status: 200, applied: false, body: '{}' });
    const failure = await lakehouseFailure(syncTable(context(catalog), await table()));
    expect(failure.code).toBe('PUBLISH_FAILED');
    expect(failure.message).toContain('gold.rest_not_landed');
    expect(server.tables.get('gold.rest_not_landed')).toBe(before);
    // Only the first publish's data file is left under the table's folder.
    expect(await liveFiles(catalog, 'rest_not_landed')).toHaveLength(1);
    expect((await syncTable(context(catalog), await table())).action).toBe('upsert');
    expect((await reconcileTable(context(catalog), await table())).matches).toBe(true);
  });

  it('that cannot be checked is an unknown outcome naming the snapshot to look for; nothing is deleted', async () => {
    const table = await dimension('rest_unchecked');
    await syncTable(context(catalog), await table());
    await db.run(`INSERT INTO gold.rest_unchecked VALUES (99, 'new')`);
    server.failNext.push({ status: 200, applied: true, body: '{}' });
    // The load after the commit fails: the catalog went away just then.
    const ctx = context(catalog, {
      beforeCommit: async () => {
        server.failLoads = 1;
      },
    });
    const failure = await lakehouseFailure(syncTable(ctx, await table()));
    expect(failure.code).toBe('ICEBERG_COMMIT_STATE_UNKNOWN');
    const snapshotId = String(server.tables.get('gold.rest_unchecked')?.metadata['current-snapshot-id']);
    expect(failure.message).toContain(snapshotId);
    // The commit did land: every file it names is there, and publishing again finds nothing to do.
    expect(await liveFiles(catalog, 'rest_unchecked')).toHaveLength(2);
    expect((await syncTable(context(catalog), await table())).action).toBe('none');
  });
});

describe('AWS Glue: a retried commit refused after another writer committed on top', () => {
  let glue: GlueServer;
  let catalog: Catalog;
  let other: Catalog;
  beforeAll(async () => {
    useS3rverCredentials();
    glue = await startGlueServer();
    const folder = join(work, 'glue');
    const config = { warehouse: folder, endpoint: glue.url, region: 'us-east-1' };
    catalog = createGlueCatalog(createLocalFileIO(folder), config);
    other = createGlueCatalog(createLocalFileIO(folder), config);
  });
  afterAll(() => glue.close());

  /** Another tool's commit on top of whatever the table holds: a property set, its history kept. */
  const otherWriterCommits = (name: string) => async () => {
    const base = (await other.load('gold', name))!;
    const snapshot = base.metadata.snapshots.at(-1)!;
    await other.commit(
      'gold',
      name,
      base,
      {
        ...base.metadata,
        'last-updated-ms': Date.now(),
        properties: { ...base.metadata.properties, 'other.writer': 'was here' },
      },
      { snapshot },
    );
  };

  it('landed first (CreateTable and UpdateTable): the table holds our snapshot under theirs, so it is a commit', async () => {
    const name = 'glue_landed';
    const table = await dimension(name);
    glue.failNext.push({ op: 'CreateTable', applied: true, meanwhile: otherWriterCommits(name) });
    const created = await syncTable(context(catalog), await table());
    expect(created).toMatchObject({ action: 'create', attempts: 1 });

    await db.run(`INSERT INTO gold.${name} VALUES (99, 'new')`);
    glue.failNext.push({ op: 'UpdateTable', applied: true, meanwhile: otherWriterCommits(name) });
    const updated = await syncTable(context(catalog), await table());
    expect(updated).toMatchObject({ action: 'upsert', attempts: 1 });
    const loaded = (await catalog.load('gold', name))!;
    expect(loaded.metadata.properties['other.writer']).toBe('was here');
    expect(String(loaded.metadata['current-snapshot-id'])).toBe(updated.snapshotId);
    expect(await liveFiles(catalog, name)).toHaveLength(2);
    expect((await reconcileTable(context(catalog), await table())).matches).toBe(true);
  });

  it('did not land: the other writer won the race, and the publish retries on its table', async () => {
    const name = 'glue_not_landed';
    const table = await dimension(name);
    await syncTable(context(catalog), await table());
    await db.run(`INSERT INTO gold.${name} VALUES (99, 'new')`);
    glue.failNext.push({ op: 'UpdateTable', applied: false, meanwhile: otherWriterCommits(name) });
    const updated = await syncTable(context(catalog), await table());
    expect(updated).toMatchObject({ action: 'upsert', attempts: 2 });
    const loaded = (await catalog.load('gold', name))!;
    expect(loaded.metadata.properties['other.writer']).toBe('was here');
    expect(String(loaded.metadata['current-snapshot-id'])).toBe(updated.snapshotId);
    expect(await liveFiles(catalog, name)).toHaveLength(2);
    expect((await reconcileTable(context(catalog), await table())).matches).toBe(true);
  });
});
