import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hasChromium,
  type OpenApp,
  openApp,
  retypeEditorLine,
  SCREENSHOTS,
  scrollConsoleToEnd,
} from '../helpers/browser.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// The model editor keeps what the user typed (across tabs, models and a failed run) and the SQL console
// can be cancelled, in Chromium over HTTP on a generated project of two days run once up front.
const FACT = 'gold.fact_customer_search';
const PLATFORM = 'gold.dim_platform';
const SLOW =
  'SELECT count(*) AS n FROM range(100000) a CROSS JOIN range(100000) b WHERE a.range + b.range < 0';

/** The relative luminance (0 black to 1 white) of a computed `rgb(…)` colour, to tell a dark surface. */
function luminanceOf(colour: string): number {
  const [r, g, b] = (colour.match(/[\d.]+/g) ?? []).map(Number);
  return (0.2126 * r! + 0.7152 * g! + 0.0722 * b!) / 255;
}

describe.skipIf(!hasChromium)('model editor drafts and console cancel end to end', () => {
  let work: string;
  let projectDir: string;
  let app: OpenApp;
  let page: Page;

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    work = await tempDir('lakehouse-e2e-editor-console-');
    ({ dir: projectDir } = await generatedProject(work, 2, 200));
    app = await openApp({
      projectDir,
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
  /** A model's file as the editor's text reads when it holds the file: its lines run together. */
  const fileText = async (model: string) => {
    const [layer, name] = model.split('.');
    return (await readFile(join(projectDir, 'models', layer!, `${name}.sql`), 'utf8')).replace(/\n/g, '');
  };
  const unloadPrevented = () =>
    page.evaluate(() => {
      const event = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(event);
      return event.defaultPrevented;
    });

  it("gives each model its own undo history: undo never brings another model's text", async () => {
    const state = page.getByTestId('editor-state');
    await page.getByTestId('tab-editor').click();
    await expect.poll(editorText).toBe(await fileText(FACT));
    // The first model loaded is not an edit of the empty editor either.
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+z');
    expect(await editorText()).toBe(await fileText(FACT));

    await page.getByTestId('editor-model').selectOption(PLATFORM);
    await expect.poll(editorText).toBe(await fileText(PLATFORM));
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+z');
    expect(await editorText()).toBe(await fileText(PLATFORM));
    expect(await state.textContent()).toBe('saved');
    await page.getByTestId('editor-model').selectOption(FACT);
    await expect.poll(editorText).toBe(await fileText(FACT));
  });

  it('keeps the date picked for previews and runs when its tab is left and comes back', async () => {
    await page.getByTestId('tab-editor').click();
    const date = page.getByTestId('editor-date');
    await date.waitFor();
    const options = await date
      .locator('option')
      .evaluateAll((all) => all.map((o) => (o as HTMLOptionElement).value));
    expect(options.length).toBeGreaterThan(1);
    const picked = options[0]!;
    expect(await date.inputValue()).toBe(options.at(-1));
    await date.selectOption(picked);
    await page.getByTestId('tab-tables').click();
    await page.getByTestId('tab-editor').click();
    await expect.poll(() => page.getByTestId('editor-date').inputValue()).toBe(picked);
    await page.getByTestId('editor-date').selectOption(options.at(-1)!);
  });

  it('colours the SQL for the theme shown: every token reads at 4.5:1 or more, the active line too', async () => {
    await page.getByTestId('tab-editor').click();
    await expect.poll(editorText).toBe(await fileText(FACT));
    // The cursor on the header comment's first line, so the active line's background is measured too.
    await page
      .locator('.cm-line')
      .first()
      .click({ position: { x: 40, y: 5 } });
    /** The lowest contrast of a token on its line (or the editor, where the line has no background). */
    const lowestContrast = () =>
      page.getByTestId('sql-editor').evaluate((host) => {
        const rgb = (colour: string) => (colour.match(/[\d.]+/g) ?? []).map(Number);
        const luminance = (colour: string) => {
          const [r, g, b] = rgb(colour).map((channel) => {
            const c = channel / 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
          });
          return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
        };
        const background = (element: Element | null): string => {
          for (let at = element; at; at = at.parentElement) {
            const colour = getComputedStyle(at).backgroundColor;
            if ((rgb(colour)[3] ?? 1) > 0) return colour;
          }
          return 'rgb(255, 255, 255)';
        };
        const spans = [...host.querySelectorAll('.cm-line span')];
        const ratios = spans.map((span) => {
          const [a, b] = [luminance(getComputedStyle(span).color), luminance(background(span))];
          return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        });
        const activeLine = host.querySelector('.cm-activeLine');
        return {
          tokens: spans.length,
          lowest: Math.min(...ratios),
          activeLineHasToken: !!activeLine?.querySelector('span'),
          activeLineBackground: activeLine ? getComputedStyle(activeLine).backgroundColor : '',
          panel: background(host.querySelector('.cm-content')),
        };
      });
    const light = await lowestContrast();
    expect(light.tokens).toBeGreaterThan(20);
    expect(light.activeLineHasToken).toBe(true);
    expect(light.lowest).toBeGreaterThanOrEqual(4.5);

    await page.getByTestId('theme-toggle').click();
    try {
      const dark = await lowestContrast();
      // The editor itself turned dark with the app, its active line too.
      expect(luminanceOf(dark.panel)).toBeLessThan(0.25);
      expect(luminanceOf(dark.activeLineBackground)).toBeLessThan(0.25);
      expect(dark.activeLineHasToken).toBe(true);
      expect(dark.lowest).toBeGreaterThanOrEqual(4.5);
      await page.screenshot({ path: join(SCREENSHOTS, 'editor-dark.png') });
    } finally {
      await page.getByTestId('theme-toggle').click();
    }
  });

  it('shows each problem of a refused header on a line of its own', async () => {
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption(FACT);
    await expect.poll(editorText).toBe(await fileText(FACT));
    await retypeEditorLine(page, /^unique_key: event_id$/, 'uniqe_key: event_id');
    await page.getByTestId('editor-preview').click();
    const error = page.getByTestId('editor-error');
    await expect.poll(() => error.textContent()).toContain('append needs unique_key');
    // The editor's text is named for a screen reader; an error is an alert, said without looking for it.
    expect(await page.getByRole('textbox', { name: 'Model SQL' }).count()).toBe(1);
    expect(await page.getByRole('alert').filter({ hasText: 'append needs unique_key' }).count()).toBe(1);
    // biome-ignore lint/performance/useDomNodeTextContent: innerText keeps a line break only where the banner shows one.
    const lines = (await error.innerText()).split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-1)).toMatch(/^\s*line \d+: materialized: append needs unique_key$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-error-lines.png') });
    await page.getByTestId('editor-revert').click();
    await expect.poll(() => page.getByTestId('editor-state').textContent()).toBe('saved');
  });

  it('runs nothing while a newly picked model loads: the editor still holds the last one', async () => {
    const source = '**/rpc/model.source';
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let answered: Promise<void> = Promise.resolve();
    await page.route(source, (route) => {
      answered = held.then(() => route.continue());
      return answered;
    });
    try {
      await page.getByTestId('editor-model').selectOption(PLATFORM);
      for (const id of ['editor-apply', 'editor-preview']) {
        expect(await page.getByTestId(id).isDisabled()).toBe(true);
      }
    } finally {
      release();
      await answered;
      await page.unroute(source);
    }
    await expect.poll(editorText).toBe(await fileText(PLATFORM));
    expect(await page.getByTestId('editor-apply').isEnabled()).toBe(true);
    await page.getByTestId('editor-model').selectOption(FACT);
    await expect.poll(() => page.getByTestId('editor-apply').isEnabled()).toBe(true);
  });

  it('scrolls a long line sideways inside the editor, the line numbers staying in view', async () => {
    const box = page.getByTestId('sql-editor');
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText(`\n-- ${'a long comment '.repeat(30)}`);
    await page.keyboard.press('Home');
    const layout = () =>
      box.evaluate((host) => {
        const scroller = host.querySelector('.cm-scroller') as HTMLElement;
        const editor = host.querySelector('.cm-editor') as HTMLElement;
        const gutters = host.querySelector('.cm-gutters') as HTMLElement;
        const hostBox = host.getBoundingClientRect();
        const editorBox = editor.getBoundingClientRect();
        return {
          scrolls: scroller.scrollWidth > scroller.clientWidth,
          fits: editorBox.left >= hostBox.left && editorBox.right <= hostBox.right,
          hostScrolled: host.scrollLeft,
          guttersVisible: gutters.getBoundingClientRect().left >= hostBox.left,
          scrollerScrolled: scroller.scrollLeft,
        };
      });
    expect(await layout()).toMatchObject({
      scrolls: true,
      fits: true,
      hostScrolled: 0,
      guttersVisible: true,
    });
    await page.keyboard.press('End');
    await expect.poll(async () => (await layout()).scrollerScrolled).toBeGreaterThan(0);
    expect(await layout()).toMatchObject({ fits: true, hostScrolled: 0, guttersVisible: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-long-line.png') });
    await page.getByTestId('editor-revert').click();
    await expect.poll(() => page.getByTestId('editor-state').textContent()).toBe('saved');
  });

  it('keeps an unsaved edit across tabs and models, and asks before the page unloads', async () => {
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption(PLATFORM);
    await page.locator('.cm-line', { hasText: 'platform' }).first().waitFor();
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n-- a draft to keep');
    const state = page.getByTestId('editor-state');
    expect(await state.textContent()).toBe('edited');
    expect(await unloadPrevented()).toBe(true);

    await page.getByTestId('tab-tables').click();
    await page.getByTestId('tab-editor').click();
    await expect.poll(editorText).toContain('-- a draft to keep');
    expect(await page.getByTestId('editor-model').inputValue()).toBe(PLATFORM);
    expect(await state.textContent()).toBe('edited');

    // Another model opens as saved; the edited one says so in the list and comes back as left.
    await page.getByTestId('editor-model').selectOption(FACT);
    await expect.poll(editorText).not.toContain('-- a draft to keep');
    await expect.poll(() => state.textContent()).toBe('saved');
    expect(await page.locator(`option[value="${PLATFORM}"]`).textContent()).toContain('(edited, not saved)');
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-draft-kept.png') });
    await page.getByTestId('editor-model').selectOption(PLATFORM);
    await expect.poll(editorText).toContain('-- a draft to keep');
    expect(await state.textContent()).toBe('edited');

    await page.getByTestId('editor-revert').click();
    await expect.poll(() => state.textContent()).toBe('saved');
    expect(await unloadPrevented()).toBe(false);
  });

  it('refuses to save over a model file changed since the edit began; Revert then shows the file as it is', async () => {
    const file = join(projectDir, 'models', 'gold', 'dim_platform.sql');
    const saved = await readFile(file, 'utf8');
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption(PLATFORM);
    await page.locator('.cm-line', { hasText: 'platform' }).first().waitFor();
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n-- my edit');
    // Meanwhile another window (or an editor on disk) saves the model.
    const theirs = `${saved.trimEnd()}\n-- saved elsewhere\n`;
    await writeFile(file, theirs);
    await page.getByTestId('editor-apply').click();
    const error = page.getByTestId('editor-error');
    await expect
      .poll(() => error.textContent())
      .toContain('models/gold/dim_platform.sql changed since this edit began');
    expect(await error.textContent()).toContain(
      'Revert now shows the file as it is; Save & run again saves your edit over it.',
    );
    expect(await readFile(file, 'utf8')).toBe(theirs);
    expect(await editorText()).toContain('-- my edit');
    await page.getByTestId('editor-revert').click();
    await expect.poll(editorText).toContain('-- saved elsewhere');
    // The file keeps the other save (a comment): writing it back here would only be another such change.
    expect(await page.getByTestId('editor-state').textContent()).toBe('saved');
  });

  it('shows the diff of a Save & run that ended while the tab was left', async () => {
    await page.getByTestId('editor-model').selectOption(PLATFORM);
    await retypeEditorLine(page, /^FROM silver\.customer_search$/, 'FROM silver.customer_search AS searches');
    const runEnded = page.waitForResponse((r) => r.url().endsWith('/rpc/model.diff'), { timeout: 60_000 });
    await page.getByTestId('editor-apply').click();
    await page.getByTestId('tab-tables').click();
    await (await runEnded).finished();

    await page.getByTestId('tab-editor').click();
    const panel = page.getByTestId('diff-panel');
    await expect.poll(() => panel.getAttribute('data-status')).toBe('success');
    expect(await page.getByTestId(`diff-${PLATFORM}`).getByTestId('diff-changed').textContent()).toBe(
      '~0 changed',
    );
    expect(await page.getByTestId('editor-state').textContent()).toBe('saved');
    // Each model shows its own last run: none for the fact model, this one's again on coming back.
    await page.getByTestId('editor-model').selectOption(FACT);
    await expect.poll(() => panel.count()).toBe(0);
    await page.getByTestId('editor-model').selectOption(PLATFORM);
    await expect.poll(() => panel.getAttribute('data-status')).toBe('success');
  });

  it('after a save whose run fails, restores the last version that ran, saved and run again', async () => {
    const file = join(projectDir, 'models', 'gold', 'fact_customer_search.sql');
    const good = await readFile(file, 'utf8');
    await page.getByTestId('editor-model').selectOption(FACT);
    await retypeEditorLine(page, /^\s*e\.user_id,$/, 'NULL::VARCHAR AS user_id,');
    await page.getByTestId('editor-apply').click();
    const panel = page.getByTestId('diff-panel');
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 60_000 }).toBe('failed');
    expect(await readFile(file, 'utf8')).toContain('NULL::VARCHAR AS user_id,');
    expect(await page.getByTestId('editor-state').textContent()).toBe('saved · its run failed');

    // The failing count is above the sample shown, and says so.
    const failed = panel.getByTestId('failed-test').filter({ hasText: 'not_null(' }).first();
    const failingRows = failed.getByTestId('failed-test-rows').locator('[data-testid="grid-row"]');
    await expect.poll(() => failingRows.count()).toBeGreaterThan(0);
    const rows = await failingRows.count();
    const count = Number(
      (await failed.textContent())?.match(/([\d,]+) failing rows?/)?.[1]?.replace(/,/g, ''),
    );
    expect(count).toBeGreaterThan(rows);
    expect(await failed.getByTestId('failed-test-sampled').textContent()).toBe(` · first ${rows} shown`);

    const restore = page.getByTestId('editor-restore');
    expect(await restore.isEnabled()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-restore-offered.png') });
    // Kept across a tab switch too, with the run's diff and the tests that failed it.
    await page.getByTestId('tab-pipeline').click();
    await page.getByTestId('tab-editor').click();
    await expect.poll(() => panel.getAttribute('data-status')).toBe('failed');
    expect(await panel.getByTestId('failed-test').filter({ hasText: 'not_null(' }).count()).toBe(1);
    // Restore writes over the file, so it asks first; declined, it writes nothing.
    const asked = page.waitForEvent('dialog', { timeout: 10_000 });
    // The click ends only once the dialog is answered.
    const clicked = restore.click();
    const dialog = await asked;
    expect(dialog.message()).toBe(
      'Save the last version that ran over models/gold/fact_customer_search.sql, and run it with its downstream?',
    );
    await dialog.dismiss();
    await clicked;
    expect(await readFile(file, 'utf8')).toContain('NULL::VARCHAR AS user_id,');
    expect(await restore.isEnabled()).toBe(true);
    page.once('dialog', (dialog) => void dialog.accept());
    await restore.click();
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 60_000 }).toBe('success');
    expect(await readFile(file, 'utf8')).toBe(good);
    await expect.poll(editorText).not.toContain('NULL::VARCHAR AS user_id,');
    expect(await page.getByTestId('editor-state').textContent()).toBe('saved');
    expect(await restore.count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-restored.png') });
  });

  it('forgets a failed run once its file is fixed outside the editor: no stale failure, no Restore over the fix', async () => {
    const file = join(projectDir, 'models', 'gold', 'fact_customer_search.sql');
    const good = await readFile(file, 'utf8');
    const panel = page.getByTestId('diff-panel');
    const restore = page.getByTestId('editor-restore');
    const state = page.getByTestId('editor-state');
    const failASave = async () => {
      // The editor renders only the lines in view: the end of the file brings the SELECT list into it.
      await page.locator('.cm-content').click();
      await page.keyboard.press('Control+End');
      await retypeEditorLine(page, /^\s*e\.user_id,$/, 'NULL::VARCHAR AS user_id,');
      await page.getByTestId('editor-apply').click();
      await expect.poll(() => panel.getAttribute('data-status'), { timeout: 60_000 }).toBe('failed');
      expect(await restore.count()).toBe(1);
    };
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption(FACT);
    await expect.poll(editorText).toBe(await fileText(FACT));
    await failASave();

    // Fixed in another editor, then the tab left and opened again: the editor reloads the file. (Marked at
    // its top: the editor renders only the lines in view.)
    const fixed = good.replace('One row per search event', 'Fixed on disk, one row per search event');
    await writeFile(file, fixed);
    await page.getByTestId('tab-tables').click();
    await page.getByTestId('tab-editor').click();
    await expect.poll(editorText).toContain('Fixed on disk, one row');
    expect(await page.getByTestId('editor-changed-outside').textContent()).toContain(
      'models/gold/fact_customer_search.sql was changed outside the editor since its last Save & run here.',
    );
    expect(await state.textContent()).toBe('saved');
    expect(await restore.count()).toBe(0);
    expect(await panel.count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-fixed-outside.png') });

    // Fixed while the editor stays open: Restore, even confirmed, is refused rather than overwrite the fix.
    await failASave();
    const fixedAgain = good.replace('One row per search event', 'Fixed again, one row per search event');
    await writeFile(file, fixedAgain);
    page.once('dialog', (dialog) => void dialog.accept());
    await restore.click();
    await expect
      .poll(() => page.getByTestId('editor-error').textContent())
      .toContain('models/gold/fact_customer_search.sql changed since this edit began');
    expect(await readFile(file, 'utf8')).toBe(fixedAgain);
    expect(await restore.count()).toBe(0);
    expect(await panel.count()).toBe(0);
    await page.getByTestId('editor-revert').click();
    await expect.poll(editorText).toContain('Fixed again, one row');
    expect(await state.textContent()).toBe('saved');

    await writeFile(file, good);
    await page.getByTestId('tab-tables').click();
    await page.getByTestId('tab-editor').click();
    await expect.poll(editorText).toBe(await fileText(FACT));
  });

  it('still offers the last version that ran after a reload, and says which run failed', async () => {
    const file = join(projectDir, 'models', 'gold', 'fact_customer_search.sql');
    const good = await readFile(file, 'utf8');
    const panel = page.getByTestId('diff-panel');
    const restore = page.getByTestId('editor-restore');
    const state = page.getByTestId('editor-state');
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption(FACT);
    await expect.poll(editorText).toBe(await fileText(FACT));
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await retypeEditorLine(page, /^\s*e\.user_id,$/, 'NULL::VARCHAR AS user_id,');
    await page.getByTestId('editor-apply').click();
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 60_000 }).toBe('failed');
    const failedRun = (await panel.textContent())?.match(/Run (\S+): failed/)?.[1];
    expect(failedRun).toBeTruthy();

    // The page's memory is gone; the engine's run records still say the file failed and what ran before.
    await page.reload();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="project-name"]')?.textContent !== '…',
    );
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption(FACT);
    await expect.poll(() => state.textContent()).toBe('saved · its run failed');
    expect(await restore.isEnabled()).toBe(true);
    const failure = page.getByTestId('editor-last-failure');
    expect(await failure.textContent()).toContain(`The last run of this file (run ${failedRun}) failed`);
    expect(await failure.textContent()).toContain('gold.fact_customer_search failed on');
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-restore-after-reload.png') });

    page.once('dialog', (dialog) => void dialog.accept());
    await restore.click();
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 60_000 }).toBe('success');
    expect(await readFile(file, 'utf8')).toBe(good);
    expect(await state.textContent()).toBe('saved');
    expect(await restore.count()).toBe(0);
    expect(await failure.count()).toBe(0);
  });

  it('names the columns a Save & run added, and shows what the run noted per model', async () => {
    const file = join(projectDir, 'models', 'gold', 'fact_customer_search.sql');
    const good = await readFile(file, 'utf8');
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption(FACT);
    await expect.poll(editorText).toBe(await fileText(FACT));
    // A misspelt alias: the table gains the new column and keeps the old one, NULL on the date run.
    await retypeEditorLine(page, /^\s*e\.action,$/, 'e.action AS actoin,');
    await page.getByTestId('editor-apply').click();
    const panel = page.getByTestId('diff-panel');
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 60_000 }).toBe('success');
    const table = page.getByTestId(`diff-${FACT}`);
    expect(await table.getByTestId('diff-added-columns').textContent()).toBe('Columns added: actoin');
    expect(await table.getByTestId('diff-removed-columns').count()).toBe(0);
    const notes = panel.getByTestId(`run-notes-${FACT}`);
    await expect.poll(() => notes.textContent()).toContain(`added column actoin to ${FACT}`);
    expect(await notes.textContent()).toMatch(/column action .*no longer produced by its model/);
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-added-column.png') });

    await retypeEditorLine(page, /^\s*e\.action AS actoin,$/, 'e.action,');
    await page.getByTestId('editor-apply').click();
    await expect.poll(() => readFile(file, 'utf8')).toBe(good);
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 60_000 }).toBe('success');

    // A column retyped alone changes no value: the diff says the type changed, and counts no row.
    const dateFile = join(projectDir, 'models', 'gold', 'dim_date.sql');
    const dateText = await readFile(dateFile, 'utf8');
    await page.getByTestId('editor-model').selectOption('gold.dim_date');
    await expect.poll(editorText).toBe(await fileText('gold.dim_date'));
    await retypeEditorLine(page, /^\s*year\(d\)::INTEGER AS year,$/, 'year(d)::BIGINT AS year,');
    await page.getByTestId('editor-apply').click();
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 60_000 }).toBe('success');
    const dates = page.getByTestId('diff-gold.dim_date');
    expect(await dates.getByTestId('diff-retyped-columns').textContent()).toBe(
      'Types changed: year INTEGER → BIGINT',
    );
    await retypeEditorLine(page, /^\s*year\(d\)::BIGINT AS year,$/, 'year(d)::INTEGER AS year,');
    await page.getByTestId('editor-apply').click();
    await expect.poll(() => readFile(dateFile, 'utf8')).toBe(dateText);
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 60_000 }).toBe('success');
  });

  it('shows a Save & run the user cancelled as cancelled, not failed, and offers nothing back', async () => {
    const file = join(projectDir, 'models', 'gold', 'dim_platform.sql');
    const good = await readFile(file, 'utf8');
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption(PLATFORM);
    await expect.poll(editorText).toBe(await fileText(PLATFORM));
    await page.locator('.cm-line', { hasText: 'platform IS NOT NULL' }).click();
    await page.keyboard.press('End');
    // Ten billion row pairs, counted once: only a cancel ends this run.
    await page.keyboard.type(`\n  AND (${SLOW}) = 0`);
    await page.keyboard.press('Escape');
    await page.getByTestId('editor-apply').click();
    const cancel = page.getByTestId('editor-cancel');
    await expect.poll(() => cancel.isEnabled(), { timeout: 15_000 }).toBe(true);
    await cancel.click();
    const panel = page.getByTestId('diff-panel');
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 30_000 }).toBe('cancelled');
    // As the pipeline view says it: the date it was on kept nothing.
    await expect
      .poll(() => panel.getByTestId('diff-cancelled').textContent())
      .toMatch(/^Run \S+ cancelled\. No date was committed\./);
    expect(await panel.locator('.error').count()).toBe(0);
    expect(await page.getByTestId('editor-state').textContent()).toBe('saved');
    expect(await page.getByTestId('editor-restore').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-run-cancelled.png') });

    // Taken out again by hand: the line and the line break before it.
    await page.locator('.cm-line', { hasText: 'range(100000) a' }).click();
    await page.keyboard.press('End');
    await page.keyboard.press('Shift+ArrowUp');
    await page.keyboard.press('Shift+End');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Escape');
    await page.getByTestId('editor-apply').click();
    await expect.poll(() => readFile(file, 'utf8')).toBe(good);
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 60_000 }).toBe('success');
  });

  it('shows a Save & run still running after a reload, with Cancel, then how it ended', async () => {
    const file = join(projectDir, 'models', 'gold', 'dim_platform.sql');
    const good = await readFile(file, 'utf8');
    const cancel = page.getByTestId('editor-cancel');
    const state = page.getByTestId('editor-state');
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption(PLATFORM);
    await expect.poll(editorText).toBe(await fileText(PLATFORM));
    await page.locator('.cm-line', { hasText: 'platform IS NOT NULL' }).click();
    await page.keyboard.press('End');
    await page.keyboard.type(`\n  AND (${SLOW}) = 0`);
    await page.keyboard.press('Escape');
    await page.getByTestId('editor-apply').click();
    await expect.poll(() => cancel.isEnabled(), { timeout: 15_000 }).toBe(true);

    // The run goes on in the engine; the reloaded page shows it as running, not as a model to save again.
    await page.reload();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="project-name"]')?.textContent !== '…',
    );
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption(PLATFORM);
    await expect.poll(() => state.textContent(), { timeout: 15_000 }).toMatch(/^saved · running/);
    expect(await page.getByTestId('editor-apply').isEnabled()).toBe(false);
    await expect.poll(() => cancel.isEnabled()).toBe(true);
    await cancel.click();
    const panel = page.getByTestId('diff-panel');
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 30_000 }).toBe('cancelled');
    expect(await state.textContent()).toBe('saved');

    await writeFile(file, good);
    await page.getByTestId('tab-tables').click();
    await page.getByTestId('tab-editor').click();
    await expect.poll(editorText).toBe(await fileText(PLATFORM));
  });

  it('cancels a slow preview, keeping the edit and showing no error', async () => {
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption(PLATFORM);
    // At the end of the WHERE line (a click in the text and Control+End raced the editor's focus).
    await page.locator('.cm-line', { hasText: 'platform IS NOT NULL' }).click();
    await page.keyboard.press('End');
    // Ten billion row pairs, counted once: only an interrupt ends this preview.
    await page.keyboard.type(
      '\n  AND (SELECT count(*) FROM range(100000) a, range(100000) b WHERE a.range + b.range < 0) = 0',
    );
    await page.keyboard.press('Escape');
    await page.getByTestId('editor-preview').click();
    const cancel = page.getByTestId('editor-preview-cancel');
    await cancel.waitFor();
    expect(await page.getByTestId('editor-preview').isDisabled()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-preview-cancel.png') });
    await cancel.click();
    await cancel.waitFor({ state: 'detached', timeout: 15_000 });
    expect(await page.getByTestId('editor-error').count()).toBe(0);
    expect(await page.getByTestId('editor-preview').isEnabled()).toBe(true);
    expect(await editorText()).toContain('range(100000) a, range(100000) b');
    await page.getByTestId('editor-revert').click();
    await expect.poll(() => page.getByTestId('editor-state').textContent()).toBe('saved');
    // The preview's connection answers again.
    await page.getByTestId('editor-preview').click();
    await page.getByTestId('preview-grid').locator('[data-testid="grid-row"]').first().waitFor();
  });

  it('cancels a slow console query, and exports the query in the box', async () => {
    await page.getByTestId('tab-query').click();
    await page.getByTestId('query-input').fill(SLOW);
    await page.getByTestId('query-run').click();
    const cancel = page.getByTestId('query-cancel');
    await cancel.waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'query-running-cancel.png') });
    await cancel.click();
    const cancelled = page.getByTestId('query-cancelled');
    await cancelled.waitFor({ timeout: 15_000 });
    expect(await cancelled.textContent()).toContain('Cancelled');
    expect(await page.getByTestId('query-error').count()).toBe(0);
    expect(await page.getByTestId('query-run').isEnabled()).toBe(true);
    expect(await cancel.count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'query-cancelled.png') });

    await page.getByTestId('query-input').fill('SELECT 1 AS ran');
    await page.getByTestId('query-run').click();
    await page.getByTestId('query-grid').waitFor();
    await page.getByTestId('query-input').fill('SELECT 2 AS in_the_box');
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    expect(await readFile((await csv.path()) ?? '', 'utf8')).toMatch(/^in_the_box\r?\n2\r?\n?$/);
  });

  it("labels the rows shown while a query runs as the previous query's, and brings them back on a cancel", async () => {
    const counted = page.getByTestId('query-count');
    const grid = page.getByTestId('query-grid');
    await page.getByTestId('tab-query').click();
    await page.getByTestId('query-input').fill('SELECT 7 AS before');
    await page.getByTestId('query-run').click();
    await expect.poll(() => counted.textContent()).toBe('1 row');
    expect(await counted.getAttribute('data-total')).toBe('1');

    await page.getByTestId('query-input').fill(SLOW);
    await page.getByTestId('query-run').click();
    const cancel = page.getByTestId('query-cancel');
    await cancel.waitFor();
    // Beside 'Running…' a bare '1 row' read as the new query's count.
    expect(await counted.textContent()).toBe('Previous query: 1 row');
    expect(await counted.getAttribute('data-total')).toBe('');
    const faded = () =>
      page.getByTestId('query-grid-frame').evaluate((frame) => getComputedStyle(frame).opacity);
    expect(await faded()).toBe('0.5');
    await cancel.click();

    const cancelled = page.getByTestId('query-cancelled');
    await cancelled.waitFor({ timeout: 15_000 });
    expect(await cancelled.textContent()).toBe(
      "Cancelled: the query was stopped before it finished. The rows below are the previous query's.",
    );
    expect(await grid.locator('[data-row="0"] td').first().textContent()).toBe('7');
    expect(await counted.textContent()).toBe('Previous query: 1 row');
    expect(await faded()).toBe('0.5');
    // The label outlives a tab switch, as the rows do.
    await page.getByTestId('tab-tables').click();
    await page.getByTestId('tab-query').click();
    expect(await counted.textContent()).toBe('Previous query: 1 row');
    expect(await page.getByTestId('query-cancelled').count()).toBe(1);

    await page.getByTestId('query-input').fill('SELECT 8 AS after');
    await page.getByTestId('query-run').click();
    await expect.poll(() => counted.textContent()).toBe('1 row');
    expect(await grid.locator('[data-row="0"] td').first().textContent()).toBe('8');
    expect(await faded()).toBe('1');
    expect(await page.getByTestId('query-cancelled').count()).toBe(0);
  });

  it('says a console query was stopped when its tab was left, and runs it again on request', async () => {
    await page.getByTestId('tab-query').click();
    await page.getByTestId('query-input').fill('SELECT 1 AS before');
    await page.getByTestId('query-run').click();
    await page.getByTestId('query-grid').waitFor();
    await page.getByTestId('query-input').fill(SLOW);
    await page.getByTestId('query-run').click();
    await page.getByTestId('query-cancel').waitFor();
    await page.getByTestId('tab-tables').click();
    await page.getByTestId('tab-query').click();

    const stopped = page.getByTestId('query-stopped-on-leave');
    expect(await stopped.textContent()).toContain('This query was stopped when you left the Query tab');
    expect(await page.getByTestId('query-input').inputValue()).toBe(SLOW);
    // The rows of the query before are not this one's.
    expect(await page.getByTestId('query-grid').count()).toBe(0);
    expect(await page.getByTestId('query-error').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'query-stopped-on-leave.png') });

    await page.getByTestId('query-run-again').click();
    const cancel = page.getByTestId('query-cancel');
    await cancel.waitFor();
    expect(await stopped.count()).toBe(0);
    await cancel.click();
    await page.getByTestId('query-cancelled').waitFor({ timeout: 15_000 });
    // Come back to after a query that ended, the view has nothing to say about stopping.
    await page.getByTestId('tab-tables').click();
    await page.getByTestId('tab-query').click();
    expect(await page.getByTestId('query-input').inputValue()).toBe(SLOW);
    expect(await stopped.count()).toBe(0);
  });

  it("keeps the console's query and rows across a tab switch, and scrolls on in the result that ran", async () => {
    const sql = 'SELECT n, n * n AS square FROM range(2500) t(n) ORDER BY n';
    const input = page.getByTestId('query-input');
    const counted = page.getByTestId('query-count');
    const grid = page.getByTestId('query-grid');
    await page.getByTestId('tab-query').click();
    await input.fill(sql);
    await page.getByTestId('query-run').click();
    await expect.poll(() => counted.textContent()).toBe('2,500 rows · 1,000 loaded, scrolling loads more');
    // The count is a polite live region, so a screen reader says it without the user looking for it.
    expect(await page.getByRole('status').filter({ hasText: '2,500 rows · 1,000 loaded' }).count()).toBe(1);
    await input.fill(`${sql} -- edited, not run`);

    await page.getByTestId('tab-tables').click();
    await grid.waitFor({ state: 'detached' });
    await page.getByTestId('tab-query').click();
    expect(await input.inputValue()).toBe(`${sql} -- edited, not run`);
    expect(await counted.textContent()).toBe('2,500 rows · 1,000 loaded, scrolling loads more');
    expect(await grid.locator('[data-row="7"] td').nth(1).textContent()).toBe('49');

    // The engine still holds the result: scrolling to the end reads the rest of it.
    await scrollConsoleToEnd(page, '2,500 rows');
    expect(await page.getByTestId('query-error').count()).toBe(0);
  });
});
