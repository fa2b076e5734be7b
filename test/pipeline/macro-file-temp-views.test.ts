import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../engine/pipeline/runner.ts';
import { withEngine } from '../helpers/project.ts';
import { events, handWrittenProject } from '../helpers/source-files.ts';

// A macro file's statements that define no macro were one version "used by every model": adding a file
// holding a temp view told every model its older dates were built with an earlier version. A temp view
// or table counts for the models that read it (directly, through another view or a macro), a SET for all.

const D1 = '2022-06-01';
const D2 = '2022-06-02';
const D3 = '2022-06-03';

/** The models of a run told of a macro file's changed statements, with the note's changed part. */
function macroNotes(summary: RunSummary): Record<string, string[]> {
  const notes: Record<string, string[]> = {};
  for (const record of summary.models) {
    for (const warning of record.warnings) {
      const changed = /earlier version of (.*?): /.exec(warning)?.[1];
      if (changed !== undefined) notes[record.model] = [...(notes[record.model] ?? []), changed];
    }
  }
  return notes;
}

const VIEW = `CREATE OR REPLACE TEMP VIEW recent_searches AS
  SELECT etl_date, user_id, platform FROM silver.customer_search`;

/** A partition model reading the view, bare, as DuckDB binds it (temp first). */
const READER = `/* config
materialized: partition
*/
SELECT etl_date, count(*) AS searches
FROM recent_searches
WHERE etl_date = getvariable('etl_date')
GROUP BY etl_date
`;

describe("a macro file's temp views count for the models that read them", () => {
  let dir: string;
  let remove: () => Promise<void>;
  let views: string;

  beforeAll(async () => {
    ({ dir, remove } = await handWrittenProject(
      { '20220601': events(6, D1), '20220602': events(6, D2), '20220603': events(6, D3) },
      [D1, D2],
    ));
    views = join(dir, 'macros', 'views.sql');
  });

  afterAll(() => remove());

  it('a new file holding only a temp view notes no model', async () => {
    // silver.customer_search exists now (the view binds it when the project opens).
    await writeFile(views, `${VIEW};\n`);
    await withEngine(dir, async (engine) => {
      const run = await engine.run({ dates: [D3] });
      expect(run.status).toBe('success');
      expect(macroNotes(run)).toEqual({});
    });
  });

  it('an edited view notes its readers only, also through a macro reading it; a SET notes every model', async () => {
    await mkdir(join(dir, 'models', 'gold'), { recursive: true });
    await writeFile(join(dir, 'models', 'gold', 'recent_counts.sql'), READER);
    await writeFile(
      join(dir, 'models', 'gold', 'recent_platforms.sql'),
      READER.replace('FROM recent_searches', 'FROM recent_platform_rows()'),
    );
    await writeFile(
      views,
      `${VIEW};\nCREATE OR REPLACE TEMP MACRO recent_platform_rows() AS TABLE SELECT * FROM recent_searches WHERE platform IS NOT NULL;\n`,
    );
    await withEngine(dir, async (engine) => {
      expect((await engine.run({ dates: [D1, D2] })).status).toBe('success');
    });
    await writeFile(
      views,
      (await readFile(views, 'utf8')).replace(
        'FROM silver.customer_search',
        'FROM silver.customer_search WHERE true',
      ),
    );
    await withEngine(dir, async (engine) => {
      const run = await engine.run({ dates: [D3] });
      expect(run.status).toBe('success');
      expect(macroNotes(run)).toEqual({
        'gold.recent_counts': ['the temp view recent_searches (macros/views.sql)'],
        'gold.recent_platforms': ['the temp view recent_searches (macros/views.sql)'],
      });
    });
    // A setting may change any model's result: every model that keeps older dates is told.
    await writeFile(views, `${await readFile(views, 'utf8')}SET threads = 2;\n`);
    await withEngine(dir, async (engine) => {
      const run = await engine.run({ dates: [D3] });
      expect(run.status).toBe('success');
      const noted = macroNotes(run);
      expect(noted['silver.customer_search']).toEqual([
        'the statements of macros/views.sql that define no macro, temp view or temp table',
      ]);
      expect(Object.keys(noted).length).toBeGreaterThan(5);
    });
  });
});
