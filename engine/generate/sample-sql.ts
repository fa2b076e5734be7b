import { literal } from '../db/duckdb.ts';
import {
  CATEGORIES,
  GARBAGE_DATETIMES,
  HOURLY_WEIGHTS,
  NETWORKS_ANDROID,
  NETWORKS_IOS,
  NETWORKS_OTHER,
  PLAN_SET_SIZES,
  PLANS,
  PLATFORMS,
  PROXY_ISPS,
  type Weighted,
} from './vocabulary.ts';

// SQL text for the generator. Every random choice is `hash(seed, ...)` of integers, so a row is a pure
// function of (seed, day, position) and DuckDB can build tens of millions of rows in parallel.

// Temp tables the day query reads; created by lookupTablesSql, dropped by dropLookupTablesSql.
const TABLES = {
  titles: '__gen_title',
  keywords: '__gen_keyword',
  planSets: '__gen_plan_set',
  rows: '__gen_row',
} as const;

// Row classes: which quirk a row carries. Exactly one per row; 0 is a clean row.
const CLASS = {
  clean: 0,
  garbage: 1,
  twelveHour: 2,
  buddhistEra: 3,
  previousDay: 4,
  nextDay: 5,
  farDay: 6,
  known: 9,
} as const;

/** Half-open ranges of the row permutation `q` (0..n-1) that select each quirk: exact counts per day. */
export interface ClassBounds {
  garbage: number;
  twelveHour: number;
  buddhistEra: number;
  previousDay: number;
  nextDay: number;
  /** Rows dated weeks or months away (the sample has 2022-01-23 and 2022-11-01 in June's files). */
  farDay: number;
  duplicate: number;
  crossDay: number;
  /** q at or above this is a forced row of the known plan-change user (n when there are none). */
  knownFrom: number;
}

/** Everything one day's query needs; all values are plain numbers/strings computed in JS. */
export interface DayPlan {
  seed: number;
  day: number;
  rows: number;
  users: number;
  titles: number;
  noise: number;
  combos: number;
  /** Multiplier of the row permutation q = (rn * prime + offset) mod rows; a prime larger than rows. */
  prime: number;
  /** Permutation offset of this day and of the previous day (cross-day repeats are yesterday's rows). */
  offset: number;
  previousOffset: number;
  bounds: ClassBounds;
  /** 'YYYY-MM-DD' of a day index relative to the start date (any integer). */
  dateOf: (day: number) => string;
  /** How many days the known user's plan sets cover (the last one repeats). */
  knownPlanDays: number;
  /** Multipliers/offsets of the user-id permutations for 6, 7 and 8 digits. */
  idMul6: number;
  idAdd6: number;
  idMul7: number;
  idAdd7: number;
  idMul8: number;
  /** The 8-digit offset: user 0 (the known user) gets exactly this number. */
  idAdd8: number;
  targetPath: string;
}

// Shares measured on the sample: guests (null user_id), paying users, null / blank / generic keywords.
const GUEST_PER_10000 = 2269;
const PAYING_PER_1000 = 175;
const NULL_KEYWORD_PER_10000 = 830;
const BLANK_KEYWORD_PER_10000 = 6;
const NOISE_KEYWORD_PER_10000 = 2000;
// Spellings precomputed per title (key = title * 16 + slot): lower, as-is, upper, unaccented, unaccented
// upper, 2 partial titles, 4 one-letter typos, decomposed (NFD). Precomputing keeps string work out of
// the per-row query.
const KEYWORD_SLOTS = 12;
const DECOMPOSED_SLOT = 11;
// The sample has 23 of 9,000 keywords in decomposed Unicode (accents as combining marks, as some
// keyboards and copy-paste send them): about 4 in 1,000 title searches.
const DECOMPOSED_PER_1000 = 4;
const RANDOM_TOKENS = 1000;

