import { afterEach, describe, expect, it } from 'vitest';
import { materializeScd2 } from '../../engine/materializations/history.ts';
import { createHarness } from '../helpers/materialize.ts';

type Harness = Awaited<ReturnType<typeof createHarness>>;

const HEADER = `materialized: scd2
unique_key: id
surrogate_key: version_key`;

const versions = (h: Harness) =>
  h.rows(
    `SELECT id, version_key AS k, valid_from::VARCHAR AS f, valid_to::VARCHAR AS t FROM gold.model ORDER BY id, k`,
  );

// The row hash compared each tracked value's text: a TIMESTAMPTZ's text is the session's time zone's
// (TZ), and a DECIMAL's carries its scale, so an unchanged value opened a version of every key.
describe('SCD2 change detection over values whose text is not their value', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('sees no change in a TIMESTAMPTZ when the time zone of the run changes, and a change when the instant does', async () => {
    h = await createHarness(HEADER);
    const day = (at: string) =>
      `SELECT * FROM (VALUES (1, TIMESTAMPTZ '${at}', 'a'), (2, NULL::TIMESTAMPTZ, 'b')) AS t(id, seen_at, label)`;
    await h.db.run("SET TimeZone = 'UTC'");
    await h.apply(materializeScd2, '2022-06-01', day('2022-06-01 10:00:00+00'));
    await h.db.run("SET TimeZone = 'Asia/Ho_Chi_Minh'");
    await h.apply(materializeScd2, '2022-06-02', day('2022-06-01 17:00:00+07'));
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: null },
      { id: 2, k: 2, f: '2022-06-01', t: null },
    ]);
    await h.apply(materializeScd2, '2022-06-03', day('2022-06-01 10:00:01+00'));
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: '2022-06-03' },
      { id: 1, k: 3, f: '2022-06-03', t: null },
      { id: 2, k: 2, f: '2022-06-01', t: null },
    ]);
  });

  it("takes over versions hashed in the session's time zone before, without opening new ones", async () => {
    h = await createHarness(HEADER);
    await h.db.run("SET TimeZone = 'Asia/Ho_Chi_Minh'");
    const day = `SELECT * FROM (VALUES (1, TIMESTAMPTZ '2022-06-01 10:00:00+00', 'a')) AS t(id, seen_at, label)`;
    await h.apply(materializeScd2, '2022-06-01', day);
    // The hash as this session's text gave it before UTC.
    await h.db.run(`UPDATE gold.model SET row_hash = md5(concat_ws('|', seen_at::VARCHAR, label))`);
    await h.apply(materializeScd2, '2022-06-02', day);
    expect(await versions(h)).toEqual([{ id: 1, k: 1, f: '2022-06-01', t: null }]);
  });

  it('sees no change in a tracked DECIMAL widened, or given narrower than the table keeps it', async () => {
    h = await createHarness(HEADER);
    const day = (type: string, price = '1.5') =>
      `SELECT id, CAST(price AS ${type}) AS price FROM (VALUES (1, ${price}), (2, 2.25)) AS t(id, price)`;
    await h.apply(materializeScd2, '2022-06-01', day('DECIMAL(10,2)'));
    const widened = await h.apply(materializeScd2, '2022-06-02', day('DECIMAL(12,3)'));
    expect(widened.warnings).toContain('widened column price (DECIMAL(10,2) to DECIMAL(12,3)) in gold.model');
    const kept = await h.apply(materializeScd2, '2022-06-03', day('DECIMAL(10,2)'));
    expect(kept.warnings).toContain(
      'kept column price as DECIMAL(12,3) (the model gives DECIMAL(10,2)) in gold.model',
    );
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: null },
      { id: 2, k: 2, f: '2022-06-01', t: null },
    ]);
    await h.apply(materializeScd2, '2022-06-04', day('DECIMAL(10,2)', '1.75'));
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: '2022-06-04' },
      { id: 1, k: 3, f: '2022-06-04', t: null },
      { id: 2, k: 2, f: '2022-06-01', t: null },
    ]);
  });

  // The hash joined the tracked values in the SELECT's (or tracked:'s) order: reordering it opened a version
  // of every key with no change.
  it('sees no change when the SELECT lists the tracked columns in another order, and sees values swapped', async () => {
    h = await createHarness(HEADER);
    const rows = "(1, 'a', 'x'), (2, 'b', 'y')";
    await h.apply(materializeScd2, '2022-06-01', `SELECT * FROM (VALUES ${rows}) AS t(id, label, kind)`);
    await h.apply(
      materializeScd2,
      '2022-06-02',
      `SELECT id, kind, label FROM (VALUES ${rows}) AS t(id, label, kind)`,
    );
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: null },
      { id: 2, k: 2, f: '2022-06-01', t: null },
    ]);
    // Key 1's values change places: kind is 'a' and label 'x' now.
    await h.apply(
      materializeScd2,
      '2022-06-03',
      `SELECT id, kind, label FROM (VALUES (1, 'x', 'a'), (2, 'b', 'y')) AS t(id, label, kind)`,
    );
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: '2022-06-03' },
      { id: 1, k: 3, f: '2022-06-03', t: null },
      { id: 2, k: 2, f: '2022-06-01', t: null },
    ]);
  });

  it("takes over versions hashed in tracked:'s order before, without opening new ones", async () => {
    h = await createHarness(`${HEADER}\ntracked: [kind, label]`);
    const day = (label: string, kind: string) =>
      `SELECT * FROM (VALUES (1, '${label}', '${kind}')) AS t(id, label, kind)`;
    await h.apply(materializeScd2, '2022-06-01', day('a', 'x'));
    // The hash in tracked:'s order, as it was before the table's order.
    await h.db.run(`UPDATE gold.model SET row_hash = md5(concat_ws('|', kind, label))`);
    await h.apply(materializeScd2, '2022-06-02', day('a', 'x'));
    expect(await versions(h)).toEqual([{ id: 1, k: 1, f: '2022-06-01', t: null }]);
    expect(await h.rows("SELECT row_hash = md5('a|x') AS rehashed FROM gold.model")).toEqual([
      { rehashed: true },
    ]);
    // The values trade places: a change, though in tracked:'s order they read as the old hash did.
    await h.apply(materializeScd2, '2022-06-03', day('x', 'a'));
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: '2022-06-03' },
      { id: 1, k: 2, f: '2022-06-03', t: null },
    ]);
  });
});
