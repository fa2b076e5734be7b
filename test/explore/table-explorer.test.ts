import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBinaryReply, encodeBinaryReply } from '../../engine/api/binary-reply.ts';
import type { SortKey } from '../../engine/api/contract.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import type { Engine } from '../../engine/engine.ts';
import { createExplorer, type Explorer } from '../../engine/explore/explorer.ts';
import { exportQueryToFile } from '../../engine/explore/export.ts';
import { type Client, createClient } from '../../renderer/src/api/client.ts';
import { bothTransports, rejection, type ServedProject, serveGeneratedProject } from '../helpers/api.ts';

// table.window, table.profile and query.export over both transports, on a real warehouse: the demo
// pipeline's tables plus a synthetic 20k-row gold table with nulls, quotes and Vietnamese text.

const BIG = 'gold.explore_sample';
const BIG_ROWS = 20_000;

let served: ServedProject;
let work: string;
let engine: Engine;

beforeAll(async () => {
  served = await serveGeneratedProject({
    prefix: 'lakehouse-table-explorer-',
    days: 2,
    rowsPerDay: 300,
    prepare: async (engine) => {
      const summary = await engine.run({});
      expect(summary.status).toBe('success');
      await engine.db.run(
        `CREATE TABLE ${BIG} AS SELECT i AS id, CAST((i * 7919) % 1000 AS INTEGER) AS score,
           CASE WHEN i % 10 = 0 THEN NULL ELSE 'Tìm kiếm "phim" số ' || (i % 37) || ', tập ' || (i % 5) END AS keyword,
           DATE '2022-06-01' + CAST(i % 30 AS INTEGER) AS day, i % 3 = 0 AS flag, CAST(i / 4 AS DECIMAL(12,2)) AS amount
         FROM range(${BIG_ROWS}) t(i)`,
      );
    },
  });
  ({ work, engine } = served);
});

afterAll(() => served?.close());

const transports = bothTransports(() => served);

/** The window's rows as plain objects (BIGINT as bigint, as Arrow gives them). */
function rowsOf(arrow: Uint8Array): Record<string, unknown>[] {
  return tableFromIPC(arrow)
    .toArray()
    .map((row) => ({ ...row.toJSON() }));
}

describe('binary replies', () => {
  it('round-trip JSON with byte arrays at any depth', () => {
    const value = { a: 1, bytes: new Uint8Array([1, 2, 3]), nested: { more: new Uint8Array([9]), s: 'ế' } };
    const encoded = encodeBinaryReply(value);
    expect(encoded).not.toBeNull();
    const copy = new Uint8Array(encoded as Uint8Array).buffer;
    const decoded = decodeBinaryReply(copy) as typeof value;
    expect(decoded.a).toBe(1);
    expect([...decoded.bytes]).toEqual([1, 2, 3]);
    expect([...decoded.nested.more]).toEqual([9]);
    expect(decoded.nested.s).toBe('ế');
    expect(encodeBinaryReply({ plain: true })).toBeNull();
  });
});

