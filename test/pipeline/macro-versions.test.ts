import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../engine/engine.ts';
import { pipelineGraph } from '../../engine/explore/pipeline-graph.ts';
import type { RunSummary } from '../../engine/pipeline/runner.ts';
import { lakehouse } from '../helpers/cli.ts';
import { withEngine } from '../helpers/project.ts';
import { events, handWrittenProject } from '../helpers/source-files.ts';

const D1 = '2022-06-01';
const D2 = '2022-06-02';
const D3 = '2022-06-03';

/** The notes a run left on a model, over all its dates. */
function notesOf(summary: RunSummary, model: string): string[] {
  return summary.models.filter((r) => r.model === model).flatMap((r) => r.warnings);
}

describe('a run with changed macros says which committed dates used the old ones', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let macros: string;

  beforeAll(async () => {
    ({ dir, remove } = await handWrittenProject(
      { '20220601': events(6, D1), '20220602': events(6, D2), '20220603': events(6, D3) },
      [D1, D2],
    ));
    macros = join(dir, 'macros', 'cleaning.sql');
  });

  afterAll(() => remove());

  it('names the changed macro, the dates built with it and the run that rebuilds them', async () => {
    const text = await readFile(macros, 'utf8');
    // A comment above a macro is no change to it.
    await writeFile(
      macros,
      text.replace(
        'CREATE OR REPLACE TEMP MACRO device_type',
        '-- reworded\nCREATE OR REPLACE TEMP MACRO device_type',
      ),
    );
    await withEngine(dir, async (engine) => {
      const run = await engine.run({ dates: [D3] });
      expect(run.status).toBe('success');
      expect(run.models.flatMap((r) => r.warnings).filter((w) => w.includes('macro'))).toEqual([]);
    });
    await writeFile(
      macros,
      text.replace(
        "WHEN lower(platform) LIKE '%web%' THEN 'web'",
        "WHEN lower(platform) LIKE '%web%' OR platform = 'browser' THEN 'web'",
      ),
    );
    await withEngine(dir, async (engine) => {
      const run = await engine.run({ dates: [D3] });
      expect(run.status).toBe('success');
      // D3 ran before: the dimension merges its three dates again in order, with the new macro, so only
      // the fact's rows of the other dates are as the old one gave them.
      expect(notesOf(run, 'gold.dim_platform')).toEqual([
        `merged 3 dates ${D1} .. ${D3} again in date order`,
        `2 dates not in this run (${D1} .. ${D2}) were built with an earlier version of macro device_type ` +
          '(macros/cleaning.sql): this run replays every date of gold.dim_platform with the current macros; ' +
          'gold.fact_customer_search still holds those dates as built from its old rows: run ' +
          `${D1} .. ${D2} (model gold.dim_platform+) again so it uses the current ones`,
      ]);
      // Models that do not call it are not told.
      expect(run.models.flatMap((r) => r.warnings).filter((w) => w.includes('macro'))).toHaveLength(1);
      // The run history keeps the note, and the pipeline graph shows it on the model.
      const [latest] = await engine.runs(1);
      expect(JSON.stringify(latest)).toContain('earlier version of macro device_type');
      expect(JSON.stringify(await pipelineGraph(engine))).toContain('earlier version of macro device_type');
    });
    // `lakehouse runs` lists the latest run's notes under its table.
    const runs = lakehouse('runs', dir);
    expect(runs.stdout).toContain(
      `note: gold.dim_platform (${D3}): 2 dates not in this run (${D1} .. ${D2}) were built with an earlier version of macro device_type`,
    );
    await withEngine(dir, async (engine) => {
      // The replay rebuilt the dimension's earlier dates with the new macro: a later run does not say
      // they were built with the old one (the run history names the replaying run as their builder).
      const next = await engine.run({ dates: [D3] });
      expect(notesOf(next, 'gold.dim_platform').filter((w) => w.includes('macro'))).toEqual([]);
      // Rebuilt, the dates are current again.
      expect((await engine.run({ dates: [D1, D2], select: ['gold.dim_platform+'] })).status).toBe('success');
      const again = await engine.run({ dates: [D3] });
      expect(again.models.flatMap((r) => r.warnings).filter((w) => w.includes('macro'))).toEqual([]);
    });
  });

  it('follows a macro called by the macro a model calls', async () => {
    const text = await readFile(macros, 'utf8');
    await writeFile(macros, text.replace("guest_user_id() AS 'guest'", "guest_user_id() AS 'guest' || ''"));
    await withEngine(dir, async (engine) => {
      const run = await engine.run({ dates: [D3] });
      expect(run.status).toBe('success');
      const noted = [
        ...new Set(
          run.models.filter((r) => r.warnings.some((w) => w.includes('guest_user_id'))).map((r) => r.model),
        ),
      ];
      expect(noted.length).toBeGreaterThan(0);
      expect(noted).toContain('silver.customer_search');
      // A partitioned model keeps the old results on the dates not run; a history model run on a date it
      // holds replays every date, so its own rows are rebuilt with the new macro.
      const changedOn = `2 dates not in this run (${D1} .. ${D2}) were built with an earlier version of macro guest_user_id (macros/cleaning.sql)`;
      expect(notesOf(run, 'silver.customer_search')).toContain(
        `${changedOn}: their rows keep its results; run ${D1} .. ${D2} (model silver.customer_search+) again ` +
          'so every date uses the current macros',
      );
      expect(notesOf(run, 'gold.dim_user_history')).toContain(
        `${changedOn}: this run replays every date of gold.dim_user_history with the current macros`,
      );
    });
  });
});

