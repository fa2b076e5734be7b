import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../../engine/db/duckdb.ts';
import { createGlueCatalog } from '../../../engine/publish/iceberg/catalogs/glue-catalog.ts';
import { createLocalFileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { syncTable } from '../../../engine/publish/iceberg/sync.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';
import { useS3rverCredentials } from '../../storage/s3-helpers.ts';
import { type GlueServer, startGlueServer } from './catalog-servers.ts';
import { describeTestTable } from './helpers.ts';

// A Glue table is shared with other tools (Athena, Lake Formation, crawlers, people): each UpdateTable
// replaces its whole definition, so what a commit does not own must be sent back as it was.

let work: string;
let db: Db;
let glue: GlueServer;

beforeAll(async () => {
  work = await tempDir('iceberg-glue-input-');
  db = await openDb();
  await db.run('CREATE SCHEMA gold');
  await db.run(`CREATE TABLE gold.d AS SELECT i AS k, 'n' || i AS v FROM range(5) t(i)`);
  useS3rverCredentials();
  glue = await startGlueServer();
});

afterAll(async () => {
  await glue.close();
  db.close();
  await removeDir(work);
});

describe('Glue UpdateTable', () => {
  it("keeps the table's parameters and description that other tools set", async () => {
    const folder = join(work, 'wh');
    const catalog = createGlueCatalog(createLocalFileIO(folder), {
      warehouse: folder,
      endpoint: glue.url,
      region: 'us-east-1',
    });
    const ctx = { db, catalog, namespace: 'gold', stateDir: join(work, 'state') };
    const table = () => describeTestTable(db, 'd', { materialized: 'scd1', primaryKey: ['k'] });
    await syncTable(ctx, await table());
    const stored = glue.tables.get('gold.d')!;
    stored.Parameters = { ...stored.Parameters, owner_team: 'analytics', classification: 'parquet' };
    (stored as { Description?: string }).Description = 'Search users, published nightly';

    await db.run(`INSERT INTO gold.d VALUES (99, 'new')`);
    const result = await syncTable(ctx, await table());
    expect(result.action).toBe('upsert');
    const updated = glue.tables.get('gold.d')!;
    expect(updated.Parameters).toMatchObject({
      owner_team: 'analytics',
      classification: 'parquet',
      table_type: 'ICEBERG',
      metadata_location: result.metadataLocation,
      previous_metadata_location: stored.Parameters.metadata_location,
    });
    expect((updated as { Description?: string }).Description).toBe('Search users, published nightly');
  });
});