describe.each(transports)('the table explorer over the %s transport', (name, makeTransport) => {
  let client: Client;
  beforeAll(() => {
    client = createClient(makeTransport());
  });
  afterAll(() => client?.close());

  const sqlColumn = async (sql: string) =>
    (await client.call('query.run', { sql, limit: 10_000 })).rows.map((r) => Object.values(r)[0]);

  it('pages an unsorted table as Arrow, rows in table order', async () => {
    const window = await client.call('table.window', { table: BIG, offset: 12_345, limit: 100 });
    expect(window.arrow).toBeInstanceOf(Uint8Array);
    expect(window.totalRows).toBe(BIG_ROWS);
    expect(window.rowCount).toBe(100);
    expect(window.columns.map((c) => c.name)).toEqual(['id', 'score', 'keyword', 'day', 'flag', 'amount']);
    const rows = rowsOf(window.arrow);
    expect(rows.map((r) => Number(r.id))).toEqual(Array.from({ length: 100 }, (_, i) => 12_345 + i));
    const first = rows[0] as Record<string, unknown>;
    expect(first.keyword).toBe('Tìm kiếm "phim" số 24, tập 0');
    expect(first.day).toBe('2022-06-16');
    expect(first.flag).toBe(true);
    expect(first.amount).toBe('3086.25');
    const last = await client.call('table.window', { table: BIG, offset: BIG_ROWS - 10, limit: 100 });
    expect(last.rowCount).toBe(10);
  });

  it('sorts by any column in the engine, near the top and deep down, with a stable tiebreak', async () => {
    const sort = [{ column: 'score', direction: 'desc' as const }];
    const expected = await sqlColumn(
      `SELECT id FROM ${BIG} ORDER BY score DESC NULLS LAST, rowid LIMIT 50 OFFSET 15000`,
    );
    const deep = await client.call('table.window', { table: BIG, offset: 15_000, limit: 50, sort });
    expect(rowsOf(deep.arrow).map((r) => Number(r.id))).toEqual(expected);
    const top = await client.call('table.window', { table: BIG, offset: 0, limit: 20, sort });
    expect(rowsOf(top.arrow).map((r) => Number(r.score))).toEqual(Array(20).fill(999));
    // Windows of one order tile the table: no row twice, none missing.
    const seen = new Set<number>();
    for (let offset = 0; offset < BIG_ROWS; offset += 5000) {
      const w = await client.call('table.window', { table: BIG, offset, limit: 5000, sort });
      for (const r of rowsOf(w.arrow)) seen.add(Number(r.id));
    }
    expect(seen.size).toBe(BIG_ROWS);
    // DECIMAL travels as text, yet sorts as a number, near the top and in the sorted copy alike.
    const byAmount = [{ column: 'amount', direction: 'desc' as const }];
    const head = await client.call('table.window', { table: BIG, limit: 2, sort: byAmount });
    expect(rowsOf(head.arrow).map((r) => r.amount)).toEqual(['4999.75', '4999.50']);
    const far = await client.call('table.window', { table: BIG, offset: 1500, limit: 1, sort: byAmount });
    expect(rowsOf(far.arrow).map((r) => r.amount)).toEqual(['4624.75']);
  });

  it('filters with typed values and quoted text, counts what passes', async () => {
    const w = await client.call('table.window', {
      table: BIG,
      filters: [
        { column: 'keyword', op: 'contains', value: 'TÌM KIẾM "PHIM" SỐ 3,' },
        { column: 'score', op: 'ge', value: '500' },
      ],
      sort: [{ column: 'id', direction: 'asc' }],
      offset: 0,
      limit: 1000,
    });
    const expected = await sqlColumn(
      `SELECT id FROM ${BIG} WHERE keyword LIKE '%số 3,%' AND score >= 500 ORDER BY id`,
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(w.totalRows).toBe(expected.length);
    expect(rowsOf(w.arrow).map((r) => Number(r.id))).toEqual(expected);
    const nulls = await client.call('table.window', {
      table: BIG,
      filters: [{ column: 'keyword', op: 'is_null' }],
      limit: 1,
    });
    expect(nulls.totalRows).toBe(BIG_ROWS / 10);
    const byDate = await client.call('table.window', {
      table: BIG,
      filters: [{ column: 'day', op: 'eq', value: '2022-06-30' }],
      limit: 1,
    });
    expect(byDate.totalRows).toBe(Math.floor(BIG_ROWS / 30));
    const bad = await rejection(
      client.call('table.window', { table: BIG, filters: [{ column: 'score', op: 'gt', value: 'lots' }] }),
    );
    expect(bad.code).toBe('INVALID_ARGUMENT');
    expect(bad.message).toContain('score: "lots" is not a valid INTEGER. Give a whole number, e.g. 42.');
  });

  it('opens every layer, views included, with counts that match the tables list', async () => {
    const { tables } = await client.call('tables.list');
    for (const table of ['bronze.customer_search', 'silver.customer_search', 'gold.fact_customer_search']) {
      const info = tables.find((t) => t.name === table);
      const window = await client.call('table.window', { table, limit: 10 });
      expect(window.totalRows).toBe(info?.rows);
      expect(window.rowCount).toBe(Math.min(10, info?.rows ?? 0));
      expect(window.columns).toEqual(info?.columns);
    }
  });

  it('names the table or column that does not exist', async () => {
    const noTable = await rejection(client.call('table.window', { table: 'gold.nope' }));
    expect(noTable.code).toBe('INVALID_ARGUMENT');
    expect(noTable.message).toContain('gold.nope');
    expect(noTable.message).toContain('fact_customer_search');
    const noColumn = await rejection(
      client.call('table.window', { table: BIG, sort: [{ column: 'nope', direction: 'asc' }] }),
    );
    expect(noColumn.message).toContain('has no column "nope"');
    const injected = await rejection(client.call('table.window', { table: 'gold."; DROP TABLE x; --' }));
    expect(injected.code).toBe('INVALID_ARGUMENT');
  });

  it('profiles a number, a date and a text column', async () => {
    const score = await client.call('table.profile', { table: BIG, column: 'score' });
    expect(score).toMatchObject({
      type: 'INTEGER',
      rows: BIG_ROWS,
      nulls: 0,
      distinct: 1000,
      min: '0',
      max: '999',
    });
    expect(score.distinctApprox).toBe(false);
    expect(score.histogram).toHaveLength(20);
    expect(score.histogram?.reduce((n, b) => n + b.count, 0)).toBe(BIG_ROWS);
    // Integers and dates get whole-value bins: 50 scores each over 0..999, one per score over 0..9.
    expect(score.histogram?.[0]).toEqual({ low: '0', high: '49', count: 1000 });
    expect(score.histogram?.[19]).toEqual({ low: '950', high: '999', count: 1000 });
    const lowScores = await client.call('table.profile', {
      table: BIG,
      column: 'score',
      filters: [{ column: 'score', op: 'lt', value: '10' }],
    });
    expect(lowScores.histogram?.map((b) => [b.low, b.high, b.count])).toEqual(
      Array.from({ length: 10 }, (_, score) => [String(score), String(score), BIG_ROWS / 1000]),
    );

    // Seven scores spread over 0..919: seven bins, not 20 bins of the range that are mostly empty.
    const fewScores = await client.call('table.profile', {
      table: BIG,
      column: 'score',
      filters: [{ column: 'id', op: 'lt', value: '7' }],
    });
    expect(fewScores.histogram?.map((b) => [b.low, b.high, b.count])).toEqual(
      [0, 514, 595, 676, 757, 838, 919].map((score) => [String(score), String(score), 1]),
    );

    const day = await client.call('table.profile', { table: BIG, column: 'day' });
    expect(day).toMatchObject({ min: '2022-06-01', max: '2022-06-30', distinct: 30 });
    expect(day.histogram).toHaveLength(15);
    expect(day.histogram?.[0]).toEqual({ low: '2022-06-01', high: '2022-06-02', count: 1334 });
    expect(day.histogram?.reduce((n, b) => n + b.count, 0)).toBe(BIG_ROWS);

    const keyword = await client.call('table.profile', {
      table: BIG,
      column: 'keyword',
      filters: [{ column: 'score', op: 'lt', value: 500 }],
    });
    const [expectedNulls] = await sqlColumn(
      `SELECT count(*) FILTER (keyword IS NULL) FROM ${BIG} WHERE score < 500`,
    );
    expect(keyword.rows).toBe(BIG_ROWS / 2);
    expect(keyword.nulls).toBe(expectedNulls);
    expect(keyword.nullPercent).toBeCloseTo((100 * Number(expectedNulls)) / (BIG_ROWS / 2), 6);
    expect(keyword.histogram).toBeNull();
    expect(keyword.topValues?.[0]?.value).toBeNull();
    expect(keyword.topValues).toHaveLength(10);
  });

  it('exports a query as a CSV download with quoting, and as Parquet', async () => {
    const sql = `SELECT id, keyword FROM ${BIG} WHERE id IN (1, 2, 10) ORDER BY id`;
    const csv = await client.call('query.export', { sql, format: 'csv' });
    expect(csv).toMatchObject({ format: 'csv', rows: 3 });
    expect(csv.fileName).toMatch(/^query-\d{8}-\d{6}\.csv$/);
    expect(new TextDecoder().decode(csv.content)).toBe(
      'id,keyword\n1,"Tìm kiếm ""phim"" số 1, tập 1"\n2,"Tìm kiếm ""phim"" số 2, tập 2"\n10,\n',
    );

    const download = await client.call('query.export', { sql: `SELECT * FROM ${BIG}`, format: 'parquet' });
    expect(download.rows).toBe(BIG_ROWS);
    expect(download.fileName).toMatch(/\.parquet$/);
    expect(download.bytes).toBe(download.content.byteLength);
    const parquetPath = join(work, `download-${name}.parquet`);
    await writeFile(parquetPath, download.content);
    const [count] = await sqlColumn(`SELECT count(*) FROM read_parquet('${parquetPath}')`);
    expect(count).toBe(BIG_ROWS);

    const notQuery = await rejection(
      client.call('query.export', { sql: `DROP TABLE ${BIG}`, format: 'csv' }),
    );
    expect(notQuery.code).toBe('QUERY_ERROR');
  });

  it('refuses a NUL character in text that reaches SQL as INVALID_ARGUMENT, naming the field', async () => {
    // DuckDB's parser ends a statement at NUL: such a value used to fail inside, as an INTERNAL error.
    const nul = 'Tìm\u0000kiếm';
    const cases: [() => Promise<unknown>, string][] = [
      [
        () =>
          client.call('table.window', {
            table: BIG,
            filters: [{ column: 'keyword', op: 'contains', value: nul }],
          }),
        'filters.0.value',
      ],
      [
        () =>
          client.call('table.profile', {
            table: BIG,
            column: 'keyword',
            filters: [{ column: 'keyword', op: 'eq', value: nul }],
          }),
        'filters.0.value',
      ],
      [() => client.call('query.run', { sql: `SELECT '${nul}' AS k` }), 'sql'],
      [() => client.call('query.export', { sql: `SELECT '${nul}' AS k`, format: 'csv' }), 'sql'],
      [() => client.call('history.key', { model: 'gold.dim_user_history', key: nul }), 'key'],
      [
        () =>
          client.call('model.preview', {
            model: 'gold.dim_date',
            text: `/* config\nmaterialized: table\n*/\nSELECT '${nul}' AS k`,
          }),
        'text',
      ],
    ];
    const outcomes: unknown[] = [];
    for (const [call, field] of cases) {
      const error = await rejection(call());
      outcomes.push([field, error.code, error.details.issues]);
    }
    expect(outcomes).toEqual(
      cases.map(([, field]) => [
        field,
        'INVALID_ARGUMENT',
        [{ path: field, message: 'holds a NUL character (\\u0000), which SQL text cannot carry; remove it' }],
      ]),
    );
  });

  it('refuses a path to write the export to: the API writes no files', async () => {
    const path = join(work, `export-${name}.csv`);
    // Not a literal at the call, so the types let it through, as an untyped caller would send it.
    const input = { sql: 'SELECT 1 AS one', format: 'csv', path } as const;
    const refused = await rejection(client.call('query.export', input));
    expect(refused.code).toBe('INVALID_ARGUMENT');
    expect(refused.details.issues).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/path/) }),
    ]);
    expect(existsSync(path)).toBe(false);
  });
});

