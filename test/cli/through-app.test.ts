import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../engine/api/dispatcher.ts';
import { createEngine } from '../../engine/engine.ts';
import { openForCommandLine } from '../../server/command-line-access.ts';
import { findServer, isPrivateFolder, registerServer } from '../../server/discovery.ts';
import { generatedProject, PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';

// While the app (here `lakehouse serve`) holds a project's warehouse open, `lakehouse tables`, `runs` and
// `query` read through its loopback API, found through a record only this user can read.

const BIN = join(PROJECT_ROOT, 'bin', 'lakehouse.js');
let work: string;
let dir: string;
let runtime: string;

/** The CLI with the test's own discovery folder, so no other server of this machine is found. */
function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, XDG_RUNTIME_DIR: runtime },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The CLI as `cli` runs it, without blocking this process: for a server that lives in it. */
function cliAsync(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: PROJECT_ROOT,
        timeout: 120_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * Queries `lakehouse query` refuses, each with its own message and exit code. The commands here and in
 * readEverything run side by side: each only reads, and most of each is Node and the engine starting.
 */
async function refuseEverything() {
  const [write, copy, two, none, syntax] = await Promise.all([
    cliAsync('query', dir, 'CREATE TABLE t AS SELECT 1'),
    cliAsync('query', dir, "COPY (SELECT 1) TO 'x.csv'"),
    cliAsync('query', dir, 'SELECT 1; SELECT 2'),
    cliAsync('query', dir, ';'),
    cliAsync('query', dir, 'SELEC 1'),
  ]);
  return { write, copy, two, none, syntax };
}

/** What the three reading commands print for the project. */
async function readEverything() {
  const sql = 'SELECT count(*) AS n, min(event_id) AS first FROM fact_customer_search';
  // More rows than one window of the app's API, of several types.
  const many = `SELECT event_id, datetime_log, date_key, match_score, i FROM silver.customer_search,
    range(40) t(i) ORDER BY event_id, i`;
  const [tables, runs, query, manyRows] = await Promise.all([
    cliAsync('tables', dir, '--json'),
    cliAsync('runs', dir, '--json'),
    cliAsync('query', dir, sql, '--json'),
    cliAsync('query', dir, many, '--json'),
  ]);
  return { tables, runs, query, many: manyRows };
}

beforeAll(async () => {
  work = await tempDir('through-app-');
  runtime = join(work, 'runtime');
  await mkdir(runtime, { mode: 0o700 });
  ({ dir } = await generatedProject(work, 2, 200));
  const engine = await createEngine({ projectDir: dir });
  try {
    expect((await engine.run({})).status).toBe('success');
  } finally {
    engine.close();
  }
}, 120_000);

afterAll(() => removeDir(work));

describe('the command line while the app has the project open', () => {
  let server: ChildProcess | undefined;
  afterAll(() => {
    server?.kill('SIGTERM');
  });

  it('reads tables, runs and queries through the app, with the same output as on its own', async () => {
    const alone = await readEverything();
    expect(alone.tables.code, alone.tables.stderr).toBe(0);
    const refusedAlone = await refuseEverything();

    server = spawn(process.execPath, [BIN, 'serve', dir], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, XDG_RUNTIME_DIR: runtime },
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/open http:\/\/127\.0\.0\.1:\d+\//.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      server?.stdout?.on('data', onData);
      server?.stderr?.on('data', onData);
      server?.on('exit', (code) => reject(new Error(`exited ${code}:\n${output}`)));
    });
    const origin = /open (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1];

    const through = await readEverything();
    for (const [command, result] of Object.entries(through)) {
      expect(result.code, `${command}: ${result.stderr}`).toBe(0);
      expect(result.stderr).toBe(`note: the app has this project open (${origin}); reading through it.\n`);
      expect(result.stdout, command).toBe(alone[command as keyof typeof alone].stdout);
    }
    expect((JSON.parse(through.many.stdout) as unknown[]).length).toBeGreaterThan(10_000);
    // Refused with the same words and exit code, not the app console's, and before the app runs anything.
    const note = `note: the app has this project open (${origin}); reading through it.\n`;
    for (const [query, refused] of Object.entries(await refuseEverything())) {
      const alone = refusedAlone[query as keyof typeof refusedAlone];
      expect(alone.code, query).not.toBe(0);
      expect(refused.code, `${query}: ${refused.stderr}`).toBe(alone.code);
      expect(refused.stderr.replace(note, ''), query).toBe(alone.stderr);
    }
    expect(refusedAlone.two.code).toBe(2);
    // A run still needs the warehouse to itself, and says where to run instead.
    const run = cli('run', dir, '--date', '2022-06-01');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/While the app is open, run from it/);

    // Stopped, the app removes its record: the next read opens the warehouse itself again.
    server.kill('SIGTERM');
    await new Promise((resolve) => server?.once('exit', resolve));
    expect(await readdir(join(runtime, 'lakehouse-explorer'))).toEqual([]);
    const after = cli('tables', dir, '--json');
    expect(after.stderr).toBe('');
    expect(after.stdout).toBe(alone.tables.stdout);
    // Every command-line call starts Node and the engine: near two minutes in all on a loaded machine.
  }, 300_000);

  it('ignores the record of an app that is gone, and the error says the warehouse is locked', async () => {
    // This process holds the warehouse, as a run would; the record names a process that has exited.
    const engine = await createEngine({ projectDir: dir });
    const previous = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = runtime;
    try {
      // Registered here to get the record's name, then made to name a process that has exited.
      const unregister = await registerServer(dir, { origin: 'http://127.0.0.1:9', token: 'x' });
      const record = join(
        runtime,
        'lakehouse-explorer',
        (await readdir(join(runtime, 'lakehouse-explorer')))[0]!,
      );
      const dead = spawnSync(process.execPath, ['-e', '']).pid;
      await writeFile(
        record,
        JSON.stringify({ origin: 'http://127.0.0.1:9', token: 'x', pid: dead, project: dir }),
      );
      expect(await findServer(dir)).toBeUndefined();
      const locked = cli('tables', dir);
      expect(locked.code).toBe(1);
      expect(locked.stderr).toMatch(
        /^error \[RUN_LOCKED\]: The warehouse .+ is open in another lakehouse process/,
      );
      await unregister();
      await rm(record);
    } finally {
      if (previous === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = previous;
      engine.close();
    }
  });

  it('reads through the desktop window too: its main process serves the same access in process', async () => {
    // What electron/main.ts does once the project is open (Electron itself cannot run here).
    const engine = await createEngine({ projectDir: dir });
    const dispatcher = createDispatcher(engine);
    const previous = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = runtime;
    try {
      const access = await openForCommandLine(engine.project.root, dispatcher);
      const through = await cliAsync(
        'query',
        dir,
        'SELECT count(*) AS n FROM fact_customer_search',
        '--json',
      );
      expect(through.stderr).toBe(
        `note: the app has this project open (${access.server.origin}); reading through it.\n`,
      );
      const n = await engine.db.scalar('SELECT count(*) FROM gold.fact_customer_search');
      expect(JSON.parse(through.stdout)).toEqual([{ n }]);
      await access.close();
      expect(await readdir(join(runtime, 'lakehouse-explorer'))).toEqual([]);
      // Closed, the warehouse is still held by the window's engine: the command line says so.
      expect(cli('tables', dir).stderr).toMatch(/^error \[RUN_LOCKED\]/);
    } finally {
      if (previous === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = previous;
      await dispatcher.close();
      engine.close();
    }
  });

  it("says a result too big for the app's download is read by closing the app, not by this very command", async () => {
    const engine = await createEngine({ projectDir: dir });
    // A result of more than one window comes through the app's download: 64 kB here, 512 MB in the app.
    const dispatcher = createDispatcher(engine, { explorer: { maxDownloadBytes: 64 * 1024 } });
    const previous = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = runtime;
    try {
      const access = await openForCommandLine(engine.project.root, dispatcher);
      const big = await cliAsync(
        'query',
        dir,
        'SELECT i, md5(CAST(i AS VARCHAR)) AS h FROM range(20000) t(i)',
      );
      expect(big.code).toBe(1);
      expect(big.stderr).toContain(
        "error [QUERY_ERROR]: While the app has the project open, lakehouse query reads a result of more than 10,000 rows through its download, and this one passed the download's 0.1 MB. Close the app",
      );
      await access.close();
    } finally {
      if (previous === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = previous;
      await dispatcher.close();
      engine.close();
    }
  });

  it('writes its record again when the temp folder was cleaned while the app runs', async () => {
    const cleaned = join(work, 'cleaned-runtime');
    const previous = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = cleaned;
    const server = { origin: 'http://127.0.0.1:9', token: 'kept' };
    try {
      const unregister = await registerServer(dir, server, { checkEveryMs: 50 });
      expect(await findServer(dir)).toMatchObject(server);
      await rm(join(cleaned, 'lakehouse-explorer'), { recursive: true });
      expect(await findServer(dir)).toBeUndefined();
      await expect.poll(() => findServer(dir)).toMatchObject({ ...server, pid: process.pid });
      // Stopped, it is removed and stays removed.
      await unregister();
      expect(await findServer(dir)).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await readdir(join(cleaned, 'lakehouse-explorer'))).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = previous;
    }
  });

  it('takes a folder as private by its owner and bits, and on Windows, which has neither, by its place', () => {
    const folder = (mode: number, uid = 1000) => ({ isDirectory: () => true, uid, mode });
    expect(isPrivateFolder(folder(0o40700), 'linux', 1000)).toBe(true);
    expect(isPrivateFolder(folder(0o40755), 'linux', 1000)).toBe(false);
    expect(isPrivateFolder(folder(0o40700, 0), 'darwin', 1000)).toBe(false);
    // What Node reports for every folder on Windows (uid 0).
    expect(isPrivateFolder(folder(0o40666, 0), 'win32', 0)).toBe(true);
    expect(isPrivateFolder({ ...folder(0o100666, 0), isDirectory: () => false }, 'win32', 0)).toBe(false);
  });

  it('keeps the token out of a folder other users can read', async () => {
    const shared = join(work, 'shared-runtime');
    await mkdir(join(shared, 'lakehouse-explorer'), { recursive: true });
    await chmod(join(shared, 'lakehouse-explorer'), 0o755);
    const previous = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = shared;
    try {
      await registerServer(dir, { origin: 'http://127.0.0.1:9', token: 'secret' });
      expect(await readdir(join(shared, 'lakehouse-explorer'))).toEqual([]);
      expect(await findServer(dir)).toBeUndefined();
    } finally {
      if (previous === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = previous;
    }
  });
});
