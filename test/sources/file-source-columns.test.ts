import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject, type Project } from '../../engine/project/config.ts';
import { probeSource } from '../../engine/sources/probe.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// A file source lacking a required column says which rename maps it: a file column named the same in
// another case is named in the suggestion, with the renames already set, so it can be pasted as it is.

let work: string;
let project: Project;
beforeAll(async () => {
  work = await tempDir('lakehouse-file-columns-');
  await writeFile(join(work, 'lakehouse.yaml'), 'name: columns\nsources: {}\n');
  project = await loadProject(work);
});
afterAll(() => removeDir(work));

async function testedWith(header: string, rename: Record<string, string> = {}): Promise<string> {
  const path = join(work, 'titles.csv');
  await writeFile(path, `${header}\nConan,Anime\n`);
  const source = { kind: 'file', path, required_columns: ['title', 'genres'], rename };
  const result = await probeSource(project, { name: 'titles', source });
  expect(result.error?.code).toBe('SOURCE_SCHEMA_MISMATCH');
  return result.summary;
}

describe('a file source lacking a required column', () => {
  it.each([
    ['Title,Genres', {}, '{Title: title, Genres: genres}', 'Title=title,Genres=genres'],
    ['keyword,Genres', {}, '{<file column>: title, Genres: genres}', '<file column>=title,Genres=genres'],
    [
      'keyword,GENRES',
      { keyword: 'title' },
      '{keyword: title, GENRES: genres}',
      'keyword=title,GENRES=genres',
    ],
  ])('with header %s (rename %o) suggests rename %s', async (header, rename, suggested, flag) => {
    const summary = await testedWith(header, rename);
    expect(summary).toContain(
      `sources.titles.rename: ${suggested} (init takes the same as --catalog-rename ${flag}).`,
    );
  });
});
