import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../engine/db/duckdb.ts';
import type { Engine } from '../../engine/engine.ts';
import { goldFingerprints } from '../helpers/fingerprint.ts';
import {
  exampleProject,
  HAS_SHARED_DATA,
  REAL_SOURCE,
  removeDir,
  SHARED_DATA,
  SHARED_SKIP_REASON,
  tempDir,
  withEngine,
} from '../helpers/project.ts';

if (!HAS_SHARED_DATA) console.warn(SHARED_SKIP_REASON);

// The real sample: 3 days x 3,000 events of a Vietnamese OTT service (MIT, Nguyễn Minh Khôi; see README).
describe.skipIf(!HAS_SHARED_DATA)('the reference pipeline on the real sample', () => {
  let dir: string;
  let catalogDir: string;

  beforeAll(async () => {
    // The hand-labelled keyword list doubles as a catalog here (evaluation and tests only, never shipped).
    catalogDir = await tempDir();
    const db = await openDb();
    await db.run(
      `COPY (SELECT keyword AS title, category AS genres FROM read_csv('${join(SHARED_DATA, 'keyword_category.csv')}', header = true))
       TO '${join(catalogDir, 'titles.csv')}' (HEADER)`,
    );
    db.close();
    dir = await exampleProject(REAL_SOURCE, join(catalogDir, 'titles.csv'));
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({});
      expect(summary.error).toBeUndefined();
      expect(summary.status).toBe('success');
    });
  });

  afterAll(async () => {
    await removeDir(dir);
    await removeDir(catalogDir);
  });

  const q = async (engine: Engine, sql: string) => (await engine.query(sql)).rows;

  it('keeps every source row in bronze, one partition per day', async () => {
    await withEngine(
      dir,
      async (engine) => {
        expect(await q(engine, 'SELECT count(*) AS n FROM bronze.customer_search')).toEqual([{ n: 9000 }]);
        expect(
          await q(
            engine,
            `SELECT strftime(etl_date, '%Y-%m-%d') AS d, count(*) AS n FROM bronze.customer_search GROUP BY 1 ORDER BY 1`,
          ),
        ).toEqual([
          { d: '2022-06-01', n: 3000 },
          { d: '2022-06-02', n: 3000 },
          { d: '2022-06-03', n: 3000 },
        ]);
      },
      true,
    );
  });

  it('accounts for every bronze row per date: silver + duplicates + quarantined', async () => {
    await withEngine(
      dir,
      async (engine) => {
        const [run] = await engine.runs(1);
        const silver = run!.models.filter((m) => m.model === 'silver.customer_search');
        expect(silver).toHaveLength(3);
        for (const m of silver) expect(m.rowsIn).toBe(m.rowsOut + m.duplicatesRemoved + m.quarantined);
        expect(silver.reduce((s, m) => s + m.duplicatesRemoved, 0)).toBe(2);
        expect(await q(engine, 'SELECT count(*) AS n FROM silver.customer_search')).toEqual([{ n: 8998 }]);
      },
      true,
    );
  });

  it('keeps each duplicated event id exactly once in the fact table', async () => {
    await withEngine(
      dir,
      async (engine) => {
        const dupes = await q(
          engine,
          `SELECT eventID AS id FROM bronze.customer_search GROUP BY 1 HAVING count(*) > 1 ORDER BY 1`,
        );
        expect(dupes).toHaveLength(2);
        for (const { id } of dupes) {
          expect(
            await q(engine, `SELECT count(*) AS n FROM fact_customer_search WHERE event_id = '${id}'`),
          ).toEqual([{ n: 1 }]);
        }
        expect(
          await q(
            engine,
            'SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM gold.fact_customer_search',
          ),
        ).toEqual([{ n: 8998, d: 8998 }]);
      },
      true,
    );
  });

  it('parses 12-hour CH/PM and Buddhist-era timestamps to the right wall-clock instants', async () => {
    await withEngine(
      dir,
      async (engine) => {
        const rows = await q(
          engine,
          `SELECT b.datetime AS raw, strftime(f.datetime_log, '%Y-%m-%d %H:%M:%S.%g') AS parsed
           FROM bronze.customer_search b JOIN fact_customer_search f ON f.event_id = b.eventID
           WHERE b.datetime LIKE '% CH' OR b.datetime LIKE '% PM' OR b.datetime LIKE '25%' ORDER BY 1`,
        );
        const twelveHour = rows.filter((r) => / (CH|PM)$/.test(String(r.raw)));
        const buddhist = rows.filter((r) => String(r.raw).startsWith('25'));
        expect(twelveHour).toHaveLength(36);
        expect(buddhist).toHaveLength(14);
        for (const { raw, parsed } of twelveHour) {
          // 'YYYY-MM-DD h:mm:ss.fff CH' is h + 12 o'clock (afternoon or evening), same date, same minutes.
          const m = /^(\d{4}-\d{2}-\d{2}) (\d{1,2}):(\d{2}):(\d{2})\.(\d+) (CH|PM)$/.exec(String(raw))!;
          const hour = (Number(m[2]) % 12) + 12;
          expect(parsed).toBe(
            `${m[1]} ${String(hour).padStart(2, '0')}:${m[3]}:${m[4]}.${m[5]!.padEnd(3, '0').slice(0, 3)}`,
          );
        }
        for (const { raw, parsed } of buddhist) {
          expect(String(parsed).slice(0, 4)).toBe(String(Number(String(raw).slice(0, 4)) - 543));
          expect(String(parsed).slice(4, 19)).toBe(String(raw).slice(4, 19).padEnd(15, '0').slice(0, 15));
        }
        // The example from the design notes: 8:40:36.178 CH is 20:40:36.178.
        const known = rows.find((r) => r.raw === '2022-06-02 8:40:36.178 CH');
        if (known) expect(known.parsed).toBe('2022-06-02 20:40:36.178');
      },
      true,
    );
  });

  it('keeps user_id leading zeros in dim_user, bridge_user_plan and the fact table, and they join', async () => {
    await withEngine(
      dir,
      async (engine) => {
        const raw = await q(
          engine,
          `SELECT count(DISTINCT user_id) AS n FROM bronze.customer_search WHERE user_id LIKE '0%'`,
        );
        const n = Number(raw[0]!.n);
        expect(n).toBeGreaterThan(0);
        expect(await q(engine, `SELECT count(*) AS n FROM dim_user WHERE user_id LIKE '0%'`)).toEqual([
          { n },
        ]);
        expect(
          await q(
            engine,
            `SELECT count(DISTINCT f.user_id) AS n FROM fact_customer_search f JOIN dim_user u USING (user_id) WHERE f.user_id LIKE '0%'`,
          ),
        ).toEqual([{ n }]);
        const bridged = await q(
          engine,
          `SELECT count(*) AS n FROM bridge_user_plan b JOIN dim_user u USING (user_id) WHERE b.user_id LIKE '0%'`,
        );
        expect(Number(bridged[0]!.n)).toBeGreaterThan(0);
        expect(
          await q(
            engine,
            `SELECT count(*) AS n FROM bridge_user_plan b ANTI JOIN dim_user u USING (user_id)`,
          ),
        ).toEqual([{ n: 0 }]);
        expect(await q(engine, `SELECT user_id FROM dim_user WHERE user_id = '06029400'`)).toEqual([
          { user_id: '06029400' },
        ]);
      },
      true,
    );
  });

  it('gives facts no null or dangling foreign keys, and guests a placeholder that is in dim_user', async () => {
    await withEngine(
      dir,
      async (engine) => {
        expect(
          await q(
            engine,
            `SELECT count(*) FILTER (p.platform_key IS NULL) AS platform, count(*) FILTER (n.network_key IS NULL) AS network,
                    count(*) FILTER (u.user_id IS NULL) AS usr, count(*) FILTER (d.date_key IS NULL) AS dt
             FROM fact_customer_search f
             LEFT JOIN dim_platform p USING (platform_key) LEFT JOIN dim_network n USING (network_key)
             LEFT JOIN dim_user u USING (user_id) LEFT JOIN dim_date d USING (date_key)`,
          ),
        ).toEqual([{ platform: 0, network: 0, usr: 0, dt: 0 }]);
        const guests = await q(
          engine,
          `SELECT count(*) AS n FROM fact_customer_search WHERE user_id = 'guest'`,
        );
        expect(Number(guests[0]!.n)).toBeGreaterThan(2000);
        expect(await q(engine, `SELECT user_type FROM dim_user WHERE user_id = 'guest'`)).toEqual([
          { user_type: 'guest' },
        ]);
        // One null platform in the sample points at the unknown member.
        const unknown = await q(
          engine,
          `SELECT count(*) AS n FROM fact_customer_search WHERE platform_key = 0`,
        );
        expect(Number(unknown[0]!.n)).toBeGreaterThanOrEqual(1);
      },
      true,
    );
  });

  it('leaves null keywords null (never the string "None")', async () => {
    await withEngine(
      dir,
      async (engine) => {
        expect(
          await q(
            engine,
            `SELECT count(*) AS n FROM silver.customer_search WHERE original_keyword IN ('None', 'none', 'null')`,
          ),
        ).toEqual([{ n: 0 }]);
        const nulls = await q(
          engine,
          `SELECT count(*) AS n FROM silver.customer_search WHERE original_keyword IS NULL`,
        );
        expect(Number(nulls[0]!.n)).toBeGreaterThanOrEqual(747 - 2);
        // A keyword is matched or not_matched, whatever its script (三十而已 has no Latin slug); no
        // keyword (null, blank) has no normalized form.
        expect(
          await q(
            engine,
            `SELECT count(*) FILTER (WHERE original_keyword IS NOT NULL AND keyword_normalized IS NULL) AS unanswered,
                    count(*) FILTER (WHERE original_keyword IS NULL AND keyword_normalized IS NOT NULL) AS invented,
                    count(*) FILTER (WHERE original_keyword = '三十而已' AND keyword_normalized = 'not_matched') AS other_script
             FROM silver.customer_search`,
          ),
        ).toEqual([{ unanswered: 0, invented: 0, other_script: 2 }]);
      },
      true,
    );
  });

  // One keyword starts with a zero-width space (kept: see clean_keyword), 23 carry their accents as
  // combining marks (NFD).
  it('slugs keywords led by a zero-width space or with decomposed accents like the plain ones', async () => {
    await withEngine(
      dir,
      async (engine) => {
        expect(
          await q(
            engine,
            `SELECT count(*) FILTER (WHERE original_keyword <> trim(original_keyword)) AS padded,
                    count(*) FILTER (WHERE original_keyword_slug = 'tate-no-yuusha-no-nariagari') AS zero_width_led,
                    count(*) FILTER (WHERE original_keyword <> nfc_normalize(original_keyword)) AS decomposed,
                    count(*) FILTER (WHERE original_keyword <> nfc_normalize(original_keyword)
                      AND original_keyword_slug IS DISTINCT FROM slugify(nfc_normalize(original_keyword))) AS slugged_apart
             FROM silver.customer_search`,
          ),
        ).toEqual([{ padded: 0, zero_width_led: 1, decomposed: 23, slugged_apart: 0 }]);
      },
      true,
    );
  });

  it('changes nothing when the same dates run again', async () => {
    const before = await withEngine(dir, goldFingerprints, true);
    const again = await withEngine(dir, (engine) => engine.run({}));
    expect(again.status).toBe('success');
    const after = await withEngine(dir, goldFingerprints, true);
    expect(Object.keys(before).length).toBeGreaterThanOrEqual(10);
    expect(after).toEqual(before);
    // Re-running one earlier date alone (history models replay) also changes nothing.
    const one = await withEngine(dir, (engine) => engine.run({ dates: ['2022-06-01'] }));
    expect(one.status).toBe('success');
    expect(await withEngine(dir, goldFingerprints, true)).toEqual(before);
  });

  it('writes nothing outside the project', async () => {
    await writeFile(join(catalogDir, 'marker'), '');
    await withEngine(
      dir,
      async (engine) => {
        const paths = await q(engine, `SELECT DISTINCT source_file FROM bronze.customer_search`);
        expect(paths.every((p) => String(p.source_file).startsWith(REAL_SOURCE))).toBe(true);
      },
      true,
    );
  });
});