describe('exportQueryToFile (the engine function, not in the API)', () => {
  it('writes the whole result to a new file, never over an existing one', async () => {
    const path = join(work, 'export-to-file.csv');
    const written = await exportQueryToFile(
      engine.reader,
      { sql: `SELECT id FROM ${BIG} WHERE id < 3 ORDER BY id`, format: 'csv' },
      path,
    );
    expect(written).toEqual({ rows: 3, bytes: 9 });
    expect(await readFile(path, 'utf8')).toBe('id\n0\n1\n2\n');
    await expect(exportQueryToFile(engine.reader, { sql: 'SELECT 1', format: 'csv' }, path)).rejects.toThrow(
      /already exists/,
    );
  });
});

describe('position indexes', () => {
  it('serve deep sorted and filtered windows the same from row ids as from a copy', async () => {
    const fromCopy = createExplorer(engine.reader);
    const fromRowIds = createExplorer(engine.reader, { copyMaxRows: 0, chunkRows: 1000 });
    const input = {
      table: BIG,
      offset: 4321,
      limit: 300,
      sort: [{ column: 'keyword', direction: 'desc' as const }],
      filters: [{ column: 'flag', op: 'eq' as const, value: 'false' }],
    };
    const a = await fromCopy.window(input);
    const b = await fromRowIds.window(input);
    expect(b.totalRows).toBe(a.totalRows);
    expect(a.totalRows).toBe(BIG_ROWS - Math.ceil(BIG_ROWS / 3));
    expect(rowsOf(b.arrow)).toEqual(rowsOf(a.arrow));
    const expected = await engine.query(
      `SELECT id FROM ${BIG} WHERE NOT flag ORDER BY keyword DESC NULLS LAST, rowid LIMIT 300 OFFSET 4321`,
    );
    expect(rowsOf(a.arrow).map((r) => Number(r.id))).toEqual(expected.rows.map((r) => r.id));
    // A window across two chunks, and windows in chunks evicted and built again.
    for (const offset of [4900, 9990, 100, 4900]) {
      // One call at a time, as the dispatcher makes them.
      const copy = await fromCopy.window({ ...input, offset });
      const rowIds = await fromRowIds.window({ ...input, offset });
      expect(rowsOf(rowIds.arrow)).toEqual(rowsOf(copy.arrow));
      expect(rowIds.rowCount).toBe(Math.min(300, a.totalRows - offset));
    }
    fromCopy.invalidate();
    fromRowIds.invalidate();
  });
});

