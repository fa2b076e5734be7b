import { spawnSync } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../engine/engine.ts';
import { historyKeys, keyHistory } from '../../engine/explore/history.ts';
import { pipelineGraph } from '../../engine/explore/pipeline-graph.ts';
import { PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';

/** `lakehouse <args>` in a child process whose local time zone is `zone`. */
function lakehouseIn(zone: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'lakehouse.js'), ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, TZ: zone },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `lakehouse runs --json` of `project`, read in `zone`. */
function runsIn(zone: string, project: string) {
  const listed = lakehouseIn(zone, 'runs', project, '--json');
  expect(listed.code, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout) as { runId: string; startedAt: string; finishedAt: string }[];
}

/** The instant a run id starts with: `20220602T134036-1a2b3c` is 2022-06-02 13:40:36 UTC. */
function runIdInstant(runId: string): number {
  const [, y, mo, d, h, mi, s] = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})-/.exec(runId) ?? [];
  return Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
}

// The engine records when a run started and wrote in the machine's wall clock, which goes back an
// hour at a DST change or hours when a laptop travels west. "Latest" went by that clock: a run made
// after the clock went back was listed below older ones, the pipeline graph showed the older run,
// and a partitioned table took its columns from an older partition than the one written last.
describe('a run made after the wall clock went back', () => {
  let work: string;
  let project: string;
  let first: string;
  let second: string;

  beforeAll(async () => {
    work = await tempDir();
    project = join(work, 'p');
    expect(lakehouseIn('UTC', 'init', project).code).toBe(0);
    const ran = lakehouseIn('UTC', 'run', project, '--date', '2022-06-01', '--json');
    expect(ran.code, ran.stderr).toBe(0);
    first = JSON.parse(ran.stdout).runId;
    // The next run adds a column, eight hours "earlier" by the wall clock of its zone.
    const model = join(project, 'models', 'silver', 'user_plans_map.sql');
    const text = await readFile(model, 'utf8');
    await writeFile(
      model,
      text.replace(
        "  getvariable('etl_date')::DATE AS date,",
        "  1 AS added_column,\n  getvariable('etl_date')::DATE AS date,",
      ),
    );
    // ... and changes a dimension's values, which the SCD1 change log records per key.
    const platforms = join(project, 'models', 'gold', 'dim_platform.sql');
    await writeFile(
      platforms,
      (await readFile(platforms, 'utf8')).replace(
        'device_type(platform) AS device_type',
        "CASE WHEN device_type(platform) = 'mobile' THEN 'web' ELSE device_type(platform) END AS device_type",
      ),
    );
    const later = lakehouseIn('America/Los_Angeles', 'run', project, '--date', '2022-06-02', '--json');
    expect(later.code, later.stderr).toBe(0);
    second = JSON.parse(later.stdout).runId;
  }, 240_000);
  afterAll(() => removeDir(work));

  it('is listed first by runs', () => {
    const runs = JSON.parse(lakehouseIn('UTC', 'runs', project, '--json').stdout) as { runId: string }[];
    expect(runs.map((r) => r.runId)).toEqual([second, first]);
  });

  // The history kept the wall clock alone and read it with the offset the machine's zone has now: read in
  // Hanoi, the run made in UTC showed its 04:00 as 04:00+07:00, seven hours before it happened.
  it('keeps each run at its instant and its own zone offset when read in another zone', () => {
    const runs = runsIn('Asia/Ho_Chi_Minh', project);
    expect(runs.map((r) => r.runId)).toEqual([second, first]);
    for (const run of runs) {
      // The run id starts with the UTC second the run began; the history records it a moment later.
      const began = runIdInstant(run.runId);
      expect(Date.parse(run.startedAt) - began, run.startedAt).toBeGreaterThanOrEqual(0);
      expect(Date.parse(run.startedAt) - began, run.startedAt).toBeLessThan(60_000);
      expect(Date.parse(run.finishedAt) - Date.parse(run.startedAt)).toBeGreaterThanOrEqual(0);
    }
    // Each as the clock read where it ran: Los Angeles (PST or PDT), then UTC.
    expect(runs.map((r) => r.startedAt.slice(-6))).toEqual([expect.stringMatching(/^-0[78]:00$/), '+00:00']);
    expect(runs.map((r) => r.finishedAt.slice(-6))).toEqual(runs.map((r) => r.startedAt.slice(-6)));
  });

  // A warehouse of an earlier version has the wall clocks alone: it opens, read-only and to write, and its
  // runs show that wall clock with the offset the machine's zone has now, as that version showed them.
  it('shows the runs of a warehouse recorded before the instants were, by their wall clock', async () => {
    const copy = join(work, 'recorded-before');
    await cp(project, copy, { recursive: true });
    const engine = await createEngine({ projectDir: copy });
    try {
      await engine.db.run('DROP TABLE _lakehouse.run_clocks');
    } finally {
      engine.close();
    }
    const readOnly = runsIn('Asia/Ho_Chi_Minh', copy);
    const recordedFirst = readOnly.find((r) => r.runId === first);
    // Made in UTC, its wall clock is the run id's time (or a second or two after it: the id is taken
    // first), not shifted by Hanoi's seven hours: now labelled with Hanoi's offset.
    const wallClock = Date.parse(`${recordedFirst?.startedAt.slice(0, 19).replace(' ', 'T')}Z`);
    expect(wallClock - runIdInstant(first)).toBeGreaterThanOrEqual(0);
    expect(wallClock - runIdInstant(first)).toBeLessThan(5_000);
    expect(readOnly.map((r) => r.startedAt.slice(-6))).toEqual(['+07:00', '+07:00']);
    // A writer's open adds the table; the old runs have no row in it and show as before.
    (await createEngine({ projectDir: copy })).close();
    expect(runsIn('Asia/Ho_Chi_Minh', copy)).toEqual(readOnly);
  });

  it('is the run the pipeline graph shows, its partition gives the columns, its SCD1 change comes last', async () => {
    const engine = await createEngine({ projectDir: project, readOnly: true });
    try {
      const graph = await pipelineGraph(engine);
      expect(new Set(graph.nodes.map((n) => n.runId))).toEqual(new Set([second]));
      const plans = (await engine.tables()).find((t) => t.name === 'silver.user_plans_map');
      expect(plans?.columns.map((c) => c.name)).toContain('added_column');
      // An SCD1 key's change log: its insert by the first run, then the second run's change.
      const [changed] = (await historyKeys(engine, { model: 'gold.dim_platform', search: '', limit: 1 }))
        .keys;
      const history = await keyHistory(engine, { model: 'gold.dim_platform', key: String(changed?.key) });
      expect(history.changes.map((c) => [c.runId, c.kind])).toEqual([
        [first, 'insert'],
        [second, 'update'],
      ]);
    } finally {
      engine.close();
    }
  });
});
