import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../engine/api/dispatcher.ts';
import type { Engine } from '../../engine/engine.ts';
import { KNOWN_PLAN_CHANGE_USER } from '../../engine/generate/generate.ts';
import {
  hasChromium,
  type OpenApp,
  openApp,
  retypeEditorLine,
  SCREENSHOTS,
  scrollConsoleToEnd,
} from '../helpers/browser.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// The part-B views in Chromium over HTTP, on a generated project of four days run once up front:
// the pipeline graph with edge counts, the star schema's seeded orphans, the known user's SCD history,
// and the model editor (an error at the right line, a preview, save + run + diff).
const FACT = 'gold.fact_customer_search';
const SEEDED_ORPHANS = 7;

describe.skipIf(!hasChromium)('explore views end to end', () => {
  let work: string;
  let projectDir: string;
  let dates: string[];
  let app: OpenApp;
  let engine: Engine;
  let dispatcher: Dispatcher;
  let page: Page;

  const count = async (sql: string) => Number(Object.values((await engine.query(sql)).rows[0] ?? {})[0]);

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    work = await tempDir('lakehouse-e2e-explore-');
    ({ dir: projectDir, dates } = await generatedProject(work, 4, 300));
    app = await openApp({
      projectDir,
      prepare: async (engine) => {
        expect((await engine.run({})).status).toBe('success');
      },
    });
    ({ engine, dispatcher, page } = app);
  });

  afterAll(async () => {
    await app?.close();
    if (work) await removeDir(work);
  });

  it('draws the graph in lanes with the rows on each edge, and runs a selection', async () => {
    const silverRows = await count('SELECT count(*) FROM silver.customer_search');
    const edge = page.getByTestId(`edge-label-silver.customer_search->${FACT}`);
    await edge.waitFor();
    expect(Number(await edge.getAttribute('data-rows'))).toBe(silverRows);
    expect(
      Number(
        await page
          .getByTestId('edge-label-bronze.customer_search->silver.customer_search')
          .getAttribute('data-rows'),
      ),
    ).toBe(1200);
    expect(await page.locator('[data-testid^="edge-label-"]').count()).toBeGreaterThan(15);
    // Every count readable: no label on another label or on a model card.
    const clashes = await page.evaluate(() => {
      const boxes = (selector: string) =>
        [...document.querySelectorAll(selector)].map((e) => ({
          id: e.getAttribute('data-testid'),
          r: e.getBoundingClientRect(),
        }));
      const labels = boxes('[data-testid^="edge-label-"]');
      const cards = boxes('[data-testid^="model-card-"]');
      const overlap = (a: DOMRect, b: DOMRect) =>
        a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
      return labels.flatMap((label, i) =>
        [...labels.slice(i + 1), ...cards]
          .filter((other) => overlap(label.r, other.r))
          .map((other) => `${label.id} on ${other.id}`),
      );
    });
    expect(clashes).toEqual([]);
    const fact = page.getByTestId(`model-card-${FACT}`);
    expect(await fact.getAttribute('data-status')).toBe('success');
    // Each test once (not once per date), and the rows the table holds, not the sum the dates wrote.
    expect(await fact.getByTestId('card-tests').textContent()).toMatch(/^✓ 10\/10$/);
    const users = await count('SELECT count(*) FROM gold.dim_user');
    const userRows = page.getByTestId('model-card-gold.dim_user').getByTestId('card-rows');
    expect(Number(await userRows.getAttribute('data-rows'))).toBe(users);
    expect(await userRows.textContent()).toMatch(/ rows$/);
    // Lanes run left to right: bronze, silver, gold.
    const laneX = async (layer: string) => (await page.getByTestId(`lane-${layer}`).boundingBox())?.x ?? -1;
    expect(await laneX('bronze')).toBeLessThan(await laneX('silver'));
    expect(await laneX('silver')).toBeLessThan(await laneX('gold'));

    const dimDate = page.getByTestId('model-card-gold.dim_date');
    expect(await dimDate.getAttribute('aria-expanded')).toBe('false');
    await dimDate.click();
    // A screen reader hears that the card opened its details, and where they are.
    expect(await dimDate.getAttribute('aria-expanded')).toBe('true');
    expect(
      await page.locator(`[id="${await dimDate.getAttribute('aria-controls')}"]`).getAttribute('data-testid'),
    ).toBe('model-details');
    const calendarDays = await count('SELECT count(*) FROM gold.dim_date');
    expect(await page.getByTestId('model-run-figures').textContent()).toMatch(
      new RegExp(`^${calendarDays} rows now · latest run: read [\\d,]+, wrote ${calendarDays} over 4 dates`),
    );
    await page.getByTestId('select-model').click();
    expect(await page.getByTestId('selection-input').inputValue()).toBe('gold.dim_date');
    await page.getByTestId('run-button').click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') === 'success',
      undefined,
      { timeout: 60_000 },
    );
    const lastRun = async () =>
      (
        (await dispatcher.call('runs.list', { limit: 1 })) as {
          runs: { runId: string; selection: string; dates: string }[];
        }
      ).runs[0];
    expect(await lastRun()).toMatchObject({ selection: 'gold.dim_date', dates: dates.at(-1) });
    // Models outside the selection did not run: they keep their last state, not "queued".
    const bronze = page.getByTestId('model-card-bronze.customer_search');
    await expect.poll(() => bronze.getAttribute('data-status')).toBe('success');

    // A from/to range of the same selection.
    await page.getByTestId('date-select').selectOption({ label: 'range…' });
    await page.getByTestId('range-from').selectOption(dates[1]!);
    await page.getByTestId('range-to').selectOption(dates[2]!);
    await page.getByTestId('run-button').click();
    await expect.poll(lastRun, { timeout: 60_000 }).toMatchObject({ dates: `${dates[1]},${dates[2]}` });
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="run-status"]')?.textContent?.startsWith('success · 2 dates'),
      undefined,
      { timeout: 60_000 },
    );
    await expect.poll(() => bronze.getAttribute('data-status')).toBe('success');

    // Picked the other way round, the range runs the same dates instead of failing on its order.
    const previous = (await lastRun())?.runId;
    await page.getByTestId('range-from').selectOption(dates[2]!);
    await page.getByTestId('range-to').selectOption(dates[1]!);
    await page.getByTestId('run-button').click();
    const newRunDates = async () => {
      const run = await lastRun();
      return run?.runId === previous ? null : run?.dates;
    };
    await expect.poll(newRunDates, { timeout: 60_000 }).toBe(`${dates[1]},${dates[2]}`);
    expect(await page.getByTestId('pipeline-error').count()).toBe(0);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') === 'success',
      undefined,
      { timeout: 60_000 },
    );

    await page.screenshot({ path: join(SCREENSHOTS, 'pipeline-graph.png') });

    // A misspelt model in the Models field: the error speaks of the selection, not of a CLI flag.
    await page.getByTestId('selection-input').fill('gold.dim_dat');
    await page.getByTestId('run-button').click();
    await expect
      .poll(() => page.getByTestId('pipeline-error').textContent())
      .toBe(
        'INVALID_ARGUMENT: No model named "gold.dim_dat" (selected as gold.dim_dat). Did you mean gold.dim_date?',
      );
    await page.getByTestId('selection-input').fill('');
  });

  it('shows the seeded orphan count on the star-schema edge and lists those rows on a click', async () => {
    await engine.db.run(
      `UPDATE ${FACT} SET platform_key = 999 WHERE event_id IN (
         SELECT event_id FROM ${FACT} WHERE platform_key <> 0 AND date_key = ${dates[0]!.replaceAll('-', '')}
         ORDER BY event_id LIMIT ${SEEDED_ORPHANS})`,
    );
    const unknown = await count(`SELECT count(*) FROM ${FACT} WHERE platform_key = 0`);
    await page.getByTestId('tab-schema').click();
    const edge = page.getByTestId(`star-edge-${FACT}.platform_key`);
    await edge.waitFor();
    expect(Number(await edge.getAttribute('data-missing'))).toBe(SEEDED_ORPHANS);
    expect(Number(await edge.getAttribute('data-unknown'))).toBe(unknown);
    expect(await page.getByTestId(`star-edge-${FACT}.date_key`).getAttribute('data-missing')).toBe('0');
    expect(await page.locator('[data-testid^="star-table-"]').count()).toBe(9);
    await expectEdgeLabelsReadable(page);
    await edge.click();
    const total = page.getByTestId('orphans-total');
    await expect.poll(() => total.getAttribute('data-total')).toBe(String(SEEDED_ORPHANS + unknown));
    await page.getByTestId('orphan-kind').selectOption('missing');
    await expect.poll(() => total.getAttribute('data-total')).toBe(String(SEEDED_ORPHANS));
    const rows = page.getByTestId('orphans-grid').locator('[data-testid="grid-row"]');
    await expect.poll(() => rows.count()).toBe(SEEDED_ORPHANS);
    await page.screenshot({ path: join(SCREENSHOTS, 'star-schema.png') });
    // The same view in the dark theme (styles.css switches its colour variables on data-theme).
    await page.evaluate(() => {
      document.documentElement.dataset.theme = 'dark';
    });
    await page.screenshot({ path: join(SCREENSHOTS, 'star-schema-dark.png') });
    await page.evaluate(() => {
      document.documentElement.dataset.theme = 'light';
    });

    // No fact row of the generated data has a fourth genre: the edge and its rows say they all point
    // at the unknown member rather than reading like broken keys.
    const factRows = await count(`SELECT count(*) FROM ${FACT}`);
    expect(await count(`SELECT count(*) FROM ${FACT} WHERE sub3_keyword_category = 0`)).toBe(factRows);
    const sub3 = page.getByTestId(`star-edge-${FACT}.sub3_keyword_category`);
    expect(await sub3.getByTestId('edge-counts').textContent()).toBe(
      `all ${factRows.toLocaleString('en-US')} rows → unknown (key 0)`,
    );
    await sub3.click();
    expect(await page.getByTestId('orphans-unknown-note').textContent()).toContain(
      `All ${factRows.toLocaleString('en-US')} rows point at the unknown member (key 0) of dim_category`,
    );

    // In a 1024x640 window the diagram is scaled to fit: every table inside the canvas, edges clickable,
    // and the edge's rows, which open below the diagram, scrolled into view.
    const viewport = page.viewportSize()!;
    await page.setViewportSize({ width: 1024, height: 640 });
    try {
      const diagram = page.getByTestId('star-diagram');
      await expect.poll(async () => Number(await diagram.getAttribute('data-scale'))).toBeLessThan(1);
      const canvas = (await diagram.boundingBox())!;
      for (const table of await page.locator('[data-testid^="star-table-"]').all()) {
        const box = (await table.boundingBox())!;
        expect(box.x + box.width).toBeLessThanOrEqual(canvas.x + canvas.width);
      }
      await edge.click();
      await expect.poll(() => total.getAttribute('data-total')).toBe(String(SEEDED_ORPHANS + unknown));
      const panel = (await page.getByTestId('orphans-panel').boundingBox())!;
      expect(panel.y).toBeGreaterThanOrEqual(0);
      expect(panel.y + panel.height).toBeLessThanOrEqual(640); // was 732: below the fold
      await page.screenshot({ path: join(SCREENSHOTS, 'star-schema-1024.png') });
    } finally {
      await page.setViewportSize(viewport);
    }
  });

  it('shows the SCD2 timeline of the known user, changed columns highlighted, and its bridge lanes', async () => {
    await page.getByTestId('tab-history').click();
    // A key one table lacks: its error goes when another table is picked.
    await page.getByTestId('history-model').selectOption('gold.bridge_user_plan');
    // The key to type, as the engine matches it: a bridge's entity, several columns joined with |.
    await expect.poll(() => page.getByTestId('history-key').getAttribute('placeholder')).toBe('user_id');
    await page.getByTestId('history-model').selectOption('gold.dim_network');
    await expect
      .poll(() => page.getByTestId('history-key').getAttribute('placeholder'))
      .toBe('proxy_isp|network_type');
    await page.getByTestId('history-model').selectOption('gold.bridge_user_plan');
    await page.getByTestId('history-key').fill('no-such-user');
    await page.getByTestId('history-search').click();
    await expect
      .poll(() => page.getByTestId('history-error').textContent())
      .toMatch(/^INVALID_ARGUMENT: gold\.bridge_user_plan has no rows for user_id = no-such-user\./);
    await page.getByTestId('history-model').selectOption('gold.dim_user_history');
    expect(await page.getByTestId('history-error').count()).toBe(0);
    // The same search still on its way when the table changes: its error, come late, is not shown.
    await page.getByTestId('history-model').selectOption('gold.bridge_user_plan');
    await page.route('**/rpc/history.key', async (route) => {
      await new Promise((r) => setTimeout(r, 1000));
      await route.continue();
    });
    const lateAnswer = page.waitForResponse('**/rpc/history.key');
    await page.getByTestId('history-search').click();
    await page.getByTestId('history-model').selectOption('gold.dim_user_history');
    await lateAnswer;
    await page.unroute('**/rpc/history.key');
    // Nothing shows when the answer is dropped: time for React to have shown it otherwise.
    await page.waitForTimeout(300);
    expect(await page.getByTestId('history-error').count()).toBe(0);
    await page.getByTestId('history-key').fill(KNOWN_PLAN_CHANGE_USER);
    await page.getByTestId('history-search').click();
    const bars = page.getByTestId('version-bar');
    await expect.poll(() => bars.count()).toBe(4);
    expect(await bars.evaluateAll((all) => all.map((b) => b.getAttribute('data-from')))).toEqual(dates);
    expect(await bars.last().getAttribute('data-to')).toBe('');
    // Version 2 drops a plan (set and count change), version 4 swaps one (only the set changes).
    const changed = page.locator('[data-testid="version-row"] td[data-changed="true"]');
    expect(await changed.count()).toBe(2 + 2 + 1);
    await page.getByTestId('history-ok').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'history.png') });

    await page.getByTestId('history-model').selectOption('gold.bridge_user_plan');
    // A bridge key's versions are those of its set of plans, labelled as such.
    const knownChip = page.locator(`[data-testid="key-chip"][data-key="${KNOWN_PLAN_CHANGE_USER}"]`);
    await expect.poll(() => knownChip.textContent()).toBe(`${KNOWN_PLAN_CHANGE_USER} (4 versions)`);
    await page.getByTestId('history-search').click();
    await expect.poll(() => page.getByTestId('history-lane').count()).toBe(3);
    expect(await bars.count()).toBe(4);
    expect(await page.getByTestId('history-break').count()).toBe(0);
    // Several effective rows are right for a bridge key: one per plan, not one per key.
    const held = await page.getByTestId('history-ok').textContent();
    expect(held).toContain('at most one effective row per subscription_key');
    expect(held).toContain('2 effective rows, one per subscription_key it holds');
    expect(held).not.toContain('one current row');
    await page.screenshot({ path: join(SCREENSHOTS, 'history-bridge.png') });

    // SCD1: the change log the runs recorded (the user's arrival; user_type never changes here and
    // running extremes such as last_search_dt are not logged).
    await page.getByTestId('history-model').selectOption('gold.dim_user');
    // No chip offers a key whose log holds nothing but its first insert.
    await page.locator('[data-model="gold.dim_user"]:is([data-testid^="key-chips"])').waitFor();
    expect(await knownChip.count()).toBe(0);
    // An empty-looking log says which columns it leaves out and why.
    expect(await page.getByTestId('history-not-logged').textContent()).toMatch(
      /first_search_dt \(least: .*last_search_dt \(greatest: keeps the latest value\).*SCD1 logs only the columns it overwrites/,
    );
    expect(await page.locator('[data-testid="key-chip"][data-count="1"]', { hasText: '(1)' }).count()).toBe(
      0,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'history-scd1-keys.png') });
    await page.getByTestId('history-search').click();
    const changes = page.getByTestId('change-row');
    await expect.poll(() => changes.count()).toBe(1);
    expect(await changes.first().textContent()).toContain('insert');
  });

  it('empties the key box for a table keyed by other columns, and keeps it for one keyed alike', async () => {
    await page.getByTestId('tab-history').click();
    const key = page.getByTestId('history-key');
    const placeholder = () => key.getAttribute('placeholder');
    await page.getByTestId('history-model').selectOption('gold.dim_user_history');
    await key.fill(KNOWN_PLAN_CHANGE_USER);
    // The bridge is keyed by user_id too: the same user's plans, a click away.
    await page.getByTestId('history-model').selectOption('gold.bridge_user_plan');
    await expect.poll(placeholder).toBe('user_id');
    expect(await key.inputValue()).toBe(KNOWN_PLAN_CHANGE_USER);
    expect(await page.getByTestId('history-search').isEnabled()).toBe(true);
    // A user id means nothing as a network's proxy_isp|network_type: it stayed, and searched for nothing.
    await page.getByTestId('history-model').selectOption('gold.dim_network');
    await expect.poll(placeholder).toBe('proxy_isp|network_type');
    expect(await key.inputValue()).toBe('');
    expect(await page.getByTestId('history-search').isDisabled()).toBe(true);
    await page.getByTestId('history-model').selectOption('gold.dim_user_history');
    await expect.poll(placeholder).toBe('user_id');
    expect(await key.inputValue()).toBe('');
  });

  it('SQL console: the total row count, and errors about the text as the user wrote it', async () => {
    await page.getByTestId('tab-query').click();
    const run = async (sql: string) => {
      await page.getByTestId('query-input').fill(sql);
      await page.getByTestId('query-run').click();
    };
    const rows = await count(`SELECT count(*) FROM ${FACT}`);
    expect(rows).toBeGreaterThan(1000);
    await run(`SELECT * FROM ${FACT} ORDER BY event_id`);
    const counted = page.getByTestId('query-count');
    await expect.poll(() => counted.getAttribute('data-total')).toBe(String(rows));
    expect(await counted.textContent()).toBe(
      `${rows.toLocaleString('en-US')} rows · 1,000 loaded, scrolling loads more`,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'query-total.png') });

    // Scrolling to the end loads the rest of the same result, window by window.
    await run('SELECT n FROM range(2500) t(n) ORDER BY random()');
    await expect.poll(() => counted.textContent()).toBe('2,500 rows · 1,000 loaded, scrolling loads more');
    await scrollConsoleToEnd(page, '2,500 rows');

    const error = page.getByTestId('query-error');
    await run('SELECT *\nFROM no_such_table');
    await error.waitFor();
    // An alert, so a screen reader says the query failed without the user looking for it.
    expect(await error.getAttribute('role')).toBe('alert');
    // The caret sits under the missing table in the user's own line, not in a wrapper query.
    // biome-ignore lint/performance/useDomNodeTextContent: the lines as rendered (white-space) are the point
    const lines = (await error.innerText()).split('\n');
    const excerpt = lines.find((l) => l.startsWith('LINE 2: '));
    expect(excerpt).toBe('LINE 2: FROM no_such_table');
    expect(lines[lines.indexOf(excerpt!) + 1]?.indexOf('^')).toBe(excerpt!.indexOf('no_such_table'));
    expect(await error.textContent()).not.toMatch(/pg_tables|SELECT \* FROM \(/);
    await page.screenshot({ path: join(SCREENSHOTS, 'query-missing-table.png') });

    await run('DELETE FROM dim_user');
    await expect.poll(() => error.textContent()).toContain('The SQL console is read-only');
    expect(await error.textContent()).not.toContain('query.run');
    await page.screenshot({ path: join(SCREENSHOTS, 'query-read-only.png') });
  });

  it('edits a model: an error at the right line, a preview, then save, run and the diff', async () => {
    const file = join(projectDir, 'models', 'gold', 'fact_customer_search.sql');
    const text = await readFile(file, 'utf8');
    const categoryLine = text.split('\n').findIndex((l) => l.trim() === 'e.category,') + 1;
    await page.getByTestId('tab-editor').click();
    await page.getByTestId('editor-model').selectOption(FACT);
    const line = page.locator('.cm-line', { hasText: /^\s*e\.category,$/ });
    await line.waitFor();
    // Running every date leaves no date to choose.
    const dateSelect = page.getByTestId('editor-date');
    expect(await dateSelect.isEnabled()).toBe(true);
    await page.getByTestId('editor-all-dates').check();
    expect(await dateSelect.isDisabled()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-all-dates.png') });
    await page.getByTestId('editor-all-dates').uncheck();
    expect(await dateSelect.isEnabled()).toBe(true);
    const replaceLine = async (replacement: string) => {
      await line.click();
      await page.keyboard.press('End');
      await page.keyboard.press('Shift+Home');
      await page.keyboard.type(replacement);
      await page.keyboard.press('Escape');
    };
    await replaceLine('no_such_column,');
    await page.getByTestId('editor-preview').click();
    const error = page.getByTestId('editor-error');
    await error.waitFor();
    expect(await error.getAttribute('data-line')).toBe(String(categoryLine));
    expect(await error.textContent()).toContain(`fact_customer_search.sql:${categoryLine}:`);
    expect(await page.locator('.cm-error-line').textContent()).toContain('no_such_column');
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-error.png') });

    await page.locator('.cm-line', { hasText: 'no_such_column' }).click();
    await page.keyboard.press('End');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.type('upper(e.category) AS category,');
    await page.keyboard.press('Escape');
    await page.getByTestId('editor-preview').click();
    await page.getByTestId('preview-grid').locator('[data-testid="grid-row"]').first().waitFor();
    expect(await error.count()).toBe(0);
    // An edit after the preview marks it stale; undoing the edit makes it current again.
    const previewResult = page.getByTestId('editor-preview-result');
    expect(await previewResult.getAttribute('data-stale')).toBe('false');
    await page.locator('.cm-line', { hasText: 'upper(e.category) AS category,' }).click();
    await page.keyboard.press('End');
    await page.keyboard.type(' ');
    await expect.poll(() => previewResult.getAttribute('data-stale')).toBe('true');
    expect(await page.getByTestId('preview-stale').textContent()).toMatch(/Preview again/);
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-preview-stale.png') });
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Escape');
    await expect.poll(() => previewResult.getAttribute('data-stale')).toBe('false');

    const last = dates.at(-1)!;
    const expected = await count(
      `SELECT count(*) FROM silver.customer_search WHERE etl_date = DATE '${last}' AND category IS DISTINCT FROM upper(category)`,
    );
    expect(expected).toBeGreaterThan(0);
    await page.getByTestId('editor-apply').click();
    const panel = page.getByTestId('diff-panel');
    await panel.waitFor({ timeout: 60_000 });
    expect(await panel.getAttribute('data-status')).toBe('success');
    const diff = page.getByTestId(`diff-${FACT}`);
    expect(await diff.getByTestId('diff-changed').getAttribute('data-count')).toBe(String(expected));
    expect(await diff.getByTestId('diff-added').textContent()).toBe('+0 added');
    expect(await diff.getByTestId('diff-changed-examples').textContent()).toMatch(/category: .+ → .+/);
    expect(await diff.textContent()).toContain(`Changed columns: category (${expected})`);
    expect(await readFile(file, 'utf8')).toContain('upper(e.category) AS category,');
    // The run changed the data the preview was read from: the diff replaces it.
    expect(await previewResult.count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-diff.png') });
  });

  it('shows a failed run of an edit: the diff is empty, and the graph names the failing test and rows', async () => {
    await page.getByTestId('tab-editor').click();
    await retypeEditorLine(page, /^\s*e\.user_id,$/, 'NULL::VARCHAR AS user_id,');
    // Whole seconds: DuckDB's text of such a timestamp has no fraction at all.
    await retypeEditorLine(
      page,
      /^\s*e\.datetime_log,$/,
      "date_trunc('second', e.datetime_log) AS datetime_log,",
    );
    await page.getByTestId('editor-apply').click();
    const panel = page.getByTestId('diff-panel');
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 60_000 }).toBe('failed');
    expect(await panel.textContent()).toContain('TEST_FAILED');
    // The message says the failing rows are shown below: they are, with the test that failed.
    const failedInPanel = panel.getByTestId('failed-test').filter({ hasText: 'not_null(' });
    expect(await failedInPanel.textContent()).toContain(FACT);
    // Of the test's seven columns, the one holding the NULLs is named.
    expect(await failedInPanel.getByTestId('failed-test-detail').textContent()).toMatch(
      /^ · NULL in user_id \(\d+\)$/,
    );
    const failingRows = failedInPanel.getByTestId('failed-test-rows').locator('[data-testid="grid-row"]');
    await expect.poll(() => failingRows.count()).toBeGreaterThan(0);
    // datetime_log shows milliseconds, as a table's rows do (DuckDB's text drops trailing zeros).
    const cells = await failingRows.locator('td').allTextContents();
    const times = cells.filter((text) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/.test(text));
    expect(times.length).toBeGreaterThan(0);
    for (const time of times) expect(time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.000$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-failed-run.png') });
    expect(
      await page.getByTestId(`diff-${FACT}`).getByTestId('diff-changed').getAttribute('data-count'),
    ).toBe('0');

    await page.getByTestId('tab-pipeline').click();
    const fact = page.getByTestId(`model-card-${FACT}`);
    await expect.poll(() => fact.getAttribute('data-status')).toBe('failed');
    expect(await fact.getByTestId('card-tests').textContent()).toMatch(/^✓ 9\/10 ✗ 1$/);
    expect(await fact.getByTestId('card-tests').getAttribute('title')).toMatch(/, 1 failed,/);
    // The card's text shows whole: none cut at its edge.
    const cut = await fact
      .locator('.card-meta > span')
      .evaluateAll((spans) =>
        spans
          .filter(
            (el) =>
              el.getBoundingClientRect().right > (el.parentElement?.getBoundingClientRect().right ?? 0) + 1,
          )
          .map((el) => el.textContent),
      );
    expect(cut).toEqual([]);
    // The latest run's error says its failing rows are shown below: they are, before a card is opened
    // (they showed only in the failed card's details).
    const recorded = page.getByTestId('run-error');
    expect(await recorded.textContent()).toContain('the failing rows are shown below');
    const recordedRows = recorded
      .getByTestId('failed-test')
      .filter({ hasText: `${FACT} · error: not_null(` })
      .getByTestId('failed-test-rows')
      .locator('[data-testid="grid-row"]');
    await expect.poll(() => recordedRows.count()).toBeGreaterThan(0);
    await fact.click();
    const failed = page.getByTestId('failed-test').filter({ hasText: 'not_null' });
    await failed.waitFor();
    expect(
      await failed.getByTestId('failed-test-rows').locator('[data-testid="grid-row"]').count(),
    ).toBeGreaterThan(0);
    // The failing test is said once, not again as the model's error.
    const details = await page.getByTestId('model-details').textContent();
    expect(details?.split(/failing rows?\b/)).toHaveLength(2);
    await page.screenshot({ path: join(SCREENSHOTS, 'edit-run-failure.png') });

    // Run from here, details closed: the run's error lists the failing rows, timestamps as in the tables.
    await fact.click();
    await page.getByTestId('model-details').waitFor({ state: 'detached' });
    await page.getByTestId('selection-input').fill(FACT);
    await page.getByTestId('run-button').click();
    const failure = page.getByTestId('run-error');
    await expect.poll(() => failure.textContent(), { timeout: 60_000 }).toContain('TEST_FAILED');
    const runRows = failure.getByTestId('failing-rows').locator('[data-testid="grid-row"]');
    await expect.poll(() => runRows.count()).toBeGreaterThan(0);
    const runCells = await runRows.locator('td').allTextContents();
    const runTimes = runCells.filter((text) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/.test(text));
    expect(runTimes.length).toBeGreaterThan(0);
    for (const time of runTimes) expect(time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.000$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'pipeline-run-failure-rows.png') });
    await page.getByTestId('selection-input').fill('');
  });

  it('cancels a Save & run from the editor: the run rolls back and its diff says cancelled', async () => {
    await page.getByTestId('tab-editor').click();
    const before = await count(`SELECT count(*) FROM ${FACT}`);
    // A scalar subquery that counts for minutes: only a cancel ends this run.
    await retypeEditorLine(
      page,
      /^\s*NULL::VARCHAR AS user_id,$/,
      '(SELECT max(i) FROM range(1000000000000) AS t(i))::VARCHAR AS user_id,',
    );
    expect(await page.getByTestId('editor-cancel').count()).toBe(0);
    await page.getByTestId('editor-apply').click();
    const cancel = page.getByTestId('editor-cancel');
    await expect.poll(() => cancel.isEnabled(), { timeout: 30_000 }).toBe(true);
    await cancel.click();
    const panel = page.getByTestId('diff-panel');
    await expect.poll(() => panel.getAttribute('data-status'), { timeout: 60_000 }).toBe('cancelled');
    expect(await page.getByTestId('editor-cancel').count()).toBe(0);
    expect(await count(`SELECT count(*) FROM ${FACT}`)).toBe(before);
  });
});

