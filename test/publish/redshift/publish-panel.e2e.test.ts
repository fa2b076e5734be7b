import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type Dispatcher } from '../../../engine/api/dispatcher.ts';
import { createEngine, type Engine } from '../../../engine/engine.ts';
import { type RunningServer, startServer } from '../../../server/http-server.ts';
import { hasChromium, launchChromium, newAppPage, SCREENSHOTS } from '../../helpers/browser.ts';
import { findPostgresBin, type PostgresServer, startPostgres } from '../../helpers/postgres.ts';
import { generatedProject, PROJECT_ROOT, removeDir, tempDir } from '../../helpers/project.ts';

// The Publish panel in Chromium over HTTP, for both targets: the Redshift section against a throwaway
// PostgreSQL (preflight with its DDL, publish with progress, result, rows read back from the server),
// then Iceberg to a local warehouse, watching its progress. Screenshots go to test/e2e/screenshots/.
const canRun = hasChromium && findPostgresBin() !== null;
if (!canRun) console.warn('[e2e] publish panel skipped: needs /usr/bin/chromium and postgresql');

/** What the progress bar showed, recorded in the page: a publish may be quicker than any poll. */
interface SeenProgress {
  target: string | null;
  text: string;
}

declare global {
  interface Window {
    seenProgress: SeenProgress[];
  }
}