// The replay reads every committed date's input again: with one partition gone, SCD1 merges the date
// alone and a history model refuses, while the macro note said the run replayed every date.
describe('a changed macro under a model whose input lacks a committed date', () => {
  let dir: string;
  let remove: () => Promise<void>;
  /** What every such note says of the replay and the missing input, after the macro's name. */
  const cannotReplay = (model: string) =>
    `their rows keep its results, as this run cannot replay every date of ${model}: silver.customer_search ` +
    `holds no partition of ${D1}; write those partitions (run ${D1} (model silver.customer_search)), then run`;

  beforeAll(async () => {
    ({ dir, remove } = await handWrittenProject(
      { '20220601': events(6, D1), '20220602': events(6, D2), '20220603': events(6, D3) },
      [D1, D2, D3],
    ));
    // silver's D1 file deleted by hand, then forgotten as `lakehouse repair` does.
    await withEngine(dir, async (engine) => {
      const { rows } = await engine.query(
        `SELECT path FROM _lakehouse.partitions WHERE relation = 'silver.customer_search' AND etl_date = DATE '${D1}'`,
      );
      expect(rows).toHaveLength(1);
      await rm(resolve(engine.project.lakeRoot, String(rows[0]?.path)));
    });
    (await createEngine({ projectDir: dir, forgetMissingFiles: true })).close();
    const macros = join(dir, 'macros', 'cleaning.sql');
    await writeFile(
      macros,
      (await readFile(macros, 'utf8'))
        .replace(
          "WHEN lower(platform) LIKE '%web%' THEN 'web'",
          "WHEN lower(platform) LIKE '%web%' OR platform = 'browser' THEN 'web'",
        )
        .replace("guest_user_id() AS 'guest'", "guest_user_id() AS 'guest' || ''"),
    );
  });

  afterAll(() => remove());

  it('SCD1 merges the date alone, and the macro note says the older dates keep the old results', async () => {
    await withEngine(dir, async (engine) => {
      const run = await engine.run({ dates: [D3], select: ['gold.dim_platform'] });
      expect(run.status).toBe('success');
      const notes = notesOf(run, 'gold.dim_platform');
      expect(notes).toContain(
        `merged ${D3} alone, not every date in order: silver.customer_search holds no partition of ${D1}; an ` +
          "overwrite column may hold an older date's value until those partitions are written again and this date re-runs",
      );
      expect(notes.filter((note) => note.includes('macro'))).toEqual([
        `2 dates not in this run (${D1} .. ${D2}) were built with an earlier version of macro device_type ` +
          `(macros/cleaning.sql): ${cannotReplay('gold.dim_platform')} ${D1} .. ${D2} (model gold.dim_platform+) ` +
          'again so every date uses the current macros',
      ]);
    });
  });

  it('a history model held for its replay says so on the date it held, before the replay is refused', async () => {
    await withEngine(dir, async (engine) => {
      const run = await engine.run({ dates: [D2, D3], select: ['gold.dim_user_history'] });
      expect(run.status).toBe('failed');
      expect(run.error?.code).toBe('MODEL_INVALID');
      expect(run.error?.message).toContain(`silver.customer_search holds no partition of ${D1}`);
      const held = run.models.find((r) => r.model === 'gold.dim_user_history' && r.etlDate === D2);
      expect(held?.status).toBe('success');
      expect(held?.warnings.filter((note) => note.includes('macro'))).toEqual([
        `1 date not in this run (${D1}) was built with an earlier version of macro guest_user_id ` +
          `(macros/cleaning.sql): ${cannotReplay('gold.dim_user_history')} ${D1} (model gold.dim_user_history+) ` +
          'again so every date uses the current macros',
      ]);
    });
  });
});
