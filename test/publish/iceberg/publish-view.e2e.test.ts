import { stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../engine/engine.ts';
import { hasChromium, type OpenApp, openApp } from '../../helpers/browser.ts';
import { generatedProject, removeDir, tempDir } from '../../helpers/project.ts';

// The Publish panel in Chromium over HTTP: preflight, publish with reconciliation, then the history of
// the fact table after a second day (snapshots, time travel to day 1, diff between the two).

describe.skipIf(!hasChromium)('the Publish panel', () => {
  let work: string;
  let app: OpenApp;
  let engine: Engine;
  let page: Page;
  let dates: string[];

  beforeAll(async () => {
    work = await tempDir('iceberg-e2e-');
    const project = await generatedProject(work, 2, 200);
    dates = project.dates;
    app = await openApp({
      projectDir: project.dir,
      prepare: async (engine) => {
        await engine.run({ dates: [dates[0]!] });
      },
      page: { viewport: { width: 1280, height: 900 } },
    });
    ({ engine, page } = app);
  }, 240_000);

  afterAll(async () => {
    await app?.close();
    if (work) await removeDir(work);
  });

  it('offers nothing to run without a target, as the Redshift form does', async () => {
    await page.getByTestId('tab-publish').click();
    const target = page.getByTestId('publish-target');
    const buttons = ['publish-preflight', 'publish-run', 'history-load'].map((id) => page.getByTestId(id));
    for (const empty of ['', '   ']) {
      await target.fill(empty);
      for (const button of buttons) expect(await button.isDisabled()).toBe(true);
    }
    await target.fill(join(work, 'published'));
    for (const button of buttons) expect(await button.isEnabled()).toBe(true);
    expect(await page.getByTestId('publish-error').count()).toBe(0);
    // The form asks for no credentials: it says where an s3:// warehouse takes them from.
    expect(await page.getByTestId('publish-hint').textContent()).toContain('standard AWS credentials');
  });

  it('previews, publishes, and shows snapshots, time travel and a diff', async () => {
    // Longer than a clipped cell holds: the panel shows it whole all the same.
    const warehouse = join(
      work,
      'published',
      'a-warehouse-folder-with-a-long-name-to-check-it-is-shown-whole',
    );
    await page.getByTestId('tab-publish').click();
    await page.getByTestId('publish-target').fill(warehouse);
    await page.getByTestId('publish-preflight').click();
    const factPlan = page.getByTestId('preflight-fact_customer_search');
    await factPlan.waitFor();
    expect(await factPlan.textContent()).toMatch(/new table, [\d,]+ rows.*partitions by date_key/);
    await expectShownWhole(page, 'publish-preflight-target', `file-system warehouse ${warehouse}`);

    // Waits for the reply, not just for "Publishing…" to go: it may not have shown yet.
    const publish = async () => {
      const replied = page.waitForResponse((r) => r.url().endsWith('/rpc/publish.iceberg.run'));
      await page.getByTestId('publish-run').click();
      await replied;
      await page.getByTestId('publish-busy').waitFor({ state: 'detached' });
      return page.getByTestId('publish-outcome').textContent();
    };
    const tables = await page.locator('[data-testid^="preflight-"]').count();
    expect(await publish()).toBe(`Published ${tables} tables`);
    const rows = await page.getByTestId('publish-result').locator('tbody tr').allTextContents();
    expect(rows.length).toBeGreaterThan(5);
    for (const row of rows) expect(row).toContain('✓');
    await expectShownWhole(page, 'publish-result-target', `file-system warehouse ${warehouse}`);

    // Nothing changed since: every table is left as it is, and the summary says so.
    expect(await publish()).toBe(`${tables} tables already up to date; nothing written`);

    const dayOne = Number(await engine.db.scalar('SELECT count(*) FROM gold.fact_customer_search'));
    await engine.run({ dates: [dates[1]!] });
    const outcome = await publish();
    expect(await page.getByTestId('result-fact_customer_search').textContent()).toMatch(/append/);
    const actions = await page
      .getByTestId('publish-result')
      .locator('tbody td:nth-child(2)')
      .allTextContents();
    const unchanged = actions.filter((action) => action === 'none').length;
    expect(unchanged).toBeGreaterThan(0);
    expect(outcome).toBe(`Published ${tables - unchanged} tables, ${unchanged} unchanged`);

    await page.getByTestId('history-table').selectOption('fact_customer_search');
    await page.getByTestId('history-load').click();
    await page.getByTestId('history-snapshots').waitFor();
    expect(await page.getByTestId('history-snapshot').count()).toBe(2);
    const diffChoices = page.getByTestId('history-snapshots').locator('input[type="radio"]');
    expect(await diffChoices.count()).toBe(4);

    // Time travel: the older snapshot holds day 1 only.
    await page.getByTestId('history-scan').nth(1).click();
    await page.getByTestId('history-scan-result').waitFor();
    expect(await page.getByTestId('history-scan-result').textContent()).toContain(
      `${dayOne.toLocaleString('en-US')} rows`,
    );

    const total = Number(await engine.db.scalar('SELECT count(*) FROM gold.fact_customer_search'));
    await page.getByTestId('history-diff').click();
    await page.getByTestId('history-diff-result').waitFor();
    expect(await page.getByTestId('history-diff-result').textContent()).toContain(
      `${(total - dayOne).toLocaleString('en-US')} rows added, 0 removed`,
    );
    await page.screenshot({ path: join(work, 'publish.png'), fullPage: true });

    // Another table: the fact table's snapshots, rows and diff go, rather than read as dim_user's.
    await page.getByTestId('history-table').selectOption('dim_user');
    for (const shown of ['history-snapshots', 'history-scan-result', 'history-diff-result']) {
      expect(await page.getByTestId(shown).count()).toBe(0);
    }
    await page.getByTestId('history-load').click();
    await page.getByTestId('history-snapshots').waitFor();
    await page.getByTestId('history-scan').first().click();
    await page.getByTestId('history-scan-result').waitFor();
    expect(await page.getByTestId('history-scan-result').textContent()).toContain('dim_user as of snapshot');
    expect(await page.getByTestId('publish-error').count()).toBe(0);

    // Another target: what was listed from the last one goes too, and so does its preflight.
    await page.getByTestId('publish-preflight').click();
    await page.getByTestId('publish-preflight-result').waitFor();
    await page.getByTestId('publish-target').fill(join(work, 'another-warehouse'));
    expect(await page.getByTestId('publish-preflight-result').count()).toBe(0);
    expect(await page.getByTestId('history-snapshots').count()).toBe(0);
    expect(await page.getByTestId('history-scan-result').count()).toBe(0);
  });

  it('finds the files a killed publish left, and removes those older than 72 hours on a second click', async () => {
    const warehouse = join(work, 'orphans-warehouse');
    await page.getByTestId('tab-publish').click();
    await page.getByTestId('publish-target').fill(warehouse);
    const replied = page.waitForResponse((r) => r.url().endsWith('/rpc/publish.iceberg.run'));
    await page.getByTestId('publish-run').click();
    await replied;
    await page.getByTestId('publish-busy').waitFor({ state: 'detached' });
    // What a publish killed before its commit leaves: a data file and a manifest no snapshot names,
    // one from four days ago and one just written (perhaps a publish still running).
    const data = join(warehouse, 'gold', 'fact_customer_search', 'data');
    const old = join(data, 'killed-00000.parquet');
    const fresh = join(data, 'writing-00000.parquet');
    await writeFile(old, 'left by a killed publish');
    await writeFile(fresh, 'being written');
    const fourDaysAgo = new Date(Date.now() - 4 * 86_400_000);
    await utimes(old, fourDaysAgo, fourDaysAgo);

    await page.getByTestId('orphans-find').click();
    const fact = page.getByTestId('orphans-fact_customer_search');
    await fact.waitFor();
    expect(await page.getByTestId('orphans-result').getAttribute('data-dry-run')).toBe('true');
    expect(await fact.locator('td').allTextContents()).toEqual([
      'fact_customer_search',
      '1 (24 bytes)',
      '1',
      expect.stringMatching(/^\d+$/),
    ]);
    expect(await stat(old).then(() => true)).toBe(true);
    await page.getByTestId('orphans-remove').click();
    await expect.poll(() => page.getByTestId('orphans-result').getAttribute('data-dry-run')).toBe('false');
    await expect(stat(old)).rejects.toThrow(/ENOENT/);
    expect((await stat(fresh)).size).toBe(13);
    expect(await page.getByTestId('orphans-remove').count()).toBe(0);
    expect(await page.getByTestId('publish-error').count()).toBe(0);
    // The list is as wide as its four short columns, not stretched across the panel (1280 px here).
    const widths = await page.getByTestId('orphans-result').evaluate((table) => ({
      table: table.getBoundingClientRect().width,
      panel: (table.closest('[data-testid="publish-iceberg"]') as HTMLElement).getBoundingClientRect().width,
    }));
    expect(widths.table).toBeLessThan(widths.panel * 0.6);
    // The table still reads: its snapshots are untouched.
    await page.getByTestId('history-table').selectOption('fact_customer_search');
    await page.getByTestId('history-load').click();
    await page.getByTestId('history-snapshots').waitFor();
    // Published once, the table has one snapshot: nothing to diff, so no from/to choices to make.
    expect(await page.getByTestId('history-snapshot').count()).toBe(1);
    expect(await page.getByTestId('history-snapshots').locator('input[type="radio"]').count()).toBe(0);
    expect(await page.getByTestId('history-snapshots').locator('th').first().textContent()).toBe('time');
    expect(await page.getByTestId('history-diff').count()).toBe(0);
    await page.getByTestId('history-scan').first().click();
    await page.getByTestId('history-scan-result').waitFor();
  });

  it('says where credentials come from, and takes an error away when its target changes, on both panels', async () => {
    await page.getByTestId('tab-publish').click();
    const icebergError = page.getByTestId('publish-error');
    const failIcebergPreflight = async () => {
      await page.getByTestId('publish-target-kind').selectOption('catalog');
      await page.getByTestId('publish-target').fill('no-such-catalog');
      await page.getByTestId('publish-preflight').click();
      await icebergError.waitFor();
    };
    await failIcebergPreflight();
    expect(await icebergError.textContent()).toContain('no-such-catalog');
    await page.getByTestId('publish-target-kind').selectOption('warehouse');
    expect(await icebergError.count()).toBe(0);
    await failIcebergPreflight();
    await page.getByTestId('publish-target').fill(join(work, 'published'));
    expect(await icebergError.count()).toBe(0);

    await page.getByTestId('publish-to-redshift').click();
    // Nor does this form ask for a password: it says where each kind of target takes it from.
    const hint = page.getByTestId('redshift-hint');
    expect(await hint.textContent()).toMatch(
      /password is read from PGPASSWORD.*target under publish\.redshift/,
    );
    const redshiftError = page.getByTestId('redshift-error');
    await page.getByTestId('redshift-target-kind').selectOption('target');
    expect(await hint.textContent()).toContain('the environment variable its password_env names');
    await page.getByTestId('redshift-target').fill('no-such-target');
    await page.getByTestId('redshift-preflight').click();
    await redshiftError.waitFor();
    expect(await redshiftError.textContent()).toContain('no-such-target');
    await page.getByTestId('redshift-target-kind').selectOption('url');
    expect(await redshiftError.count()).toBe(0);
    await page.getByTestId('publish-to-iceberg').click();
  });

  it('shows the progress and the error of Find orphan files and of Snapshots beside their buttons, in sight', async () => {
    // Short enough that both actions sit below the panel's top, where their errors used to go unseen.
    await page.setViewportSize({ width: 1024, height: 500 });
    try {
      await page.getByTestId('tab-publish').click();
      await page.getByTestId('publish-target-kind').selectOption('catalog');
      await page.getByTestId('publish-target').fill('no-such-catalog');
      const inSight = (testId: string) =>
        page.getByTestId(testId).evaluate((el) => {
          const box = el.getBoundingClientRect();
          return box.top >= 0 && box.bottom <= window.innerHeight;
        });

      // While each action runs, what it is doing shows beside its button, not at the panel's top.
      const expectBusyBeside = async (
        method: string,
        click: () => Promise<void>,
        testId: string,
        label: string,
      ) => {
        const release = await holdRpc(page, method);
        await click();
        await expect.poll(() => page.getByTestId(testId).textContent()).toBe(label);
        expect(await inSight(testId)).toBe(true);
        expect(await page.getByTestId('publish-busy').count()).toBe(0);
        await release();
        await page.getByTestId(testId).waitFor({ state: 'detached' });
      };

      await expectBusyBeside(
        'iceberg.orphans',
        () => page.getByTestId('orphans-find').click(),
        'orphans-busy',
        'Looking for orphan files…',
      );
      const orphansError = page.getByTestId('orphans-error');
      await orphansError.waitFor();
      expect(await orphansError.textContent()).toContain('no-such-catalog');
      await expect.poll(() => inSight('orphans-error')).toBe(true);
      expect(await page.getByTestId('publish-error').count()).toBe(0);

      await page.getByTestId('history-table').selectOption('dim_user');
      await expectBusyBeside(
        'iceberg.snapshots',
        () => page.getByTestId('history-load').click(),
        'history-busy',
        'Loading history…',
      );
      const historyError = page.getByTestId('history-error');
      await historyError.waitFor();
      expect(await historyError.textContent()).toContain('no-such-catalog');
      await expect.poll(() => inSight('history-error')).toBe(true);
      // The next action takes the last one's error away, wherever it was shown.
      expect(await orphansError.count()).toBe(0);
      expect(await page.getByTestId('publish-error').count()).toBe(0);
      // It was about the table it was asked for: another table's choice takes it away.
      await page.getByTestId('history-table').selectOption('fact_customer_search');
      expect(await historyError.count()).toBe(0);
    } finally {
      await page.getByTestId('publish-target-kind').selectOption('warehouse');
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });
});

/** Holds the app's calls of `method` until the returned function lets them through (and stops holding). */
async function holdRpc(page: Page, method: string): Promise<() => Promise<void>> {
  let letThrough = () => {};
  const released = new Promise<void>((resolve) => {
    letThrough = resolve;
  });
  const passed: Promise<void>[] = [];
  const url = `**/rpc/${method}`;
  await page.route(url, (route) => {
    passed.push(released.then(() => route.continue()));
  });
  return async () => {
    letThrough();
    // Unrouted before the held calls went on, they would fail with the route gone.
    await Promise.all(passed);
    await page.unroute(url);
  };
}

/** The element shows `text` in full: neither it nor a box around it cuts any of it off. */
async function expectShownWhole(page: Page, testId: string, text: string): Promise<void> {
  const element = page.getByTestId(testId);
  expect(await element.textContent()).toBe(text);
  const clippedBy = await element.evaluate((start) => {
    for (let e: Element | null = start; e && e !== document.body; e = e.parentElement) {
      if (getComputedStyle(e).overflowX !== 'visible' && e.scrollWidth > e.clientWidth) return e.outerHTML;
    }
    return null;
  });
  expect(clippedBy).toBeNull();
}
