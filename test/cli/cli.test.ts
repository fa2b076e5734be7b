import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listParquetFiles } from '../../engine/lake/partitions.ts';
import { lakehouse, lakehouseAsync } from '../helpers/cli.ts';
import { PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';

describe('the lakehouse command line', () => {
  let work: string;
  let demo: string;

  beforeAll(async () => {
    work = await tempDir();
    demo = join(work, 'demo');
    const result = lakehouse('demo', '--dir', demo);
    expect(result.stderr).not.toMatch(/error \[/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Run \S+: success \(5 dates,/);
    expect(result.stdout).toMatch(/gold\.fact_customer_search\s+\d+/);
    expect(result.stdout).toMatch(
      /accounting: bronze\.customer_search 4000 = silver\.customer_search \d+ \+ \d+ duplicates? \+ \d+ quarantined/,
    );
    // What models note per date is printed with the run, not only kept in the history.
    expect(result.stdout).toMatch(
      /^ {2}note: silver\.keyword_match: \d+ new keywords searched as \d+ distinct slugs$/m,
    );
  });
  afterAll(() => removeDir(work));

  it('runs as `npx lakehouse` from the project root (package.json bin)', () => {
    const result = spawnSync('npx', ['--no-install', 'lakehouse', '--help'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^lakehouse: a local Medallion lakehouse/);
  });

  it('prints help and rejects unknown commands with exit code 2', () => {
    expect(lakehouse('--help')).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('lakehouse run <project>'),
    });
    // Each command's own help is its entry of the full usage.
    const runHelp = lakehouse('run', '--help');
    expect(runHelp.code).toBe(0);
    expect(runHelp.stdout).toMatch(/^Usage:\n {2}lakehouse run <project> \[--date D\]/);
    expect(runHelp.stdout).not.toContain('lakehouse tables');
    const icebergHelp = lakehouse('publish', 'iceberg', '-h');
    expect(icebergHelp.stdout).toContain('--warehouse');
    expect(icebergHelp.stdout).not.toContain('publish redshift');
    expect(lakehouse('frobnicate', '--help').code).toBe(2);
    const bad = lakehouse('frobnicate');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error \[INVALID_ARGUMENT\]: Unknown command "frobnicate"/);
  });

  it('query --json prints an array of row objects; gold answers to bare and gold. names', () => {
    const bare = lakehouse('query', demo, 'SELECT count(*) AS n FROM fact_customer_search', '--json');
    const qualified = lakehouse(
      'query',
      demo,
      'SELECT count(*) AS n FROM gold.fact_customer_search',
      '--json',
    );
    expect(bare.code).toBe(0);
    const rows = JSON.parse(bare.stdout) as { n: number }[];
    expect(rows).toHaveLength(1);
    expect(typeof rows[0]!.n).toBe('number');
    expect(rows[0]!.n).toBeGreaterThan(19_000);
    expect(JSON.parse(qualified.stdout)).toEqual(rows);
    const layers = lakehouse(
      'query',
      demo,
      `SELECT (SELECT count(*) FROM bronze.customer_search) AS bronze, (SELECT count(*) FROM silver.customer_search) AS silver,
              (SELECT count(*) FROM quarantine.customer_search) AS quarantined, (SELECT min(datetime_log) FROM fact_customer_search) AS first`,
      '--json',
    );
    const [row] = JSON.parse(layers.stdout) as Record<string, unknown>[];
    expect(row).toMatchObject({ bronze: 20_000 });
    expect(Number(row!.silver) + Number(row!.quarantined)).toBeLessThan(20_000);
    // A timestamp, at most a year before the first day: like the real sample, a few rows are months off.
    expect(String(row!.first)).toMatch(/^20\d\d-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(String(row!.first) >= '2021-06-01' && String(row!.first) < '2022-06-02').toBe(true);
  });

  it('reads a copied or moved project from its own lake, not the one it came from', async () => {
    const copy = join(work, 'copy');
    await cp(demo, copy, { recursive: true });
    const viewOf = (dir: string) =>
      lakehouse(
        'query',
        dir,
        "SELECT sql FROM duckdb_views() WHERE schema_name = 'silver' AND view_name = 'customer_search'",
        '--json',
      );
    const copied = viewOf(copy);
    expect(copied.code, copied.stderr).toBe(0);
    const [view] = JSON.parse(copied.stdout) as { sql: string }[];
    expect(view?.sql).toContain(join(copy, 'lake'));
    expect(view?.sql).not.toContain(`${demo}/`);

    // Moved after that: the views name a folder that is gone.
    const moved = join(work, 'moved');
    await rename(copy, moved);
    const count = lakehouse('query', moved, 'SELECT count(*) AS n FROM bronze.customer_search', '--json');
    expect(count.stderr).not.toMatch(/error \[/);
    expect(JSON.parse(count.stdout)).toEqual([{ n: 20_000 }]);
    expect(lakehouse('tables', moved).code).toBe(0);

    // A run reads the sample in its own data/ folder: init wrote its path absolute, the original's.
    const run = lakehouse('run', moved, '--date', '2022-06-01', '--select', 'bronze.customer_search');
    expect(run.code, run.stderr).toBe(0);
    const files = lakehouse(
      'query',
      moved,
      "SELECT DISTINCT source_file FROM bronze.customer_search WHERE etl_date = '2022-06-01'",
      '--json',
    );
    const [read] = JSON.parse(files.stdout) as { source_file: string }[];
    expect(read?.source_file).toContain(join(moved, 'data', 'customer_search_log_data', '20220601'));
  });

  it("a copy missing a lake file says which and how to repair it, never reading the original's files", async () => {
    const copy = join(work, 'copy-missing');
    await cp(demo, copy, { recursive: true });
    const day = join(copy, 'lake', 'silver', 'customer_search', 'etl_date=2022-06-02');
    const [file] = await listParquetFiles(day);
    await rm(file!);
    const silverRows = (dir: string) =>
      lakehouse(
        'query',
        dir,
        'SELECT etl_date, count(*) AS n FROM silver.customer_search GROUP BY 1 ORDER BY 1',
        '--json',
      );
    // Every read and run says which file is gone and what to do, every time (the views stay as they were).
    for (const attempt of [
      silverRows(copy),
      lakehouse('tables', copy),
      lakehouse('run', copy, '--date', '2022-06-02'),
    ]) {
      expect(attempt.code).toBe(1);
      expect(attempt.stderr).toContain(
        `error [PROJECT_INVALID]: 1 committed partition file is missing from the lake ${join(copy, 'lake')}: ` +
          `silver.customer_search 2022-06-02 (${file})`,
      );
      expect(attempt.stderr).toContain(
        `\`lakehouse repair ${copy}\` forgets them; then run that date again (--date 2022-06-02)`,
      );
    }
    const repaired = lakehouse('repair', copy);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain(`silver.customer_search 2022-06-02  (${file})`);
    expect(repaired.stdout).toContain(`lakehouse run ${copy} --date 2022-06-02`);
    // The copy reads its own lake: without the day, then with it once it has run again.
    const without = JSON.parse(silverRows(copy).stdout) as { etl_date: string }[];
    expect(without.map((r) => r.etl_date)).not.toContain('2022-06-02');
    expect(lakehouse('run', copy, '--date', '2022-06-02').code).toBe(0);
    expect(JSON.parse(silverRows(copy).stdout)).toEqual(JSON.parse(silverRows(demo).stdout));
    expect(lakehouse('repair', copy).stdout).toBe(
      'Nothing to repair: every committed partition file is in the lake.\n',
    );
    // A lake that is elsewhere (unmounted, moved) is not forgotten wholesale.
    await rename(join(copy, 'lake'), join(copy, 'lake-away'));
    const whole = lakehouse('repair', copy);
    expect(whole.code).toBe(1);
    expect(whole.stderr).toMatch(
      /error \[PROJECT_INVALID\]: Every one of the \d+ committed partition files is missing/,
    );
    await rename(join(copy, 'lake-away'), join(copy, 'lake'));
    expect(lakehouse('tables', copy).code).toBe(0);
  });

  it('refuses to run on a table whose model file was deleted, and drops that table on request', async () => {
    const project = join(work, 'orphan');
    await cp(demo, project, { recursive: true });
    const count = (sql: string) =>
      (JSON.parse(lakehouse('query', project, sql, '--json').stdout) as { n: number }[])[0]?.n;
    const facts = count('SELECT count(*) AS n FROM fact_customer_search');
    const platforms = count('SELECT count(*) AS n FROM dim_platform');
    const platformModel = join(project, 'models', 'gold', 'dim_platform.sql');
    await rename(platformModel, join(work, 'dim_platform.sql'));

    // The fact would keep joining the rows dim_platform's model last wrote: refused, nothing changes.
    const refused = lakehouse('run', project, '--date', '2022-06-01');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /error \[MODEL_INVALID\]: models\/gold\/fact_customer_search\.sql: reads gold\.dim_platform, which no model produces any more/,
    );
    expect(count('SELECT count(*) AS n FROM fact_customer_search')).toBe(facts);
    expect(lakehouse('tables', project).stdout).toMatch(/^gold\.dim_platform +\d+ +\d+ +no model *$/m);
    // Only what no model builds can be dropped.
    const built = lakehouse('drop', project, 'gold.dim_user');
    expect(built.code).toBe(2);
    expect(built.stderr).toMatch(
      /gold\.dim_user is built by models\/gold\/dim_user\.sql; .* To rebuild it whole from every date instead, drop it with --rebuild and run every date\./,
    );
    // --rebuild is for gold tables: a partitioned one is rewritten by running its dates again.
    expect(lakehouse('drop', project, 'silver.customer_search', '--rebuild').stderr).toMatch(
      /silver\.customer_search is a partitioned table: running its dates again rewrites it/,
    );
    expect(lakehouse('drop', project, 'gold.dim_platfrom').stderr).toMatch(
      /No table gold\.dim_platfrom to drop \(did you mean "gold\.dim_platform"\?\)/,
    );

    const dropped = lakehouse('drop', project, 'dim_platform'); // a bare name is a gold table
    expect(dropped.stderr).toBe('');
    expect(dropped.stdout).toBe(`Dropped gold.dim_platform (${platforms} rows).\n`);
    const tables = JSON.parse(lakehouse('tables', project, '--json').stdout) as { name: string }[];
    expect(tables.map((t) => t.name)).not.toContain('gold.dim_platform');

    // A partitioned table goes with its partitions' pointers and files.
    const extra = join(project, 'models', 'silver', 'event_days.sql');
    await writeFile(
      extra,
      "/* config\nmaterialized: partition\n*/\nSELECT event_id, date_key FROM silver.customer_search WHERE etl_date = getvariable('etl_date')\n",
    );
    await rename(join(work, 'dim_platform.sql'), platformModel);
    const ran = lakehouse('run', project, '--from', '2022-06-01', '--to', '2022-06-05');
    expect(ran.code, ran.stderr).toBe(0);
    expect(count('SELECT count(*) AS n FROM dim_platform')).toBe(platforms);
    expect(count('SELECT count(*) AS n FROM fact_customer_search')).toBe(facts);
    const files = async () => (await listParquetFiles(join(project, 'lake', 'silver', 'event_days'))).length;
    expect(await files()).toBe(5);
    await rm(extra);
    const partitioned = JSON.parse(lakehouse('drop', project, 'silver.event_days', '--json').stdout);
    expect(partitioned).toEqual({ relation: 'silver.event_days', kind: 'view', rows: facts, partitions: 5 });
    expect(await files()).toBe(0);
    expect(
      count("SELECT count(*) AS n FROM _lakehouse.partitions WHERE relation = 'silver.event_days'"),
    ).toBe(0);
    expect(lakehouse('run', project, '--date', '2022-06-05').code).toBe(0);
  });

  it('tables --json and runs --json have the documented shape', () => {
    const tables = JSON.parse(lakehouse('tables', demo, '--json').stdout) as Record<string, unknown>[];
    const fact = tables.find((t) => t.name === 'gold.fact_customer_search');
    expect(fact).toMatchObject({ layer: 'gold', kind: 'table', materialized: 'append', partitions: null });
    // Every entry has every key, null where it does not apply.
    for (const table of tables)
      expect(Object.keys(table).sort()).toEqual(
        ['columns', 'kind', 'layer', 'materialized', 'model', 'name', 'partitions', 'rows'].sort(),
      );
    expect(tables.find((t) => t.name === 'quarantine.customer_search')).toMatchObject({
      model: null,
      materialized: null,
      partitions: 5,
    });
    expect(tables.find((t) => t.name === 'silver.customer_search')).toMatchObject({
      kind: 'view',
      partitions: 5,
    });
    const text = lakehouse('runs', demo).stdout;
    // The demo's run of five consecutive days shows as its first and last, not a list cut after four.
    expect(text).toMatch(/^\S+ +success +.+ +2022-06-01 \.\. 2022-06-05 \(5 dates\) +all /m);
    // Per model and date, the data tests passed as run prints them (README: "... quarantined, tests").
    expect(text).toMatch(
      /^date +model +status +rows_in +rows_out +duplicates +quarantined +tests +ms +error$/m,
    );
    expect(text).toMatch(/^2022-06-01 +gold\.fact_customer_search +success( +\d+){4} +10\/10 +\d+ *$/m);
    // One line per date, each naming its date: the table above lists all five.
    expect(
      text.match(/^accounting \((\S+)\): bronze\.customer_search \d+ = silver\.customer_search/gm),
    ).toEqual(
      ['2022-06-01', '2022-06-02', '2022-06-03', '2022-06-04', '2022-06-05'].map((date) =>
        expect.stringContaining(`accounting (${date}):`),
      ),
    );
    const runs = JSON.parse(lakehouse('runs', demo, '--json').stdout) as Record<string, unknown>[];
    expect(runs[0]).toMatchObject({ status: 'success', selection: 'all', errorCode: null });
    expect(Object.keys(runs[0]!).sort()).toEqual(
      [
        'dates',
        'error',
        'errorCode',
        'finishedAt',
        'models',
        'runId',
        'selection',
        'startedAt',
        'status',
      ].sort(),
    );
    expect(Object.keys((runs[0]!.models as object[])[0]!).sort()).toEqual(
      [
        'duplicatesRemoved',
        'durationMs',
        'error',
        'etlDate',
        'model',
        'quarantined',
        'rowsIn',
        'rowsOut',
        'status',
        'tests',
        'warnings',
      ].sort(),
    );
  });

  it('stops quietly when the reader of its output goes away (| head)', () => {
    // `true` exits at once, long before the CLI has started and writes: every write meets a closed pipe.
    const piped = spawnSync(
      'bash',
      ['-c', `set -o pipefail; "${process.execPath}" bin/lakehouse.js runs "${demo}" | true`],
      { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(piped.stderr).toBe('');
    expect(piped.status).toBe(0);
  });

  it('reports errors on stderr with a code and a non-zero exit', async () => {
    // These only read, or are refused before the warehouse is opened: started side by side, since most of
    // each is Node and the engine loading. A run checks its dates and --memory-limit with the warehouse
    // open to write, which a reader beside it would block: the runs below come after, one at a time.
    const [
      result,
      missing,
      misspelt,
      otherLayer,
      write,
      two,
      unquoted,
      limitZero,
      typo,
      typoFlag,
      publishTypo,
      port,
      demoJson,
    ] = await Promise.all([
      lakehouseAsync('query', demo, 'SELECT * FROM no_such_table'),
      lakehouseAsync('tables', join(work, 'nowhere')),
      lakehouseAsync('query', demo, 'SELECT * FROM dim_usr'),
      lakehouseAsync('query', demo, 'SELECT * FROM quarantine.customer_serch'),
      lakehouseAsync('query', demo, 'DROP TABLE dim_user'),
      lakehouseAsync('query', demo, 'SELECT 1; SELECT 2'),
      lakehouseAsync('query', demo, 'SELECT', '1'),
      lakehouseAsync('runs', demo, '--limit', '0'),
      lakehouseAsync('query', demo, 'SELEC 1'),
      lakehouseAsync('run', demo, '--frm', '2022-06-01'),
      lakehouseAsync('publish', 'iceberg', demo, '--warehose', 'x'),
      lakehouseAsync('serve', demo, '--port', '99999'),
      lakehouseAsync('demo', '--dir', demo, '--json'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error \[QUERY_ERROR\]: .*no_such_table/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error \[PROJECT_NOT_FOUND\].*lakehouse init/);
    // A misspelt table gets the closest table of a layer, not DuckDB's pick from its own catalog.
    expect(misspelt.stderr).toMatch(/does not exist!\nDid you mean gold\.dim_user\?/);
    // Among equally close tables, the one in the layer the SQL names.
    expect(otherLayer.stderr).toMatch(/Did you mean quarantine\.customer_search\?/);
    expect(write.code).toBe(1);
    expect(write.stderr).toMatch(
      /^error \[QUERY_ERROR\]: lakehouse query only reads: one query \(SELECT, .*\)\. To change data, edit a model and run it: lakehouse run\.\n$/,
    );
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/runs one statement; this SQL holds 2/);
    // Unquoted SQL arrives as several words: refused, not run as its first word.
    expect(unquoted.code).toBe(2);
    expect(unquoted.stderr).toMatch(/lakehouse query: unexpected argument 1\./);
    expect(limitZero.stderr).toMatch(/--limit 0: expected a whole number, 1 or more/);
    expect(typo.stderr).toMatch(/^error \[QUERY_ERROR\]: Parser Error: syntax error at or near "SELEC"/);
    const badDate = lakehouse('run', demo, '--date', '2022-6-1');
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toMatch(/--date 2022-6-1: expected a calendar date as YYYY-MM-DD/);
    // Shaped like a date but not on the calendar: refused before anything runs, not an INTERNAL error.
    const noSuchDay = lakehouse('run', demo, '--date', '2022-02-30');
    expect(noSuchDay.code).toBe(2);
    expect(noSuchDay.stderr).toMatch(
      /^error \[INVALID_ARGUMENT\]: --date 2022-02-30: expected a calendar date/,
    );
    const both = lakehouse('run', demo, '--date', '2022-06-01', '--from', '2022-06-01');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--date and --from\/--to both given/);
    // A mistyped flag is named with the closest one the command takes, and the list of them.
    expect(typoFlag.code).toBe(2);
    expect(typoFlag.stderr).toBe(
      'error [INVALID_ARGUMENT]: Unknown option --frm (did you mean "--from"?); this command takes --date, --from, ' +
        '--to, --select, --memory-limit, --json. Run `lakehouse run --help`.\n',
    );
    expect(publishTypo.stderr).toMatch(
      /^error \[INVALID_ARGUMENT\]: Unknown option --warehose \(did you mean "--warehouse"\?\); this command takes --catalog, --warehouse, /,
    );
    // A port out of range is the option's error, not an INTERNAL one from the server's listen().
    expect(port.code).toBe(2);
    expect(port.stderr).toBe(
      'error [INVALID_ARGUMENT]: --port 99999: a TCP port is at most 65535; leave --port out to use any free one\n',
    );
    // demo prints tables, not JSON: --json is refused rather than ignored under a script reading stdout.
    expect(demoJson.code).toBe(2);
    expect(demoJson.stderr).toMatch(
      /^error \[INVALID_ARGUMENT\]: Unknown option --json; this command takes --dir\./,
    );
    expect(demoJson.stdout).toBe('');
    // A bad option is named as the option, not as a lakehouse.yaml setting the user did not write.
    const memory = lakehouse('run', demo, '--date', '2022-06-01', '--memory-limit', 'lots');
    expect(memory.code).toBe(2);
    expect(memory.stderr).toMatch(
      /^error \[INVALID_ARGUMENT\]: --memory-limit lots: not a value DuckDB takes \(.*\)\. Give a size such as '1GB' or '512MB', or leave the option out to use settings\.memory_limit of lakehouse\.yaml\.\n$/,
    );
  });

  // A query of blanks, comments or a lone semicolon reached DuckDB, whose answer was "Error in native callback".
  it.each(['  ', ';', '/* nothing */'])('query %j says there is no query to run', (sql) => {
    const result = lakehouse('query', demo, sql);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'error [INVALID_ARGUMENT]: There is no query to run: the SQL holds only blanks, comments or semicolons. ' +
        'Give one query, e.g. lakehouse query ./demo "SELECT 1".\n',
    );
  });

  it('publish refuses a stray word after the project as the other commands do, not ignoring it', () => {
    // A flag without its dashes would otherwise publish with the setting the user meant left out.
    const stray = lakehouse('publish', 'iceberg', demo, 'warehouse', '--warehouse', 'x', '--dry-run');
    expect(stray.code).toBe(2);
    expect(stray.stderr).toMatch(/lakehouse publish iceberg: unexpected argument warehouse\./);
    const missing = lakehouse('publish', 'redshift');
    expect(missing.stderr).toMatch(/lakehouse publish redshift needs a project directory\. Usage:\n/);
  });

  it('serve names a port already in use and what to do, instead of an INTERNAL listen error', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((taken.address() as AddressInfo).port);
      const result = lakehouse('serve', demo, '--port', port);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `error [INVALID_ARGUMENT]: Port ${port} on 127.0.0.1 is already in use (another lakehouse serve or app, ` +
          'or another program): pick another --port, or leave --port out to use any free one.\n',
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('run --json answers one JSON object for a bad option too, and SIGTERM cancels as Ctrl-C does', async () => {
    for (const args of [['--bogus'], ['--date'], ['--limit', '3']]) {
      const bad = lakehouse('run', demo, '--json', ...args);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(JSON.parse(bad.stdout), args.join(' ')).toMatchObject({
        runId: null,
        status: 'failed',
        error: { code: 'INVALID_ARGUMENT' },
      });
    }
    // A stop from CI, `timeout` or systemd: the date rolls back and the run says so, like Ctrl-C.
    await expectCancelledBySigterm((output) => output.stderr.includes('%'));
  });

  it('a run Ctrl-C cancels exits 130, as shells report a process SIGINT stopped, not 1 as a failure', async () => {
    await expectCancelledBySigterm((output) => output.stderr.includes('%'), [], 'SIGINT');
  });

  it('run --json keeps a SIGTERM that comes while it is still loading, and ends as cancelled', async () => {
    // bin/lakehouse.js catches SIGTERM in its first statement, then loads for 0.5 s or more. The signal
    // goes as soon as that catch is in place, which a preload reports on fd 3: a delay guessed from a
    // bare Node's start landed before the catch when the machine slowed down between the two starts.
    await expectCancelledBySigterm((_output, sigtermCaught) => sigtermCaught, [REPORT_SIGTERM_LISTENER]);
  });

  /**
   * Runs before bin/lakehouse.js and writes to fd 3 when a SIGTERM listener is added. Node starts
   * catching the signal when the listener is added, which the same statement does right after.
   */
  const REPORT_SIGTERM_LISTENER =
    "--import=data:text/javascript,import{writeSync}from'node:fs';" +
    "process.on('newListener',(e)=>{if(e==='SIGTERM')writeSync(3,'caught')})";

  /**
   * Starts `run demo --json`, sends SIGTERM (or `signal`) once `due` says so, and expects a cancelled
   * run's JSON and the exit code of a process that signal stopped: 128 + its number.
   */
  async function expectCancelledBySigterm(
    due: (output: { stdout: string; stderr: string }, sigtermCaught: boolean) => boolean,
    nodeOptions: string[] = [],
    signal: 'SIGTERM' | 'SIGINT' = 'SIGTERM',
  ) {
    const child = spawn(
      process.execPath,
      [...nodeOptions, join(PROJECT_ROOT, 'bin', 'lakehouse.js'), 'run', demo, '--json'],
      { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] },
    );
    const output = { stdout: '', stderr: '' };
    let sigtermCaught = false;
    child.stdout?.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
    (child.stdio[3] as Readable).on('data', () => (sigtermCaught = true));
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => {
        exitCode = code;
        resolve(code);
      }),
    );
    while (exitCode === undefined && !due(output, sigtermCaught))
      await new Promise((resolve) => setTimeout(resolve, 5));
    child.kill(signal);
    expect(await exited, output.stderr).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(output.stderr).toContain('Cancelling: the current date is rolled back');
    expect(JSON.parse(output.stdout)).toMatchObject({
      status: 'cancelled',
      error: { code: 'RUN_CANCELLED' },
    });
  }

  it('runs a selection and a date range, and records what ran', () => {
    const result = lakehouse(
      'run',
      demo,
      '--from',
      '2022-06-02',
      '--to',
      '2022-06-03',
      '--select',
      'gold.dim_user+',
      '--json',
    );
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      status: string;
      dates: string[];
      models: { model: string }[];
    };
    expect(summary.status).toBe('success');
    expect(summary.dates).toEqual(['2022-06-02', '2022-06-03']);
    expect([...new Set(summary.models.map((m) => m.model))].sort()).toEqual(
      ['gold.bridge_user_plan', 'gold.dim_user', 'gold.fact_customer_search'].sort(),
    );
  });

  it('init says when the source folder has no day folders, and which subfolder has them', async () => {
    const parent = join(work, 'delivery');
    await mkdir(join(parent, 'logs', '20220601'), { recursive: true });
    await writeFile(join(parent, 'logs', '20220601', 'part-0.parquet'), 'not read by init');
    // A day folder with nothing to load is no day either.
    await mkdir(join(parent, 'notes', '20220602'), { recursive: true });
    const tooHigh = lakehouse('init', join(work, 'too-high'), '--source', parent);
    expect(tooHigh.code).toBe(0);
    expect(tooHigh.stderr).toBe(
      `note: --source ${parent} has no day folder with Parquet files in it (YYYYMMDD/*.parquet), so runs have no date to load. ` +
        `${join(parent, 'logs')} has them: give that folder as --source, or edit ` +
        'sources.customer_search_log.path in lakehouse.yaml.\n',
    );
    const right = lakehouse('init', join(work, 'right-level'), '--source', join(parent, 'logs'));
    expect(right.code).toBe(0);
    expect(right.stderr).toBe('');
    const empty = join(parent, 'notes');
    expect(lakehouse('init', join(work, 'empty-source'), '--source', empty).stderr).toBe(
      `note: --source ${empty} has no day folder with Parquet files in it (YYYYMMDD/*.parquet), so runs have no date to load. Put ` +
        "each day's Parquet files in a folder named for it (20220601/), or edit sources.customer_search_log.path " +
        'in lakehouse.yaml.\n',
    );
  });

  it('a day folder or one of its files given as the source names the folder that holds the days', async () => {
    const logs = join(work, 'delivery-below', 'logs');
    const day = join(logs, '20220601');
    await mkdir(day, { recursive: true });
    await writeFile(join(day, 'part-0.parquet'), 'not read by init');
    // A day folder given: the note said only to put each day in a folder named for it, as it was.
    const dayGiven = lakehouse('init', join(work, 'day-given'), '--source', day);
    expect(dayGiven.code).toBe(0);
    expect(dayGiven.stderr).toBe(
      `note: --source ${day} has no day folder with Parquet files in it (YYYYMMDD/*.parquet), so runs have no date to load. ` +
        `It is a day folder itself: give the folder that holds it, ${logs}, as --source, or edit ` +
        'sources.customer_search_log.path in lakehouse.yaml.\n',
    );
    // A day's file given: written without a word, and every run then said the folder did not exist.
    const file = join(day, 'part-0.parquet');
    const fileGiven = lakehouse('init', join(work, 'file-given'), '--source', file);
    expect(fileGiven.code).toBe(2);
    expect(fileGiven.stderr).toContain(
      `error [INVALID_ARGUMENT]: --source ${file} is a file, and the source is the folder that holds the day ` +
        `folders (YYYYMMDD/*.parquet) (here ${logs}): give that folder.`,
    );
    const yaml = join(work, 'day-given', 'lakehouse.yaml');
    await writeFile(yaml, (await readFile(yaml, 'utf8')).replace(JSON.stringify(day), JSON.stringify(file)));
    const run = lakehouse('run', join(work, 'day-given'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `error [SOURCE_MISSING]: Source "customer_search_log": ${file} is a file, and a daily source is the folder ` +
        'that holds its day folders. Give that folder as sources.customer_search_log.path in lakehouse.yaml.',
    );
  });

  it('init creates a project on a path still to come, and says the path does not exist', async () => {
    const missing = join(work, 'not-yet');
    const result = lakehouse(
      'init',
      join(work, 'later'),
      '--example',
      'customer-search',
      '--source',
      missing,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Created project /);
    expect(result.stderr).toBe(`note: --source ${missing} does not exist (yet): runs fail until it does.\n`);
    // The folder arrives, still without day folders: the run names where it looked.
    await mkdir(missing);
    const run = lakehouse('run', join(work, 'later'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `error [SOURCE_MISSING]: The sources have no dates to run: no day folder under customer_search_log (${missing}, named like %Y%m%d).`,
    );
    // A warehouse no run has committed to: said in words, not as "(no columns)".
    expect(lakehouse('tables', join(work, 'later')).stdout).toBe(
      `No tables yet: no run has committed a date. Run: lakehouse run ${join(work, 'later')}\n`,
    );
    expect(lakehouse('runs', join(work, 'later')).stdout).toBe('No runs yet.\n');
    // The next command, pasted into a shell, names the folder whatever characters it holds.
    const odd = join(work, "odd it's");
    const created = lakehouse('init', odd, '--example', 'customer-search');
    expect(created.stdout).toBe(
      `Created project ${odd}\n  next: lakehouse run '${odd.replace("'", "'\\''")}'\n`,
    );
    // Never run, it has no warehouse yet: no tables and no runs, as for one whose runs all failed.
    expect(lakehouse('tables', odd, '--json').stdout).toBe('[]\n');
    expect(lakehouse('runs', odd)).toMatchObject({ code: 0, stdout: 'No runs yet.\n' });
    expect(lakehouse('query', odd, 'SELECT 1').stderr).toMatch(
      /^error \[PROJECT_INVALID\]: The project has no warehouse yet/,
    );
  });

  it('init and demo refuse what they would overwrite or could not use, before generating anything', async () => {
    const refused = (result: ReturnType<typeof lakehouse>, message: string) => {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`error [INVALID_ARGUMENT]: ${message}`);
    };
    // A sample would overwrite (or sit beside) what the user keeps in <dir>/data.
    const kept = join(work, 'kept');
    await mkdir(join(kept, 'data', 'customer_search_log_data', '20220601'), { recursive: true });
    await writeFile(join(kept, 'data', 'customer_search_log_data', '20220601', 'part-00000.parquet'), 'mine');
    refused(
      lakehouse('init', kept),
      `The sample folder ${join(kept, 'data')} is not empty (customer_search_log_data)`,
    );
    refused(lakehouse('demo', '--dir', kept), `The sample folder ${join(kept, 'data')} is not empty`);
    // Arguments init cannot use are said first, and nothing is left behind.
    const fresh = join(work, 'fresh');
    refused(
      lakehouse('init', fresh, '--example', 'nope'),
      'Unknown example "nope". Available: customer-search',
    );
    refused(
      lakehouse('init', fresh, '--catalog-rename', 'keyword=title'),
      '--catalog-rename maps the columns of the --catalog file, and none was given',
    );
    expect(
      await stat(fresh).then(
        () => 'written',
        () => 'absent',
      ),
    ).toBe('absent');
    const file = join(work, 'a-file');
    await writeFile(file, '');
    refused(lakehouse('init', file, '--source', fresh), `${file} is a file, not a folder`);
    // generate and demo failed on it with mkdir's EEXIST, as an INTERNAL error.
    refused(
      lakehouse('generate', '--out', file),
      `--out ${file} is a file, not a folder: give a new or empty folder.`,
    );
    refused(
      lakehouse('demo', '--dir', file),
      `--dir ${file} is a file, not a folder: give a new or empty folder.`,
    );
    // A folder of the user's own models (its lakehouse.yaml deleted to start again): copying the example
    // replaced them without a word.
    const own = join(work, 'own');
    await mkdir(join(own, 'models', 'gold'), { recursive: true });
    await writeFile(join(own, 'models', 'gold', 'dim_user.sql'), '-- mine\n');
    refused(
      lakehouse('init', own, '--source', fresh),
      `${own} already holds a file init would write over (models/gold/dim_user.sql); nothing was written. ` +
        'Choose an empty directory, or move those files away first.',
    );
    expect(await readFile(join(own, 'models', 'gold', 'dim_user.sql'), 'utf8')).toBe('-- mine\n');
    expect(await readdir(own)).toEqual(['models']);
    // The example's files as init wrote them are no one's work: an init stopped before lakehouse.yaml reruns.
    const again = join(work, 'again');
    expect(lakehouse('init', again, '--source', fresh).code).toBe(0);
    await rm(join(again, 'lakehouse.yaml'));
    expect(lakehouse('init', again, '--source', fresh).code).toBe(0);
    // A malformed URI was written to lakehouse.yaml as a local folder (./s3:/lake/p3) without a word.
    for (const [flag, uri] of [
      ['--lake', 's3:/lake/p3'],
      ['--source', 's3:raw'],
      ['--catalog', 'S3://bucket/titles.csv'],
      ['--lake', 's3a://bucket/lake'],
    ] as const) {
      refused(
        lakehouse('init', fresh, flag, uri),
        `${uri} is neither an S3 URI nor a local path: expected s3://bucket/prefix`,
      );
    }
    expect(
      await stat(fresh).then(
        () => 'written',
        () => 'absent',
      ),
    ).toBe('absent');
  });

  it('init refuses a lake, an endpoint or a catalog rename every run of the project would fail on', async () => {
    const refused = (result: ReturnType<typeof lakehouse>, message: string) => {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`error [INVALID_ARGUMENT]: ${message}`);
    };
    const project = join(work, 'never-written');
    const file = join(work, 'lake-file');
    await writeFile(file, 'not a lake');
    // Each was written to lakehouse.yaml, and every command then refused the project.
    refused(
      lakehouse('init', project, '--lake', file),
      `--lake ${file} is a file, and the lake is a folder (or s3://bucket/prefix) that runs write partitions under`,
    );
    // MinIO's docs write localhost:9000, which parses as a URL of scheme localhost: and failed every
    // run "after retries", as if the store were down.
    refused(
      lakehouse('init', project, '--endpoint', 'localhost:9000'),
      '--endpoint localhost:9000: expected an http:// or https:// URL, such as http://localhost:9000',
    );
    const catalog = join(work, 'labelled.csv');
    await writeFile(catalog, 'No,keyword,category\n1,sao băng,Romantic\n');
    refused(
      lakehouse('init', project, '--catalog', catalog, '--catalog-rename', 'keyword=titl,category=genres'),
      '--catalog-rename keyword=titl: the example reads title, genres, slug from the catalog, not titl (did you mean "title"?)',
    );
    expect(
      await stat(project).then(
        () => 'written',
        () => 'absent',
      ),
    ).toBe('absent');
  });

  it('crawl on a project without crawl sources says how to add one', () => {
    const result = lakehouse('crawl', demo);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `error [INVALID_ARGUMENT]: ${join(demo, 'lakehouse.yaml')} has no crawl source (one with kind: crawl under sources:), ` +
        'so there is nothing to crawl. Add one (docs/s3.md, "Crawled reference data"), then run lakehouse crawl again.',
    );
  });

  it('query --json --limit N prints the first N rows; a bad --limit is refused either way', () => {
    const sql = 'SELECT range AS n FROM range(5) ORDER BY n';
    expect(JSON.parse(lakehouse('query', demo, sql, '--json', '--limit', '2').stdout)).toEqual([
      { n: 0 },
      { n: 1 },
    ]);
    expect(JSON.parse(lakehouse('query', demo, sql, '--json').stdout)).toHaveLength(5);
    for (const json of [['--json'], []]) {
      const bad = lakehouse('query', demo, sql, ...json, '--limit', 'abc');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--limit abc: expected a whole number, 1 or more');
    }
  });

  it('generate writes the source layout and a catalog', async () => {
    const out = join(work, 'gen');
    const result = lakehouse('generate', '--out', out, '--days', '2', '--rows-per-day', '500', '--seed', '3');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Generated 1,000 events over 2 days /);
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(join(out, 'customer_search_log_data'))).sort()).toEqual(['20220601', '20220602']);
    // A second generate into the same folder would mix its days with these: refused, nothing written.
    const again = lakehouse('generate', '--out', out, '--days', '1', '--rows-per-day', '10');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--out .* is not empty \(customer_search_log_data, title_catalog\.csv\)/);
    expect((await readdir(join(out, 'customer_search_log_data'))).sort()).toEqual(['20220601', '20220602']);
  });
});
