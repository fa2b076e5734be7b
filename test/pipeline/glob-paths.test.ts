import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../engine/db/duckdb.ts';
import { viewsNameAnotherLake } from '../../engine/lake/partitions.ts';
import { loadProject } from '../../engine/project/config.ts';
import { initProject } from '../../engine/project/init.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { removeDir, tempDir, withEngine } from '../helpers/project.ts';
import { generatedEventsSql, writeCatalog, writeDay } from '../helpers/source-files.ts';

// DuckDB reads a path holding `*`, `?` or `[` as a pattern: `part[12].parquet` named `part1.parquet`, and
// `part-?.parquet` both files of a day. Every path the engine reads is bracketed (pathLiteral). It also
// reads every `key=value` folder of a path as a column unless told not to (readParquet).

let work: string;
let dir: string;
/** A project under folders named like Hive partitions, one of them after a column the lake holds. */
let hiveLike: string;
/** Each day file with rows of its own: its name, and how many events it holds. */
const FILES: [string, number][] = [
  ['part1.parquet', 40],
  ['part[12].parquet', 30],
  ['part-?.parquet', 20],
  ['all*.parquet', 10],
];

beforeAll(async () => {
  work = await tempDir();
  // A plain folder: under one named with brackets, the patterns would match nothing and DuckDB would
  // read them as plain paths, hiding the fault.
  const src = join(work, 'raw');
  for (const [name, n] of FILES) {
    const prefix = name.replace(/\W/g, '_');
    await writeDay(
      src,
      '20220601',
      `SELECT * REPLACE ('${prefix}-' || "eventID" AS "eventID") FROM (${generatedEventsSql('2022-06-01', n)})`,
      name,
    );
  }
  // The project's own folder too: every lake partition's path holds it.
  dir = join(work, "lake's [copy] *");
  await initProject({
    dir,
    example: 'customer-search',
    source: src,
    catalog: await writeCatalog(join(work, 'titles.csv')),
  });
  hiveLike = join(work, 'category=archive', 'env=prod', 'lake');
  await initProject({
    dir: hiveLike,
    example: 'customer-search',
    source: src,
    catalog: join(work, 'titles.csv'),
  });
}, 60_000);

afterAll(() => removeDir(work));

describe('paths with the characters DuckDB globs on', () => {
  it('reads every source file once, by its own name, into a lake in a folder named with them', async () => {
    await withEngine(dir, async (engine) => {
      const run = await engine.run({ dates: ['2022-06-01'] });
      expect(run.error?.message).toBeUndefined();
      const { rows } = await engine.query(
        `SELECT regexp_extract(source_file, '[^/]+$') AS file, count(*) AS n
         FROM bronze.customer_search GROUP BY ALL ORDER BY file`,
      );
      expect(rows).toEqual(
        FILES.map(([file, n]) => ({ file, n })).sort((a, b) => (a.file < b.file ? -1 : 1)),
      );
      expect((await engine.query('SELECT count(*) AS n FROM fact_customer_search')).rows).toEqual([
        { n: 100 },
      ]);
    });
    // A read-only open finds the views naming this project's own lake: nothing to re-point.
    const db = await openDb(join(dir, 'warehouse.duckdb'), { readOnly: true });
    try {
      expect(await viewsNameAnotherLake(db, join(dir, 'lake'))).toBe(false);
    } finally {
      db.close();
    }
  }, 120_000);

  it("refuses a warehouse path holding '?', which DuckDB reads as options, naming it", async () => {
    const questioned = join(work, 'what?');
    const refused = await lakehouseFailure(
      initProject({ dir: questioned, example: 'customer-search', source: join(work, 'raw') }),
    );
    expect(refused).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(refused.message).toContain(`${questioned} holds a '?'`);
    expect(existsSync(questioned)).toBe(false);
    // Set in lakehouse.yaml instead: the project does not open, rather than failing its first commit.
    const yaml = join(dir, 'lakehouse.yaml');
    const before = await readFile(yaml, 'utf8');
    await writeFile(yaml, before.replace(/^warehouse: .*$/m, 'warehouse: w?x/warehouse.duckdb'));
    try {
      const invalid = await lakehouseFailure(loadProject(dir));
      expect(invalid).toMatchObject({ code: 'PROJECT_INVALID', details: { key: 'warehouse' } });
      expect(invalid.message).toMatch(/warehouse: .*w\?x\/warehouse\.duckdb holds a '\?'/);
    } finally {
      await writeFile(yaml, before);
    }
  });
});

describe('paths with folders named like Hive partitions', () => {
  it('reads the columns the lake files hold, none from the folders above them', async () => {
    await withEngine(hiveLike, async (engine) => {
      const run = await engine.run({ dates: ['2022-06-01'] });
      expect(run.error?.message).toBeUndefined();
      // The sources' `enter` and `quit`: a folder `category=archive` made every row's category 'archive'.
      for (const table of ['bronze.customer_search', 'silver.customer_search', 'fact_customer_search']) {
        const { rows } = await engine.query(`SELECT DISTINCT category FROM ${table} ORDER BY ALL`);
        expect(rows, table).toEqual([{ category: 'enter' }, { category: 'quit' }]);
      }
      for (const table of [
        'bronze.customer_search',
        'silver.customer_search',
        'quarantine.customer_search',
      ]) {
        const { rows } = await engine.query(
          `SELECT count(*) AS n FROM (DESCRIBE ${table}) WHERE column_name = 'env'`,
        );
        expect(rows, table).toEqual([{ n: 0 }]);
      }
    });
  }, 120_000);
});
