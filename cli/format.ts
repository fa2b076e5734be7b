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

// What a terminal draws two columns wide (East Asian wide and full-width characters, emoji) or in none
// (combining marks, as in decomposed Vietnamese, variation selectors among them): counting code points put the
// columns after a CJK or NFD cell out of line.
const WIDE =
  /[\p{Emoji_Presentation}\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]/u;
const ZERO_WIDTH = /[\p{Mn}\p{Me}\u200b-\u200f]/u;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const charWidth = (char: string) => (ZERO_WIDTH.test(char) ? 0 : WIDE.test(char) ? 2 : 1);

/** How many terminal columns `text` (without control characters) takes. */
export function displayWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let width = 0;
  for (const char of text) width += charWidth(char);
  return width;
}

/** `text` cut to at most `max` columns with an ellipsis, whole characters only (never half an emoji). */
function cutToWidth(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  let cut = '';
  let width = 0;
  for (const char of text) {
    const w = charWidth(char);
    if (width + w > max - 1) break;
    cut += char;
    width += w;
  }
  return `${cut}…`;
}

/** Renders rows as an aligned text table for terminals; long cells are cut so a row fits a line. */
export function renderTable(rows: Record<string, unknown>[], columns?: string[], maxCell = 48): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (cols.length === 0) return '(no columns)';
  const cell = (v: unknown) => {
    const text =
      v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    const flat = text.replace(/\s+/g, ' ').replace(CONTROL_CHARACTERS, escapeControl);
    return cutToWidth(flat, maxCell);
  };
  const body = rows.map((r) => cols.map((c) => cell(r[c])));
  // A loop, not Math.max(...cells): spreading a query's 200,000 cells as arguments overflows the stack.
  const widths = cols.map((c) => displayWidth(c));
  for (const cells of body)
    cells.forEach((text, i) => {
      widths[i] = Math.max(widths[i] ?? 0, displayWidth(text));
    });
  // Numbers align right: a column is numeric by its first value that is not NULL (a NULL first row
  // left a column of counts aligned left).
  const numeric = cols.map((c) => {
    const first = rows.find((r) => r[c] !== null && r[c] !== undefined)?.[c];
    return typeof first === 'number';
  });
  const line = (cells: string[]) =>
    cells
      .map((c, i) => {
        const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - displayWidth(c)));
        return numeric[i] ? pad + c : c + pad;
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
