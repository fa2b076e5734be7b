import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, newAppPage, type OpenApp, openApp, retypeEditorLine } from '../helpers/browser.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// The app in Debian's Chromium on a small generated project, when something changes outside its window: a
// model file edited (or its header broken) in another editor, a run started from another window, a model
// added that no run built yet, the server stopping.
describe.skipIf(!hasChromium)('the app when files, runs or its server change outside it', () => {
  let work: string;
  let dir: string;
  let dates: string[];
  let app: OpenApp;
  let page: Page;

  beforeAll(async () => {
    work = await tempDir('lakehouse-outside-changes-e2e-');
    ({ dir, dates } = await generatedProject(work, 2, 300));
    app = await openApp({
      projectDir: dir,
      prepare: async (engine) => {
        expect((await engine.run({})).status).toBe('success');
        // Added after the run: it works until cancelled on the first date (a run to watch from the app).
        await writeFile(
          join(dir, 'models', 'gold', 'seeded_slow.sql'),
          `/* config\nmaterialized: table\n*/\nSELECT sum(i) AS total FROM range(1000000000000) t(i) WHERE getvariable('etl_date') = DATE '${dates[0]}'\n`,
        );
        // A fact no run has built yet: its edge is drawn, and listing its orphans is refused.
        await writeFile(
          join(dir, 'models', 'gold', 'fact_unbuilt.sql'),
          '/* config\nmaterialized: table\nrole: fact\ntests:\n  - relationships: {column: platform_key, to: gold.dim_platform, field: platform_key}\n*/\nSELECT 1 AS platform_key\n',
        );
      },
    });
    ({ page } = app);
  });
  afterAll(async () => {
    await app?.close();
    if (work) await removeDir(work);
  });

  const editorText = async () => (await page.locator('.cm-content').textContent()) ?? '';

  // A model file whose header was broken in another editor while the app is open. First: the next test
  // leaves an unsaved edit in gold.dim_network, which a reload from disk keeps.
  describe('a model file that does not load', () => {
    it('lists it with its error in the pipeline and the editor, which opens, fixes, saves and runs it', async () => {
      const file = join(dir, 'models', 'gold', 'dim_network.sql');
      const good = await readFile(file, 'utf8');
      await page.getByTestId('tab-editor').click();
      await page.getByTestId('editor-model').selectOption('gold.dim_network');
      await page.locator('.cm-line', { hasText: 'materialized: scd1' }).waitFor();

      await writeFile(file, good.replace('materialized: scd1', 'materialized: scd9'));
      await page.evaluate(() => window.dispatchEvent(new Event('focus')));
      // The list showed another model while the text and the Save & run button were still this one's.
      await expect.poll(editorText).toContain('materialized: scd9');
      await page.getByTestId('editor-broken').waitFor();
      expect(await page.getByTestId('editor-model').inputValue()).toBe('gold.dim_network');
      expect(await page.getByTestId('editor-apply').textContent()).toBe('Save & run gold.dim_network+');
      const banner = (await page.getByTestId('editor-broken').textContent()) ?? '';
      expect(banner).toContain('models/gold/dim_network.sql:2');
      expect(banner).toContain('"scd9" is not valid (did you mean "scd1"?)');

      // The pipeline view says it too, where the graph leaves it out, and opens it in the editor.
      await page.getByTestId('tab-pipeline').click();
      const listed = page.getByTestId('pipeline-broken-model');
      await listed.waitFor();
      expect(await listed.textContent()).toContain('gold.dim_network');
      await listed.getByRole('button', { name: 'Open in the editor' }).click();
      await page.getByTestId('editor-broken').waitFor();
      expect(await page.getByTestId('editor-model').inputValue()).toBe('gold.dim_network');
      await expect.poll(editorText).toContain('materialized: scd9');

      await retypeEditorLine(page, /materialized: scd9/, 'materialized: scd1');
      await page.getByTestId('editor-apply').click();
      // Runs with its downstream, then the app reads the project again: the file loads, the banner goes.
      await page.getByTestId('editor-broken').waitFor({ state: 'detached', timeout: 60_000 });
      await expect
        .poll(() => page.getByTestId('editor-state').textContent(), { timeout: 60_000 })
        .toBe('saved');
      expect(await readFile(file, 'utf8')).toBe(good);
      await page.getByTestId('tab-pipeline').click();
      await page.getByTestId('model-card-gold.dim_network').waitFor();
      expect(await page.getByTestId('pipeline-broken-models').count()).toBe(0);
    });
  });

  it('shows a model file edited in another editor once the window regains focus, keeping an unsaved edit', async () => {
    const file = join(dir, 'models', 'gold', 'dim_network.sql');
    const before = await readFile(file, 'utf8');
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption('gold.dim_network');
    // A line of this model alone: the fact model, shown first, has proxy_isp lines too.
    await page.locator('.cm-line', { hasText: 'AND NOT (proxy_isp IS NULL' }).waitFor();
    await writeFile(
      file,
      before.replace('FROM silver.customer_search', '-- edited elsewhere\nFROM silver.customer_search'),
    );
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    // It showed the text as first loaded, so a Preview ran SQL the file no longer held.
    await expect.poll(editorText).toContain('-- edited elsewhere');
    expect(await page.getByTestId('editor-state').textContent()).toBe('saved');

    // An edit not saved yet stays as typed: saving it is refused, naming the change.
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n-- mine');
    await writeFile(file, before);
    const reloaded = page.waitForResponse((r) => r.url().endsWith('/rpc/project.info'));
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await reloaded;
    expect(await editorText()).toContain('-- mine');
    expect(await editorText()).toContain('-- edited elsewhere');
  });

  it('shows in the toolbar the date and models of a run another window started, not those picked here', async () => {
    await page.getByTestId('tab-pipeline').click();
    await page.getByTestId('date-select').selectOption(dates[1]!);
    await page.getByTestId('selection-input').fill('gold.dim_date');
    const { runId } = (await app.dispatcher.call('pipeline.run', {
      dates: [dates[0]!],
      select: ['gold.seeded_slow'],
    })) as { runId: string };
    const status = () => page.getByTestId('run-status').getAttribute('data-status');
    await expect.poll(status).toBe('running');
    // It said "running" beside the date and models picked here, which were not what ran.
    await expect.poll(() => page.getByTestId('date-select').inputValue()).toBe(dates[0]);
    expect(await page.getByTestId('selection-input').inputValue()).toBe('gold.seeded_slow');
    await app.dispatcher.call('pipeline.cancel', { runId });
    await expect.poll(status, { timeout: 30_000 }).toBe('cancelled');
  });

  it('says in the orphans panel why an edge cannot be listed, and forgets it for the next edge', async () => {
    await page.getByTestId('tab-schema').click();
    await page.getByTestId('star-edge-gold.fact_unbuilt.platform_key').click();
    // The refusal went to the top of the view, scrolled out of sight, and stayed there for every edge after.
    const error = page.getByTestId('orphans-error');
    await expect.poll(() => error.textContent()).toContain('gold.fact_unbuilt is not built yet');
    await page.locator('[data-testid^="star-edge-gold.fact_customer_search."]').first().click();
    await page.getByTestId('orphans-total').waitFor();
    expect(await error.count()).toBe(0);
    expect(await page.getByTestId('star-error').count()).toBe(0);
  });

  // Last: it stops the server.
  it('says why a view cannot open when the server stopped, instead of blanking the whole app', async () => {
    const fresh = await newAppPage(app.browser);
    await fresh.goto(app.server.url);
    await fresh.waitForFunction(
      () => document.querySelector('[data-testid="project-name"]')?.textContent !== '…',
    );
    await app.server.close();
    // The editor's code loads on first use: fetching it failed, and React unmounted everything.
    await fresh.getByTestId('tab-editor').click();
    const error = fresh.getByTestId('view-error');
    await expect.poll(() => error.textContent()).toContain("This view's code could not be loaded");
    expect(await fresh.getByTestId('project-name').textContent()).not.toBe('');
    await fresh.getByTestId('tab-tables').click();
    await expect.poll(() => fresh.getByTestId('tables-error').textContent()).toContain('SERVER_UNREACHABLE');
    await fresh.close();
  });
});
