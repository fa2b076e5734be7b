// Counts in words, for the engine's notes and errors and for the command line and the app that show
// them: "1 date", "3 dates", never "date(s)". Imports nothing, so the renderer can use it too.

/** `singular` for a count of 1, else `plural`: a noun (`column`/`columns`) or a verb (`holds`/`hold`). */
export function inNumber(count: number, singular: string, plural = `${singular}s`): string {
  return count === 1 ? singular : plural;
}

/** `1 row`, `2 rows`: a count with its noun in the right number, as "(1 rows)" or "1 date(s)" read wrong. */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${inNumber(count, singular, plural)}`;
}
