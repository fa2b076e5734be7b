import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { initProject } from '../../engine/project/init.ts';
import { probeSource } from '../../engine/sources/probe.ts';
import { createS3Client } from '../../engine/storage/s3-client.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { removeDir, tempDir } from '../helpers/project.ts';
import { events, eventsSql, writeCatalog, writeDay } from '../helpers/source-files.ts';
import { type S3Server, startS3Server, uploadTree, useS3rverCredentials } from '../storage/s3-helpers.ts';

const SOURCE = 'customer_search_log';
const CSV = 'eventID,datetime\ne1,2022-06-03 10:00:00\n';

/** Where the day folders live: a local folder, or the same tree uploaded to a real S3-protocol server. */
interface Place {
  title: string;
  /** Makes `src` available as a source: its location (folder or s3:// URI) and the S3 settings to reach it. */
  publish(src: string): Promise<{ location: string; s3?: { endpoint: string } }>;
  /** Adds a day written under `src` after publishing. */
  addDay(src: string, location: string, day: string): Promise<void>;
  /** Where a day's entry is named in messages. */
  path(location: string, ...parts: string[]): string;
  close(): Promise<void>;
}

let s3: S3Server | undefined;
const local: Place = {
  title: 'a local folder',
  publish: async (src) => ({ location: src }),
  addDay: async () => undefined,
  path: (location, ...parts) => join(location, ...parts),
  close: async () => undefined,
};
const onS3: Place = {
  title: 'S3',
  async publish(src) {
    s3 ??= await startS3Server(['raw']);
    const prefix = `days-${Date.now()}`;
    await uploadTree(createS3Client({ endpoint: s3.endpoint }), src, 'raw', prefix);
    return { location: `s3://raw/${prefix}`, s3: { endpoint: s3.endpoint } };
  },
  async addDay(src, location, day) {
    const client = createS3Client({ endpoint: s3?.endpoint });
    await uploadTree(client, join(src, day), 'raw', `${location.slice('s3://raw/'.length)}/${day}`);
  },
  path: (location, ...parts) => [location, ...parts].join('/'),
  async close() {
    await s3?.close();
    s3 = undefined;
  },
};

