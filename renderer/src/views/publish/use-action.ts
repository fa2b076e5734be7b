import { useState } from 'react';
import { describeError } from '../../connect.ts';

/**
 * The panels' buttons run one action at a time: its label shows while it runs (and disables the
 * buttons), its error shows after it fails, and the next action clears that error, as does
 * `forgetError` when the user changes what the error was about (another target).
 */
export function useAction() {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = async (label: string, fn: () => Promise<void>) => {
    setBusy(label);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(null);
    }
  };
  const forgetError = () => setError(null);
  return { busy, error, act, forgetError };
}
