import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, literal, openDb } from '../../engine/db/duckdb.ts';
import { ReferenceFileSource } from '../../engine/project/config.ts';
import { bindReferenceFile, referenceFileColumns } from '../../engine/sources/reference-file.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// A CSV reference file is sniffed once: the columns its binding checks come from sniff_csv, and its view
// reads with the dialect sniff_csv found spelled out, so both must agree with DuckDB's own sniffed read.

let work: string;
let db: Db;
beforeAll(async () => {
  work = await tempDir('lakehouse-reference-file-');
  db = await openDb();
  await db.run('CREATE SCHEMA source');
});
afterAll(async () => {
  db.close();
  await removeDir(work);
});

const titles = ReferenceFileSource.parse({ kind: 'file', path: 'titles.csv', required_columns: ['title'] });

async function viewColumns(name: string): Promise<string[]> {
  const rows = await db.all<{ column_name: string }>(`DESCRIBE source.${name}`);
  return rows.map((r) => r.column_name);
}

describe('a CSV reference file', () => {
  it.each([
    ['commas', 'title,genres\nConan,Anime\n', ['title', 'genres']],
    ['semicolons', 'title;genres\nConan;Anime\n', ['title', 'genres']],
    ['tabs', 'title\tgenres\nConan\tAnime\n', ['title', 'genres']],
    ['a byte order mark and CRLF', '\uFEFFtitle,genres\r\nConan,Anime\r\n', ['title', 'genres']],
    [
      'a quoted name holding a comma',
      '"title","genres, joined"\n"Conan","Anime"\n',
      ['title', 'genres, joined'],
    ],
    ['a repeated name', 'title,genres,genres\nConan,Anime,x\n', ['title', 'genres', 'genres_1']],
    ['a blank last name', 'title,genres,\nConan,Anime,\n', ['title', 'genres', 'column2']],
    ['a header only', 'title,genres\n', ['title', 'genres']],
    ['doubled quotes', '"title","genres"\n"Tom ""Tiger"" Lee","Drama"\n"A, B",C\n', ['title', 'genres']],
    ['a quote inside a field', 'title,genres\nTom "Tiger" Lee,Drama\n', ['title', 'genres']],
    ['no line end after the last row', 'title|genres\nConan|Anime', ['title', 'genres']],
    ['CR line ends', 'title,genres\rConan,Anime\rNaruto,Anime\r', ['title', 'genres']],
  ])(
    'with %s lists the columns its view has, and the view reads what DuckDB would',
    async (_, text, expected) => {
      const path = join(work, 'titles.csv');
      await writeFile(path, text);
      const listed = (await referenceFileColumns(db, path, 'csv')).map((c) => c.name);
      await bindReferenceFile(db, 'titles', titles, path);
      expect(listed).toEqual(expected);
      expect(await viewColumns('titles')).toEqual(expected);
      const sniffedRead = await db.all(
        `SELECT * FROM read_csv(${literal(path)}, header = true, all_varchar = true)`,
      );
      expect(await db.all('SELECT * FROM source.titles')).toEqual(sniffedRead);
    },
  );

  // Past the 20,480 rows DuckDB samples, the sniffer sees no quote and reads with quoting off: the read
  // with quotes that finds this row must still run, though most catalogs with no quote at all skip it.
  it('with a quote opened and never closed past the rows the sniffer samples, fails naming that line', async () => {
    const path = join(work, 'late-quote.csv');
    const rows = Array.from({ length: 21_000 }, (_, i) => `Title ${i},Drama`).join('\n');
    await writeFile(path, `title,genres\n${rows}\n"Doraemon,Kids\nNaruto,Anime\n`);
    await expect(bindReferenceFile(db, 'late_quote', titles, path)).rejects.toThrow(
      `Source "late_quote": ${path} cannot be read as csv: CSV Error on Line: 21002: Value with unterminated quote found.`,
    );
  });

  it('of a byte order mark alone fails saying it is empty, not naming DuckDB sniffer options', async () => {
    const path = join(work, 'bom-only.csv');
    await writeFile(path, '\uFEFF');
    await expect(bindReferenceFile(db, 'bom_only', titles, path)).rejects.toThrow(
      `Source "bom_only": ${path} cannot be read as csv: the file is empty (a UTF-8 byte order mark only). ` +
        'Fix the file or set sources.bom_only.format.',
    );
  });
});

// A folder named like `kind=x` is where the user keeps the file, not a column of it: DuckDB's hive
// detection, on by default for Parquet and JSON, would add `kind` to the catalog's columns.
describe.each(['csv', 'parquet', 'json'] as const)(
  'a %s reference file in a folder named like kind=x',
  (format) => {
    it('has no kind column, in the list or the view', async () => {
      const folder = join(work, `kind=${format}`);
      await mkdir(folder, { recursive: true });
      const path = join(folder, `titles.${format}`);
      const rows = `SELECT * FROM (VALUES ('Conan', 'Anime')) AS t(title, genres)`;
      if (format === 'csv') await writeFile(path, 'title,genres\nConan,Anime\n');
      else
        await db.run(
          `COPY (${rows}) TO ${literal(path)} (FORMAT ${format === 'json' ? 'JSON, ARRAY true' : 'PARQUET'})`,
        );
      expect((await referenceFileColumns(db, path, format)).map((c) => c.name)).toEqual(['title', 'genres']);
      const name = `foldered_${format}`;
      await bindReferenceFile(db, name, titles, path);
      expect(await viewColumns(name)).toEqual(['title', 'genres']);
      expect(await db.all(`SELECT * FROM source.${name}`)).toEqual([{ title: 'Conan', genres: 'Anime' }]);
    });
  },
);