describe.each([local, onS3])('day folders on $title', (place) => {
  let work: string;
  let src: string;
  let location: string;
  let engine: Engine;

  beforeAll(async () => {
    // s3rver's keys, for the S3 case; a local source reads none.
    useS3rverCredentials();
    work = await tempDir('lakehouse-day-folders-');
    src = join(work, 'src');
    await writeDay(src, '20220601', events(6, '2022-06-01'));
    // What a Spark or Glue job leaves for a day it wrote nothing for: a zero-byte _SUCCESS.
    await mkdir(join(src, '20220602'));
    await writeFile(join(src, '20220602', '_SUCCESS'), '');
    // Data, but not Parquet.
    await mkdir(join(src, '20220603'));
    await writeFile(join(src, '20220603', 'extra.csv'), CSV);
    await writeDay(src, '20220604', events(6, '2022-06-04'));
    // Beside the day's Parquet file: data that is not read, and what writers leave that readers ignore.
    await writeFile(join(src, '20220604', 'extra.csv'), CSV);
    await writeFile(join(src, '20220604', 'part-00001.json'), '{"eventID":"e1"}\n');
    await writeDay(src, join('20220604', 'late'), events(2, '2022-06-04', 'late'));
    await writeFile(join(src, '20220604', '_SUCCESS'), '');
    await writeFile(join(src, '20220604', 'marker'), '');
    await writeFile(join(src, '20220604', '.part-00000.parquet.crc'), 'crc');
    await writeFile(join(src, '20220604', 'part-00000.parquet.crc'), 'crc');
    await writeFile(join(src, '20220604', '_common_metadata'), 'PAR1');
    await writeDay(src, join('20220604', '_temporary'), events(2, '2022-06-04', 'tmp'));
    // Parquet all the same, named in capitals by some writer.
    await writeDay(src, '20220606', events(3, '2022-06-06'), 'PART-1.PARQUET');
    const published = await place.publish(src);
    location = published.location;
    const dir = join(work, 'project');
    await initProject({
      dir,
      example: 'customer-search',
      source: location,
      catalog: await writeCatalog(join(work, 'titles.csv')),
      s3: published.s3,
    });
    engine = await createEngine({ projectDir: dir });
  });

  afterAll(async () => {
    engine?.close();
    await place.close();
    await removeDir(work);
  });

  it('offers and runs only the days with a Parquet file', async () => {
    expect(await engine.availableDates()).toEqual(['2022-06-01', '2022-06-04', '2022-06-06']);
    // The app's Test connection counts the same days.
    expect(await probeSource(engine.project, { name: SOURCE })).toMatchObject({
      ok: true,
      dates: ['2022-06-01', '2022-06-04', '2022-06-06'],
      objects: 3,
    });
    const summary = await engine.run({});
    expect(summary.error).toBeUndefined();
    expect(summary.dates).toEqual(['2022-06-01', '2022-06-04', '2022-06-06']);
    expect(summary.status).toBe('success');
  });

  it('tests a source as a run binds its latest day: the columns models read, or the error a run would give', async () => {
    const declared = engine.project.config.sources[SOURCE];
    const columns = declared?.kind === 'daily_parquet' ? Object.keys(declared.columns) : [];
    const probe = await probeSource(engine.project, { name: SOURCE });
    expect(probe.columns).toEqual(columns.map((c) => expect.stringMatching(new RegExp(`^${c} `))));
    expect(probe.columns).toContain('eventID VARCHAR');
    expect(probe.summary).toMatch(/; 2022-06-06 reads eventID VARCHAR, /);
    // Listing alone found the days; the files lack a declared column, which every run of them fails on.
    const lacking = await probeSource(engine.project, {
      source: { kind: 'daily_parquet', path: location, columns: { eventID: 'VARCHAR', region: 'VARCHAR' } },
    });
    expect(lacking).toMatchObject({ ok: false, error: { code: 'SOURCE_SCHEMA_MISMATCH' } });
    expect(lacking.summary).toMatch(/lacks column region/);
    const untyped = await probeSource(engine.project, {
      source: { kind: 'daily_parquet', path: location, columns: { eventID: 'STRNG' } },
    });
    expect(untyped).toMatchObject({ ok: false, error: { code: 'PROJECT_INVALID' } });
    expect(untyped.summary).toMatch(/columns\.eventID is "STRNG", which is not a DuckDB type/);
  });

  it('fails a requested day without Parquet files, saying what its folder holds and which days there are', async () => {
    const days = 'Days available: 2022-06-01 .. 2022-06-06 (3).';
    const expected = (day: string, held: string) =>
      place === local
        ? `Source "${SOURCE}": ${place.path(location, day)} holds no .parquet files for ${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}: ${held}. Wait for the day`
        : `Source "${SOURCE}" has no Parquet objects for ${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)} under ${place.path(location, day)}/: ${held}. ${days}`;
    const marker = await engine.run({ dates: ['2022-06-02'] });
    expect(marker.error?.code).toBe('SOURCE_MISSING');
    expect(marker.error?.message).toContain(expected('20220602', 'it holds only _SUCCESS (0 bytes)'));
    const csv = await engine.run({ dates: ['2022-06-03'] });
    expect(csv.error?.code).toBe('SOURCE_MISSING');
    expect(csv.error?.message).toContain(
      expected('20220603', `it holds only extra.csv (${Buffer.byteLength(CSV)} bytes)`),
    );
    // A day folder missing altogether lists the days there are, leaving out those without Parquet.
    const missing = await engine.run({ dates: ['2022-06-05'] });
    expect(missing.error?.code).toBe('SOURCE_MISSING');
    expect(missing.error?.message).toContain(`${days} Run one of those dates.`);
  });

  it('notes each file of a day it does not read, and ignores hidden files and markers', async () => {
    const summary = await engine.run({ dates: ['2022-06-04'] });
    expect(summary.error).toBeUndefined();
    expect(summary.status).toBe('success');
    const day = (name: string) => place.path(location, '20220604', name);
    const notParquet = (name: string, bytes: number) =>
      `${day(name)}: not read, since only .parquet files are loaded (it has ${bytes} bytes); convert it to Parquet if sources.${SOURCE} should load it`;
    const notes = [
      notParquet('extra.csv', Buffer.byteLength(CSV)),
      `${day('late')}${place === local ? '' : '/'}: not read, since it is a sub-folder and only the files ` +
        `directly in a day folder are loaded; move its files up if sources.${SOURCE} should load them`,
      notParquet('part-00001.json', 17),
    ];
    // On the model reading the source, in the summary and the run history; nothing on the ignored files.
    const notesOf = (models: { model: string; warnings: string[] }[]) =>
      Object.fromEntries(
        models.flatMap((m) => {
          const about = m.warnings.filter((w) => w.includes('20220604'));
          return about.length > 0 ? [[m.model, about]] : [];
        }),
      );
    expect(notesOf(summary.models)).toEqual({ 'bronze.customer_search': notes });
    const [latest] = await engine.runs(1);
    expect(notesOf(latest!.models)).toEqual({ 'bronze.customer_search': notes });
    // Only the day's own Parquet file was loaded.
    const rows = await engine.query(
      "SELECT count(*) AS n FROM bronze.customer_search WHERE etl_date = DATE '2022-06-04'",
    );
    expect(Number(rows.rows[0]?.n)).toBe(6);
  });

  it('names every column of another type of a file in one error', async () => {
    await writeDay(
      src,
      '20220605',
      `SELECT * REPLACE (datetime::TIMESTAMP AS datetime, user_id::BIGINT AS user_id)
       FROM (${eventsSql(events(5, '2022-06-05'))})`,
    );
    await place.addDay(src, location, '20220605');
    const summary = await engine.run({ dates: ['2022-06-05'] });
    const file = place.path(location, '20220605', 'part-00000.parquet');
    expect(summary.error).toMatchObject({
      code: 'SOURCE_SCHEMA_MISMATCH',
      message:
        `Source "${SOURCE}": ${file} column datetime is TIMESTAMP, expected VARCHAR; column user_id is BIGINT, ` +
        'expected VARCHAR. Loading it would change values (e.g. lose leading zeros); fix the producer, or set ' +
        `sources.${SOURCE}.columns.datetime to TIMESTAMP, sources.${SOURCE}.columns.user_id to BIGINT and adapt the models.`,
      details: {
        source: SOURCE,
        file,
        column: 'datetime',
        expected: 'VARCHAR',
        actual: 'TIMESTAMP',
        columns: [
          { column: 'datetime', expected: 'VARCHAR', actual: 'TIMESTAMP' },
          { column: 'user_id', expected: 'VARCHAR', actual: 'BIGINT' },
        ],
      },
    });
  });
});