describe.skipIf(!canRun)('the Publish panel, Redshift and Iceberg', () => {
  let work: string;
  let postgres: PostgresServer;
  let url: string;
  let engine: Engine;
  let dispatcher: Dispatcher;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let goldTables: string[];

  const seenProgress = (target: string) =>
    page.evaluate((t) => window.seenProgress.filter((p) => p.target === t), target);

  beforeAll(async () => {
    if (!existsSync(join(PROJECT_ROOT, 'dist', 'renderer', 'index.html'))) {
      execFileSync('npx', ['vite', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
    }
    await mkdir(SCREENSHOTS, { recursive: true });
    work = await tempDir('publish-panel-e2e-');
    const [started, project] = await Promise.all([startPostgres(), generatedProject(work, 2, 300)]);
    postgres = started;
    url = await postgres.createDatabase('warehouse');
    // The same database as a target named in lakehouse.yaml, for the panel's other way to choose one.
    await appendFile(
      join(project.dir, 'lakehouse.yaml'),
      `publish:\n  redshift:\n    local:\n      kind: postgres\n      host: ${postgres.host}\n      port: ${postgres.port}\n      user: postgres\n      database: warehouse\n`,
    );
    engine = await createEngine({ projectDir: project.dir });
    await engine.run({ dates: project.dates });
    goldTables = engine.models.filter((m) => m.layer === 'gold').map((m) => m.name);
    dispatcher = createDispatcher(engine);
    server = await startServer({ dispatcher, port: 0 });
    browser = await launchChromium();
    page = await newAppPage(browser);
    await page.addInitScript(() => {
      window.seenProgress = [];
      new MutationObserver(() => {
        for (const bar of document.querySelectorAll('[data-testid="publish-progress"]')) {
          const seen = { target: bar.getAttribute('data-target'), text: bar.textContent ?? '' };
          if (window.seenProgress.at(-1)?.text !== seen.text) window.seenProgress.push(seen);
        }
      }).observe(document, { childList: true, subtree: true, characterData: true });
    });
    await page.goto(server.url);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="project-name"]')?.textContent !== '…',
    );
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await dispatcher?.close();
    engine?.close();
    await postgres?.stop();
    if (work) await removeDir(work);
  });

  it('previews the Redshift load: the DDL to run and the rows per table', async () => {
    await page.getByTestId('tab-publish').click();
    await page.getByTestId('publish-to-redshift').click();
    await page.getByTestId('redshift-url').fill(url);
    await page.getByTestId('redshift-preflight').click();
    await page.getByTestId('redshift-preflight-result').waitFor();

    const ddl = (await page.getByTestId('redshift-ddl').textContent()) ?? '';
    for (const table of goldTables) expect(ddl).toContain(`CREATE TABLE "gold"."${table}"`);
    const factRows = Number(await engine.db.scalar('SELECT count(*) FROM gold.fact_customer_search'));
    expect(await page.getByTestId('redshift-preflight-fact_customer_search').textContent()).toContain(
      factRows.toLocaleString('en-US'),
    );
    expect(await page.getByTestId('redshift-conflicts').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'publish-redshift-preflight.png') });
  });

  it('keeps the Redshift form on one line in a 1024x640 window: Publish beside Preflight', async () => {
    const viewport = page.viewportSize()!;
    await page.setViewportSize({ width: 1024, height: 640 });
    try {
      // Centred on one line; on a line of its own, Publish started below the URL field's bottom.
      const middle = async (testId: string) => {
        const box = (await page.getByTestId(testId).boundingBox())!;
        return box.y + box.height / 2;
      };
      const field = await middle('redshift-url');
      await expect.poll(() => middle('redshift-run')).toBeCloseTo(field, 0);
      expect(await middle('redshift-preflight')).toBeCloseTo(field, 0);
      await page.screenshot({ path: join(SCREENSHOTS, 'publish-redshift-1024.png') });
    } finally {
      await page.setViewportSize(viewport);
    }
  });

  it('publishes to PostgreSQL with progress, shows the reconciled result, and the rows are there', async () => {
    await page.getByTestId('redshift-run').click();
    await page.getByTestId('redshift-result').waitFor();
    expect(await page.getByTestId('redshift-error').count()).toBe(0);

    const progress = await seenProgress('redshift');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.some((p) => /Loading: \w+/.test(p.text))).toBe(true);
    expect(progress.every((p) => /\d+ \/ \d+$/.test(p.text))).toBe(true);

    expect(await page.getByTestId('redshift-outcome').textContent()).toBe(
      `Published ${goldTables.length} tables`,
    );
    const rows = await page.getByTestId('redshift-result').locator('tbody tr').allTextContents();
    expect(rows).toHaveLength(goldTables.length);
    for (const row of rows) expect(row).toContain('✓');

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const table of goldTables) {
        const local = Number(await engine.db.scalar(`SELECT count(*) FROM gold.${table}`));
        const published = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM gold.${table}`);
        expect(published.rows[0]?.n, table).toBe(local);
      }
    } finally {
      await client.end();
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'publish-redshift-result.png') });
    await page.getByTestId('theme-toggle').click();
    await page.screenshot({ path: join(SCREENSHOTS, 'publish-redshift-result-dark.png') });
    await page.getByTestId('theme-toggle').click();
  });

  it('previews a re-publish to the target named in lakehouse.yaml: no new table, no facts to send', async () => {
    await page.getByTestId('redshift-target-kind').selectOption('target');
    await page.getByTestId('redshift-target').fill('local');
    await page.getByTestId('redshift-preflight').click();
    await page.getByTestId('redshift-preflight-result').waitFor();
    expect(await page.getByTestId('redshift-preflight-target').textContent()).toBe(
      `postgres@${postgres.host}:${postgres.port}/warehouse`,
    );
    // Only the swapped tables get a CREATE, of their replacement (`<table>__lakehouse_new`).
    const ddl = (await page.getByTestId('redshift-ddl').textContent()) ?? '';
    for (const table of goldTables) expect(ddl).not.toContain(`CREATE TABLE "gold"."${table}" (`);
    // Both dates are already there: the facts append nothing.
    const factCells = await page
      .getByTestId('redshift-preflight-fact_customer_search')
      .locator('td')
      .allTextContents();
    expect(factCells.slice(2, 5)).toEqual(['append', '600', '0']);
    await page.screenshot({ path: join(SCREENSHOTS, 'publish-redshift-named-target.png') });
  });

  it('re-publishes to the named target: the facts are sent nothing, and the summary says so', async () => {
    await page.getByTestId('redshift-run').click();
    await page.getByTestId('redshift-result').waitFor();
    expect(await page.getByTestId('redshift-error').count()).toBe(0);
    expect(await page.getByTestId('redshift-outcome').textContent()).toBe(
      `Published ${goldTables.length - 1} tables, 1 unchanged`,
    );
    expect(await page.getByTestId('redshift-result-target').textContent()).toBe(
      `postgres@${postgres.host}:${postgres.port}/warehouse, schema gold`,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'publish-redshift-republish.png') });
  });

  it('cancels a publish that is waiting on the target: rolled back, the target as it was', async () => {
    // Another session holds the gold tables: the publish's first write waits on it until cancelled.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    // Watched from outside the holder's transaction: a transaction sees pg_stat_activity as it was at
    // its first look, so the holder itself would never see the publish start waiting.
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    const tables = async () =>
      (
        await holder.query<{ name: string }>(
          `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'gold' ORDER BY 1`,
        )
      ).rows.map((r) => r.name);
    try {
      const before = await tables();
      await holder.query('BEGIN');
      await holder.query(`LOCK TABLE ${goldTables.map((t) => `gold."${t}"`).join(', ')} IN EXCLUSIVE MODE`);
      await page.getByTestId('redshift-run').click();
      const cancel = page.getByTestId('redshift-cancel');
      await cancel.waitFor();
      // Cancelled once a statement of the publish waits on the lock, not before it got there. A publish
      // that ends first (an error, or nothing to write) fails here with what the panel showed.
      const state = async () => {
        const waiting = await watcher.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'`,
        );
        if ((waiting.rows[0]?.n ?? 0) > 0) return 'waiting on the lock';
        if (await page.getByTestId('redshift-error').count()) {
          return `error: ${await page.getByTestId('redshift-error').textContent()}`;
        }
        if (await page.getByTestId('redshift-result').count()) return 'published';
        return 'starting';
      };
      await expect.poll(state, { timeout: 30_000 }).toBe('waiting on the lock');
      await page.screenshot({ path: join(SCREENSHOTS, 'publish-redshift-cancel.png') });
      await cancel.click();
      await page.getByTestId('redshift-error').waitFor();
      expect(await page.getByTestId('redshift-error').textContent()).toMatch(
        /The publish to .+ was cancelled; the target is unchanged\./,
      );
      // The publish is over: the button went with it, the last publish's result is not shown as this
      // one's, and the panel can publish again.
      expect(await cancel.count()).toBe(0);
      expect(await page.getByTestId('redshift-result').count()).toBe(0);
      expect(await page.getByTestId('redshift-run').isEnabled()).toBe(true);
      await holder.query('ROLLBACK');
      expect(await tables()).toEqual(before);
    } finally {
      await holder.end();
      await watcher.end();
    }
  });

  it('shows conflicts with no plan to run, and forgets them when another schema is chosen', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('ALTER TABLE gold.dim_user ADD COLUMN extra TEXT');
      await page.getByTestId('redshift-schema').fill('');
      await page.getByTestId('redshift-preflight').click();
      await page.getByTestId('redshift-conflicts').waitFor();
      expect(await page.getByTestId('redshift-conflicts').textContent()).toContain('dim_user.extra');
      // The plan is refused, so there is no DDL: not "every table exists with its columns".
      expect(await page.getByTestId('redshift-ddl').textContent()).toMatch(/No DDL or load is planned/);
      expect(await page.getByTestId('redshift-run').isDisabled()).toBe(true);
      await page.screenshot({ path: join(SCREENSHOTS, 'publish-redshift-conflicts.png') });

      // Another schema holds no such table: the conflicts were the other schema's, and block nothing.
      await page.getByTestId('redshift-schema').fill('fresh');
      expect(await page.getByTestId('redshift-preflight-result').count()).toBe(0);
      expect(await page.getByTestId('redshift-run').isEnabled()).toBe(true);
      await page.getByTestId('redshift-preflight').click();
      await page.getByTestId('redshift-preflight-result').waitFor();
      expect(await page.getByTestId('redshift-conflicts').count()).toBe(0);
      await page.getByTestId('redshift-schema').fill('');
    } finally {
      await client.query('ALTER TABLE gold.dim_user DROP COLUMN IF EXISTS extra');
      await client.end();
    }
  });

  it('publishes to an Iceberg warehouse from the same panel, with progress', async () => {
    await page.getByTestId('publish-to-iceberg').click();
    await page.getByTestId('publish-target').fill(join(work, 'warehouse'));
    await page.getByTestId('publish-run').click();
    await page.getByTestId('publish-result').waitFor();

    const progress = await seenProgress('iceberg');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.some((p) => p.text.includes('fact_customer_search'))).toBe(true);
    const rows = await page.getByTestId('publish-result').locator('tbody tr').allTextContents();
    expect(rows).toHaveLength(goldTables.length);
    for (const row of rows) expect(row).toContain('✓');
    await page.screenshot({ path: join(SCREENSHOTS, 'publish-iceberg-result.png') });
  });
});
