import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakehouseError } from '../../engine/api/errors.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { createExplorer, type Explorer } from '../../engine/explore/explorer.ts';

// query.export past the download limit (512 MB in the app, 1 MB here): the write stops soon after the
// file passes it, instead of a 10M-row CSV being written whole (1.4 GB, minutes) and only then refused.

const LIMIT = 1024 * 1024;
let db: Db;
let explorer: Explorer;

beforeAll(async () => {
  db = await openDb();
  explorer = createExplorer(db, { maxDownloadBytes: LIMIT });
});

afterAll(() => db?.close());

async function refusal(promise: Promise<unknown>): Promise<LakehouseError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LakehouseError);
  return error as LakehouseError;
}

describe('an export past the download limit', () => {
  it('stops writing soon after the file passes the limit, and says how to get the rows', async () => {
    // About 330 MB of CSV if written whole.
    const sql = `SELECT i, repeat('x', 100) AS filler FROM range(3000000) t(i)`;
    const error = await refusal(explorer.exportQuery({ sql, format: 'csv' }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.details).toMatchObject({ limit: LIMIT, stopped: true });
    expect(Number(error.details.bytes)).toBeGreaterThan(LIMIT);
    expect(Number(error.details.bytes)).toBeLessThan(100 * LIMIT);
    expect(error.message).toMatch(
      /^The export passed [\d.]+ MB and was stopped: a download holds at most 1 MB\./,
    );
    expect(error.message).toContain('or as Parquet, several times smaller,');
    expect(error.message).toContain('lakehouse query <project> "<sql>" --json > rows.json');
    // The interrupt stopped the export only: the connection reads on.
    expect(await db.scalar('SELECT 42')).toBe(42);
  });

  it('is refused when written whole just past the limit, without suggesting Parquet again', async () => {
    const sql = `SELECT i, md5(CAST(i AS VARCHAR)) AS h FROM range(60000) t(i)`;
    const error = await refusal(explorer.exportQuery({ sql, format: 'parquet' }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(Number(error.details.bytes)).toBeGreaterThan(LIMIT);
    expect(error.message).toMatch(/^The export (is|passed) 1\.\d MB/);
    expect(error.message).not.toContain('Parquet');
  });

  it('is a download under the limit', async () => {
    const download = await explorer.exportQuery({ sql: 'SELECT i FROM range(1000) t(i)', format: 'csv' });
    expect(download.rows).toBe(1000);
    expect(download.bytes).toBe(download.content.byteLength);
  });
});

describe('what an export takes', () => {
  it('exports what the console runs: DESCRIBE, SHOW and SUMMARIZE too, and keeps ORDER BY order', async () => {
    // COPY takes only a SELECT: these failed with a syntax error at DESCRIBE, though the console ran them.
    await db.run('CREATE TABLE described AS SELECT 1 AS a, 2.5 AS b');
    const csv = async (sql: string) =>
      new TextDecoder().decode((await explorer.exportQuery({ sql, format: 'csv' })).content);
    expect(await csv('DESCRIBE described;')).toBe(
      'column_name,column_type,null,key,default,extra\na,INTEGER,YES,,,\nb,"DECIMAL(2,1)",YES,,,\n',
    );
    expect(await csv('SHOW TABLES')).toBe('name\ndescribed\n');
    expect((await csv('SUMMARIZE described')).split('\n')[0]).toMatch(/^column_name,column_type,min,max,/);
    // Order as the query asks, though the export reads it through a subquery.
    const ordered = `SELECT hash(i) % 1000 AS k FROM range(200000) t(i) ORDER BY k DESC, i`;
    const keys = (await csv(ordered)).trim().split('\n').slice(1).map(Number);
    expect(keys).toHaveLength(200000);
    expect(keys.every((k, i) => i === 0 || k <= (keys[i - 1] as number))).toBe(true);
  });
});
