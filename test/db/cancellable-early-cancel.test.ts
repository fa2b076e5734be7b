import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancellableDb } from '../../engine/db/cancellable.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';

// Several seconds when not stopped; the comment makes each text new, so it is prepared afresh.
const slow = (i: number) => `SELECT count(*) FROM range(100000000) t(i) WHERE i % 7 = $1 /* ${i} */`;

describe('a cancel that comes as the statement starts', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openDb(':memory:', { threads: 2 });
  });
  afterAll(() => db.close());

  it('stops the statement, however soon after the call it comes', async () => {
    // DuckDB drops an interrupt that lands while a statement is being prepared: one interrupt let about
    // a third of these run to their end (seconds each, here).
    const took: number[] = [];
    for (let i = 0; i < 12; i++) {
      const controller = new AbortController();
      const guarded = cancellableDb(db, controller.signal);
      const started = performance.now();
      const running = guarded.scalar(slow(i), [0]);
      if (i % 2 === 0) queueMicrotask(() => controller.abort());
      else setImmediate(() => controller.abort());
      await expect(running).rejects.toThrow();
      took.push(Math.round(performance.now() - started));
      guarded.release();
    }
    expect(Math.max(...took), `ms per cancelled statement: ${took.join(', ')}`).toBeLessThan(1000);
  }, 60_000);

  it('stops interrupting once the statement ended, released or not', async () => {
    const controller = new AbortController();
    const guarded = cancellableDb(db, controller.signal);
    const running = guarded.scalar(slow(100), [0]);
    setTimeout(() => controller.abort(), 20);
    await expect(running).rejects.toThrow();
    // The next statement on the Db is someone else's: no repeat of that cancel may reach it.
    expect(await db.scalar('SELECT count(*) FROM range(40000000) t(i) WHERE i % 7 = 0')).toBe(5714286);
    guarded.release();
  });
});
