import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lakehouseFailure } from '../helpers/errors.ts';
import { PROJECT_ROOT, withEngine } from '../helpers/project.ts';
import { events, exampleProjectForSuite, truncateToHalf, writeDay } from '../helpers/source-files.ts';

/** Eight clean events for each of `dates` (YYYY-MM-DD), a day folder each. */
async function eightEventsADay(src: string, dates: string[]): Promise<void> {
  for (const date of dates) await writeDay(src, date.replaceAll('-', ''), events(8, date));
}

// A range re-processed day by day, with a broken delivery in the middle: what the run's error and its
// history say must match what the lake holds afterwards.
describe('a range whose middle date fails', () => {
  const project = exampleProjectForSuite(async (src) => {
    await eightEventsADay(src, ['2022-06-01', '2022-06-02', '2022-06-03', '2022-06-04']);
    await truncateToHalf(join(src, '20220602', 'part-00000.parquet'));
  });

  it('says which dates it committed and which it never ran', async () => {
    await withEngine(project.dir, async (engine) => {
      const summary = await engine.run({ from: '2022-06-01', to: '2022-06-04' });
      expect(summary.status).toBe('failed');
      expect(summary.error?.code).toBe('SOURCE_UNREADABLE');
      expect(summary.error?.message).toMatch(
        / Of this run's dates, 2022-06-01 had been committed and stay; 2022-06-02 was not, and 2022-06-03 \.\. 2022-06-04 did not run\.$/,
      );
      expect(summary.error?.details).toMatchObject({
        committedDates: ['2022-06-01'],
        notRunDates: ['2022-06-03', '2022-06-04'],
      });
      const kept = await engine.query(
        "SELECT strftime(etl_date, '%Y-%m-%d') AS d, count(*)::INTEGER AS n FROM bronze.customer_search GROUP BY ALL ORDER BY d",
      );
      expect(kept.rows).toEqual([{ d: '2022-06-01', n: 8 }]);
      // The run history keeps the same words.
      const [latest] = await engine.runs(1);
      expect(latest?.error).toBe(summary.error?.message);
    });
  });
});

// Stopped on its first date, a range still says its later dates never ran: "failed (3 dates)" alone read
// as if all three had been tried.
describe('a range whose first date fails', () => {
  const project = exampleProjectForSuite(async (src) => {
    await eightEventsADay(src, ['2022-06-01', '2022-06-02', '2022-06-03']);
    await truncateToHalf(join(src, '20220601', 'part-00000.parquet'));
  });

  it('says the other dates did not run', async () => {
    await withEngine(project.dir, async (engine) => {
      const summary = await engine.run({ from: '2022-06-01', to: '2022-06-03' });
      expect(summary.status).toBe('failed');
      expect(summary.error?.message).toMatch(
        / Of this run's dates, 2022-06-01 was not committed and 2022-06-02 \.\. 2022-06-03 did not run\.$/,
      );
      expect(summary.error?.details).toMatchObject({
        committedDates: [],
        notRunDates: ['2022-06-02', '2022-06-03'],
      });
    });
  });
});

// A range over a day nobody delivered (a gap, or a day folder deleted after it was loaded) used to
// commit the days before it and then fail, leaving history models to replay later.
describe('a range over a day no source delivered', () => {
  const project = exampleProjectForSuite((src) =>
    eightEventsADay(src, ['2022-06-01', '2022-06-02', '2022-06-04']),
  );

  it('is refused before anything runs, naming the day and the run of the others', async () => {
    await withEngine(project.dir, async (engine) => {
      const failure = await lakehouseFailure(engine.run({ from: '2022-06-01', to: '2022-06-04' }));
      expect(failure.code).toBe('SOURCE_MISSING');
      expect(failure.message).toBe(
        'This run\'s dates include a day no source delivered: 2022-06-03 (source "customer_search_log" has no ' +
          `Parquet file in ${project.src}/20220603). Nothing was run. Run the others (2022-06-01, 2022-06-02, 2022-06-04), ` +
          "or add the missing days' files and run again.",
      );
      expect(failure.details).toMatchObject({
        etlDate: '2022-06-03',
        undeliveredDates: ['2022-06-03'],
        suggestedRun: { dates: ['2022-06-01', '2022-06-02', '2022-06-04'] },
      });
      expect(await engine.runs(1)).toEqual([]);
      // The run it suggests goes through.
      expect((await engine.run({ dates: ['2022-06-01', '2022-06-02', '2022-06-04'] })).status).toBe(
        'success',
      );
    });
  });

  it('prints the run of the others on the command line', () => {
    const ran = spawnSync(
      process.execPath,
      ['bin/lakehouse.js', 'run', project.dir, '--from', '2022-06-01', '--to', '2022-06-04'],
      { cwd: PROJECT_ROOT, encoding: 'utf8' },
    );
    expect(ran.status).toBe(1);
    expect(ran.stderr).toMatch(
      /^error \[SOURCE_MISSING\]: This run's dates include a day no source delivered: 2022-06-03 /,
    );
    expect(ran.stderr).toContain(
      `\n  to run it: lakehouse run ${project.dir} --date 2022-06-01 --date 2022-06-02 --date 2022-06-04\n`,
    );
  });
});

// A run without dates takes the days delivered now: a day folder deleted after its date was committed
// is left out, its partitions kept (history still reads them). That was correct but said nothing.
describe('a run without dates after a day folder was deleted', () => {
  const project = exampleProjectForSuite((src) =>
    eightEventsADay(src, ['2022-06-01', '2022-06-02', '2022-06-03']),
  );

  it('names the day whose delivery is gone and says its committed partitions are kept', async () => {
    await withEngine(project.dir, async (engine) => {
      expect((await engine.run({})).status).toBe('success');
      await rm(join(project.src, '20220601'), { recursive: true });
      const summary = await engine.run({});
      expect(summary.status).toBe('success');
      expect(summary.dates).toEqual(['2022-06-02', '2022-06-03']);
      const notes = summary.models.filter((m) => m.warnings.some((w) => w.includes('is gone')));
      expect(notes.map((m) => [m.model, m.etlDate, m.warnings.filter((w) => w.includes('is gone'))])).toEqual(
        [
          [
            'bronze.customer_search',
            '2022-06-02',
            [
              'the delivery of 2022-06-01 is gone (no day folder in customer_search_log): not run again; ' +
                'the partitions committed for it are kept and still used',
            ],
          ],
        ],
      );
      const kept = await engine.query(
        "SELECT count(*)::INTEGER AS n FROM bronze.customer_search WHERE etl_date = '2022-06-01'",
      );
      expect(kept.rows).toEqual([{ n: 8 }]);
      // Dates given explicitly are what the user asked for: no note.
      const given = await engine.run({ dates: ['2022-06-03'] });
      expect(given.models.some((m) => m.warnings.some((w) => w.includes('is gone')))).toBe(false);
    });
  });
});
