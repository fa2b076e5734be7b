import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnFilter } from '../../engine/api/contract.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { createExplorer, type Explorer } from '../../engine/explore/explorer.ts';
import { formatCell } from '../../renderer/src/components/DataGrid.tsx';

// The explorer's filters and profiles read a value as the grid shows it: a text filter finds what the
// analyst reads in a cell, a comparison is not cut to the column's type, a profile's min/max reads as
// the cell does. On a real DuckDB table of every temporal and fractional type.

const TABLE = 'gold.shown_values';
let db: Db;
let explorer: Explorer;

beforeAll(async () => {
  db = await openDb();
  await db.run('CREATE SCHEMA gold');
  await db.run(
    `CREATE TABLE ${TABLE} AS SELECT * FROM (VALUES
      (1, TIMESTAMP '2022-06-01 10:00:06.66', TIMESTAMP_MS '2022-06-01 10:00:06.5', TIMESTAMP_NS '2022-06-01 10:00:06.1234',
          TIMESTAMPTZ '2022-06-01 10:00:06.5+00', DATE '2022-06-01', TIMESTAMP_S '2022-06-01 10:00:06',
          CAST(0 AS DOUBLE), CAST(0.1 AS FLOAT), CAST(1.50 AS DECIMAL(10,2))),
      (2, TIMESTAMP '2022-06-02 12:00:00', TIMESTAMP_MS '2022-06-02 12:00:00', TIMESTAMP_NS '2022-06-02 12:00:00',
          TIMESTAMPTZ '2022-06-02 12:00:00+00', DATE '2022-06-02', TIMESTAMP_S '2022-06-02 12:00:00',
          CAST(1 AS DOUBLE), CAST(3 AS FLOAT), CAST(-0.05 AS DECIMAL(10,2))),
      (3, TIMESTAMP '2022-06-03 00:00:00.123456', NULL, NULL, NULL, DATE '2022-06-03', NULL,
          CAST(1e20 AS DOUBLE), CAST(2.5 AS FLOAT), CAST(10 AS DECIMAL(10,2))),
      (4, TIMESTAMP '0044-03-15 10:00:00', NULL, NULL, NULL, NULL, NULL, CAST(1e-7 AS DOUBLE), NULL, NULL),
      (5, TIMESTAMP 'infinity', NULL, NULL, NULL, NULL, NULL, CAST(0.5 AS DOUBLE), NULL, NULL)
    ) v(id, ts, ts_ms, ts_ns, tstz, day, ts_s, dbl, flt, dec)`,
  );
  explorer = createExplorer(db);
});

afterAll(() => db?.close());

/** Every row of the table as the grid shows it: column → cell text, per row id. */
async function shownRows(filters: ColumnFilter[] = []) {
  const window = await explorer.window({ table: TABLE, offset: 0, limit: 100, sort: [], filters });
  return tableFromIPC(window.arrow)
    .toArray()
    .map((row) => {
      const values = row.toJSON() as Record<string, unknown>;
      return Object.fromEntries(
        window.columns.map((c) => [c.name, formatCell(values[c.name] as never, c.type)]),
      ) as Record<string, string>;
    });
}

const ids = async (filters: ColumnFilter[]) => (await shownRows(filters)).map((r) => Number(r.id));

describe('text filters on timestamps', () => {
  it('find the text a cell shows, milliseconds padded as the grid pads them', async () => {
    const rows = await shownRows();
    for (const column of ['ts', 'ts_ms', 'ts_ns', 'tstz', 'ts_s']) {
      for (const row of rows) {
        const shown = row[column] as string;
        if (shown === '') continue;
        expect(await ids([{ column, op: 'starts_with', value: shown }]), `${column} ${shown}`).toContain(
          Number(row.id),
        );
        const tail = shown.slice(-9);
        expect(await ids([{ column, op: 'contains', value: tail }]), `${column} ${tail}`).toContain(
          Number(row.id),
        );
      }
    }
    // DuckDB's own text reads 06.66 and 12:00:00: the grid's 06.660 and 12:00:00.000 are what is searched.
    expect(await ids([{ column: 'ts', op: 'contains', value: '06.660' }])).toEqual([1]);
    expect(await ids([{ column: 'ts', op: 'contains', value: '12:00:00.000' }])).toEqual([2]);
    expect(await ids([{ column: 'ts_ns', op: 'contains', value: '06.123400' }])).toEqual([1]);
  });
});

