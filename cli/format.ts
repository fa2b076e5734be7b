import {
  describeRun,
  type ErrorPayload,
  PROJECT_PLACEHOLDER,
  runOfDates,
  type SuggestedRun,
  suggestedRunOf,
} from '../engine/api/errors.ts';
/** A path or name as a shell word a user can paste: quoted when it holds anything but plain characters. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

// Control characters (an ESC starts a terminal command) and bidi overrides (they reorder what follows).
const CONTROL_CHARACTERS = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu;
const escapeControl = (c: string) => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
};

/** Renders rows as an aligned text table for terminals; long cells are cut so a row fits a line. */
export function renderTable(rows: Record<string, unknown>[], columns?: string[], maxCell = 48): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (cols.length === 0) return '(no columns)';
  const cell = (v: unknown) => {
    const text =
      v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    const flat = text.replace(/\s+/g, ' ').replace(CONTROL_CHARACTERS, escapeControl);
    return flat.length > maxCell ? `${flat.slice(0, maxCell - 1)}…` : flat;
  };
  const body = rows.map((r) => cols.map((c) => cell(r[c])));
  // A loop, not Math.max(...cells): spreading a query's 200,000 cells as arguments overflows the stack.
  const widths = cols.map((c) => c.length);
  for (const cells of body)
    cells.forEach((text, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...text].length);
    });
  const line = (cells: string[]) =>
    cells
      .map((c, i) => {
        const pad = (widths[i] ?? 0) - [...c].length;
        return typeof rows[0]?.[cols[i] ?? ''] === 'number' ? ' '.repeat(pad) + c : c + ' '.repeat(pad);
      })
      .join('  ')
      .trimEnd();
  const out = [line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  return out.join('\n');
}

// The engine words its counts the same way; the commands import it from here with the other formatting.
export { counted } from '../engine/api/counted.ts';

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** JSON with bigint values as numbers when exact, else strings, so scripts can parse the output. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => {
      if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
      return v;
    },
    2,
  );
}

/**
 * An error as the command line prints it: `error [CODE]: message`, then, when the error suggests a run
 * (or a table to rebuild) that fixes it, the commands to paste, and where a failed test's rows are kept.
 */
export function errorText(error: ErrorPayload, projectDir: string): string {
  let text = `error [${error.code}]: ${withProjectArg(error.message, projectDir)}\n`;
  const run = suggestedRunOf(error.details);
  if (run) text += `  to run it: ${runCommandLine(projectDir, run)}\n`;
  const rebuild = error.details?.rebuild;
  if (typeof rebuild === 'string') {
    const dir = shellWord(projectDir);
    text += `  to rebuild it: lakehouse drop ${dir} ${shellWord(rebuild)} --rebuild && lakehouse run ${dir}\n`;
  }
  if (error.code === 'TEST_FAILED')
    text += `  the run history: lakehouse runs ${shellWord(projectDir)} --json\n`;
  return text;
}

/**
 * An engine message with the project of the commands it suggests (`lakehouse drop <project> gold.x`) as
 * the user gave it, a word they can paste; the app and `--json` keep the placeholder.
 */
export function withProjectArg(message: string, projectArg: string): string {
  return message.replaceAll(PROJECT_PLACEHOLDER, shellWord(projectArg));
}

/** `lakehouse run <dir> --from A --to B --select m`: a suggested run as the command that does it. */
export function runCommandLine(projectDir: string, run: SuggestedRun): string {
  const dates = run.dates
    ? run.dates.map((d) => `--date ${d}`)
    : run.from === run.to
      ? [`--date ${run.from}`]
      : [`--from ${run.from}`, `--to ${run.to}`];
  const select = (run.select ?? []).map((m) => `--select ${shellWord(m)}`);
  return ['lakehouse run', shellWord(projectDir), ...dates, ...select].join(' ');
}

/**
 * A run's dates as the table shows them: consecutive days as their first and last, written as the run's
 * notes write a range, so a month's run still shows where it ended (the list was cut after four dates);
 * other dates as the list.
 */
export function datesCell(dates: string): string {
  const list = dates.split(',').filter(Boolean);
  const run = runOfDates(list);
  return run.from !== run.to ? `${describeRun(run)} (${list.length} dates)` : list.join(',');
}
