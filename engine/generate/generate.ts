import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IsoDate } from '../api/contract.ts';
import { LakehouseError } from '../api/errors.ts';
import type { Db } from '../db/duckdb.ts';
import { createRng } from './random.ts';
import {
  type ClassBounds,
  type DayPlan,
  daySql,
  dropLookupTablesSql,
  lookupTablesSql,
} from './sample-sql.ts';
import { buildTitleCatalog, catalogToCsv } from './titles.ts';
import { NOISE_QUERIES } from './vocabulary.ts';

export interface GenerateOptions {
  outDir: string;
  days: number;
  rowsPerDay: number;
  seed: number;
  /** First day, 'YYYY-MM-DD'; default '2022-06-01' like the real sample. */
  startDate?: string;
  /** Called after each day is written: (days done, days in total). */
  onProgress?: (done: number, total: number) => void;
}

export interface GenerateSummary {
  /** The generated days as YYYYMMDD (the folder names). */
  days: string[];
  rows: number;
  files: string[];
  catalogPath: string;
  /** Size of the registered-user population the days draw from (not all of them search). */
  users: number;
  titles: number;
}

/** A user whose plan set changes in a known way, present on every day when rowsPerDay >= 100. */
export const KNOWN_PLAN_CHANGE_USER = '00012345';

/** The plans of KNOWN_PLAN_CHANGE_USER: day 1 {A, B}, day 2 {A}, day 3 {A, B} (B came back), day 4+ {A, C}. */
export const KNOWN_PLAN_CHANGE_PLANS = {
  A: 'Kênh Quốc Tế:promotion',
  B: 'HBO GO+:promotion',
  C: 'VIP:direct',
} as const;

/** The known user's `userPlansMap` on a day (0 = the first generated day). */
export function knownUserPlansOn(dayIndex: number): string[] {
  const { A, B, C } = KNOWN_PLAN_CHANGE_PLANS;
  if (dayIndex === 1) return [A];
  if (dayIndex >= 3) return [A, C];
  return [A, B];
}

/** Share of rows per day that carry each quirk (counts are exact: round(rows x share), at least 1 from 1,000 rows). */
export const QUIRK_SHARES = {
  garbage: 0.0001,
  twelveHour: 0.004,
  buddhistEra: 0.0015,
  previousDay: 0.0006,
  nextDay: 0.0013,
  farDay: 0.0002,
  duplicate: 0.0002,
  crossDay: 0.0001,
} as const;

const MAX_ROWS_PER_DAY = 100_000_000;
// The last day a YYYYMMDD folder can name.
const LAST_DATE = '9999-12-31';
const MAX_USERS = 50_000_000;
const PLAN_COMBOS = 2000;
// Large primes for the row permutation: any of them is coprime with every row count we allow.
const ROW_PRIMES = [2147483647, 1000000007, 1000000009, 998244353] as const;

/** Number of catalog titles generated for a given day size. */
export function catalogSizeFor(rowsPerDay: number): number {
  return Math.min(30_000, Math.max(200, Math.floor(rowsPerDay / 10)));
}

/**
 * Writes `days` days of synthetic search logs, one Parquet file per day in the real sample's layout and
 * schema, plus title_catalog.csv. Same options give byte-identical files with one DuckDB version (its
 * hash() drives every choice). Uses temp tables named __gen_*: run one generation at a time per Db.
 */
