/**
 * Every failure the engine reports crosses process boundaries as `{code, message, details}`.
 * Callers (CLI, UI) branch on `code`, never on the message text.
 */
export type ErrorCode =
  | 'PROJECT_NOT_FOUND'
  | 'PROJECT_INVALID'
  | 'MODEL_INVALID'
  | 'MODEL_CYCLE'
  | 'MODEL_SQL_ERROR'
  | 'SOURCE_MISSING'
  | 'SOURCE_UNREADABLE'
  | 'SOURCE_SCHEMA_MISMATCH'
  | 'STORAGE_BUCKET_MISSING'
  | 'STORAGE_ACCESS_DENIED'
  | 'STORAGE_UNAVAILABLE'
  | 'TEST_FAILED'
  | 'ACCOUNTING_MISMATCH'
  /** A target's existing tables cannot take the gold tables as they are (reported before anything runs). */
  | 'PUBLISH_CONFLICT'
  /** The target refused a statement or could not be reached; nothing was changed. */
  | 'PUBLISH_FAILED'
  /** Rows read back from the target differ from the local gold tables; the load was rolled back. */
  | 'PUBLISH_MISMATCH'
  /** An Iceberg metadata, manifest or data file breaks the spec (the message names the file and the rule). */
  | 'ICEBERG_INVALID'
  /** Every Iceberg commit attempt lost a race with another writer; nothing of ours was left behind. */
  | 'ICEBERG_COMMIT_CONFLICT'
  /** The catalog did not say whether an Iceberg commit applied; no file was deleted. */
  | 'ICEBERG_COMMIT_STATE_UNKNOWN'
  | 'RUN_CANCELLED'
  | 'RUN_LOCKED'
  | 'INVALID_ARGUMENT'
  | 'QUERY_ERROR'
  | 'QUERY_CANCELLED'
  /**
   * The UI's call never reached the engine: the app's server (`lakehouse app`, `npm start`) stopped or
   * cannot be reached. Raised by the renderer's client, never by the engine itself.
   */
  | 'SERVER_UNREACHABLE'
  | 'INTERNAL';

export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class LakehouseError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'LakehouseError';
    this.code = code;
    this.details = details;
  }

  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Stands for the project in a command an error message suggests (`lakehouse run <project>`): the same
 * message reaches the app, which has no command line, and `--json`, whose text stays the same. The
 * command line prints it with the project argument as the user typed it (cli/format.ts withProjectArg).
 */
export const PROJECT_PLACEHOLDER = '<project>';

/** Wraps anything thrown into a LakehouseError, keeping the original message. */
export function toLakehouseError(error: unknown, fallback: ErrorCode = 'INTERNAL'): LakehouseError {
  if (error instanceof LakehouseError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LakehouseError(fallback, message);
}

/**
 * A run that would fix what an error reports, kept in its details as `suggestedRun`: the command line
 * prints it as a `lakehouse run` command, the app offers to set its run form to it. The message itself
 * says it in words, so it reads right in both.
 */
export interface SuggestedRun {
  from?: string;
  to?: string;
  dates?: string[];
  select?: string[];
}

/**
 * The run of exactly these dates: a from/to range when they are consecutive days, else the list (a
 * range over a day with no delivery would fail on it).
 */
export function runOfDates(dates: string[], select?: string[]): SuggestedRun {
  const sorted = [...new Set(dates)].sort();
  const consecutive = sorted.every(
    (d, i) =>
      i === 0 || Date.parse(`${d}T00:00:00Z`) - Date.parse(`${sorted[i - 1]}T00:00:00Z`) === 86_400_000,
  );
  const run: SuggestedRun = consecutive ? { from: sorted[0], to: sorted.at(-1) } : { dates: sorted };
  return select?.length ? { ...run, select } : run;
}

/** Every calendar day of a suggested run, to check it against the dates a project has. */
export function daysOfRun(run: SuggestedRun): string[] {
  if (run.dates) return run.dates;
  const days: string[] = [];
  const end = Date.parse(`${run.to}T00:00:00Z`);
  for (let t = Date.parse(`${run.from}T00:00:00Z`); t <= end && days.length < 10_000; t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/** "2022-06-01 .. 2022-06-03" for a span of dates, or the one date when it is a single one. */
export function dateSpan(first: string, last: string): string {
  return first === last ? first : `${first} .. ${last}`;
}

/** "2022-06-01 .. 2022-06-03 (models silver.a, silver.b)": a suggested run in words, for messages. */
export function describeRun(run: SuggestedRun): string {
  const dates = run.dates ? describeDates(run.dates) : dateSpan(String(run.from), String(run.to));
  const models = run.select?.length
    ? ` (model${run.select.length > 1 ? 's' : ''} ${run.select.join(', ')})`
    : '';
  return `${dates}${models}`;
}

/** Sorted YYYY-MM-DD dates cut into runs of consecutive days, for messages that shorten long lists. */
export function consecutiveDays(sorted: string[]): string[][] {
  const day = (d: string) => Date.parse(`${d}T00:00:00Z`) / 86_400_000;
  const stretches: string[][] = [];
  for (const d of sorted) {
    const last = stretches.at(-1);
    if (last && day(d) - day(last.at(-1) as string) === 1) last.push(d);
    else stretches.push([d]);
  }
  return stretches;
}

/** Parts a list of dates shows before the rest is counted ("and 30 more dates up to ..."). */
const LISTED_PARTS = 4;

/**
 * Dates that are not one range, in words a message can carry: three or more consecutive days as
 * "a .. b", at most a few parts, then a count. A run of one date amid 40 otherwise listed the other 39
 * by hand, twice per model; the exact dates stay in the error's details (suggestedRun).
 */
function describeDates(dates: string[]): string {
  const sorted = [...new Set(dates)].sort();
  const stretches = consecutiveDays(sorted);
  // Two days read better as a pair than as a range.
  const parts = stretches.flatMap((s) => (s.length >= 3 ? [`${s[0]} .. ${s.at(-1)}`] : s));
  if (parts.length <= LISTED_PARTS + 1) return parts.join(', ');
  const shown = parts.slice(0, LISTED_PARTS);
  const shownDays = stretches
    .flatMap((s) => (s.length >= 3 ? [s.length] : s.map(() => 1)))
    .slice(0, LISTED_PARTS)
    .reduce((a, b) => a + b, 0);
  const rest = sorted.length - shownDays;
  return `${shown.join(', ')} and ${rest} more date${rest === 1 ? '' : 's'} up to ${sorted.at(-1)}`;
}

/** The suggested run an error's details carry, if it carries a well-formed one. */
export function suggestedRunOf(details: Record<string, unknown> | undefined): SuggestedRun | undefined {
  const run = details?.suggestedRun;
  if (typeof run !== 'object' || run === null) return undefined;
  const { from, to, dates, select } = run as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const list = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined);
  const parsed: SuggestedRun = { from: text(from), to: text(to), dates: list(dates), select: list(select) };
  if (!parsed.dates && !(parsed.from && parsed.to)) return undefined;
  return Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== undefined));
}

/** Text as a RegExp matches it literally: names found in SQL, to point a message at their line. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
