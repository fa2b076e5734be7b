import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { parseModelFile } from '../../engine/project/models.ts';
import { runDataTests } from '../../engine/quality/data-tests.ts';

describe('accepted_values compares numbers as the header writes them', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openDb();
    await db.run(`CREATE SCHEMA gold`);
    await db.run(
      `CREATE TABLE gold.codes AS SELECT * FROM (VALUES ('01', 1, 1.50::DECIMAL(4, 2)), ('02', 2, 2.00), ('1.0', 1, 1.50))
       AS t(code, n, price)`,
    );
  });
  afterAll(() => db.close());

  const run = async (test: string) => {
    const model = parseModelFile(
      'models/gold/codes.sql',
      `/* config\nmaterialized: table\ntests:\n  - ${test}\n*/\nSELECT 1`,
      'gold',
    );
    const [result] = await runDataTests(db, model, 'gold.codes', undefined);
    return result;
  };

  // YAML reads 01 and 1.0 as the number 1: the text column's codes failed while the test named them.
  it('on a text column: 01, 02 and 1.0 are those codes, not 1, 2 and 1', async () => {
    expect(await run('accepted_values: {column: code, values: [01, 02, 1.0]}')).toMatchObject({
      passed: true,
      failingRows: 0,
    });
    expect(await run('accepted_values: {column: code, values: [1, 2]}')).toMatchObject({
      failingRows: 3,
      detail: "not accepted: '01' (1), '02' (1), '1.0' (1)",
    });
  });

  it('on numeric columns the written text is cast: 01 and 2.0 are 1 and 2, 1.5 is 1.50', async () => {
    expect(await run('accepted_values: {column: n, values: [01, 2.0]}')).toMatchObject({ failingRows: 0 });
    expect(await run('accepted_values: {column: price, values: [1.5, 2]}')).toMatchObject({ failingRows: 0 });
    expect(await run('accepted_values: {column: price, values: [1.5]}')).toMatchObject({ failingRows: 1 });
  });
});

describe('tests over columns the test itself names', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openDb();
    await db.run(`CREATE SCHEMA gold`);
    await db.run(
      `CREATE TABLE gold.t AS SELECT * FROM (VALUES (5, NULL), (5, 1), (7, 1)) AS t(occurrences, flag)`,
    );
  });
  afterAll(() => db.close());

  const run = async (test: string) => {
    const model = parseModelFile(
      'models/gold/t.sql',
      `/* config\nmaterialized: table\ntests:\n  - ${test}\n*/\nSELECT 1`,
      'gold',
    );
    const [result] = await runDataTests(db, model, 'gold.t', undefined);
    return result;
  };

  // The key column came first and the count was renamed occurrences_1 beside it.
  it('unique over a column named occurrences shows the key under its name and the count apart', async () => {
    expect(await run('unique: occurrences')).toMatchObject({
      failingRows: 1,
      sample: [{ occurrences: 5, _occurrences: 2 }],
    });
  });

  // It could not run: DuckDB refuses a name given twice in EXCLUDE.
  it('not_null with a column listed twice tests it once', async () => {
    expect(await run('not_null: [flag, flag]')).toMatchObject({
      name: 'not_null(flag)',
      failingRows: 1,
      sample: [{ flag: null, occurrences: 5 }],
    });
    expect((await run('not_null: [flag, flag]'))?.detail).toBeUndefined();
  });
});
