import { LakehouseError } from './errors.ts';
import { RecentNames } from './recent-names.ts';
import { createRepeatedInterrupt } from './repeated-interrupt.ts';

/**
 * Column profiles that can be stopped one by one. They run on the explorer's reader queue, behind and
 * ahead of the grid's windows, so a profile the user has moved on from (another column, the panel closed)
 * would hold up the rows they scroll to next: on a 10M-row table, seconds. `cancel(id)` fails the named
 * profile with QUERY_CANCELLED: it does not start if still queued, and is interrupted if running.
 */
export interface ProfileCalls {
  /** Runs `compute` on the reader queue (through `read`), unless the profile is cancelled first. */
  call<T>(profileId: string | undefined, compute: () => Promise<T>): Promise<T>;
  /** Whether the profile was queued or running; a name not seen yet is remembered and never runs. */
  cancel(profileId: string): boolean;
}

export function createProfileCalls(
  read: <T>(fn: () => Promise<T>) => Promise<T>,
  interrupt: () => void,
): ProfileCalls {
  const cancelled = new RecentNames();
  const pending = new Set<string>();
  // The profile whose statements run on the reader right now: the only one an interrupt may be aimed at,
  // as the next read's statements start on the same connection as soon as it ends.
  let running: string | undefined;
  const repeated = createRepeatedInterrupt(interrupt);
  const cancelledError = () =>
    new LakehouseError('QUERY_CANCELLED', 'The column profile was cancelled.', { reason: 'cancelled' });

  return {
    call(profileId, compute) {
      if (profileId === undefined) return read(compute);
      if (cancelled.has(profileId)) return Promise.reject(cancelledError());
      pending.add(profileId);
      return read(async () => {
        if (cancelled.has(profileId)) throw cancelledError();
        running = profileId;
        try {
          return await compute();
        } catch (error) {
          // An interrupt surfaces as DuckDB's "INTERRUPT Error": the caller is told it was cancelled.
          throw cancelled.has(profileId) ? cancelledError() : error;
        } finally {
          running = undefined;
          repeated.stop();
        }
      }).finally(() => pending.delete(profileId));
    },
    cancel(profileId) {
      cancelled.add(profileId);
      if (running === profileId && repeated.repeat(() => running === profileId)) interrupt();
      return pending.has(profileId);
    },
  };
}
