// When a run started and ended, as the run history gives it and people read it. The history records each
// instant with the UTC offset of the machine's zone then (_lakehouse.run_clocks); the engine gives it as
// that wall clock with that offset, so the app and the command line can say which clock it is, and a run
// keeps its time after the zone changes. Imports nothing, so the renderer can use it.

/** `+07` or `+0700` (DuckDB's %z) as `+07:00`, the offset as ISO 8601 and JavaScript's Date write it. */
export function withIsoOffset(at: string): string {
  return at.replace(
    /([+-]\d{2}):?(\d{2})?$/,
    (_, hours: string, minutes?: string) => `${hours}:${minutes ?? '00'}`,
  );
}

/**
 * `2022-06-02 20:40:36.178245+07:00` as `2022-06-02 20:40:36 UTC+07:00`, or `... UTC` at offset zero: to
 * the second, with its zone, so a reader cannot take UTC for local time or the other way round.
 */
export function runClockText(at: string): string {
  const match = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.\d+)?([+-]\d{2}:\d{2})$/.exec(at);
  if (!match) return at;
  const [, wallClock, offset] = match;
  return `${wallClock} UTC${offset === '+00:00' ? '' : offset}`;
}
