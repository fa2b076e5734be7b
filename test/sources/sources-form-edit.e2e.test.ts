import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { hasChromium, type OpenApp, openApp } from '../helpers/browser.ts';
import { removeDir, tempDir } from '../helpers/project.ts';
import { events, writeDay } from '../helpers/source-files.ts';

// The Sources form edits lakehouse.yaml in place: saving a source the user did not change leaves the file
// as it was, defaults the file leaves out included; a file named otherwise is mapped with its rename.

describe.skipIf(!hasChromium)('editing a source in the Sources form', () => {
  let work: string;
  let app: OpenApp;
  const PROJECT =
    'name: form\nsources:\n  logs:\n    kind: daily_parquet\n    path: raw\n' +
    '  planned:\n    kind: file\n    path: labels.csv\n    rename:\n      # keyword: title\n      # category: genres\n';

  beforeAll(async () => {
    work = await tempDir('lakehouse-sources-form-');
    await writeDay(join(work, 'raw'), '20220601', events(3));
    await writeFile(join(work, 'labels.csv'), 'No,keyword,category\n1,Conan,Anime\n');
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

  it('saved unchanged keeps a rename whose entries are all commented out, with its comments', async () => {
    const { page } = app;
    await page.getByTestId('source-edit-planned').click();
    await expect.poll(() => page.getByTestId('new-source-location').inputValue()).toBe('labels.csv');
    await page.getByTestId('source-save').click();
    await expect.poll(() => page.getByTestId('source-save-result').textContent()).toMatch(/^Updated planned/);
    expect(await readFile(join(work, 'lakehouse.yaml'), 'utf8')).toBe(PROJECT);
  });

  it('maps a file whose columns are named otherwise with its rename, and shows the rename when edited', async () => {
    const { page } = app;
    await page.getByTestId('source-form-new').click();
    await page.getByTestId('new-source-name').fill('labels');
    await page.getByTestId('new-source-kind').selectOption('file');
    await page.getByTestId('new-source-location').fill('labels.csv');
    await page.getByTestId('new-source-required-columns').fill('title, genres');
    await page.getByTestId('new-source-test').click();
    await expect
      .poll(() => page.getByTestId('source-result-new').textContent())
      .toContain('lacks required columns title, genres (found No, keyword, category)');
    await page.getByTestId('new-source-rename').fill('keyword=title, category=genres');
    await page.getByTestId('new-source-test').click();
    await expect
      .poll(() => page.getByTestId('source-result-new').textContent())
      .toContain('reads No VARCHAR, title VARCHAR, genres VARCHAR');
    await page.getByTestId('source-save').click();
    await expect.poll(() => page.getByTestId('source-save-result').textContent()).toMatch(/^Added labels/);
    expect(parseYaml(await readFile(join(work, 'lakehouse.yaml'), 'utf8')).sources.labels).toEqual({
      kind: 'file',
      path: 'labels.csv',
      required_columns: ['title', 'genres'],
      rename: { keyword: 'title', category: 'genres' },
    });
    await page.getByTestId('source-edit-labels').click();
    await expect
      .poll(() => page.getByTestId('new-source-rename').inputValue())
      .toBe('keyword=title, category=genres');
  });
});
