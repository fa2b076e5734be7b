import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../engine/engine.ts';
import type { RunSummary } from '../../engine/pipeline/runner.ts';
import { exampleProject, removeDir, withEngine } from '../helpers/project.ts';
import {
  corruptUtf8,
  damageColumnChunk,
  event,
  events,
  eventsSql,
  exampleProjectForSuite,
  type ProjectState,
  projectState,
  SOURCE_COLUMNS,
  strayLakeFiles,
  truncateToHalf,
  writeCatalog,
  writeDay,
} from '../helpers/source-files.ts';

const SOURCE = 'customer_search_log';

interface BadDayCase {
  title: string;
  date: string;
  code: string;
  /** Pieces the message must contain, given the source folder. */
  message: (src: string) => string[];
  details: (src: string) => Record<string, unknown>;
}

const file = (src: string, day: string) => join(src, day, 'part-00000.parquet');
/** Size of the truncated file of 2022-06-02, which its message reports. */
let truncatedSize = 0;

/** A date whose source folder is absent (or not a folder): SOURCE_MISSING, listing the days there are. */
function missingDay(title: string, date: string): BadDayCase {
  const day = date.replaceAll('-', '');
  return {
    title,
    date,
    code: 'SOURCE_MISSING',
    message: (src) => [
      `Source "${SOURCE}" has no folder for ${date}: ${join(src, day)} does not exist.`,
      // 2022-06-08 is no day to run: its folder holds no Parquet file.
      'Days available: 2022-06-01 .. 2022-06-07 (7). Run one of those dates.',
    ],
    details: (src) => ({ source: SOURCE, path: join(src, day), etlDate: date, reason: 'day-missing' }),
  };
}

// One good day, then one broken day per case; each case runs its day and must change nothing.
const CASES: BadDayCase[] = [
  missingDay('no folder for the requested date', '2022-06-20'),
  // A day name that is a broken link or a plain file is neither run nor offered as available.
  missingDay('a day that is a broken link', '2022-06-21'),
  {
    title: 'a truncated Parquet file',
    date: '2022-06-02',
    code: 'SOURCE_UNREADABLE',
    message: (src) => [
      `Source "${SOURCE}": ${file(src, '20220602')} (${truncatedSize} bytes) is not a readable Parquet file ` +
        `(Invalid Input Error: No magic bytes found at end of file '${file(src, '20220602')}').`,
      'It may be truncated, still being written, or not Parquet at all: re-export it, or move it out of the folder and re-run.',
    ],
    details: (src) => ({ source: SOURCE, file: file(src, '20220602') }),
  },
  {
    title: 'a text file with a .parquet name',
    date: '2022-06-03',
    code: 'SOURCE_UNREADABLE',
    message: (src) => [
      `Source "${SOURCE}": ${file(src, '20220603')} (40 bytes) is not a readable Parquet file`,
      're-export it, or move it out of the folder and re-run.',
    ],
    details: (src) => ({ source: SOURCE, file: file(src, '20220603') }),
  },
  {
    title: 'a missing column',
    date: '2022-06-04',
    code: 'SOURCE_SCHEMA_MISMATCH',
    message: (src) => [
      `Source "${SOURCE}": ${file(src, '20220604')} lacks column networkType.`,
      'Found: eventID, datetime, user_id, keyword, category, proxy_isp, platform, action, userPlansMap.',
      `Fix the file, or update sources.${SOURCE}.columns in lakehouse.yaml if the source really changed.`,
    ],
    details: (src) => ({ source: SOURCE, file: file(src, '20220604'), missing: ['networkType'] }),
  },
  {
    title: 'a changed column type (user_id as BIGINT)',
    date: '2022-06-05',
    code: 'SOURCE_SCHEMA_MISMATCH',
    message: (src) => [
      `Source "${SOURCE}": ${file(src, '20220605')} column user_id is BIGINT, expected VARCHAR.`,
      `fix the producer, or set sources.${SOURCE}.columns.user_id to BIGINT and adapt the models.`,
    ],
    details: (src) => ({
      source: SOURCE,
      file: file(src, '20220605'),
      column: 'user_id',
      expected: 'VARCHAR',
      actual: 'BIGINT',
      columns: [{ column: 'user_id', expected: 'VARCHAR', actual: 'BIGINT' }],
    }),
  },
  {
    title: 'invalid UTF-8 in a string column',
    date: '2022-06-06',
    code: 'SOURCE_UNREADABLE',
    message: (src) => [
      // The third of five events holds the bad bytes: found by halving the file's rows.
      `Source "${SOURCE}": ${file(src, '20220606')} column keyword (row 3 of the file) cannot be read:`,
      'is not valid UTF8!',
      'Re-export the file with valid UTF-8 text, or move it out of the folder and re-run.',
    ],
    details: (src) => ({ source: SOURCE, file: file(src, '20220606'), column: 'keyword', row: 3 }),
  },
  {
    title: 'a file damaged in the middle (a compressed page overwritten)',
    date: '2022-06-07',
    code: 'SOURCE_UNREADABLE',
    message: (src) => [
      `Source "${SOURCE}": ${file(src, '20220607')} column keyword cannot be read:`,
      'The file looks damaged (cut short or corrupted in transfer): copy or re-export it again',
    ],
    details: (src) => ({ source: SOURCE, file: file(src, '20220607'), column: 'keyword' }),
  },
  {
    title: 'a day folder with no files yet',
    date: '2022-06-08',
    code: 'SOURCE_MISSING',
    message: (src) => [
      `Source "${SOURCE}": ${join(src, '20220608')} holds no .parquet files for 2022-06-08: it is empty.`,
      'Wait for the day to be delivered (or copy its files in) and run the date again',
    ],
    details: (src) => ({
      source: SOURCE,
      path: join(src, '20220608'),
      etlDate: '2022-06-08',
      reason: 'day-missing',
    }),
  },
];