const list = (items: readonly string[]): string => `[${items.map(literal).join(', ')}]::VARCHAR[]`;
const sqlValue = (value: string | null): string => (value === null ? 'NULL' : literal(value));
const unit = (h: string): string => `(((${h}) >> 11)::DOUBLE + 0.5) / 9007199254740992.0`;
const unaccent = (text: string): string => `strip_accents(replace(${text}, 'đ', 'd'))`;

/** `CASE` choosing a weighted value from `r`, a non-negative integer expression (reduced mod the total). */
function weightedCase(r: string, items: readonly Weighted[]): string {
  const total = items.reduce((sum, item) => sum + item.weight, 0);
  let bound = 0;
  const branches = items.slice(0, -1).map((item) => {
    bound += item.weight;
    return `WHEN (${r}) % ${total} < ${bound} THEN ${sqlValue(item.value)}`;
  });
  const last = items[items.length - 1];
  return `CASE ${branches.join(' ')} ELSE ${sqlValue(last?.value ?? null)} END`;
}

// Inverse CDF of the hourly traffic curve: maps p in (0,1) to milliseconds of the day.
function timeOfDaySql(p: string): string {
  const total = HOURLY_WEIGHTS.reduce((sum, weight) => sum + weight, 0);
  let cumulative = 0;
  const branches = HOURLY_WEIGHTS.map((weight, hour) => {
    const from = cumulative;
    cumulative += weight / total;
    const msPerUnit = (3_600_000 * total) / weight;
    return `WHEN ${p} < ${cumulative} THEN ${hour * 3_600_000} + (${p} - ${from}) * ${msPerUnit}`;
  });
  return `CASE ${branches.join(' ')} ELSE 86399999 END`;
}

/** What the lookup tables hold: catalog titles, generic queries, plan-set pool size, the known user's sets. */
export interface LookupContent {
  seed: number;
  titles: readonly string[];
  noise: readonly string[];
  combos: number;
  /** The known user's plan set per day index; the last one holds for every later day. */
  knownPlanSets: readonly (readonly string[])[];
  /** Rows per day: the size of the row-number table every day scans. */
  rows: number;
}

// Plan-set keys: combo * 8 + variant for the pool; negative keys for the empty set and the known user.
const PLAN_VARIANTS = ['base', 'upgraded', 'cancelled', 'gap', 'first_plan'] as const;
const planKey = (variant: (typeof PLAN_VARIANTS)[number]): string =>
  `combo * 8 + ${PLAN_VARIANTS.indexOf(variant)}`;
const EMPTY_PLAN_KEY = -1;
const knownPlanKey = (dayIndex: number): number => -2 - dayIndex;

