import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../engine/api/dispatcher.ts';
import { rejection, type ServedProject, serveGeneratedProject } from '../helpers/api.ts';

// The SQL console's queries on their own connection: a slow one holds up no other read, and
// query.cancel interrupts it (and whatever console query waits behind it).

// Ten billion row pairs to count: far longer than any test waits, so only an interrupt ends it.
const SLOW =
  'SELECT count(*) AS n FROM range(100000) a CROSS JOIN range(100000) b WHERE a.range + b.range < 0';

let served: ServedProject;
let dispatcher: Dispatcher;

beforeAll(async () => {
  served = await serveGeneratedProject({ prefix: 'lakehouse-query-cancel-', days: 1, rowsPerDay: 50 });
  ({ dispatcher } = served);
});

afterAll(() => served?.close());

describe('query.cancel', () => {
  it('interrupts a slow console query while other reads go on answering', async () => {
    let settled = false;
    const slow = dispatcher.call('query.run', { sql: SLOW });
    slow.then(
      () => (settled = true),
      () => (settled = true),
    );
    // Queued behind the slow one on the console's connection: cancelled with it, never run.
    const queued = dispatcher.call('query.run', { sql: 'SELECT 42 AS n' });
    queued.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));

    // The explorer's reads do not wait for the console.
    const tables = (await dispatcher.call('tables.list', {})) as { tables: unknown[] };
    expect(Array.isArray(tables.tables)).toBe(true);
    expect(await dispatcher.call('runs.list', {})).toMatchObject({ runs: expect.any(Array) });
    expect(settled).toBe(false);

    const cancelledAt = Date.now();
    expect(await dispatcher.call('query.cancel', {})).toEqual({ cancelled: true });
    expect(await rejection(slow)).toMatchObject({
      code: 'QUERY_CANCELLED',
      message: 'The query was cancelled.',
    });
    expect(Date.now() - cancelledAt).toBeLessThan(10_000);
    expect((await rejection(queued)).code).toBe('QUERY_CANCELLED');

    // Nothing left to cancel; the console answers again.
    expect(await dispatcher.call('query.cancel', {})).toEqual({ cancelled: false });
    expect(await dispatcher.call('query.run', { sql: 'SELECT 42 AS n' })).toMatchObject({
      rows: [{ n: 42 }],
    });
  });
});

describe('query.cancel naming its query', () => {
  it('stops a query whose run request reaches the engine after the cancel', async () => {
    // Leaving the console's tab right after Run sends both requests at once; they may be read in either order.
    expect(await dispatcher.call('query.cancel', { queryId: 'q-1' })).toEqual({ cancelled: false });
    const startedAt = Date.now();
    expect(await rejection(dispatcher.call('query.run', { sql: SLOW, queryId: 'q-1' }))).toMatchObject({
      code: 'QUERY_CANCELLED',
      message: 'The query was cancelled.',
    });
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    // Only that query: the next one runs, and so does a query whose cancel came after it had run.
    expect(await dispatcher.call('query.run', { sql: 'SELECT 42 AS n', queryId: 'q-2' })).toMatchObject({
      rows: [{ n: 42 }],
    });
    expect(await dispatcher.call('query.cancel', { queryId: 'q-2' })).toEqual({ cancelled: false });
    expect(await dispatcher.call('query.run', { sql: 'SELECT 43 AS n', queryId: 'q-2' })).toMatchObject({
      rows: [{ n: 43 }],
    });
  });
});

describe('model.preview.cancel', () => {
  it("interrupts a slow preview on the editor's own connection while other reads go on answering", async () => {
    const source = (await dispatcher.call('model.source', { model: 'gold.dim_date' })) as { text: string };
    const header = /^\s*\/\*\s*config[\s\S]*?\*\//.exec(source.text)![0];
    let settled = false;
    const slow = dispatcher.call('model.preview', { model: 'gold.dim_date', text: `${header}\n${SLOW}\n` });
    slow.then(
      () => (settled = true),
      () => (settled = true),
    );
    const quick = `${header}\nSELECT range AS n FROM range(10)\n`;
    const queued = dispatcher.call('model.preview', { model: 'gold.dim_date', text: quick });
    queued.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));

    // The explorer's reads and the console do not wait for the preview.
    expect(await dispatcher.call('tables.list', {})).toMatchObject({ tables: expect.any(Array) });
    expect(await dispatcher.call('query.run', { sql: 'SELECT 42 AS n' })).toMatchObject({
      rows: [{ n: 42 }],
    });
    expect(settled).toBe(false);

    const cancelledAt = Date.now();
    expect(await dispatcher.call('model.preview.cancel', {})).toEqual({ cancelled: true });
    expect(await rejection(slow)).toMatchObject({
      code: 'QUERY_CANCELLED',
      message: 'The preview was cancelled.',
    });
    expect(Date.now() - cancelledAt).toBeLessThan(10_000);
    expect((await rejection(queued)).code).toBe('QUERY_CANCELLED');

    // Nothing left to cancel; previews answer again.
    expect(await dispatcher.call('model.preview.cancel', {})).toEqual({ cancelled: false });
    expect(
      await dispatcher.call('model.preview', { model: 'gold.dim_date', text: quick, limit: 5 }),
    ).toMatchObject({ hasMore: true, rows: [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }] });
  });
});
