import { appendFile, mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProjectInfo } from '../../engine/api/contract.ts';
import { appOnGeneratedProject } from '../helpers/app-dispatcher.ts';

// The app keeps its project open: model and macro files edited outside it (another editor, git) must
// count at the next run and show at the next project.info, as a fresh open would read them.
describe('model files edited while the app holds the project', () => {
  const app = appOnGeneratedProject('lakehouse-reload-', 300);

  const info = () => app.dispatcher.call('project.info', {}) as Promise<ProjectInfo>;
  const run = async (select: string[]) => {
    const { runId } = (await app.dispatcher.call('pipeline.run', { dates: [app.date], select })) as {
      runId: string;
    };
    return app.runEnd(runId);
  };
  const query = async (sql: string) =>
    ((await app.dispatcher.call('query.run', { sql, limit: 100 })) as { rows: Record<string, unknown>[] })
      .rows;
  const gold = (name: string) => join(app.dir, 'models', 'gold', name);

  it('runs the SQL as the files hold it now, and lists models added or removed', async () => {
    expect((await run([])).status).toBe('success');
    // Edited on disk: dim_platform gains a column; a new model and a new macro appear.
    const platform = gold('dim_platform.sql');
    await writeFile(
      platform,
      (await readFile(platform, 'utf8')).replace(
        'device_type(platform) AS device_type',
        'device_type(platform) AS device_type, shout(platform) AS platform_upper',
      ),
    );
    await writeFile(
      join(app.dir, 'macros', 'zz_extra.sql'),
      'CREATE OR REPLACE TEMP MACRO shout(s) AS upper(s);\n',
    );
    await writeFile(
      gold('dim_action.sql'),
      "/* config\nmaterialized: table\n*/\nSELECT DISTINCT action FROM silver.customer_search WHERE etl_date = getvariable('etl_date')\n",
    );
    expect((await info()).models.map((m) => m.id)).toContain('gold.dim_action');
    const summary = await run(['gold.dim_platform', 'gold.dim_action']);
    expect(summary.error).toBeUndefined();
    const platforms = await query(
      'SELECT platform, platform_upper FROM dim_platform WHERE platform_key <> 0',
    );
    expect(platforms.length).toBeGreaterThan(0);
    for (const row of platforms) expect(row.platform_upper).toBe(String(row.platform).toUpperCase());
    expect((await query('SELECT count(*) AS n FROM dim_action'))[0]!.n).toBeGreaterThan(0);

    await rm(gold('dim_action.sql'));
    expect((await info()).models.map((m) => m.id)).not.toContain('gold.dim_action');
  });

  it('the console answers with the macros as the files hold them now: edited, and deleted ones gone', async () => {
    const extra = join(app.dir, 'macros', 'zz_console.sql');
    await writeFile(extra, "CREATE OR REPLACE TEMP MACRO greet(s) AS 'hello ' || s;\n");
    await info();
    // The console's connection opens now, with greet as it is.
    expect(await query(`SELECT greet('a') AS g`)).toEqual([{ g: 'hello a' }]);
    await writeFile(extra, "CREATE OR REPLACE TEMP MACRO greet(s) AS 'hi ' || s;\n");
    await info();
    expect(await query(`SELECT greet('a') AS g`)).toEqual([{ g: 'hi a' }]);
    await rm(extra);
    await info();
    await expect(query(`SELECT greet('a') AS g`)).rejects.toThrow(/greet/);
    // The example's own macros still answer on every connection.
    expect(await query(`SELECT network_group('WiFi') AS g`)).toEqual([{ g: 'wifi' }]);
    expect(
      (
        (await app.dispatcher.call('query.run', { sql: `SELECT slugify('Đà Nẵng') AS s`, limit: 1 })) as {
          rows: unknown[];
        }
      ).rows,
    ).toEqual([{ s: 'da-nang' }]);
  });

  it('answers project.info at once while other work holds the writer, and re-reads the files after', async () => {
    // A drop held open stands for any slow writer work (a model.apply's diff on a big table).
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const dropTable = app.engine.dropTable;
    app.engine.dropTable = async (relation) => {
      await gate;
      return dropTable(relation);
    };
    const drop = app.dispatcher.call('tables.drop', { table: 'gold.no_such_table' }).catch((e: unknown) => e);
    try {
      await writeFile(
        gold('dim_action.sql'),
        "/* config\nmaterialized: table\n*/\nSELECT DISTINCT action FROM silver.customer_search WHERE etl_date = getvariable('etl_date')\n",
      );
      const answered = await Promise.race([
        info(),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000)),
      ]);
      expect(answered).not.toBeNull();
      // As last read: the new file counts at the next ask with the writer free.
      expect(answered!.models.map((m) => m.id)).not.toContain('gold.dim_action');
    } finally {
      release();
      app.engine.dropTable = dropTable;
      await drop;
    }
    // Two asks at once (the app's focus and a run's end) both answer after the one reload.
    const both = await Promise.all([info(), info()]);
    for (const answer of both) expect(answer.models.map((m) => m.id)).toContain('gold.dim_action');
    await rm(gold('dim_action.sql'));
    const again = await Promise.all([info(), info()]);
    for (const answer of again) expect(answer.models.map((m) => m.id)).not.toContain('gold.dim_action');
  });

  it('refuses a run while a file edited on disk is broken, and runs once it is fixed', async () => {
    const platform = gold('dim_platform.sql');
    const good = await readFile(platform, 'utf8');
    await writeFile(platform, good.replace('/* config', '/* config\nmaterialized: nonsense'));
    // A file that does not parse keeps its model out of the graph until it does.
    expect((await info()).models.map((m) => m.id)).not.toContain('gold.dim_platform');
    const refused = await run(['gold.dim_platform']);
    expect(refused.status).toBe('failed');
    expect(refused.error?.message).toContain('dim_platform.sql');
    await writeFile(platform, good);
    expect((await info()).models.map((m) => m.id)).toContain('gold.dim_platform');
    expect((await run(['gold.dim_platform'])).status).toBe('success');
  });

  const touchCleaning = () => appendFile(join(app.dir, 'macros', 'cleaning.sql'), '\n-- edited\n');

  it('keeps the macros of a file that also makes a temp table, on the console and for runs', async () => {
    // A lookup table beside a macro, as docs/projects.md allows: made again at every reload.
    await writeFile(
      join(app.dir, 'macros', 'aa_lookup.sql'),
      "CREATE TEMP TABLE lookup AS SELECT 'x' AS k;\nCREATE OR REPLACE TEMP MACRO yell(s) AS upper(s);\n",
    );
    await info();
    expect(await query(`SELECT yell('a') AS s, (SELECT k FROM lookup) AS k`)).toEqual([{ s: 'A', k: 'x' }]);
    await touchCleaning();
    expect((await info()).models.length).toBe(13);
    expect(await query(`SELECT yell('a') AS s, (SELECT k FROM lookup) AS k`)).toEqual([{ s: 'A', k: 'x' }]);
    expect((await run([])).status).toBe('success');
  });

  it('a macro file that cannot be read is a broken file: runs refuse, naming it, until it can be', async () => {
    const unreadable = join(app.dir, 'macros', 'ab_unreadable.sql');
    await mkdir(unreadable);
    try {
      await info();
      const refused = await run([]);
      expect(refused.status).toBe('failed');
      expect(refused.error?.message).toMatch(/^macros\/ab_unreadable\.sql cannot be read \(EISDIR/);
      // The other files' macros still answer reads.
      expect(await query(`SELECT network_group('WiFi') AS g`)).toEqual([{ g: 'wifi' }]);
    } finally {
      await rmdir(unreadable);
    }
    await info();
    expect((await run([])).status).toBe('success');
  });

  it('a console query cancelled while its connection reloads the macros reloads them at the next query', async () => {
    // A slow statement before a macro: the cancel lands while the console's connection runs the file.
    const slow = join(app.dir, 'macros', 'zz_slow.sql');
    await writeFile(
      slow,
      'CREATE OR REPLACE TEMP TABLE slow AS SELECT sum(range) AS s FROM range(300000000);\n' +
        'CREATE OR REPLACE TEMP MACRO after_slow() AS 42;\n',
    );
    await info();
    expect(await query('SELECT after_slow() AS v')).toEqual([{ v: 42 }]);
    await appendFile(slow, '-- edited\n');
    await info();
    const cancelled = query('SELECT after_slow() AS v').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await app.dispatcher.call('query.cancel', {});
    await cancelled;
    expect(await query('SELECT after_slow() AS v')).toEqual([{ v: 42 }]);
  });
});
