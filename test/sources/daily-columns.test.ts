import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { literal, openDb } from '../../engine/db/duckdb.ts';
import type { Engine } from '../../engine/engine.ts';
import { removeDir, tempDir, withEngine } from '../helpers/project.ts';

// A project of its own (not the example): one daily source `orders`, read whole into bronze.orders.
const BRONZE = `/* config
materialized: partition
*/
SELECT * FROM source.orders
`;

let work: string | undefined;
afterEach(async () => {
  if (work) await removeDir(work);
  work = undefined;
});

/**
 * A project whose `orders` source has the `columns` lines given (none: the key is left out), over
 * day 20240101 holding one Parquet file per SELECT. Returns the project folder and the day folder.
 */
async function project(
  columns: string[] | undefined,
  files: string[],
  dayFolder = { name: '20240101', format: undefined as string | undefined },
): Promise<{ dir: string; day: string }> {
  work = await tempDir('lakehouse-daily-columns-');
  const day = join(work, 'raw', 'orders', dayFolder.name);
  await mkdir(day, { recursive: true });
  const db = await openDb();
  try {
    for (const [i, sql] of files.entries())
      await db.run(`COPY (${sql}) TO ${literal(join(day, `part-${i}.parquet`))} (FORMAT parquet)`);
  } finally {
    db.close();
  }
  const dir = join(work, 'p');
  await mkdir(join(dir, 'models', 'bronze'), { recursive: true });
  await writeFile(join(dir, 'models', 'bronze', 'orders.sql'), BRONZE);
  await writeYaml(dir, columns, dayFolder.format);
  return { dir, day };
}

async function writeYaml(dir: string, columns: string[] | undefined, dateFormat?: string): Promise<void> {
  const lines = ['name: p', 'sources:', '  orders:', '    kind: daily_parquet', '    path: ../raw/orders'];
  if (dateFormat) lines.push(`    date_format: "${dateFormat}"`);
  if (columns)
    lines.push(columns.length ? '    columns:' : '    columns: {}', ...columns.map((c) => `      ${c}`));
  await writeFile(join(dir, 'lakehouse.yaml'), `${lines.join('\n')}\n`);
}

async function bronzeTypes(engine: Engine): Promise<Record<string, string>> {
  const bronze = (await engine.tables()).find((t) => t.name === 'bronze.orders');
  return Object.fromEntries((bronze?.columns ?? []).map((c) => [c.name, c.type]));
}

