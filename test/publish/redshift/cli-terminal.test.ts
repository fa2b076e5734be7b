import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresServer, startPostgres } from '../../helpers/postgres.ts';
import { generatedProject, PROJECT_ROOT, removeDir, tempDir, withEngine } from '../../helpers/project.ts';

// `lakehouse publish redshift` on a terminal, where the progress bar redraws one line: util-linux's
// `script` gives the command a pseudo-terminal.

const BIN = join(PROJECT_ROOT, 'bin', 'lakehouse.js');
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

let server: PostgresServer;
let work: string;
let dir: string;

beforeAll(async () => {
  if (!HAS_SCRIPT) return;
  work = await tempDir('lakehouse-publish-tty-');
  const [started, project] = await Promise.all([startPostgres(), generatedProject(work, 1, 30)]);
  server = started;
  dir = project.dir;
  await withEngine(dir, (engine) => engine.run({ dates: project.dates }));
});

afterAll(async () => {
  await server?.stop();
  if (work) await removeDir(work);
});

describe.skipIf(!HAS_SCRIPT)('lakehouse publish redshift on a terminal', () => {
  it('clears the progress bar before printing why the publish failed', async () => {
    const url = await server.createDatabase('tty');
    const publish = `${process.execPath} ${BIN} publish redshift ${dir} --url ${url} --tables dim_platform`;
    const onTerminal = () =>
      new Promise<string>((resolve) => {
        execFile('script', ['-qec', publish, '/dev/null'], { cwd: PROJECT_ROOT }, (_error, stdout) =>
          resolve(String(stdout)),
        );
      });
    expect(await onTerminal()).toContain('Published');
    // The target now refuses every change to the table, so the next publish fails mid-load.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by a trigger'; END $$ LANGUAGE plpgsql",
    );
    await client.query(
      'CREATE TRIGGER refuse BEFORE INSERT OR UPDATE OR DELETE ON gold.dim_platform FOR EACH STATEMENT EXECUTE FUNCTION refuse()',
    );
    await client.end();
    const output = await onTerminal();
    expect(output).toContain('refused by a trigger');
    // The bar's line is erased (ESC [2K) and the error starts on it, not after the bar's text.
    expect(output).toContain('\r\u001b[2Kerror [PUBLISH_FAILED]');
  });
});