describe('a bad source day fails its run and leaves the committed state as it was', () => {
  const project = exampleProjectForSuite(async (src) => {
    await writeDay(src, '20220601', events(12, '2022-06-01'));

    truncatedSize = await truncateToHalf(await writeDay(src, '20220602', events(12, '2022-06-02')));

    await mkdir(join(src, '20220603'));
    await writeFile(file(src, '20220603'), 'eventID,datetime\ne1,2022-06-03 10:00:00\n');

    await writeDay(
      src,
      '20220604',
      `SELECT * EXCLUDE ("networkType") FROM (${eventsSql(events(5, '2022-06-04'))})`,
    );

    await writeDay(
      src,
      '20220605',
      `SELECT * REPLACE (user_id::BIGINT AS user_id) FROM (${eventsSql(events(5, '2022-06-05'))})
       WHERE user_id IS NOT NULL`,
    );

    // DuckDB will not write invalid UTF-8 as VARCHAR: write a marker uncompressed, then patch its bytes.
    const utf8Rows = events(5, '2022-06-06');
    utf8Rows[2]!.keyword = 'XXMARKERXX';
    const utf8File = await writeDay(
      src,
      '20220606',
      utf8Rows,
      'part-00000.parquet',
      'COMPRESSION uncompressed',
    );
    expect(await corruptUtf8(utf8File, 'XXMARKERXX')).toBeGreaterThanOrEqual(1);

    // Enough distinct keywords for a real compressed page to damage.
    const damaged = await writeDay(
      src,
      '20220607',
      events(400, '2022-06-07').map((e, i) => ({ ...e, keyword: `${e.keyword} ${i * 7919}` })),
    );
    await damageColumnChunk(damaged, 'keyword');

    await mkdir(join(src, '20220608'));

    await symlink(join(src, 'moved-away'), join(src, '20220621'));
    await writeFile(join(src, '20220622'), 'not a folder');
  });

  let engine: Engine;
  let committed: ProjectState;

  beforeAll(async () => {
    engine = await createEngine({ projectDir: project.dir });
    const first = await engine.run({ dates: ['2022-06-01'] });
    expect(first.error).toBeUndefined();
    committed = await projectState(engine);
    expect(committed.counts).toEqual({ bronze: 12, silver: 12, quarantine: 0, plans: 6 });
    expect(Object.keys(committed.gold)).toHaveLength(10);
  });

  afterAll(() => engine?.close());

  it.each(CASES)('$title → $code', async ({ date, code, message, details }) => {
    const summary = await engine.run({ dates: [date] });
    expect(summary.status).toBe('failed');
    expect(summary.dates).toEqual([date]);
    expect(summary.error?.code).toBe(code);
    for (const part of message(project.src)) expect(summary.error?.message).toContain(part);
    expect(summary.error?.details).toEqual(details(project.src));

    // Nothing changed: same gold content, same lake rows, same pointers, no files left behind.
    expect(await projectState(engine)).toEqual(committed);
    expect(await strayLakeFiles(engine)).toEqual([]);

    const [latest] = await engine.runs(1);
    expect(latest).toMatchObject({
      runId: summary.runId,
      status: 'failed',
      dates: date,
      error: summary.error?.message,
    });
  });

  it('still runs the good day afterwards, to the same result', async () => {
    const again = await engine.run({ dates: ['2022-06-01'] });
    expect(again.status).toBe('success');
    const after = await projectState(engine);
    expect({ gold: after.gold, counts: after.counts }).toEqual({
      gold: committed.gold,
      counts: committed.counts,
    });
    expect(await strayLakeFiles(engine)).toEqual([]);
  });

  it('names the file and column of unreadable text also when the failing model staged its rows first', async () => {
    // With deduplicate, the bronze model stages its rows (a different code path from a straight copy).
    const model = join(project.dir, 'models', 'bronze', 'customer_search.sql');
    const sql = await readFile(model, 'utf8');
    await writeFile(
      model,
      sql.replace('materialized: partition\n', 'materialized: partition\ndeduplicate:\n  key: eventID\n'),
    );
    engine.close();
    engine = await createEngine({ projectDir: project.dir });
    const utf8 = CASES.find((c) => c.date === '2022-06-06')!;
    const before = await projectState(engine);
    const summary = await engine.run({ dates: [utf8.date] });
    expect(summary.error?.code).toBe('SOURCE_UNREADABLE');
    expect(summary.error?.details).toEqual(utf8.details(project.src));
    expect(summary.models.find((m) => m.model === 'bronze.customer_search')?.status).toBe('failed');
    expect(await projectState(engine)).toEqual(before);
  });
});

