import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../engine/storage/s3-client.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { removeDir, tempDir, withEngine } from '../helpers/project.ts';
import { writeParquetFile } from '../helpers/source-files.ts';
import { type S3Server, startS3Server, uploadTree, useS3rverCredentials } from '../storage/s3-helpers.ts';

// A second daily source that is not delivered every day (a price list sent when it changes): by
// default a date it lacks fails; `if_missing` reads its latest earlier delivery, or no rows.

const [D1, D2, D3] = ['2022-06-01', '2022-06-02', '2022-06-03'];

let work: string;
beforeAll(async () => {
  work = await tempDir('lakehouse-if-missing-');
  for (const [day, n] of [
    ['20220601', 1],
    ['20220602', 2],
    ['20220603', 3],
  ] as const) {
    await writeParquetFile(
      join(await folder('orders', day), 'part-0.parquet'),
      `SELECT 'o${n}-' || i AS order_id, ['a', 'b'][i % 2 + 1] AS sku FROM range(4) AS t(i)`,
    );
  }
  // Prices on the 1st and the 3rd only.
  await writeParquetFile(
    join(await folder('prices', '20220601'), 'part-0.parquet'),
    `SELECT * FROM (VALUES ('a', 10), ('b', 20)) AS t(sku, price)`,
  );
  await writeParquetFile(
    join(await folder('prices', '20220603'), 'part-0.parquet'),
    `SELECT * FROM (VALUES ('a', 11), ('b', 21)) AS t(sku, price)`,
  );
});
afterAll(() => removeDir(work));

async function folder(source: string, day: string): Promise<string> {
  const path = join(work, 'data', source, day);
  await mkdir(path, { recursive: true });
  return path;
}

/**
 * A project reading both sources, with `prices` declared as `pricesYaml` (flow-style YAML); the sources
 * are under `data` (a folder or an s3:// prefix), reached through `s3Endpoint` when on S3.
 */
async function project(
  name: string,
  pricesYaml: string,
  data = join(work, 'data'),
  s3Endpoint?: string,
): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, 'models', 'silver'), { recursive: true });
  await writeFile(
    join(dir, 'lakehouse.yaml'),
    [
      `name: ${name}`,
      'sources:',
      `  orders: {kind: daily_parquet, path: "${data}/orders"}`,
      `  prices: {kind: daily_parquet, path: "${data}/prices", ${pricesYaml}}`,
      ...(s3Endpoint ? [`s3: {endpoint: "${s3Endpoint}", region: us-east-1}`] : []),
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'models', 'silver', 'order_values.sql'),
    '/* config\nmaterialized: partition\n*/\n' +
      'SELECT o.order_id, o.sku, p.price, p._source_file AS price_file\n' +
      'FROM source.orders AS o LEFT JOIN source.prices AS p USING (sku)\n',
  );
  return dir;
}

const prices = async (dir: string) =>
  withEngine(
    dir,
    async (engine) =>
      (
        await engine.query(
          `SELECT etl_date::VARCHAR AS d, sku, price, regexp_extract(price_file, '(\\d{8})') AS delivered
           FROM silver.order_values GROUP BY ALL ORDER BY d, sku`,
        )
      ).rows,
    true,
  );

