import type { Db, SqlParams } from './duckdb.ts';

/** How often a cancel's interrupt is repeated while a statement it should stop still runs. */
const REPEAT_INTERRUPT_MS = 50;

/**
 * A Db whose statements stop when `signal` aborts: the running one is interrupted, and none starts
 * afterwards. DuckDB's interrupt stops only the statement running at that instant and drops one that
 * comes while a statement is still being prepared, so a single interrupt let about a third of early
 * cancels run their statement to its end: it is repeated until the statement ends.
 * `release()` detaches from the signal once the work is over.
 */
export function cancellableDb(db: Db, signal: AbortSignal): Db & { release(): void } {
  // Guarded statements started and not yet ended: the repeats stop with the last, so no interrupt
  // reaches what the Db runs afterwards for someone else.
  let inFlight = 0;
  let repeating: ReturnType<typeof setInterval> | undefined;
  const stopRepeating = () => {
    clearInterval(repeating);
    repeating = undefined;
  };
  const onAbort = () => {
    if (inFlight === 0) return;
    db.interrupt();
    repeating ??= setInterval(() => db.interrupt(), REPEAT_INTERRUPT_MS);
  };
  signal.addEventListener('abort', onAbort);
  const guarded =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      signal.throwIfAborted();
      inFlight++;
      let result: R;
      try {
        result = await fn(...args);
      } finally {
        inFlight--;
        if (inFlight === 0) stopRepeating();
      }
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
    release: () => {
      stopRepeating();
      signal.removeEventListener('abort', onAbort);
    },
  };
}
