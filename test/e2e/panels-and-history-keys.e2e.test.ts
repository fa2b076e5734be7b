import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, type OpenApp, openApp, SCREENSHOTS } from '../helpers/browser.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// In Chromium over HTTP: the pipeline's model details close with a button and Escape (they closed only
// by a second click on the card); the Schema view keeps the relationship clicked, and the History view
// the member opened, across tabs (both went back to their start); a member keyed with spaces around it
// opens (the key was trimmed to another), and a single key's box says how its NULL member is written.
describe.skipIf(!hasChromium)('model details, schema and history across tabs, history keys', () => {
  let work: string;
  let app: OpenApp;
  let page: Page;

  beforeAll(async () => {
    work = await tempDir('lakehouse-panels-');
    const { dir } = await generatedProject(work, 1, 200);
    // A dimension keyed on one column holding ' b' (spaces kept) and NULL.
    await writeFile(
      join(dir, 'models', 'gold', 'dim_letter.sql'),
      "/* config\nmaterialized: scd1\nunique_key: k\n*/\nSELECT k, 'v' AS v FROM (VALUES ('a'), (' b'), (NULL)) t(k)\n",
    );
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

  it("closes a model's details with Escape and with their close button", async () => {
    const card = page.getByTestId('model-card-gold.dim_user');
    await card.click();
    await expect.poll(() => page.getByTestId('model-details').isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('model-details').count()).toBe(0);
    // The focus goes back to the card the details were opened from.
    expect(await card.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await card.getAttribute('aria-expanded')).toBe('false');

    await card.click();
    await page.getByRole('button', { name: 'Close the details of gold.dim_user' }).click();
    await expect.poll(() => page.getByTestId('model-details').count()).toBe(0);
  });

  it('keeps the relationship clicked in Schema, and the member opened in History, across tabs', async () => {
    await page.getByTestId('tab-schema').click();
    await page.getByTestId('star-edge-gold.fact_customer_search.platform_key').click();
    await page.getByTestId('orphan-kind').selectOption('unknown');
    await expect.poll(() => page.getByTestId('orphans-total').isVisible()).toBe(true);

    await page.getByTestId('tab-history').click();
    await page.getByTestId('history-model').selectOption('gold.dim_letter');
    // A single key's NULL member is written \N, as a composite key's NULL parts are.
    await expect.poll(() => page.getByTestId('history-key').getAttribute('title')).toContain('written \\N');
    await page.getByTestId('history-key').fill(' b');
    await page.getByTestId('history-search').click();
    await expect.poll(() => page.getByTestId('version-row').textContent()).toBe(' bv');
    await page.screenshot({ path: join(SCREENSHOTS, 'history-key-with-spaces.png') });

    await page.getByTestId('tab-schema').click();
    await expect
      .poll(() => page.getByTestId('orphans-panel').textContent())
      .toContain('gold.fact_customer_search.platform_key');
    expect(await page.getByTestId('orphan-kind').inputValue()).toBe('unknown');
    await expect.poll(() => page.getByTestId('orphans-total').isVisible()).toBe(true);

    await page.getByTestId('tab-history').click();
    expect(await page.getByTestId('history-model').inputValue()).toBe('gold.dim_letter');
    expect(await page.getByTestId('history-key').inputValue()).toBe(' b');
    await expect.poll(() => page.getByTestId('version-row').textContent()).toBe(' bv');
  });
});