describe('a table with its own column named rowid', () => {
  it('pages exactly, unsorted, sorted and filtered, near the top and deep down', async () => {
    // The column hides DuckDB's rowid: windows keyed on it returned 12, 18 and 12 rows of 30, with repeats.
    const db = await openDb();
    try {
      await db.run('CREATE SCHEMA gold');
      await db.run(`CREATE TABLE gold.keyed AS SELECT i AS id, i % 5 AS "RowId" FROM range(3000) t(i)`);
      for (const options of [{}, { copyMaxRows: 0, chunkRows: 700 }]) {
        const explorer = createExplorer(db, options);
        const ids = async (
          offset: number,
          sort: { column: string; direction: 'asc' | 'desc' }[],
          odd = false,
        ) => {
          const filters = odd ? [{ column: 'id', op: 'ge' as const, value: '1500' }] : [];
          const w = await explorer.window({ table: 'gold.keyed', offset, limit: 10, sort, filters });
          return rowsOf(w.arrow).map((r) => Number(r.id));
        };
        const run = (from: number, step = 1) => Array.from({ length: 10 }, (_, i) => from + i * step);
        expect(await ids(0, [])).toEqual(run(0));
        expect(await ids(10, [])).toEqual(run(10));
        expect(await ids(2990, [])).toEqual(run(2990));
        const byId = [{ column: 'id', direction: 'desc' as const }];
        expect(await ids(20, byId)).toEqual(run(2979, -1));
        expect(await ids(2000, byId)).toEqual(run(999, -1));
        expect(await ids(1200, byId, true)).toEqual(run(1799, -1));
        // Ties on the column named rowid are broken by the row's place in the table, not by that column.
        const byRowId = [{ column: 'RowId', direction: 'asc' as const }];
        expect(await ids(0, byRowId)).toEqual(run(0, 5));
        expect(await ids(1500, byRowId)).toEqual(run(1502, 5));
        const window = await explorer.window({
          table: 'gold.keyed',
          offset: 7,
          limit: 1,
          sort: [],
          filters: [],
        });
        expect(window.columns.map((c) => c.name)).toEqual(['id', 'RowId']);
        expect(rowsOf(window.arrow)).toEqual([{ id: 7n, RowId: 2n }]);
        explorer.invalidate();
      }
    } finally {
      db.close();
    }
  });
});

