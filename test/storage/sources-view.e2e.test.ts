import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { createS3Client } from '../../engine/storage/s3-client.ts';
import { type RunningServer, startServer } from '../../server/http-server.ts';
import { generatedProject, PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';
import { type S3Server, startS3Server, uploadTree, useS3rverCredentials } from './s3-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';

/** The built renderer if it already has the Sources view; else a build of it into `work`. */
function renderer(work: string): string {
  const dist = join(PROJECT_ROOT, 'dist', 'renderer');
  const assets = join(dist, 'assets');
  const built =
    existsSync(assets) &&
    readdirSync(assets).some(
      (f) => f.endsWith('.js') && readFileSync(join(assets, f), 'utf8').includes('sources-view'),
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

  beforeAll(async () => {
    useS3rverCredentials();
    work = await tempDir('lakehouse-sources-ui-');
    s3 = await startS3Server(['raw']);
    const { dir } = await generatedProject(work, 2, 200);
    await uploadTree(createS3Client({ endpoint: s3.endpoint }), join(work, 'data'), 'raw', 'logs');
    engine = await createEngine({ projectDir: dir });
    dispatcher = createDispatcher(engine);
    server = await startServer({ dispatcher, port: 0, staticDir: renderer(work) });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--no-first-run',
      ],
    });
    page = await browser.newPage();
    await page.goto(server.url);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await dispatcher?.close();
    engine?.close();
    await s3?.close();
    if (work) await removeDir(work);
  });

  it('tests a configured source and an unsaved S3 source, showing what it found or the error', async () => {
    await page.getByTestId('tab-sources').click();
    await page.getByTestId('source-test-customer_search_log').click();
    await expect
      .poll(() => page.getByTestId('source-result-customer_search_log').textContent())
      .toMatch(/^2 day\(s\) \(2022-06-01 \.\. 2022-06-02\), 2 Parquet file\(s\)/);

    await page.getByTestId('new-source-location').fill('s3://no-such-bucket/raw');
    await page.getByTestId('new-source-endpoint').fill(s3.endpoint);
    await page.getByTestId('new-source-test').click();
    await expect
      .poll(() => page.getByTestId('source-result-new').textContent())
      .toMatch(/^STORAGE_BUCKET_MISSING: .*bucket no-such-bucket does not exist/);

    await page.getByTestId('new-source-location').fill('s3://raw/logs/customer_search_log_data');
    await page.getByTestId('new-source-test').click();
    await expect.poll(() => page.getByTestId('source-result-new').textContent()).toMatch(/^2 day\(s\)/);
    expect(await page.getByTestId('new-source-yaml').textContent()).toContain(
      `path: "s3://raw/logs/customer_search_log_data"`,
    );
  });
});