describe('text filters on floats', () => {
  it('find the number as the grid prints it, not as DuckDB does', async () => {
    await db.run(
      `CREATE TABLE gold.floats AS SELECT * FROM (VALUES
         (1, CAST(-2495498.25 AS FLOAT), CAST(1e21 AS DOUBLE)), (2, CAST(2692761.75 AS FLOAT), CAST(-0.0 AS DOUBLE)),
         (3, CAST(3.4e38 AS FLOAT), CAST(1e-5 AS DOUBLE)), (4, CAST(1e-7 AS FLOAT), CAST(123456789012345680000 AS DOUBLE)),
         (5, CAST('nan' AS FLOAT), CAST('-inf' AS DOUBLE))) v(id, f, d)`,
    );
    const window = await explorer.window({
      table: 'gold.floats',
      offset: 0,
      limit: 10,
      sort: [],
      filters: [],
    });
    const rows = tableFromIPC(window.arrow).toArray();
    for (const column of ['f', 'd']) {
      const type = window.columns.find((c) => c.name === column)?.type as string;
      for (const row of rows) {
        const shown = formatCell(row[column], type);
        const found = await explorer.window({
          table: 'gold.floats',
          offset: 0,
          limit: 10,
          sort: [],
          filters: [{ column, op: 'starts_with', value: shown }],
        });
        expect(
          tableFromIPC(found.arrow)
            .toArray()
            .map((r) => r.id),
          `${column} ${shown}`,
        ).toContain(row.id);
      }
    }
    // DuckDB's text of the table's first doubles: 0.0, 1.0, 1e+20, 1e-07 and 0.5.
    expect(await ids([{ column: 'dbl', op: 'contains', value: '0.0' }])).toEqual([]);
    expect(await ids([{ column: 'dbl', op: 'contains', value: '00000000000' }])).toEqual([3]);
    expect(await ids([{ column: 'dbl', op: 'eq', value: '1e20' }])).toEqual([3]);
  });
});