/** Creates the keyword and plan-set lookup tables the day query joins. */
export function lookupTablesSql(content: LookupContent): string[] {
  const { seed, titles, noise, combos, knownPlanSets, rows } = content;
  const values = (items: readonly string[], first = 0): string =>
    items.map((item, i) => `(${first + i}, ${literal(item)})`).join(', ');
  const titleChunks: string[] = [];
  for (let from = 0; from < titles.length; from += 5000) {
    // DuckDB has no NFD function: the decomposed spelling comes from JavaScript.
    const chunk = titles
      .slice(from, from + 5000)
      .map((title, i) => `(${from + i}, ${literal(title)}, ${literal(title.normalize('NFD'))})`);
    titleChunks.push(`INSERT INTO ${TABLES.titles} VALUES ${chunk.join(', ')}`);
  }
  const m = noise.length;
  // One-letter typo of `source`: replace, drop or double the character at a position drawn from h.
  const at = `(1 + ((h >> 8) % length(source)))::INTEGER`;
  const letter = `substr('abcdeghiklmnopqrstuvxy', ((h >> 32) % 22)::INTEGER + 1, 1)`;
  const typo = `CASE (h >> 24) % 3
      WHEN 0 THEN left(source, ${at} - 1) || ${letter} || substr(source, ${at} + 1)
      WHEN 1 THEN left(source, ${at} - 1) || substr(source, ${at} + 1)
      ELSE left(source, ${at}) || substr(source, ${at}) END`;
  const cut = `(1 + (h % (len(words) - 1)))::INTEGER`;
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const token = [0, 1, 2, 3]
    .map((i) => `substr('${alphabet}', ((h >> ${8 * i}) % 36)::INTEGER + 1, 1)`)
    .join(' || ');

  const planValues = PLANS.map((plan, pid) => `(${pid}, ${sqlValue(plan.value)}, ${plan.weight})`).join(', ');
  const sizeTotal = PLAN_SET_SIZES.reduce((sum, count) => sum + count, 0);
  let sizeBound = 0;
  const sizeCase = PLAN_SET_SIZES.map((count, i) => {
    sizeBound += count;
    return `WHEN kr < ${sizeBound} THEN ${i + 1}`;
  }).join(' ');
  const planList = (filter: string): string =>
    `coalesce(list(label ORDER BY pos) FILTER (WHERE ${filter}), []::VARCHAR[])`;
  return [
    // Day queries scan this table rather than range(): range() is a single-threaded source, a table
    // scan runs on every core.
    `CREATE OR REPLACE TEMP TABLE ${TABLES.rows} AS SELECT range AS rn FROM range(${rows})`,
    `CREATE OR REPLACE TEMP TABLE ${TABLES.titles} (idx BIGINT, title VARCHAR, decomposed VARCHAR)`,
    ...titleChunks,
    // Title spellings (keys >= 0), then generic queries, their upper case and random tokens (keys < 0).
    `CREATE OR REPLACE TEMP TABLE ${TABLES.keywords} AS
       WITH forms AS (SELECT idx, title, decomposed, lower(title) AS lo, ${unaccent('lower(title)')} AS plain FROM ${TABLES.titles}),
       spelled AS (
         SELECT idx, slot, title, decomposed, lo, plain,
                CASE WHEN slot IN (5, 6) THEN string_split(CASE WHEN slot = 5 THEN lo ELSE plain END, ' ') END AS words,
                hash(${seed}::BIGINT, idx, slot, 300) AS h
         FROM forms CROSS JOIN range(${KEYWORD_SLOTS}) r(slot)
       ),
       typed AS (SELECT *, CASE WHEN h % 2 = 0 THEN lo ELSE plain END AS source FROM spelled)
       SELECT idx * 16 + slot AS key,
              CASE slot WHEN 0 THEN lo WHEN 1 THEN title WHEN 2 THEN upper(title) WHEN 3 THEN plain WHEN 4 THEN upper(plain)
                WHEN 5 THEN CASE WHEN len(words) >= 2 THEN array_to_string(words[1:${cut}], ' ') ELSE left(lo, greatest(2, length(lo) * 2 // 3)) END
                WHEN 6 THEN CASE WHEN len(words) >= 2 THEN array_to_string(words[${cut} + 1:], ' ') ELSE left(plain, greatest(2, length(plain) * 2 // 3)) END
                WHEN ${DECOMPOSED_SLOT} THEN decomposed
                ELSE ${typo} END AS keyword
       FROM typed
       UNION ALL SELECT -1 - idx, query FROM (VALUES ${values(noise)}) n(idx, query)
       UNION ALL SELECT -1 - ${m} - idx, upper(query) FROM (VALUES ${values(noise)}) n(idx, query)
       UNION ALL SELECT -1 - ${2 * m} - range, left(${token}, 1 + ((h >> 40) % 4)::INTEGER)
                 FROM (SELECT range, hash(${seed}::BIGINT, range, 301) AS h FROM range(${RANDOM_TOKENS}))`,
    // A pool of plan sets drawn by weight without replacement (Efraimidis-Spirakis keys), each with the
    // variants a user's set moves between: upgraded (+1 plan), cancelled (-last), gap (-first), first plan.
    `CREATE OR REPLACE TEMP TABLE ${TABLES.planSets} AS
       WITH plan(pid, label, weight) AS (VALUES ${planValues}),
       sized AS (
         SELECT range AS combo, CASE ${sizeCase} ELSE ${PLAN_SET_SIZES.length} END AS k
         FROM (SELECT range, hash(${seed}::BIGINT, range, 200) % ${sizeTotal} AS kr FROM range(${combos}))
       ),
       ranked AS (
         SELECT combo, k, label,
                row_number() OVER (PARTITION BY combo ORDER BY ln(${unit(`hash(${seed}::BIGINT, combo, pid, 201)`)}) / weight DESC, pid) AS pos
         FROM sized CROSS JOIN plan
       ),
       variants AS (
         SELECT combo, ${planList('pos <= k')} AS base, ${planList(`pos <= least(k + 1, ${PLAN_SET_SIZES.length})`)} AS upgraded,
                ${planList('pos < k')} AS cancelled, ${planList('pos > 1 AND pos <= k')} AS gap,
                ${planList('pos = 1')} AS first_plan
         FROM ranked GROUP BY combo
       )
       ${PLAN_VARIANTS.map((variant) => `SELECT ${planKey(variant)} AS key, ${variant} AS plans FROM variants`).join('\n       UNION ALL ')}
       UNION ALL SELECT ${EMPTY_PLAN_KEY}, []::VARCHAR[]
       ${knownPlanSets.map((plans, day) => `UNION ALL SELECT ${knownPlanKey(day)}, ${list(plans)}`).join('\n       ')}`,
  ];
}

