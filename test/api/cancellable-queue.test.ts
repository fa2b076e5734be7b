import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCancellableQueue } from '../../engine/api/cancellable-queue.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';

// The SQL console's queue on a real DuckDB connection: a cancel must stop the running query whenever it
// comes, and reach nothing that runs after it.

// Ten billion row pairs to count: far longer than any test waits, so only an interrupt ends it.
const SLOW =
  'SELECT count(*) AS n FROM range(100000) a CROSS JOIN range(100000) b WHERE a.range + b.range < 0';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createCancellableQueue', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openDb();
  });
  afterAll(() => db?.close());

  /** The call's outcome, or 'still running' after `ms` (the query is then stopped, for the next test). */
  const settledWithin = async (call: Promise<unknown>, ms: number) => {
    const outcome = call.then(
      () => 'done',
      (error: { code?: string }) => error.code ?? 'failed',
    );
    const late = sleep(ms).then(() => 'still running');
    const first = await Promise.race([outcome, late]);
    if (first === 'still running') {
      const stop = setInterval(() => db.interrupt(), 50);
      await outcome;
      clearInterval(stop);
    }
    return first;
  };

  it('stops a query whose cancel comes between two statements of its call', async () => {
    const queue = createCancellableQueue('The query was cancelled.', () => db.interrupt());
    const ran: string[] = [];
    const call = queue.call(async () => {
      await db.all('SELECT 1');
      ran.push('first');
      // The cancel comes now, while no statement runs: DuckDB drops that interrupt.
      await sleep(400);
      ran.push('second');
      return db.all(SLOW);
    });
    const queued = queue.call(() => db.all('SELECT 2 AS n'));
    await sleep(150);
    expect(queue.cancel()).toBe(true);
    expect(await settledWithin(call, 10_000)).toBe('QUERY_CANCELLED');
    expect(ran).toEqual(['first', 'second']);
    expect(await settledWithin(queued, 1_000)).toBe('QUERY_CANCELLED');
    // The repeated interrupt ended with the call: the next query runs whole.
    await sleep(200);
    expect(await queue.call(() => db.all('SELECT 43 AS n'))).toEqual([{ n: 43 }]);
    expect(queue.cancel()).toBe(false);
  });

  it('stops a running query at once, and leaves housekeeping queued behind it alone', async () => {
    const queue = createCancellableQueue('The query was cancelled.', () => db.interrupt());
    const call = queue.call(() => db.all(SLOW));
    let housekeeping = false;
    const after = queue.after(async () => {
      await db.all('SELECT 1');
      housekeeping = true;
    });
    await sleep(300);
    expect(queue.cancel()).toBe(true);
    expect(await settledWithin(call, 5_000)).toBe('QUERY_CANCELLED');
    await after;
    expect(housekeeping).toBe(true);
  });
});
