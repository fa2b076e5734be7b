import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { icebergRead } from 'icebird';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { createFileSystemCatalog } from '../../engine/publish/iceberg/catalogs/fs-catalog.ts';
import { createLocalFileIO } from '../../engine/publish/iceberg/file-io.ts';
import {
  icebergStateDir,
  type OpenedTarget,
  preflightIceberg,
  publishIceberg,
} from '../../engine/publish/iceberg/publish.ts';
import {
  preflightRedshift,
  publishRedshift,
  type RedshiftPublishOptions,
} from '../../engine/publish/redshift/publish.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { type PostgresServer, startPostgres } from '../helpers/postgres.ts';
import { removeDir, tempDir } from '../helpers/project.ts';
import { serveFolder } from './iceberg/helpers.ts';

// Gold tables whose keys hold NULLs: the unique test skips a NULL key and a merge keeps one as a key, so
// a run lets them through. PostgreSQL (as Redshift) declares the key NOT NULL: the preflight must refuse
// such a table before anything is sent. Iceberg matches keys by DuckDB's hash, where NULL is a value.

const DATE = '2022-06-01';
let work: string;
let engine: Engine;
let server: PostgresServer;

/** prices.csv as `sku,price` lines; an empty field is NULL. */
async function writePrices(lines: string[]): Promise<void> {
  await writeFile(join(work, 'prices.csv'), `sku,price\n${lines.join('\n')}\n`);
}

async function runWith(lines: string[]): Promise<void> {
  await writePrices(lines);
  expect((await engine.run({ dates: [DATE] })).status).toBe('success');
}

beforeAll(async () => {
  work = await tempDir('publish-null-key-');
  await writeFile(
    join(work, 'lakehouse.yaml'),
    'name: prices\nsources:\n  prices: {kind: file, path: prices.csv}\n',
  );
  await mkdir(join(work, 'models', 'gold'), { recursive: true });
  // Keyed by its unique_key, merged by it.
  await writeFile(
    join(work, 'models', 'gold', 'prices.sql'),
    '/* config\nmaterialized: scd1\nrole: dimension\nunique_key: sku\n*/\nSELECT sku, price FROM source.prices\n',
  );
  // Keyed by its unique test, over two columns: a NULL in either one is a NULL in the key.
  await writeFile(
    join(work, 'models', 'gold', 'price_lines.sql'),
    '/* config\nmaterialized: table\ntests:\n  - unique: [sku, price]\n*/\nSELECT sku, price FROM source.prices\n',
  );
  await writePrices(['a,1', 'b,2']);
  [server, engine] = await Promise.all([startPostgres(), createEngine({ projectDir: work })]);
  expect((await engine.run({ dates: [DATE] })).status).toBe('success');
}, 120_000);

afterAll(async () => {
  engine?.close();
  await server?.stop();
  await removeDir(work);
});

describe('publishing to PostgreSQL a gold table with NULLs in its key', () => {
  let url: string;
  const options = (database = url): RedshiftPublishOptions => ({
    db: engine.reader,
    models: engine.models,
    connection: { kind: 'pg', config: { connectionString: database }, dialect: 'postgres' },
  });
  /** Every table of the target's gold schema with its rows as text, sorted. */
  async function targetContent(database = url): Promise<Record<string, string[]>> {
    const client = new pg.Client({ connectionString: database });
    await client.connect();
    try {
      const content: Record<string, string[]> = {};
      const tables = await client.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'gold' ORDER BY 1`,
      );
      for (const { table_name } of tables.rows as { table_name: string }[]) {
        const rows = await client.query(`SELECT t::text AS row FROM gold."${table_name}" t ORDER BY 1`);
        content[table_name] = rows.rows.map((r: { row: string }) => r.row);
      }
      return content;
    } finally {
      await client.end();
    }
  }

  it('refuses it in the preflight, naming the table, key, rows and fix, and changes nothing', async () => {
    url = await server.createDatabase('warehouse');
    await publishRedshift(options());
    const published = await targetContent();
    expect(published).toEqual({ price_lines: ['(a,1)', '(b,2)'], prices: ['(a,1)', '(b,2)'] });

    // A NULL sku (one row of each table) and a NULL price (a second row of price_lines' key).
    await runWith(['a,1', 'b,', ',3']);
    const preflight = await preflightRedshift(options());
    expect(preflight.conflicts).toEqual([
      {
        table: 'price_lines',
        message:
          'gold.price_lines has 2 rows with a NULL in its key (sku, price, its unique test), and the key is the primary key of gold.price_lines in the target, which holds no NULL: those rows cannot load. Add a not_null test on sku and price to the model and fix those rows upstream, or give the model a surrogate_key; then run and publish again.',
      },
      {
        table: 'prices',
        column: 'sku',
        message:
          'gold.prices has 1 row with a NULL in its key (sku, its unique_key), and the key is the primary key of gold.prices in the target, which holds no NULL: that row cannot load. Add a not_null test on sku to the model and fix those rows upstream, or give the model a surrogate_key; then run and publish again.',
      },
    ]);
    expect(preflight.statements).toEqual([]);

    // The merge into the existing table is refused before it is sent, not failed by the server.
    const failure = await lakehouseFailure(publishRedshift(options()));
    expect(failure.code).toBe('PUBLISH_CONFLICT');
    expect(failure.message).toContain('nothing was changed');
    expect(failure.message).toContain('gold.prices has 1 row with a NULL in its key (sku, its unique_key)');
    expect(await targetContent()).toEqual(published);

    // A new target is refused the same way: no schema, no table is created.
    const empty = await server.createDatabase('empty');
    const created = await lakehouseFailure(publishRedshift(options(empty)));
    expect(created.code).toBe('PUBLISH_CONFLICT');
    expect((created.details as { conflicts: { table: string }[] }).conflicts.map((c) => c.table)).toEqual([
      'price_lines',
      'prices',
    ]);
    expect(await targetContent(empty)).toEqual({});
  }, 60_000);
});

describe('publishing to Iceberg a gold table with a NULL in its key', () => {
  it('keeps the NULL key as one key: upserted in place, never duplicated, read back equal to gold', async () => {
    const warehouse = join(work, 'warehouse');
    const http = await serveFolder(warehouse);
    try {
      const target: OpenedTarget = {
        catalog: createFileSystemCatalog(createLocalFileIO(warehouse, http.url), 'test warehouse'),
        namespace: 'gold',
        properties: {},
        stateDir: icebergStateDir(engine.project),
      };
      await runWith(['a,1', 'b,2', ',3']);
      await publishIceberg(engine, target);
      // The NULL-key member changes; the others do not.
      await runWith(['a,1', 'b,2', ',4']);
      const plan = (await preflightIceberg(engine, target, { tables: ['prices'] })).tables[0];
      expect(plan).toMatchObject({ mode: 'upsert', action: 'upsert' });
      const result = await publishIceberg(engine, target, { tables: ['prices'] });
      expect(result.tables[0]?.reconciliation.matches).toBe(true);
      const rows = (await icebergRead({ tableUrl: `${http.url}/gold/prices` }))
        .map((r) => JSON.stringify([r.sku ?? null, String(r.price)]))
        .sort();
      expect(rows).toEqual(['["a","1"]', '["b","2"]', '[null,"4"]']);
    } finally {
      await http.close();
    }
  }, 60_000);
});
