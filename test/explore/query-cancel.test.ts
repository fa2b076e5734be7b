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