describe('declared source column types', () => {
  it('reads files of narrower types and DuckDB aliases as the declared type, keeping every value', async () => {
    const { dir } = await project(
      ['order_id: TEXT', 'customer: STRING', 'quantity: BIGINT', 'price: DOUBLE'],
      [
        // As Spark or pandas may write one day: INT32 and FLOAT in one file, INT64 and INT32 in another.
        `SELECT 'o1' AS order_id, 'c1' AS customer, 7::INTEGER AS quantity, 1.5::FLOAT AS price`,
        `SELECT 'o2' AS order_id, 'c2' AS customer, 5000000000::BIGINT AS quantity, 16777217::INTEGER AS price`,
      ],
    );
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: ['2024-01-01'] });
      expect(summary.error).toBeUndefined();
      expect(await bronzeTypes(engine)).toMatchObject({
        order_id: 'VARCHAR',
        customer: 'VARCHAR',
        quantity: 'BIGINT',
        price: 'DOUBLE',
      });
      const { rows } = await engine.query(
        'SELECT order_id, quantity::VARCHAR AS q, price::VARCHAR AS p FROM bronze.orders ORDER BY order_id',
      );
      // Read in one go, the INTEGER file would be unified with the FLOAT one as FLOAT: 16777216.
      expect(rows).toEqual([
        { order_id: 'o1', q: '7', p: '1.5' },
        { order_id: 'o2', q: '5000000000', p: '16777217.0' },
      ]);
    });
  });

  it('advises a type every file of the day loads with, and that advice then works', async () => {
    const { dir, day } = await project(
      ['order_id: VARCHAR', 'quantity: INTEGER'],
      [
        `SELECT 'o1' AS order_id, 7::INTEGER AS quantity`,
        `SELECT 'o2' AS order_id, 5000000000::BIGINT AS quantity`,
      ],
    );
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: ['2024-01-01'] });
      expect(summary.error).toMatchObject({
        code: 'SOURCE_SCHEMA_MISMATCH',
        message:
          `Source "orders": ${join(day, 'part-1.parquet')} column quantity is BIGINT, expected INTEGER. ` +
          'Loading it would change values; fix the producer, or set sources.orders.columns.quantity to BIGINT ' +
          `and adapt the models. The day's files differ in quantity (INTEGER in ${join(day, 'part-0.parquet')}, ` +
          `BIGINT in ${join(day, 'part-1.parquet')}): declared as BIGINT, all of them load.`,
        details: { source: 'orders', file: join(day, 'part-1.parquet'), column: 'quantity' },
      });
    });
    await writeYaml(dir, ['order_id: VARCHAR', 'quantity: BIGINT']);
    await withEngine(dir, async (engine) => {
      expect((await engine.run({ dates: ['2024-01-01'] })).error).toBeUndefined();
      expect(await bronzeTypes(engine)).toMatchObject({ quantity: 'BIGINT' });
    });
  });

  it('says when no one type holds every file of the day', async () => {
    const { dir, day } = await project(
      ['quantity: BIGINT'],
      [`SELECT '0007' AS quantity`, `SELECT 7::INTEGER AS quantity`],
    );
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: ['2024-01-01'] });
      expect(summary.error).toMatchObject({
        code: 'SOURCE_SCHEMA_MISMATCH',
        message:
          `Source "orders": ${join(day, 'part-0.parquet')} column quantity is VARCHAR, expected BIGINT. ` +
          "Loading it would change values; fix the producer: the day's files differ in quantity " +
          `(VARCHAR in ${join(day, 'part-0.parquet')}, INTEGER in ${join(day, 'part-1.parquet')}), ` +
          "and no one type holds every file's values.",
      });
    });
  });

  it('reads a column holding only NULLs as the declared type, whatever type its file gives it, with a note', async () => {
    // pandas writes an all-None column with no type, which DuckDB reads as INTEGER: no value to lose.
    const { dir, day } = await project(
      ['order_id: VARCHAR', 'customer: VARCHAR', 'tags: VARCHAR[]'],
      [
        `SELECT 'o1' AS order_id, 'c1' AS customer, ['a'] AS tags`,
        `SELECT 'o2' AS order_id, NULL AS customer, NULL AS tags`,
      ],
    );
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: ['2024-01-01'] });
      expect(summary.error).toBeUndefined();
      expect(await bronzeTypes(engine)).toMatchObject({ customer: 'VARCHAR', tags: 'VARCHAR[]' });
      const { rows } = await engine.query(
        'SELECT order_id, customer, tags::VARCHAR AS tags FROM bronze.orders ORDER BY order_id',
      );
      expect(rows).toEqual([
        { order_id: 'o1', customer: 'c1', tags: '[a]' },
        { order_id: 'o2', customer: null, tags: null },
      ]);
      expect(summary.models.find((m) => m.model === 'bronze.orders')?.warnings).toContain(
        `${join(day, 'part-1.parquet')}: columns customer (INTEGER), tags (INTEGER) hold only NULLs: ` +
          'read as NULLs of the declared types',
      );
    });
  });

  it('reads a column whose name differs only in case, as DuckDB and a Glue crawler (lower case) do, with a note', async () => {
    const { dir, day } = await project(
      ['order_id: VARCHAR', 'quantity: BIGINT'],
      [`SELECT 'o1' AS ORDER_ID, 7::INTEGER AS quantity`, `SELECT 'o2' AS ORDER_ID, 8::BIGINT AS Quantity`],
    );
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: ['2024-01-01'] });
      expect(summary.error).toBeUndefined();
      // Named as declared, whichever file's case the view's first group has.
      expect(Object.keys(await bronzeTypes(engine))).toEqual([
        'order_id',
        'quantity',
        '_source_file',
        'etl_date',
      ]);
      const { rows } = await engine.query('SELECT order_id, quantity FROM bronze.orders ORDER BY order_id');
      expect(rows).toEqual([
        { order_id: 'o1', quantity: 7 },
        { order_id: 'o2', quantity: 8 },
      ]);
      expect(summary.models.find((m) => m.model === 'bronze.orders')?.warnings).toContain(
        `${join(day, 'part-1.parquet')}: columns ORDER_ID, Quantity read as order_id, quantity (the names differ only in case)`,
      );
      expect(summary.models.find((m) => m.model === 'bronze.orders')?.warnings).toContain(
        `${join(day, 'part-0.parquet')}: column ORDER_ID read as order_id (the names differ only in case)`,
      );
    });
  });

  it('still refuses a column of another type that holds a value', async () => {
    const { dir, day } = await project(
      ['order_id: VARCHAR', 'customer: VARCHAR'],
      [`SELECT 'o1' AS order_id, NULL::INTEGER AS customer UNION ALL SELECT 'o2', 42`],
    );
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: ['2024-01-01'] });
      expect(summary.error).toMatchObject({
        code: 'SOURCE_SCHEMA_MISMATCH',
        details: { file: join(day, 'part-0.parquet'), column: 'customer', actual: 'INTEGER' },
      });
    });
  });

  it('a declared type DuckDB does not know is PROJECT_INVALID naming the source and column', async () => {
    const { dir, day } = await project(
      ['quantity: BIGINTT'],
      [`SELECT 7::INTEGER AS quantity`, `SELECT 8::BIGINT AS quantity`],
    );
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: ['2024-01-01'] });
      expect(summary.error).toMatchObject({
        code: 'PROJECT_INVALID',
        message: expect.stringMatching(
          /^lakehouse\.yaml: sources\.orders\.columns\.quantity is "BIGINTT", which is not a DuckDB type \(.+\)\. /,
        ),
        details: { source: 'orders', column: 'quantity', expected: 'BIGINTT' },
      });
      // The type it advises holds every file of the day, not just the first.
      expect(summary.error?.message).toContain(
        `The day's files have INTEGER in ${join(day, 'part-0.parquet')}, BIGINT in ${join(day, 'part-1.parquet')}: ` +
          'write BIGINT, which holds them all, or the type the models expect.',
      );
    });
  });
});

