import { describe, expect, it } from 'vitest';
import { groupNotes } from '../../engine/api/notes.ts';

// What a model's details list from its latest run's notes: each note once, with the dates that gave it.

const day = (n: number) => `2022-06-${String(n).padStart(2, '0')}`;

describe("a model's notes in the pipeline graph", () => {
  it('lists a history re-run of 25 dates as one held note and the replay, not 20 held lines', () => {
    const notes = [];
    for (let n = 1; n <= 24; n++) {
      notes.push({
        etlDate: day(n),
        text:
          `history not replayed on ${day(n)}: this run replays it once, on ${day(25)}, with every date it ` +
          'changes; kept as it was until then',
      });
    }
    notes.push({ etlDate: day(25), text: `replayed 25 date(s) ${day(1)} .. ${day(25)} to rebuild history` });
    expect(groupNotes(notes)).toEqual([
      {
        etlDate: day(1),
        dates: Array.from({ length: 24 }, (_, i) => day(i + 1)),
        text: `history not replayed: this run replays it once, on ${day(25)}, with every date it changes; kept as it was until then`,
      },
      { etlDate: day(25), text: `replayed 25 date(s) ${day(1)} .. ${day(25)} to rebuild history` },
    ]);
  });

  it('gives a note every date repeats word for word once, and says how many notes it leaves out', () => {
    const notes = [];
    for (let n = 1; n <= 30; n++) {
      notes.push({ etlDate: day(n), text: `${n} of 100 keywords answered from the cache` });
      notes.push({ etlDate: day(n), text: 'catalog source.title_catalog: 2 title(s) share a slug' });
    }
    const grouped = groupNotes(notes);
    expect(grouped).toHaveLength(20);
    expect(grouped[1]).toMatchObject({
      etlDate: day(1),
      text: 'catalog source.title_catalog: 2 title(s) share a slug',
    });
    expect(grouped[1]?.dates).toHaveLength(30);
    expect(grouped.at(-1)).toEqual({
      etlDate: null,
      text: '12 more notes not shown here: lakehouse runs lists every one',
    });
    // lakehouse runs, where that note sends a reader, lists every one: it said the same of itself.
    const every = groupNotes(notes, Number.POSITIVE_INFINITY);
    expect(every).toHaveLength(31);
    expect(every.at(-1)).toEqual({ etlDate: day(30), text: '30 of 100 keywords answered from the cache' });
  });
});
