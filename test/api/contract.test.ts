import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  type ErrorCode,
  LakehouseEvent,
  type Materialization,
  type MethodName,
  type PublishProgressEvent,
  type RunFinishedEvent,
  type RunProgressEvent,
} from '../../engine/api/contract.ts';
import { createDispatcher } from '../../engine/api/dispatcher.ts';
import type { ErrorCode as EngineErrorCode } from '../../engine/api/errors.ts';
import { createEngine } from '../../engine/engine.ts';
import type { Materialization as EngineMaterialization } from '../../engine/project/models.ts';
import { type Client, createClient } from '../../renderer/src/api/client.ts';
import { startServer } from '../../server/http-server.ts';
import { bothTransports, rejection, type ServedProject, serveGeneratedProject } from '../helpers/api.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// One contract suite, run against every transport over the same dispatcher (DESIGN §3: one contract,
// two transports). Each transport's suite runs the pipeline itself, so the suites share nothing but data.

const MODELS = [
  'bronze.customer_search',
  'gold.bridge_user_plan',
  'gold.dim_category',
  'gold.dim_date',
  'gold.dim_network',
  'gold.dim_platform',
  'gold.dim_subscription',
  'gold.dim_user',
  'gold.dim_user_history',
  'gold.fact_customer_search',
  'silver.customer_search',
  'silver.keyword_match',
  'silver.user_plans_map',
];

let served: ServedProject;
let dates: string[];

beforeAll(async () => {
  served = await serveGeneratedProject({
    prefix: 'lakehouse-api-',
    days: 3,
    rowsPerDay: 500,
    staticDir: async (work) => {
      const staticDir = join(work, 'static');
      await mkdir(staticDir);
      await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>test</title>');
      return staticDir;
    },
  });
  dates = served.dates;
});

afterAll(() => served?.close());

const transports = bothTransports(() => served);

/** Calls a method by a name the contract does not know (the typed client refuses it at compile time). */
function callUnknown(client: Client, method: string, input: unknown): Promise<unknown> {
  return (client.call as (method: string, input: unknown) => Promise<unknown>)(method, input);
}

