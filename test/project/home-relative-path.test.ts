import { writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../engine/project/config.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// lakehouse.yaml's paths are not expanded as a shell would: `~/days` written by hand was read as a folder
// named ~ inside the project, which runs then reported missing. Loading refuses it as saving a source does.

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
