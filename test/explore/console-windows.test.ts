import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryResult } from '../../engine/api/contract.ts';
import type { Dispatcher } from '../../engine/api/dispatcher.ts';
import { createConsoleQueries } from '../../engine/explore/query.ts';
import { rejection, type ServedProject, serveGeneratedProject } from '../helpers/api.ts';

// The SQL console reads a result window by window from one execution of its query, so scrolling never
// shows a row twice or misses one, even when the query's row order changes from run to run.

// A new order every time the query runs: windows from separate executions would repeat and miss rows.
const SHUFFLED = 'SELECT n FROM range(30000) t(n) ORDER BY random()';

let served: ServedProject;
let dispatcher: Dispatcher;

beforeAll(async () => {
  served = await serveGeneratedProject({ prefix: 'lakehouse-console-windows-', days: 1, rowsPerDay: 50 });
  ({ dispatcher } = served);
});

afterAll(() => served?.close());

const window = (sql: string, offset: number, limit = 1000) =>
  dispatcher.call('query.run', { sql, offset, limit }) as Promise<QueryResult>;

describe('SQL console windows', () => {
  it('read in order, they hold every row of the result exactly once', async () => {
    const first = await window(SHUFFLED, 0);
    expect(first).toMatchObject({ hasMore: true, total: 30_000 });
    const seen = first.rows.map((r) => r.n);
    let last = first;
    const totals = new Set<number | null>();
    while (last.hasMore) {
      last = await window(SHUFFLED, seen.length);
      seen.push(...last.rows.map((r) => r.n));
      totals.add(last.total);
    }
    expect(seen).toHaveLength(30_000);
    expect(new Set(seen).size).toBe(30_000);
    // Every later window knows the total the first counted.
    expect([...totals]).toEqual([30_000]);
    // Past the end of a result read to the end: nothing more, and the total stays.
    expect(await window(SHUFFLED, 30_000)).toMatchObject({ rows: [], hasMore: false, total: 30_000 });
  });

  it('a window at another offset runs the query again and skips to it', async () => {
    const sql = 'SELECT n FROM range(10) t(n) ORDER BY n';
    expect((await window(sql, 0, 3)).rows).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect(await window(sql, 7, 2)).toMatchObject({ rows: [{ n: 7 }, { n: 8 }], hasMore: true });
    expect(await window(sql, 2, 2)).toMatchObject({ rows: [{ n: 2 }, { n: 3 }], hasMore: true });
    expect(await window(sql, 4, 100)).toMatchObject({
      rows: [{ n: 4 }, { n: 5 }, { n: 6 }, { n: 7 }, { n: 8 }, { n: 9 }],
      hasMore: false,
      total: 10,
    });
  });

  it('an error partway through the result fails that window clearly, and the console answers after', async () => {
    const failing =
      "SELECT n, CASE WHEN n = 25000 THEN error('row 25000 is bad') ELSE n END AS m FROM range(30000) t(n)";
    let offset = 0;
    const error = await rejection(
      (async () => {
        for (;;) {
          const result = await window(failing, offset);
          offset += result.rows.length;
          if (!result.hasMore) return result;
        }
      })(),
    );
    expect(error).toMatchObject({ code: 'QUERY_ERROR', details: { sql: failing } });
    expect(error.message).toContain('row 25000 is bad');
    expect((await window('SELECT 42 AS n', 0)).rows).toEqual([{ n: 42 }]);
  });

  it('a cast failing on a later row fails the window that reaches it, not ends the result early', async () => {
    // @duckdb/node-api ends such a streamed result as if complete: 114,688 of 200,000 rows, no error.
    const failing = `SELECT n, CAST(CASE WHEN n < 199999 THEN '1' ELSE 'x' END AS INTEGER) AS m FROM range(200000) t(n)`;
    let offset = 0;
    const error = await rejection(
      (async () => {
        for (;;) {
          const result = await window(failing, offset, 10_000);
          offset += result.rows.length;
          if (!result.hasMore) return result;
        }
      })(),
    );
    expect(error).toMatchObject({ code: 'QUERY_ERROR', details: { sql: failing } });
    expect(error.message).toBe("Conversion Error: Could not convert string 'x' to INT32");
    expect((await window('SELECT 42 AS n', 0)).rows).toEqual([{ n: 42 }]);
  });

  it('a pipeline run lets the open result go: reading on says so, and running the query again works', async () => {
    const first = await window(SHUFFLED, 0);
    expect(first.hasMore).toBe(true);
    const finished = new Promise<void>((resolve) => {
      const stop = dispatcher.subscribe((event) => {
        if (event.type === 'run.finished') {
          stop();
          resolve();
        }
      });
    });
    await dispatcher.call('pipeline.run', { dates: served.dates });
    await finished;
    const stale = await rejection(window(SHUFFLED, 1000));
    expect(stale).toMatchObject({ code: 'QUERY_ERROR', details: { reason: 'result-released' } });
    expect(stale.message).toMatch(
      /let go when a pipeline run started; rows from 1001 on .*Run the query again/,
    );
    expect(await window(SHUFFLED, 0)).toMatchObject({ hasMore: true, total: 30_000 });
    expect((await window(SHUFFLED, 1000)).rows).toHaveLength(1000);
  });
});

