// The note a history model (scd2, bridge) leaves on a date of a run that replays its history later, on
// the run's last replaying date. Written by the engine and read back by the app's pipeline view, which
// shows such a date as waiting for that replay rather than as a step that wrote 0 rows. Imports nothing,
// so the renderer can use it too.

const HELD =
  /^history not replayed on (\d{4}-\d{2}-\d{2}): this run replays it once, on (\d{4}-\d{2}-\d{2})[,;]/;

/** `behind`: the dimensions rebuilt in this run that do not hold the dates the replay needs yet. */
export function historyHeldNote(etlDate: string, replayDate: string, behind: string): string {
  return (
    `history not replayed on ${etlDate}: this run replays it once, on ${replayDate}, with every date it ` +
    `changes${behind ? ` (${behind}, rebuilt in this run)` : ''}; kept as it was until then`
  );
}

/** The date this run replays the history on, when a record's notes say its date left it for then. */
export function replayDateOf(etlDate: string, warnings: readonly string[]): string | undefined {
  for (const note of warnings) {
    const held = HELD.exec(note);
    if (held && held[1] === etlDate) return held[2];
  }
  return undefined;
}