describe('a daily source missing a day', () => {
  it('fails the date by default, naming the source and the days it has', async () => {
    const dir = await project('fails', 'columns: {}');
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: [D2] });
      expect(summary.status).toBe('failed');
      expect(summary.error).toMatchObject({ code: 'SOURCE_MISSING' });
      expect(summary.error?.message).toMatch(/^Source "prices" has no folder for 2022-06-02: /);
      // With other dates, refused before any of them runs.
      const refused = await lakehouseFailure(engine.run({ dates: [D1, D2] }));
      expect(refused.code).toBe('SOURCE_MISSING');
      expect(refused.message).toMatch(
        /^This run's dates include a day no source delivered: 2022-06-02 \(source "prices" /,
      );
    });
  });

  it('with if_missing: latest reads the latest delivery before it, and says so', async () => {
    const dir = await project('latest', 'if_missing: latest');
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({});
      expect(summary.status).toBe('success');
      expect(summary.dates).toEqual([D1, D2, D3]);
      const d2 = summary.models.find((m) => m.etlDate === D2);
      expect(d2?.warnings).toEqual([
        `source prices has no delivery for ${D2}: read ${D1}'s, the latest before it (if_missing: latest)`,
      ]);
      expect(summary.models.find((m) => m.etlDate === D3)?.warnings).toEqual([]);
    });
    expect(await prices(dir)).toEqual([
      { d: D1, sku: 'a', price: 10, delivered: '20220601' },
      { d: D1, sku: 'b', price: 20, delivered: '20220601' },
      { d: D2, sku: 'a', price: 10, delivered: '20220601' },
      { d: D2, sku: 'b', price: 20, delivered: '20220601' },
      { d: D3, sku: 'a', price: 11, delivered: '20220603' },
      { d: D3, sku: 'b', price: 21, delivered: '20220603' },
    ]);
  });

  it('with if_missing: latest still fails a date with no delivery before it', async () => {
    const dir = await project('none-before', 'if_missing: latest');
    await writeParquetFile(
      join(await folder('orders', '20220531'), 'part-0.parquet'),
      `SELECT 'o0' AS order_id, 'a' AS sku`,
    );
    try {
      await withEngine(dir, async (engine) => {
        const summary = await engine.run({ dates: ['2022-05-31'] });
        expect(summary.status).toBe('failed');
        expect(summary.error?.message).toMatch(
          /^Source "prices" has no folder for 2022-05-31: .* With if_missing: latest it reads the latest earlier day, but there is none before 2022-05-31\.$/s,
        );
      });
    } finally {
      await removeDir(join(work, 'data', 'orders', '20220531'));
    }
  });

  it('with if_missing: empty reads no rows, with the declared columns', async () => {
    const dir = await project('empty', 'if_missing: empty, columns: {sku: VARCHAR, price: INTEGER}');
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: [D1, D2] });
      expect(summary.status).toBe('success');
      expect(summary.models.find((m) => m.etlDate === D2)?.warnings).toEqual([
        `source prices has no delivery for ${D2}: read as no rows (if_missing: empty)`,
      ]);
    });
    expect(await prices(dir)).toEqual([
      { d: D1, sku: 'a', price: 10, delivered: '20220601' },
      { d: D1, sku: 'b', price: 20, delivered: '20220601' },
      { d: D2, sku: 'a', price: null, delivered: null },
      { d: D2, sku: 'b', price: null, delivered: null },
    ]);
  });

  it('does not stand in for a day delivered in files the source does not load', async () => {
    const dir = await project('csv-day', 'if_missing: latest');
    const day = await folder('prices', '20220602');
    await writeFile(join(day, 'prices.csv'), 'sku,price\na,12\n');
    try {
      await withEngine(dir, async (engine) => {
        const summary = await engine.run({ dates: [D1, D2] });
        expect(summary.status).toBe('failed');
        expect(summary.error?.message).toMatch(
          /^Source "prices": .*20220602 holds no \.parquet files for 2022-06-02: it holds only prices\.csv/,
        );
      });
    } finally {
      await removeDir(day);
    }
  });

  it('refuses a date no source read delivered, rather than commit other days under it', async () => {
    const dir = await project('nobody', 'if_missing: latest');
    const yaml = join(dir, 'lakehouse.yaml');
    await writeFile(
      yaml,
      (await readFile(yaml, 'utf8')).replace(
        'orders: {kind: daily_parquet,',
        'orders: {kind: daily_parquet, if_missing: empty, columns: {order_id: VARCHAR, sku: VARCHAR},',
      ),
    );
    await withEngine(dir, async (engine) => {
      // Prices stand in for the 2nd beside the orders delivered that day; on the 4th nobody delivered.
      expect((await engine.run({ dates: [D1, D2] })).status).toBe('success');
      const summary = await engine.run({ dates: ['2022-06-04'] });
      expect(summary.status).toBe('failed');
      expect(summary.error).toMatchObject({
        code: 'SOURCE_MISSING',
        message:
          'No daily source the selected models read has a delivery for 2022-06-04 (orders, prices); if_missing ' +
          'stands in for a source only on dates another source delivered. Run a date that was delivered.',
      });
    });
  });

  it('refuses if_missing: empty without declared columns, and a value it does not know', async () => {
    const empty = await project('empty-no-columns', 'if_missing: empty');
    expect((await lakehouseFailure(withEngine(empty, async () => {}))).message).toMatch(
      /sources\.prices\.if_missing.*if_missing: empty needs the columns declared/,
    );
    const typo = await project('typo', 'if_missing: skip');
    expect((await lakehouseFailure(withEngine(typo, async () => {}))).message).toMatch(
      /sources\.prices\.if_missing.*"fail"\|"latest"\|"empty"/,
    );
  });
});

describe('a daily source on S3 missing a day', () => {
  let s3: S3Server;
  beforeAll(async () => {
    useS3rverCredentials();
    s3 = await startS3Server(['raw']);
    await uploadTree(createS3Client({ endpoint: s3.endpoint }), join(work, 'data'), 'raw', 'feeds');
  }, 60_000);
  afterAll(() => s3?.close());

  it('with if_missing: latest reads the latest object prefix before it', async () => {
    const dir = await project('on-s3', 'if_missing: latest', 's3://raw/feeds', s3.endpoint);
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: [D1, D2] });
      expect(summary.error).toBeUndefined();
      expect(summary.models.find((m) => m.etlDate === D2)?.warnings).toEqual([
        `source prices has no delivery for ${D2}: read ${D1}'s, the latest before it (if_missing: latest)`,
      ]);
      const { rows } = await engine.query(
        `SELECT DISTINCT price_file FROM silver.order_values WHERE etl_date = DATE '${D2}'`,
      );
      expect(rows).toEqual([{ price_file: 's3://raw/feeds/prices/20220601/part-0.parquet' }]);
    });
  });
});