describe('an extra column in a source file', () => {
  const project = exampleProjectForSuite((src) =>
    writeDay(
      src,
      '20220601',
      `SELECT *, 'web-42' AS session_id FROM (${eventsSql(events(6, '2022-06-01'))})`,
    ),
  );

  // One run for both tests: each reads what it left, and neither writes.
  let summary: RunSummary;
  beforeAll(async () => {
    summary = await withEngine(project.dir, (engine) => engine.run({ dates: ['2022-06-01'] }));
  });

  it('loads the declared columns and leaves the extra one out of bronze', async () => {
    await withEngine(project.dir, async (engine) => {
      expect(summary.error).toBeUndefined();
      expect(summary.status).toBe('success');
      const bronze = (await engine.tables()).find((t) => t.name === 'bronze.customer_search');
      expect(bronze?.rows).toBe(6);
      expect(bronze?.columns.map((c) => c.name)).toEqual([
        ...SOURCE_COLUMNS,
        'source_file',
        'etl_date',
        'loaded_at',
      ]);
    });
  });

  it('records a warning naming the file and the extra column in the summary and the run history', async () => {
    await withEngine(project.dir, async (engine) => {
      expect(summary.status).toBe('success');
      // Worded for the source: it said "not loaded into bronze" also where a silver model read the source.
      const warning = `${join(project.src, '20220601', 'part-00000.parquet')}: extra column session_id not declared in sources.${SOURCE}.columns: not read (models see only the declared columns; declare it there to read it)`;
      // On the model that reads the source, and nowhere else.
      const warned = (models: { model: string; warnings: string[] }[]) =>
        models.filter((m) => m.warnings.includes(warning)).map((m) => m.model);
      expect(warned(summary.models)).toEqual(['bronze.customer_search']);
      const [latest] = await engine.runs(1);
      expect(warned(latest!.models)).toEqual(['bronze.customer_search']);
    });
  });
});

describe('a typo in lakehouse.yaml is blamed on lakehouse.yaml', () => {
  const project = exampleProjectForSuite();
  let original: string;
  const yaml = () => join(project.dir, 'lakehouse.yaml');

  beforeAll(async () => {
    original = await readFile(yaml(), 'utf8');
  });

  it('a declared column type DuckDB does not know, not the data file', async () => {
    await writeFile(yaml(), original.replace('eventID: VARCHAR', 'eventID: VARCHR'));
    await withEngine(project.dir, async (engine) => {
      const summary = await engine.run({ dates: ['2022-06-01'] });
      expect(summary.error).toMatchObject({
        code: 'PROJECT_INVALID',
        message: expect.stringMatching(
          /^lakehouse\.yaml: sources\.customer_search_log\.columns\.eventID is "VARCHR", which is not a DuckDB type \(.*\)\. The files have VARCHAR/,
        ),
      });
    });
  });

  it('a misspelt setting, instead of ignoring it', async () => {
    expect(original).toMatch(/^settings: \{\}$/m);
    await writeFile(yaml(), original.replace(/^settings: \{\}$/m, 'settings: {memory_limt: 1GB}'));
    await expect(createEngine({ projectDir: project.dir })).rejects.toMatchObject({
      code: 'PROJECT_INVALID',
      message: expect.stringContaining('settings: Unrecognized key: "memory_limt"'),
    });
  });
});

