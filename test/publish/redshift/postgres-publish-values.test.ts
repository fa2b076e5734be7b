import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ident } from '../../../engine/db/duckdb.ts';
import { createEngine, type Engine } from '../../../engine/engine.ts';
import { fitIdentifier, foreignKeyName } from '../../../engine/publish/redshift/plan.ts';
import { publishRedshift, type RedshiftPublishOptions } from '../../../engine/publish/redshift/publish.ts';
import { lakehouseFailure } from '../../helpers/errors.ts';
import { type PostgresServer, startPostgres } from '../../helpers/postgres.ts';
import { generatedProject, removeDir, tempDir } from '../../helpers/project.ts';

// Values and names a first publish took but a target prints, cuts or reads differently: keys in another
// time zone or DateStyle, floats, a line `\.`, names over 63 bytes, numbers over 38 digits, a schema
// the loader owns without CREATE on the database, and an append fact re-sent whole after a date went.

let server: PostgresServer;
let work: string;
let engine: Engine;

const LONG_COLUMN = 'total_number_of_searches_per_customer_segment_in_the_reporting_window_v2';

/** Gold models of this file, next to the example's: `name` → SQL with its config header. */
const MODELS: Record<string, string> = {
  k_tstz: `/* config\nmaterialized: table\nunique_key: ts\n*/\nSELECT TIMESTAMPTZ '2022-06-01 10:00:00.123456+00' + to_hours(i) AS ts, i AS v FROM range(3) r(i)\n`,
  k_date_ts: `/* config\nmaterialized: scd1\nunique_key: [d, t]\n*/\nSELECT DATE '2022-06-01' + CAST(i AS INTEGER) AS d, TIMESTAMP '2022-06-01 23:30:00.5' + to_hours(i) AS t, i AS v FROM range(3) r(i)\n`,
  no_key: `/* config\nmaterialized: table\n*/\nSELECT CAST(i AS DOUBLE) AS amount, CAST(i AS FLOAT) / 4 AS share, TIMESTAMPTZ '2022-06-01 10:00:00+00' + to_hours(i) AS seen_at, DATE '2022-06-01' AS day, ['a', 'b"c'] AS tags FROM range(3) r(i)\n`,
  k_double: `/* config\nmaterialized: table\nunique_key: x\n*/\nSELECT CAST(i AS DOUBLE) AS x, i AS v FROM range(3) r(i)\n`,
  one_col: `/* config\nmaterialized: table\n*/\nSELECT * FROM (VALUES ('a'), ('\\.'), ('b'), (''), (NULL), ('\\N')) v(s)\n`,
  long_cols: `/* config\nmaterialized: scd1\nunique_key: id\n*/\nSELECT i AS id, i * 2 AS ${LONG_COLUMN} FROM range(3) r(i)\n`,
  huge: `/* config\nmaterialized: table\nunique_key: id\n*/\nSELECT 1 AS id, 170141183460469231731687303715884105727::HUGEINT AS h\n`,
};

function options(url: string, tables: string[]): RedshiftPublishOptions {
  return {
    db: engine.reader,
    models: engine.models,
    connection: { kind: 'pg', config: { connectionString: url }, dialect: 'postgres' },
    tables,
  };
}

/** Runs SQL on a database of the server as postgres. */
async function admin(url: string, sqls: string[]): Promise<Record<string, unknown>[][]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Record<string, unknown>[][] = [];
    for (const sql of sqls) out.push((await client.query(sql)).rows as Record<string, unknown>[]);
    return out;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  work = await tempDir('lakehouse-redshift-values-');
  const [started, project] = await Promise.all([startPostgres(), generatedProject(work, 2, 300)]);
  server = started;
  for (const [name, sql] of Object.entries(MODELS)) {
    await writeFile(join(project.dir, 'models', 'gold', `${name}.sql`), sql);
  }
  engine = await createEngine({ projectDir: project.dir });
  await engine.run({ dates: project.dates });
});

afterAll(async () => {
  engine?.close();
  await server?.stop();
  await removeDir(work);
});

