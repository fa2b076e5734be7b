import { afterEach, describe, expect, it } from 'vitest';
import { materializeAppend } from '../../engine/materializations/append.ts';
import { materializeScd2 } from '../../engine/materializations/history.ts';
import { materializeScd1 } from '../../engine/materializations/scd1.ts';
import { businessKeyText } from '../../engine/materializations/scd1-changes.ts';
import { runDataTests } from '../../engine/quality/data-tests.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { createHarness } from '../helpers/materialize.ts';

type Harness = Awaited<ReturnType<typeof createHarness>>;

describe('SCD type 1 with a surrogate key', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('keeps keys stable, seeds the unknown member, applies least/greatest merge rules', async () => {
    h = await createHarness(`materialized: scd1
unique_key: platform
surrogate_key: platform_key
unknown_member: {platform: null, kind: unknown}
merge: {first_seen: least, last_seen: greatest}`);
    await h.apply(
      materializeScd1,
      '2022-06-01',
      `SELECT * FROM (VALUES ('web', 'w', 5, 5), ('ios', 'm', 3, 4)) t(platform, kind, first_seen, last_seen)`,
    );
    // A new member arrives, an existing one changes attributes; its key must not move.
    await h.apply(
      materializeScd1,
      '2022-06-02',
      `SELECT * FROM (VALUES ('android', 'm', 9, 9), ('web', 'web', 7, 8)) t(platform, kind, first_seen, last_seen)`,
    );
    expect(await h.rows('SELECT * FROM gold.model ORDER BY platform_key')).toEqual([
      { platform_key: 0, platform: null, kind: 'unknown', first_seen: null, last_seen: null },
      { platform_key: 1, platform: 'ios', kind: 'm', first_seen: 3, last_seen: 4 },
      { platform_key: 2, platform: 'web', kind: 'web', first_seen: 5, last_seen: 8 },
      { platform_key: 3, platform: 'android', kind: 'm', first_seen: 9, last_seen: 9 },
    ]);
    // The change log has each arrival and the overwritten attribute, not the running extremes.
    expect(
      await h.rows(
        `SELECT etl_date::VARCHAR AS d, key, kind, column_name, before, after FROM _lakehouse.scd1_changes
         ORDER BY etl_date, kind, key`,
      ),
    ).toEqual([
      { d: '2022-06-01', key: 'ios', kind: 'insert', column_name: null, before: null, after: null },
      { d: '2022-06-01', key: 'web', kind: 'insert', column_name: null, before: null, after: null },
      { d: '2022-06-02', key: 'android', kind: 'insert', column_name: null, before: null, after: null },
      { d: '2022-06-02', key: 'web', kind: 'update', column_name: 'kind', before: '"w"', after: '"web"' },
    ]);
    // Re-applying the same day is a no-op for keys and values; both rows still count as merged.
    const again = await h.apply(
      materializeScd1,
      '2022-06-02',
      `SELECT * FROM (VALUES ('android', 'm', 9, 9), ('web', 'web', 7, 8)) t(platform, kind, first_seen, last_seen)`,
    );
    expect(await h.rows('SELECT count(*)::INT AS n, max(platform_key) AS k FROM gold.model')).toEqual([
      { n: 4, k: 3 },
    ]);
    expect(again).toMatchObject({ rowsIn: 2, rowsOut: 2, duplicatesRemoved: 0 });
    // An attribute set to NULL is a change like any other.
    await h.apply(
      materializeScd1,
      '2022-06-03',
      `SELECT * FROM (VALUES ('ios', NULL::VARCHAR, 3, 4)) t(platform, kind, first_seen, last_seen)`,
    );
    expect(await h.rows(`SELECT kind FROM gold.model WHERE platform = 'ios'`)).toEqual([{ kind: null }]);
  });

  it('sets the unknown member to the values its header gives now, and notes a column the model stopped giving', async () => {
    h = await createHarness(`materialized: scd1
unique_key: platform
surrogate_key: platform_key
unknown_member: {platform: null, kind: unknown}`);
    await h.apply(
      materializeScd1,
      '2022-06-01',
      `SELECT * FROM (VALUES ('web', 'w', 1)) t(platform, kind, seen)`,
    );
    // The header now names the unknown member's kind otherwise.
    h.model.config.unknown_member = { platform: null, kind: 'others' };
    const changed = await h.apply(
      materializeScd1,
      '2022-06-02',
      `SELECT * FROM (VALUES ('ios', 'm')) t(platform, kind)`,
    );
    expect(await h.rows('SELECT * FROM gold.model ORDER BY platform_key')).toEqual([
      { platform_key: 0, platform: null, kind: 'others', seen: null },
      { platform_key: 1, platform: 'web', kind: 'w', seen: 1 },
      { platform_key: 2, platform: 'ios', kind: 'm', seen: null },
    ]);
    expect(changed.warnings).toEqual([
      'column seen of gold.model no longer produced by its model: the rows this run writes (new members, ' +
        'for a dimension) hold NULL there, the others keep their values; put the column back in the model to go on filling it',
      'set the unknown member (platform_key 0) of gold.model to the values its header gives',
    ]);
    // Unchanged header: no note of it, only that the re-run merged both dates again in order.
    const again = await h.apply(
      materializeScd1,
      '2022-06-02',
      `SELECT * FROM (VALUES ('ios', 'm', 2)) t(platform, kind, seen)`,
    );
    expect(again.warnings).toEqual(['merged 2 dates 2022-06-01 .. 2022-06-02 again in date order']);
  });

  // Its key was logged as '', the text of an empty key too: the history view found neither apart.
  it('merges a member keyed on NULL like any other and logs its key as \\N', async () => {
    h = await createHarness(`materialized: scd1
unique_key: platform`);
    await h.apply(
      materializeScd1,
      '2022-06-01',
      `SELECT * FROM (VALUES (NULL::VARCHAR, 'a'), ('web', 'w')) t(platform, kind)`,
    );
    await h.apply(
      materializeScd1,
      '2022-06-02',
      `SELECT * FROM (VALUES (NULL::VARCHAR, 'b')) t(platform, kind)`,
    );
    expect(await h.rows('SELECT * FROM gold.model ORDER BY platform NULLS FIRST')).toEqual([
      { platform: null, kind: 'b' },
      { platform: 'web', kind: 'w' },
    ]);
    expect(
      await h.rows(
        `SELECT key, kind, before, after FROM _lakehouse.scd1_changes WHERE key <> 'web' ORDER BY etl_date`,
      ),
    ).toEqual([
      { key: '\\N', kind: 'insert', before: null, after: null },
      { key: '\\N', kind: 'update', before: '"a"', after: '"b"' },
    ]);
  });

  // concat_ws dropped NULLs and left '|' as it was: ('x', NULL) and (NULL, 'x') were one key in the log,
  // and the history view showed one member's changes under the other.
  it('logs composite keys apart that hold NULL or a |, as the history view names them', async () => {
    h = await createHarness('materialized: scd1\nunique_key: [a, b]');
    const day = (v: number) =>
      `SELECT * FROM (VALUES ('x', NULL, ${v}), (NULL, 'x', ${v}), ('p|q', 'r', ${v}), ('p', 'q|r', ${v}), ('s\\', 't', ${v}), ('u', 'v', ${v})) t(a, b, v)`;
    await h.apply(materializeScd1, '2022-06-01', day(1));
    await h.apply(materializeScd1, '2022-06-02', day(2));
    const logged = await h.rows(
      `SELECT key, count(*) AS n FROM _lakehouse.scd1_changes WHERE kind = 'update' GROUP BY key ORDER BY key`,
    );
    expect(logged).toEqual(
      ['p\\|q|r', 'p|q\\|r', 's\\\\|t', 'u|v', 'x|\\N', '\\N|x'].sort().map((key) => ({ key, n: 1 })),
    );
    // The history view finds each member by the same text.
    expect(
      (await h.rows(`SELECT ${businessKeyText(['a', 'b'])} AS key FROM gold.model ORDER BY key`)).map(
        (r) => r.key,
      ),
    ).toEqual(logged.map((r) => r.key));
  });

  it('gives a re-run, corrected or late date the values a build in date order gives, keys unchanged', async () => {
    h = await createHarness(`materialized: scd1
unique_key: user
surrogate_key: user_key
merge: {signup: keep, first_seen: least, last_seen: greatest}`);
    const day = (rows: string) =>
      `SELECT * FROM (VALUES ${rows}) t(user, plan, signup, first_seen, last_seen)`;
    const june1 = day(`('u1', 'basic', 'a', 1, 1), ('u2', 'basic', NULL, 1, 1)`);
    await h.apply(materializeScd1, '2022-06-01', june1);
    await h.apply(
      materializeScd1,
      '2022-06-02',
      day(`('u1', 'premium', 'b', 2, 2), ('u2', 'basic', 'c', 2, 2)`),
    );
    const members = () => h.rows('SELECT * FROM gold.model ORDER BY user_key');
    const built = await members();
    expect(built).toEqual([
      { user_key: 1, user: 'u1', plan: 'premium', signup: 'a', first_seen: 1, last_seen: 2 },
      { user_key: 2, user: 'u2', plan: 'basic', signup: 'c', first_seen: 1, last_seen: 2 },
    ]);
    // Re-running the older date alone merged its plan over the newer one: u1 went back to basic.
    const rerun = await h.apply(materializeScd1, '2022-06-01', june1);
    expect(await members()).toEqual(built);
    expect(rerun).toMatchObject({ rowsIn: 2, rowsOut: 2, duplicatesRemoved: 0 });
    // 06-02 corrected without u1: u1's plan and latest search are 06-01's again, not the removed row's.
    await h.apply(materializeScd1, '2022-06-02', day(`('u2', 'basic', 'c', 2, 2)`));
    // 05-31 arrives late: u1's signup is kept from the first date that has one, u3 gets the next key.
    await h.apply(materializeScd1, '2022-05-31', day(`('u1', 'trial', 's', 0, 0), ('u3', 'x', NULL, 0, 0)`));
    expect(await members()).toEqual([
      { user_key: 1, user: 'u1', plan: 'basic', signup: 's', first_seen: 0, last_seen: 1 },
      { user_key: 2, user: 'u2', plan: 'basic', signup: 'c', first_seen: 1, last_seen: 2 },
      { user_key: 3, user: 'u3', plan: 'x', signup: null, first_seen: 0, last_seen: 0 },
    ]);
    // The change log holds what each re-run changed, on its date: nothing for the identical re-run.
    expect(
      await h.rows(
        `SELECT etl_date::VARCHAR AS d, key, kind, column_name AS c, before, after FROM _lakehouse.scd1_changes
         WHERE etl_date <> '2022-06-01' OR kind = 'update' ORDER BY ALL`,
      ),
    ).toEqual([
      { d: '2022-05-31', key: 'u3', kind: 'insert', c: null, before: null, after: null },
      { d: '2022-06-02', key: 'u1', kind: 'update', c: 'plan', before: '"basic"', after: '"premium"' },
      { d: '2022-06-02', key: 'u1', kind: 'update', c: 'plan', before: '"premium"', after: '"basic"' },
    ]);
  });

  // Each of these failed a re-run with a raw DuckDB error (a key or column spelt in another case), or
  // told the user something untrue (a rebuild to fill members a replay fills; this date's rows at fault).
  it('takes a key and a column spelt in another case than the table or the header', async () => {
    h = await createHarness('materialized: scd1\nunique_key: ID\nsurrogate_key: k');
    const day = (column: string, rows: string) => `SELECT * FROM (VALUES ${rows}) t(id, ${column})`;
    await h.apply(materializeScd1, '2022-06-01', day('kind', `(1, 'a')`));
    await h.apply(materializeScd1, '2022-06-02', day('kind', `(2, 'b')`));
    // A re-run replays both dates; then the SELECT names kind as Kind.
    await h.apply(materializeScd1, '2022-06-01', day('kind', `(1, 'a2')`));
    const renamed = await h.apply(materializeScd1, '2022-06-03', day('Kind', `(1, 'c'), (3, 'd')`));
    expect(renamed.warnings).toEqual([]);
    expect(await h.rows('SELECT * FROM gold.model ORDER BY k')).toEqual([
      { k: 1, id: 1, kind: 'c' },
      { k: 2, id: 2, kind: 'b' },
      { k: 3, id: 3, kind: 'd' },
    ]);
  });

  it('says no member is left NULL in a new column when a replay fills every one', async () => {
    h = await createHarness('materialized: scd1\nunique_key: id');
    const day = (rows: string) => `SELECT * FROM (VALUES ${rows}) t(id, kind, tier)`;
    await h.apply(materializeScd1, '2022-06-01', `SELECT 1 AS id, 'a' AS kind`);
    await h.apply(materializeScd1, '2022-06-02', `SELECT 2 AS id, 'b' AS kind`);
    // The model gains tier and 06-01 re-runs: the replay of both dates gives both members theirs.
    h.setInput('2022-06-02', day(`(2, 'b', 'B')`));
    const rerun = await h.apply(materializeScd1, '2022-06-01', day(`(1, 'a', 'A')`));
    expect(await h.rows('SELECT * FROM gold.model ORDER BY id')).toEqual([
      { id: 1, kind: 'a', tier: 'A' },
      { id: 2, kind: 'b', tier: 'B' },
    ]);
    expect(rerun.warnings).toEqual([
      'added column tier to gold.model',
      'merged 2 dates 2022-06-01 .. 2022-06-02 again in date order',
    ]);
    expect(rerun.testHints).toEqual({ notes: ['added column tier to gold.model'], rebuild: false });
  });

  it('names the replayed date whose rows conflict, and shows the rows of a NULL key', async () => {
    h = await createHarness('materialized: scd1\nunique_key: id');
    await h.apply(materializeScd1, '2022-06-01', `SELECT 1 AS id, 'a' AS kind`);
    await h.apply(materializeScd1, '2022-06-02', `SELECT 2 AS id, 'b' AS kind`);
    h.setInput('2022-06-01', `SELECT * FROM (VALUES (1, 'a'), (1, 'z')) t(id, kind)`);
    const replayed = await lakehouseFailure(
      h.apply(materializeScd1, '2022-06-02', `SELECT 2 AS id, 'c' AS kind`),
    );
    expect(replayed.message).toMatch(
      /^gold\.model emits 1 more row on 2022-06-01 \(replayed by this run of 2022-06-02\) than distinct id values/,
    );
    expect(replayed.details).toMatchObject({ etlDate: '2022-06-01', failingRows: [{ id: 1 }, { id: 1 }] });
    const nullKey = await lakehouseFailure(
      h.apply(
        materializeScd1,
        '2022-06-03',
        `SELECT * FROM (VALUES (NULL::INTEGER, 'x'), (NULL, 'y'), (4, 'w')) t(id, kind)`,
      ),
    );
    // Ordered by key: the rows of one key come in no set order.
    expect(
      (nullKey.details.failingRows as { kind: string }[]).sort((a, b) => a.kind.localeCompare(b.kind)),
    ).toEqual([
      { id: null, kind: 'x' },
      { id: null, kind: 'y' },
    ]);
  });
});

