import { mkdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { literal, openDb } from '../../engine/db/duckdb.ts';
import type { Engine } from '../../engine/engine.ts';
import { listParquetFiles } from '../../engine/lake/partitions.ts';
import { goldFingerprints } from './fingerprint.ts';
import { exampleProject, removeDir, tempDir, withEngine } from './project.ts';

// Small synthetic inputs in the real source schema, written with DuckDB, so pipeline tests need no
// shared data: one folder per day, `<src>/YYYYMMDD/part-00000.parquet`, plus a title catalog CSV.

/** The columns of the customer-search source, in file order; userPlansMap is VARCHAR[], the rest VARCHAR. */
export const SOURCE_COLUMNS = [
  'eventID',
  'datetime',
  'user_id',
  'keyword',
  'category',
  'proxy_isp',
  'platform',
  'networkType',
  'action',
  'userPlansMap',
] as const;
export type SourceColumn = (typeof SOURCE_COLUMNS)[number];

export type SearchEvent = { [K in Exclude<SourceColumn, 'userPlansMap'>]: string | null } & {
  userPlansMap: string[] | null;
};

/** A clean registered-user event of 2022-06-01; override what a case needs. */
export function event(overrides: Partial<SearchEvent> = {}): SearchEvent {
  return {
    eventID: 'e-0001',
    datetime: '2022-06-01 10:00:00.000',
    user_id: '00123456',
    keyword: 'bong da',
    category: 'enter',
    proxy_isp: 'vnpt',
    platform: 'android',
    networkType: 'wifi',
    action: 'search',
    userPlansMap: ['Gói Cơ Bản:direct'],
    ...overrides,
  };
}

/** `n` clean events of one date with ids `<prefix>-<i>`, distinct users, a few keywords. */
export function events(
  n: number,
  date = '2022-06-01',
  prefix = `e${date.replaceAll('-', '')}`,
): SearchEvent[] {
  return Array.from({ length: n }, (_, i) =>
    event({
      eventID: `${prefix}-${String(i).padStart(4, '0')}`,
      datetime: `${date} ${String(8 + (i % 12)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00.000`,
      user_id: i % 4 === 3 ? null : `00${String(1000 + (i % 7)).padStart(6, '0')}`,
      keyword: ['bong da', 'Bóng Đá', 'tinh yeu', null, 'phim hay'][i % 5] ?? null,
      platform: ['android', 'ios', 'smarttv-sony-android', 'web-playfpt'][i % 4] ?? null,
      networkType: ['wifi', '4g', 'ethernet'][i % 3] ?? null,
      userPlansMap: i % 4 === 3 ? null : i % 2 === 0 ? ['Gói Cơ Bản:direct'] : [],
    }),
  );
}

const sqlString = (v: string | null) => (v === null ? 'NULL' : literal(v));

/**
 * A SELECT yielding the rows in the source schema (every column typed, also when all values are NULL).
 * Compose it to alter the schema, e.g. `SELECT * EXCLUDE (networkType) FROM (${eventsSql(rows)})`.
 */
export function eventsSql(rows: SearchEvent[]): string {
  if (rows.length === 0) {
    return `SELECT ${SOURCE_COLUMNS.map((c) => `NULL::${c === 'userPlansMap' ? 'VARCHAR[]' : 'VARCHAR'} AS "${c}"`).join(', ')} LIMIT 0`;
  }
  const values = rows
    .map((r) => {
      const plans =
        r.userPlansMap === null ? 'NULL' : `[${r.userPlansMap.map(literal).join(', ')}]::VARCHAR[]`;
      const scalars = SOURCE_COLUMNS.filter((c) => c !== 'userPlansMap').map((c) =>
        sqlString(r[c as Exclude<SourceColumn, 'userPlansMap'>]),
      );
      return `(${[...scalars, plans].join(', ')})`;
    })
    .join(',\n');
  const typed = SOURCE_COLUMNS.map(
    (c) => `"${c}"::${c === 'userPlansMap' ? 'VARCHAR[]' : 'VARCHAR'} AS "${c}"`,
  );
  return `SELECT ${typed.join(', ')} FROM (VALUES ${values}) AS t(${SOURCE_COLUMNS.map((c) => `"${c}"`).join(', ')})`;
}

/**
 * `n` generated events of one date from range(), for volume: ids `g<yyyymmdd>-<i>`, about `keywords`
 * distinct keywords, 5,000 users (a fifth of the rows are guests), timestamps spread over the day.
 */
export function generatedEventsSql(date: string, n: number, keywords = 2000): string {
  const day = date.replaceAll('-', '');
  return `SELECT
      'g${day}-' || i AS "eventID",
      strftime(TIMESTAMP '${date} 00:00:00' + to_milliseconds((i * 86399999 // ${Math.max(1, n)})::BIGINT), '%Y-%m-%d %H:%M:%S.%g') AS "datetime",
      CASE WHEN i % 5 = 0 THEN NULL ELSE lpad(((hash(i, 1) % 5000)::BIGINT + 1)::VARCHAR, 8, '0') END AS user_id,
      CASE WHEN i % 11 = 0 THEN NULL ELSE 'phim ' || ['hay', 'moi', 'bo', 'le', 'hoat hinh'][(i % 5) + 1] || ' ' || (hash(i, 2) % ${keywords})::BIGINT END AS keyword,
      CASE WHEN i % 2 = 0 THEN 'enter' ELSE 'quit' END AS category,
      ['vnpt', 'viettel', 'fpt', 'other'][(hash(i, 3) % 4)::BIGINT + 1] AS proxy_isp,
      ['android', 'ios', 'smarttv-sony-android', 'web-playfpt', 'fplay-ottbox-2019'][(hash(i, 4) % 5)::BIGINT + 1] AS platform,
      ['wifi', '4g', 'ethernet', NULL][(hash(i, 5) % 4)::BIGINT + 1] AS "networkType",
      'search' AS action,
      CASE WHEN i % 5 = 0 THEN NULL
           WHEN i % 3 = 0 THEN []::VARCHAR[]
           ELSE ['Gói ' || (hash(i, 1) % 4)::BIGINT || ':' || ['direct', 'promotion', 'giftcode'][(hash(i, 1) % 3)::BIGINT + 1]] END AS "userPlansMap"
    FROM range(${n}) AS t(i)`;
}

/** Writes the rows of `selectSql` as one Parquet file. */
export async function writeParquetFile(file: string, selectSql: string, options = ''): Promise<string> {
  const db = await openDb();
  try {
    await db.run(`COPY (${selectSql}) TO ${literal(file)} (FORMAT PARQUET${options ? `, ${options}` : ''})`);
  } finally {
    db.close();
  }
  return file;
}

/**
 * Writes one day of the source: `<src>/<yyyymmdd>/<file>`. `rows` are events, or a SELECT in any
 * schema (to write a broken day). Returns the file's path.
 */
export async function writeDay(
  sourceDir: string,
  yyyymmdd: string,
  rows: SearchEvent[] | string,
  file = 'part-00000.parquet',
  options = '',
): Promise<string> {
  const folder = join(sourceDir, yyyymmdd);
  await mkdir(folder, { recursive: true });
  return writeParquetFile(join(folder, file), typeof rows === 'string' ? rows : eventsSql(rows), options);
}

/** A title catalog CSV (`title,genres`, genres joined by ';'); the titles match the keywords of `events`. */
export async function writeCatalog(
  file: string,
  titles: { title: string; genres: string[] }[] = [
    { title: 'Bóng Đá Việt Nam', genres: ['Sports'] },
    { title: 'Tình Yêu Và Tham Vọng', genres: ['Romantic', 'V-drama'] },
    { title: 'Phim Hay Nhất', genres: ['Movies'] },
    { title: 'Hoạt Hình Vui Nhộn', genres: ['Anime', 'Kids'] },
  ],
): Promise<string> {
  const quote = (v: string) => `"${v.replaceAll('"', '""')}"`;
  const lines = titles.map((t) => `${quote(t.title)},${quote(t.genres.join(';'))}`);
  await writeFile(file, `title,genres\n${lines.join('\n')}\n`);
  return file;
}

/** Cuts a file to half its size, like an interrupted copy. */
export async function truncateToHalf(file: string): Promise<number> {
  const size = (await stat(file)).size;
  await truncate(file, Math.floor(size / 2));
  return Math.floor(size / 2);
}

/**
 * Overwrites 16 bytes in the middle of one column's compressed chunk, as a bad copy would, leaving the
 * footer whole: the file opens and lists its columns, and reading that column fails to decompress.
 */
export async function damageColumnChunk(file: string, column: string): Promise<void> {
  const db = await openDb();
  try {
    const [chunk] = await db.all<{ offset: bigint; size: bigint }>(
      `SELECT data_page_offset AS offset, total_compressed_size AS size FROM parquet_metadata(${literal(file)})
       WHERE path_in_schema = ${literal(column)}`,
    );
    const bytes = await readFile(file);
    const middle = Number(chunk!.offset) + Math.floor(Number(chunk!.size) / 2);
    bytes.fill(0xff, middle, middle + 16);
    await writeFile(file, bytes);
  } finally {
    db.close();
  }
}

/**
 * Replaces every occurrence of the ASCII `marker` in a file by the same number of bytes starting with
 * 0xFF, producing invalid UTF-8 inside a Parquet string column (DuckDB refuses to write such text, so
 * the file is patched instead; write it uncompressed so the marker's bytes are in the file as is).
 * Returns how many occurrences were patched.
 */
export async function corruptUtf8(file: string, marker: string): Promise<number> {
  const bytes = await readFile(file);
  const needle = Buffer.from(marker, 'ascii');
  let count = 0;
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + needle.length)) {
    bytes[at] = 0xff;
    bytes[at + 1] = 0xfe;
    count++;
  }
  await writeFile(file, bytes);
  return count;
}

