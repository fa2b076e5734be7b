import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, type OpenApp, openApp } from '../helpers/browser.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// The publish view as an analyst leaves it for another tab and comes back, in Chromium over HTTP: what it
// published, to which target, is still there (it went back to the default folder and an empty panel).
describe.skipIf(!hasChromium)('the publish view across tabs', () => {
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
