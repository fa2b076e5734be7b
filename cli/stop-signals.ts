/**
 * Cancels long work on Ctrl-C (SIGINT) and on SIGTERM alike: CI timeouts, `timeout`, systemd and
 * container stops send SIGTERM, and a run stopped that way should roll back and report like Ctrl-C,
 * not die mid-date. The first signal cancels, a second exits at once; returns what removes the
 * handlers. A signal that came while the command was still loading (kept by bin/lakehouse.js) cancels
 * at once.
 */
export function cancelOnStopSignals(controller: AbortController, saying: string): () => void {
  const onSignal = (signal?: NodeJS.Signals) => {
    // A second stop: whatever is running did not stop for the first, so the user means it.
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
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
  if (early[Symbol.for('lakehouse.earlyStop')]) {
    delete early[Symbol.for('lakehouse.earlyStop')];
    onSignal();
  }
  return () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
}
