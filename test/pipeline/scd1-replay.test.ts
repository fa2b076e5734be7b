import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withEngine } from '../helpers/project.ts';
import { events, handWrittenProject } from '../helpers/source-files.ts';

const D1 = '2022-06-01';
const D2 = '2022-06-02';

/** Replaces `from` by `to` in a model file of the project, which must hold it. */
async function edit(dir: string, model: string, from: string, to: string): Promise<void> {
  const path = join(dir, 'models', model);
  const text = await readFile(path, 'utf8');
  expect(text).toContain(from);
  await writeFile(path, text.replace(from, to));
}

// An SCD1 dimension re-run on an older date merges every committed date again in order. Silver
// partitions written before a column the dimension reads existed read NULL there, and the replay
// overwrote the values members had with it, with a successful run.
describe('an SCD1 replay over input partitions written before a column was added', () => {
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove } = await handWrittenProject({ '20220601': events(8, D1), '20220602': events(8, D2) }, [
      D1,
      D2,
    ]));
    await edit(
      dir,
      'silver/customer_search.sql',
      'lower(trim(r.platform)) AS platform,',
      'lower(trim(r.platform)) AS platform,\n  upper(trim(r.platform)) AS platform_label,',
    );
    await edit(
      dir,
      'gold/dim_platform.sql',
      'device_type(platform) AS device_type',
      'device_type(platform) AS device_type, platform_label',
    );
  }, 120_000);

  afterAll(() => remove());

  it('merges the date alone, saying which partitions lack the column, and keeps the values it gives', async () => {
    await withEngine(dir, async (engine) => {
      const run = await engine.run({ dates: [D1] });
      expect(run.error?.message ?? run.status).toBe('success');
      const notes = run.models.filter((r) => r.model === 'gold.dim_platform').flatMap((r) => r.warnings);
      expect(notes).toContain(
        `merged ${D1} alone, not every date in order: silver.customer_search has no platform_label in its ` +
          `partitions of ${D2}; an overwrite column may hold an older date's value until those partitions are ` +
          'written again and this date re-runs',
      );
      const { rows } = await engine.query(
        `SELECT count(*) AS members, count(platform_label) AS labelled FROM gold.dim_platform
         WHERE platform IN (SELECT platform FROM silver.customer_search WHERE etl_date = DATE '${D1}')`,
      );
      expect(rows[0]?.members).toBeGreaterThan(0);
      expect(rows[0]?.labelled).toBe(rows[0]?.members);
    });
  }, 120_000);
});
