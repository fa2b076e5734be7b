import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancellableDb } from '../../engine/db/cancellable.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';

const ENDLESS = 'SELECT sum(i) FROM range(1000000000000) t(i)';

describe('a Db that stops when its signal aborts', () => {
  let db: Db;
  beforeEach(async () => {
    db = await openDb();
  });
  afterEach(() => db.close());

  it('interrupts the statement running when the cancel comes', async () => {
    const controller = new AbortController();
    const guarded = cancellableDb(db, controller.signal);
    const running = guarded.scalar(ENDLESS);
    setTimeout(() => controller.abort(), 200);
    await expect(running).rejects.toThrow();
    guarded.release();
  });

  it('starts no statement after the cancel, whatever method it goes through', async () => {
    const controller = new AbortController();
    const guarded = cancellableDb(db, controller.signal);
    controller.abort();
    await expect(guarded.run('CREATE TABLE t AS SELECT 1 AS x')).rejects.toThrow(/abort/i);
    await expect(guarded.all('SELECT 1')).rejects.toThrow(/abort/i);
    await expect(guarded.allJson('SELECT 1')).rejects.toThrow(/abort/i);
    await expect(guarded.scalar('SELECT 1')).rejects.toThrow(/abort/i);
    expect(await db.scalar(`SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'`)).toBe(0);
    guarded.release();
  });

  it('answers as the Db does until then, and leaves the Db alone once released', async () => {
    const controller = new AbortController();
    const guarded = cancellableDb(db, controller.signal);
    expect(await guarded.scalar('SELECT 41 + 1')).toBe(42);
    expect(await guarded.all('SELECT 1 AS x')).toEqual([{ x: 1 }]);
    guarded.release();
    // A cancel after the work is over must not interrupt what the Db runs next for someone else.
    const other = db.scalar('SELECT count(*) FROM range(30000000) t(i) WHERE i % 7 = 0');
    controller.abort();
    expect(await other).toBe(4285715);
  });
});
