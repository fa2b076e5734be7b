import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject, type Project } from '../../engine/project/config.ts';
import { probeSource } from '../../engine/sources/probe.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// A file source lacking a required column says which rename maps it: a file column named the same in
// another case is named in the suggestion, with the renames already set, so it can be pasted as it is.
// A rename onto a name the file already has is refused: DuckDB read the file's own column as title_1.

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
  await writeFile(
    path,
    `${header}\n${header
      .split(',')
      .map((_, i) => `v${i}`)
      .join(',')}\n`,
  );
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

describe('a file source renaming a column onto a name the file has', () => {
  it.each([
    [{ keyword: 'title' }, 'reads column keyword as title, but', 'has a column title already'],
    [{ keyword: 'TITLE' }, 'reads column keyword as TITLE, but', 'has a column title already'],
    [{ keyword: 'name', title: 'name' }, 'reads column keyword as name, but', 'reads title as name too'],
  ])('(%o) is refused naming both columns', async (rename, first, second) => {
    const summary = await testedWith('keyword,title,genres', rename);
    expect(summary).toContain(first);
    expect(summary).toContain(second);
  });

  it('is read when the file column is renamed away too', async () => {
    const path = join(work, 'titles.csv');
    await writeFile(path, 'keyword,title,genres\nbong da,Conan,Anime\n');
    const rename = { keyword: 'title', title: 'original_title' };
    const result = await probeSource(project, { name: 'titles', source: { kind: 'file', path, rename } });
    expect(result.columns).toEqual(['title VARCHAR', 'original_title VARCHAR', 'genres VARCHAR']);
  });
});