export async function generateSample(db: Db, options: GenerateOptions): Promise<GenerateSummary> {
  const { outDir, days, rowsPerDay, seed } = options;
  const startDate = options.startDate ?? '2022-06-01';
  validate(days, rowsPerDay, seed, startDate);

  const catalog = buildTitleCatalog(catalogSizeFor(rowsPerDay), seed);
  const catalogPath = join(outDir, 'title_catalog.csv');
  await mkdir(outDir, { recursive: true });
  await writeFile(catalogPath, catalogToCsv(catalog), 'utf8');

  const users = Math.min(MAX_USERS, Math.max(50, Math.round(2 * rowsPerDay)));
  const rng = createRng(seed);
  const idPart = (digits: number) => ({
    mul: coprimeWith10(rng.int(10 ** digits)),
    add: rng.int(10 ** digits),
  });
  const id6 = idPart(6);
  const id7 = idPart(7);
  const id8 = idPart(8);
  const prime = ROW_PRIMES[Math.abs(Math.trunc(seed)) % ROW_PRIMES.length] ?? ROW_PRIMES[0];
  const startMs = Date.parse(`${startDate}T00:00:00Z`);
  const dateOf = (day: number): string => new Date(startMs + day * 86_400_000).toISOString().slice(0, 10);
  const offsetOf = (day: number): number => createRng(seed ^ Math.imul(day + 1, 0x9e3779b1)).int(rowsPerDay);

  const previousOrder = await db.scalar<boolean>(`SELECT current_setting('preserve_insertion_order')`);
  await db.run('SET preserve_insertion_order = true');
  const summary: GenerateSummary = {
    days: [],
    rows: 0,
    files: [],
    catalogPath,
    users,
    titles: catalog.length,
  };
  try {
    const knownPlanSets = [0, 1, 2, 3].map(knownUserPlansOn);
    const lookups = lookupTablesSql({
      seed,
      titles: catalog.map((entry) => entry.title),
      noise: NOISE_QUERIES,
      combos: PLAN_COMBOS,
      knownPlanSets,
      rows: rowsPerDay,
    });
    for (const sql of lookups) await db.run(sql);
    for (let day = 0; day < days; day++) {
      const folder = dateOf(day).replaceAll('-', '');
      const dir = join(outDir, 'customer_search_log_data', folder);
      await mkdir(dir, { recursive: true });
      const targetPath = join(dir, 'part-00000.parquet');
      // Written under a hidden name (sources ignore dot files) and renamed once whole: a generate stopped
      // mid-day (Ctrl-C, kill) left a Parquet file without a footer that every run of its day failed on.
      const writingPath = join(dir, '.part-00000.parquet.writing');
      const plan: DayPlan = {
        seed,
        day,
        rows: rowsPerDay,
        users,
        titles: catalog.length,
        noise: NOISE_QUERIES.length,
        combos: PLAN_COMBOS,
        prime,
        offset: offsetOf(day),
        previousOffset: offsetOf(day - 1),
        bounds: classBounds(rowsPerDay),
        dateOf,
        knownPlanDays: knownPlanSets.length,
        idMul6: id6.mul,
        idAdd6: id6.add,
        idMul7: id7.mul,
        idAdd7: id7.add,
        idMul8: id8.mul,
        // User 0 maps to exactly this number, so no generated user can collide with the known one.
        idAdd8: Number(KNOWN_PLAN_CHANGE_USER),
        targetPath: writingPath,
      };
      await db.run(daySql(plan));
      await rename(writingPath, targetPath);
      summary.days.push(folder);
      summary.files.push(targetPath);
      summary.rows += rowsPerDay;
      options.onProgress?.(day + 1, days);
    }
  } finally {
    for (const sql of dropLookupTablesSql()) await db.run(sql).catch(() => undefined);
    if (previousOrder === false) await db.run('SET preserve_insertion_order = false');
  }
  return summary;
}

/** Options a user typed (`lakehouse generate` flags): a bad one is INVALID_ARGUMENT naming the flag. */
function validate(days: number, rowsPerDay: number, seed: number, startDate: string): void {
  const invalid = (message: string) => new LakehouseError('INVALID_ARGUMENT', message);
  if (!Number.isInteger(days) || days < 1)
    throw invalid(`--days must be a whole number of at least 1, got ${days}`);
  if (!Number.isInteger(rowsPerDay) || rowsPerDay < 1 || rowsPerDay > MAX_ROWS_PER_DAY) {
    throw invalid(`--rows-per-day must be a whole number in 1..${MAX_ROWS_PER_DAY}, got ${rowsPerDay}`);
  }
  if (!Number.isSafeInteger(seed)) throw invalid(`--seed must be a whole number, got ${seed}`);
  if (!IsoDate.safeParse(startDate).success) {
    throw invalid(`--start must be a calendar date as YYYY-MM-DD, e.g. 2022-06-01, got '${startDate}'`);
  }
  // Past 9999-12-31 a day's folder would be named '+01000001' (an ISO date with a six-digit year).
  const lastDays = Math.round((Date.parse(LAST_DATE) - Date.parse(startDate)) / 86_400_000) + 1;
  if (days > lastDays) {
    throw invalid(
      `--days ${days} from --start ${startDate} runs past ${LAST_DATE}: give at most ${lastDays} days, or an earlier start`,
    );
  }
}

// The id permutation u -> (u * mul + add) mod 10^k is a bijection only when mul is coprime with 10.
function coprimeWith10(value: number): number {
  let mul = value | 1;
  if (mul % 5 === 0) mul += 2;
  return mul;
}

function classBounds(rows: number): ClassBounds {
  const count = (share: number): number => {
    const exact = Math.round(rows * share);
    return rows >= 1000 ? Math.max(1, exact) : exact;
  };
  const knownRows = rows >= 100 ? 2 : 0;
  return {
    garbage: count(QUIRK_SHARES.garbage),
    twelveHour: count(QUIRK_SHARES.twelveHour),
    buddhistEra: count(QUIRK_SHARES.buddhistEra),
    previousDay: count(QUIRK_SHARES.previousDay),
    nextDay: count(QUIRK_SHARES.nextDay),
    farDay: count(QUIRK_SHARES.farDay),
    duplicate: count(QUIRK_SHARES.duplicate),
    crossDay: count(QUIRK_SHARES.crossDay),
    knownFrom: rows - knownRows,
  };
}