describe('a run committing while the explorer reads', () => {
  it('keeps no snapshot, position index or count read before the commit', async () => {
    // The dispatcher invalidates the explorer when a run commits, maybe while a call is reading: what
    // that call read was cached after the invalidate, and the grid showed the old rows until the next run.
    const db = await openDb();
    try {
      await db.run('CREATE SCHEMA gold');
      await db.run('CREATE SCHEMA silver');
      await db.run('CREATE TABLE gold.grow AS SELECT i AS id FROM range(2000) t(i)');
      await db.run('CREATE VIEW silver.grow AS SELECT * FROM gold.grow');
      let explorer: Explorer | undefined;
      // The real database, with the commit (and its invalidate) right after the statement matching `during`.
      let during: RegExp | null = null;
      const reader = new Proxy(db, {
        get(target, property) {
          const value = Reflect.get(target, property, target);
          if (typeof value !== 'function') return value;
          if (property !== 'run' && property !== 'all' && property !== 'scalar') return value.bind(target);
          return async (sql: string, params?: never) => {
            const result = await value.call(target, sql, params);
            if (during?.test(sql)) {
              during = null;
              await db.run('INSERT INTO gold.grow SELECT 10000 + i FROM range(10) t(i)');
              explorer?.invalidate();
            }
            return result;
          };
        },
      }) as Db;
      explorer = createExplorer(reader);
      const total = async (table: string, offset: number, sort: SortKey[] = [], filters = false) =>
        (
          await (explorer as Explorer).window({
            table,
            offset,
            limit: 5,
            sort,
            filters: filters ? [{ column: 'id', op: 'ge', value: '0' }] : [],
          })
        ).totalRows;
      during = /__lakehouse_snapshot/;
      expect(await total('silver.grow', 0)).toBe(2000);
      expect(await total('silver.grow', 0)).toBe(2010);
      const sort: SortKey[] = [{ column: 'id', direction: 'desc' }];
      during = /__lakehouse_positions/;
      expect(await total('gold.grow', 1500, sort)).toBe(2010);
      expect(await total('gold.grow', 1500, sort)).toBe(2020);
      during = /SELECT count\(\*\) FROM .* WHERE/;
      expect(await total('gold.grow', 0, [], true)).toBe(2020);
      expect(await total('gold.grow', 0, [], true)).toBe(2030);
      // What was read before a commit is dropped, not left behind in the temp schema.
      explorer.invalidate();
      await total('gold.grow', 0);
      expect(Number(await db.scalar('SELECT count(*) FROM duckdb_tables() WHERE temporary'))).toBe(0);
    } finally {
      db.close();
    }
  });
});
