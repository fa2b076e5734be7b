import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, type OpenApp, openApp } from '../helpers/browser.ts';
import { removeDir, tempDir } from '../helpers/project.ts';
import { events, writeDay } from '../helpers/source-files.ts';

// The Sources form edits lakehouse.yaml in place: saving a source the user did not change leaves the file
// as it was, defaults the file leaves out included.

describe.skipIf(!hasChromium)('editing a source in the Sources form', () => {
  let work: string;
  let app: OpenApp;
  const PROJECT = 'name: form\nsources:\n  logs:\n    kind: daily_parquet\n    path: raw\n';

  beforeAll(async () => {
    work = await tempDir('lakehouse-sources-form-');
    await writeDay(join(work, 'raw'), '20220601', events(3));
    await writeFile(join(work, 'lakehouse.yaml'), PROJECT);
    await mkdir(join(work, 'models', 'bronze'), { recursive: true });
    await writeFile(join(work, 'models', 'bronze', 'logs.sql'), 'SELECT * FROM source.logs\n');
    app = await openApp({ projectDir: work });
    await app.page.getByTestId('tab-sources').click();
  }, 180_000);
  afterAll(async () => {
    await app?.close();
    if (work) await removeDir(work);
  });

  it('saved unchanged adds no date_format or columns the file left out', async () => {
    const { page } = app;
    await page.getByTestId('source-edit-logs').click();
    await expect.poll(() => page.getByTestId('new-source-location').inputValue()).toBe('raw');
    await page.getByTestId('source-save').click();
    await expect.poll(() => page.getByTestId('source-save-result').textContent()).toMatch(/^Updated logs/);
    expect(await readFile(join(work, 'lakehouse.yaml'), 'utf8')).toBe(PROJECT);
  });
});