describe.each([local, onS3])('day folders nested by date_format (%Y/%m/%d) on $title', (place) => {
  let work: string;
  let engine: Engine;

  beforeAll(async () => {
    useS3rverCredentials();
    work = await tempDir('lakehouse-nested-days-');
    const src = join(work, 'src');
    await writeDay(src, join('2022', '06', '01'), events(4, '2022-06-01'));
    await mkdir(join(src, '2022', '06', '02'), { recursive: true });
    await writeFile(join(src, '2022', '06', '02', '_SUCCESS'), '');
    await writeDay(src, join('2022', '06', '03'), events(5, '2022-06-03'));
    // Not a day: a level that does not match its part of the format.
    await writeDay(src, join('2022', 'misc', '01'), events(1, '2022-06-01', 'misc'));
    const published = await place.publish(src);
    const dir = join(work, 'project');
    await initProject({
      dir,
      example: 'customer-search',
      source: published.location,
      catalog: await writeCatalog(join(work, 'titles.csv')),
      s3: published.s3,
    });
    const yaml = join(dir, 'lakehouse.yaml');
    await writeFile(
      yaml,
      (await readFile(yaml, 'utf8')).replace('date_format: "%Y%m%d"', 'date_format: "%Y/%m/%d"'),
    );
    engine = await createEngine({ projectDir: dir });
  });

  afterAll(async () => {
    engine?.close();
    await place.close();
    await removeDir(work);
  });

  it('offers, tests and runs the days three folders deep', async () => {
    expect(await engine.availableDates()).toEqual(['2022-06-01', '2022-06-03']);
    expect(await probeSource(engine.project, { name: SOURCE })).toMatchObject({
      ok: true,
      dates: ['2022-06-01', '2022-06-03'],
      objects: 2,
    });
    const summary = await engine.run({});
    expect(summary.error).toBeUndefined();
    expect(summary.dates).toEqual(['2022-06-01', '2022-06-03']);
    const rows = await engine.query(
      "SELECT strftime(etl_date, '%Y-%m-%d') AS d, count(*) AS n FROM bronze.customer_search GROUP BY ALL ORDER BY d",
    );
    expect(rows.rows.map((r) => [r.d, Number(r.n)])).toEqual([
      ['2022-06-01', 4],
      ['2022-06-03', 5],
    ]);
  });
});

// Said as "check the path of the source (in lakehouse.yaml, or the form that tests it)": which of the
// project's sources, and which setting, was left to guess.
describe('a daily source whose folder does not exist', () => {
  it('fails a run naming the source and its path setting', async () => {
    const work = await tempDir();
    try {
      const dir = join(work, 'project');
      const missing = join(work, 'customer_search_log_dat');
      await initProject({ dir, example: 'customer-search', source: missing });
      const engine = await createEngine({ projectDir: dir });
      try {
        for (const dates of [{}, { from: '2022-06-01', to: '2022-06-02' }]) {
          const error = await lakehouseFailure(engine.run(dates));
          expect(error.code).toBe('SOURCE_MISSING');
          expect(error.message).toBe(
            `Source "${SOURCE}": folder ${missing} does not exist. Check sources.${SOURCE}.path in lakehouse.yaml.`,
          );
        }
      } finally {
        engine.close();
      }
    } finally {
      await removeDir(work);
    }
  });
});
