/**
 * Cancels long work on Ctrl-C (SIGINT) and on SIGTERM alike: CI timeouts, `timeout`, systemd and
 * container stops send SIGTERM, and a run stopped that way should roll back and report like Ctrl-C,
 * not die mid-date. The first signal cancels; returns what removes the handlers.
 */
export function cancelOnStopSignals(controller: AbortController, saying: string): () => void {
  const onSignal = () => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\n${saying}\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
}
