import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materializeScd2 } from '../../engine/materializations/history.ts';
import { createHarness } from '../helpers/materialize.ts';

// An edit of tracked: changed what every row hash covers, so every key a date saw opened a version with
// its tracked values unchanged. The current versions are hashed again once, over the new list.
describe('SCD2 after an edit of tracked:', () => {
  let h: Awaited<ReturnType<typeof createHarness>>;
  const versions = () =>
    h.rows(
      `SELECT id, version_key AS k, valid_from::VARCHAR AS f, valid_to::VARCHAR AS t FROM gold.model ORDER BY id, k`,
    );
  const day = (rows: string) => `SELECT * FROM (VALUES ${rows}) AS t(id, plan, region, note)`;

  beforeAll(async () => {
    h = await createHarness(
      'materialized: scd2\nunique_key: id\nsurrogate_key: version_key\ntracked: [plan]',
    );
    await h.apply(materializeScd2, '2022-06-01', day("(1, 'basic', 'north', 'x'), (2, 'vip', 'south', 'y')"));
  });
  afterAll(() => h.close());

  it('opens versions only for keys whose values under the new list changed', async () => {
    // region joins the tracked columns: key 1's is as its version holds it, key 2's moved.
    h.model.config.tracked = ['plan', 'region'];
    await h.apply(materializeScd2, '2022-06-02', day("(1, 'basic', 'north', 'z'), (2, 'vip', 'west', 'y')"));
    expect(await versions()).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: null },
      { id: 2, k: 2, f: '2022-06-01', t: '2022-06-02' },
      { id: 2, k: 3, f: '2022-06-02', t: null },
    ]);
  });

  it('opens none when a column leaves the list and the others hold', async () => {
    h.model.config.tracked = ['region'];
    await h.apply(materializeScd2, '2022-06-03', day("(1, 'basic', 'north', 'q'), (2, 'vip', 'west', 'r')"));
    expect((await versions()).length).toBe(3);
    // And a change of a tracked value still opens one.
    await h.apply(materializeScd2, '2022-06-04', day("(1, 'basic', 'east', 'q'), (2, 'vip', 'west', 'r')"));
    expect(await versions()).toContainEqual({ id: 1, k: 4, f: '2022-06-04', t: null });
  });
});
