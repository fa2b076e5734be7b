import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../engine/db/duckdb.ts';
import {
  generateSample,
  KNOWN_PLAN_CHANGE_PLANS,
  KNOWN_PLAN_CHANGE_USER,
} from '../../engine/generate/generate.ts';
import { goldFingerprints } from '../helpers/fingerprint.ts';
import { exampleProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

// Generated data has what the real sample lacks: users whose plans change across days.
describe('the reference pipeline on generated data with plan changes', () => {
  let data: string;
  let dir: string;
  const user = KNOWN_PLAN_CHANGE_USER;
  const [planA, typeA] = KNOWN_PLAN_CHANGE_PLANS.A.split(':') as [string, string];
  const [planB] = KNOWN_PLAN_CHANGE_PLANS.B.split(':') as [string, string];
  const [planC] = KNOWN_PLAN_CHANGE_PLANS.C.split(':') as [string, string];

  beforeAll(async () => {
    data = await tempDir();
    const db = await openDb();
    const summary = await generateSample(db, { outDir: data, days: 5, rowsPerDay: 2000, seed: 11 });
    db.close();
    dir = await exampleProject(join(data, 'customer_search_log_data'), summary.catalogPath);
    const run = await withEngine(dir, (engine) => engine.run({}));
    expect(run.error).toBeUndefined();
  });
  afterAll(async () => {
    await removeDir(dir);
    await removeDir(data);
  });

  it('gives the known user the right bridge rows: close, reopen as a new row, replace', async () => {
    const rows = await withEngine(
      dir,
      async (engine) =>
        (
          await engine.query(
            `SELECT s.plan_name AS plan, b.is_effective AS e, strftime(b.first_effective_date, '%m-%d') AS f,
                    strftime(b.recent_effective_date, '%m-%d') AS r, strftime(b.last_effective_date, '%m-%d') AS l
             FROM bridge_user_plan b JOIN dim_subscription s USING (subscription_key)
             WHERE b.user_id = '${user}' ORDER BY b.first_effective_date, s.plan_name`,
          )
        ).rows,
      true,
    );
    // Day 1 {A, B}, day 2 {A}, day 3 {A, B}, days 4-5 {A, C}.
    expect(rows).toEqual(
      [
        { plan: planA, e: 1, f: '06-01', r: '06-05', l: null },
        { plan: planB, e: 0, f: '06-01', r: '06-01', l: '06-01' },
        { plan: planB, e: 0, f: '06-03', r: '06-03', l: '06-03' },
        { plan: planC, e: 1, f: '06-04', r: '06-05', l: null },
      ].sort((a, b) => a.f.localeCompare(b.f) || a.plan.localeCompare(b.plan)),
    );
  });

  it('keeps the known user leading zeros and versions the plan set in dim_user_history', async () => {
    const rows = await withEngine(
      dir,
      async (engine) =>
        (
          await engine.query(
            `SELECT plan_count AS n, strftime(valid_from, '%m-%d') AS f, strftime(valid_to, '%m-%d') AS t, is_current AS c
             FROM dim_user_history WHERE user_id = '${user}' ORDER BY valid_from`,
          )
        ).rows,
      true,
    );
    expect(rows).toEqual([
      { n: 2, f: '06-01', t: '06-02', c: false },
      { n: 1, f: '06-02', t: '06-03', c: false },
      { n: 2, f: '06-03', t: '06-04', c: false },
      { n: 2, f: '06-04', t: null, c: true },
    ]);
    expect(planA && typeA).toBeTruthy();
  });

  // Quirks of the real sample the generator reproduces, followed to silver and gold.
  it('matches decomposed (NFD) keywords like their composed titles and keeps far-dated events', async () => {
    const [row] = await withEngine(
      dir,
      async (engine) =>
        (
          await engine.query(
            `SELECT count(*) FILTER (WHERE original_keyword <> nfc_normalize(original_keyword)) AS decomposed,
                    count(*) FILTER (WHERE original_keyword <> nfc_normalize(original_keyword)
                      AND keyword_normalized IS DISTINCT FROM nfc_normalize(original_keyword)) AS unmatched,
                    (SELECT count(*) FROM fact_customer_search f JOIN dim_date d USING (date_key)
                     WHERE abs(date_diff('day', d.date, DATE '2022-06-03')) > 20) AS far_facts
             FROM silver.customer_search`,
          )
        ).rows,
      true,
    );
    expect(Number(row?.decomposed)).toBeGreaterThan(0);
    expect(Number(row?.unmatched)).toBe(0);
    expect(Number(row?.far_facts)).toBeGreaterThan(0);
  });

  it('quarantines unparseable timestamps and accounts for every bronze row each day', async () => {
    await withEngine(
      dir,
      async (engine) => {
        const [run] = await engine.runs(1);
        const silver = run!.models.filter((m) => m.model === 'silver.customer_search');
        expect(silver).toHaveLength(5);
        for (const m of silver) {
          expect(m.rowsIn).toBe(2000);
          expect(m.rowsIn).toBe(m.rowsOut + m.duplicatesRemoved + m.quarantined);
        }
        const quarantined = silver.reduce((s, m) => s + m.quarantined, 0);
        const reasons = (await engine.query(`SELECT quarantine_reason AS r FROM quarantine.customer_search`))
          .rows;
        expect(reasons).toHaveLength(quarantined);
        expect(quarantined).toBeGreaterThan(0);
        for (const { r } of reasons)
          expect(String(r)).toMatch(/^(datetime_unparseable|event_id_missing|user_id_not_numeric)/);
        expect(silver.reduce((s, m) => s + m.duplicatesRemoved, 0)).toBeGreaterThan(0);
      },
      true,
    );
  });

  it('re-runs the whole range and a single date without changing anything', async () => {
    const before = await withEngine(dir, goldFingerprints, true);
    expect((await withEngine(dir, (e) => e.run({ from: '2022-06-01', to: '2022-06-05' }))).status).toBe(
      'success',
    );
    expect(await withEngine(dir, goldFingerprints, true)).toEqual(before);
    expect((await withEngine(dir, (e) => e.run({ dates: ['2022-06-03'] }))).status).toBe('success');
    expect(await withEngine(dir, goldFingerprints, true)).toEqual(before);
  });

  it('still reads its lake after the project folder is moved', async () => {
    const moved = `${dir}-moved`;
    await cp(dir, moved, { recursive: true });
    try {
      const count = (d: string) =>
        withEngine(d, async (e) => (await e.query('SELECT count(*) AS n FROM silver.customer_search')).rows);
      const original = await count(dir);
      await removeDir(join(dir, 'lake'));
      expect(await count(moved)).toEqual(original);
      await cp(join(moved, 'lake'), join(dir, 'lake'), { recursive: true });
    } finally {
      await removeDir(moved);
    }
  });

  it('runs a model and everything downstream with --select model+', async () => {
    const summary = await withEngine(dir, (e) =>
      e.run({ dates: ['2022-06-05'], select: ['silver.user_plans_map+'] }),
    );
    expect(summary.status).toBe('success');
    expect(summary.models.map((m) => m.model)).toEqual([
      'silver.user_plans_map',
      'gold.dim_subscription',
      'gold.bridge_user_plan',
      'gold.dim_user_history',
    ]);
  });
});
