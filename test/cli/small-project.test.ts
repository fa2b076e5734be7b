import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exists } from '../../engine/project/init.ts';
import { lakehouse, lakehouseAsyncIn } from '../helpers/cli.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// The command line on a small project of one run date.
describe('lakehouse on a one-date project', () => {
  let work: string;
  let project: string;

  beforeAll(async () => {
    work = await tempDir('lakehouse-counts-');
    project = join(work, 'p');
    expect(lakehouse('init', project).code).toBe(0);
    await writeFile(
      join(project, 'models', 'gold', 'one_row.sql'),
      '/* config\nmaterialized: table\n*/\nSELECT 1 AS k\n',
    );
    const ran = lakehouse('run', project, '--date', '2022-06-01');
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/Run \S+: success \(1 date, /);
  }, 120_000);
  afterAll(() => removeDir(work));

  it('takes SQL starting with a -- comment as the SQL, not as an unknown option', () => {
    const sql = '-- the answer\nSELECT 42 AS answer';
    expect(lakehouse('query', project, sql, '--json')).toMatchObject({
      code: 0,
      stdout: '[\n  {\n    "answer": 42\n  }\n]\n',
    });
    expect(lakehouse('query', '--json', project, sql).stdout).toBe('[\n  {\n    "answer": 42\n  }\n]\n');
    // After an explicit `--` too, and a flag that is no flag is still refused.
    expect(lakehouse('query', project, '--json', '--', sql).code).toBe(0);
    expect(lakehouse('query', project, '--jsn', 'SELECT 1').stderr).toContain('Unknown option --jsn');
  });

  it('reads a result bigger than its heap a chunk at a time, for the table and for --json', async () => {
    // A 64 MB heap holds neither a million rows as objects nor 200k of them as one JSON string: both
    // ran out of heap (on the 10M-row example, query of the fact table crashed after five minutes).
    const env = { ...process.env, NODE_OPTIONS: '--max-old-space-size=64' };
    const rows = (n: number) => `SELECT i, repeat('x', 100) AS pad FROM range(${n}) t(i)`;
    const table = await lakehouseAsyncIn(env, ['query', project, rows(1_000_000)]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/\n49 +x{47}…\n\(1000000 rows, first 50 shown\)\n$/);
    // Counted by reading on where running the query again could give other rows (random()).
    const volatile = await lakehouseAsyncIn(env, ['query', project, `${rows(1_000_000)} WHERE random() < 2`]);
    expect(volatile.stdout).toMatch(/\n\(1000000 rows, first 50 shown\)\n$/);
    const json = await lakehouseAsyncIn(env, ['query', project, rows(200_000), '--json']);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { i: number; pad: string }[];
    expect(parsed).toHaveLength(200_000);
    expect(parsed[199_999]).toEqual({ i: 199_999, pad: 'x'.repeat(100) });
    // --limit stops early and still prints the array toJson would.
    const limited = await lakehouseAsyncIn(env, ['query', project, rows(5000), '--json', '--limit', '2']);
    expect(limited.stdout).toBe(
      '[\n  {\n    "i": 0,\n    "pad": "' +
        'x'.repeat(100) +
        '"\n  },\n  {\n    "i": 1,\n    "pad": "' +
        'x'.repeat(100) +
        '"\n  }\n]\n',
    );
    expect(
      (await lakehouseAsyncIn(env, ['query', project, 'SELECT 1 AS k WHERE false', '--json'])).stdout,
    ).toBe('[]\n');
  }, 120_000);

  it('fails a query that fails on a later row, instead of printing the rows before it as the whole result', async () => {
    // @duckdb/node-api ends such a streamed result as if complete: --json printed 1,914,880 of 2,000,000
    // rows and exited 0.
    const failsLate = `SELECT i, CAST(CASE WHEN i < 199999 THEN '1' ELSE 'x' END AS INTEGER) AS v FROM range(200000) t(i)`;
    for (const args of [['--json'], ['--limit', '3']]) {
      // The table reads on where running the query again may give other rows (random()).
      const sql = args[0] === '--json' ? failsLate : `${failsLate} WHERE random() < 2`;
      const failed = await lakehouseAsyncIn(process.env, ['query', project, sql, ...args]);
      expect(failed.code, args[0]).toBe(1);
      expect(failed.stderr, args[0]).toContain(
        "error [QUERY_ERROR]: Conversion Error: Could not convert string 'x' to INT32",
      );
    }
    // A query that ends where it should still ends well, and the connection reads on after a failure.
    const whole = await lakehouseAsyncIn(process.env, ['query', project, 'SELECT 1 AS k', '--json']);
    expect(whole.stdout).toBe('[\n  {\n    "k": 1\n  }\n]\n');
  }, 120_000);

  it('refuses a catalog it cannot map or read before generating the sample, leaving nothing behind', async () => {
    const folder = join(work, 'catalogs');
    await mkdir(folder);
    const unmapped = join(folder, 'no-title.csv');
    await writeFile(unmapped, 'a,b\n1,2\n');
    for (const [catalog, message] of [
      [unmapped, `--catalog ${unmapped} has no title or genres column (found a, b)`],
      // A folder was an internal EISDIR error.
      [folder, `--catalog ${folder} is a folder: give the catalog file in it`],
    ] as const) {
      const refused = lakehouse('init', join(work, 'refused'), '--catalog', catalog);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`error [INVALID_ARGUMENT]: ${message}`);
      expect(await exists(join(work, 'refused'))).toBe(false);
    }
  });

  // The tests cell says only 3/4: which test warned, on which dates and on what is listed below the table.
  it('lists each warn-level test that failed once per model, with the dates it failed on', async () => {
    await writeFile(
      join(project, 'models', 'gold', 'warned.sql'),
      [
        '/* config',
        'materialized: table',
        'tests:',
        '  - not_null: k',
        '  - accepted_values: {column: k, values: [0]}',
        '    severity: warn',
        '  - accepted_values: {column: day_of_month, values: [1]}',
        '    severity: warn',
        '*/',
        "SELECT 1 AS k, day(CAST(getvariable('etl_date') AS DATE)) AS day_of_month",
        '',
      ].join('\n'),
    );
    const ran = lakehouse(
      'run',
      project,
      '--from',
      '2022-06-01',
      '--to',
      '2022-06-02',
      '--select',
      'gold.warned',
    );
    expect(ran.code, ran.stderr).toBe(0);
    const text = lakehouse('runs', project).stdout;
    expect(text).toMatch(/^2022-06-01 +gold\.warned +success( +\d+){4} +2\/3 /m);
    expect(text).toMatch(/^2022-06-02 +gold\.warned +success( +\d+){4} +1\/3 /m);
    // One line a test and text, not one a date; a test that passed on a date does not name it.
    expect(text.split('\n').filter((line) => line.startsWith('warn: '))).toEqual([
      'warn: gold.warned (2022-06-01, 2022-06-02): accepted_values(k) has 1 failing row (not accepted: 1 (1))',
      'warn: gold.warned (2022-06-02): accepted_values(day_of_month) has 1 failing row (not accepted: 2 (1))',
    ]);
    // --json already carried them, as each date's record has them.
    const [latest] = JSON.parse(lakehouse('runs', project, '--json').stdout) as {
      models: { etlDate: string; warnings: string[] }[];
    }[];
    expect(latest?.models.map((m) => [m.etlDate, m.warnings])).toEqual([
      ['2022-06-01', ['warn: accepted_values(k) has 1 failing row (not accepted: 1 (1))']],
      [
        '2022-06-02',
        [
          'warn: accepted_values(k) has 1 failing row (not accepted: 1 (1))',
          'warn: accepted_values(day_of_month) has 1 failing row (not accepted: 2 (1))',
        ],
      ],
    ]);
    await rm(join(project, 'models', 'gold', 'warned.sql'));
  }, 120_000);

  // The history's error column names the code as `run` printed it, for a script or a search of the docs.
  it('shows a failed run with its error code and message', async () => {
    const model = join(project, 'models', 'gold', 'refused.sql');
    await writeFile(
      model,
      [
        '/* config',
        'materialized: table',
        'tests:',
        '  - not_null: k',
        '*/',
        'SELECT NULL::INTEGER AS k',
        '',
      ].join('\n'),
    );
    const ran = lakehouse('run', project, '--date', '2022-06-01', '--select', 'gold.refused');
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('error [TEST_FAILED]: ');
    const text = lakehouse('runs', project, '--limit', '1').stdout;
    const [firstRun] = text.split('\n').slice(2);
    expect(firstRun).toMatch(/ failed .* \[TEST_FAILED\] gold\.refused failed on 2022-06-01/);
    // The table cuts it to its column; under it, the whole error, as run printed it, ends the cut.
    expect(text).toContain(
      `\n${ran.stderr
        .split('\n')
        .find((line) => line.startsWith('error ['))!
        .replace('error [TEST_FAILED]: ', 'error: [TEST_FAILED] ')}\n`,
    );
    // That error says the failing rows are shown below: they are, as run printed them.
    expect(ran.stderr).toContain('failing rows (first 1):\nk\n----\nNULL\n');
    expect(text).toContain('the failing rows are shown below');
    expect(text.slice(text.indexOf('\nfailing rows'))).toBe(
      '\nfailing rows of gold.refused on 2022-06-01, not_null(k) (first 1):\nk\n----\nNULL\n',
    );
    await rm(model);
  }, 120_000);

  // The history keeps the machine's wall clock with no zone, and `runs` printed it so: 16:40 read the same
  // whether it was UTC or local time. Here in a zone that is neither UTC nor a whole hour from it.
  it('shows when a run started with the zone of its clock, in JSON and in the table', async () => {
    const env = { ...process.env, TZ: 'Asia/Kolkata' };
    const ran = await lakehouseAsyncIn(env, [
      'run',
      project,
      '--date',
      '2022-06-01',
      '--select',
      'gold.one_row',
    ]);
    expect(ran.code, ran.stderr).toBe(0);
    const listed = await lakehouseAsyncIn(env, ['runs', project, '--json', '--limit', '1']);
    const [latest] = JSON.parse(listed.stdout) as { startedAt: string; finishedAt: string }[];
    expect(latest!.startedAt).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}\+05:30$/);
    expect(latest!.finishedAt).toMatch(/\+05:30$/);
    // The instant it names is when the run was: the offset is the clock's zone, not a label stuck on.
    expect(Math.abs(Date.parse(latest!.startedAt) - Date.now())).toBeLessThan(10 * 60_000);
    const [row] = (await lakehouseAsyncIn(env, ['runs', project, '--limit', '1'])).stdout
      .split('\n')
      .slice(2);
    expect(row).toContain(` ${latest!.startedAt.slice(0, 19)} UTC+05:30 `);
  }, 120_000);

  // What the command line counts reads as English: "(1 row)", "1 date", never "(1 rows)" or "date(s)".
  it('says 1 date, 1 row and 1 argument in the singular', async () => {
    expect(lakehouse('query', project, 'SELECT * FROM one_row').stdout).toMatch(/\(1 row\)\n$/);
    // Only a table no model builds can be dropped.
    await rm(join(project, 'models', 'gold', 'one_row.sql'));
    expect(lakehouse('drop', project, 'gold.one_row').stdout).toBe('Dropped gold.one_row (1 row).\n');
    expect(lakehouse('runs', project, 'extra').stderr).toContain(
      'lakehouse runs: unexpected argument extra.',
    );
  }, 120_000);

  // The engine's messages stand `<project>` for the project in the commands they suggest, as the app and
  // --json show them; the command line names the project as it was typed, quoted for the shell.
  it('suggests commands with the project as typed, and --json keeps the placeholder', async () => {
    const typed = join(work, 'my project');
    await symlink(project, typed);
    const quoted = `'${typed}'`;
    // A table whose model file is then deleted, and a model that still reads it: a run is refused.
    const left = join(project, 'models', 'gold', 'left_behind.sql');
    await writeFile(left, '/* config\nmaterialized: table\n*/\nSELECT 1 AS k\n');
    const built = lakehouse('run', project, '--date', '2022-06-01', '--select', 'gold.left_behind');
    expect(built.code, built.stderr).toBe(0);
    await rm(left);
    const reader = join(project, 'models', 'gold', 'reads_left_behind.sql');
    await writeFile(reader, '/* config\nmaterialized: table\n*/\nSELECT k FROM gold.left_behind\n');
    try {
      const dropHint = 'removes the old table.';
      // An error a command fails with (printed by main), and one a run is refused with.
      expect(lakehouse('drop', typed, 'gold.nope').stderr).toContain(
        `\`lakehouse tables ${quoted}\` lists them.`,
      );
      const refused = lakehouse('run', typed, '--date', '2022-06-01');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`\`lakehouse drop ${quoted} gold.left_behind\` ${dropHint}`);
      expect(refused.stderr).not.toContain('<project>');
      // A read notes the error a run would fail on, the same way.
      const read = lakehouse('tables', typed);
      expect(read.stderr).toContain(`\`lakehouse drop ${quoted} gold.left_behind\` ${dropHint}`);
      // --json keeps the message the app shows, for scripts matching it.
      const json = JSON.parse(lakehouse('run', typed, '--date', '2022-06-01', '--json').stdout) as {
        error: { message: string };
      };
      expect(json.error.message).toContain(`\`lakehouse drop <project> gold.left_behind\` ${dropHint}`);
    } finally {
      await rm(reader);
      expect(lakehouse('drop', project, 'gold.left_behind').code).toBe(0);
    }
  }, 120_000);
});
