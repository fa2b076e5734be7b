import { appendFile, mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectInfo, RunFinishedEvent } from '../../engine/api/contract.ts';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// Macro files change under an open project: every connection must end up with the macros the files hold,
// whatever else the files create, however a reload is cut short.
describe('macro files reloaded under an open project', () => {
  let work: string;
  let dir: string;
  let date: string;
  let engine: Engine;
  let dispatcher: Dispatcher;
  const finished: RunFinishedEvent[] = [];

  beforeAll(async () => {
    work = await tempDir('lakehouse-macros-reload-');
    const generated = await generatedProject(work, 1, 200);
    dir = generated.dir;
    date = generated.dates[0]!;
    // A lookup table beside a macro, as docs/projects.md allows: made again at every reload.
    await writeFile(
      join(dir, 'macros', 'aa_lookup.sql'),
      "CREATE TEMP TABLE lookup AS SELECT 'x' AS k;\nCREATE OR REPLACE TEMP MACRO shout(s) AS upper(s);\n",
    );
    engine = await createEngine({ projectDir: dir });
    dispatcher = createDispatcher(engine);
    dispatcher.subscribe((event) => {
      if (event.type === 'run.finished') finished.push(event as RunFinishedEvent);
    });
  });
  afterAll(async () => {
    await dispatcher?.close();
    engine?.close();
    if (work) await removeDir(work);
  });

  const info = () => dispatcher.call('project.info', {}) as Promise<ProjectInfo>;
  const query = async (sql: string) =>
    ((await dispatcher.call('query.run', { sql, limit: 100 })) as { rows: Record<string, unknown>[] }).rows;
  const run = async () => {
    const { runId } = (await dispatcher.call('pipeline.run', { dates: [date], select: [] })) as {
      runId: string;
    };
    await expect.poll(() => finished.find((e) => e.runId === runId), { timeout: 60_000 }).toBeTruthy();
    return finished.find((e) => e.runId === runId)!.summary;
  };
  const touchCleaning = () => appendFile(join(dir, 'macros', 'cleaning.sql'), '\n-- edited\n');

  it('keeps the macros of a file that also makes a temp table, on the console and for runs', async () => {
    expect(await query(`SELECT shout('a') AS s, (SELECT k FROM lookup) AS k`)).toEqual([{ s: 'A', k: 'x' }]);
    await touchCleaning();
    expect((await info()).models.length).toBe(13);
    expect(await query(`SELECT shout('a') AS s, (SELECT k FROM lookup) AS k`)).toEqual([{ s: 'A', k: 'x' }]);
    expect((await run()).status).toBe('success');
  });

  it('a macro file that cannot be read is a broken file: runs refuse, naming it, until it can be', async () => {
    const unreadable = join(dir, 'macros', 'ab_unreadable.sql');
    await mkdir(unreadable);
    try {
      await info();
      const refused = await run();
      expect(refused.status).toBe('failed');
      expect(refused.error?.message).toMatch(/^macros\/ab_unreadable\.sql cannot be read \(EISDIR/);
      // The other files' macros still answer reads.
      expect(await query(`SELECT network_group('WiFi') AS g`)).toEqual([{ g: 'wifi' }]);
    } finally {
      await rmdir(unreadable);
    }
    await info();
    expect((await run()).status).toBe('success');
  });

  it('a console query cancelled while its connection reloads the macros reloads them at the next query', async () => {
    // A slow statement before a macro: the cancel lands while the console's connection runs the file.
    const slow = join(dir, 'macros', 'zz_slow.sql');
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
    await dispatcher.call('query.cancel', {});
    await cancelled;
    expect(await query('SELECT after_slow() AS v')).toEqual([{ v: 42 }]);
  });
});
