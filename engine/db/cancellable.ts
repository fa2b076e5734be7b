import type { Db, SqlParams } from './duckdb.ts';

/**
 * A Db whose statements stop when `signal` aborts: the running one is interrupted, and none starts
 * afterwards. DuckDB's interrupt stops only the statement running at that instant, so a cancel that
 * lands between two statements would otherwise be lost and the work go on to its next check.
 * `release()` detaches from the signal once the work is over.
 */
export function cancellableDb(db: Db, signal: AbortSignal): Db & { release(): void } {
  const onAbort = () => db.interrupt();
  signal.addEventListener('abort', onAbort);
  const guarded =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      signal.throwIfAborted();
      const result = await fn(...args);
      // A statement that started as the cancel came (before DuckDB could see the interrupt) ran to its end.
      signal.throwIfAborted();
      return result;
    };
  return {
    path: db.path,
    connection: db.connection,
    run: guarded((sql: string, params?: SqlParams) => db.run(sql, params)),
    all: guarded((sql: string, params?: SqlParams) => db.all(sql, params)) as Db['all'],
    allJson: guarded((sql: string, params?: SqlParams) => db.allJson(sql, params)) as Db['allJson'],
    scalar: guarded((sql: string, params?: SqlParams) => db.scalar(sql, params)) as Db['scalar'],
    transaction: (fn) => db.transaction(fn),
    interrupt: () => db.interrupt(),
    fork: () => db.fork(),
    close: () => db.close(),
    release: () => signal.removeEventListener('abort', onAbort),
  };
}
