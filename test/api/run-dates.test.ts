import { describe, expect, it } from 'vitest';
import { IsoDate } from '../../engine/api/contract.ts';
import { describeRun, runOfDates } from '../../engine/api/errors.ts';

// The dates the contract takes, and how a message says the dates of a run.

describe('IsoDate', () => {
  it('takes the calendar dates of years 0-99, which Date.UTC read as 1900-1999', () => {
    for (const date of ['0050-01-01', '0000-01-01', '0099-12-31', '0000-02-29', '0004-02-29'])
      expect(IsoDate.safeParse(date).success, date).toBe(true);
    // Still checked as calendar dates: 50 and 100 are no leap years, 0 and 4 are (proleptic Gregorian).
    for (const date of ['0050-02-29', '0100-02-29', '0001-13-01', '0010-04-31'])
      expect(IsoDate.safeParse(date).success, date).toBe(false);
  });
});

describe('describeRun', () => {
  const days = (from: string, count: number) =>
    Array.from({ length: count }, (_, i) =>
      new Date(Date.parse(`${from}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10),
    );

  it('says the 39 other dates of a 40-date project as two ranges, not one by one', () => {
    const others = days('2022-06-01', 40).filter((d) => d !== '2022-06-20');
    const run = runOfDates(others, ['silver.customer_search+']);
    // The exact dates stay in the run a message's details carry.
    expect(run.dates).toEqual(others);
    expect(describeRun(run)).toBe(
      '2022-06-01 .. 2022-06-19, 2022-06-21 .. 2022-07-10 (model silver.customer_search+)',
    );
  });

  it('lists a few scattered dates as they are and counts the rest', () => {
    expect(describeRun(runOfDates(['2022-06-01', '2022-06-02', '2022-06-04']))).toBe(
      '2022-06-01, 2022-06-02, 2022-06-04',
    );
    const everyOther = days('2022-06-01', 40).filter((_, i) => i % 2 === 0);
    expect(describeRun(runOfDates(everyOther))).toBe(
      '2022-06-01, 2022-06-03, 2022-06-05, 2022-06-07 and 16 more dates up to 2022-07-09',
    );
    expect(describeRun(runOfDates([...days('2022-06-01', 10), ...everyOther.slice(6)]))).toBe(
      '2022-06-01 .. 2022-06-10, 2022-06-13, 2022-06-15, 2022-06-17 and 11 more dates up to 2022-07-09',
    );
  });
});