describe('comparisons', () => {
  it('compare a date with a date and time as timestamps, not with the value cut to its day', async () => {
    expect(await ids([{ column: 'day', op: 'lt', value: '2022-06-02 12:00' }])).toEqual([1, 2]);
    expect(await ids([{ column: 'day', op: 'ge', value: '2022-06-02 12:00' }])).toEqual([3]);
    expect(await ids([{ column: 'day', op: 'eq', value: '2022-06-02 12:00' }])).toEqual([]);
    expect(await ids([{ column: 'day', op: 'eq', value: '2022-06-02 00:00' }])).toEqual([2]);
    expect(await ids([{ column: 'day', op: 'le', value: '2022-06-02' }])).toEqual([1, 2]);
  });

  it('keep the fraction of a value given to seconds, milliseconds, whole numbers and decimals', async () => {
    // Cast to the column's type, these values round up onto row 2's and row 1's.
    expect(await ids([{ column: 'ts_s', op: 'le', value: '2022-06-02 11:59:59.7' }])).toEqual([1]);
    expect(await ids([{ column: 'ts_ms', op: 'le', value: '2022-06-01 10:00:06.4996' }])).toEqual([]);
    expect(await ids([{ column: 'id', op: 'le', value: '2.5' }])).toEqual([1, 2]);
    expect(await ids([{ column: 'id', op: 'eq', value: '2.0' }])).toEqual([2]);
    expect(await ids([{ column: 'dec', op: 'le', value: '1.495' }])).toEqual([2]);
  });

  it('compare whole numbers and decimals exactly, past the type range and past 2^53 too', async () => {
    // Cast to the column's type, 1000 on a TINYINT was refused ("Give a whole number"); compared as
    // DOUBLE, a fraction on a BIGINT past 2^53 or a DECIMAL(38,2) moved onto a neighbouring value.
    await db.run(
      `CREATE TABLE gold.exact AS SELECT i AS id, i::TINYINT AS tiny, i::UINTEGER AS unsigned,
         (9007199254740992 + i)::BIGINT AS big, (i * 1.5)::DECIMAL(4,2) AS small,
         (1234567890123456789.12 + i)::DECIMAL(38,2) AS wide
       FROM range(1, 6) t(i)`,
    );
    const exact = async (column: string, op: ColumnFilter['op'], value: string) => {
      const filters = [{ column, op, value }];
      const window = await explorer.window({ table: 'gold.exact', offset: 0, limit: 10, sort: [], filters });
      return tableFromIPC(window.arrow)
        .toArray()
        .map((row) => Number(row.toJSON().id));
    };
    expect(await exact('tiny', 'lt', '1000')).toEqual([1, 2, 3, 4, 5]);
    expect(await exact('tiny', 'gt', '1000')).toEqual([]);
    expect(await exact('tiny', 'ge', '-1e3')).toEqual([1, 2, 3, 4, 5]);
    expect(await exact('unsigned', 'gt', '-1')).toEqual([1, 2, 3, 4, 5]);
    expect(await exact('unsigned', 'eq', '-1')).toEqual([]);
    expect(await exact('small', 'ne', '1000')).toEqual([1, 2, 3, 4, 5]);
    expect(await exact('big', 'lt', '9007199254740995.5')).toEqual([1, 2, 3]);
    expect(await exact('big', 'le', '9007199254740994.5')).toEqual([1, 2]);
    expect(await exact('big', 'gt', '9007199254740993.5')).toEqual([2, 3, 4, 5]);
    expect(await exact('big', 'ge', '9007199254740993.5')).toEqual([2, 3, 4, 5]);
    expect(await exact('big', 'eq', '9007199254740993.5')).toEqual([]);
    expect(await exact('big', 'ne', '9007199254740993.5')).toEqual([1, 2, 3, 4, 5]);
    expect(await exact('big', 'lt', '1e19')).toEqual([1, 2, 3, 4, 5]);
    expect(await exact('big', 'eq', '9007199254740994.000')).toEqual([2]);
    expect(await exact('wide', 'lt', '1234567890123456791.125')).toEqual([1, 2]);
    expect(await exact('wide', 'gt', '1234567890123456791.125')).toEqual([3, 4, 5]);
    expect(await exact('small', 'le', '-0.001')).toEqual([]);
    expect(await exact('small', 'lt', '3.001')).toEqual([1, 2]);
  });

  it('still refuse a value that is not one, naming the column and how to write one', async () => {
    await expect(ids([{ column: 'day', op: 'lt', value: 'June 2nd' }])).rejects.toThrow(
      /gold\.shown_values\.day: "June 2nd" is not a valid DATE\. Give a date as YYYY-MM-DD/,
    );
    await expect(ids([{ column: 'id', op: 'lt', value: 'two' }])).rejects.toThrow(
      /shown_values\.id: "two" is not a valid INTEGER\. Give a whole number/,
    );
  });
});

