import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProfileCalls } from '../../engine/api/profile-calls.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { rejection, type ServedProject, serveGeneratedProject } from '../helpers/api.ts';

// A column profile the user has moved on from is stopped by table.profile.cancel: it shares the explorer's
// connection with the grid's windows, so left running it would hold them up.

// Ten billion row pairs to count: far longer than any test waits, so only an interrupt ends it.
const SLOW =
  'SELECT count(*) AS n FROM range(100000) a CROSS JOIN range(100000) b WHERE a.range + b.range < 0';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createProfileCalls on a real DuckDB connection', () => {
  let db: Db;
  // One call at a time, as the dispatcher's reader queue runs them.
  let tail: Promise<unknown> = Promise.resolve();
  const read = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = tail.then(fn);
    tail = result.catch(() => undefined);
    return result;
  };

  beforeAll(async () => {
    db = await openDb();
  });
  afterAll(() => db?.close());

  it('interrupts the running profile it names, and the read queued behind it runs', async () => {
    const profiles = createProfileCalls(read, () => db.interrupt());
    const slow = profiles.call('p-1', () => db.all(SLOW));
    const windowRead = read(() => db.all('SELECT 42 AS n'));
    await sleep(300);
    // Another name stops nothing.
    expect(profiles.cancel('p-other')).toBe(false);
    expect(profiles.cancel('p-1')).toBe(true);
    expect(await rejection(slow)).toMatchObject({
      code: 'QUERY_CANCELLED',
      message: 'The column profile was cancelled.',
    });
    expect(await windowRead).toEqual([{ n: 42 }]);
    // Done with: cancelling it again finds nothing.
    expect(profiles.cancel('p-1')).toBe(false);
  });

  it('stops a profile whose cancel lands between two of its statements', async () => {
    // DuckDB drops an interrupt that comes while no statement runs: the cancel is repeated until the end.
    const profiles = createProfileCalls(read, () => db.interrupt());
    const statements: string[] = [];
    const twoStatements = profiles.call('p-2', async () => {
      statements.push('first');
      await db.all('SELECT 1');
      await sleep(400);
      statements.push('second');
      return db.all(SLOW);
    });
    await sleep(150);
    expect(profiles.cancel('p-2')).toBe(true);
    expect((await rejection(twoStatements)).code).toBe('QUERY_CANCELLED');
    expect(statements).toEqual(['first', 'second']);
    expect(await read(() => db.all('SELECT 43 AS n'))).toEqual([{ n: 43 }]);
  });

  it('never starts a profile cancelled while queued or before it arrived', async () => {
    const profiles = createProfileCalls(read, () => db.interrupt());
    let started = 0;
    const blocker = read(() => sleep(200));
    const queued = profiles.call('p-3', async () => {
      started += 1;
      return db.all('SELECT 1 AS n');
    });
    queued.catch(() => undefined);
    expect(profiles.cancel('p-3')).toBe(true);
    expect(profiles.cancel('p-4')).toBe(false);
    const early = profiles.call('p-4', async () => {
      started += 1;
      return db.all('SELECT 1 AS n');
    });
    early.catch(() => undefined);
    await blocker;
    expect((await rejection(queued)).code).toBe('QUERY_CANCELLED');
    expect((await rejection(early)).code).toBe('QUERY_CANCELLED');
    expect(started).toBe(0);
    // A profile with no name runs as before.
    expect(await profiles.call(undefined, () => db.all('SELECT 2 AS n'))).toEqual([{ n: 2 }]);
  });
});

describe('table.profile.cancel', () => {
  const WIDE = 'gold.profile_wide';
  let served: ServedProject;

  beforeAll(async () => {
    served = await serveGeneratedProject({
      prefix: 'lakehouse-profile-cancel-',
      days: 1,
      rowsPerDay: 50,
      // 25 million distinct texts: profiling them counts every value, seconds of work.
      prepare: (engine) =>
        engine.db.run(
          `CREATE TABLE ${WIDE} AS SELECT range AS id, 'value ' || range AS label FROM range(25000000)`,
        ),
    });
  });
  afterAll(() => served?.close());

  it("stops the profile the user moved on from, and the grid's window behind it answers", async () => {
    const { dispatcher } = served;
    const profile = dispatcher.call('table.profile', { table: WIDE, column: 'label', profileId: 'label-1' });
    profile.catch(() => undefined);
    const window = dispatcher.call('table.window', { table: WIDE, offset: 0, limit: 5 });
    await sleep(300);
    expect(await dispatcher.call('table.profile.cancel', { profileId: 'label-1' })).toEqual({
      cancelled: true,
    });
    expect(await rejection(profile)).toMatchObject({ code: 'QUERY_CANCELLED' });
    expect(await window).toMatchObject({ table: WIDE, totalRows: 25_000_000, rowCount: 5 });

    // The explorer's connection answers profiles again; the cancelled name stays cancelled.
    const id = await dispatcher.call('table.profile', { table: WIDE, column: 'id', profileId: 'id-1' });
    expect(id).toMatchObject({ column: 'id', rows: 25_000_000, nulls: 0 });
    expect(await dispatcher.call('table.profile.cancel', { profileId: 'id-1' })).toEqual({
      cancelled: false,
    });
    expect(
      (await rejection(dispatcher.call('table.profile', { table: WIDE, column: 'id', profileId: 'label-1' })))
        .code,
    ).toBe('QUERY_CANCELLED');
  });
});
