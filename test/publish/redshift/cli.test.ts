import { spawn } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type PostgresServer, startPostgres } from '../../helpers/postgres.ts';
import { generatedProject, PROJECT_ROOT, removeDir, tempDir, withEngine } from '../../helpers/project.ts';

// `lakehouse publish redshift` as a user runs it: a --url with no configuration, and a named target of
// lakehouse.yaml whose password comes from the environment variable it names.

const BIN = join(PROJECT_ROOT, 'bin', 'lakehouse.js');

function lakehouse(args: string[], env: NodeJS.ProcessEnv = {}) {
  // Asynchronous, so the test's own event loop (and nothing else) waits for the child.
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const PUBLISHER_PASSWORD = 'publisher-secret';

let server: PostgresServer;
let work: string;
let dir: string;

beforeAll(async () => {
  work = await tempDir('lakehouse-publish-cli-');
  const [started, project] = await Promise.all([
    startPostgres([], { passwordUser: { name: 'publisher', password: PUBLISHER_PASSWORD } }),
    generatedProject(work, 1, 200),
  ]);
  server = started;
  dir = project.dir;
  await withEngine(dir, (engine) => engine.run({ dates: project.dates }));
});

afterAll(async () => {
  await server?.stop();
  await removeDir(work);
});

describe('lakehouse publish redshift', () => {
  it('publishes with --url, previews with --dry-run, and reports reconciliation as JSON', async () => {
    const url = await server.createDatabase('by_url');
    const dry = await lakehouse(['publish', 'redshift', dir, '--url', url, '--schema', 'mart', '--dry-run']);
    expect(dry.stderr).not.toMatch(/error \[/);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('schema mart, copy-stdin');
    expect(dry.stdout).toContain('CREATE TABLE "mart"."fact_customer_search"');

    const result = await lakehouse(['publish', 'redshift', dir, '--url', url, '--schema', 'mart', '--json']);
    expect(result.stderr).not.toMatch(/error \[/);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      reconciliation: { table: string; targetRows: number; matches: boolean }[];
    };
    expect(report.reconciliation).toHaveLength(9);
    expect(report.reconciliation.every((r) => r.matches)).toBe(true);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM mart.fact_customer_search');
      expect(rows[0].n).toBe(
        report.reconciliation.find((r) => r.table === 'fact_customer_search')?.targetRows,
      );
      expect(rows[0].n).toBeGreaterThan(0);
    } finally {
      await client.end();
    }

    // Published already: the fact has no date to send, and the preview says so next to its gold rows.
    const again = await lakehouse([
      'publish',
      'redshift',
      dir,
      '--url',
      url,
      '--schema',
      'mart',
      '--dry-run',
    ]);
    expect(again.code).toBe(0);
    const factRows = report.reconciliation.find((r) => r.table === 'fact_customer_search')?.targetRows;
    expect(again.stdout).toMatch(/table\s+materialized\s+load\s+to_send\s+gold_rows/);
    expect(again.stdout).toMatch(
      new RegExp(`fact_customer_search\\s+append\\s+append\\s+0\\s+${factRows}\\b`),
    );
    const json = JSON.parse(
      (await lakehouse(['publish', 'redshift', dir, '--url', url, '--schema', 'mart', '--dry-run', '--json']))
        .stdout,
    ) as { tables: { table: string; rowsToSend: number }[] };
    expect(json.tables.find((t) => t.table === 'fact_customer_search')?.rowsToSend).toBe(0);
  });

  it('publishes to a named target of lakehouse.yaml, password from the variable it names', async () => {
    const url = new URL(await server.createDatabase('by_name'));
    await appendFile(
      join(dir, 'lakehouse.yaml'),
      `publish:\n  redshift:\n    local:\n      kind: postgres\n      host: ${url.hostname}\n      port: ${url.port}\n      user: postgres\n      database: by_name\n      password_env: LAKEHOUSE_TEST_PG_PASSWORD\n`,
    );
    const missing = await lakehouse([
      'publish',
      'redshift',
      dir,
      '--target',
      'local',
      '--tables',
      'dim_date',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('environment variable LAKEHOUSE_TEST_PG_PASSWORD, which is not set');

    const unknown = await lakehouse(['publish', 'redshift', dir, '--target', 'prod']);
    expect(unknown.stderr).toContain('No Redshift target "prod"');
    expect(unknown.stderr).toContain('Targets: local.');

    const ok = await lakehouse(
      ['publish', 'redshift', dir, '--target', 'local', '--tables', 'dim_date,dim_user'],
      {
        LAKEHOUSE_TEST_PG_PASSWORD: 'unused-with-trust-auth',
      },
    );
    expect(ok.stderr).not.toMatch(/error \[/);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/dim_date\s+│?\s*table\s+│?\s*create\s+│?\s*365/);
    expect(ok.stdout).toContain('Published 2 tables');
  });

  it('refuses a --tables naming no table instead of publishing every table, and names an unknown kind', async () => {
    const url = await server.createDatabase('no_tables');
    for (const flag of ['', ' , ']) {
      const refused = await lakehouse(['publish', 'redshift', dir, '--url', url, '--tables', flag]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('--tables names no table');
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT to_regnamespace('gold') AS s`);
      expect(rows[0].s).toBeNull();
    } finally {
      await client.end();
    }
    // publish iceberg reads the flag the same way.
    const warehouse = join(work, 'iceberg-no-tables');
    const iceberg = await lakehouse(['publish', 'iceberg', dir, '--warehouse', warehouse, '--tables', '']);
    expect(iceberg.code).toBe(2);
    expect(iceberg.stderr).toContain('--tables names no table');

    for (const kind of ['foo', 'constructor']) {
      const unknown = await lakehouse(['publish', kind, dir]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain(
        `Unknown publish target kind "${kind}": lakehouse publish takes redshift, iceberg`,
      );
    }
  });

  it('asks for PGPASSWORD when the server wants a password and none is set', async () => {
    const url = new URL(await server.createDatabase('with_password'));
    url.username = 'publisher';
    const args = ['publish', 'redshift', dir, '--url', url.toString(), '--tables', 'dim_date'];
    const none = await lakehouse(args, { PGPASSWORD: '' });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(
      `Cannot connect to publisher@${url.hostname}:${url.port}/with_password: the server asks for a password and none was given. Set PGPASSWORD`,
    );
    const wrong = await lakehouse(args, { PGPASSWORD: 'not-the-password' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('password authentication failed for user "publisher"');
    const right = await lakehouse(args, { PGPASSWORD: PUBLISHER_PASSWORD });
    expect(right.stderr).not.toMatch(/error \[/);
    expect(right.code).toBe(0);
    expect(right.stdout).toContain('Published 1 table');
    // The failed handshakes closed their sockets: each command ended at once, not when the server
    // gave up on them (authentication_timeout, 60 s).
  }, 30_000);

  it("names the variable a refused password came from: the target's password_env, or PGPASSWORD", async () => {
    const url = new URL(await server.createDatabase('guarded'));
    const file = join(dir, 'lakehouse.yaml');
    const original = await readFile(file, 'utf8');
    const config = parse(original) as { publish?: { redshift?: Record<string, unknown> } };
    config.publish = { ...config.publish };
    config.publish.redshift = {
      ...config.publish.redshift,
      guarded: {
        kind: 'postgres',
        host: url.hostname,
        port: Number(url.port),
        user: 'publisher',
        database: 'guarded',
        password_env: 'LAKEHOUSE_TEST_PUBLISHER_PW',
      },
    };
    await writeFile(file, stringify(config));
    try {
      const args = ['publish', 'redshift', dir, '--target', 'guarded', '--tables', 'dim_date'];
      const wrong = await lakehouse(args, { LAKEHOUSE_TEST_PUBLISHER_PW: 'not-the-password' });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('password authentication failed for user "publisher"');
      expect(wrong.stderr).toContain('(LAKEHOUSE_TEST_PUBLISHER_PW, the password_env of target guarded)');
      url.username = 'publisher';
      const byUrl = await lakehouse(
        ['publish', 'redshift', dir, '--url', url.toString(), '--tables', 'dim_date'],
        {
          PGPASSWORD: 'not-the-password',
        },
      );
      expect(byUrl.stderr).toContain('password (PGPASSWORD or ~/.pgpass)');
    } finally {
      await writeFile(file, original);
    }
  }, 30_000);
});
