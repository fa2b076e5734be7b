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