describe('a daily source that declares no columns', () => {
  const FILES = [
    `SELECT 'o1' AS order_id, 7::BIGINT AS quantity`,
    `SELECT 'o2' AS order_id, 8::BIGINT AS quantity`,
  ];

  // `columns: {}` is what docs/s3.md shows and the app's Sources form saves with its box empty.
  it.each([
    ['columns: {}', []],
    ['no columns key', undefined],
  ])('with %s reads every column as the files have it', async (_title, columns) => {
    const { dir, day } = await project(columns, FILES);
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: ['2024-01-01'] });
      expect(summary.error).toBeUndefined();
      expect(summary.status).toBe('success');
      expect(await bronzeTypes(engine)).toEqual({
        order_id: 'VARCHAR',
        quantity: 'BIGINT',
        _source_file: 'VARCHAR',
        etl_date: 'DATE',
      });
      const { rows } = await engine.query(
        'SELECT order_id, quantity::INTEGER AS quantity, _source_file FROM bronze.orders ORDER BY 1',
      );
      expect(rows).toEqual([
        { order_id: 'o1', quantity: 7, _source_file: join(day, 'part-0.parquet') },
        { order_id: 'o2', quantity: 8, _source_file: join(day, 'part-1.parquet') },
      ]);
    });
  });

  it('fails when the day files disagree, saying which columns to declare', async () => {
    const { dir, day } = await project(
      [],
      [
        `SELECT 'o1' AS order_id, 7::INTEGER AS quantity, 'x' AS note`,
        `SELECT 'o2' AS order_id, 8::BIGINT AS quantity`,
      ],
    );
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: ['2024-01-01'] });
      expect(summary.error).toMatchObject({
        code: 'SOURCE_SCHEMA_MISMATCH',
        message:
          `Source "orders" declares no columns, so the day's files must have the same columns and types, and they differ: ` +
          `${join(day, 'part-1.parquet')} lacks note, which ${join(day, 'part-0.parquet')} has; quantity is ` +
          `INTEGER in ${join(day, 'part-0.parquet')}, BIGINT in ${join(day, 'part-1.parquet')}. Declare the columns ` +
          'the models read under sources.orders.columns in lakehouse.yaml (one "name: TYPE" a line, e.g. quantity: BIGINT): ' +
          'files are then checked against them, columns of a narrower type read cast to the declared one, and ' +
          'undeclared columns left out. Or fix the producer so its files agree.',
        details: { source: 'orders', file: join(day, 'part-1.parquet'), columns: ['note', 'quantity'] },
      });
    });
  });
});

describe('hive-style day folders (dt=2024-01-01)', () => {
  it.each([
    ['declared columns', ['order_id: VARCHAR']],
    ['no columns declared', []],
  ])('add no dt column of their own, with %s', async (_case, columns) => {
    const { dir } = await project(columns, [`SELECT 'o1' AS order_id`], {
      name: 'dt=2024-01-01',
      format: 'dt=%Y-%m-%d',
    });
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: ['2024-01-01'] });
      expect(summary.error).toBeUndefined();
      expect(JSON.stringify(summary)).not.toMatch(/extra column/);
      expect(Object.keys(await bronzeTypes(engine))).not.toContain('dt');
    });
  });
});
