import { counted } from './counted.ts';
import { dateSpan } from './errors.ts';

// The notes a history model (scd2, bridge) leaves on a date of a run: that it replays its history later,
// on the run's last replaying date, or that it replayed it. Written by the engine and read back by the
// pipeline graph (the rows a replay read) and the app's pipeline view (a date waiting for the replay is
// no step that wrote 0 rows). Imports nothing, so the renderer can use it too.

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

/** `dates`: every date the replay applied, in order. */
export function historyReplayedNote(dates: readonly string[]): string {
  return `replayed ${counted(dates.length, 'date')} ${dateSpan(dates[0] ?? '', dates.at(-1) ?? '')} to rebuild history`;
}

// `date(s)`: how history recorded before the count was worded read; `a .. a`, a single date recorded before
// it was written once.
const REPLAYED =
  /^replayed \d+ (?:dates?|date\(s\)) (\d{4}-\d{2}-\d{2})(?: \.\. (\d{4}-\d{2}-\d{2}))? to rebuild history$/;

/** The first and last date a record's replay applied, when its notes say it replayed the history. */
export function replayedRangeOf(warnings: readonly string[]): { first: string; last: string } | undefined {
  for (const note of warnings) {
    const replayed = REPLAYED.exec(note);
    if (replayed) return { first: replayed[1]!, last: replayed[2] ?? replayed[1]! };
  }
  return undefined;
}
