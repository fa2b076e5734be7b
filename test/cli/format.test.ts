import { describe, expect, it } from 'vitest';
import { datesCell, errorText, renderTable, runCommandLine } from '../../cli/format.ts';
import type { ErrorPayload } from '../../engine/api/errors.ts';

// An error that suggests a run (details.suggestedRun) is printed with the command that does it; the
// engine's message says the same in words, since the app shows it too.
describe('errors with a suggested run', () => {
  it.each([
    [{ from: '2022-06-01', to: '2022-06-03' }, 'lakehouse run demo --from 2022-06-01 --to 2022-06-03'],
    [{ from: '2022-06-02', to: '2022-06-02' }, 'lakehouse run demo --date 2022-06-02'],
    [{ dates: ['2022-06-01', '2022-06-04'] }, 'lakehouse run demo --date 2022-06-01 --date 2022-06-04'],
    [
      { from: '2022-06-01', to: '2022-06-02', select: ['silver.user_plans_map', 'silver.x y'] },
      "lakehouse run demo --from 2022-06-01 --to 2022-06-02 --select silver.user_plans_map --select 'silver.x y'",
    ],
  ])('%j → %s', (run, command) => {
    expect(runCommandLine('demo', run)).toBe(command);
  });

  it('prints the command after the message, and ignores a malformed suggestion', () => {
    const error = (details: Record<string, unknown>): ErrorPayload => ({
      code: 'MODEL_INVALID',
      message: 'Rewrite those partitions first (run 2022-06-02), then run 2022-06-01 again.',
      details,
    });
    expect(errorText(error({ suggestedRun: { from: '2022-06-02', to: '2022-06-02' } }), 'my project')).toBe(
      'error [MODEL_INVALID]: Rewrite those partitions first (run 2022-06-02), then run 2022-06-01 again.\n' +
        "  to run it: lakehouse run 'my project' --date 2022-06-02\n",
    );
    for (const bad of [{ suggestedRun: { from: '2022-06-02' } }, { suggestedRun: 'x' }, {}]) {
      expect(errorText(error(bad), 'demo')).not.toContain('to run it');
    }
  });
});

describe('errors that name a table to rebuild', () => {
  it('prints the drop and the run of every date after the message', () => {
    const failed: ErrorPayload = {
      code: 'TEST_FAILED',
      message: 'gold.dim_platform failed on 2022-06-02: test not_null(device_kind): 3 failing row(s).',
      details: { model: 'gold.dim_platform', rebuild: 'gold.dim_platform' },
    };
    expect(errorText(failed, 'my project')).toBe(
      `error [TEST_FAILED]: ${failed.message}\n` +
        "  to rebuild it: lakehouse drop 'my project' gold.dim_platform --rebuild && lakehouse run 'my project'\n" +
        "  the run history: lakehouse runs 'my project' --json\n",
    );
    expect(errorText({ ...failed, details: { rebuild: 7 } }, 'demo')).not.toContain('to rebuild it');
  });
});

// `lakehouse query --limit 1000000` prints every row: a table that tall once overflowed the stack.
describe('renderTable', () => {
  it('aligns a table of 200,000 rows', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ n: i, name: i === 7 ? 'a longer name' : 'x' }));
    const lines = renderTable(rows).split('\n');
    expect(lines).toHaveLength(200_002);
    expect(lines[0]).toBe('     n  name');
    expect(lines[1]).toBe('------  -------------');
    expect(lines[2]).toBe('     0  x');
    expect(lines[9]).toBe('     7  a longer name');
  });
});

describe('renderTable in a terminal', () => {
  it('aligns columns after CJK, emoji and decomposed accents by the columns a terminal draws', () => {
    const table = renderTable([
      { title: '日本語', next: 'x' },
      { title: '👍a', next: 'y' },
      { title: 'Lu\u0308u', next: 'z' },
      { title: 'abcdef', next: 'w' },
    ]);
    // Every `next` cell starts at the same terminal column (6 wide + 2 spaces).
    expect(table.split('\n')).toEqual([
      'title   next',
      '------  ----',
      '日本語  x',
      '👍a     y',
      'Lu\u0308u     z',
      'abcdef  w',
    ]);
  });

  it('cuts a long cell between characters, never inside an emoji', () => {
    const [, , row] = renderTable([{ e: `${'x'.repeat(46)}👍👍`, n: 1 }]).split('\n');
    expect(row).toBe(`${'x'.repeat(46)}…  1`);
    expect(row).not.toContain('\ufffd');
    // A lone half of a surrogate pair prints as U+FFFD; with the u flag only a lone half is in this range.
    expect(row).not.toMatch(/[\ud800-\udfff]/u);
  });

  it('aligns a numeric column right when its first row is NULL', () => {
    expect(renderTable([{ n: null }, { n: 12345 }]).split('\n')).toEqual([
      '    n',
      '-----',
      ' NULL',
      '12345',
    ]);
  });
});

describe('query tables of untrusted text', () => {
  it('show control characters and bidi overrides as escapes, so a keyword cannot drive the terminal', () => {
    const keyword = `bóng\u0007\u0000\u001b[31m đá 😀\u202eevil\u009b`;
    const table = renderTable([{ keyword }]);
    expect(table.split('\n')[2]).toBe('bóng\\x07\\x00\\x1b[31m đá 😀\\u202eevil\\x9b');
    for (const line of table.split('\n')) expect(line).not.toMatch(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/u);
  });
});

// `lakehouse runs` cuts a cell at 48 characters: a month's run of dates as a list showed its first four.
describe('the dates of a run in the runs table', () => {
  it.each([
    ['2022-06-01,2022-06-02,2022-06-03,2022-06-04,2022-06-05', '2022-06-01 .. 2022-06-05 (5 dates)'],
    ['2022-06-30,2022-07-01', '2022-06-30 .. 2022-07-01 (2 dates)'],
    ['2022-06-02', '2022-06-02'],
    ['2022-06-01,2022-06-03', '2022-06-01,2022-06-03'],
    ['2022-06-03,2022-06-01,2022-06-02', '2022-06-01 .. 2022-06-03 (3 dates)'],
    ['', ''],
  ])('%j → %j', (dates, cell) => {
    expect(datesCell(dates)).toBe(cell);
  });
});