interface Box {
  id: string;
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Each star-schema edge label is whole, covers no other label or table, and is nearest the table it points at. */
async function expectEdgeLabelsReadable(page: Page): Promise<void> {
  const { labels, tables } = await page.evaluate(() => {
    const box = (e: HTMLElement, id: string) => {
      const { left, top, right, bottom } = e.getBoundingClientRect();
      return { id, left, top, right, bottom };
    };
    const all = (prefix: string) => [...document.querySelectorAll<HTMLElement>(`[data-testid^="${prefix}"]`)];
    return {
      labels: all('star-edge-').map((e) => ({
        ...box(e, e.dataset.testid ?? ''),
        to: e.dataset.to ?? '',
        clipped: e.scrollWidth > e.clientWidth,
      })),
      tables: all('star-table-').map((e) => box(e, (e.dataset.testid ?? '').replace('star-table-', ''))),
    };
  });
  const distance = (a: Box, b: Box) =>
    Math.hypot(
      Math.max(0, a.left - b.right, b.left - a.right),
      Math.max(0, a.top - b.bottom, b.top - a.bottom),
    );
  const overlapping = (a: Box, b: Box) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  expect(labels.length).toBeGreaterThan(8);
  for (const label of labels) {
    expect(label.clipped, label.id).toBe(false);
    for (const other of [...labels, ...tables]) {
      if (other.id !== label.id)
        expect(overlapping(label, other), `${label.id} covers ${other.id}`).toBe(false);
    }
    const nearest = tables.reduce((a, b) => (distance(label, a) <= distance(label, b) ? a : b));
    expect(nearest.id, `the table nearest ${label.id}`).toBe(label.to);
  }
}
