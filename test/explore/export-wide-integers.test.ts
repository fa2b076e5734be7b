import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakehouseError } from '../../engine/api/errors.ts';
import { type Db, ident, literal, openDb } from '../../engine/db/duckdb.ts';
import { createExplorer, type Explorer } from '../../engine/explore/explorer.ts';

// HUGEINT and UHUGEINT in an export: DuckDB writes them to Parquet as DOUBLE, so every digit past 2^53
// was lost without a word. They go as DECIMAL(38,0); a value past 38 digits is refused, naming it.

let db: Db;
let explorer: Explorer;
let scratch: string;

beforeAll(async () => {
  db = await openDb();
  explorer = createExplorer(db);
  scratch = await mkdtemp(join(tmpdir(), 'lakehouse-export-wide-'));
});

afterAll(async () => {
  db?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The exported Parquet file's columns, each value as DuckDB's text, and each column's type. */
async function readBack(sql: string) {
  const download = await explorer.exportQuery({ sql, format: 'parquet' });
  const path = join(scratch, `${download.fileName}-${Math.random()}.parquet`);
  await writeFile(path, download.content);
  const types = await db.all<{ column_name: string; column_type: string }>(
    `DESCRIBE SELECT * FROM read_parquet(${literal(path)})`,
  );
  const [row] = await db.all<Record<string, string>>(
    `SELECT ${types.map((t) => `CAST(${ident(t.column_name)} AS VARCHAR) AS ${ident(t.column_name)}`).join(', ')} FROM read_parquet(${literal(path)})`,
  );
  return { types: Object.fromEntries(types.map((t) => [t.column_name, t.column_type])), row };
}

async function refusal(promise: Promise<unknown>): Promise<LakehouseError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LakehouseError);
  return error as LakehouseError;
}

describe('128-bit integers in an export', () => {
  it('writes them to Parquet whole, as DECIMAL(38,0), also inside lists and structs', async () => {
    const { types, row } = await readBack(
      `SELECT 99999999999999999999999999999999999999::HUGEINT AS h, -9223372036854775809::HUGEINT AS "neg ""h""",
         12345678901234567890123::UHUGEINT AS u, [9007199254740993::HUGEINT] AS l,
         {'hugeint': 9007199254740995::UHUGEINT} AS s, NULL::HUGEINT AS empty, 'x' AS t`,
    );
    expect(types).toEqual({
      h: 'DECIMAL(38,0)',
      'neg "h"': 'DECIMAL(38,0)',
      u: 'DECIMAL(38,0)',
      l: 'DECIMAL(38,0)[]',
      s: 'STRUCT(hugeint DECIMAL(38,0))',
      empty: 'DECIMAL(38,0)',
      t: 'VARCHAR',
    });
    expect(row).toEqual({
      h: '99999999999999999999999999999999999999',
      'neg "h"': '-9223372036854775809',
      u: '12345678901234567890123',
      l: '[9007199254740993]',
      s: "{'hugeint': 9007199254740995}",
      empty: null,
      t: 'x',
    });
  });

  it('refuses a value past 38 digits, naming its column, and says how to export it', async () => {
    const error = await refusal(
      explorer.exportQuery({
        sql: `SELECT 1 AS id, 340282366920938463463374607431768211455::UHUGEINT AS "big key"`,
        format: 'parquet',
      }),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe(
      'Column "big key" holds 340282366920938463463374607431768211455, past the 38 digits a Parquet number ' +
        'holds exactly (DuckDB would write it as a DOUBLE, losing digits). Export as CSV, which keeps every ' +
        'digit, or cast it to text in the query: CAST("big key" AS VARCHAR).',
    );
    const nested = await refusal(
      explorer.exportQuery({
        sql: 'SELECT [-170141183460469231731687303715884105727::HUGEINT - 1] AS keys',
        format: 'parquet',
      }),
    );
    expect(nested.message).toMatch(/^Column "keys" holds -170141183460469231731687303715884105728, past/);
    // The connection reads on, outside any transaction.
    expect(await db.scalar('SELECT 42')).toBe(42);
  });

  it('keeps every digit in CSV', async () => {
    const download = await explorer.exportQuery({
      sql: 'SELECT 170141183460469231731687303715884105727::HUGEINT AS h, 340282366920938463463374607431768211455::UHUGEINT AS u',
      format: 'csv',
    });
    expect(new TextDecoder().decode(download.content)).toBe(
      'h,u\n170141183460469231731687303715884105727,340282366920938463463374607431768211455\n',
    );
  });
});
