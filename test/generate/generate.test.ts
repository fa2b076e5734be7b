import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, literal, openDb } from '../../engine/db/duckdb.ts';
import {
  catalogSizeFor,
  type GenerateSummary,
  generateSample,
  KNOWN_PLAN_CHANGE_PLANS,
  KNOWN_PLAN_CHANGE_USER,
  knownUserPlansOn,
  QUIRK_SHARES,
} from '../../engine/generate/generate.ts';
import { GENRES } from '../../engine/generate/titles.ts';

const PROJECT_ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const REAL_DAY_FILE = resolve(
  PROJECT_ROOT,
  '../shared/data/customer_search_log_data/20220601/part-00000.snappy.parquet',
);
const DAYS = 4;
const ROWS = 3000;
const SEED = 42;

let db: Db;
let root: string;
let sample: GenerateSummary;
let rerun: GenerateSummary;
let otherSeed: GenerateSummary;
const progress: Array<[number, number]> = [];

// One view over all generated days, with the day folder of each row.
const EVENTS = `(SELECT *, regexp_extract(filename, '(\\d{8})/part', 1) AS day FROM read_parquet(__FILES__, filename = true))`;
function events(summary: GenerateSummary): string {
  return EVENTS.replace('__FILES__', `[${summary.files.map(literal).join(', ')}]`);
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

beforeAll(async () => {
  db = await openDb();
  root = await mkdtemp(join(tmpdir(), 'generate-test-'));
  const options = { days: DAYS, rowsPerDay: ROWS, seed: SEED };
  sample = await generateSample(db, {
    ...options,
    outDir: join(root, 'a'),
    onProgress: (done, total) => progress.push([done, total]),
  });
  rerun = await generateSample(db, { ...options, outDir: join(root, 'b') });
  otherSeed = await generateSample(db, { ...options, seed: SEED + 1, outDir: join(root, 'c') });
});

afterAll(async () => {
  db?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('generateSample layout', () => {
  it('writes one Parquet file per day in the source layout, plus the catalog', () => {
    expect(sample.days).toEqual(['20220601', '20220602', '20220603', '20220604']);
    expect(sample.files).toEqual(
      sample.days.map((day) => join(root, 'a', 'customer_search_log_data', day, 'part-00000.parquet')),
    );
    expect(sample.rows).toBe(DAYS * ROWS);
    expect(sample.catalogPath).toBe(join(root, 'a', 'title_catalog.csv'));
    expect(sample.titles).toBe(catalogSizeFor(ROWS));
    expect(sample.users).toBeGreaterThan(0);
    expect(progress).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
  });

  it('has exactly rowsPerDay rows in every file', async () => {
    const rows = await db.all<{ day: string; n: number }>(
      `SELECT day, count(*) AS n FROM ${events(sample)} GROUP BY day ORDER BY day`,
    );
    expect(rows).toEqual(sample.days.map((day) => ({ day, n: ROWS })));
  });

  it('honours startDate', async () => {
    const summary = await generateSample(db, {
      outDir: join(root, 'd'),
      days: 2,
      rowsPerDay: 50,
      seed: 1,
      startDate: '2023-12-31',
    });
    expect(summary.days).toEqual(['20231231', '20240101']);
  });

  it.each([
    [{ days: 0 }, /--days/],
    [{ rowsPerDay: 0 }, /--rows-per-day/],
    [{ rowsPerDay: 1.5 }, /--rows-per-day/],
    [{ seed: Number.NaN }, /--seed/],
    [{ startDate: '2022-02-30' }, /--start/],
    [{ startDate: '1/6/2022' }, /--start/],
  ])('rejects bad options %j, naming the flag', async (override, message) => {
    const options = { outDir: join(root, 'bad'), days: 1, rowsPerDay: 10, seed: 1, ...override };
    await expect(generateSample(db, options)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(message),
    });
  });
});

describe('generateSample date range', () => {
  // From 9999-12-30, a third day was written to a folder named '+01000001' (toISOString's six-digit year).
  it('refuses days past 9999-12-31, naming --days and --start, and writes nothing', async () => {
    const outDir = join(root, 'past-9999');
    await expect(
      generateSample(db, { outDir, days: 3, rowsPerDay: 10, seed: 1, startDate: '9999-12-30' }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(
        /--days 3 from --start 9999-12-30 runs past 9999-12-31: give at most 2 days/,
      ),
    });
    expect(existsSync(outDir)).toBe(false);
  });

  it('still writes the last days up to 9999-12-31', async () => {
    const outDir = join(root, 'up-to-9999');
    const summary = await generateSample(db, {
      outDir,
      days: 2,
      rowsPerDay: 10,
      seed: 1,
      startDate: '9999-12-30',
    });
    expect(summary.days).toEqual(['99991230', '99991231']);
    expect((await readdir(join(outDir, 'customer_search_log_data'))).sort()).toEqual([
      '99991230',
      '99991231',
    ]);
  });
});

describe('schema', () => {
  it('matches the real sample column for column', async () => {
    if (!existsSync(REAL_DAY_FILE)) {
      console.warn(`skipping real-schema comparison: ${REAL_DAY_FILE} is absent (shared data not mounted)`);
      return;
    }
    const describeSql = (file: string) => `DESCRIBE SELECT * FROM read_parquet(${literal(file)})`;
    const real = await db.all(describeSql(REAL_DAY_FILE));
    const generated = await db.all(describeSql(sample.files[0] ?? ''));
    expect(generated).toEqual(real);
    // Physical layout too (the root node's name differs by writer: spark_schema vs duckdb_schema).
    const physical = (file: string) =>
      `SELECT name, type, repetition_type, converted_type, num_children FROM parquet_schema(${literal(file)}) WHERE name NOT LIKE '%_schema'`;
    expect(await db.all(physical(sample.files[0] ?? ''))).toEqual(await db.all(physical(REAL_DAY_FILE)));
  });

  it('has the documented columns and types even without the real sample', async () => {
    const columns = await db.all<{ column_name: string; column_type: string }>(
      `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${literal(sample.files[0] ?? '')}))`,
    );
    expect(columns.map((c) => `${c.column_name} ${c.column_type}`)).toEqual([
      'eventID VARCHAR',
      'datetime VARCHAR',
      'user_id VARCHAR',
      'keyword VARCHAR',
      'category VARCHAR',
      'proxy_isp VARCHAR',
      'platform VARCHAR',
      'networkType VARCHAR',
      'action VARCHAR',
      'userPlansMap VARCHAR[]',
    ]);
  });
});

describe('quirks', () => {
  interface DayQuirks {
    day: string;
    twelve_hour: number;
    suffixes: string;
    buddhist: number;
    garbage: number;
    other_day: number;
    far_day: number;
    farthest_days: number;
    fraction_digits: string;
    exact_duplicates: number;
    repeated_ids: number;
  }
  let perDay: DayQuirks[];

  beforeAll(async () => {
    perDay = await db.all<DayQuirks>(`
      WITH e AS (
        SELECT *, regexp_matches(datetime, ' (CH|SA|PM|AM)$') AS twelve,
          -- Gregorian dates only: Buddhist-era years are a quirk of their own.
          CASE WHEN datetime LIKE '20__-__-__ %'
               THEN abs(date_diff('day', strptime(day, '%Y%m%d'), try_strptime(left(datetime, 10), '%Y-%m-%d'))) END AS days_away
        FROM ${events(sample)})
      SELECT day,
        count(*) FILTER (WHERE twelve) AS twelve_hour,
        string_agg(DISTINCT right(datetime, 2), ',' ORDER BY right(datetime, 2)) FILTER (WHERE twelve) AS suffixes,
        count(*) FILTER (WHERE datetime LIKE '25__-%') AS buddhist,
        count(*) FILTER (WHERE NOT twelve AND TRY_CAST(datetime AS TIMESTAMP) IS NULL) AS garbage,
        count(*) FILTER (WHERE datetime LIKE '20__-__-__ %' AND replace(left(datetime, 10), '-', '') <> day) AS other_day,
        count(*) FILTER (WHERE days_away > 7) AS far_day,
        max(days_away) AS farthest_days,
        string_agg(DISTINCT length(regexp_extract(datetime, '\\.(\\d+)', 1))::VARCHAR, ',') AS fraction_digits,
        count(*) - count(DISTINCT (eventID, datetime, user_id, keyword, category, proxy_isp, platform, networkType, action, userPlansMap)) AS exact_duplicates,
        count(*) - count(DISTINCT eventID) AS repeated_ids
      FROM e GROUP BY day ORDER BY day`);
  });

  // Counts per day are exact by construction, plus the rare row that a duplicate or re-delivery copies.
  const expected = (share: number) => Math.max(1, Math.round(ROWS * share));

  it('has ~0.4% 12-hour datetimes with CH/PM/SA/AM suffixes', () => {
    for (const day of perDay)
      expect(day.twelve_hour).toBeGreaterThanOrEqual(expected(QUIRK_SHARES.twelveHour));
    for (const day of perDay)
      expect(day.twelve_hour).toBeLessThanOrEqual(expected(QUIRK_SHARES.twelveHour) + 2);
    const suffixes = new Set(perDay.flatMap((day) => day.suffixes.split(',')));
    expect([...suffixes].sort()).toEqual(['AM', 'CH', 'PM', 'SA']);
  });

  it('has ~0.15% Buddhist-era years, a few neighbour-day rows and some unparseable datetimes', () => {
    for (const day of perDay) {
      expect(day.buddhist).toBeGreaterThanOrEqual(expected(QUIRK_SHARES.buddhistEra));
      expect(day.buddhist).toBeLessThanOrEqual(expected(QUIRK_SHARES.buddhistEra) + 2);
      expect(day.garbage).toBeGreaterThanOrEqual(expected(QUIRK_SHARES.garbage));
      expect(day.garbage).toBeLessThanOrEqual(expected(QUIRK_SHARES.garbage) + 2);
      const neighbours =
        expected(QUIRK_SHARES.previousDay) + expected(QUIRK_SHARES.nextDay) + expected(QUIRK_SHARES.farDay);
      expect(day.other_day).toBeGreaterThanOrEqual(neighbours);
      expect(day.other_day).toBeLessThanOrEqual(neighbours + expected(QUIRK_SHARES.crossDay) + 3);
    }
  });

  // The sample's June files hold rows of 2022-01-23 and 2022-11-01: dim_date must widen, silver keep them.
  it('dates a few rows weeks or months away, but within the year silver accepts', () => {
    for (const day of perDay) {
      expect(day.far_day).toBeGreaterThanOrEqual(expected(QUIRK_SHARES.farDay));
      expect(day.far_day).toBeLessThanOrEqual(expected(QUIRK_SHARES.farDay) + 1);
      expect(day.farthest_days).toBeLessThan(366);
    }
  });

  it('writes 1 to 4 fraction digits', () => {
    const digits = new Set(perDay.flatMap((day) => day.fraction_digits.split(',')));
    for (const d of ['1', '2', '3', '4']) expect(digits).toContain(d);
  });

  // The sample repeats 2 event ids in 9,000 rows within a day: one row exactly, one with its keyword's
  // case changed, so which copy silver keeps must not depend on the order rows arrive in.
  it('repeats a few event ids within a day, exactly or with the keyword in another case, and a very few across days', async () => {
    for (const day of perDay) {
      expect(day.repeated_ids).toBeGreaterThanOrEqual(1);
      expect(day.repeated_ids).toBeLessThanOrEqual(expected(QUIRK_SHARES.duplicate));
    }
    const exact = perDay.reduce((sum, day) => sum + day.exact_duplicates, 0);
    const repeated = perDay.reduce((sum, day) => sum + day.repeated_ids, 0);
    expect(exact).toBeGreaterThanOrEqual(1);
    expect(repeated - exact).toBeGreaterThanOrEqual(1);
    const differingInMoreThanCase = await db.scalar<number>(`
      SELECT count(*) FROM (
        SELECT eventID, day FROM ${events(sample)} GROUP BY eventID, day HAVING count(*) > 1
          AND count(DISTINCT (datetime, user_id, lower(keyword), category, proxy_isp, platform, networkType, action, userPlansMap)) > 1)`);
    expect(differingInMoreThanCase).toBe(0);
    const crossDay = await db.scalar<number>(
      `SELECT count(*) FROM (SELECT eventID FROM ${events(sample)} GROUP BY eventID HAVING count(DISTINCT day) > 1)`,
    );
    expect(crossDay).toBeGreaterThanOrEqual(DAYS - 1);
    expect(crossDay).toBeLessThanOrEqual(2 * DAYS);
  });

  it('has ~23% guests, ~8% null keywords, a few blank ones and stray spaces', async () => {
    const [shares] = await db.all<Record<string, number>>(`
      SELECT avg((user_id IS NULL)::INT) AS guests, avg((keyword IS NULL)::INT) AS null_keywords,
             count(*) FILTER (WHERE trim(keyword) = '') AS blank_keywords,
             avg((keyword <> trim(keyword))::INT) AS padded
      FROM ${events(sample)}`);
    expect(shares?.guests).toBeGreaterThan(0.2);
    expect(shares?.guests).toBeLessThan(0.26);
    expect(shares?.null_keywords).toBeGreaterThan(0.07);
    expect(shares?.null_keywords).toBeLessThan(0.095);
    expect(shares?.blank_keywords).toBeGreaterThanOrEqual(1);
    expect(shares?.padded).toBeGreaterThan(0.03);
    expect(shares?.padded).toBeLessThan(0.08);
  });

  it('has userPlansMap null exactly when user_id is null, and well-formed plan strings', async () => {
    const [check] = await db.all<Record<string, number>>(`
      SELECT count(*) FILTER (WHERE (user_id IS NULL) <> (userPlansMap IS NULL)) AS mismatched,
             avg((len(userPlansMap) = 0)::INT) FILTER (WHERE user_id IS NOT NULL) AS empty_share,
             max(len(userPlansMap)) AS most_plans,
             count(*) FILTER (WHERE NOT list_bool_and(list_transform(userPlansMap,
               p -> regexp_full_match(p, '[^:]+:(promotion|giftcode|direct)')))) AS malformed
      FROM ${events(sample)}`);
    expect(check?.mismatched).toBe(0);
    expect(check?.malformed).toBe(0);
    expect(check?.empty_share).toBeGreaterThan(0.75);
    expect(check?.empty_share).toBeLessThan(0.9);
    expect(check?.most_plans).toBeGreaterThanOrEqual(5);
    expect(check?.most_plans).toBeLessThanOrEqual(9);
  });

  it('has 6-8 digit user ids with leading zeros, and users who come back', async () => {
    const [users] = await db.all<Record<string, number>>(`
      SELECT count(*) FILTER (WHERE NOT regexp_full_match(user_id, '[0-9]{6,8}')) AS malformed,
             count(DISTINCT user_id) FILTER (WHERE user_id LIKE '0%') AS leading_zero,
             count(DISTINCT length(user_id)) AS lengths
      FROM ${events(sample)} WHERE user_id IS NOT NULL`);
    expect(users?.malformed).toBe(0);
    expect(users?.leading_zero).toBeGreaterThan(50);
    expect(users?.lengths).toBe(3);
    const returning = await db.scalar<number>(
      `SELECT count(*) FROM (SELECT user_id FROM ${events(sample)} WHERE user_id IS NOT NULL GROUP BY user_id HAVING count(DISTINCT day) > 1)`,
    );
    expect(returning).toBeGreaterThan(500);
  });

  it('gives every event of a user on a day the same plan set, and changes some sets across days', async () => {
    const inconsistent = await db.scalar<number>(
      `SELECT count(*) FROM (SELECT user_id, day FROM ${events(sample)} WHERE user_id IS NOT NULL GROUP BY ALL HAVING count(DISTINCT userPlansMap) > 1)`,
    );
    expect(inconsistent).toBe(0);
    const changed = await db.scalar<number>(`
      SELECT count(*) FROM (
        SELECT user_id FROM (SELECT DISTINCT user_id, day, userPlansMap FROM ${events(sample)} WHERE user_id IS NOT NULL)
        GROUP BY user_id HAVING count(DISTINCT userPlansMap) > 1)`);
    expect(changed).toBeGreaterThan(20);
  });

  it('uses the real value sets for the categorical columns', async () => {
    const [values] = await db.all<Record<string, string[]>>(`
      SELECT list(DISTINCT category ORDER BY category) AS category, list(DISTINCT action) AS action,
             list(DISTINCT proxy_isp ORDER BY proxy_isp) AS isp,
             list(DISTINCT coalesce(networkType, 'null') ORDER BY coalesce(networkType, 'null')) AS network,
             [count(DISTINCT platform)::VARCHAR] AS platforms
      FROM ${events(sample)}`);
    expect(values?.category).toEqual(['enter', 'quit']);
    expect(values?.action).toEqual(['search']);
    expect(values?.isp).toEqual(expect.arrayContaining(['fpt', 'other', 'viettel', 'vnpt']));
    expect(['cmc', 'fpt', 'other', 'sctv', 'spt', 'viettel', 'vnpt']).toEqual(
      expect.arrayContaining(values?.isp ?? []),
    );
    expect(['###', '3g', '4g', 'WIFI', 'WWAN', 'cab', 'ethernet', 'null', 'wifi']).toEqual(
      expect.arrayContaining(values?.network ?? []),
    );
    expect(Number(values?.platforms?.[0])).toBeGreaterThanOrEqual(20);
  });

  // 23 of the sample's 9,000 keywords carry their accents as combining marks: they must slug and match
  // like the composed spelling.
  it('spells ~0.3% of keywords in decomposed Unicode (NFD), each a catalog title', async () => {
    const [nfd] = await db.all<Record<string, number>>(`
      WITH titles AS (SELECT title FROM read_csv(${literal(sample.catalogPath)}, header = true, all_varchar = true))
      SELECT avg((keyword <> nfc_normalize(keyword))::INT) AS share,
             count(*) FILTER (WHERE keyword <> nfc_normalize(keyword) AND trim(nfc_normalize(keyword)) NOT IN (SELECT title FROM titles)) AS not_titles
      FROM ${events(sample)}`);
    expect(nfd?.share).toBeGreaterThan(0.001);
    expect(nfd?.share).toBeLessThan(0.005);
    expect(nfd?.not_titles).toBe(0);
  });

  it('derives most typed keywords from catalog titles', async () => {
    const share = await db.scalar<number>(`
      WITH titles AS (SELECT lower(title) AS t FROM read_csv(${literal(sample.catalogPath)}, header = true, all_varchar = true))
      SELECT avg((lower(trim(keyword)) IN (SELECT t FROM titles))::INT)
      FROM ${events(sample)} WHERE trim(keyword) <> ''`);
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.8);
  });
});

describe('known plan-change user', () => {
  it(`${KNOWN_PLAN_CHANGE_USER} searches every day with the documented plan sets`, async () => {
    const rows = await db.all<{ day: string; plans: string[][] }>(
      `SELECT day, list(DISTINCT userPlansMap) AS plans FROM ${events(sample)}
       WHERE user_id = ${literal(KNOWN_PLAN_CHANGE_USER)} GROUP BY day ORDER BY day`,
    );
    const { A, B, C } = KNOWN_PLAN_CHANGE_PLANS;
    expect(rows.map((row) => row.plans)).toEqual([[[A, B]], [[A]], [[A, B]], [[A, C]]]);
    expect([0, 1, 2, 3, 9].map(knownUserPlansOn)).toEqual([[A, B], [A], [A, B], [A, C], [A, C]]);
  });
});

describe('determinism', () => {
  it('writes byte-identical files for the same options', async () => {
    for (const [i, file] of sample.files.entries()) {
      expect(await sha256(rerun.files[i] ?? '')).toBe(await sha256(file));
    }
    expect(await sha256(rerun.catalogPath)).toBe(await sha256(sample.catalogPath));
  });

  it('writes different data for another seed', async () => {
    expect(await sha256(otherSeed.files[0] ?? '')).not.toBe(await sha256(sample.files[0] ?? ''));
  });
});

describe('title_catalog.csv', () => {
  it('holds distinct titles with 1-3 known genres each', async () => {
    const rows = await db.all<{ title: string; genres: string }>(
      `SELECT title, genres FROM read_csv(${literal(sample.catalogPath)}, header = true, all_varchar = true)`,
    );
    expect((await readFile(sample.catalogPath, 'utf8')).split('\n')[0]).toBe('title,genres');
    expect(rows).toHaveLength(sample.titles);
    expect(new Set(rows.map((row) => row.title.toLowerCase())).size).toBe(rows.length);
    const known = new Set<string>(GENRES);
    for (const row of rows) {
      const genres = row.genres.split(';');
      expect(genres.length).toBeGreaterThanOrEqual(1);
      expect(genres.length).toBeLessThanOrEqual(3);
      for (const genre of genres) expect(known.has(genre)).toBe(true);
    }
    expect(rows.some((row) => /[ăâđêôơưáàảãạ]/i.test(row.title))).toBe(true);
  });
});
