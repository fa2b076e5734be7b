import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeRegExp } from '../../engine/api/errors.ts';
import { hasChromium, type OpenApp, openApp, SCREENSHOTS } from '../helpers/browser.ts';
import {
  generatedProject,
  noDailySourceProject,
  removeDir,
  renameDeviceTypeForSomePlatforms,
  tempDir,
} from '../helpers/project.ts';

// Browser mode end to end: the built renderer in Debian's Chromium, over HTTP, on a freshly generated demo project.
describe.skipIf(!hasChromium)('browser mode end to end', () => {
  let work: string;
  let app: OpenApp;
  let page: Page;
  let dates: string[];
  let dir: string;

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    work = await tempDir('lakehouse-e2e-');
    const generated = await generatedProject(work, 3, 300);
    dir = generated.dir;
    dates = generated.dates;
    // The test itself checks that the project's name appears.
    app = await openApp({ projectDir: dir, waitForProject: false });
    page = app.page;
  });

  afterAll(async () => {
    await app?.close();
    if (work) await removeDir(work);
  });

  it('says on the History tab, before any run, that its table is not built yet and what to do', async () => {
    await expect.poll(() => page.getByTestId('project-name').textContent()).not.toBe('…');
    await page.getByTestId('tab-history').click();
    // The engine's answer was dropped and the view stayed blank below its form.
    const why = page.getByTestId('history-keys-error');
    await expect
      .poll(() => why.textContent())
      .toBe('INVALID_ARGUMENT: gold.dim_user_history is not built yet; run the pipeline first.');
    await page.getByTestId('history-model').selectOption('gold.bridge_user_plan');
    await expect.poll(() => why.textContent()).toContain('gold.bridge_user_plan is not built yet');
    await page.getByTestId('tab-pipeline').click();
  });

  it('runs the pipeline from the UI and shows live statuses', async () => {
    await expect.poll(() => page.getByTestId('project-name').textContent()).not.toBe('…');
    const cards = page.locator('[data-testid^="model-card-"]');
    await cards.first().waitFor();
    expect(await cards.count()).toBe(13);
    const gold = page.getByTestId('model-card-gold.fact_customer_search');
    expect(await gold.getAttribute('data-status')).toBe('never run');

    await page.getByTestId('date-select').selectOption({ label: 'all dates (3)' });
    await page.getByTestId('run-button').click();
    const status = page.getByTestId('run-status');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') !== 'idle',
    );
    await page.waitForFunction(
      () =>
        ['success', 'failed', 'cancelled'].includes(
          document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') ?? '',
        ),
      undefined,
      { timeout: 60_000 },
    );
    expect(await status.textContent()).toMatch(/^success/);
    expect(await gold.getAttribute('data-status')).toBe('success');
    const rows = await gold.getByTestId('card-rows').textContent();
    expect(Number(rows?.replace(/\D/g, ''))).toBeGreaterThan(0);
    expect(await page.locator('[data-testid^="model-card-"][data-status="success"]').count()).toBe(13);
    await page.screenshot({ path: join(SCREENSHOTS, 'pipeline.png') });
  });

  it("keeps the latest run's success in sight after a reload, as a failure is, without a run going", async () => {
    const [latest] = await app.engine.runs(1);
    expect(latest).toMatchObject({ status: 'success', dates: dates.join(',') });
    await page.reload();
    const status = page.getByTestId('run-status');
    // It read "idle" as if nothing had run, while a failed latest run kept its outcome.
    await expect.poll(() => status.getAttribute('data-status')).toBe('success');
    expect(await status.textContent()).toBe('success · 3 dates · latest run');
    // When it ended with its zone: the wall clock alone read the same for UTC and local time.
    expect(latest!.finishedAt).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}[+-]\d{2}:\d{2}$/);
    expect(Math.abs(Date.parse(latest!.finishedAt!) - Date.now())).toBeLessThan(10 * 60_000);
    expect(await page.getByTestId('run-recorded').textContent()).toBe(
      `Latest run ${latest!.runId} (${dates[0]} .. ${dates[2]}) succeeded at ${shownClock(latest!.finishedAt!)}.`,
    );
    // An outcome, not a run in progress: nothing to cancel, no progress bar, Run offered.
    expect(await page.getByTestId('run-button').isEnabled()).toBe(true);
    expect(await page.getByTestId('cancel-button').isEnabled()).toBe(false);
    expect(await page.getByTestId('run-progress').count()).toBe(0);
    expect(await page.getByTestId('run-error').count()).toBe(0);
    const fact = page.getByTestId('model-card-gold.fact_customer_search');
    await expect.poll(() => fact.getAttribute('data-status')).toBe('success');
    await page.screenshot({ path: join(SCREENSHOTS, 'pipeline-latest-run-succeeded.png') });

    // A run refused before it starts (no such model) changes nothing: the latest run's outcome stays,
    // where the status read "idle" as if nothing had ever run.
    await page.getByTestId('selection-input').fill('gold.no_such_model');
    await page.getByTestId('run-button').click();
    await expect.poll(() => page.getByTestId('pipeline-error').textContent()).toMatch(/^INVALID_ARGUMENT: /);
    expect(await status.getAttribute('data-status')).toBe('success');
    expect(await status.textContent()).toBe('success · 3 dates · latest run');
    expect(await page.getByTestId('run-recorded').count()).toBe(1);
    await page.getByTestId('selection-input').fill('');
  });

  it('browses a gold table and runs a query', async () => {
    await page.getByTestId('tab-tables').click();
    await page.getByTestId('table-item-gold.fact_customer_search').click();
    const grid = page.getByTestId('table-grid');
    await grid.locator('[data-testid="grid-row"]').first().waitFor();
    expect(await grid.locator('[data-testid="grid-row"]').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'tables.png') });

    await page.getByTestId('tab-query').click();
    await page.getByTestId('query-input').fill('SELECT count(*) AS n FROM fact_customer_search');
    await page.getByTestId('query-run').click();
    const cell = page.getByTestId('query-grid').locator('[data-testid="grid-row"] td').first();
    await cell.waitFor();
    expect(Number(await cell.textContent())).toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'query.png') });
  });
  it('says "not run" on the cards a cancel kept from running, its reason on hover, nothing clipped', async () => {
    // Cancelled as the second date starts: the first stays committed, so the graph shows this run, whose
    // gold models were skipped with "not run: The run was cancelled." (the cards clipped it to "n").
    const cancel = new AbortController();
    const summary = await app.engine.run({
      signal: cancel.signal,
      onProgress: (event) => {
        if (event.kind === 'model-start' && event.date === dates[1]) cancel.abort();
      },
    });
    expect(summary.status).toBe('cancelled');
    await page.getByTestId('tab-pipeline').click();
    await page.reload();
    const fact = page.getByTestId('model-card-gold.fact_customer_search');
    await expect.poll(() => fact.getAttribute('data-status')).toBe('skipped');

    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 1024, height: 768 },
      { width: 900, height: 700 },
    ]) {
      await page.setViewportSize(viewport);
      const where = `${viewport.width}x${viewport.height}`;
      expect(await fact.getByTestId('card-status').textContent(), where).toBe('not run');
      expect(await fact.getByTestId('card-status').getAttribute('title'), where).toMatch(/cancelled/);
      expect(await fact.getAttribute('title'), where).toMatch(/not run: .*cancelled/);
      // Every piece of text on every card shows whole: none cut to an ellipsis or to nothing.
      const clipped = await page
        .locator('[data-testid^="model-card-"] .card-meta > span')
        .evaluateAll((spans) =>
          spans
            .filter(
              (el) =>
                el.scrollWidth > el.clientWidth + 1 ||
                el.getBoundingClientRect().right > (el.parentElement?.getBoundingClientRect().right ?? 0) + 1,
            )
            .map((el) => `${el.closest('[data-testid]')?.getAttribute('data-testid')}: ${el.textContent}`),
        );
      expect(clipped, where).toEqual([]);
      // Every card lies wholly inside the graph's pane: none cut at its right or bottom edge.
      // The graph scales to the pane once the resize has reached it: polled, not read at once.
      const outside = () =>
        page.evaluate(() => {
          const element = document.querySelector('[data-testid="pipeline-graph"]');
          if (!element) return ['no graph pane'];
          // Inside the pane's border, where its content shows.
          const rect = element.getBoundingClientRect();
          const left = rect.left + element.clientLeft;
          const right = left + element.clientWidth;
          const bottom = rect.top + element.clientTop + element.clientHeight;
          return [...document.querySelectorAll('[data-testid^="model-card-"]')]
            .filter((card) => {
              const box = card.getBoundingClientRect();
              return box.left < left - 0.5 || box.right > right + 0.5 || box.bottom > bottom + 0.5;
            })
            .map((card) => `${card.getAttribute('data-testid')} ${box(card)} in ${left}..${right}`);
          function box(card: Element) {
            const r = card.getBoundingClientRect();
            return `${r.left.toFixed(1)}..${r.right.toFixed(1)}`;
          }
        });
      await expect.poll(outside, { message: where }).toEqual([]);
      await page.screenshot({ path: join(SCREENSHOTS, `pipeline-not-run-${viewport.width}.png`) });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('shows the graph of a run that ended before its start was answered, not the run still going', async () => {
    // The reply to pipeline.run held back past the run's end, and the graph reloaded after that reply:
    // the view took the run for one still going and kept its cards over the graph's.
    await page.route('**/rpc/pipeline.run', async (route) => {
      const response = await route.fetch();
      await new Promise((r) => setTimeout(r, 1000));
      await route.fulfill({ response });
    });
    await page.route('**/rpc/pipeline.graph', async (route) => {
      await new Promise((r) => setTimeout(r, 2500));
      await route.continue();
    });
    try {
      await page.getByTestId('selection-input').fill('gold.dim_date');
      await page.getByTestId('run-button').click();
      const status = page.getByTestId('run-status');
      await expect.poll(() => status.getAttribute('data-status'), { timeout: 60_000 }).toBe('success');
      await page.waitForResponse('**/rpc/pipeline.graph', { timeout: 30_000 });
      // The rows its table holds, as the graph says, not the rows the run wrote.
      const rows = page.getByTestId('model-card-gold.dim_date').getByTestId('card-rows');
      await expect.poll(() => rows.getAttribute('data-rows')).toMatch(/^\d+$/);
      expect(await rows.textContent()).toMatch(/^[\d,]+ rows$/);
    } finally {
      await page.unroute('**/rpc/pipeline.run');
      await page.unroute('**/rpc/pipeline.graph');
      await page.getByTestId('selection-input').fill('');
    }
  });

  it('shows a failed refresh of the project, and clears it once a refresh succeeds', async () => {
    await page.locator('[data-testid^="model-card-"]').first().waitFor();
    await page.route('**/rpc/project.info', (route) => route.abort());
    try {
      await page.evaluate(() => window.dispatchEvent(new Event('focus')));
      await page.getByTestId('app-error').waitFor();
    } finally {
      await page.unroute('**/rpc/project.info');
    }
    // The views stay usable under the error, and the next refresh takes it away.
    expect(await page.locator('[data-testid^="model-card-"]').count()).toBe(13);
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await expect.poll(() => page.getByTestId('app-error').count()).toBe(0);
  });

  it('offers the run an error names as its fix, and that run succeeds', async () => {
    // dim_platform renamed: the new table numbers its keys afresh, and the facts of the committed dates
    // hold the old ones, so running one date alone is refused with the range that rewrites them all.
    const models = join(dir, 'models', 'gold');
    await rename(join(models, 'dim_platform.sql'), join(models, 'dim_device.sql'));
    const fact = join(models, 'fact_customer_search.sql');
    await writeFile(fact, (await readFile(fact, 'utf8')).replaceAll('gold.dim_platform', 'gold.dim_device'));
    // Edited in another editor: coming back to the window, the app reads the model files again.
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await page.getByTestId('model-card-gold.dim_device').waitFor();
    expect(await page.getByTestId('model-card-gold.dim_platform').count()).toBe(0);
    await page.getByTestId('date-select').selectOption(dates[1]!);
    await page.getByTestId('run-button').click();
    const status = page.getByTestId('run-status');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 60_000 }).toBe('failed');
    const failure = await page.getByTestId('run-error').textContent();
    expect(failure).toContain(`so they are rewritten with the new keys: ${dates[0]} .. ${dates[2]}.`);
    // Worded for the app as for the command line: no flags in it.
    expect(failure).not.toContain('--');
    const suggested = page.getByTestId('suggested-run');
    expect(await suggested.textContent()).toBe(`Set up this run: ${dates[0]} .. ${dates[2]}`);
    await page.screenshot({ path: join(SCREENSHOTS, 'pipeline-suggested-run.png') });
    await suggested.click();
    expect(await page.getByTestId('date-select').inputValue()).toBe('__range__');
    expect(await page.getByTestId('range-from').inputValue()).toBe(dates[0]);
    expect(await page.getByTestId('range-to').inputValue()).toBe(dates[2]);
    expect(await page.getByTestId('selection-input').inputValue()).toBe('');
    await page.getByTestId('run-button').click();
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 60_000 }).toBe('success');
    expect(await page.getByTestId('run-error').count()).toBe(0);

    // What the run noted for a model, per date, shows in its details as the CLI prints it.
    await page.getByTestId('model-card-silver.keyword_match').click();
    // Once the graph has the run's records (it reloads after the run ends).
    await expect.poll(() => page.getByTestId('model-run-figures').textContent()).toContain('over 3 dates');
    const notes = page.getByTestId('model-notes');
    await notes.waitFor();
    for (const date of dates) {
      expect(await notes.textContent()).toMatch(
        new RegExp(`${date}: \\d+ of \\d+ keywords answered from the cache`),
      );
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'pipeline-model-notes.png') });
  });

  it('offers to rebuild a dimension whose new column a test finds NULL, and the rebuild fills it', async () => {
    await page.getByTestId('model-card-gold.dim_device').waitFor();
    // device_type renamed device_kind, and the date merges only the platforms not starting with 'a':
    // the others keep NULL in the new column, which its not_null test finds.
    const model = join(dir, 'models', 'gold', 'dim_device.sql');
    await writeFile(model, renameDeviceTypeForSomePlatforms(await readFile(model, 'utf8')));
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await page.getByTestId('date-select').selectOption(dates[1]!);
    await page.getByTestId('run-button').click();
    const status = page.getByTestId('run-status');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 60_000 }).toBe('failed');
    expect(await page.getByTestId('run-error').textContent()).toContain(
      '1 member of gold.dim_device that no date merges holds NULL in device_kind',
    );
    const rebuild = page.getByTestId('rebuild-table');
    expect(await rebuild.textContent()).toBe('Rebuild gold.dim_device from every date');
    await page.screenshot({ path: join(SCREENSHOTS, 'pipeline-rebuild-offered.png') });
    // Asked first: dismissed, nothing is dropped and nothing runs.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await rebuild.click();
    expect(await status.getAttribute('data-status')).toBe('failed');
    page.once('dialog', (dialog) => void dialog.accept());
    await rebuild.click();
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 60_000 }).toBe('success');
    expect(await page.getByTestId('run-error').count()).toBe(0);
    // The toolbar says what ran: every date, every model.
    expect(await page.getByTestId('date-select').inputValue()).toBe('__all__');
    expect(await page.getByTestId('model-card-gold.dim_device').getAttribute('data-status')).toBe('success');
    const filled = await app.engine.query(
      `SELECT count(*) FILTER (WHERE device_kind IS NULL) AS nulls, count(*) AS members FROM dim_device`,
    );
    expect(filled.rows[0]?.nulls).toBe(0);
    expect(Number(filled.rows[0]?.members)).toBeGreaterThan(1);

    // The history models replayed once, on the last date: the dates before it are one note, not one each,
    // and the card says the run left notes.
    const history = page.getByTestId('model-card-gold.dim_user_history');
    await expect.poll(() => history.getByTestId('card-notes').getAttribute('data-count')).toBe('2');
    await history.click();
    const notes = page.getByTestId('model-notes');
    await expect
      .poll(() => notes.locator('li').allTextContents())
      .toEqual([
        `${dates[0]}, ${dates[1]}: history not replayed: this run replays it once, on ${dates[2]}, with every date it changes; kept as it was until then`,
        `${dates[2]}: replayed 3 dates ${dates[0]} .. ${dates[2]} to rebuild history`,
      ]);
    await page.screenshot({ path: join(SCREENSHOTS, 'pipeline-history-replayed-once.png') });
  });

  it("shows each date's row accounting, a failed accounting's counts and what it kept from running, also after a reload", async () => {
    const silver = page.getByTestId('model-card-silver.customer_search');
    await silver.click();
    const accounting = page.getByTestId('model-accounting').locator('li');
    // The rebuild before ran every date: each adds up.
    await expect.poll(() => accounting.count()).toBe(3);
    for (const [i, date] of dates.entries()) {
      expect(await accounting.nth(i).textContent()).toMatch(
        new RegExp(
          `^${date}: bronze\\.customer_search [\\d,]+ = silver\\.customer_search [\\d,]+ \\+ [\\d,]+ duplicates? \\+ [\\d,]+ quarantined$`,
        ),
      );
    }

    // Silver drops a row without a word: the date fails ACCOUNTING_MISMATCH, before gold runs.
    const file = join(dir, 'models', 'silver', 'customer_search.sql');
    const text = await readFile(file, 'utf8');
    await writeFile(file, `${text.trimEnd()}\nQUALIFY row_number() OVER () > 1\n`);
    try {
      await page.getByTestId('date-select').selectOption(dates[1]!);
      await page.getByTestId('run-button').click();
      const status = page.getByTestId('run-status');
      await expect.poll(() => status.getAttribute('data-status'), { timeout: 60_000 }).toBe('failed');
      expect(await page.getByTestId('run-error').textContent()).toMatch(/^ACCOUNTING_MISMATCH: /);
      const [failed] = await app.engine.runs(1);
      const counts = failed!.models.find((m) => m.model === 'silver.customer_search')!;
      expect(counts.rowsIn).toBeGreaterThan(0);
      const failedLine =
        `${dates[1]} (failed): bronze.customer_search ${counts.rowsIn.toLocaleString('en-US')} ≠ ` +
        `silver.customer_search ${counts.rowsOut.toLocaleString('en-US')} + ${counts.duplicatesRemoved} ` +
        `duplicate${counts.duplicatesRemoved === 1 ? '' : 's'} + ${counts.quarantined} quarantined: off by 1 row`;
      const line = page.getByTestId('model-accounting').locator(`li[data-date="${dates[1]}"]`);
      await expect.poll(() => line.textContent()).toBe(failedLine);

      // A reload keeps the outcome in sight (from the run history) and the models the failure kept from
      // running say so, not the success of the run before.
      await page.reload();
      await expect.poll(() => status.getAttribute('data-status')).toBe('failed');
      expect(await status.textContent()).toBe('failed · 0 of 1 date committed · latest run');
      expect(await page.getByTestId('run-error').textContent()).toContain(
        `silver.customer_search ${dates[1]}: bronze.customer_search has ${counts.rowsIn} rows`,
      );
      expect(await page.getByTestId('run-error').textContent()).toMatch(
        new RegExp(
          `^Latest run ${failed!.runId} \\(${dates[1]}\\) failed at ${escapeRegExp(shownClock(failed!.finishedAt!))} with ACCOUNTING_MISMATCH: `,
        ),
      );
      expect(await page.getByTestId('run-recorded').count()).toBe(0);
      const fact = page.getByTestId('model-card-gold.fact_customer_search');
      await expect.poll(() => fact.getByTestId('card-status').textContent()).toBe('not run');
      expect(await fact.getAttribute('title')).toContain('not run: silver.customer_search');
      expect(await page.getByTestId('model-card-bronze.customer_search').getAttribute('data-status')).toBe(
        'rolled_back',
      );
      expect(await silver.getAttribute('data-status')).toBe('failed');
      await silver.click();
      await expect.poll(() => line.textContent()).toBe(failedLine);
      for (const viewport of [
        { width: 1280, height: 800 },
        { width: 1024, height: 640 },
      ]) {
        await page.setViewportSize(viewport);
        await page.screenshot({
          path: join(SCREENSHOTS, `pipeline-accounting-failed-${viewport.width}.png`),
        });
      }
      await fact.click();
      expect(await page.getByTestId('model-not-run').textContent()).toMatch(
        new RegExp(
          `^Not run by the latest run \\(${failed!.runId}\\): silver\\.customer_search ${dates[1]}: `,
        ),
      );
      await page.screenshot({ path: join(SCREENSHOTS, 'pipeline-not-run-upstream-failed-1024.png') });
    } finally {
      await writeFile(file, text);
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });
});

