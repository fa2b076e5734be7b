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

const AT = "TIMESTAMPTZ '2022-06-01 10:00:00+00'";

/** One day's rows with TIMESTAMPTZ inside a LIST, a STRUCT (oddly named fields), a MAP and an ARRAY. */
const day = (at = AT) =>
  `SELECT * FROM (VALUES
     (1, [${at}, NULL, 'infinity'], {'at': ${at}, 'x "y"': 'a:b'}, MAP {${at}: [${at}]}, array_value(${at}),
      [[{'k': ${at}}]], 'a'),
     (2, NULL, NULL, NULL, NULL, NULL, 'b')
   ) AS t(id, events, info, seen, pair, deep, label)`;

// A TIMESTAMPTZ inside a LIST or STRUCT was hashed from its text in the session's time zone (TZ), so the
// same rows run in another zone opened a version of every key.
describe('SCD2 change detection over TIMESTAMPTZ values nested in lists, structs and maps', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('sees no change when the time zone of the run changes, and a change when a nested instant does', async () => {
    h = await createHarness(HEADER);
    await h.db.run("SET TimeZone = 'UTC'");
    await h.apply(materializeScd2, '2022-06-01', day());
    await h.db.run("SET TimeZone = 'Asia/Ho_Chi_Minh'");
    await h.apply(materializeScd2, '2022-06-02', day("TIMESTAMPTZ '2022-06-01 17:00:00+07'"));
    await h.db.run("SET TimeZone = 'America/New_York'");
    await h.apply(materializeScd2, '2022-06-03', day());
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: null },
      { id: 2, k: 2, f: '2022-06-01', t: null },
    ]);
    await h.apply(materializeScd2, '2022-06-04', day("TIMESTAMPTZ '2022-06-01 10:00:00.001+00'"));
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: '2022-06-04' },
      { id: 1, k: 3, f: '2022-06-04', t: null },
      { id: 2, k: 2, f: '2022-06-01', t: null },
    ]);
  });

  it('hashes nested values as a UTC session wrote them, so hashes made in UTC before still match', async () => {
    h = await createHarness(HEADER);
    await h.db.run("SET TimeZone = 'Asia/Ho_Chi_Minh'");
    await h.apply(materializeScd2, '2022-06-01', day());
    const hashes = await h.rows('SELECT id, row_hash FROM gold.model ORDER BY id');
    await h.db.run("SET TimeZone = 'UTC'");
    const asUtcText = await h.rows(
      `SELECT id, md5(concat_ws('|', coalesce(events::VARCHAR, '\\N'), coalesce(info::VARCHAR, '\\N'),
         coalesce(seen::VARCHAR, '\\N'), coalesce(pair::VARCHAR, '\\N'), coalesce(deep::VARCHAR, '\\N'), label)) AS row_hash
       FROM gold.model ORDER BY id`,
    );
    expect(hashes).toEqual(asUtcText);
  });

  it("takes over versions hashed in the session's time zone before, without opening new ones", async () => {
    h = await createHarness(HEADER);
    await h.db.run("SET TimeZone = 'Asia/Ho_Chi_Minh'");
    await h.apply(materializeScd2, '2022-06-01', day());
    // The hash as this session's text gave it before nested values were written in UTC.
    await h.db.run(
      `UPDATE gold.model SET row_hash = md5(concat_ws('|', coalesce(events::VARCHAR, '\\N'), coalesce(info::VARCHAR, '\\N'),
         coalesce(seen::VARCHAR, '\\N'), coalesce(pair::VARCHAR, '\\N'), coalesce(deep::VARCHAR, '\\N'), label))`,
    );
    await h.apply(materializeScd2, '2022-06-02', day());
    expect(await versions(h)).toEqual([
      { id: 1, k: 1, f: '2022-06-01', t: null },
      { id: 2, k: 2, f: '2022-06-01', t: null },
    ]);
  });

  it('takes over versions hashed with a top-level TIMESTAMPTZ in UTC and a nested one in the session zone', async () => {
    h = await createHarness(HEADER);
    await h.db.run("SET TimeZone = 'Asia/Ho_Chi_Minh'");
    const rows = `SELECT * FROM (VALUES (1, ${AT}, [${AT}])) AS t(id, seen_at, events)`;
    await h.apply(materializeScd2, '2022-06-01', rows);
    // As the rule before this one hashed: the top-level value in UTC, the nested one in the session's zone.
    await h.db.run(
      `UPDATE gold.model SET row_hash = md5(concat_ws('|', timezone('UTC', seen_at)::VARCHAR || '+00', events::VARCHAR))`,
    );
    await h.apply(materializeScd2, '2022-06-02', rows);
    expect(await versions(h)).toEqual([{ id: 1, k: 1, f: '2022-06-01', t: null }]);
  });
});
