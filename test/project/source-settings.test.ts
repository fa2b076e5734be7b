import { writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../engine/project/config.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// Source settings written by hand that saving a source from the app refuses are refused at load too, in the
// same words: a path starting with ~ (not expanded as a shell would: it was read as a folder named ~ inside
// the project, which runs then reported missing), a date_format that names no day folder.

let work: string;

beforeAll(async () => {
  work = await tempDir('lakehouse-home-path-');
});
afterAll(async () => {
  await removeDir(work);
});

async function loadWith(yaml: string): Promise<string> {
  await writeFile(join(work, 'lakehouse.yaml'), yaml);
  return loadProject(work).then(
    () => 'loaded',
    (error: Error) => error.message,
  );
}

describe('a path starting with ~ in lakehouse.yaml', () => {
  it('refuses a source path, in the words saving it from the app uses', async () => {
    expect(await loadWith('name: home\nsources:\n  days: {kind: daily_parquet, path: ~/days}\n')).toBe(
      `${join(work, 'lakehouse.yaml')}: sources.days.path: "~/days" starts with ~, which lakehouse.yaml ` +
        `does not expand (it would be a folder named ~ inside the project): write the full path, such as ${join(homedir(), 'days')}.`,
    );
  });

  it('refuses the lake too, and still loads a path with ~ further in', async () => {
    expect(await loadWith('name: home\nlake: ~other/lake\nsources: {}\n')).toContain(
      'lake: "~other/lake" starts with ~, which lakehouse.yaml does not expand (it would be a folder named ~other inside the project)',
    );
    expect(await loadWith('name: home\nsources:\n  days: {kind: daily_parquet, path: data/~days}\n')).toBe(
      'loaded',
    );
  });
});

describe('a date_format in lakehouse.yaml', () => {
  it('refuses one without a day, which each run failed on as "no calendar date"', async () => {
    expect(
      await loadWith(
        "name: monthly\nsources:\n  days: {kind: daily_parquet, path: days, date_format: '%Y%m'}\n",
      ),
    ).toBe(
      `${join(work, 'lakehouse.yaml')}: sources.days.date_format: "%Y%m" must hold %Y, %m and %d once each, as a daily ` +
        'source has one folder per day: e.g. %Y%m%d (20220601), %Y-%m-%d or %Y/%m/%d.',
    );
    expect(
      await loadWith(
        "name: hive\nsources:\n  days: {kind: daily_parquet, path: days, date_format: 'year=%Y/month=%m/day=%d'}\n",
      ),
    ).toBe('loaded');
  });
});
