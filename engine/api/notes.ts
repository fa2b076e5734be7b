import type { GraphNote } from './contract.ts';
import { counted } from './counted.ts';

// A model's notes over the dates of a run, as the app lists them (the pipeline view's model details, the
// editor's run notes). Imports nothing but contract types, so the renderer can use it too.

/** What starts a run record's warning about a warn-level test that failed, not a note the model made. */
export const WARNED_TEST = 'warn: ';

/** Notes a model lists at most; a note several dates give counts once. */
const MAX_NOTES = 20;

/**
 * A model's notes over the dates of its latest run, each said once: a note that several dates give, up
 * to the date it names (a history model's "history not replayed on <date>: ..." on every date but the
 * one it replays on), is one note with those dates, the date left out of its text. A re-run of every
 * date otherwise filled the list with one line a date, and past MAX_NOTES left out the notes of the last
 * dates, which say what the run did (where the history was replayed). Beyond `max` (MAX_NOTES in the
 * app), the last note says how many more there are; `lakehouse runs`, the place that note points to,
 * lists every one.
 */
export function groupNotes(
  notes: readonly { etlDate: string | null; text: string }[],
  max = MAX_NOTES,
): GraphNote[] {
  const DATE = '\u0000';
  const groups = new Map<string, { etlDate: string | null; text: string; dates: string[] }>();
  for (const { etlDate, text } of notes) {
    const key = etlDate ? text.split(etlDate).join(DATE) : text;
    const group = groups.get(key);
    if (!group) groups.set(key, { etlDate, text, dates: etlDate ? [etlDate] : [] });
    else if (etlDate && !group.dates.includes(etlDate)) group.dates.push(etlDate);
  }
  const grouped: GraphNote[] = [...groups].map(([key, { etlDate, text, dates }]) =>
    dates.length > 1
      ? { etlDate, dates, text: key.split(` on ${DATE}`).join('').split(DATE).join('that date') }
      : { etlDate, text },
  );
  if (grouped.length <= max) return grouped;
  const left = grouped.length - (max - 1);
  return [
    ...grouped.slice(0, max - 1),
    { etlDate: null, text: `${counted(left, 'more note')} not shown here: lakehouse runs lists every one` },
  ];
}

/** The dates a note came from: one, two, or the first and last of more, with how many. */
export function noteDates(note: GraphNote): string {
  const dates = note.dates ?? (note.etlDate ? [note.etlDate] : []);
  if (dates.length <= 2) return dates.join(', ');
  return `${dates[0]} … ${dates.at(-1)} (${dates.length} dates)`;
}
