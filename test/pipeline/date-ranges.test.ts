import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir, withEngine } from '../helpers/project.ts';
import { events, exampleProjectOnDays, truncateToHalf, writeDay } from '../helpers/source-files.ts';

// A range re-processed day by day, with a broken delivery in the middle: what the run's error and its
// history say must match what the lake holds afterwards.
describe('a range whose middle date fails', () => {
  let src: string;
  let dir: string;
  beforeAll(async () => {
    src = await tempDir('lakehouse-src-');
    for (const date of ['2022-06-01', '2022-06-02', '2022-06-03', '2022-06-04'])
      await writeDay(src, date.replaceAll('-', ''), events(8, date));
    await truncateToHalf(join(src, '20220602', 'part-00000.parquet'));
    dir = await exampleProjectOnDays(src);
  });
  afterAll(async () => {
    await removeDir(dir);
    await removeDir(src);
  });

  it('says which dates it committed and which it never ran', async () => {
    await withEngine(dir, async (engine) => {
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
