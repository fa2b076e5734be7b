import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { createS3Client } from '../../engine/storage/s3-client.ts';
import { type RunningServer, startServer } from '../../server/http-server.ts';
import { launchChromium, newAppPage, SCREENSHOTS } from '../helpers/browser.ts';
import { generatedProject, PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';
import { type S3Server, startS3Server, uploadTree, useS3rverCredentials } from './s3-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';

/** The built renderer if it already has the Sources view's form; else a build of it into `work`. */
function renderer(work: string): string {
  const dist = join(PROJECT_ROOT, 'dist', 'renderer');
  const assets = join(dist, 'assets');
  const built =
    existsSync(assets) &&
    readdirSync(assets).some(
      (f) => f.endsWith('.js') && readFileSync(join(assets, f), 'utf8').includes('source-save'),
    );
  if (built) return dist;
  const out = join(work, 'renderer');
  execFileSync('npx', ['vite', 'build', '--outDir', out, '--emptyOutDir'], {
    cwd: PROJECT_ROOT,
    stdio: 'ignore',
  });
  return out;
}

describe.skipIf(!existsSync(CHROMIUM))('the Sources view in the browser', () => {
  let work: string;
  let s3: S3Server;
  let engine: Engine;
  let dispatcher: Dispatcher;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let projectDir: string;
  const endpointBefore = process.env.AWS_ENDPOINT_URL_S3;

  beforeAll(async () => {
    useS3rverCredentials();
    work = await tempDir('lakehouse-sources-ui-');
    s3 = await startS3Server(['raw']);
    const { dir } = await generatedProject(work, 2, 200);
    projectDir = dir;
    await uploadTree(createS3Client({ endpoint: s3.endpoint }), join(work, 'data'), 'raw', 'logs');
    // The project's own S3 client finds s3rver through the standard setting, as a user's shell would.
    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    engine = await createEngine({ projectDir: dir });
    dispatcher = createDispatcher(engine);
    server = await startServer({ dispatcher, port: 0, staticDir: renderer(work) });
    browser = await launchChromium();
    page = await newAppPage(browser);
    await page.goto(server.url);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await dispatcher?.close();
    engine?.close();
    await s3?.close();
    if (work) await removeDir(work);
    if (endpointBefore === undefined) delete process.env.AWS_ENDPOINT_URL_S3;
    else process.env.AWS_ENDPOINT_URL_S3 = endpointBefore;
  });

  it('tests a configured source and an unsaved S3 source, showing what it found or the error', async () => {
    await page.getByTestId('tab-sources').click();
    await page.getByTestId('source-test-customer_search_log').click();
    await expect
      .poll(() => page.getByTestId('source-result-customer_search_log').textContent())
      .toMatch(/^2 days \(2022-06-01 \.\. 2022-06-02\), 2 Parquet files/);

    await page.getByTestId('new-source-location').fill('s3://no-such-bucket/raw');
    await page.getByTestId('new-source-endpoint').fill(s3.endpoint);
    await page.getByTestId('new-source-test').click();
    await expect
      .poll(() => page.getByTestId('source-result-new').textContent())
      .toMatch(/^STORAGE_BUCKET_MISSING: .*bucket no-such-bucket does not exist/);

    await page.getByTestId('new-source-location').fill('s3://raw/logs/customer_search_log_data');
    await page.getByTestId('new-source-test').click();
    await expect.poll(() => page.getByTestId('source-result-new').textContent()).toMatch(/^2 days/);
  });

  it('adds an S3 source with the form, saves it to lakehouse.yaml and lists it; editing fills the form', async () => {
    await page.getByTestId('new-source-name').fill('raw_on_s3');
    await page.getByTestId('new-source-location').fill('s3://raw/logs/customer_search_log_data');
    // The project reaches s3rver already (AWS_ENDPOINT_URL_S3), so no S3 setting needs saving.
    await page.getByTestId('new-source-endpoint').fill('');
    await page.getByTestId('new-source-profile').fill('');
    await page.getByTestId('new-source-columns').fill('eventID: VARCHAR\nkeyword: VARCHAR');
    await page.getByTestId('new-source-test').click();
    // The previous test's result already reads "2 days": wait for this test's answer to replace it.
    await expect.poll(() => page.getByTestId('new-source-test').textContent()).toBe('Test connection');
    expect(await page.getByTestId('source-result-new').textContent()).toMatch(/^2 days/);
    await page.getByTestId('source-save').click();
    await expect
      .poll(() => page.getByTestId('source-save-result').textContent())
      .toBe('Added raw_on_s3 in lakehouse.yaml.');
    // A screen reader says it too.
    expect(await page.getByRole('status').filter({ hasText: 'Added raw_on_s3' }).count()).toBe(1);
    expect(await page.getByTestId('source-form-title').textContent()).toBe('Edit raw_on_s3');
    // The test of what was typed before the save does not stand beside the save's message.
    expect(await page.getByTestId('source-result-new').count()).toBe(0);

    const yaml = await readFile(join(projectDir, 'lakehouse.yaml'), 'utf8');
    expect(yaml).toContain('# Reference catalog of titles used to normalise search keywords');
    expect(yaml).toMatch(
      /raw_on_s3:\n {4}kind: daily_parquet\n {4}path: s3:\/\/raw\/logs\/customer_search_log_data\n {4}date_format: "?%Y%m%d"?\n {4}columns:\n {6}eventID: VARCHAR\n {6}keyword: VARCHAR\n/,
    );

    // Listed with where it reads, and the engine reads it by name straight away.
    await expect
      .poll(() => page.getByTestId('source-location-raw_on_s3').textContent())
      .toBe('s3://raw/logs/customer_search_log_data');
    await page.getByTestId('source-test-raw_on_s3').click();
    await expect
      .poll(() => page.getByTestId('source-result-raw_on_s3').textContent())
      .toMatch(/^2 days \(2022-06-01 \.\. 2022-06-02\), 2 Parquet files/);
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'sources-saved.png'), fullPage: true });

    await page.getByTestId('source-edit-title_catalog').click();
    await expect.poll(() => page.getByTestId('source-form-title').textContent()).toBe('Edit title_catalog');
    expect(await page.getByTestId('new-source-name').inputValue()).toBe('title_catalog');
    expect(await page.getByTestId('new-source-required-columns').inputValue()).toBe('title, genres');
    expect(await page.getByTestId('new-source-location').inputValue()).toBe(
      engine.project.config.sources.title_catalog?.kind === 'file'
        ? engine.project.config.sources.title_catalog.path
        : '',
    );

    // A fresh page asks project.info: the engine lists the saved source.
    await page.reload();
    await page.getByTestId('tab-sources').click();
    await expect.poll(() => page.getByTestId('source-raw_on_s3').count()).toBe(1);

    // What a day without a delivery reads: saved as if_missing, and shown again when editing.
    await page.getByTestId('source-edit-raw_on_s3').click();
    // An empty form's if_missing is "fail" too: a choice made before the saved definition arrives is
    // overwritten by it, so wait for the form to be the edit's.
    await expect.poll(() => page.getByTestId('source-form-title').textContent()).toBe('Edit raw_on_s3');
    expect(await page.getByTestId('new-source-if-missing').inputValue()).toBe('fail');
    await page.getByTestId('new-source-if-missing').selectOption('latest');
    await page.getByTestId('source-save').click();
    await expect
      .poll(() => page.getByTestId('source-save-result').textContent())
      .toMatch(/^Updated raw_on_s3 in lakehouse\.yaml\./);
    expect(await readFile(join(projectDir, 'lakehouse.yaml'), 'utf8')).toMatch(
      /raw_on_s3:\n {4}kind: daily_parquet\n {4}path: s3:\/\/raw\/logs\/customer_search_log_data\n {4}date_format: "?%Y%m%d"?\n {4}columns:\n {6}eventID: VARCHAR\n {6}keyword: VARCHAR\n {4}if_missing: latest\n/,
    );
    expect(engine.project.config.sources.raw_on_s3).toMatchObject({ if_missing: 'latest' });
    await page.reload();
    await page.getByTestId('tab-sources').click();
    await page.getByTestId('source-edit-raw_on_s3').click();
    await expect.poll(() => page.getByTestId('new-source-if-missing').inputValue()).toBe('latest');
  });

  it('keeps what the crawl form does not show (a paging start of 0) when a crawl source is edited', async () => {
    await dispatcher.call('sources.save', {
      name: 'catalog_api',
      source: {
        kind: 'crawl',
        url: 'http://127.0.0.1:9/titles',
        paging: { type: 'page', param: 'p', start: 0 },
        items_path: 'data',
      },
    });
    await page.reload();
    await page.getByTestId('tab-sources').click();
    await page.getByTestId('source-edit-catalog_api').click();
    await expect.poll(() => page.getByTestId('source-form-title').textContent()).toBe('Edit catalog_api');
    await page.getByTestId('new-source-items-path').fill('data.items');
    await page.getByTestId('source-save').click();
    await expect
      .poll(() => page.getByTestId('source-save-result').textContent())
      .toBe('Updated catalog_api in lakehouse.yaml.');
    expect(engine.project.config.sources.catalog_api).toMatchObject({
      items_path: 'data.items',
      paging: { type: 'page', param: 'p', start: 0 },
    });
  });

  it('names an unsaved source by the name typed when its test fails, as a run of it would', async () => {
    await page.getByTestId('source-form-new').click();
    await page.getByTestId('new-source-name').fill('typed_logs');
    await page.getByTestId('new-source-location').fill('s3://raw/logs/customer_search_log_data');
    await page.getByTestId('new-source-columns').fill('eventID: VARCHAR\nregion: VARCHAR');
    await page.getByTestId('new-source-test').click();
    await expect
      .poll(() => page.getByTestId('source-result-new').textContent())
      .toMatch(
        /^SOURCE_SCHEMA_MISMATCH: Source "typed_logs": \S+ lacks column region\..*sources\.typed_logs\.columns/,
      );
  });

  it('says which models read a source an edit takes declared columns from', async () => {
    await page.getByTestId('source-edit-customer_search_log').click();
    await expect
      .poll(() => page.getByTestId('source-form-title').textContent())
      .toBe('Edit customer_search_log');
    const columns = await page.getByTestId('new-source-columns').inputValue();
    await page.getByTestId('new-source-columns').fill(columns.replace(/^keyword: .*\n/m, ''));
    await page.getByTestId('source-save').click();
    await expect
      .poll(() => page.getByTestId('source-save-result').textContent())
      .toBe(
        'Updated customer_search_log in lakehouse.yaml. Read by bronze.customer_search, which no longer get ' +
          'column keyword: change the models that use them before the next run, or declare the columns again.',
      );
    await page.getByTestId('new-source-columns').fill(columns);
    await page.getByTestId('source-save').click();
    await expect
      .poll(() => page.getByTestId('source-save-result').textContent())
      .toBe(
        'Updated customer_search_log in lakehouse.yaml. Read by bronze.customer_search: its next run reads the source as saved.',
      );
  });

  it("keeps a source's buttons together and brings the form's test result into sight in a short window", async () => {
    await page.setViewportSize({ width: 1024, height: 700 });
    try {
      await page.getByTestId('tab-sources').click();
      // Shown while a source is being edited, as the tests before leave one.
      const addNew = page.getByTestId('source-form-new');
      if ((await addNew.count()) > 0) await addNew.click();
      for (const name of ['customer_search_log', 'title_catalog']) {
        // A source's buttons stay on one line: Remove went to a line of its own beside a long location.
        const tops = await Promise.all(
          ['test', 'edit', 'remove'].map(
            async (button) => (await page.getByTestId(`source-${button}-${name}`).boundingBox())?.y,
          ),
        );
        expect(new Set(tops).size, `${name}: ${tops.join(', ')}`).toBe(1);
        await page.getByTestId(`source-test-${name}`).click();
        await page.getByTestId(`source-result-${name}`).waitFor();
      }
      await page.getByTestId('new-source-name').fill('missing_logs');
      await page.getByTestId('new-source-location').fill(join(work, 'no-such-folder'));
      await page.getByTestId('new-source-test').click();
      const result = page.getByTestId('source-result-new');
      await expect.poll(() => result.textContent()).toMatch(/^SOURCE_MISSING: /);
      // It landed under the fold: Test connection looked as if it did nothing.
      await expect
        .poll(() =>
          result.evaluate((el) => {
            const box = el.getBoundingClientRect();
            return box.top >= 0 && box.bottom <= window.innerHeight;
          }),
        )
        .toBe(true);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it("forgets the form's test result once the form is edited or emptied, as it was about what was typed then", async () => {
    await page.getByTestId('tab-sources').click();
    const addNew = page.getByTestId('source-form-new');
    if ((await addNew.count()) > 0) await addNew.click();
    await page.getByTestId('new-source-location').fill(join(work, 'no-such-folder'));
    await page.getByTestId('new-source-test').click();
    const result = page.getByTestId('source-result-new');
    await expect.poll(() => result.textContent()).toMatch(/^SOURCE_MISSING: /);
    // It stayed beside a folder typed since, as the error of a refused save did.
    await page.getByTestId('new-source-location').fill(join(work, 'another-folder'));
    expect(await result.count()).toBe(0);
    await page.getByTestId('new-source-test').click();
    await expect.poll(() => result.textContent()).toContain('another-folder');
    // Nor does an emptied form keep the test of the source it was editing.
    await page.getByTestId('source-edit-title_catalog').click();
    await expect.poll(() => page.getByTestId('source-form-title').textContent()).toBe('Edit title_catalog');
    await page.getByTestId('new-source-test').click();
    await result.waitFor();
    await page.getByTestId('source-form-new').click();
    expect(await result.count()).toBe(0);
  });
});
