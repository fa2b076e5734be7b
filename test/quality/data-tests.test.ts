import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { parseModelFile } from '../../engine/project/models.ts';
import { runDataTests } from '../../engine/quality/data-tests.ts';

/** One declared test over `gold.child` (see beforeAll), and what it must report. */
const CASES: {
  test: string;
  name: string;
  failingRows: number;
  sample?: Record<string, unknown>[];
}[] = [
  { test: 'not_null: id', name: 'not_null(id)', failingRows: 0 },
  {
    test: 'not_null: [id, parent_id]',
    name: 'not_null(id, parent_id)',
    failingRows: 1,
    sample: [{ id: 4, parent_id: null, kind: 'b' }],
  },
  { test: 'unique: id', name: 'unique(id)', failingRows: 1, sample: [{ id: 3, occurrences: 2 }] },
  { test: 'unique: [id, kind]', name: 'unique(id, kind)', failingRows: 0 },
  {
    test: 'accepted_values: {column: kind, values: [a, b]}',
    name: 'accepted_values(kind)',
    failingRows: 1,
    sample: [{ id: 3, parent_id: 30, kind: 'z' }],
  },
  // The NULL parent_id is not an orphan (not_null's business); 30 and 99 have no parent row.
  {
    test: 'relationships: {column: parent_id, to: gold.parent, field: id}',
    name: 'relationships(parent_id → gold.parent.id)',
    failingRows: 2,
    sample: [
      { id: 3, parent_id: 30, kind: 'a' },
      { id: 3, parent_id: 30, kind: 'z' },
    ],
  },
  {
    test: 'relationships: {column: kind, to: gold.kinds, field: kind}',
    name: 'relationships(kind → gold.kinds.kind)',
    failingRows: 0,
  },
];

describe('data tests', () => {
  let db: Db;

  beforeAll(async () => {
    db = await openDb();
    await db.run(`CREATE SCHEMA gold`);
    await db.run(`CREATE TABLE gold.parent AS SELECT * FROM (VALUES (10), (20), (NULL)) AS t(id)`);
    await db.run(`CREATE TABLE gold.kinds AS SELECT * FROM (VALUES ('a'), ('b'), ('z')) AS t(kind)`);
    await db.run(
      `CREATE TABLE gold.child AS SELECT * FROM (VALUES
         (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'a'), (3, 30, 'z'), (4, NULL, 'b')) AS t(id, parent_id, kind)`,
    );
  });

  afterAll(() => db.close());

  it.each(CASES)('$name counts and shows its failing rows', async ({ test, name, failingRows, sample }) => {
    const model = parseModelFile(
      'models/gold/child.sql',
      `/* config\nmaterialized: table\ntests:\n  - ${test}\n*/\nSELECT 1`,
      'gold',
    );
    const [result] = await runDataTests(db, model, 'gold.child', undefined);
    expect(result).toMatchObject({ name, passed: failingRows === 0, failingRows, severity: 'error' });
    const order = (rows: Record<string, unknown>[]) =>
      [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(order(result?.sample ?? [])).toEqual(order(sample ?? []));
  });

  it('answers a unique test on keys the materializer proved unique without querying', async () => {
    const model = parseModelFile(
      'models/gold/child.sql',
      '/* config\nmaterialized: table\ntests:\n  - unique: id\n  - not_null: [id, parent_id]\n*/\nSELECT 1',
      'gold',
    );
    // Only for exactly those keys: the not_null test still runs and fails.
    const results = await runDataTests(db, model, 'gold.child', undefined, ['id']);
    expect(results.map((r) => [r.name, r.failingRows])).toEqual([
      ['unique(id)', 0],
      ['not_null(id, parent_id)', 1],
    ]);
    const other = await runDataTests(db, model, 'gold.child', undefined, ['id', 'kind']);
    expect(other[0]).toMatchObject({ name: 'unique(id)', failingRows: 1 });
  });
});