describe.each(transports)('the contract over the %s transport', (transportName, makeTransport) => {
  let client: Client;
  const events: LakehouseEvent[] = [];
  const waiters = new Set<() => void>();

  /** The run's events so far, once its run.finished has arrived. */
  const runEvents = async (runId: string) => {
    const finished = () => events.some((e) => e.type === 'run.finished' && e.runId === runId);
    if (!finished()) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no run.finished for ${runId}`)), 60_000);
        const check = () => {
          if (!finished()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    }
    const mine = events.filter(
      (e): e is RunProgressEvent | RunFinishedEvent => e.type !== 'publish.progress' && e.runId === runId,
    );
    return {
      progress: mine.filter((e): e is RunProgressEvent => e.type === 'run.progress'),
      finished: mine.find((e): e is RunFinishedEvent => e.type === 'run.finished')!,
    };
  };

  beforeAll(async () => {
    client = createClient(makeTransport());
    client.onEvent((event) => {
      // Every event must be a contract event as it arrived (the client also filters, so check here).
      expect(LakehouseEvent.safeParse(event).success).toBe(true);
      events.push(event);
      for (const check of [...waiters]) check();
    });
    await client.ready();
  });
  afterAll(() => client?.close());

  it('project.info lists the 13 models with their graph, and the dates the sources have', async () => {
    const info = await client.call('project.info');
    expect(info.name).toBe('customer-search');
    expect(info.models.map((m) => m.id).sort()).toEqual(MODELS);
    expect(info.availableDates).toEqual(dates);
    expect(info.activeRunId).toBeNull();
    expect(info.sourceError).toBeNull();
    // Where each reads, as lakehouse.yaml says.
    expect(info.sources).toEqual([
      {
        name: 'customer_search_log',
        kind: 'daily_parquet',
        location: expect.stringMatching(/customer_search_log_data$/),
      },
      { name: 'title_catalog', kind: 'file', location: expect.stringMatching(/\.csv$/) },
    ]);
    const bronze = info.models.find((m) => m.id === 'bronze.customer_search');
    expect(bronze).toMatchObject({
      layer: 'bronze',
      materialized: 'partition',
      upstream: [],
      sources: ['customer_search_log'],
      file: join('models', 'bronze', 'customer_search.sql'),
    });
    const fact = info.models.find((m) => m.id === 'gold.fact_customer_search');
    expect(fact).toMatchObject({
      layer: 'gold',
      materialized: 'append',
      role: 'fact',
      uniqueKey: ['event_id'],
    });
    expect(fact?.upstream).toContain('silver.customer_search');
    expect(fact?.relationships).toContainEqual({
      column: 'date_key',
      to: 'gold.dim_date',
      field: 'date_key',
    });
    // Graph order: every model comes after what it reads.
    const position = new Map(info.models.map((m, i) => [m.id, i]));
    for (const m of info.models)
      for (const up of m.upstream) expect(position.get(up)).toBeLessThan(position.get(m.id)!);
  });

  it('pipeline.run answers with the run id, streams progress, and finishes with success', async () => {
    const started = await client.call('pipeline.run', { dates });
    expect(started.runId).toMatch(/^\d{8}T\d{6}-[0-9a-f]{6}$/);
    expect(started.total).toBe(13 * dates.length);
    const { progress, finished } = await runEvents(started.runId);

    expect(progress[0]).toMatchObject({ kind: 'run-start', done: 0, total: started.total });
    expect(progress.at(-1)).toMatchObject({ kind: 'run-done', done: started.total, total: started.total });
    const done = progress.filter((e) => e.kind === 'model-done');
    expect(done).toHaveLength(started.total);
    expect(done.map((e) => e.done)).toEqual(done.map((_, i) => i + 1));
    expect(done.every((e) => e.record?.status === 'success' && e.record.etlDate === e.date)).toBe(true);
    expect(progress.filter((e) => e.kind === 'date-committed').map((e) => e.date)).toEqual(dates);
    const bronze = done.find((e) => e.model === 'bronze.customer_search' && e.date === dates[0]);
    expect(bronze?.record).toMatchObject({ rowsIn: 500, rowsOut: 500 });

    expect(finished.summary).toMatchObject({ runId: started.runId, status: 'success', dates });
    expect(finished.summary.error).toBeUndefined();
    expect(finished.summary.models).toHaveLength(started.total);
  });

  it('tables.list shows every layer with row counts that queries agree with', async () => {
    const { tables } = await client.call('tables.list');
    const names = tables.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(MODELS));
    expect(names.some((n) => n.startsWith('quarantine.'))).toBe(true);
    const fact = tables.find((t) => t.name === 'gold.fact_customer_search');
    expect(fact).toMatchObject({
      layer: 'gold',
      kind: 'table',
      materialized: 'append',
      model: join('models', 'gold', 'fact_customer_search.sql'),
      partitions: null,
    });
    expect(fact?.columns.find((c) => c.name === 'datetime_log')).toEqual({
      name: 'datetime_log',
      type: 'TIMESTAMP',
    });
    expect(tables.find((t) => t.name === 'bronze.customer_search')).toMatchObject({
      rows: 1500,
      partitions: 3,
    });
    const counted = await client.call('query.run', { sql: 'SELECT count(*) AS n FROM fact_customer_search' });
    expect(counted.rows).toEqual([{ n: fact?.rows }]);
  });

  it('runs.list gives the latest runs first, with their models', async () => {
    const { runs } = await client.call('runs.list', { limit: 1 });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      status: 'success',
      dates: dates.join(','),
      selection: 'all',
      error: null,
    });
    expect(runs[0]?.models).toHaveLength(13 * dates.length);
    const fact = runs[0]?.models.find(
      (m) => m.model === 'gold.fact_customer_search' && m.etlDate === dates[0],
    );
    expect(fact?.tests.find((t) => t.name.startsWith('unique('))).toMatchObject({
      passed: true,
      failingRows: 0,
    });
  });

  it('publish.iceberg.run streams publish.progress events up to done = total', async () => {
    const before = events.length;
    const warehouse = join(served.work, `warehouse-${transportName}`);
    const published = await client.call('publish.iceberg.run', { warehouse });
    const progress = () =>
      events.slice(before).filter((e): e is PublishProgressEvent => e.type === 'publish.progress');
    // Over HTTP the last events may arrive after the reply.
    await expect.poll(() => progress().at(-1)?.done).toBe(published.tables.length);
    expect(progress().every((e) => e.target === 'iceberg' && e.total === published.tables.length)).toBe(true);
    expect(progress().map((e) => e.table)).toEqual(
      expect.arrayContaining(published.tables.map((t) => t.table)),
    );
  });

  it('query.run returns JSON-safe values and windows of rows', async () => {
    const result = await client.call('query.run', {
      sql: `SELECT 42::BIGINT AS big, 12345678901234567890::UBIGINT AS huge, 1.50::DECIMAL(10,2) AS price,
                   DATE '2022-06-01' AS day, TIMESTAMP '2022-06-02 20:40:36.178' AS at, [1, 2] AS list,
                   {'genre': 'Hành động'} AS struct, NULL AS nothing, 'NaN'::DOUBLE AS nan, true AS flag;`,
    });
    expect(result.rows).toEqual([
      {
        big: 42,
        huge: '12345678901234567890',
        price: '1.50',
        day: '2022-06-01',
        at: '2022-06-02 20:40:36.178',
        list: [1, 2],
        struct: { genre: 'Hành động' },
        nothing: null,
        nan: 'NaN',
        flag: true,
      },
    ]);
    expect(JSON.parse(JSON.stringify(result.rows))).toEqual(result.rows);
    expect(result.columns.slice(0, 4)).toEqual([
      { name: 'big', type: 'BIGINT' },
      { name: 'huge', type: 'UBIGINT' },
      { name: 'price', type: 'DECIMAL(10,2)' },
      { name: 'day', type: 'DATE' },
    ]);
    expect(result).toMatchObject({ offset: 0, limit: 1000, hasMore: false, total: 1 });

    const window = await client.call('query.run', {
      sql: 'SELECT n FROM range(10) t(n) ORDER BY n',
      limit: 3,
      offset: 4,
    });
    expect(window).toMatchObject({
      rows: [{ n: 4 }, { n: 5 }, { n: 6 }],
      offset: 4,
      limit: 3,
      hasMore: true,
      total: null,
    });
    // The first window counts the whole result, so the console can say how many rows there are.
    const first = await client.call('query.run', {
      sql: 'SELECT n FROM range(10) t(n) ORDER BY n',
      limit: 3,
    });
    expect(first).toMatchObject({ hasMore: true, total: 10 });
    // A result quick to page but slow to count gets no total, and the count does not hold up later reads.
    const crossJoin = 'SELECT a.range AS a, b.range AS b FROM range(1000000) a, range(1000000) b';
    const uncounted = await client.call('query.run', { sql: crossJoin, limit: 2 });
    expect(uncounted).toMatchObject({ hasMore: true, total: null });
    expect((await client.call('query.run', { sql: 'SELECT 1 AS one' })).rows).toEqual([{ one: 1 }]);
    const last = await client.call('query.run', {
      sql: 'SELECT n FROM range(10) t(n) ORDER BY n',
      limit: 3,
      offset: 8,
    });
    expect(last).toMatchObject({ rows: [{ n: 8 }, { n: 9 }], hasMore: false, total: 10 });
  });

  it('query.run refuses what is not one read-only query, and reports SQL errors as QUERY_ERROR', async () => {
    const missing = await rejection(client.call('query.run', { sql: 'SELECT * FROM no_such_table' }));
    expect(missing).toMatchObject({ code: 'QUERY_ERROR', details: { sql: 'SELECT * FROM no_such_table' } });
    expect(missing.message).toMatch(/no_such_table/);
    // The error is the user's text's: no wrapper query in its excerpt, no catalog internals suggested.
    expect(missing.message).toContain('LINE 1: SELECT * FROM no_such_table\n');
    expect(missing.message).not.toMatch(/__query|SELECT \* FROM \(|pg_tables/);
    const typo = await rejection(client.call('query.run', { sql: 'SELECT *\nFROM dim_usr' }));
    expect(typo.message).toMatch(/Did you mean gold\.dim_user\?\n\nLINE 2: FROM dim_usr\n/);
    // An error only running finds has no excerpt to point into the user's text with.
    const conversion = await rejection(client.call('query.run', { sql: "SELECT 'x'::INTEGER + 1 AS n" }));
    expect(conversion.message).toMatch(/^Conversion Error/);
    expect(conversion.message).not.toMatch(/LINE|__query/);
    const syntax = await rejection(client.call('query.run', { sql: 'SELEC 1' }));
    expect(syntax).toMatchObject({ code: 'QUERY_ERROR', details: { reason: 'syntax' } });
    const drop = await rejection(client.call('query.run', { sql: 'DROP TABLE gold.dim_user' }));
    expect(drop).toMatchObject({ code: 'QUERY_ERROR', details: { reason: 'not-a-query' } });
    expect(drop.message).toMatch(/^The SQL console is read-only: .*edit a model and run it/);
    expect(drop.message).not.toMatch(/query\.run/);
    const two = await rejection(client.call('query.run', { sql: 'SELECT 1; DROP TABLE gold.dim_user' }));
    expect(two.code).toBe('QUERY_ERROR');
    const still = await client.call('query.run', { sql: 'SELECT count(*) AS n FROM gold.dim_user' });
    expect(still.rows[0]?.n).toBeGreaterThan(0);
  });

  // A SELECT over DuckDB's profiling or logging functions wrote files at any path the caller named.
  it('query.run and query.export refuse functions that write files or run SQL text, writing nothing', async () => {
    const dir = await tempDir();
    try {
      const profile = join(dir, 'profile.json');
      const writers = [
        `SELECT * FROM enable_profiling(save_location := '${profile}', format := 'json')`,
        `SELECT * FROM query('SELECT * FROM enable_logging(storage := ''file'', storage_path := ''${dir}'')')`,
        'SELECT count(*) AS n FROM dim_user WHERE user_id IN (SELECT * FROM CHECKPOINT())',
      ];
      for (const sql of writers) {
        for (const call of [
          () => client.call('query.run', { sql }),
          () => client.call('query.export', { sql, format: 'csv' }),
        ]) {
          const refused = await rejection(call());
          expect(refused).toMatchObject({ code: 'QUERY_ERROR', details: { reason: 'writing-function' } });
          expect(refused.message).toMatch(/It calls (checkpoint|enable_profiling|query), which writes files/);
        }
      }
      expect((await client.call('query.run', { sql: 'SELECT 1 AS one' })).rows).toEqual([{ one: 1 }]);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await removeDir(dir);
    }
  });

  it('query.export reports SQL errors about the text as written, as query.run does', async () => {
    const sql = 'SELECT *\nFROM dim_usr';
    const typo = await rejection(client.call('query.export', { sql, format: 'csv' }));
    expect(typo).toMatchObject({ code: 'QUERY_ERROR', details: { sql } });
    // No COPY wrapped around it in the excerpt, no catalog internals suggested.
    expect(typo.message).toMatch(/Did you mean gold\.dim_user\?\n\nLINE 2: FROM dim_usr\n/);
    expect(typo.message).not.toMatch(/COPY|pg_tables/);
    const conversion = await rejection(
      client.call('query.export', { sql: "SELECT 'x'::INTEGER + 1 AS n", format: 'parquet' }),
    );
    expect(conversion.message).toMatch(/^Conversion Error/);
    expect(conversion.message).not.toMatch(/LINE|COPY/);
  });

  it('an unknown method is INVALID_ARGUMENT, naming the methods there are', async () => {
    const error = await rejection(callUnknown(client, 'pipeline.explode', {}));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/Unknown method "pipeline.explode"/);
    expect(error.details.methods).toContain('pipeline.run');
    const inherited = await rejection(callUnknown(client, 'constructor', {}));
    expect(inherited.code).toBe('INVALID_ARGUMENT');
  });

  it('invalid input is INVALID_ARGUMENT with the path of each problem', async () => {
    const badDate = await rejection(client.call('pipeline.run', { dates: ['2022-06-31'] }));
    expect(badDate.code).toBe('INVALID_ARGUMENT');
    expect(badDate.details.issues).toEqual([{ path: 'dates.0', message: 'not a calendar date' }]);
    const shape = await rejection(client.call('pipeline.run', { dates: ['06/01/2022'] }));
    expect(shape.message).toMatch(/dates\.0: expected a date as YYYY-MM-DD/);
    // A misspelt option is an error, not a run of every date.
    const misspelt = await rejection(callUnknown(client, 'pipeline.run', { date: '2022-06-01' }));
    expect(misspelt).toMatchObject({ code: 'INVALID_ARGUMENT', details: { method: 'pipeline.run' } });
    // Too many dates are named as such, not refused by the server as too large a request (413).
    const many = Array.from({ length: 100_001 }, () => '2022-06-01');
    const tooMany = await rejection(client.call('pipeline.run', { dates: many }));
    expect(tooMany.details.issues).toEqual([
      { path: 'dates', message: 'at most 100000 dates in one call: give a from/to range' },
    ]);
    const range = await rejection(client.call('pipeline.run', { from: '2022-06-03', to: '2022-06-01' }));
    expect(range.message).toMatch(/from is after to/);
    // @ts-expect-error the client's types refuse a wrong input; the dispatcher still checks at run time.
    const typed = await rejection(client.call('query.run', { sql: 42 }));
    expect(typed.details.issues).toEqual([expect.objectContaining({ path: 'sql' })]);
    const limit = await rejection(client.call('query.run', { sql: 'SELECT 1', limit: 0 }));
    expect(limit.details.issues).toEqual([expect.objectContaining({ path: 'limit' })]);
    // Problems only the engine can see fail the call itself; no run starts.
    const selector = await rejection(client.call('pipeline.run', { select: ['gold.no_such_model'] }));
    expect(selector.code).toBe('INVALID_ARGUMENT');
    expect(selector.message).toMatch(/No model named "gold.no_such_model"/);
    expect((await client.call('project.info')).activeRunId).toBeNull();
  });

  it('one run at a time; reads answer with the committed state while it runs; cancel ends it, rolled back', async () => {
    const before = await client.call('query.run', { sql: 'SELECT count(*) AS n FROM fact_customer_search' });
    const started = await client.call('pipeline.run', {});
    const second = await rejection(client.call('pipeline.run', { dates: [dates[0]!] }));
    expect(second).toMatchObject({ code: 'RUN_LOCKED', details: { runId: started.runId } });
    const during = await client.call('query.run', { sql: 'SELECT count(*) AS n FROM fact_customer_search' });
    expect(during.rows).toEqual(before.rows);
    expect((await client.call('tables.list')).tables.length).toBeGreaterThan(10);
    expect((await client.call('project.info')).activeRunId).toBe(started.runId);

    expect(await client.call('pipeline.cancel', { runId: started.runId })).toEqual({
      runId: started.runId,
      cancelled: true,
    });
    const { progress, finished } = await runEvents(started.runId);
    expect(finished.summary).toMatchObject({ status: 'cancelled', error: { code: 'RUN_CANCELLED' } });
    expect(progress.at(-1)?.kind).toBe('run-done');
    expect(await client.call('pipeline.cancel', { runId: started.runId })).toEqual({
      runId: started.runId,
      cancelled: false,
    });
    const { runs } = await client.call('runs.list', { limit: 1 });
    expect(runs[0]).toMatchObject({ runId: started.runId, status: 'cancelled' });
    const after = await client.call('query.run', { sql: 'SELECT count(*) AS n FROM fact_customer_search' });
    expect(after.rows).toEqual(before.rows);
  });
});

// Works until cancelled, after bronze and silver have run: a run of it stays in progress for the test.
const SLOW_MODEL = `/* config
materialized: table
*/
SELECT count(*) AS n
FROM silver.customer_search, (SELECT sum(i) AS total FROM range(1000000000000) t(i)) AS w
WHERE w.total >= 0
`;
const SLOW = 'gold.seeded_slow';

describe('pipeline.status', () => {
  let served: ServedProject;

  beforeAll(async () => {
    // A project of its own: the slow model would hold up every run of the suite above.
    const work = await tempDir('lakehouse-api-status-');
    const project = await generatedProject(work, 1, 200);
    await writeFile(join(project.dir, 'models', 'gold', 'seeded_slow.sql'), SLOW_MODEL);
    const engine = await createEngine({ projectDir: project.dir });
    const dispatcher = createDispatcher(engine);
    const server = await startServer({ dispatcher, staticDir: work });
    served = {
      work,
      projectDir: project.dir,
      dates: project.dates,
      engine,
      dispatcher,
      server,
      close: async () => {
        await server.close();
        await dispatcher.close();
        engine.close();
        await removeDir(work);
      },
    };
  });
  afterAll(() => served?.close());

  it.each(bothTransports(() => served))(
    'answers null when idle, and the run in progress with its steps to a client that saw none of it (%s)',
    async (_name, makeTransport) => {
      const client = createClient(makeTransport());
      const late = createClient(makeTransport());
      try {
        await client.ready();
        const date = served.dates[0]!;
        expect(await client.call('pipeline.status')).toEqual({ run: null });
        // Refused before it started: nothing is left in progress.
        await rejection(client.call('pipeline.run', { select: ['gold.no_such_model'] }));
        expect(await client.call('pipeline.status')).toEqual({ run: null });

        const before = Date.now();
        // No dates asked: the run takes every date the sources have, and the status names them.
        const started = await client.call('pipeline.run', { select: [`+${SLOW}`] });
        // The late client never subscribed: everything it knows of the run comes from pipeline.status.
        const inSlow = async () => {
          const { run } = await late.call('pipeline.status');
          return run?.latest?.kind === 'model-start' && run.latest.model === SLOW ? run : null;
        };
        await expect.poll(inSlow, { timeout: 60_000 }).not.toBeNull();
        const run = (await inSlow())!;
        expect(run).toMatchObject({
          runId: started.runId,
          dates: [date],
          total: started.total,
          done: started.total - 1,
          latest: { type: 'run.progress', runId: started.runId, date, done: started.total - 1 },
          committedDates: [],
          cancelRequested: false,
        });
        expect(run.request).toEqual({ select: [`+${SLOW}`] });
        expect(Date.parse(run.startedAt)).toBeGreaterThanOrEqual(before - 1000);
        // Every model before the slow one is done on the date with its record; the slow one is running.
        expect(run.steps).toHaveLength(started.total);
        expect(run.steps.at(-1)).toEqual({ model: SLOW, date, record: null });
        for (const step of run.steps.slice(0, -1)) {
          expect(step.date).toBe(date);
          expect(step.record).toMatchObject({ model: step.model, etlDate: date, status: 'success' });
        }
        expect(run.steps.map((s) => s.model)).toEqual(
          expect.arrayContaining(['bronze.customer_search', 'silver.customer_search', SLOW]),
        );

        // The late client cancels the run it learnt of; once it has ended, nothing is in progress.
        expect(await late.call('pipeline.cancel', { runId: started.runId })).toEqual({
          runId: started.runId,
          cancelled: true,
        });
        const cancelling = (await late.call('pipeline.status')).run;
        if (cancelling) expect(cancelling.cancelRequested).toBe(true);
        // Asked, not awaited as an event: an event stream reconnecting under load may miss run.finished.
        await expect
          .poll(async () => (await late.call('pipeline.status')).run, { timeout: 60_000 })
          .toBeNull();
        const { runs } = await late.call('runs.list', { limit: 1 });
        expect(runs[0]).toMatchObject({ runId: started.runId, status: 'cancelled' });
      } finally {
        client.close();
        late.close();
      }
    },
  );
});

describe('the contract schemas', () => {
  it('list the same error codes and materializations as the engine (checked by tsc)', () => {
    expectTypeOf<ErrorCode>().toEqualTypeOf<EngineErrorCode>();
    expectTypeOf<Materialization>().toEqualTypeOf<EngineMaterialization>();
    expectTypeOf<MethodName>().toEqualTypeOf<
      | 'project.info'
      | 'pipeline.run'
      | 'pipeline.cancel'
      | 'pipeline.status'
      | 'tables.list'
      | 'tables.drop'
      | 'runs.list'
      | 'query.run'
      | 'query.cancel'
      | 'table.window'
      | 'table.profile'
      | 'table.profile.cancel'
      | 'query.export'
      | 'table.export'
      | 'pipeline.graph'
      | 'star.schema'
      | 'star.orphans'
      | 'history.keys'
      | 'history.key'
      | 'model.source'
      | 'model.preview'
      | 'model.preview.cancel'
      | 'model.apply'
      | 'model.diff'
      | 'sources.test'
      | 'sources.get'
      | 'sources.save'
      | 'sources.remove'
      | 'publish.iceberg.preflight'
      | 'publish.iceberg.run'
      | 'iceberg.snapshots'
      | 'iceberg.scan'
      | 'iceberg.diff'
      | 'iceberg.orphans'
      | 'publish.redshift.preflight'
      | 'publish.redshift.run'
      | 'publish.cancel'
    >();
  });
});