/** Every .parquet file under a folder (the lake), sorted. */
export async function parquetFilesUnder(dir: string): Promise<string[]> {
  return (await listParquetFiles(dir)).sort();
}

/** The files the committed partition pointers name (stored relative to the lake root), sorted. */
export async function committedPartitionFiles(engine: Engine): Promise<string[]> {
  const { rows } = await engine.query('SELECT path FROM _lakehouse.partitions');
  return rows.map((r) => resolve(engine.project.lakeRoot, String(r.path))).sort();
}

/** Lake files no committed pointer names (garbage left by a failed or killed run). */
export async function strayLakeFiles(engine: Engine): Promise<string[]> {
  const live = new Set(await committedPartitionFiles(engine));
  return (await parquetFilesUnder(engine.project.lakeRoot)).filter((f) => !live.has(f));
}

export interface ProjectState {
  /** Fingerprints of every gold table (and the keyword cache). */
  gold: Record<string, string>;
  /** Row counts of the lake-backed tables, 0 when absent. */
  counts: { bronze: number; silver: number; quarantine: number; plans: number };
  committedFiles: string[];
}

/** What a run may change: compare before and after a failed run to prove it changed nothing. */
export async function projectState(engine: Engine): Promise<ProjectState> {
  const names = new Set((await engine.tables()).map((t) => t.name));
  const count = async (table: string) =>
    names.has(table) ? Number((await engine.query(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n ?? 0) : 0;
  return {
    gold: await goldFingerprints(engine),
    counts: {
      bronze: await count('bronze.customer_search'),
      silver: await count('silver.customer_search'),
      quarantine: await count('quarantine.customer_search'),
      plans: await count('silver.user_plans_map'),
    },
    committedFiles: await committedPartitionFiles(engine),
  };
}

/** The example project on the hand-written days of `sourceDir`, with writeCatalog's titles beside them. */
export async function exampleProjectOnDays(sourceDir: string): Promise<string> {
  return exampleProject(sourceDir, await writeCatalog(join(sourceDir, 'titles.csv')));
}

/** The paths of a describe block's project (see exampleProjectForSuite); set once its beforeAll has run. */
export interface SuiteProject {
  /** The source folder of hand-written days, writeCatalog's titles.csv beside them. */
  src: string;
  /** The example project over `src`. */
  dir: string;
}

/** Six clean events of 2022-06-01: the one day most suites run. */
export async function oneCleanDay(sourceDir: string): Promise<void> {
  await writeDay(sourceDir, '20220601', events(6, '2022-06-01'));
}

/**
 * Registers the calling describe block's beforeAll and afterAll: a fresh source folder that `writeDays`
 * fills, the example project on it, both removed after the block. Read `src` and `dir` in hooks and tests,
 * not while the block is collected. A later afterAll of the block (closing an engine) runs before this one.
 */
export function exampleProjectForSuite(
  writeDays: (sourceDir: string) => Promise<unknown> = oneCleanDay,
): SuiteProject {
  const project: SuiteProject = { src: '', dir: '' };
  beforeAll(async () => {
    project.src = await tempDir('lakehouse-src-');
    await writeDays(project.src);
    project.dir = await exampleProjectOnDays(project.src);
  });
  afterAll(async () => {
    // Either is unset when beforeAll failed before making it.
    if (project.dir) await removeDir(project.dir);
    if (project.src) await removeDir(project.src);
  });
  return project;
}

/**
 * A suite's project: the example on hand-written days (YYYYMMDD → events), with `runDates` committed.
 * `remove` deletes the project and its sources.
 */
export async function handWrittenProject(
  days: Record<string, SearchEvent[]>,
  runDates: string[],
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const src = await tempDir('lakehouse-src-');
  for (const [day, rows] of Object.entries(days)) await writeDay(src, day, rows);
  const dir = await exampleProjectOnDays(src);
  await withEngine(dir, async (engine) => {
    expect((await engine.run({ dates: runDates })).status).toBe('success');
  });
  return {
    dir,
    remove: async () => {
      await removeDir(dir);
      await removeDir(src);
    },
  };
}
