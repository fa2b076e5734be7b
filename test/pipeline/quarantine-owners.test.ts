import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counted } from '../../engine/api/counted.ts';
import type { Engine } from '../../engine/engine.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { generatedProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

// quarantine.<name> belongs to the model that writes it: bronze.customer_search and
// silver.customer_search share a name, and a bronze quarantine rule used to replace silver's quarantined
// rows of the date (and silver's then bronze's), so those rows were nowhere.
describe('the quarantine table of a model name', () => {
  let work: string;
  let dir: string;
  let dates: string[];
  const quarantined = async (engine: Engine, date: string) =>
    (
      await engine.query(
        `SELECT quarantine_reason AS reason, count(*)::INTEGER AS n FROM quarantine.customer_search
         WHERE etl_date = '${date}' GROUP BY ALL ORDER BY ALL`,
      )
    ).rows;

  beforeAll(async () => {
    work = await tempDir('lakehouse-quarantine-');
    ({ dir, dates } = await generatedProject(work, 2, 3000));
    await withEngine(dir, async (engine) => {
      expect((await engine.run({})).status).toBe('success');
    });
  });
  afterAll(async () => {
    if (work) await removeDir(work);
  });

  it("refuses a second model's quarantine rows in it, and keeps the first's", async () => {
    const bronze = join(dir, 'models', 'bronze', 'customer_search.sql');
    const original = await readFile(bronze, 'utf8');
    await writeFile(
      bronze,
      original.replace(
        'now()::TIMESTAMP AS loaded_at',
        "now()::TIMESTAMP AS loaded_at,\n  CASE WHEN platform LIKE 'a%' THEN 'bronze_rule' END AS _quarantine_reason",
      ),
    );
    try {
      await withEngine(dir, async (engine) => {
        const before = await quarantined(engine, dates[1]!);
        expect(before.length).toBeGreaterThan(0);
        const refused = await engine.run({ dates: [dates[1]!] });
        expect(refused.error?.code).toBe('MODEL_INVALID');
        expect(refused.error?.message).toBe(
          'models/bronze/customer_search.sql: bronze.customer_search quarantines rows into ' +
            'quarantine.customer_search, which holds the rows silver.customer_search quarantined. Two models ' +
            "cannot share it, or each date would keep only one model's rows: rename one of the model files.",
        );
        expect(await quarantined(engine, dates[1]!)).toEqual(before);
        // Built by silver's model, not bronze's, though both are named customer_search.
        expect((await lakehouseFailure(engine.dropTable('quarantine.customer_search'))).message).toContain(
          'quarantine.customer_search is built by models/silver/customer_search.sql',
        );
      });
    } finally {
      await writeFile(bronze, original);
    }
  });

  it('empties the date of a model that no longer quarantines, so no row counts twice', async () => {
    const silver = join(dir, 'models', 'silver', 'customer_search.sql');
    const original = await readFile(silver, 'utf8');
    await writeFile(
      silver,
      original
        .replace('END AS _quarantine_reason', 'END AS rejected_because')
        .replace('- not_null: [event_id, datetime_log, date_key, user_id]', '- not_null: event_id'),
    );
    try {
      await withEngine(dir, async (engine) => {
        const held = (await quarantined(engine, dates[0]!)).reduce((n, r) => n + Number(r.n), 0);
        expect(held).toBeGreaterThan(0);
        const summary = await engine.run({ dates: [dates[0]!], select: ['silver.customer_search'] });
        expect(summary.error?.message).toBeUndefined();
        const record = summary.models.find((m) => m.model === 'silver.customer_search')!;
        expect(record.quarantined).toBe(0);
        expect(record.warnings).toContain(
          `quarantine.customer_search no longer holds the ${counted(held, 'row')} of ${dates[0]} an earlier version of ` +
            'silver.customer_search quarantined: the model gives no quarantine reason now',
        );
        expect(await quarantined(engine, dates[0]!)).toEqual([]);
        // The rows it quarantined are in silver now, once: bronze = silver + duplicates removed.
        expect(record.rowsIn).toBe(record.rowsOut + record.duplicatesRemoved);
        const inSilver = await engine.query(
          `SELECT count(*)::INTEGER AS n FROM silver.customer_search WHERE etl_date = '${dates[0]}' AND rejected_because IS NOT NULL`,
        );
        expect(inSilver.rows).toEqual([{ n: held }]);
        // No model quarantines into it now: it is left behind, to drop.
        expect(await engine.dropTable('quarantine.customer_search')).toMatchObject({ kind: 'view' });
      });
    } finally {
      await writeFile(silver, original);
    }
  });
});
