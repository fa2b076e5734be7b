import { useState } from 'react';
import { describeError } from '../../connect.ts';

/**
 * The panels' buttons run one action at a time: its label shows while it runs (`busy`, which disables
 * the buttons), its error shows after it fails, and the next action clears that error, as does
 * `forgetError` when the user changes what the error was about (another target). An action given a
 * place (`at`) has its label and error shown there, beside its own buttons (`busyAt`, `errorAt`); the
 * others' are `busyAt()` and `error`.
 */
export function useAction() {
  const [running, setRunning] = useState<{ label: string; at: string | undefined } | null>(null);
  const [failure, setFailure] = useState<{ message: string; at: string | undefined } | null>(null);
  const act = async (label: string, fn: () => Promise<void>, at?: string) => {
    setRunning({ label, at });
    setFailure(null);
    try {
      await fn();
    } catch (e) {
      setFailure({ message: describeError(e), at });
    } finally {
      setRunning(null);
    }
  };
  const busy = running?.label ?? null;
  const busyAt = (at?: string) => (running && running.at === at ? running.label : null);
  const errorAt = (at?: string) => (failure && failure.at === at ? failure.message : null);
  /** Without a place, forgets whichever error is shown; with one, only an error shown there. */
  const forgetError = (at?: string) =>
    setFailure((shown) => (at === undefined || shown?.at === at ? null : shown));
  return { busy, busyAt, error: errorAt(), errorAt, act, forgetError };
}

/** What a panel's actions run with: `act` as useAction gives it, passed to the parts that own buttons. */
export type Act = ReturnType<typeof useAction>['act'];