// A project whose sources are all reference files has no day folders to offer dates from.
describe.skipIf(!hasChromium)('browser mode, a project without a daily source', () => {
  let dir: string;
  let app: OpenApp;

  beforeAll(async () => {
    dir = await tempDir('lakehouse-e2e-no-daily-');
    await noDailySourceProject(dir);
    app = await openApp({ projectDir: dir });
  });

  afterAll(async () => {
    await app?.close();
    if (dir) await removeDir(dir);
  });

  it('asks for the ETL date to run, and runs it', async () => {
    const { page } = app;
    await page.getByTestId('model-card-gold.prices').waitFor();
    const input = page.getByTestId('date-input');
    expect(await input.inputValue()).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(await page.getByTestId('date-select').count()).toBe(0);
    await input.fill('');
    expect(await page.getByTestId('run-button').isDisabled()).toBe(true);
    await input.fill('2022-06-01');
    await page.screenshot({ path: join(SCREENSHOTS, 'pipeline-no-daily-source.png') });
    await page.getByTestId('run-button').click();
    const status = page.getByTestId('run-status');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 60_000 }).toBe('success');
    expect((await app.engine.query('SELECT count(*)::INTEGER AS n FROM prices')).rows).toEqual([{ n: 2 }]);
    expect(
      (await app.engine.query('SELECT etl_date::VARCHAR AS d FROM _lakehouse.model_dates')).rows,
    ).toEqual([{ d: '2022-06-01' }]);
  });
});

/**
 * A run's time as the pipeline view must show it: this process's wall clock to the second (the engine's,
 * as both run here) and its zone, `UTC` or `UTC+07:00`. Worked out from the instant, not from the text.
 */
function shownClock(at: string): string {
  const time = new Date(Date.parse(at));
  const two = (n: number) => String(n).padStart(2, '0');
  const offset = -time.getTimezoneOffset();
  const zone =
    offset === 0
      ? 'UTC'
      : `UTC${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`;
  return (
    `${time.getFullYear()}-${two(time.getMonth() + 1)}-${two(time.getDate())} ` +
    `${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())} ${zone}`
  );
}
