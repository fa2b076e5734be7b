import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Db, openDb, PREPARED_LIMIT } from '../../engine/db/duckdb.ts';

describe('statements with parameters, kept prepared by their text', () => {
  let db: Db;
  beforeEach(async () => {
    db = await openDb();
  });
  afterEach(() => db.close());

  it('prepares a text once however often it runs, binding each call its own values', async () => {
    const prepare = vi.spyOn(db.connection, 'prepare');
    await db.run('CREATE TABLE t (k VARCHAR, v INTEGER)');
    for (let i = 0; i < 5; i++) await db.run('INSERT INTO t VALUES ($k, $v)', { k: `k${i}`, v: i });
    const read = 'SELECT v FROM t WHERE k = $k';
    expect(await db.scalar(read, { k: 'k3' })).toBe(3);
    expect(await db.all(read, { k: 'k1' })).toEqual([{ v: 1 }]);
    expect(await db.allJson(read, { k: 'nothing' })).toEqual([]);
    // A NULL after a value, then a value again: each call binds all of its own.
    await db.run('INSERT INTO t VALUES ($k, $v)', { k: 'null', v: null });
    expect(await db.scalar('SELECT count(*) FROM t WHERE v IS NULL')).toBe(1);
    expect(prepare.mock.calls.map((call) => call[0])).toEqual([
      'INSERT INTO t VALUES ($k, $v)',
      'SELECT v FROM t WHERE k = $k',
    ]);
  });

  it('gives calls of one text running at once each the answer to its own values', async () => {
    await db.run('CREATE TABLE t AS SELECT range AS i, range * 10 AS v FROM range(50)');
    const read = 'SELECT v FROM t WHERE i = $i';
    expect(await db.scalar(read, { i: 1 })).toBe(10);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => db.scalar(read, { i })));
    expect(answers).toEqual(Array.from({ length: 50 }, (_, i) => i * 10));
    // The first calls of a text, all preparing it at once, too.
    const first = 'SELECT v + $plus FROM t WHERE i = $i';
    const firstAnswers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => db.scalar(first, { i, plus: 1 })),
    );
    expect(firstAnswers).toEqual(Array.from({ length: 20 }, (_, i) => i * 10 + 1));
    expect(await db.scalar(first, { i: 3, plus: 2 })).toBe(32);
  });

  it('answers as a fresh statement would after the table it reads is replaced, dropped or made again', async () => {
    const read = 'SELECT * FROM t WHERE a = $a';
    await db.run('CREATE TABLE t AS SELECT 1 AS a, 2 AS b');
    expect(await db.all(read, { a: 1 })).toEqual([{ a: 1, b: 2 }]);
    await db.run(`CREATE OR REPLACE TABLE t AS SELECT 1 AS a, 'x' AS c`);
    expect(await db.all(read, { a: 1 })).toEqual([{ a: 1, c: 'x' }]);
    await db.run('DROP TABLE t');
    await expect(db.all(read, { a: 1 })).rejects.toThrow(/Table with name t does not exist/);
    await db.run('CREATE TABLE t AS SELECT 7 AS a');
    expect(await db.all(read, { a: 7 })).toEqual([{ a: 7 }]);
  });

  it('stays usable after a call fails on its values or is interrupted', async () => {
    await db.run('CREATE TABLE t AS SELECT range AS i FROM range(3)');
    const read = 'SELECT count(*) FROM t WHERE i < $n';
    await expect(db.scalar(read, { n: 'not a number' })).rejects.toThrow(/Could not convert/);
    expect(await db.scalar(read, { n: 2 })).toBe(2);
    const endless = 'SELECT sum(a.range * b.range) FROM range($n) a, range($n) b';
    const running = db.scalar(endless, { n: 10_000_000 });
    setTimeout(() => db.interrupt(), 200);
    await expect(running).rejects.toThrow(/INTERRUPT/i);
    expect(await db.scalar(endless, { n: 3 })).toBe(9);
  });

  it('runs a table made from parameters as often as it is asked, each time with its columns', async () => {
    const make = 'CREATE OR REPLACE TEMP TABLE stage AS SELECT $1::VARCHAR AS keyword';
    for (const keyword of ['naruto', 'boruto']) {
      await db.run(make, [keyword]);
      expect(await db.all('SELECT * FROM stage')).toEqual([{ keyword }]);
    }
  });

  it('runs a text of several statements as before, without preparing it again', async () => {
    const prepare = vi.spyOn(db.connection, 'prepare');
    const text = 'CREATE OR REPLACE TABLE t AS SELECT 1 AS x; INSERT INTO t VALUES ($x)';
    for (const x of [5, 6]) {
      await db.run(text, { x });
      expect(await db.all('SELECT x FROM t ORDER BY x')).toEqual([{ x: 1 }, { x }]);
    }
    expect(prepare).toHaveBeenCalledTimes(1);
  });

  it(`keeps the ${PREPARED_LIMIT} texts used last, preparing an older one again when it comes back`, async () => {
    const prepare = vi.spyOn(db.connection, 'prepare');
    const text = (i: number) => `SELECT $v + ${i} AS n`;
    for (let i = 0; i <= PREPARED_LIMIT; i++) expect(await db.scalar(text(i), { v: 1 })).toBe(i + 1);
    expect(prepare).toHaveBeenCalledTimes(PREPARED_LIMIT + 1);
    // The last one used stays; the first one was let go and comes back prepared anew.
    expect(await db.scalar(text(PREPARED_LIMIT), { v: 2 })).toBe(PREPARED_LIMIT + 2);
    expect(prepare).toHaveBeenCalledTimes(PREPARED_LIMIT + 1);
    expect(await db.scalar(text(0), { v: 2 })).toBe(2);
    expect(prepare).toHaveBeenCalledTimes(PREPARED_LIMIT + 2);
  });
});
