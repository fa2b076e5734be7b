import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject, type Project } from '../../engine/project/config.ts';
import { probeSource } from '../../engine/sources/probe.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// A CSV file saved in another encoding than UTF-8 (Excel's Latin-1 CSV or UTF-16 "Unicode text") is
// refused saying to save it as UTF-8: setting the source's format, as other read faults suggest, would not help.
// An Excel workbook is refused saying to export it as CSV.

let work: string;
let project: Project;
beforeAll(async () => {
  work = await tempDir('lakehouse-file-encoding-');
  await writeFile(join(work, 'lakehouse.yaml'), 'name: encoding\nsources: {}\n');
  project = await loadProject(work);
});
afterAll(() => removeDir(work));

describe('a CSV file source not in UTF-8', () => {
  it.each([
    ['latin-1', Buffer.from('title,genres\nPokémon,Anime\n', 'latin1')],
    ['UTF-16', Buffer.from('\uFEFFtitle\tgenres\nPokémon\tAnime\n', 'utf16le')],
  ])('(%s) says to save it as UTF-8, not to set its format', async (_, bytes) => {
    const path = join(work, 'titles.csv');
    await writeFile(path, bytes);
    const result = await probeSource(project, { name: 'titles', source: { kind: 'file', path } });
    expect(result.error?.code).toBe('SOURCE_UNREADABLE');
    expect(result.summary).toContain('This file is not utf-8 encoded. Save it as UTF-8 (Excel: "CSV UTF-8"');
    expect(result.summary).not.toContain('sources.titles.format');
  });
});

describe('a spreadsheet workbook as a file source', () => {
  it.each(['titles.xlsx', 'titles.dat'])('(%s) says to export it as CSV UTF-8', async (file) => {
    const path = join(work, file);
    // A zip archive's first bytes, as every .xlsx file starts.
    await writeFile(path, Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(60)]));
    const result = await probeSource(project, { name: 'titles', source: { kind: 'file', path } });
    expect(result.error?.code).toBe('SOURCE_UNREADABLE');
    expect(result.summary).toContain(
      `${path} is a spreadsheet workbook (or another zip archive), which is not read.`,
    );
  });
});
