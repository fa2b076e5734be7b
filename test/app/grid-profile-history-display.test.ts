import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, type OpenApp, openApp } from '../helpers/browser.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// How the grid, the column profile and the history timeline show values at their edges, in Chromium over
// HTTP at 1280x800: numbers at their type's widest, an empty string beside NULL, versions across years.
const VALUES = 'gold.display_values';
const MANY_YEARS_KEY = 'user-over-a-year';

describe.skipIf(!hasChromium)('values at their edges in the grid, profile and history', () => {
  let work: string;
  let app: OpenApp;
  let page: Page;

  beforeAll(async () => {
    work = await tempDir('lakehouse-display-');
    const { dir } = await generatedProject(work, 2, 200);
    app = await openApp({
      projectDir: dir,
      prepare: async (engine) => {
        expect((await engine.run({})).status).toBe('success');
        await engine.db.run(
          `CREATE TABLE ${VALUES} AS SELECT * FROM (VALUES (NULL), (''), ('x'), ('x')) AS t(s)`,
        );
        // One user's plan set changing every 30 days from May 2021 to the generated days of June 2022.
        await engine.db.run(
          `INSERT INTO gold.dim_user_history
           SELECT 900000 + i, '${MANY_YEARS_KEY}', 'plan ' || i, 1,
             DATE '2021-05-01' + (30 * i)::INTEGER,
             CASE WHEN i < 13 THEN DATE '2021-05-01' + (30 * (i + 1))::INTEGER END, i = 13, md5(i::VARCHAR)
           FROM range(14) AS t(i)`,
        );
      },
    });
    ({ page } = app);
  });

  afterAll(async () => {
    await app?.close();
    if (work) await removeDir(work);
  });

  it("shows each number type's widest value whole, without an ellipsis", async () => {
    await page.getByTestId('tab-query').click();
    await page.getByTestId('query-input').fill(
      `SELECT 18446744073709551615::UBIGINT AS u64,
         -170141183460469231731687303715884105727::HUGEINT - 1 AS i128,
         340282366920938463463374607431768211455::UHUGEINT AS u128,
         -99999999999999999999999999999.999999999::DECIMAL(38,9) AS d38,
         -9223372036854775807::BIGINT - 1 AS i64`,
    );
    await page.getByTestId('query-run').click();
    const cells = page.getByTestId('query-grid').locator('[data-testid="grid-row"] td');
    await expect.poll(() => cells.count()).toBe(5);
    const clipped = await cells.evaluateAll((tds) =>
      tds.filter((td) => td.scrollWidth > td.clientWidth).map((td) => td.textContent),
    );
    expect(clipped).toEqual([]);
  });

  it('says an empty string in the profile, where it showed as nothing beside NULL', async () => {
    await page.getByTestId('tab-tables').click();
    await page.getByTestId(`table-item-${VALUES}`).click();
    await page.getByTestId('profile-s').click();
    const bars = page.getByTestId('profile-bars').locator('li');
    await expect.poll(() => bars.count()).toBe(3);
    expect(await bars.evaluateAll((items) => items.map((li) => li.getAttribute('aria-label')))).toEqual([
      'x: 2',
      'NULL: 1',
      '(empty string): 1',
    ]);
    expect(await page.getByTestId('profile-min').textContent()).toBe('(empty string)');
    expect(await page.getByTestId('profile-max').textContent()).toBe('x');
  });

  it('labels the timeline with years when its versions span more than one', async () => {
    await page.getByTestId('tab-history').click();
    await page.getByTestId('history-model').selectOption('gold.dim_user_history');
    await page.getByTestId('history-key').fill(MANY_YEARS_KEY);
    await page.getByTestId('history-search').click();
    const ticks = page.getByTestId('history-timeline').locator('.tick');
    await expect.poll(() => ticks.count()).toBeGreaterThan(2);
    const labels = await ticks.allTextContents();
    expect(labels[0]).toBe('2021-05-01');
    for (const label of labels) expect(label).toMatch(/^20(21|22)-\d{2}-\d{2}$/);
  });

  it("offers no Run for an empty console, whose refusal read as the engine's method and field", async () => {
    await page.getByTestId('tab-query').click();
    await page.getByTestId('query-input').fill('  \n ');
    expect(await page.getByTestId('query-run').isDisabled()).toBe(true);
    await page.getByTestId('query-input').fill('SELECT 1');
    expect(await page.getByTestId('query-run').isDisabled()).toBe(false);
  });
});
