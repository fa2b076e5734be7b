import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { loadMacros } from '../../engine/project/macros.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// A macro file's view over a table a model builds binds when the project opens: on a new warehouse no run
// has built that table, and the error said only DuckDB's "Table with name customer_search does not exist!".

let dir: string;
let db: Db;
beforeAll(async () => {
  dir = await tempDir('lakehouse-macro-unbuilt-');
  await mkdir(join(dir, 'macros'));
  await writeFile(
    join(dir, 'macros', 'views.sql'),
    '-- searches of the last days\nCREATE OR REPLACE TEMP VIEW recent AS SELECT * FROM silver.customer_search;\n',
  );
  db = await openDb();
  // A new warehouse: the layer schemas exist, no table yet.
  await db.run('CREATE SCHEMA silver');
});
afterAll(async () => {
  db?.close();
  if (dir) await removeDir(dir);
});

describe('a macro file reading a table no run has built yet', () => {
  it('says why, and how to build the table first', async () => {
    const errors = await loadMacros(db, dir);
    expect(errors.map((e) => e.message)).toEqual([
      'macros/views.sql:2: Catalog Error: Table with name customer_search does not exist. A macro file runs as ' +
        'the project opens, so a table it reads must exist by then: one a model builds exists once a run has ' +
        'built it (move this statement out of macros/, run, then put it back), or read the table in a model instead',
    ]);
    // Once the table is built, the same file loads.
    await db.run('CREATE TABLE silver.customer_search AS SELECT 1 AS k');
    expect(await loadMacros(db, dir)).toEqual([]);
  });
});
