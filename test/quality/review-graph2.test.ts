import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { parseModelFile } from '../../engine/project/models.ts';
import { runDataTests } from '../../engine/quality/data-tests.ts';
import { lakehouseFailure } from '../helpers/errors.ts';

const childModel = (test: string) =>
  parseModelFile(
    'models/gold/child.sql',
    `/* config\nmaterialized: table\ntests:\n  - ${test}\n*/\nSELECT 1`,
    'gold',
  );

// DuckDB compares a VARCHAR with an INTEGER by casting the text to a number: a relationships test from
// text user ids to an integer key passed '01' and '1.0' as 1, the very defect (ids cast to int in one table,
// not in another) the example's model exists to catch.
describe('a relationships test between columns of different types', () => {
  let db: Db;

  beforeAll(async () => {
    db = await openDb();
    await db.run(`CREATE SCHEMA gold;
      CREATE TABLE gold.int_keys AS SELECT 1::INTEGER AS k, 1::INTEGER AS int_k, '1' AS text_k, DATE '2022-06-01' AS d;
      CREATE TABLE gold.child AS SELECT * FROM (VALUES ('01', 1::BIGINT, '1', TIMESTAMP '2022-06-01 00:00:00'),
        ('1.0', 1::BIGINT, '1', TIMESTAMP '2022-06-01 00:00:00')) AS t(k, big_k, text_k, ts)`);
  });

  afterAll(() => db.close());

  it('is refused when one is text and the other a number, naming both columns and their types', async () => {
    const test = 'relationships: {column: k, to: gold.int_keys, field: k}';
    const error = await lakehouseFailure(runDataTests(db, childModel(test), 'gold.child', undefined));
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.message).toBe(
      `models/gold/child.sql:4: test "${test}" compares gold.child.k (VARCHAR) with gold.int_keys.k (INTEGER): ` +
        "DuckDB casts the text to INTEGER to compare them, so text that is not the key's own ('01' or '1.0' for 1) " +
        'passes as equal. Give both columns one type where the models build them (a CAST in one of them: text ' +
        'keeps the leading zeros of an id, which a number drops), then run again.',
    );
    expect(error.details).toMatchObject({
      file: 'models/gold/child.sql',
      line: 4,
      column: 'k',
      columnType: 'VARCHAR',
      relation: 'gold.int_keys',
      field: 'k',
      fieldType: 'INTEGER',
    });
  });

  it('is refused for a date column against a text key too', async () => {
    const test = 'relationships: {column: ts, to: gold.int_keys, field: text_k}';
    const error = await lakehouseFailure(runDataTests(db, childModel(test), 'gold.child', undefined));
    expect(error.message).toContain(
      'compares gold.child.ts (TIMESTAMP) with gold.int_keys.text_k (VARCHAR): DuckDB casts the text to TIMESTAMP',
    );
  });

  it.each([
    ['BIGINT against INTEGER', 'relationships: {column: big_k, to: gold.int_keys, field: int_k}'],
    ['VARCHAR against VARCHAR', 'relationships: {column: text_k, to: gold.int_keys, field: text_k}'],
    ['TIMESTAMP against DATE', 'relationships: {column: ts, to: gold.int_keys, field: d}'],
  ])('runs as before for %s', async (_, test) => {
    const [result] = await runDataTests(db, childModel(test), 'gold.child', undefined);
    expect(result).toMatchObject({ passed: true, failingRows: 0 });
  });
});