describe('a model header naming a column the SQL does not output is blamed on the header field', () => {
  const project = exampleProjectForSuite();
  let original: string;
  const dimUser = () => join(project.dir, 'models', 'gold', 'dim_user.sql');

  beforeAll(async () => {
    original = await readFile(dimUser(), 'utf8');
  });

  const run = async (edit: (text: string) => string) => {
    await writeFile(dimUser(), edit(original));
    return withEngine(project.dir, (engine) => engine.run({ dates: ['2022-06-01'] }));
  };

  it('a misspelt unique_key, at its header line rather than a line of the SQL', async () => {
    const summary = await run((text) => text.replace(/^unique_key: user_id$/m, 'unique_key: user_idd'));
    expect(summary.error).toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringMatching(
        /^models\/gold\/dim_user\.sql:4: unique_key names the column "user_idd", which the model does not output \(did you mean "user_id"\?\)\. The model's columns: user_id, user_type, first_search_dt, last_search_dt\./,
      ),
      details: { field: 'unique_key', column: 'user_idd', model: 'gold.dim_user' },
    });
  });

  it('a merge rule for a misspelt column, instead of merging that column by overwrite', async () => {
    const summary = await run((text) => text.replace('  first_search_dt: least', '  first_serch_dt: least'));
    expect(summary.error).toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringMatching(
        /^models\/gold\/dim_user\.sql:6: merge\.first_serch_dt names the column/,
      ),
    });
  });
});

