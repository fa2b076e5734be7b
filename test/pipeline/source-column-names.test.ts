import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withEngine } from '../helpers/project.ts';
import {
  corruptUtf8,
  event,
  events,
  eventsSql,
  exampleProjectForSuite,
  projectState,
  writeDay,
} from '../helpers/source-files.ts';

// Column names a day file may bring that DuckDB would otherwise read wrongly: a name given twice, a
// column called `filename` or `_source_file`, and invalid text inside a list column.

/** Renames a column in a written file's schema (same length): DuckDB will not write two columns of one name. */
async function renameInSchema(file: string, from: string, to: string): Promise<void> {
  const bytes = await readFile(file);
  const needle = Buffer.from(from);
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
    Buffer.from(to).copy(bytes, at);
  }
  await writeFile(file, bytes);
}

const SOURCE = 'customer_search_log';

describe('source columns DuckDB would read wrongly', () => {
  const project = exampleProjectForSuite();

  /** Runs 2022-06-02 from `write`'s file and expects it refused with `code`, changing nothing. */
  async function refused(write: (file: string) => Promise<void>, code: string) {
    const file = join(project.src, '20220602', 'part-00000.parquet');
    await write(file);
    try {
      return await withEngine(project.dir, async (engine) => {
        const before = await projectState(engine);
        const run = await engine.run({ dates: ['2022-06-02'] });
        expect(run.error?.code).toBe(code);
        expect(await projectState(engine)).toEqual(before);
        return { message: run.error?.message ?? '', details: run.error?.details ?? {}, file };
      });
    } finally {
      await rm(join(project.src, '20220602'), { recursive: true, force: true });
    }
  }

  it.each([
    ['the same name', 'keyword'],
    ['names that differ in case only', 'KEYWORD'],
  ])('refuses a file with a column named twice (%s), naming it', async (_, second) => {
    const { message, details, file } = await refused(async (path) => {
      const rows = `SELECT *, 'WRONG' AS "keyworX" FROM (${eventsSql(events(3, '2022-06-02'))})`;
      await writeDay(project.src, '20220602', rows, 'part-00000.parquet', 'COMPRESSION uncompressed');
      // The extra column first in the schema would be read as keyword; the file's own second.
      await renameInSchema(path, 'keyworX', second);
    }, 'SOURCE_SCHEMA_MISMATCH');
    expect(message).toBe(
      `Source "${SOURCE}": ${file} has a column named twice: keyword${second === 'keyword' ? '' : ` (as keyword and ${second})`} ` +
        '(names are compared without case). Which of the two a model means cannot be told: re-export the file ' +
        'with one column of each name, or move it out of the folder and re-run.',
    );
    expect(details).toMatchObject({ source: SOURCE, file });
  });

  it('quotes a found column whose name has spaces around it, where a missing one is named', async () => {
    const { message } = await refused(async () => {
      const rows = `SELECT * RENAME ("eventID" AS " eventID ") FROM (${eventsSql(events(3, '2022-06-02'))})`;
      await writeDay(project.src, '20220602', rows);
    }, 'SOURCE_SCHEMA_MISMATCH');
    expect(message).toMatch(/ lacks column eventID\. Found: " eventID ", datetime, user_id, /);
  });

  it('reads a file with a column named filename, giving each row its own file', async () => {
    await writeDay(
      project.src,
      '20220603',
      `SELECT *, 'not the file' AS filename FROM (${eventsSql(events(3, '2022-06-03'))})`,
    );
    try {
      await withEngine(project.dir, async (engine) => {
        const run = await engine.run({ dates: ['2022-06-03'], select: ['bronze.customer_search'] });
        expect(run.error?.message).toBeUndefined();
        const { rows } = await engine.query(
          "SELECT DISTINCT source_file FROM bronze.customer_search WHERE etl_date = '2022-06-03'",
        );
        expect(rows).toEqual([{ source_file: join(project.src, '20220603', 'part-00000.parquet') }]);
      });
    } finally {
      await rm(join(project.src, '20220603'), { recursive: true, force: true });
    }
  });

  it('names the list column holding invalid UTF-8, not the model reading it', async () => {
    const { message, details } = await refused(async (path) => {
      const rows = [
        event({ eventID: 'e-bad', datetime: '2022-06-02 10:00:00', userPlansMap: ['Gói ZZZZ:direct'] }),
      ];
      await writeDay(project.src, '20220602', rows, 'part-00000.parquet', 'COMPRESSION uncompressed');
      expect(await corruptUtf8(path, 'ZZZZ')).toBeGreaterThanOrEqual(1);
    }, 'SOURCE_UNREADABLE');
    expect(message).toMatch(/part-00000\.parquet column userPlansMap \(row 1 of the file\) cannot be read/);
    expect(details).toMatchObject({ column: 'userPlansMap' });
  });
});

describe('a file column named _source_file, with no columns declared', () => {
  const project = exampleProjectForSuite(async (src) => {
    await writeDay(src, '20220601', `SELECT *, 'x' AS _source_file FROM (${eventsSql(events(3))})`);
  });

  it('is refused, naming it, rather than replacing the name of the file each row came from', async () => {
    const yaml = join(project.dir, 'lakehouse.yaml');
    const text = await readFile(yaml, 'utf8');
    // Every column as the files have it: the example's declared columns taken out.
    await writeFile(yaml, text.replace(/^( {4})columns:\n(?:\1 {2}.*\n)+/m, '$1columns: {}\n'));
    await withEngine(project.dir, async (engine) => {
      const run = await engine.run({ dates: ['2022-06-01'] });
      expect(run.error?.code).toBe('SOURCE_SCHEMA_MISMATCH');
      expect(run.error?.message).toMatch(
        /^Source "customer_search_log": \S+part-00000\.parquet has a column _source_file, the name under which the engine gives each row the file it came from\./,
      );
    });
  });
});

describe('a day file gone between the listing and the read', () => {
  const project = exampleProjectForSuite(async (src) => {
    await writeDay(src, '20220601', events(3));
    await writeDay(src, '20220601', events(2, '2022-06-01', 'late'), 'part-00001.parquet');
  });

  it('says the delivery was still moving, not that a file is damaged or a bare ENOENT', async () => {
    const late = join(project.src, '20220601', 'part-00001.parquet');
    // The file goes after the listing looked at it, before it is read: as a producer moving files makes it.
    const fsPromises = createRequire(import.meta.url)(
      'node:fs/promises',
    ) as typeof import('node:fs/promises');
    const original = fsPromises.stat;
    let looks = 0;
    fsPromises.stat = (async (path: Parameters<typeof original>[0], ...rest: [never]) => {
      if (String(path) === late && ++looks === 2) await rm(late, { force: true });
      return original(path, ...rest);
    }) as typeof original;
    syncBuiltinESMExports();
    try {
      await withEngine(project.dir, async (engine) => {
        const run = await engine.run({ dates: ['2022-06-01'] });
        expect(run.error).toMatchObject({
          code: 'SOURCE_UNREADABLE',
          message: expect.stringContaining(
            `${late} was in its day folder when the run listed it and is gone now (ENOENT`,
          ),
          details: { reason: 'vanished', file: late },
        });
      });
    } finally {
      fsPromises.stat = original;
      syncBuiltinESMExports();
    }
  });
});