/** Drops the lookup tables. */
export function dropLookupTablesSql(): string[] {
  return Object.values(TABLES).map((table) => `DROP TABLE IF EXISTS ${table}`);
}

/** One `COPY (SELECT ...) TO 'part-00000.parquet'` writing day `plan.day`, rows in a fixed order. */
export function daySql(plan: DayPlan): string {
  const { seed, day: d, rows: n, prime, offset, previousOffset, bounds: b } = plan;
  const rowHash = (salt: number): string => `hash(${seed}::BIGINT, dd, s, ${salt})`;
  const userHash = (salt: number): string => `hash(${seed}::BIGINT, u, ${salt})`;
  // Day-dependent values for the content day dd, which is d or (for re-delivered rows) d - 1.
  const byDay = (f: (day: number) => string): string =>
    d === 0 ? f(d) : `CASE WHEN dd = ${d} THEN ${f(d)} ELSE ${f(d - 1)} END`;
  const epochMsOf = (day: number): string => String(Date.parse(`${plan.dateOf(day)}T00:00:00Z`));
  const buddhistYear = (day: number): string => literal(String(Number(plan.dateOf(day).slice(0, 4)) + 543));
  // Most rows keep 3 fraction digits; some lose one or two (trailing-zero trimming upstream), a few gain one.
  const withFraction = (text: string): string =>
    `CASE WHEN r_fraction < 11 THEN left(${text}, 21) WHEN r_fraction < 1226 THEN left(${text}, 22)
          WHEN r_fraction < 1228 THEN ${text} || (r_fraction % 10)::VARCHAR ELSE ${text} END`;
  const q = (row: string): string => `((${row}) * ${prime} + ${offset}) % ${n}`;
  const inRange = (x: string, from: number, to: number): string => `(${x} >= ${from} AND ${x} < ${to})`;
  const cuts = {
    garbage: b.garbage,
    twelveHour: b.garbage + b.twelveHour,
    buddhistEra: b.garbage + b.twelveHour + b.buddhistEra,
    previousDay: b.garbage + b.twelveHour + b.buddhistEra + b.previousDay,
    nextDay: b.garbage + b.twelveHour + b.buddhistEra + b.previousDay + b.nextDay,
    farDay: b.garbage + b.twelveHour + b.buddhistEra + b.previousDay + b.nextDay + b.farDay,
  };
  const dupFrom = cuts.farDay;
  const dupTo = dupFrom + b.duplicate;
  const crossTo = dupTo + b.crossDay;
  const garbage = GARBAGE_DATETIMES.map(
    (value, i) =>
      `WHEN ${i} THEN ${value.includes('{') ? `replace(replace(${literal(value)}, '{date}', left(s24, 10)), '{time}', s24[15:])` : literal(value)}`,
  ).join(' ');
  const m = plan.noise;
  const typed = `CASE WHEN copied AND dd % 2 = 1 THEN
      CASE WHEN k.keyword = lower(k.keyword) THEN upper(left(k.keyword, 1)) || substr(k.keyword, 2) ELSE lower(k.keyword) END
    ELSE k.keyword END`;
  const blankFrom = NULL_KEYWORD_PER_10000;
  const typedFrom = blankFrom + BLANK_KEYWORD_PER_10000;
  const titleFrom = typedFrom + NOISE_KEYWORD_PER_10000;

  return `COPY (
WITH
rows_a AS (SELECT rn, ${q('rn')} AS q FROM ${TABLES.rows}),
-- A duplicate row re-emits the previous row (never a chain): every column matches, except that on odd
-- days the copy's keyword changes case, as one of the sample's two repeats does ('lồng hổ 2', 'Lồng hổ 2').
rows_b AS (
  SELECT rn, CASE WHEN rn > 0 AND ${inRange('q', dupFrom, dupTo)} AND NOT ${inRange(q('rn - 1'), dupFrom, dupTo)}
                  THEN rn - 1 ELSE rn END AS s
  FROM rows_a
),
-- A cross-day row re-delivers yesterday's row at the same position: same eventID and content.
rows_c AS (
  SELECT rn, s, (${d > 0 ? `CASE WHEN ${inRange(q('s'), dupTo, crossTo)} THEN ${d - 1} ELSE ${d} END` : `${d}`})::INTEGER AS dd
  FROM rows_b
),
rows_d AS (
  SELECT rn, s, dd, (s * ${prime} + ${byDay((day) => String(day === d ? offset : previousOffset))}) % ${n} AS qc
  FROM rows_c
),
-- Random draws; several small decisions share one 64-bit hash, each reading it at a different shift.
draws AS (
  SELECT rn, s, dd,
    CASE WHEN qc < ${cuts.garbage} THEN ${CLASS.garbage} WHEN qc < ${cuts.twelveHour} THEN ${CLASS.twelveHour}
         WHEN qc < ${cuts.buddhistEra} THEN ${CLASS.buddhistEra} WHEN qc < ${cuts.previousDay} THEN ${CLASS.previousDay}
         WHEN qc < ${cuts.nextDay} THEN ${CLASS.nextDay} WHEN qc < ${cuts.farDay} THEN ${CLASS.farDay}
         WHEN qc >= ${b.knownFrom} THEN ${CLASS.known}
         ELSE ${CLASS.clean} END AS cls,
    ${rowHash(1)} AS h_user, ${rowHash(2)} AS h_misc, ${rowHash(3)} AS h_device, ${rowHash(4)} AS h_kw,
    ${rowHash(5)} AS h_title, ${rowHash(6)} AS h_noise, ${rowHash(7)} AS h_time, ${rowHash(8)} AS h_id1, ${rowHash(9)} AS h_id2
  FROM rows_d
),
picked AS (
  SELECT rn, dd, cls, h_device, h_id1, h_id2, h_time, rn <> s AS copied,
    h_misc % 10000 AS r_guest, (h_misc >> 14) % 100 AS r_stable, (h_misc >> 21) AS r_category,
    (h_misc >> 35) % 100 AS r_suffix, (h_misc >> 42) % 10000 AS r_fraction, (h_misc >> 56) AS r_garbage,
    h_kw % 10000 AS r_kw, (h_kw >> 14) % 100 AS r_variant, (h_kw >> 21) % 1000 AS r_pad,
    CASE WHEN r_guest < ${GUEST_PER_10000} AND cls <> ${CLASS.known} THEN NULL
         WHEN cls = ${CLASS.known} THEN 0::BIGINT
         ELSE 1 + floor(${plan.users - 1} * pow(${unit('h_user')}, 2))::BIGINT END AS u,
    CASE WHEN r_kw < ${titleFrom} THEN
           -1 - CASE WHEN r_variant < 15 THEN ${2 * m} + (h_noise >> 40) % ${RANDOM_TOKENS}
                     ELSE (CASE WHEN r_variant < 22 THEN ${m} ELSE 0 END) + floor(${m} * pow(${unit('h_noise')}, 1.3))::BIGINT END
         ELSE floor(${plan.titles} * pow(${unit('h_title')}, 1.5))::BIGINT * 16
           + CASE WHEN (h_kw >> 50) % 1000 < ${DECOMPOSED_PER_1000} THEN ${DECOMPOSED_SLOT} WHEN r_variant < 45 THEN 0 WHEN r_variant < 55 THEN 1 WHEN r_variant < 62 THEN 2 WHEN r_variant < 84 THEN 3
                  WHEN r_variant < 86 THEN 4 WHEN r_variant < 93 THEN 5 + (h_kw >> 40) % 2 ELSE 7 + (h_kw >> 40) % 4 END
    END AS kkey,
    least(greatest(floor(${timeOfDaySql(`((s + 0.5) / ${n})`)})::BIGINT + (h_time % 60001)::BIGINT - 30000, 0), 86399999) AS tm
  FROM draws
),
people AS (
  SELECT *,
    ${userHash(101)} AS hu,
    hu % 1000 AS len_r,
    (hu >> 10) % 1000 < ${PAYING_PER_1000} AS paying,
    (hu >> 20) % ${plan.combos} AS combo,
    (hu >> 36) % 100 AS change_r,
    1 + ((hu >> 44) % 3)::INTEGER AS gap_days,
    1 + floor(-ln(${unit(userHash(102))}) * 4)::INTEGER AS change_from,
    CASE WHEN u IS NOT NULL AND r_stable < 85 THEN ${userHash(103)} ELSE h_device END AS r_platform,
    CASE WHEN u IS NOT NULL AND r_stable < 90 THEN ${userHash(104)} ELSE h_device >> 32 END AS r_isp,
    tm // 3600000 AS hh,
    ${byDay(epochMsOf)} + tm + CASE cls WHEN ${CLASS.previousDay} THEN -86400000 WHEN ${CLASS.nextDay} THEN 86400000
      -- 30 to 269 days before or after: within the year silver accepts, far enough to widen dim_date.
      WHEN ${CLASS.farDay} THEN (30 + (h_time >> 20) % 240)::BIGINT * CASE WHEN (h_time >> 40) % 2 = 0 THEN -86400000 ELSE 86400000 END
      ELSE 0 END AS ts_ms
  FROM picked
),
shaped AS (
  SELECT p.*,
    strftime(make_timestamp_ms(ts_ms), '%Y-%m-%d %H:%M:%S.%g') AS s24,
    CASE WHEN cls = ${CLASS.twelveHour} THEN 'ios' ELSE ${weightedCase('r_platform', PLATFORMS)} END AS platform,
    -- The plan set on day dd. A user's change (if any) starts on change_from, a gap also ends: 4% of
    -- non-paying users buy a first plan; 12% / 10% / 10% of paying users upgrade / cancel / pause one plan.
    CASE WHEN u = 0 THEN ${knownPlanKey(0)} - least(dd, ${plan.knownPlanDays - 1})
         WHEN NOT paying AND (change_r >= 4 OR dd < change_from) THEN ${EMPTY_PLAN_KEY}
         WHEN NOT paying THEN ${planKey('first_plan')}
         WHEN change_r >= 32 OR dd < change_from THEN ${planKey('base')}
         WHEN change_r < 12 THEN ${planKey('upgraded')}
         WHEN change_r < 22 THEN ${planKey('cancelled')}
         WHEN dd < change_from + gap_days THEN ${planKey('gap')}
         ELSE ${planKey('base')} END AS plan_key
  FROM people p
)
SELECT
  -- 128 hash bits shaped as a version-4 UUID (version nibble 4, variant bits 10).
  (lpad(hex((h_id1 & 18446744073709490175::UBIGINT) | 16384::UBIGINT), 16, '0')
    || hex((h_id2 & 4611686018427387903::UBIGINT) | 9223372036854775808::UBIGINT))::UUID::VARCHAR AS eventID,
  CASE cls
    WHEN ${CLASS.garbage} THEN CASE (r_garbage % ${GARBAGE_DATETIMES.length})::INTEGER ${garbage} END
    WHEN ${CLASS.twelveHour} THEN strftime(make_timestamp_ms(ts_ms), '%Y-%m-%d %-I:%M:%S.%g')
         || CASE WHEN hh >= 12 THEN (CASE WHEN r_suffix < 85 THEN ' CH' ELSE ' PM' END)
                 ELSE (CASE WHEN r_suffix < 85 THEN ' SA' ELSE ' AM' END) END
    ELSE ${withFraction(`CASE WHEN cls = ${CLASS.buddhistEra} THEN ${byDay(buddhistYear)} || s24[5:] ELSE s24 END`)}
  END AS datetime,
  CASE WHEN u IS NULL THEN NULL
       WHEN u = 0 THEN ${literal(String(plan.idAdd8).padStart(8, '0'))}
       WHEN len_r < 12 AND u < 1000000 THEN lpad(((u * ${plan.idMul6} + ${plan.idAdd6}) % 1000000)::VARCHAR, 6, '0')
       WHEN len_r < 208 AND u < 10000000 THEN lpad(((u * ${plan.idMul7} + ${plan.idAdd7}) % 10000000)::VARCHAR, 7, '0')
       ELSE lpad(((u * ${plan.idMul8} + ${plan.idAdd8}) % 100000000)::VARCHAR, 8, '0')
  END AS user_id,
  -- Null, blank, or a typed keyword with stray spaces around some.
  CASE WHEN r_kw < ${blankFrom} THEN NULL
       WHEN r_kw < ${typedFrom} THEN repeat(' ', 1 + (r_pad % 3)::INTEGER)
       WHEN r_pad >= 50 THEN ${typed}
       WHEN r_pad < 20 THEN ' ' || ${typed} WHEN r_pad < 45 THEN ${typed} || ' ' ELSE '  ' || ${typed} || ' ' END AS keyword,
  ${weightedCase('r_category', CATEGORIES)} AS category,
  ${weightedCase('r_isp', PROXY_ISPS)} AS proxy_isp,
  platform,
  CASE platform WHEN 'ios' THEN ${weightedCase('h_device >> 16', NETWORKS_IOS)}
                WHEN 'android' THEN ${weightedCase('h_device >> 16', NETWORKS_ANDROID)}
                ELSE ${weightedCase('h_device >> 16', NETWORKS_OTHER)} END AS networkType,
  'search' AS action,
  CASE WHEN u IS NOT NULL THEN ps.plans END AS userPlansMap
FROM shaped
LEFT JOIN ${TABLES.keywords} k ON k.key = shaped.kkey
LEFT JOIN ${TABLES.planSets} ps ON ps.key = shaped.plan_key
ORDER BY rn
) TO ${literal(plan.targetPath)} (FORMAT PARQUET, COMPRESSION SNAPPY)`;
}