describe("a profile's min and max", () => {
  it('read as the grid shows those values, for floats, decimals, dates and timestamps', async () => {
    const rows = await shownRows();
    const expected: Record<string, [string, string]> = {
      dbl: ['0', '100000000000000000000'], // DuckDB's text: 0.0 and 1e+20
      flt: ['0.1', '3'], // 3.0
      dec: ['-0.05', '10.00'],
      day: ['2022-06-01', '2022-06-03'],
      ts: ['0044-03-15 10:00:00.000', 'infinity'], // 10:00:00
      ts_ms: ['2022-06-01 10:00:06.500', '2022-06-02 12:00:00.000'], // 06.5 and 12:00:00
      ts_ns: ['2022-06-01 10:00:06.123400', '2022-06-02 12:00:00.000'],
      tstz: ['2022-06-01 10:00:06.500+00', '2022-06-02 12:00:00.000+00'],
      ts_s: ['2022-06-01 10:00:06', '2022-06-02 12:00:00'],
    };
    for (const [column, [min, max]] of Object.entries(expected)) {
      const profile = await explorer.profile({ table: TABLE, column, filters: [] });
      expect([profile.min, profile.max], column).toEqual([min, max]);
      const cells = rows.map((r) => r[column]);
      expect(cells, column).toContain(min);
      expect(cells, column).toContain(max);
    }
  });

  it('profile a float column holding NaN and infinity', async () => {
    await db.run(
      `CREATE TABLE gold.odd_floats AS SELECT * FROM (VALUES (CAST('nan' AS DOUBLE), TIMESTAMP '2022-06-01 00:00:00'),
         (CAST('inf' AS DOUBLE), TIMESTAMP '2022-06-01 10:00:00'), (CAST(-1.5 AS DOUBLE), TIMESTAMP '2022-06-01 20:00:00'),
         (CAST(2 AS DOUBLE), NULL)) v(x, ts)`,
    );
    const x = await explorer.profile({ table: 'gold.odd_floats', column: 'x', filters: [] });
    expect([x.min, x.max]).toEqual(['-1.5', 'NaN']); // DuckDB orders NaN above infinity
    expect(x.histogram?.[0]?.low).toBe('-1.5');
    expect(x.histogram?.at(-1)?.high).toBe('2');
  });

  it("label a timestamp histogram's bins with milliseconds, as the grid shows the values", async () => {
    const ts = await explorer.profile({ table: 'gold.odd_floats', column: 'ts', filters: [] });
    expect(ts.histogram?.[0]?.low).toBe('2022-06-01 00:00:00.000');
    expect(ts.histogram?.at(-1)?.high).toBe('2022-06-01 20:00:00.000');
  });
});

describe("a profile's histogram", () => {
  it('labels the one bin of a column holding one value as the grid shows that value', async () => {
    await db.run(
      `CREATE TABLE gold.one_value AS SELECT CAST(123456789.125 AS DOUBLE) AS d, CAST(1.5 AS DECIMAL(10,2)) AS m,
         TIMESTAMP '2022-06-01 10:00:06.66' AS ts FROM range(3)`,
    );
    const labels = async (column: string) => {
      const { histogram } = await explorer.profile({ table: 'gold.one_value', column, filters: [] });
      return histogram?.map((b) => [b.low, b.high, b.count]);
    };
    expect(await labels('d')).toEqual([['123456789.125', '123456789.125', 3]]); // was 123457000
    expect(await labels('m')).toEqual([['1.50', '1.50', 3]]); // was 1.5
    expect(await labels('ts')).toEqual([['2022-06-01 10:00:06.660', '2022-06-01 10:00:06.660', 3]]);
  });

  it('labels the bins of a few whole values with their exact text, a BIGINT past 2^53 included', async () => {
    await db.run(
      `CREATE TABLE gold.wide_keys AS SELECT * FROM (VALUES (CAST(9007199254740993 AS BIGINT), DATE '2022-06-01'),
         (CAST(9007199254740995 AS BIGINT), DATE '2022-06-03'), (CAST(-7 AS BIGINT), DATE '2022-06-03')) v(k, d)`,
    );
    const k = await explorer.profile({ table: 'gold.wide_keys', column: 'k', filters: [] });
    expect(k.histogram?.map((b) => [b.low, b.count])).toEqual([
      ['-7', 1],
      ['9007199254740993', 1], // was 9007199254740992
      ['9007199254740995', 1], // was 9007199254740996
    ]);
    const d = await explorer.profile({ table: 'gold.wide_keys', column: 'd', filters: [] });
    expect(d.histogram?.map((b) => [b.low, b.high, b.count])).toEqual([
      ['2022-06-01', '2022-06-01', 1],
      ['2022-06-03', '2022-06-03', 2],
    ]);
  });
});

