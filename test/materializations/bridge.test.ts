import { afterEach, describe, expect, it } from 'vitest';
import { materializeBridge } from '../../engine/materializations/history.ts';
import { runDataTests } from '../../engine/quality/data-tests.ts';
import { createHarness } from '../helpers/materialize.ts';

const HEADER = `materialized: bridge
bridge: {entity: user_id, member: plan}
surrogate_key: user_plan_key
tests:
  - scd_invariants: true`;

/** A day's input: user → plan set (an empty set means the user was seen with no plans). */
function day(sets: Record<string, string[]>): string {
  const rows = Object.entries(sets).flatMap(([user, plans]) =>
    plans.length ? plans.map((p) => `('${user}', '${p}')`) : [`('${user}', NULL)`],
  );
  return `SELECT * FROM (VALUES ${rows.join(', ')}) AS t(user_id, plan)`;
}

const state = (h: Awaited<ReturnType<typeof createHarness>>) =>
  h.rows(
    `SELECT user_plan_key AS k, user_id AS u, plan AS p, is_effective AS e,
            strftime(first_effective_date, '%m-%d') AS f, strftime(recent_effective_date, '%m-%d') AS r,
            strftime(last_effective_date, '%m-%d') AS l
     FROM gold.model ORDER BY k`,
  );

describe('effective-dated bridge', () => {
  let h: Awaited<ReturnType<typeof createHarness>>;
  afterEach(() => h.close());

  it('extends, closes, keeps unseen users open and reopens returning plans as new rows', async () => {
    h = await createHarness(HEADER);
    await h.apply(materializeBridge, '2022-06-01', day({ u1: ['A', 'B'], u2: ['A'] }));
    // u1 drops B; u2 is not seen at all and must keep A open (the original closed it: a defect).
    await h.apply(materializeBridge, '2022-06-02', day({ u1: ['A'] }));
    // B comes back for u1: a new row; u2 is seen with no plans: A closes at its recent date.
    await h.apply(materializeBridge, '2022-06-03', day({ u1: ['A', 'B'], u2: [] }));
    expect(await state(h)).toEqual([
      { k: 1, u: 'u1', p: 'A', e: 1, f: '06-01', r: '06-03', l: null },
      { k: 2, u: 'u1', p: 'B', e: 0, f: '06-01', r: '06-01', l: '06-01' },
      { k: 3, u: 'u2', p: 'A', e: 0, f: '06-01', r: '06-01', l: '06-01' },
      { k: 4, u: 'u1', p: 'B', e: 1, f: '06-03', r: '06-03', l: null },
    ]);
    const tests = await runDataTests(h.db, h.model, 'gold.model', 'gold.model');
    expect(tests.map((t) => [t.name, t.passed])).toEqual([['scd_invariants', true]]);
  });

  it('re-running an earlier date replays history and reproduces the same rows and keys', async () => {
    h = await createHarness(HEADER);
    const days: [string, string][] = [
      ['2022-06-01', day({ u1: ['A', 'B'], u2: ['A'] })],
      ['2022-06-02', day({ u1: ['A'] })],
      ['2022-06-03', day({ u1: ['A', 'B'], u2: [] })],
    ];
    for (const [d, sql] of days) await h.apply(materializeBridge, d, sql);
    const before = await state(h);
    const outcome = await h.apply(materializeBridge, '2022-06-02', days[1]![1]);
    expect(outcome.warnings.join()).toMatch(/replayed 3 date/);
    expect(await state(h)).toEqual(before);
  });

  it('a backfilled earlier date keeps the keys of the rows the table already held', async () => {
    h = await createHarness(HEADER);
    await h.apply(materializeBridge, '2022-06-02', day({ u1: ['A'], u2: ['B'] }));
    await h.apply(materializeBridge, '2022-06-03', day({ u1: ['A', 'C'], u3: ['A'] }));
    const keyOf = async () =>
      new Map((await state(h)).map((r) => [`${r.u} ${r.p} ${r.f}`, r.k] as [string, unknown]));
    const before = await keyOf();
    // 06-01 arrives late: u2's B and u1's A now start a day earlier; u3's A and u1's C are untouched.
    await h.apply(materializeBridge, '2022-06-01', day({ u1: ['A'], u2: ['B'], u4: ['D'] }));
    const after = await keyOf();
    expect(after.get('u3 A 06-03')).toBe(before.get('u3 A 06-03'));
    expect(after.get('u1 C 06-03')).toBe(before.get('u1 C 06-03'));
    // Rows new to the table get keys above every key it held: none is reused.
    const newKeys = [...after].filter(([row]) => !before.has(row)).map(([, k]) => Number(k));
    expect(newKeys.sort()).toEqual([5, 6, 7]);
    expect(new Set(after.values()).size).toBe(after.size);
  });

  it('never hands out again the key of a row a replay left out', async () => {
    h = await createHarness(HEADER);
    await h.apply(materializeBridge, '2022-06-01', day({ u1: ['A'] }));
    await h.apply(materializeBridge, '2022-06-02', day({ u1: ['A', 'B'] }));
    // Corrected: u1 never had B, so its row (key 2) is gone; u2's plan takes 3, not 2 again.
    await h.apply(materializeBridge, '2022-06-02', day({ u1: ['A'] }));
    await h.apply(materializeBridge, '2022-06-03', day({ u2: ['C'] }));
    expect((await state(h)).map((r) => [r.k, r.u, r.p])).toEqual([
      [1, 'u1', 'A'],
      [3, 'u2', 'C'],
    ]);
  });

  it('a NULL entity is one entity: its plans extend, close and reopen like any other', async () => {
    h = await createHarness(HEADER);
    const withNull = (plans: (string | null)[], others: string) =>
      `${day({ u1: [others] })} UNION ALL SELECT NULL, p FROM (VALUES ${plans.map((p) => (p ? `('${p}')` : '(NULL)')).join(', ')}) AS v(p)`;
    await h.apply(materializeBridge, '2022-06-01', withNull(['A'], 'A'));
    await h.apply(materializeBridge, '2022-06-02', withNull(['A', 'B'], 'A'));
    // Seen with no plans: both close, as u1's would.
    await h.apply(materializeBridge, '2022-06-03', withNull([null], 'A'));
    await h.apply(materializeBridge, '2022-06-04', withNull(['A'], 'A'));
    expect(await state(h)).toEqual([
      { k: 1, u: 'u1', p: 'A', e: 1, f: '06-01', r: '06-04', l: null },
      { k: 2, u: null, p: 'A', e: 0, f: '06-01', r: '06-02', l: '06-02' },
      { k: 3, u: null, p: 'B', e: 0, f: '06-02', r: '06-02', l: '06-02' },
      { k: 4, u: null, p: 'A', e: 1, f: '06-04', r: '06-04', l: null },
    ]);
    const tests = await runDataTests(h.db, h.model, 'gold.model', 'gold.model');
    expect(tests.map((t) => [t.name, t.passed])).toEqual([['scd_invariants', true]]);
  });

  it('the invariant test catches two effective rows for one pair', async () => {
    h = await createHarness(HEADER);
    await h.apply(materializeBridge, '2022-06-01', day({ u1: ['A'] }));
    await h.db.run(
      `INSERT INTO gold.model VALUES (9, 'u1', 'A', 1, DATE '2022-06-01', DATE '2022-06-01', NULL)`,
    );
    const [test] = await runDataTests(h.db, h.model, 'gold.model', 'gold.model');
    expect(test?.passed).toBe(false);
    expect(test?.sample[0]).toMatchObject({ problem: 'several effective rows', user_id: 'u1', plan: 'A' });
  });
});
