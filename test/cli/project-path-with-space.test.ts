import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../engine/engine.ts';
import { lakehouse } from '../helpers/cli.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// The command line on a project whose path has a space: the commands it suggests quote it, and what its
// query tables, number flags and runs table showed a user.
describe('the command line on a project whose path has a space', () => {
  let work: string;
  let project: string;

  beforeAll(async () => {
    work = await tempDir('lakehouse-spaced-path-');
    project = join(work, 'my project');
    expect(lakehouse('init', project).code).toBe(0);
    const ran = lakehouse(
      'run',
      project,
      '--from',
      '2022-06-01',
      '--to',
      '2022-06-02',
      '--select',
      'bronze.customer_search',
    );
    expect(ran.code, ran.stderr).toBe(0);
  }, 120_000);
  afterAll(() => removeDir(work));

  it("shows each column's own values when a query gives two columns one name", () => {
    const query = lakehouse('query', project, 'SELECT 1 AS a, 2 AS a, 3 AS b');
    expect(query.code, query.stderr).toBe(0);
    expect(query.stdout.split('\n').slice(0, 3)).toEqual(['a  a_1  b', '-  ---  -', '1    2  3']);
    // As JSON too, named apart as DuckDB names a subquery's columns (and the app answers): a second 'a'
    // overwrote the first, or a column named 'a:1'.
    const json = lakehouse('query', project, '--json', 'SELECT 1 AS a, 2 AS a, 4 AS "a:1", 5 AS a_1');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([{ a: 1, a_1: 2, 'a:1': 4, a_1_1: 5 }]);
  });

  it('fails a query whose rows past the first chunk fail to compute, instead of counting them', () => {
    // count(*) over the query dropped the cast, so it printed "(1000000 rows, first 50 shown)" and exit 0.
    const cast = "(CASE WHEN i < 500000 THEN i::VARCHAR ELSE 'x' END)::INT";
    for (const sql of [
      `SELECT ${cast} AS v FROM range(1000000) t(i)`,
      `SELECT * REPLACE (${cast} AS i) FROM range(1000000) t(i)`,
      `WITH c AS (SELECT ${cast} AS v FROM range(1000000) t(i)) SELECT * FROM c`,
    ]) {
      const query = lakehouse('query', project, sql);
      expect(query.code, sql).toBe(1);
      expect(query.stderr).toMatch(/^error \[QUERY_ERROR\]: Conversion Error: Could not convert string 'x'/);
      expect(query.stdout).toBe('');
    }
    // Counting every column's value still counts a row of NULLs, and a column named like the subquery.
    const nulls = lakehouse('query', project, 'SELECT NULL AS __query, i + NULL AS n FROM range(100) t(i)');
    expect(nulls.stdout).toMatch(/\n\(100 rows, first 50 shown\)\n$/);
  });

  it('refuses a number flag that is not plain digits, or too large, as a bad argument', () => {
    for (const limit of ['1e20', '0x2', '', ' ', '99999999999999999999']) {
      const runs = lakehouse('runs', project, '--limit', limit);
      expect(runs.code, `--limit '${limit}': ${runs.stderr}`).toBe(2);
      expect(runs.stderr).toMatch(/^error \[INVALID_ARGUMENT\]: --limit .*whole number/);
    }
    expect(lakehouse('runs', project, '--limit', '9007199254740991', '--json').code).toBe(0);
    // A negative seed is refused as no whole number at all ("-5: expected a whole number") misled.
    expect(lakehouse('generate', '--out', join(work, 'never'), '--seed=-5').stderr).toBe(
      'error [INVALID_ARGUMENT]: --seed -5: expected a whole number, 0 or more\n',
    );
  });

  it('quotes the project in the run that repair suggests', async () => {
    const partition = join(project, 'lake', 'bronze', 'customer_search', 'etl_date=2022-06-01');
    for (const file of await readdir(partition)) await rm(join(partition, file));
    // The error that sends the user to repair names the project as given, quoted (it was the absolute
    // path, unquoted, so a path with a space could not be pasted).
    const tables = lakehouse('tables', project);
    expect(tables.code).toBe(1);
    expect(tables.stderr).toContain(`\`lakehouse repair '${project}'\` forgets them`);
    const repair = lakehouse('repair', project);
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stdout).toContain(`lakehouse run '${project}' --date 2022-06-01\n`);
  });

  it('quotes the project in the run that a never-run project asks for', () => {
    const fresh = join(work, 'never run');
    expect(lakehouse('init', fresh).code).toBe(0);
    const query = lakehouse('query', fresh, 'SELECT 1');
    expect(query.code).toBe(1);
    expect(query.stderr).toContain(`Run it first: lakehouse run '${fresh}'\n`);
  });

  it('says when the latest run ran no model, instead of an empty table', async () => {
    // A run cancelled before its first model (Ctrl-C while the warehouse opened) is recorded with none.
    lakehouse('repair', project);
    const engine = await createEngine({ projectDir: project });
    try {
      const stopped = new AbortController();
      stopped.abort();
      expect((await engine.run({ dates: ['2022-06-01'], signal: stopped.signal })).status).toBe('cancelled');
    } finally {
      engine.close();
    }
    const runs = lakehouse('runs', project);
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).not.toContain('(no columns)');
    expect(runs.stdout).toMatch(/\nLatest run \S+: no model ran\nerror: \[RUN_CANCELLED\] /);
  });
});
