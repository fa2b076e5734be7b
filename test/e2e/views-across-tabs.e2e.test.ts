import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, type OpenApp, openApp } from '../helpers/browser.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// Views an analyst leaves for another tab and comes back to, in Chromium over HTTP: the table explorer
// keeps its table, order, filters and profile (it showed "Pick a table"); the Sources form what was typed
// and the sources saved there; the publish view what it published, to which target (it went back to the
// default folder and an empty panel).
describe.skipIf(!hasChromium)('views across tabs', () => {
  let work: string;
  let app: OpenApp;
  let page: Page;

  beforeAll(async () => {
    work = await tempDir('lakehouse-publish-tabs-');
    const { dir } = await generatedProject(work, 1, 200);
    app = await openApp({
      projectDir: dir,
      prepare: async (engine) => {
        expect((await engine.run({})).status).toBe('success');
      },
    });
    ({ page } = app);
  });

  afterAll(async () => {
    await app?.close();
    if (work) await removeDir(work);
  });

  it('keeps the table open in the explorer with its order, filters and profiled column', async () => {
    await page.getByTestId('tab-tables').click();
    await page.getByTestId('table-item-gold.fact_customer_search').click();
    await expect.poll(() => page.getByTestId('grid-row').count()).toBeGreaterThan(0);
    await page.getByTestId('sort-datetime_log').click();
    await page.getByTestId('filter-column').selectOption('user_id');
    await page.getByTestId('filter-op').selectOption('not_null');
    await page.getByTestId('filter-add').click();
    await expect.poll(() => page.getByTestId('filter-chip').count()).toBe(1);
    await page.getByTestId('profile-platform_key').click();
    await expect.poll(() => page.getByTestId('profile-type').textContent()).toBe('BIGINT');
    // "N rows of M", without the first window's milliseconds.
    const rows = async () => (await page.getByTestId('explorer-count').textContent())?.split(' · ')[0];
    await expect.poll(rows).toMatch(/ of /);
    const count = await rows();

    await page.getByTestId('tab-schema').click();
    await expect.poll(() => page.getByTestId('star-diagram').isVisible()).toBe(true);
    await page.getByTestId('tab-tables').click();

    await expect.poll(rows).toBe(count);
    expect(await page.getByTestId('filter-chip').textContent()).toContain('user_id is not null');
    expect(await page.getByTestId('table-grid').locator('[aria-sort="ascending"]').textContent()).toContain(
      'datetime_log',
    );
    await expect.poll(() => page.getByTestId('profile-type').textContent()).toBe('BIGINT');
    expect(await page.getByTestId('profile-panel').textContent()).toContain('platform_key');
  });

  it('keeps what was typed in the Sources form, and lists a source saved there', async () => {
    await page.getByTestId('tab-sources').click();
    await page.getByTestId('new-source-name').fill('catalog_copy');
    await page.getByTestId('new-source-kind').selectOption('file');
    await page.getByTestId('new-source-location').fill(join(work, 'project', 'reference', 'titles.csv'));
    await page.getByTestId('source-save').click();
    await expect.poll(() => page.getByTestId('source-save-result').textContent()).toContain('Added');
    await page.getByTestId('source-form-new').click();
    await page.getByTestId('new-source-name').fill('half_typed');
    await page.getByTestId('new-source-location').fill('/data/typed/by/hand');

    await page.getByTestId('tab-tables').click();
    await expect.poll(() => page.getByTestId('table-list').isVisible()).toBe(true);
    await page.getByTestId('tab-sources').click();

    await expect.poll(() => page.getByTestId('source-catalog_copy').isVisible()).toBe(true);
    expect(await page.getByTestId('new-source-name').inputValue()).toBe('half_typed');
    expect(await page.getByTestId('new-source-location').inputValue()).toBe('/data/typed/by/hand');
  });

  it('keeps the target typed and the outcome of its publish when another tab was opened meanwhile', async () => {
    const warehouse = join(work, 'my-warehouse');
    await page.getByTestId('tab-publish').click();
    await page.getByTestId('publish-target').fill(warehouse);
    await page.getByTestId('publish-run').click();
    await expect.poll(() => page.getByTestId('publish-result').isVisible()).toBe(true);

    await page.getByTestId('tab-tables').click();
    await expect.poll(() => page.getByTestId('table-list').isVisible()).toBe(true);
    expect(await page.getByTestId('publish-view').isVisible()).toBe(false);
    await page.getByTestId('tab-publish').click();

    expect(await page.getByTestId('publish-target').inputValue()).toBe(warehouse);
    expect(await page.getByTestId('publish-result').textContent()).toContain('fact_customer_search');
    // The history of what was just published, in the target it went to.
    await page.getByTestId('history-load').click();
    await expect.poll(() => page.getByTestId('history-snapshots').isVisible()).toBe(true);
  });
});