describe('SCD type 2', () => {
  let h: Harness;
  afterEach(() => h.close());
  const HEADER = `materialized: scd2
unique_key: user_id
surrogate_key: version_key
tracked: [plan_set]
tests:
  - scd_invariants: true`;
  const day = (rows: [string, string, number][]) =>
    `SELECT * FROM (VALUES ${rows.map(([u, s, n]) => `('${u}', '${s}', ${n})`).join(', ')}) t(user_id, plan_set, visits)`;
  const versions = (harness: Harness) =>
    harness.rows(
      `SELECT version_key AS k, user_id AS u, plan_set AS s, strftime(valid_from, '%m-%d') AS f,
              strftime(valid_to, '%m-%d') AS t, is_current AS c FROM gold.model ORDER BY k`,
    );

  it('opens a version on a tracked change only, with contiguous validity', async () => {
    h = await createHarness(HEADER);
    await h.apply(
      materializeScd2,
      '2022-06-01',
      day([
        ['u1', 'A,B', 1],
        ['u2', 'A', 1],
      ]),
    );
    // u1's untracked column changes (no new version); u2 changes its plan set.
    await h.apply(
      materializeScd2,
      '2022-06-02',
      day([
        ['u1', 'A,B', 7],
        ['u2', 'C', 1],
      ]),
    );
    await h.apply(materializeScd2, '2022-06-03', day([['u2', 'A', 1]]));
    expect(await versions(h)).toEqual([
      { k: 1, u: 'u1', s: 'A,B', f: '06-01', t: null, c: true },
      { k: 2, u: 'u2', s: 'A', f: '06-01', t: '06-02', c: false },
      { k: 3, u: 'u2', s: 'C', f: '06-02', t: '06-03', c: false },
      { k: 4, u: 'u2', s: 'A', f: '06-03', t: null, c: true },
    ]);
    const [test] = await runDataTests(h.db, h.model, 'gold.model', 'gold.model');
    expect(test).toMatchObject({ name: 'scd_invariants', passed: true });
  });

  it('a backfilled earlier date keeps the keys of the versions the table already held', async () => {
    h = await createHarness(HEADER);
    await h.apply(materializeScd2, '2022-06-02', day([['u1', 'A', 1]]));
    await h.apply(materializeScd2, '2022-06-03', day([['u2', 'B', 1]]));
    // 06-01 arrives late with a user who sorts first: a replay alone would renumber u2's version.
    await h.apply(materializeScd2, '2022-06-01', day([['u0', 'Z', 1]]));
    expect(await versions(h)).toEqual([
      { k: 1, u: 'u1', s: 'A', f: '06-02', t: null, c: true },
      { k: 2, u: 'u2', s: 'B', f: '06-03', t: null, c: true },
      { k: 3, u: 'u0', s: 'Z', f: '06-01', t: null, c: true },
    ]);
  });

  it("keeps every version's key when the tracked columns change, numbering only versions new to it", async () => {
    h = await createHarness(HEADER);
    await h.apply(
      materializeScd2,
      '2022-06-01',
      day([
        ['u1', 'A', 1],
        ['u2', 'B', 1],
      ]),
    );
    await h.apply(
      materializeScd2,
      '2022-06-02',
      day([
        ['u1', 'A', 2],
        ['u2', 'C', 1],
      ]),
    );
    // The header now tracks visits too (the row hash of every version changes); the date is re-run.
    h.model.config.tracked = ['plan_set', 'visits'];
    await h.apply(
      materializeScd2,
      '2022-06-02',
      day([
        ['u1', 'A', 2],
        ['u2', 'C', 1],
      ]),
    );
    expect(await versions(h)).toEqual([
      { k: 1, u: 'u1', s: 'A', f: '06-01', t: '06-02', c: false },
      { k: 2, u: 'u2', s: 'B', f: '06-01', t: '06-02', c: false },
      { k: 3, u: 'u2', s: 'C', f: '06-02', t: null, c: true },
      { k: 4, u: 'u1', s: 'A', f: '06-02', t: null, c: true },
    ]);
  });

  it('takes a column the model gained: left out of tracked, it opens no version; tracked, one for every key seen', async () => {
    h = await createHarness(HEADER);
    const withRegion = (rows: [string, string, string][]) =>
      `SELECT * FROM (VALUES ${rows.map(([u, s, r]) => `('${u}', '${s}', 1, '${r}')`).join(', ')}) t(user_id, plan_set, visits, region)`;
    await h.apply(
      materializeScd2,
      '2022-06-01',
      day([
        ['u1', 'A', 1],
        ['u2', 'B', 1],
      ]),
    );
    // tracked: [plan_set]: the new column is carried by versions opened from now on, and opens none.
    const outcome = await h.apply(
      materializeScd2,
      '2022-06-02',
      withRegion([
        ['u1', 'A', 'north'],
        ['u2', 'C', 'south'],
      ]),
    );
    expect(outcome.warnings.join()).toMatch(/added column region to gold\.model/);
    expect(outcome.warnings.join()).not.toMatch(/row hash/);
    expect(outcome.testHints).toMatchObject({ rebuild: true });
    expect(
      await h.rows('SELECT version_key AS k, region, is_current AS c FROM gold.model ORDER BY k'),
    ).toEqual([
      { k: 1, region: null, c: true },
      { k: 2, region: null, c: false },
      { k: 3, region: 'south', c: true },
    ]);

    // Without tracked, every column but the key is: the current versions are hashed again over them, so
    // u1's (region NULL, from before the column) opens a version and u2's (unchanged) does not.
    h.model.config.tracked = undefined;
    await h.apply(
      materializeScd2,
      '2022-06-03',
      withRegion([
        ['u1', 'A', 'north'],
        ['u2', 'C', 'south'],
      ]),
    );
    const gained = await h.apply(
      materializeScd2,
      '2022-06-04',
      `SELECT *, 'gold' AS tier FROM (${withRegion([['u1', 'A', 'north']])})`,
    );
    expect(gained.warnings.join()).toMatch(
      /the model's columns changed \(added tier\): every key this date sees opens a new version/,
    );
    expect(
      await h.rows(
        "SELECT user_id AS u, tier, strftime(valid_from, '%m-%d') AS f FROM gold.model WHERE is_current ORDER BY u",
      ),
    ).toEqual([
      { u: 'u1', tier: 'gold', f: '06-04' },
      { u: 'u2', tier: null, f: '06-02' },
    ]);
    const [test] = await runDataTests(h.db, h.model, 'gold.model', 'gold.model');
    expect(test).toMatchObject({ name: 'scd_invariants', passed: true });
  });

  it('never hands out again the key of a version a replay left out', async () => {
    h = await createHarness(HEADER);
    await h.apply(
      materializeScd2,
      '2022-06-01',
      day([
        ['u1', 'A', 1],
        ['u2', 'B', 1],
      ]),
    );
    await h.apply(materializeScd2, '2022-06-02', day([['u2', 'C', 1]]));
    // Corrected: u2 kept B on 06-02, so its version 3 is gone; the next new version is 4, not 3 again.
    await h.apply(materializeScd2, '2022-06-02', day([['u2', 'B', 1]]));
    await h.apply(materializeScd2, '2022-06-03', day([['u3', 'Z', 1]]));
    expect((await versions(h)).map((v) => [v.k, v.u, v.s])).toEqual([
      [1, 'u1', 'A'],
      [2, 'u2', 'B'],
      [4, 'u3', 'Z'],
    ]);
  });

  it("sees a change that moves a '|' between columns or turns '∅' into NULL", async () => {
    h = await createHarness('materialized: scd2\nunique_key: k\nsurrogate_key: sk\ntracked: [v, w]');
    const rows = (values: string) => `SELECT * FROM (VALUES ${values}) t(k, v, w)`;
    await h.apply(
      materializeScd2,
      '2022-06-01',
      rows(`('a', 'p|', 'q'), ('b', '∅', '1'), ('c', 'x\\', 'y')`),
    );
    // The old hash joined values with an unescaped '|' and wrote NULL as '∅': these looked unchanged.
    const outcome = await h.apply(
      materializeScd2,
      '2022-06-02',
      rows(`('a', 'p', '|q'), ('b', NULL, '1'), ('c', 'x', '\\y')`),
    );
    expect(outcome.rowsOut).toBe(6);
    expect(await h.rows('SELECT k, v, w FROM gold.model WHERE is_current ORDER BY k')).toEqual([
      { k: 'a', v: 'p', w: '|q' },
      { k: 'b', v: null, w: '1' },
      { k: 'c', v: 'x', w: '\\y' },
    ]);
  });

  it('keeps the hashes an older engine wrote, and rehashes once the current versions whose hash changed', async () => {
    h = await createHarness('materialized: scd2\nunique_key: k\nsurrogate_key: sk\ntracked: [v, w]');
    const day1 = `SELECT * FROM (VALUES ('a', 'plain', 'text'), ('b', NULL, '1'), ('c', 'p|', 'q')) t(k, v, w)`;
    await h.apply(materializeScd2, '2022-06-01', day1);
    const legacy = "md5(concat_ws('|', coalesce(v::VARCHAR, '∅'), coalesce(w::VARCHAR, '∅')))";
    // Values without NULL, '|' or a backslash hash as the older engine hashed them.
    expect(await h.rows(`SELECT k FROM gold.model WHERE row_hash = ${legacy} ORDER BY k`)).toEqual([
      { k: 'a' },
    ]);
    // A history an older engine wrote: every row hashed its way.
    await h.db.run(`UPDATE gold.model SET row_hash = ${legacy}`);
    const day2 = await h.apply(materializeScd2, '2022-06-02', day1);
    expect(day2.rowsOut).toBe(0);
    expect(await h.rows(`SELECT k FROM gold.model WHERE row_hash = ${legacy} ORDER BY k`)).toEqual([
      { k: 'a' },
    ]);
    expect(await h.rows('SELECT count(*) AS n FROM gold.model')).toEqual([{ n: 3 }]);
  });

  it('replays on an earlier date and flags gaps and double current rows', async () => {
    h = await createHarness(HEADER);
    const d1 = day([['u2', 'A', 1]]);
    const d2 = day([['u2', 'C', 1]]);
    await h.apply(materializeScd2, '2022-06-01', d1);
    await h.apply(materializeScd2, '2022-06-02', d2);
    const before = await versions(h);
    await h.apply(materializeScd2, '2022-06-01', d1);
    expect(await versions(h)).toEqual(before);
    await h.db.run(`UPDATE gold.model SET valid_to = DATE '2022-06-05' WHERE version_key = 1`);
    await h.db.run(`UPDATE gold.model SET is_current = TRUE, valid_to = NULL WHERE version_key = 1`);
    const [test] = await runDataTests(h.db, h.model, 'gold.model', 'gold.model');
    expect(test?.passed).toBe(false);
    // Both current versions show, the first as never ending before the second starts.
    expect(test?.sample.map((r) => `${r.problem} ${r.valid_from}..${r.next_valid_from}`).sort()).toEqual([
      'overlapping versions 2022-06-01..2022-06-02',
      'several current rows 2022-06-01..2022-06-02',
      'several current rows 2022-06-02..null',
    ]);
  });
});

