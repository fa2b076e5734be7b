import { afterEach, describe, expect, it } from 'vitest';
import { materializeScd2 } from '../../engine/materializations/history.ts';
import { createHarness } from '../helpers/materialize.ts';

type Harness = Awaited<ReturnType<typeof createHarness>>;

const versions = (h: Harness) =>
  h.rows(
    `SELECT id, version_key AS k, valid_from::VARCHAR AS f, valid_to::VARCHAR AS t FROM gold.model ORDER BY id, k`,
  );
const day = (rows: string) => `SELECT * FROM (VALUES ${rows}) AS t(id, plan, region)`;

// Taking `tracked:` out of the header makes the hash cover every column: each key a date saw opened a
// version with no value changed and no note, where an edit of the list rehashes the current versions.
describe('SCD2 after `tracked:` is taken out of the header, or a model without it drops a column', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('opens no version for unchanged keys, and one when a column tracked only now changes', async () => {
    h = await createHarness(
      'materialized: scd2\nunique_key: id\nsurrogate_key: version_key\ntracked: [plan]',
    );
    await h.apply(materializeScd2, '2022-06-01', day("(1, 'basic', 'north'), (2, 'vip', 'south')"));
    h.model.config.tracked = undefined;
    await h.apply(materializeScd2, '2022-06-02', day("(1, 'basic', 'north'), (2, 'vip', 'south')"));
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: null },
      { id: 2, k: 2, f: '2022-06-01', t: null },
    ]);
    await h.apply(materializeScd2, '2022-06-03', day("(1, 'basic', 'east'), (2, 'vip', 'south')"));
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: '2022-06-03' },
      { id: 1, k: 3, f: '2022-06-03', t: null },
      { id: 2, k: 2, f: '2022-06-01', t: null },
    ]);
  });

  it('still opens a version of every key, with the note, when a model without it drops a column', async () => {
    h = await createHarness('materialized: scd2\nunique_key: id\nsurrogate_key: version_key');
    await h.apply(materializeScd2, '2022-06-01', day("(1, 'basic', 'north')"));
    const dropped = await h.apply(materializeScd2, '2022-06-02', "SELECT 1 AS id, 'basic' AS plan");
    expect(dropped.warnings.some((w) => w.startsWith('the row hash covers every column but the key'))).toBe(
      true,
    );
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: '2022-06-02' },
      { id: 1, k: 2, f: '2022-06-02', t: null },
    ]);
    // The dropped column is still the table's on the next date, but out of the hash already: no version
    // opens, and the note said one did for every key.
    const next = await h.apply(materializeScd2, '2022-06-03', "SELECT 1 AS id, 'basic' AS plan");
    expect(next.warnings.some((w) => w.startsWith('the row hash covers every column but the key'))).toBe(
      false,
    );
    expect((await versions(h)).length).toBe(2);
  });
});