describe('publish to PostgreSQL: values and names the target reads its own way', () => {
  it('reconciles timestamp, timestamptz and date keys whatever the server time zone and DateStyle', async () => {
    const url = await server.createDatabase('keys');
    // Not this machine's zone, and a DateStyle printing dates as 01.06.2022: DuckDB's text would not match.
    await admin(url, [
      "ALTER DATABASE keys SET timezone = 'Asia/Kathmandu'",
      "ALTER DATABASE keys SET datestyle = 'German, DMY'",
    ]);
    const tables = ['k_date_ts', 'k_tstz', 'no_key'];
    const first = await publishRedshift(options(url, tables));
    expect(first.reconciliation.map((r) => [r.table, r.matches])).toEqual(tables.map((t) => [t, true]));
    // Again: k_date_ts merges by its key, so its rows are matched, not duplicated.
    const again = await publishRedshift(options(url, tables));
    expect(again.tables.find((t) => t.table === 'k_date_ts')?.action).toBe('merge');
    expect(again.reconciliation.every((r) => r.matches)).toBe(true);
    const [rows] = await admin(url, [
      `SELECT (SELECT count(*) FROM gold.k_date_ts)::int AS merged, (SELECT count(*) FROM gold.no_key)::int AS keyless`,
    ]);
    expect(rows?.[0]).toEqual({ merged: 3, keyless: 3 });
  });

  it('refuses a float key at plan time, naming the column, and creates nothing', async () => {
    const url = await server.createDatabase('float_key');
    const error = await lakehouseFailure(publishRedshift(options(url, ['k_double'])));
    expect(error.code).toBe('PUBLISH_CONFLICT');
    expect(error.details.conflicts).toEqual([expect.objectContaining({ table: 'k_double', column: 'x' })]);
    expect(error.message).toContain('Cast x to DECIMAL or BIGINT in the model');
    const [tables] = await admin(url, [`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'gold'`]);
    expect(tables?.[0]).toEqual({ n: 0 });
  });

  it("loads a text column holding the line '\\.' whole, with NULL, '' and the text \\N kept apart", async () => {
    const url = await server.createDatabase('end_marker');
    const result = await publishRedshift(options(url, ['one_col']));
    expect(result.reconciliation[0]?.matches).toBe(true);
    const [rows] = await admin(url, [`SELECT s FROM gold.one_col`]);
    expect(rows?.map((r) => (r.s === null ? 'NULL' : `[${r.s}]`)).sort()).toEqual(
      ['[]', '[a]', '[b]', '[\\.]', '[\\N]', 'NULL'].sort(),
    );
  });

  it('refuses a column name over 63 bytes at plan time (PostgreSQL would cut it and never match it again)', async () => {
    const url = await server.createDatabase('long_names');
    const error = await lakehouseFailure(publishRedshift(options(url, ['long_cols'])));
    expect(error.code).toBe('PUBLISH_CONFLICT');
    expect(error.details.conflicts).toEqual([
      expect.objectContaining({ table: 'long_cols', column: LONG_COLUMN }),
    ]);
    expect(error.message).toContain(`is ${LONG_COLUMN.length} bytes, and PostgreSQL keeps at most 63`);
  });

  it('derives foreign key, staging and swap names within 63 bytes, counting bytes, not characters', () => {
    // 60 characters, 90 bytes: cut by characters it stayed over the limit and the server cut it again.
    const table = 'dimension_ééééééééééééééééééééééééééééééé';
    const name = foreignKeyName(table, 'user_id');
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    expect(name.startsWith('dimension_é')).toBe(true);
    expect(foreignKeyName(table, 'user_id')).toBe(name);
    expect(foreignKeyName(table, 'other_id')).not.toBe(name);
    expect(fitIdentifier('short_name')).toBe('short_name');
    expect(Buffer.byteLength(fitIdentifier(`lakehouse_stage_${'ü'.repeat(31)}`))).toBeLessThanOrEqual(63);
  });

  it('refuses a HUGEINT over 38 digits at plan time instead of failing mid-load', async () => {
    const url = await server.createDatabase('huge');
    const error = await lakehouseFailure(publishRedshift(options(url, ['huge'])));
    expect(error.code).toBe('PUBLISH_CONFLICT');
    expect(error.details.conflicts).toEqual([expect.objectContaining({ table: 'huge', column: 'h' })]);
    expect(error.message).toContain('170141183460469231731687303715884105727');
  });

  it('publishes into a schema the loader owns without CREATE on the database', async () => {
    const url = await server.createDatabase('owned');
    await admin(url, ['CREATE ROLE loader LOGIN', 'CREATE SCHEMA gold AUTHORIZATION loader']);
    const asLoader = url.replace('postgres://postgres@', 'postgres://loader@');
    expect(asLoader).not.toBe(url);
    const first = await publishRedshift(options(asLoader, ['dim_platform']));
    expect(first.ddl.some((sql) => sql.startsWith('CREATE SCHEMA'))).toBe(false);
    const again = await publishRedshift(options(asLoader, ['dim_platform']));
    expect(again.reconciliation.every((r) => r.matches)).toBe(true);
  });

  it('an append fact re-sent whole (a VARCHAR widened) also drops the dates gone locally', async () => {
    const url = await server.createDatabase('append_widen');
    await publishRedshift(options(url, ['fact_customer_search']));
    const dates = await engine.reader.all<{ date_key: number }>(
      'SELECT date_key FROM gold.fact_customer_search GROUP BY 1 ORDER BY count(*), 1',
    );
    expect(dates.length).toBeGreaterThan(1);
    const gone = dates[0]?.date_key;
    const kept = dates[dates.length - 1]?.date_key;
    await engine.db.run(`DELETE FROM gold.fact_customer_search WHERE date_key = ${gone}`);
    // Longer than any keyword: the target's VARCHAR must widen, so the whole table is sent.
    await engine.db.run(
      `UPDATE gold.fact_customer_search SET keyword = keyword || repeat('x', 200)
       WHERE event_id = (SELECT min(event_id) FROM gold.fact_customer_search WHERE date_key = ${kept})`,
    );
    const result = await publishRedshift(options(url, ['fact_customer_search']));
    const fact = result.tables[0];
    expect(fact?.widenedColumns.map((c) => c.column)).toEqual(['keyword']);
    expect(fact?.sentDates).toBeNull();
    expect(result.reconciliation[0]?.matches).toBe(true);
    const [left] = await admin(url, [
      `SELECT count(*)::int AS n FROM gold.fact_customer_search WHERE ${ident('date_key')} = ${gone}`,
    ]);
    expect(left?.[0]).toEqual({ n: 0 });
    // Not stuck: the next publish has nothing to send.
    const again = await publishRedshift(options(url, ['fact_customer_search']));
    expect(again.tables[0]).toMatchObject({ rowsToSend: 0, sentDates: [] });
  });
});