describe('rows that cannot be repaired go to quarantine with their reason', () => {
  const project = exampleProjectForSuite(async (src) => {
    const good = events(6, '2022-06-01');
    const bad = [
      event({ eventID: 'q-na', datetime: 'N/A' }),
      event({ eventID: 'q-empty', datetime: '' }),
      event({ eventID: 'q-month13', datetime: '2022-13-45 99:99:99' }),
      event({ eventID: 'q-year1', datetime: '0001-01-01 00:00:00' }),
      event({ eventID: 'q-year9999', datetime: '9999-12-31 23:59:59' }),
      // Years past 214748: yyyymmdd no longer fits an INTEGER (the whole date failed on them).
      event({ eventID: 'q-year222222', datetime: '222222-06-02 10:00:00' }),
      event({ eventID: 'q-year294247', datetime: '294247-01-10 04:00:54.775807' }),
      event({ eventID: 'q-infinity', datetime: 'infinity' }),
      event({ eventID: 'q-null-dt', datetime: null }),
      event({ eventID: null }),
      event({ eventID: '   ' }),
      event({ eventID: 'q-user', user_id: 'abc12' }),
    ];
    // One exact duplicate of a good event: removed and counted, not quarantined.
    await writeDay(src, '20220601', [...good, good[0]!, ...bad]);
  });
  const dataFile = () => join(project.src, '20220601', 'part-00000.parquet');

  beforeAll(async () => {
    await withEngine(project.dir, async (engine) => {
      const summary = await engine.run({ dates: ['2022-06-01'] });
      expect(summary.error).toBeUndefined();
      expect(summary.status).toBe('success');
    });
  });

  it('writes each rejected row to quarantine.customer_search with the rule that rejected it', async () => {
    await withEngine(
      project.dir,
      async (engine) => {
        const { rows } = await engine.query(
          `SELECT quarantine_reason, event_id, user_id, source_file, strftime(etl_date, '%Y-%m-%d') AS etl_date
           FROM quarantine.customer_search ORDER BY quarantine_reason, event_id`,
        );
        const common = { source_file: dataFile(), etl_date: '2022-06-01' };
        expect(rows).toEqual([
          {
            quarantine_reason: 'datetime_out_of_range: "0001-01-01 00:00:00"',
            event_id: 'q-year1',
            user_id: '00123456',
            ...common,
          },
          {
            quarantine_reason: 'datetime_out_of_range: "222222-06-02 10:00:00"',
            event_id: 'q-year222222',
            user_id: '00123456',
            ...common,
          },
          {
            quarantine_reason: 'datetime_out_of_range: "294247-01-10 04:00:54.775807"',
            event_id: 'q-year294247',
            user_id: '00123456',
            ...common,
          },
          {
            quarantine_reason: 'datetime_out_of_range: "9999-12-31 23:59:59"',
            event_id: 'q-year9999',
            user_id: '00123456',
            ...common,
          },
          {
            quarantine_reason: 'datetime_out_of_range: "infinity"',
            event_id: 'q-infinity',
            user_id: '00123456',
            ...common,
          },
          {
            quarantine_reason: 'datetime_unparseable: ""',
            event_id: 'q-empty',
            user_id: '00123456',
            ...common,
          },
          {
            quarantine_reason: 'datetime_unparseable: "2022-13-45 99:99:99"',
            event_id: 'q-month13',
            user_id: '00123456',
            ...common,
          },
          {
            quarantine_reason: 'datetime_unparseable: "N/A"',
            event_id: 'q-na',
            user_id: '00123456',
            ...common,
          },
          {
            quarantine_reason: 'datetime_unparseable: NULL',
            event_id: 'q-null-dt',
            user_id: '00123456',
            ...common,
          },
          { quarantine_reason: 'event_id_missing', event_id: null, user_id: '00123456', ...common },
          { quarantine_reason: 'event_id_missing', event_id: null, user_id: '00123456', ...common },
          {
            quarantine_reason: 'user_id_not_numeric: "abc12"',
            event_id: 'q-user',
            user_id: 'abc12',
            ...common,
          },
        ]);
        // None of them reaches silver or gold.
        expect(
          (
            await engine.query(
              `SELECT (SELECT count(*) FROM silver.customer_search) AS silver,
                      (SELECT count(*) FROM gold.fact_customer_search) AS fact,
                      (SELECT count(*) FROM gold.fact_customer_search WHERE event_id LIKE 'q-%') AS leaked`,
            )
          ).rows,
        ).toEqual([{ silver: 6, fact: 6, leaked: 0 }]);
        // The calendar spans the configured year, not the centuries of the rejected timestamps.
        expect((await engine.query('SELECT count(*) AS days FROM gold.dim_date')).rows).toEqual([
          { days: 365 },
        ]);
      },
      true,
    );
  });

  it('accounts for every bronze row: silver + duplicates + quarantined', async () => {
    await withEngine(
      project.dir,
      async (engine) => {
        const [run] = await engine.runs(1);
        const bronze = run!.models.find((m) => m.model === 'bronze.customer_search');
        const silver = run!.models.find((m) => m.model === 'silver.customer_search');
        expect(bronze).toMatchObject({ status: 'success', rowsOut: 19 });
        expect(silver).toMatchObject({
          status: 'success',
          rowsIn: 19,
          rowsOut: 6,
          duplicatesRemoved: 1,
          quarantined: 12,
        });
        expect(silver!.rowsIn).toBe(silver!.rowsOut + silver!.duplicatesRemoved + silver!.quarantined);
        // Counted by rule too, in the run's notes for the date: the reason up to its first ':'.
        expect(silver!.warnings).toContain(
          '12 rows quarantined: datetime_out_of_range 5, datetime_unparseable 4, event_id_missing 2, user_id_not_numeric 1',
        );
        expect((await engine.query('SELECT count(*) AS n FROM bronze.customer_search')).rows).toEqual([
          { n: 19 },
        ]);
      },
      true,
    );
  });
});