describe('append by unique key', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('never duplicates a key: a re-run replaces, a repeat inside the input is dropped and counted', async () => {
    h = await createHarness(`materialized: append
unique_key: event_id`);
    const d1 = `SELECT * FROM (VALUES ('e1', 1), ('e2', 1), ('e2', 1)) t(event_id, v)`;
    const first = await h.apply(materializeAppend, '2022-06-01', d1);
    expect(first).toMatchObject({ rowsIn: 3, rowsOut: 2, duplicatesRemoved: 1 });
    await h.apply(materializeAppend, '2022-06-01', d1);
    await h.apply(
      materializeAppend,
      '2022-06-02',
      `SELECT * FROM (VALUES ('e3', 2), ('e1', 2)) t(event_id, v)`,
    );
    expect(await h.rows('SELECT event_id, v FROM gold.model ORDER BY event_id')).toEqual([
      { event_id: 'e1', v: 2 },
      { event_id: 'e2', v: 1 },
      { event_id: 'e3', v: 2 },
    ]);
  });

  // A NULL key is one key value, as over several columns: the latest date's row holds it. The one-column
  // delete matched NULL to nothing, so each re-run of a date with a NULL key another date also loaded
  // added that row again.
  it("holds one row of a NULL key, the latest date's, however often its dates are re-run", async () => {
    h = await createHarness(`materialized: append
unique_key: event_id`);
    const d1 = `SELECT * FROM (VALUES (NULL, 1), ('e1', 1)) t(event_id, v)`;
    const d2 = `SELECT * FROM (VALUES (NULL, 2), ('e2', 2)) t(event_id, v)`;
    const inDateOrder = [
      { event_id: 'e1', v: 1 },
      { event_id: 'e2', v: 2 },
      { event_id: null, v: 2 },
    ];
    const rows = () => h.rows('SELECT event_id, v FROM gold.model ORDER BY ALL');
    await h.apply(materializeAppend, '2022-06-01', d1);
    await h.apply(materializeAppend, '2022-06-02', d2);
    expect(await rows()).toEqual(inDateOrder);
    await h.apply(materializeAppend, '2022-06-02', d2);
    await h.apply(materializeAppend, '2022-06-01', d1);
    expect(await rows()).toEqual(inDateOrder);
  });

  // The unique test skips NULL keys, so the date's failure says why a merge cannot.
  it('fails on rows of a NULL key that differ, saying a NULL key is one key to a merge', async () => {
    h = await createHarness(`materialized: append
unique_key: event_id`);
    const error = await lakehouseFailure(
      h.apply(
        materializeAppend,
        '2022-06-01',
        `SELECT * FROM (VALUES (NULL, 1), (NULL, 2), ('e1', 1)) t(event_id, v)`,
      ),
    );
    expect(error).toMatchObject({ code: 'TEST_FAILED', details: { test: 'unique(event_id)' } });
    expect(error.message).toContain(
      '2 rows with event_id NULL differ: rows are merged by key, so a NULL key is one key here, though the ' +
        'unique test skips it. Give them a key, or quarantine or filter them out.',
    );
  });

  it("a re-run removes the rows its date no longer produces, never another date's", async () => {
    h = await createHarness(`materialized: append
unique_key: [event_id, part]`);
    const d1 = `SELECT * FROM (VALUES ('e1', 1, 'a'), ('e2', 1, 'a'), ('e3', 1, 'a')) t(event_id, part, v)`;
    await h.apply(materializeAppend, '2022-06-01', d1);
    // Day 2 loads e3 again: from now on that row is day 2's.
    await h.apply(
      materializeAppend,
      '2022-06-02',
      `SELECT * FROM (VALUES ('e3', 1, 'b'), ('e4', 1, 'b')) t(event_id, part, v)`,
    );
    // Day 1's source was fixed: e2 and e3 are gone from it, e1 changed.
    await h.apply(materializeAppend, '2022-06-01', `SELECT 'e1' AS event_id, 1 AS part, 'a2' AS v`);
    expect(await h.rows('SELECT event_id, v FROM gold.model ORDER BY event_id')).toEqual([
      { event_id: 'e1', v: 'a2' },
      { event_id: 'e3', v: 'b' },
      { event_id: 'e4', v: 'b' },
    ]);
    // Re-running day 2 unchanged changes nothing.
    await h.apply(
      materializeAppend,
      '2022-06-02',
      `SELECT * FROM (VALUES ('e3', 1, 'b'), ('e4', 1, 'b')) t(event_id, part, v)`,
    );
    expect(await h.rows('SELECT count(*)::INT AS n FROM gold.model')).toEqual([{ n: 3 }]);
  });

  it("re-running an older date, or loading it late, leaves a later date's rows of the same key", async () => {
    h = await createHarness(`materialized: append
unique_key: [customer_id, region]`);
    const day = (rows: string) => `SELECT * FROM (VALUES ${rows}) t(customer_id, region, tier)`;
    const d1 = day(`('c1', 'eu', 'bronze'), ('c2', NULL, 'bronze'), ('c3', 'eu', 'bronze')`);
    await h.apply(materializeAppend, '2022-06-01', d1);
    await h.apply(materializeAppend, '2022-06-02', day(`('c1', 'eu', 'silver'), ('c2', NULL, 'silver')`));
    const rerun = await h.apply(materializeAppend, '2022-06-01', d1);
    // A build in date order: day 2's rows of c1 and c2 (a NULL key part too), day 1's c3.
    const inDateOrder = [
      { customer_id: 'c1', tier: 'silver' },
      { customer_id: 'c2', tier: 'silver' },
      { customer_id: 'c3', tier: 'bronze' },
    ];
    const rows = () => h.rows('SELECT customer_id, tier FROM gold.model ORDER BY customer_id');
    expect(await rows()).toEqual(inDateOrder);
    expect(rerun).toMatchObject({ rowsIn: 3, rowsOut: 1, duplicatesRemoved: 2 });
    expect(rerun.warnings.join()).toMatch(
      /^2 rows repeat customer_id, region values 2022-06-02 also loaded: that date's rows are kept and these are not written\. .* once 2022-06-02 has run again there, run 2022-06-01 again$/,
    );
    // Day 2 re-run as it was changes nothing; a date loaded late (before both) does not win either.
    await h.apply(materializeAppend, '2022-06-02', day(`('c1', 'eu', 'silver'), ('c2', NULL, 'silver')`));
    await h.apply(materializeAppend, '2022-05-31', day(`('c1', 'eu', 'new'), ('c4', 'eu', 'new')`));
    expect(await rows()).toEqual([...inDateOrder, { customer_id: 'c4', tier: 'new' }]);
  });

  // The re-run removed only keys no other date recorded: one an earlier date shared kept the re-run
  // date's old row, which no date produced any more, instead of the earlier date's.
  it("a re-run that no longer loads a key an earlier date loaded puts back that date's row", async () => {
    h = await createHarness(`materialized: append
unique_key: id`);
    const day = (rows: string) => `SELECT * FROM (VALUES ${rows}) t(id, v)`;
    const rows = () => h.rows('SELECT id, v FROM gold.model ORDER BY id');
    await h.apply(materializeAppend, '2022-06-01', day(`(1, 'a'), (2, 'x')`));
    await h.apply(materializeAppend, '2022-06-02', day(`(1, 'b'), (2, 'y')`));
    await h.apply(materializeAppend, '2022-06-03', day(`(1, 'c'), (3, 'z')`));
    // 06-03 corrected: no id 1. The latest earlier date holding it is 06-02.
    const rerun = await h.apply(materializeAppend, '2022-06-03', day(`(3, 'z')`));
    expect(await rows()).toEqual([
      { id: 1, v: 'b' },
      { id: 2, v: 'y' },
      { id: 3, v: 'z' },
    ]);
    expect(rerun).toMatchObject({ rowsOut: 1, testRelation: '__stage' });
    expect(await h.rows('SELECT id FROM __stage')).toEqual([{ id: 3 }]);
    expect(rerun.warnings).toContain(
      "1 row of id values 2022-06-03 no longer loads is 2022-06-02's again, which also loaded them, as in a build in date order",
    );
    // 06-02's source lost id 1 too, but 06-02 has not run since: its model output now is asked, then 06-01's.
    h.setInput('2022-06-02', day(`(2, 'y')`));
    await h.apply(materializeAppend, '2022-06-03', day(`(1, 'c'), (3, 'z')`));
    await h.apply(materializeAppend, '2022-06-03', day(`(3, 'z')`));
    expect(await rows()).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'y' },
      { id: 3, v: 'z' },
    ]);
    // 06-02 no longer counts as holding id 1: a corrected 06-01 writes it.
    await h.apply(materializeAppend, '2022-06-01', day(`(1, 'a2'), (2, 'x')`));
    expect(await rows()).toEqual([
      { id: 1, v: 'a2' },
      { id: 2, v: 'y' },
      { id: 3, v: 'z' },
    ]);
  });

  // hash(1::INTEGER) is not hash(1::DOUBLE): the hashes recorded before a key column was widened, or of
  // a key staged narrower than its column, matched none of the table's keys, so an older date won.
  it('keeps matching keys across a widened key column or a key staged narrower than it', async () => {
    h = await createHarness(`materialized: append
unique_key: id`);
    const rows = () => h.rows('SELECT id::VARCHAR AS id, v FROM gold.model ORDER BY ALL');
    await h.apply(materializeAppend, '2022-06-02', `SELECT 1::INTEGER AS id, 'new' AS v`);
    // Loaded late, as DOUBLE: the column is widened, and 06-02 still holds id 1.
    await h.apply(
      materializeAppend,
      '2022-06-01',
      `SELECT * FROM (VALUES (1::DOUBLE, 'old'), (2, 'old')) t(id, v)`,
    );
    expect(await rows()).toEqual([
      { id: '1.0', v: 'new' },
      { id: '2.0', v: 'old' },
    ]);
    // A key staged as INTEGER into the DOUBLE column is recorded as the column holds it.
    await h.apply(materializeAppend, '2022-06-03', `SELECT 2::INTEGER AS id, 'newer' AS v`);
    await h.apply(
      materializeAppend,
      '2022-06-01',
      `SELECT * FROM (VALUES (1::DOUBLE, 'old'), (2, 'old')) t(id, v)`,
    );
    expect(await rows()).toEqual([
      { id: '1.0', v: 'new' },
      { id: '2.0', v: 'newer' },
    ]);
    // 06-02's hash recorded as INTEGER still finds its row: corrected without id 1, 06-01's comes back.
    await h.apply(materializeAppend, '2022-06-02', `SELECT 3::DOUBLE AS id, 'new' AS v`);
    expect(await rows()).toEqual([
      { id: '1.0', v: 'old' },
      { id: '2.0', v: 'newer' },
      { id: '3.0', v: 'new' },
    ]);
  });

  it('notes a column the model stopped giving: the date it writes holds NULL there, the others keep theirs', async () => {
    h = await createHarness(`materialized: append
unique_key: id`);
    await h.apply(
      materializeAppend,
      '2022-06-01',
      `SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(id, keyword)`,
    );
    await h.apply(materializeAppend, '2022-06-02', `SELECT * FROM (VALUES (3, 'c')) t(id, keyword)`);
    const renamed = await h.apply(
      materializeAppend,
      '2022-06-02',
      `SELECT * FROM (VALUES (3, 'c')) t(id, search_keyword)`,
    );
    expect(await h.rows('SELECT id, keyword, search_keyword FROM gold.model ORDER BY id')).toEqual([
      { id: 1, keyword: 'a', search_keyword: null },
      { id: 2, keyword: 'b', search_keyword: null },
      { id: 3, keyword: null, search_keyword: 'c' },
    ]);
    expect(renamed.warnings).toContain(
      'column keyword of gold.model no longer produced by its model: the rows this run writes (new members, ' +
        'for a dimension) hold NULL there, the others keep their values; put the column back in the model to go on filling it',
    );
  });

  it('adds a column the model gained', async () => {
    h = await createHarness(`materialized: append
unique_key: event_id`);
    await h.apply(materializeAppend, '2022-06-01', `SELECT 'e1' AS event_id`);
    const outcome = await h.apply(materializeAppend, '2022-06-02', `SELECT 'e2' AS event_id, 'x' AS extra`);
    expect(outcome.warnings.join()).toMatch(/added column extra/);
    expect(await h.rows('SELECT * FROM gold.model ORDER BY event_id')).toEqual([
      { event_id: 'e1', extra: null },
      { event_id: 'e2', extra: 'x' },
    ]);
  });

  it.each([
    ['append', materializeAppend, 'unique_key: event_id'],
    ['scd1', materializeScd1, 'unique_key: event_id\nsurrogate_key: sk'],
    ['scd2', materializeScd2, 'unique_key: event_id\nsurrogate_key: sk'],
  ] as const)(
    '%s: refuses a column whose type the rows already there cannot take, naming it',
    async (kind, materializer, keys) => {
      h = await createHarness(`materialized: ${kind}\n${keys}`);
      await h.apply(materializer, '2022-06-01', `SELECT 'e1' AS event_id, 'enter' AS category, 5 AS score`);
      const before = await h.rows('SELECT * FROM gold.model');
      // A BOOLEAN would land among the strings as 'true'; a merge would fail on its first old value.
      const error = await h
        .apply(materializer, '2022-06-02', `SELECT 'e2' AS event_id, true AS category, 6 AS score`)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'MODEL_INVALID',
        message: expect.stringMatching(
          /^gold\.model: column category is VARCHAR in the table, but models\/gold\/model\.sql now gives BOOLEAN, .*CAST\(\.\.\. AS VARCHAR\) AS category/,
        ),
        details: { column: 'category', tableType: 'VARCHAR', modelType: 'BOOLEAN' },
      });
      expect(await h.rows('SELECT * FROM gold.model')).toEqual(before);
      // A wider type widens the column (INTEGER to BIGINT); a narrower one, or a NULL, goes in as it is.
      await h.apply(
        materializer,
        '2022-06-03',
        `SELECT 'e3' AS event_id, NULL AS category, 7::BIGINT AS score`,
      );
      await h.apply(
        materializer,
        '2022-06-04',
        `SELECT 'e4' AS event_id, 'quit' AS category, 8::TINYINT AS score`,
      );
      expect(
        await h.rows("SELECT event_id, category, score FROM gold.model WHERE event_id <> 'e1' ORDER BY 1"),
      ).toEqual([
        { event_id: 'e3', category: null, score: 7 },
        { event_id: 'e4', category: 'quit', score: 8 },
      ]);
      expect(await h.rows('SELECT DISTINCT typeof(score) AS t FROM gold.model')).toEqual([{ t: 'BIGINT' }]);
      // DuckDB casts BIGINT to DOUBLE implicitly, rounding: every committed row would change. Refused.
      const rounded = await h
        .apply(
          materializer,
          '2022-06-05',
          `SELECT 'e5' AS event_id, 'quit' AS category, 2.5::DOUBLE AS score`,
        )
        .catch((e: unknown) => e);
      expect(rounded).toMatchObject({
        code: 'MODEL_INVALID',
        details: { tableType: 'BIGINT', modelType: 'DOUBLE' },
      });
      // A narrower type the column holds exactly goes in, noted.
      const narrower = await h.apply(
        materializer,
        '2022-06-06',
        `SELECT 'e6' AS event_id, 'quit' AS category, 9::SMALLINT AS score`,
      );
      expect(narrower.warnings).toContain(
        'kept column score as BIGINT (the model gives SMALLINT) in gold.model',
      );
    },
  );
});
