import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { type RunningServer, startServer } from '../../server/http-server.ts';
import { generatedProject } from '../helpers/project.ts';

// Browser mode end to end: the built renderer in Debian's Chromium, over HTTP, on a freshly generated demo project.
const CHROMIUM = '/usr/bin/chromium';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = join(REPO, 'test', 'e2e', 'screenshots');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`[e2e] skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

describe.skipIf(!hasChromium)('browser mode end to end', () => {
  let work: string;
  let engine: Engine;
  let dispatcher: Dispatcher;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(join(REPO, 'dist', 'renderer', 'index.html'))) {
      execFileSync('npx', ['vite', 'build'], { cwd: REPO, stdio: 'inherit' });
    }
    await mkdir(SCREENSHOTS, { recursive: true });
    work = await mkdtemp(join(tmpdir(), 'lakehouse-e2e-'));
    const { dir } = await generatedProject(work, 3, 300);
    engine = await createEngine({ projectDir: dir });
    dispatcher = createDispatcher(engine);
    server = await startServer({ dispatcher, port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => console.error('[e2e] page error:', error));
    await page.goto(server.url);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await dispatcher?.close();
    engine?.close();
    if (work) await rm(work, { recursive: true, force: true });
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
});
