import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { isLosslessCast } from '../../engine/db/lossless-cast.ts';

// Type texts as DuckDB describes columns: keywords compare in any case, quoted parts (ENUM members,
// STRUCT field names) exactly.
describe('a cast between types with quoted parts', () => {
  const cases: [string, string, boolean][] = [
    ["ENUM('open', 'closed')", "ENUM('OPEN', 'CLOSED')", false],
    ["ENUM('open', 'closed')", "ENUM('open', 'closed')", true],
    ["enum('it''s')", "ENUM('it''s')", true],
    ['STRUCT(a INTEGER)', 'STRUCT("A" INTEGER)', false],
    ['struct("a" integer)', 'STRUCT("a" INTEGER)', true],
    ['integer', 'BIGINT', true],
    ['decimal(10,2)', 'DECIMAL(12,2)', true],
    ['"NULL"', 'VARCHAR', true],
  ];
  it.each(cases)('%s → %s: %s', (from, to, lossless) => {
    expect(isLosslessCast(from, to)).toBe(lossless);
  });

  let db: Db;
  beforeAll(async () => {
    db = await openDb();
  });
  afterAll(() => db.close());

  it('is said lossless only where DuckDB converts every value back unchanged', async () => {
    // A gold table's column is widened to a type said lossless: ENUM('open') to ENUM('OPEN') failed there.
    const pairs: [string, string, string][] = [
      ["ENUM('open', 'closed')", "ENUM('OPEN', 'CLOSED')", "'open'"],
      ['INTEGER', 'BIGINT', '2147483647'],
      ['UBIGINT', 'DECIMAL(20,0)', '18446744073709551615'],
    ];
    for (const [from, to, value] of pairs) {
      const table = `t_${pairs.findIndex((p) => p[0] === from)}`;
      await db.run(`CREATE TABLE ${table} AS SELECT CAST(${value} AS ${from}) AS v`);
      const [described] = await db.all<{ column_type: string }>(
        `SELECT column_type FROM (DESCRIBE ${table})`,
      );
      const converts = await db
        .run(`ALTER TABLE ${table} ALTER COLUMN v TYPE ${to}`)
        .then(
          async () =>
            (await db.scalar(`SELECT v::VARCHAR FROM ${table}`)) ===
            (await db.scalar(`SELECT CAST(${value} AS ${from})::VARCHAR`)),
        )
        .catch(() => false);
      expect(isLosslessCast(described!.column_type, to), `${from} → ${to}`).toBe(converts);
    }
  });
});
