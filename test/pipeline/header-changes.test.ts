import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../engine/engine.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { generatedProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

// A header edit the table already built cannot take (another key, another materialization, partitions
// turned into a table) is refused before anything is written, naming how the table was built and the
// rebuild that takes the new header; before, some went through and left repeated keys, others failed
// with a Binder Error on an engine statement pinned to a line of the model.
describe('header edits a built table cannot take', () => {
  let work: string;
  let dir: string;
  let dates: string[];

  beforeAll(async () => {
    work = await tempDir('lakehouse-header-');
    ({ dir, dates } = await generatedProject(work, 3, 200));
    await withEngine(dir, async (engine) => {
      expect((await engine.run({})).status).toBe('success');
    });
  });
  afterAll(async () => {
    if (work) await removeDir(work);
  });

  const header = (lines: string[]) => `/* config\n${lines.join('\n')}\n*/\n`;
  const platforms = `SELECT platform, device_type(platform) AS device_type, count(*) AS n FROM silver.customer_search
WHERE etl_date = getvariable('etl_date') AND platform IS NOT NULL GROUP BY ALL\n`;
  const devices = `SELECT device_type(platform) AS device_type, count(*) AS n FROM silver.customer_search
WHERE etl_date = getvariable('etl_date') GROUP BY ALL\n`;

  async function build(name: string, text: string, engine: Engine, on = dates.slice(0, 2)) {
    await writeFile(join(dir, 'models', 'gold', `${name}.sql`), text);
    await engine.reloadModels();
    const summary = await engine.run({ dates: on, select: [`gold.${name}`] });
    return summary;
  }

  async function rows(engine: Engine, sql: string) {
    return (await engine.query(sql)).rows;
  }

  it.each([
    {
      title: 'scd1 keyed by another column',
      before: header(['materialized: scd1', 'unique_key: platform', 'surrogate_key: k']) + platforms,
      after: header(['materialized: scd1', 'unique_key: device_type', 'surrogate_key: k']) + devices,
      built: 'built as materialized: scd1 keyed by platform with surrogate key k',
      now: 'materialized: scd1 keyed by device_type with surrogate key k',
    },
    {
      title: 'scd1 with its surrogate key renamed',
      before: header(['materialized: scd1', 'unique_key: platform', 'surrogate_key: k']) + platforms,
      after:
        header(['materialized: scd1', 'unique_key: platform', 'surrogate_key: platform_key']) + platforms,
      built: 'built as materialized: scd1 keyed by platform with surrogate key k',
      now: 'materialized: scd1 keyed by platform with surrogate key platform_key',
    },
    {
      title: 'scd2 turned scd1',
      before: header(['materialized: scd2', 'unique_key: platform', 'surrogate_key: k']) + platforms,
      after: header(['materialized: scd1', 'unique_key: platform', 'surrogate_key: k']) + platforms,
      built: 'built as materialized: scd2 keyed by platform with surrogate key k',
      now: 'materialized: scd1 keyed by platform with surrogate key k',
    },
    {
      title: 'append keyed by another column',
      before: header(['materialized: append', 'unique_key: platform']) + platforms,
      after: header(['materialized: append', 'unique_key: device_type']) + devices,
      built: 'built as materialized: append keyed by platform',
      now: 'materialized: append keyed by device_type',
    },
    {
      title: 'table turned scd1',
      before: header(['materialized: table']) + platforms,
      after: header(['materialized: scd1', 'unique_key: platform', 'surrogate_key: k']) + platforms,
      built: 'built as materialized: table',
      now: 'materialized: scd1 keyed by platform with surrogate key k',
    },
  ])('$title: refused with how it was built, then rebuilt from every date', async (edit) => {
    const name = `h_${edit.title.replace(/\W+/g, '_')}`;
    const relation = `gold.${name}`;
    await withEngine(dir, async (engine) => {
      expect((await build(name, edit.before, engine)).status).toBe('success');
      const before = await rows(engine, `SELECT * FROM ${relation} ORDER BY ALL`);
      const refused = await build(name, edit.after, engine, [dates[2]!]);
      expect(refused.error?.code).toBe('MODEL_INVALID');
      expect(refused.error?.message).toBe(
        `models/gold/${name}.sql: ${relation} was ${edit.built}, and its header now says ${edit.now}. ` +
          'Its rows cannot be carried over (keys would repeat, or lose their surrogate keys): ' +
          'rebuild it from every date (drop it for a rebuild, then run every date), or put the header back.',
      );
      expect(refused.error?.details).toMatchObject({ model: relation, rebuild: relation });
      expect(await rows(engine, `SELECT * FROM ${relation} ORDER BY ALL`)).toEqual(before);
      // The rebuild the error names takes the new header.
      await engine.dropTable(relation, { rebuild: true });
      expect((await engine.run({ dates, select: [relation] })).error?.message).toBeUndefined();
      const keys = edit.now.includes('device_type') ? 'device_type' : 'platform';
      expect(
        await rows(engine, `SELECT count(*) - count(DISTINCT ${keys}) AS repeated FROM ${relation}`),
      ).toEqual([{ repeated: 0 }]);
    });
  });

  // SCD1 and SCD2 match rows on their key columns in any order: [a, b] turned [b, a] was refused as
  // another key, sending the user to a rebuild from every date (losing SCD1's change log).
  it.each(['scd1', 'scd2'])(
    '%s keyed by the same columns in another order goes on from its table',
    async (kind) => {
      const name = `h_${kind}_reordered`;
      const relation = `gold.${name}`;
      const keyed = (keys: string) =>
        header([`materialized: ${kind}`, `unique_key: ${keys}`, 'surrogate_key: k']) + platforms;
      await withEngine(dir, async (engine) => {
        expect((await build(name, keyed('[platform, device_type]'), engine)).status).toBe('success');
        const next = await build(name, keyed('[device_type, platform]'), engine, [dates[2]!]);
        expect(next.error?.message).toBeUndefined();
        const current = kind === 'scd2' ? 'WHERE is_current' : '';
        expect(
          await rows(
            engine,
            `SELECT count(*) - count(DISTINCT (platform, device_type)) AS repeated FROM ${relation} ${current}`,
          ),
        ).toEqual([{ repeated: 0 }]);
        if (kind === 'scd1') {
          // The change log's keys follow the new order, so the history view finds each member's entries
          // logged before the reorder (they stayed under 'platform|device_type').
          expect(
            await rows(
              engine,
              `SELECT count(*) FILTER (WHERE key NOT IN (SELECT concat_ws('|', coalesce(device_type, '\\N'), platform)
                                        FROM ${relation})) AS stale, count(*) > 0 AS logged
               FROM _lakehouse.scd1_changes WHERE model = '${relation}'`,
            ),
          ).toEqual([{ stale: 0, logged: true }]);
        }
      });
    },
  );

  // Append records each date's keys as hashes in key order: a reorder was refused, sending the user to a
  // rebuild from every date. The record is rehashed in the new order, so a re-run still finds later dates'
  // keys (without it, re-running an older date put its rows back over the later date's).
  it('append keyed by the same columns in another order goes on, its record of keys in the new order', async () => {
    const name = 'h_append_reordered';
    const relation = `gold.${name}`;
    const keyed = (keys: string) => header(['materialized: append', `unique_key: ${keys}`]) + platforms;
    await withEngine(dir, async (engine) => {
      expect((await build(name, keyed('[platform, device_type]'), engine)).status).toBe('success');
      const before = await rows(engine, `SELECT * FROM ${relation} ORDER BY ALL`);
      const reordered = await build(name, keyed('[device_type, platform]'), engine, [dates[0]!]);
      expect(reordered.error?.message).toBeUndefined();
      expect(await rows(engine, `SELECT * FROM ${relation} ORDER BY ALL`)).toEqual(before);
      expect((await engine.run({ dates: [dates[2]!], select: [relation] })).status).toBe('success');
      expect(
        await rows(
          engine,
          `SELECT count(*) - count(DISTINCT (platform, device_type)) AS repeated FROM ${relation}`,
        ),
      ).toEqual([{ repeated: 0 }]);
    });
  });

  it('append turned table: refused rather than keeping one date of the rows, and the rebuild takes it', async () => {
    const name = 'h_append_to_table';
    const relation = `gold.${name}`;
    await withEngine(dir, async (engine) => {
      const appended = header(['materialized: append', 'unique_key: [etl, platform]']);
      const select = `SELECT getvariable('etl_date') AS etl, ${platforms.slice('SELECT '.length)}`;
      expect((await build(name, appended + select, engine)).status).toBe('success');
      const before = await rows(engine, `SELECT * FROM ${relation} ORDER BY ALL`);
      expect(new Set(before.map((r) => String(r.etl))).size).toBe(2);
      const refused = await build(name, header(['materialized: table']) + select, engine, [dates[2]!]);
      expect(refused.error?.message).toBe(
        `models/gold/${name}.sql: ${relation} was built as materialized: append keyed by etl, platform, and its ` +
          'header now says materialized: table. A table model replaces its rows with what one run gives, so the ' +
          'rows of every other date the table holds would be lost without a word: rebuild it from every date ' +
          '(drop it for a rebuild, then run every date), or put the header back.',
      );
      expect(refused.error?.details.rebuild).toBe(relation);
      expect(await rows(engine, `SELECT * FROM ${relation} ORDER BY ALL`)).toEqual(before);
      await engine.dropTable(relation, { rebuild: true });
      expect((await engine.run({ dates: [dates[2]!], select: [relation] })).status).toBe('success');
      // Built as a table now: the next run of it replaces it again, without a refusal.
      expect((await engine.run({ dates: [dates[1]!], select: [relation] })).status).toBe('success');
    });
  });

  it('partitions turned into a table: refused, and only a rebuild drops them', async () => {
    const path = join(dir, 'models', 'silver', 'ev.sql');
    const select =
      "SELECT event_id, user_id FROM silver.customer_search WHERE etl_date = getvariable('etl_date')\n";
    await withEngine(dir, async (engine) => {
      await writeFile(path, header(['materialized: partition']) + select);
      await engine.reloadModels();
      expect((await engine.run({ dates: [dates[0]!], select: ['silver.ev'] })).status).toBe('success');
      await writeFile(path, header(['materialized: table']) + select);
      await engine.reloadModels();
      const refused = await engine.run({ dates: [dates[0]!], select: ['silver.ev'] });
      expect(refused.error?.message).toBe(
        'models/silver/ev.sql: silver.ev was built as daily partitions (materialized: partition), and its header ' +
          'now says materialized: table. A run cannot turn one into the other in place: rebuild it from every ' +
          'date (drop it for a rebuild, then run every date), or put the header back.',
      );
      expect(refused.error?.details.rebuild).toBe('silver.ev');
      expect((await lakehouseFailure(engine.dropTable('silver.ev'))).message).toContain(
        'silver.ev is built by models/silver/ev.sql; the next run would only build it again. Delete or rename ' +
          'the model file first, then drop the table it left behind. To rebuild it whole from every date ' +
          'instead, drop it with --rebuild and run every date.',
      );
      // Partitions whose header still says partition are rewritten by a run, not dropped for one: the
      // refusal of a plain drop does not send the user to a --rebuild that is refused in turn.
      expect((await lakehouseFailure(engine.dropTable('silver.customer_search'))).message).toMatch(
        /drop the table it left behind\. To rewrite it, run its dates again \(lakehouse run <project>\)\.$/,
      );
      expect(
        (await lakehouseFailure(engine.dropTable('silver.customer_search', { rebuild: true }))).message,
      ).toContain('silver.customer_search is a partitioned table: running its dates again rewrites it');
      expect(await engine.dropTable('silver.ev', { rebuild: true })).toMatchObject({
        kind: 'view',
        partitions: 1,
      });
      // Its files go, and so do the folders that held them.
      expect(existsSync(join(engine.project.lakeRoot, 'silver', 'ev'))).toBe(false);
      expect(existsSync(join(engine.project.lakeRoot, 'silver', 'customer_search'))).toBe(true);
      expect((await engine.run({ dates: [dates[0]!], select: ['silver.ev'] })).status).toBe('success');
      expect(await rows(engine, 'SELECT count(*) > 0 AS filled FROM silver.ev')).toEqual([{ filled: true }]);
      await rm(path);
    });
  });

  it("refuses a partition model whose etl_date is not its run's date, which the view would replace", async () => {
    const path = join(dir, 'models', 'silver', 'shifted.sql');
    await writeFile(
      path,
      header(['materialized: partition']) +
        "SELECT event_id, getvariable('etl_date') - 1 AS etl_date FROM silver.customer_search\n" +
        "WHERE etl_date = getvariable('etl_date')\n",
    );
    try {
      await withEngine(dir, async (engine) => {
        await engine.reloadModels();
        const refused = await engine.run({ dates: [dates[1]!], select: ['silver.shifted'] });
        expect(refused.error?.message).toBe(
          `models/silver/shifted.sql: etl_date holds ${dates[0]}, not the run's date ${dates[1]}: a partition's ` +
            "etl_date is its run's date, which the layer's view reads from the partition. Write " +
            "getvariable('etl_date') AS etl_date, and give any other date another name (e.g. event_date).",
        );
        expect((await engine.tables()).some((t) => t.name === 'shifted')).toBe(false);
        // The run's day as a TIMESTAMP is its date still.
        await writeFile(
          path,
          header(['materialized: partition']) +
            "SELECT event_id, CAST(getvariable('etl_date') AS TIMESTAMP) AS etl_date FROM silver.customer_search\n" +
            "WHERE etl_date = getvariable('etl_date')\n",
        );
        await engine.reloadModels();
        const accepted = await engine.run({ dates: [dates[1]!], select: ['silver.shifted'] });
        expect(accepted.error?.message ?? accepted.status).toBe('success');
        await engine.dropTable('silver.shifted', { rebuild: false }).catch(() => undefined);
      });
    } finally {
      await rm(path);
    }
  });
});