describe('a day folder named like no calendar day (20220230)', () => {
  const project = exampleProjectForSuite(async (src) => {
    await writeDay(src, '20220601', events(5));
    await writeDay(src, '20220230', events(5));
  });

  it('fails a run over all days with an error naming the folder, before anything runs', async () => {
    await withEngine(project.dir, async (engine) => {
      const failure = await engine.run({}).then(
        (summary) => summary.error,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({
        code: 'SOURCE_UNREADABLE',
        details: { path: join(project.src, '20220230'), reason: 'not-a-date' },
        message: expect.stringContaining(
          'has a day folder 20220230 that is no calendar date (2022-02-30), so its files would never load',
        ),
      });
      expect(await engine.db.scalar('SELECT count(*) FROM _lakehouse.model_runs')).toBe(0);
    });
  });
});

describe('a daily source no model reads yet', () => {
  const project = exampleProjectForSuite((src) => writeDay(src, '20220601', events(5)));

  it('neither blocks runs nor adds dates when its folder does not exist', async () => {
    const config = join(project.dir, 'lakehouse.yaml');
    const yaml = await readFile(config, 'utf8');
    await writeFile(
      config,
      yaml.replace(
        /^sources:\n/m,
        `sources:\n  extra_src:\n    kind: daily_parquet\n    path: ${JSON.stringify(join(project.src, 'not-there'))}\n    columns:\n      a: VARCHAR\n`,
      ),
    );
    await withEngine(project.dir, async (engine) => {
      expect(await engine.availableDates()).toEqual(['2022-06-01']);
      const summary = await engine.run({});
      expect(summary.error?.message).toBeUndefined();
      expect(summary.dates).toEqual(['2022-06-01']);
    });
  });
});

describe('a day whose files hold no rows', () => {
  const project = exampleProjectForSuite();

  it('loads the date as empty with a note saying so, instead of silently replacing its rows', async () => {
    const { src } = project;
    await withEngine(project.dir, async (engine) => {
      expect((await engine.run({ dates: ['2022-06-01'] })).status).toBe('success');
      // The export is re-delivered cut off before its rows: well-formed Parquet, no rows.
      await writeDay(src, '20220601', eventsSql([]));
      const summary = await engine.run({ dates: ['2022-06-01'] });
      expect(summary.status).toBe('success');
      const bronze = summary.models.find((m) => m.model === 'bronze.customer_search');
      expect(bronze?.rowsOut).toBe(0);
      expect(bronze?.warnings).toContain(
        `source ${SOURCE}: the day's file ${file(src, '20220601')} holds no rows, so the date is loaded as empty ` +
          '(replacing the rows of an earlier load of it, if any); if the delivery is incomplete, copy its complete files in and run the date again',
      );
      // A day with rows, empty part files beside them or not, gets no such note.
      await writeDay(src, '20220601', events(6, '2022-06-01'));
      await writeDay(src, '20220601', eventsSql([]), 'part-00001.parquet');
      const again = await engine.run({ dates: ['2022-06-01'] });
      const notes = again.models.find((m) => m.model === 'bronze.customer_search')?.warnings ?? [];
      expect(notes.filter((w) => w.includes('no rows, so the date is loaded as empty'))).toEqual([]);
      expect(again.models.find((m) => m.model === 'bronze.customer_search')?.rowsOut).toBe(6);
      // A date never loaded before replaces nothing: the note does not say it does.
      await writeDay(src, '20220602', eventsSql([]));
      const first = await engine.run({ dates: ['2022-06-02'] });
      const firstNotes = first.models.find((m) => m.model === 'bronze.customer_search')?.warnings ?? [];
      expect(firstNotes.filter((w) => w.includes('no rows, so the date is loaded as empty'))).toHaveLength(1);
      expect(firstNotes.filter((w) => w.includes('replacing what it held before'))).toEqual([]);
    });
  });
});

describe('a catalog repeating a title with other genres', () => {
  const project = exampleProjectForSuite();

  beforeAll(async () => {
    // The same title twice, spelt apart only by case and accents, with other genres; and an exact repeat.
    await writeCatalog(join(project.src, 'titles.csv'), [
      { title: 'Bóng Đá Việt Nam', genres: ['Sports'] },
      { title: 'BONG DA VIET NAM', genres: ['Live'] },
      { title: 'Phim Hay Nhất', genres: ['Movies'] },
      { title: 'Phim Hay Nhất', genres: ['Movies'] },
    ]);
  });

  it('notes the ignored repeat and the title kept, instead of dropping its genres silently', async () => {
    await withEngine(project.dir, async (engine) => {
      const summary = await engine.run({ dates: ['2022-06-01'] });
      expect(summary.status).toBe('success');
      const notes = summary.models.find((m) => m.model === 'silver.keyword_match')?.warnings ?? [];
      expect(notes.filter((w) => w.startsWith('catalog '))).toEqual([
        'catalog source.title_catalog: 1 title shares a slug with another title of other genres, and only one ' +
          'of them is used: "Bóng Đá Việt Nam" (Sports) is ignored for "BONG DA VIET NAM" (Live); give each title ' +
          "one row, its genres joined by ';'",
      ]);
    });
  });
});

describe('a catalog file with no titles or a malformed CSV', () => {
  const project = exampleProjectForSuite();

  it('with a header only, notes that every keyword is not_matched, instead of matching nothing unsaid', async () => {
    await writeCatalog(join(project.src, 'titles.csv'), []);
    await withEngine(project.dir, async (engine) => {
      const summary = await engine.run({ dates: ['2022-06-01'] });
      expect(summary.status).toBe('success');
      const notes = summary.models.find((m) => m.model === 'silver.keyword_match')?.warnings ?? [];
      expect(notes).toContain(
        'catalog source.title_catalog has no titles, so every keyword is not_matched: ' +
          'give it a row per title and run the date again',
      );
    });
  });

  it('with invalid UTF-8 past the rows DuckDB samples, fails naming the file, line and fault, not the model', async () => {
    // DuckDB checks the first 20,480 rows when the source is bound; the rest fail when the model reads them.
    const titles = Array.from({ length: 21_000 }, (_, i) => `Title ${i},Drama`).join('\n');
    const catalog = join(project.src, 'titles.csv');
    await writeFile(
      catalog,
      Buffer.concat([
        Buffer.from(`title,genres\n${titles}\nCon`),
        Buffer.from([0xff]),
        Buffer.from('an,Anime\n'),
      ]),
    );
    await withEngine(project.dir, async (engine) => {
      const before = await projectState(engine);
      const summary = await engine.run({ dates: ['2022-06-01'] });
      expect(summary.error).toMatchObject({
        code: 'SOURCE_UNREADABLE',
        message:
          `Catalog source.title_catalog cannot be read: ${catalog}: CSV Error on Line: 21002: Invalid unicode ` +
          '(byte sequence mismatch) detected. This file is not utf-8 encoded. Fix the file and run the date again.',
        details: { relation: 'source.title_catalog', file: catalog },
      });
      expect(await projectState(engine)).toEqual(before);
    });
  });

  it('with a row of more fields than the header, fails naming that line, not columns the sniffer made up', async () => {
    // DuckDB's sniffer read this file as one column named "title,genres", so no title column was found.
    const catalog = join(project.src, 'titles.csv');
    await writeFile(catalog, 'title,genres\nConan,Anime\nA,B\nC,D\nE,F\nDoraemon,Kids,extra\nG,H\n');
    await withEngine(project.dir, async (engine) => {
      const summary = await engine.run({ dates: ['2022-06-01'] });
      expect(summary.error).toMatchObject({
        code: 'SOURCE_UNREADABLE',
        message:
          `Source "title_catalog": ${catalog} cannot be read as csv: CSV Error on Line: 6: Expected Number of ` +
          'Columns: 2 Found: 3. Fix the file or set sources.title_catalog.format.',
      });
    });
  });

  it('with a quote a row opens and never closes, fails naming that line, not loading the title "Doraemon', async () => {
    // The sniffer read this file with quoting off, and the title came out with its quote: "Doraemon.
    const catalog = join(project.src, 'titles.csv');
    await writeFile(catalog, 'title,genres\nConan,Anime\n"Doraemon,Kids\nNaruto,Anime\n');
    await withEngine(project.dir, async (engine) => {
      const summary = await engine.run({ dates: ['2022-06-01'] });
      expect(summary.error).toMatchObject({
        code: 'SOURCE_UNREADABLE',
        message:
          `Source "title_catalog": ${catalog} cannot be read as csv: CSV Error on Line: 3: Value with ` +
          'unterminated quote found. Fix the file or set sources.title_catalog.format.',
      });
    });
    // Quotes inside a field are the title's own: such a catalog still loads.
    await writeFile(catalog, 'title,genres\nTom "Tiger" Lee,Drama\nConan,Anime\n');
    await withEngine(project.dir, async (engine) => {
      expect((await engine.run({ dates: ['2022-06-01'] })).error).toBeUndefined();
      expect((await engine.query('SELECT title FROM source.title_catalog ORDER BY title')).rows).toEqual([
        { title: 'Conan' },
        { title: 'Tom "Tiger" Lee' },
      ]);
    });
  });

  it('in JSON, an empty array, fails saying it holds no rows rather than naming a json column it lacks', async () => {
    const catalog = join(project.src, 'titles.json');
    await writeFile(catalog, JSON.stringify([{ title: 'Conan', genres: ['Anime'] }]));
    const jsonDir = await exampleProject(project.src, catalog);
    await writeFile(catalog, '[]\n');
    try {
      await withEngine(jsonDir, async (engine) => {
        const summary = await engine.run({ dates: ['2022-06-01'] });
        expect(summary.error).toMatchObject({
          code: 'SOURCE_UNREADABLE',
          message:
            `Source "title_catalog": ${catalog} cannot be read as json: the file is an empty JSON array (no rows, ` +
            'so no columns). Fix the file or set sources.title_catalog.format.',
        });
      });
    } finally {
      await removeDir(jsonDir);
    }
  });

  it.each([
    ['a repeated name', 'title,genres,genres\nBóng Đá Việt Nam,Sports,x\n'],
    ['a blank last name', 'title,genres,\nBóng Đá Việt Nam,Sports,\n'],
  ])('with %s in the header, still loads (DuckDB renames it)', async (_, text) => {
    await writeFile(join(project.src, 'titles.csv'), text);
    await withEngine(project.dir, async (engine) => {
      expect((await engine.run({ dates: ['2022-06-01'] })).error).toBeUndefined();
    });
  });

  it('of 0 bytes, fails saying the file is empty rather than naming a column0 it lacks', async () => {
    await writeFile(join(project.src, 'titles.csv'), '');
    await withEngine(project.dir, async (engine) => {
      const summary = await engine.run({ dates: ['2022-06-01'] });
      expect(summary.error).toMatchObject({
        code: 'SOURCE_UNREADABLE',
        message:
          `Source "title_catalog": ${join(project.src, 'titles.csv')} cannot be read as csv: the file is empty (0 bytes). ` +
          'Fix the file or set sources.title_catalog.format.',
      });
    });
  });
});

describe('a catalog title with stray spaces', () => {
  const project = exampleProjectForSuite((src) =>
    writeDay(src, '20220601', [event({ keyword: 'bong da viet nam' })]),
  );

  it('is the normalized keyword without them', async () => {
    await writeCatalog(join(project.src, 'titles.csv'), [
      { title: '  Bóng Đá Việt Nam ', genres: ['Sports'] },
    ]);
    await withEngine(project.dir, async (engine) => {
      expect((await engine.run({ dates: ['2022-06-01'] })).status).toBe('success');
      const result = await engine.query(
        'SELECT keyword_normalized, keyword_category FROM silver.customer_search',
      );
      expect(result.rows).toEqual([{ keyword_normalized: 'Bóng Đá Việt Nam', keyword_category: 'Sports' }]);
    });
  });
});

describe('a catalog changed after some dates were matched', () => {
  const project = exampleProjectForSuite(async (src) => {
    await writeDay(src, '20220601', [event({ eventID: 'a', keyword: 'bong da viet nam' })]);
    await writeDay(src, '20220602', [event({ eventID: 'b', keyword: 'bong da viet nam' })]);
  });

  it('says which dates outside the run keep the old answers, until they run again', async () => {
    const catalog = join(project.src, 'titles.csv');
    await writeCatalog(catalog, [{ title: 'Bóng Đá Việt Nam', genres: ['Sports'] }]);
    const catalogNotes = (summary: RunSummary) =>
      (summary.models.find((m) => m.model === 'silver.keyword_match')?.warnings ?? []).filter((w) =>
        w.includes('earlier version'),
      );
    await withEngine(project.dir, async (engine) => {
      expect(catalogNotes(await engine.run({}))).toEqual([]);
      await writeCatalog(catalog, [{ title: 'Bóng Đá Việt Nam', genres: ['Live'] }]);
      const one = await engine.run({ dates: ['2022-06-02'] });
      expect(one.status).toBe('success');
      expect(catalogNotes(one)).toEqual([
        '1 date not in this run (2022-06-01) was matched against an earlier version of ' +
          'source.title_catalog: their rows keep its answers; run them again so every date uses this catalog',
      ]);
      const categories = await engine.query(
        'SELECT etl_date::VARCHAR AS d, keyword_category FROM silver.customer_search ORDER BY d',
      );
      expect(categories.rows).toEqual([
        { d: '2022-06-01', keyword_category: 'Sports' },
        { d: '2022-06-02', keyword_category: 'Live' },
      ]);
      // Run again, the date takes the new answers and nothing is left to say.
      expect(catalogNotes(await engine.run({ dates: ['2022-06-01'] }))).toEqual([]);
      expect(catalogNotes(await engine.run({}))).toEqual([]);
    });
  });
});
