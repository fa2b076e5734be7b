import { describe, expect, it } from 'vitest';
import { counted, inNumber } from '../../engine/api/counted.ts';
import { historyReplayedNote, replayedRangeOf } from '../../engine/api/history-notes.ts';

// The engine's notes and errors count in words: "1 date", "3 dates", never "date(s)".
describe('counts in words', () => {
  it.each([
    [0, 'date', undefined, '0 dates'],
    [1, 'date', undefined, '1 date'],
    [3, 'date', undefined, '3 dates'],
    [1, 'retry', 'retries', '1 retry'],
    [2, 'retry', 'retries', '2 retries'],
  ])('%i %s reads %s', (count, singular, plural, text) => {
    expect(counted(count, singular, plural)).toBe(text);
  });

  it('agrees a verb with its count', () => {
    expect(`${counted(1, 'row')} ${inNumber(1, 'repeats', 'repeat')}`).toBe('1 row repeats');
    expect(`${counted(2, 'row')} ${inNumber(2, 'repeats', 'repeat')}`).toBe('2 rows repeat');
  });

  it("reads a replay note back in today's wording and in the 'date(s)' run history recorded before", () => {
    const range = { first: '2022-06-01', last: '2022-06-03' };
    expect(historyReplayedNote(['2022-06-01', '2022-06-02', '2022-06-03'])).toBe(
      'replayed 3 dates 2022-06-01 .. 2022-06-03 to rebuild history',
    );
    expect(historyReplayedNote(['2022-06-01'])).toBe('replayed 1 date 2022-06-01 to rebuild history');
    const one = { first: '2022-06-01', last: '2022-06-01' };
    expect(replayedRangeOf(['replayed 1 date 2022-06-01 to rebuild history'])).toEqual(one);
    expect(replayedRangeOf(['replayed 1 date 2022-06-01 .. 2022-06-01 to rebuild history'])).toEqual(one);
    expect(replayedRangeOf(['replayed 3 dates 2022-06-01 .. 2022-06-03 to rebuild history'])).toEqual(range);
    expect(replayedRangeOf(['replayed 3 date(s) 2022-06-01 .. 2022-06-03 to rebuild history'])).toEqual(
      range,
    );
  });
});
