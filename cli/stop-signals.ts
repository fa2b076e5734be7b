import { toLakehouseError } from '../engine/api/errors.ts';

/** What cancelOnStopSignals installed: how to remove it, and how the command exits after a cancel. */
export interface StopSignalHandlers {
  /** Removes the handlers. */
  remove(): void;
  /**
   * 130 when Ctrl-C (SIGINT) cancelled the work, 143 for SIGTERM: 128 + the signal's number, as a shell
   * reports a process a signal stopped, so a script tells a cancel from a failure (1). Undefined before any.
   */
  cancelExitCode(): number | undefined;
  /**
   * For a command that ends a cancel by throwing RUN_CANCELLED (publish): when `error` is that cancel and
   * a stop signal asked for it, prints it as any error is printed and returns the exit code; else undefined.
   */
  reportCancel(error: unknown): number | undefined;
}

/** 128 + the signal's number: SIGINT is 2, SIGTERM 15. */
const exitCodeOf = (signal: NodeJS.Signals | undefined) => (signal === 'SIGINT' ? 130 : 143);

/**
 * Cancels long work on Ctrl-C (SIGINT) and on SIGTERM alike: CI timeouts, `timeout`, systemd and
 * container stops send SIGTERM, and a run stopped that way should roll back and report like Ctrl-C,
 * not die mid-date. The first signal cancels, a second exits at once. A signal that came while the
 * command was still loading (kept by bin/lakehouse.js) cancels at once.
 */
export function cancelOnStopSignals(controller: AbortController, saying: string): StopSignalHandlers {
  let cancelledBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals | undefined) => {
    // A second stop: whatever is running did not stop for the first, so the user means it.
    if (controller.signal.aborted) process.exit(exitCodeOf(signal));
    cancelledBy = signal ?? 'SIGTERM';
    process.stderr.write(`\n${saying}\n`);
    controller.abort();
  };
  const early = globalThis as Record<symbol, unknown>;
  const keepStop = early[Symbol.for('lakehouse.earlyStopListener')];
  if (typeof keepStop === 'function') {
    process.removeListener('SIGINT', keepStop as () => void);
    process.removeListener('SIGTERM', keepStop as () => void);
    delete early[Symbol.for('lakehouse.earlyStopListener')];
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // bin/lakehouse.js keeps the name of the signal that came while loading.
  const earlyStop = early[Symbol.for('lakehouse.earlyStop')];
  if (earlyStop) {
    delete early[Symbol.for('lakehouse.earlyStop')];
    onSignal(earlyStop === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
  }
  const cancelExitCode = () => (cancelledBy === undefined ? undefined : exitCodeOf(cancelledBy));
  return {
    remove: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
    cancelExitCode,
    reportCancel: (error) => {
      const failure = toLakehouseError(error);
      const code = cancelExitCode();
      if (code === undefined || failure.code !== 'RUN_CANCELLED') return undefined;
      process.stderr.write(`error [${failure.code}]: ${failure.message}\n`);
      return code;
    },
  };
}
