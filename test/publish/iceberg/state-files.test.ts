import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../../engine/db/duckdb.ts';
import { createFileSystemCatalog } from '../../../engine/publish/iceberg/catalogs/fs-catalog.ts';
import { createLocalFileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { readPublishState, writePublishState } from '../../../engine/publish/iceberg/publish-state.ts';
import { openFingerprintStore } from '../../../engine/publish/iceberg/published-files.ts';
import type { IcebergSchema } from '../../../engine/publish/iceberg/spec.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';

// The publish state and file fingerprints live in the project's .iceberg/ folder, one file per table.
// Two publishes of one table (the app's and the CLI's, as the commit table of docs/iceberg.md allows)
// may save them at the same moment: neither may fail after its commit because of the other.
let stateDir: string;
beforeAll(async () => {
  stateDir = await tempDir('iceberg-state-files-');
});
afterAll(() => removeDir(stateDir));

const location = 'file:///warehouse/gold/fact';

describe('publish state files written at the same time', () => {
  it('each publish state write succeeds, and the file holds one of them whole', async () => {
    const state = (i: number) => ({
      tableUuid: 'uuid',
      snapshotId: String(i),
      model: 'gold.fact',
      layout: 'layout',
      etlRuns: Object.fromEntries(Array.from({ length: 500 }, (_, d) => [`2024-01-${d}`, `run-${i}`])),
    });
    const writes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => writePublishState(stateDir, location, state(i))),
    );
    expect(writes.filter((w) => w.status === 'rejected')).toEqual([]);
    const read = await readPublishState(stateDir, location);
    expect(Number(read?.snapshotId)).toBeGreaterThanOrEqual(0);
    expect(Object.keys(read?.etlRuns ?? {})).toHaveLength(500);
    expect((await readdir(join(stateDir, 'publish-state'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('each fingerprint store save succeeds', async () => {
    const schema: IcebergSchema = { type: 'struct', 'schema-id': 0, fields: [] };
    const db = await openDb();
    try {
      const catalog = createFileSystemCatalog(createLocalFileIO(join(stateDir, 'wh')), 'test warehouse');
      const stores = await Promise.all(
        Array.from({ length: 12 }, () =>
          openFingerprintStore({ db, catalog, stateDir, location, schema, keyColumns: [] }),
        ),
      );
      const saves = await Promise.allSettled(stores.map((store) => store.save([])));
      expect(saves.filter((s) => s.status === 'rejected')).toEqual([]);
    } finally {
      db.close();
    }
  });
});
