import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../engine/engine.ts';
import { historyKeys, keyHistory } from '../../engine/explore/history.ts';
import { removeDir, tempDir, withEngine } from '../helpers/project.ts';

// SCD1's change log stored a TIMESTAMPTZ key as the text of the session's time zone (TZ): a run in
// another zone logged the same member under another text, and the history view, in yet another zone,
// listed keys that did not open ("no rows for started_at = 2022-06-01 10:00:00+00").

let work: string;
let dir: string;

/** Every connection the engine opens sets this zone, as TZ would. */
async function inZone(zone: string): Promise<void> {
  await writeFile(join(dir, 'macros', 'zone.sql'), `SET TimeZone = '${zone}';\n`);
}

async function history(engine: Engine, model = 'gold.dim_session') {
  const listed = await historyKeys(engine, { model, search: '', limit: 10 });
  const shown: Record<string, unknown[]> = {};
  for (const { key } of listed.keys) {
    const { changes } = await keyHistory(engine, { model, key });
    shown[key] = changes.filter((c) => c.kind === 'update').map((c) => c.after);
  }
  return shown;
}

beforeAll(async () => {
  work = await tempDir('lakehouse-scd1-zone-keys-');
  dir = join(work, 'project');
  await mkdir(join(dir, 'models', 'gold'), { recursive: true });
  await mkdir(join(dir, 'macros'), { recursive: true });
  await writeFile(join(dir, 'prices.csv'), 'sku,price\na,1\n');
  await writeFile(
    join(dir, 'lakehouse.yaml'),
    'name: sessions\nsources:\n  prices: {kind: file, path: prices.csv}\n',
  );
  const model = (keys: string) => `/* config
materialized: scd1
unique_key: ${keys}
*/
SELECT TIMESTAMPTZ '2022-06-01 10:00:00+00' AS started_at, sku, day(getvariable('etl_date')::DATE) AS n
FROM source.prices
`;
  await writeFile(join(dir, 'models', 'gold', 'dim_session.sql'), model('[started_at, sku]'));
  await writeFile(join(dir, 'models', 'gold', 'dim_start.sql'), model('started_at'));
});

afterAll(async () => {
  if (work) await removeDir(work);
});

describe('SCD1 change log keys holding a TIMESTAMPTZ', () => {
  it('are one text in every time zone, logged and listed in UTC', async () => {
    await inZone('UTC');
    await withEngine(dir, async (engine) => {
      expect((await engine.run({ dates: ['2022-06-01', '2022-06-02'] })).error?.message).toBeUndefined();
    });
    await inZone('Asia/Ho_Chi_Minh');
    await withEngine(dir, async (engine) => {
      expect((await engine.run({ dates: ['2022-06-03'] })).error?.message).toBeUndefined();
      expect(await history(engine)).toEqual({ '2022-06-01 10:00:00+00|a': [2, 3] });
    });
    await inZone('America/New_York');
    await withEngine(dir, async (engine) => {
      expect(await history(engine)).toEqual({ '2022-06-01 10:00:00+00|a': [2, 3] });
      expect(await history(engine, 'gold.dim_start')).toEqual({ '2022-06-01 10:00:00+00': [2, 3] });
    });
  });

  it("takes over entries logged in the session's time zone before, on the next run in that zone", async () => {
    await inZone('Asia/Ho_Chi_Minh');
    await withEngine(dir, async (engine) => {
      // As an earlier version logged them in this zone.
      await engine.db.run(
        `UPDATE _lakehouse.scd1_changes SET key = replace(key, '10:00:00+00', '17:00:00+07')
         WHERE model IN ('gold.dim_session', 'gold.dim_start')`,
      );
      expect((await engine.run({ dates: ['2022-06-04'] })).error?.message).toBeUndefined();
      expect(await history(engine)).toEqual({ '2022-06-01 10:00:00+00|a': [2, 3, 4] });
      expect(await history(engine, 'gold.dim_start')).toEqual({ '2022-06-01 10:00:00+00': [2, 3, 4] });
    });
  });
});
