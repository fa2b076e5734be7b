import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../engine/engine.ts';
import { hasChromium, type OpenApp, openApp, SCREENSHOTS } from '../helpers/browser.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// In Chromium over HTTP: the table explorer exports what it shows, every row of the filtered, sorted
// table (not only the window on screen), as CSV or Parquet; export was only in the SQL console.
describe.skipIf(!hasChromium)('export from the table explorer', () => {
  let work: string;
  let app: OpenApp;
  let page: Page;
  let engine: Engine;

  beforeAll(async () => {
    work = await tempDir('lakehouse-tables-export-');
    const { dir } = await generatedProject(work, 1, 600);
    app = await openApp({
      projectDir: dir,
      prepare: async (e) => {
        expect((await e.run({})).status).toBe('success');
      },
    });
    ({ page, engine } = app);
  });

  afterAll(async () => {
    await app?.close();
    if (work) await removeDir(work);
  });

  it('exports the filtered table in its order, all of it, as CSV and Parquet', async () => {
    await page.getByTestId('tab-tables').click();
    await page.getByTestId('table-item-gold.fact_customer_search').click();
    await page.getByTestId('sort-datetime_log').click();
    await page.getByTestId('sort-datetime_log').click();
    await page.getByTestId('filter-column').selectOption('keyword');
    await page.getByTestId('filter-value').fill('a');
    await page.getByTestId('filter-add').click();
    await expect.poll(() => page.getByTestId('explorer-count').textContent()).toMatch(/ of /);
    await expect
      .poll(() => page.getByTestId('table-grid').locator('[aria-sort="descending"]').count())
      .toBe(1);

    // The rows the grid shows, read apart from the app: more than its first window of 200.
    const expected = (
      await engine.query(
        `SELECT event_id FROM gold.fact_customer_search WHERE contains(lower(keyword), 'a')
         ORDER BY datetime_log DESC NULLS LAST, rowid`,
      )
    ).rows.map((r) => r.event_id);
    expect(expected.length).toBeGreaterThan(200);
    expect(await page.getByTestId('explorer-count').textContent()).toContain(
      `${expected.length.toLocaleString('en-US')} rows of`,
    );

    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('table-export-csv').click(),
    ]);
    expect(csv.suggestedFilename()).toMatch(/^gold\.fact_customer_search-.*\.csv$/);
    const csvPath = join(work, 'shown.csv');
    await csv.saveAs(csvPath);
    const fromCsv = await engine.query(`SELECT event_id FROM read_csv('${csvPath}', header = true)`);
    expect(fromCsv.rows.map((r) => r.event_id)).toEqual(expected);
    await expect
      .poll(() => page.getByTestId('table-export-status').textContent())
      .toContain(`Exported ${expected.length.toLocaleString('en-US')} rows`);
    await page.screenshot({ path: join(SCREENSHOTS, 'tables-export.png') });

    const [parquet] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('table-export-parquet').click(),
    ]);
    const parquetPath = join(work, 'shown.parquet');
    await parquet.saveAs(parquetPath);
    const fromParquet = await engine.query(`SELECT * FROM read_parquet('${parquetPath}')`);
    expect(fromParquet.rows.map((r) => r.event_id)).toEqual(expected);
    // Every column of the table, typed as it is.
    const table = await engine.query('SELECT * FROM gold.fact_customer_search LIMIT 0');
    expect(fromParquet.columns).toEqual(table.columns);
  });
});
