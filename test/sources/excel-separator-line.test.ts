import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../engine/db/duckdb.ts';
import { loadProject } from '../../engine/project/config.ts';
import { probeSource } from '../../engine/sources/probe.ts';
import { referenceFileColumns } from '../../engine/sources/reference-file.ts';
import { removeDir, tempDir, withEngine } from '../helpers/project.ts';

// Excel writes `sep=;` as the first line of a CSV saved with a chosen separator. DuckDB's sniffer took that
// line for the header, so a title catalog exported so read as columns `sep=, column1` and every run failed
// on its required columns. The line is skipped and its separator used, in a run, a test of the source
// and init's reading of --catalog.

let work: string;
const catalog = () => join(work, 'titles.csv');

beforeAll(async () => {
  work = await tempDir('lakehouse-excel-sep-');
  await writeFile(
    join(work, 'lakehouse.yaml'),
    'name: excel-sep\nsources:\n  title_catalog: {kind: file, path: titles.csv, required_columns: [title, genres]}\n',
  );
  await mkdir(join(work, 'models', 'gold'), { recursive: true });
  await writeFile(
    join(work, 'models', 'gold', 'titles.sql'),
    '/* config\nmaterialized: table\n*/\nSELECT title, genres FROM source.title_catalog\n',
  );
});
afterAll(() => removeDir(work));

describe("a CSV title catalog opening with Excel's sep= line", () => {
  it('is read by a run with the separator it names, the line skipped', async () => {
    // As Excel writes it: CRLF, and a field holding the separator quoted.
    await writeFile(catalog(), 'sep=;\r\ntitle;genres\r\nConan;"Anime;Kids"\r\nNaruto;Action\r\n');
    await withEngine(work, async (engine) => {
      expect((await engine.run({ dates: ['2022-06-01'] })).status).toBe('success');
      const { rows } = await engine.query('SELECT title, genres FROM gold.titles ORDER BY title');
      expect(rows).toEqual([
        { title: 'Conan', genres: 'Anime;Kids' },
        { title: 'Naruto', genres: 'Action' },
      ]);
    });
  });

  it.each([
    [';', 'sep=;\ntitle;genres\nConan;Anime\n'],
    [',', 'sep=,\ntitle,genres\nConan,Anime;Kids\n'],
    ['a tab', 'sep=\t\ntitle\tgenres\nConan\tAnime\n'],
    ['|', 'sep=|\ntitle|genres\nConan|Anime\n'],
    ['; after a byte order mark, in capitals', '\uFEFFSEP=;\r\ntitle;genres\r\nConan;Anime\r\n'],
  ])('(%s) passes the Sources form test with the columns of its second line', async (_, text) => {
    await writeFile(catalog(), text);
    const project = await loadProject(work);
    const probe = await probeSource(project, { name: 'title_catalog' });
    expect(probe.error).toBeNull();
    expect(probe.columns).toEqual(['title VARCHAR', 'genres VARCHAR']);
    const db = await openDb();
    try {
      expect((await referenceFileColumns(db, catalog(), 'csv')).map((c) => c.name)).toEqual([
        'title',
        'genres',
      ]);
    } finally {
      db.close();
    }
  });

  it('with a row of too many fields fails naming its line in the file', async () => {
    await writeFile(catalog(), 'sep=;\ntitle;genres\nConan;Anime\nNaruto;Action;Kids\n');
    const probe = await probeSource(await loadProject(work), { name: 'title_catalog' });
    expect(probe.error?.code).toBe('SOURCE_UNREADABLE');
    expect(probe.summary).toBe(
      `Source "title_catalog": ${catalog()} cannot be read as csv: CSV Error on Line: 4: Expected Number of Columns: 2 Found: 3. ` +
        'Fix the file or set sources.title_catalog.format.',
    );
  });

  it('and nothing else fails saying the file is empty', async () => {
    await writeFile(catalog(), 'sep=;\r\n');
    const probe = await probeSource(await loadProject(work), { name: 'title_catalog' });
    expect(probe.error?.code).toBe('SOURCE_UNREADABLE');
    expect(probe.summary).toContain(
      "cannot be read as csv: the file is empty (Excel's sep=; line only, no header).",
    );
  });
});