describe('SQL console open results', () => {
  it('each of a few consoles reads on in its own result; the oldest gives way to newer ones', async () => {
    const queries = [0, 1, 2, 3].map(
      (i) => `SELECT n, ${i} AS console FROM range(5000) t(n) ORDER BY random()`,
    );
    const seen = queries.map(() => [] as unknown[]);
    // Four consoles take turns, a window each.
    for (let offset = 0; offset < 5000; offset += 500) {
      for (const [i, sql] of queries.entries()) {
        seen[i]!.push(...(await window(sql, offset, 500)).rows.map((r) => r.n));
      }
    }
    for (const rows of seen) expect(new Set(rows).size).toBe(5000);

    const fresh = queries.map((sql) => `${sql} -- again`);
    for (const sql of fresh) await window(sql, 0, 500);
    await window(SHUFFLED, 0, 500);
    const evicted = await rejection(window(fresh[0]!, 500, 500));
    expect(evicted).toMatchObject({ code: 'QUERY_ERROR', details: { reason: 'result-released' } });
    expect(evicted.message).toContain('let go when 4 newer queries took its place');
    expect((await window(fresh[1]!, 500, 500)).rows).toHaveLength(500);
  });

  it('an interrupt before the query reaches DuckDB still stops it (no statement ran to take it)', async () => {
    const consoles = createConsoleQueries(() => served.engine.openReader());
    try {
      // Ten billion row pairs: only a cancel ends it within the test's time.
      const slow = consoles.window({
        sql: 'SELECT count(*) AS n FROM range(100000) a CROSS JOIN range(100000) b WHERE a.range + b.range < 0',
        limit: 10,
        offset: 0,
      });
      consoles.interrupt();
      expect(await rejection(slow)).toMatchObject({ code: 'QUERY_CANCELLED' });
      // Only the query asked for before the interrupt stops: the next one runs.
      expect((await consoles.window({ sql: 'SELECT 42 AS n', limit: 10, offset: 0 })).rows).toEqual([
        { n: 42 },
      ]);
    } finally {
      await consoles.close();
    }
  }, 20_000);

  it('a result not read for a while is let go', async () => {
    // Long enough that a loaded machine reads the second window in time, short enough to wait out.
    const consoles = createConsoleQueries(() => served.engine.openReader(), { idleMs: 2000 });
    try {
      const input = { sql: SHUFFLED, limit: 1000, offset: 0 };
      expect((await consoles.window(input)).hasMore).toBe(true);
      expect((await consoles.window({ ...input, offset: 1000 })).rows).toHaveLength(1000);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const idle = await rejection(consoles.window({ ...input, offset: 2000 }));
      expect(idle).toMatchObject({ code: 'QUERY_ERROR', details: { reason: 'result-released' } });
      expect(idle.message).toContain('let go when it was not read for 0 minutes');
    } finally {
      await consoles.close();
    }
  });
  it("gives infinite dates as DuckDB prints them, not as the client library's sentinel dates", async () => {
    const result = await window("SELECT DATE 'infinity' AS up, [DATE '-infinity'] AS down", 0);
    expect(result.rows).toEqual([{ up: 'infinity', down: ['-infinity'] }]);
  });
});