describe("a profile's histogram with outliers", () => {
  // 1,001 values a minute apart (0..1000) and five far away, as the sample's rows dated weeks or months
  // off: bins over min..max put 1,001 of 1,006 rows in one bin.
  beforeAll(async () => {
    await db.run(
      `CREATE TABLE gold.outliers AS
       SELECT TIMESTAMP '2022-06-01 00:00:00' + to_minutes(i) AS ts, CAST(i AS DOUBLE) AS x FROM range(1001) t(i)
       UNION ALL SELECT * FROM (VALUES (TIMESTAMP '2022-01-21 16:41:17.471', CAST(-500000 AS DOUBLE)),
         (TIMESTAMP '2022-03-02 08:00:00', CAST(-7000 AS DOUBLE)), (TIMESTAMP '2022-11-01 00:00:00', CAST(90000 AS DOUBLE)),
         (TIMESTAMP '2022-12-24 23:59:59.5', CAST(1e6 AS DOUBLE)), (TIMESTAMP '2023-01-23 12:20:18.395', CAST(2.5e6 AS DOUBLE)))`,
    );
  });

  const bins = async (column: string) => {
    const { histogram } = await explorer.profile({ table: 'gold.outliers', column, filters: [] });
    return histogram?.map((b) => [b.overflow ?? '', b.low, b.high, b.count]);
  };
  // 20 bins of 50 minutes over the 1,001 values inside the fences; the last one ends at the last value.
  const innerCounts = [...Array(19).fill(50), 51];

  it('puts timestamps weeks away into a below and an above bin, and the rest into bins of their range', async () => {
    const histogram = await bins('ts');
    expect(histogram?.[0]).toEqual(['below', '2022-01-21 16:41:17.471', '2022-03-02 08:00:00.000', 2]);
    expect(histogram?.[1]).toEqual(['', '2022-06-01 00:00:00.000', '2022-06-01 00:50:00.000', 50]);
    expect(histogram?.[20]).toEqual(['', '2022-06-01 15:50:00.000', '2022-06-01 16:40:00.000', 51]);
    expect(histogram?.at(-1)).toEqual(['above', '2022-11-01 00:00:00.000', '2023-01-23 12:20:18.395', 3]);
    expect(histogram?.slice(1, -1).map((b) => b[3])).toEqual(innerCounts);
  });

  it('does the same for numbers', async () => {
    const histogram = await bins('x');
    expect(histogram?.[0]).toEqual(['below', '-500000', '-7000', 2]);
    expect(histogram?.[1]).toEqual(['', '0', '50', 50]);
    expect(histogram?.at(-1)).toEqual(['above', '90000', '2500000', 3]);
    expect(histogram?.slice(1, -1).map((b) => b[3])).toEqual(innerCounts);
  });

  it('keeps every value in the equal-width bins when none is far out, and counts filtered rows only', async () => {
    const { histogram } = await explorer.profile({
      table: 'gold.outliers',
      column: 'x',
      filters: [
        { column: 'x', op: 'ge', value: '0' },
        { column: 'x', op: 'le', value: '1000' },
      ],
    });
    expect(histogram?.map((b) => b.count)).toEqual(innerCounts);
    expect(histogram?.some((b) => b.overflow)).toBe(false);
  });
});

describe('a TIMESTAMP WITH TIME ZONE profile', () => {
  it("labels its bins in the session's time zone with the offset, as the grid shows the values", async () => {
    const zoned = await openDb();
    try {
      await zoned.run(`SET TimeZone = 'Asia/Ho_Chi_Minh'`);
      await zoned.run('CREATE SCHEMA gold');
      await zoned.run(
        `CREATE TABLE gold.zoned AS SELECT TIMESTAMPTZ '2022-06-01 10:00:00+00' + to_minutes(i * 3) AS at FROM range(100) t(i)`,
      );
      const profile = await createExplorer(zoned).profile({ table: 'gold.zoned', column: 'at', filters: [] });
      expect([profile.min, profile.max]).toEqual([
        '2022-06-01 17:00:00.000+07',
        '2022-06-01 21:57:00.000+07',
      ]);
      expect(profile.histogram?.[0]?.low).toBe('2022-06-01 17:00:00.000+07'); // was 10:00:00.000, UTC
      expect(profile.histogram?.at(-1)?.high).toBe('2022-06-01 21:57:00.000+07');
    } finally {
      zoned.close();
    }
  });
});
