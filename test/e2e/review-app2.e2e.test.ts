import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, type OpenApp, openApp, retypeEditorLine } from '../helpers/browser.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// A model file whose header was broken in another editor while the app is open, in Debian's Chromium.
describe.skipIf(!hasChromium)('app: a model file that does not load (review)', () => {
  let work: string;
  let dir: string;
  let app: OpenApp;
  let page: Page;

  beforeAll(async () => {
    work = await tempDir('lakehouse-review-app2-e2e-');
    ({ dir } = await generatedProject(work, 1, 200));
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

  const editorText = async () => (await page.locator('.cm-content').textContent()) ?? '';

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
