import { LakehouseError } from './errors.ts';
import { createRepeatedInterrupt } from './repeated-interrupt.ts';

/**
 * Work that runs one call at a time on a connection of its own (the SQL console's queries, the editor's
 * previews), where `cancel()` fails the running call and every call queued behind it with
 * QUERY_CANCELLED. `interrupt` stops the statement running at that instant (DuckDB's interrupt touches
 * nothing else), so a call of an earlier generation also fails as cancelled between its statements.
 */
export interface CancellableQueue {
  /**
   * Runs `fn` after the calls before it; a cancel meanwhile fails it as cancelled, whatever it returns.
   * `fn` gets whether it is still wanted, to ask before a long statement: an interrupt landing between
   * two statements stops neither.
   */
  call<T>(fn: (wanted: () => boolean) => Promise<T>): Promise<T>;
  /** Runs `fn` after the calls before it, as housekeeping: never cancelled, its failure ignored. */
  after(fn: () => Promise<unknown>): Promise<void>;
  /** Cancels the running and queued calls; whether there were any. */
  cancel(): boolean;
}

export function createCancellableQueue(message: string, interrupt: () => void): CancellableQueue {
  let tail: Promise<unknown> = Promise.resolve();
  // Bumped by cancel(): a call of an earlier generation fails as cancelled, queued or running.
  let generation = 0;
  let pending = 0;
  // Whether a call's statements run on the connection now: the only time an interrupt may be aimed at it.
  let running = false;
  const repeated = createRepeatedInterrupt(interrupt);
  const cancelled = () => new LakehouseError('QUERY_CANCELLED', message, { reason: 'cancelled' });
  const enqueue = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = tail.then(fn);
    tail = result.catch(() => undefined);
    return result;
  };
  return {
    call(fn) {
      const mine = generation;
      pending += 1;
      return enqueue(async () => {
        if (mine !== generation) throw cancelled();
        running = true;
        try {
          const result = await fn(() => mine === generation);
          // Cancelled as its last statement ended: what it read is not what the user wants now.
          if (mine !== generation) throw cancelled();
          return result;
        } catch (error) {
          // An interrupt surfaces as DuckDB's "INTERRUPT Error"; the caller is told it was cancelled.
          if (mine !== generation) throw cancelled();
          throw error;
        } finally {
          // Before the next call starts on the connection: no interrupt of this cancel may reach it.
          running = false;
          repeated.stop();
        }
      }).finally(() => {
        pending -= 1;
      });
    },
    after: (fn) =>
      enqueue(fn).then(
        () => undefined,
        () => undefined,
      ),
    cancel() {
      const busy = pending > 0;
      generation += 1;
      interrupt();
      // A cancel that came between two statements of the running call would be lost (a console query ran on
      // for good that way in CI).
      if (running) repeated.repeat(() => running);
      return busy;
    },
  };
}
