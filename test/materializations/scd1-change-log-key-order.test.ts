import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../engine/engine.ts';
import { historyKeys, keyHistory } from '../../engine/explore/history.ts';
import { removeDir, tempDir, withEngine } from '../helpers/project.ts';

// SCD1's change log holds a composite key's text in unique_key order, rekeyed to a reordered unique_key by
// the model's next run. Until then the history view listed every logged key in the old order, each of
// which failed to open ("no rows for region|sku = a|eu"), and a member opened by its key showed no change.

const model = (keys: string) => `/* config
materialized: scd1
unique_key: [${keys}]
surrogate_key: price_key
*/
SELECT sku, region, price::INTEGER + day(getvariable('etl_date')::DATE) AS price FROM source.prices
`;

let work: string;
let dir: string;

async function writeModel(keys: string): Promise<void> {
  await writeFile(join(dir, 'models', 'gold', 'dim_price.sql'), model(keys));
}

async function history(engine: Engine) {
  const listed = await historyKeys(engine, { model: 'gold.dim_price', search: '', limit: 10 });
  const opened = [];
  for (const { key } of listed.keys) {
    const { changes } = await keyHistory(engine, { model: 'gold.dim_price', key });
    opened.push({ key, updates: changes.filter((c) => c.kind === 'update').map((c) => c.after) });
  }
  return opened;
}

beforeAll(async () => {
  work = await tempDir('lakehouse-scd1-key-order-');
  dir = join(work, 'project');
  await mkdir(join(dir, 'models', 'gold'), { recursive: true });
  // A key with '|' in it and one with a NULL part: their texts escape both.
  await writeFile(join(dir, 'prices.csv'), 'sku,region,price\na,eu,1\nb|x,vn,2\nc,,3\n');
  await writeFile(
    join(dir, 'lakehouse.yaml'),
    'name: prices\nsources:\n  prices: {kind: file, path: prices.csv}\n',
  );
  await writeModel('sku, region');
  await withEngine(dir, async (engine) => {
    const run = await engine.run({ dates: ['2022-06-01', '2022-06-02'] });
    expect(run.error?.message).toBeUndefined();
  });
});

afterAll(async () => {
  if (work) await removeDir(work);
});

describe("SCD1's change log after unique_key is reordered", () => {
  it('lists and opens each member by the new order before the model runs again, and after', async () => {
    await writeModel('region, sku');
    await withEngine(dir, async (engine) => {
      expect(await history(engine)).toEqual([
        { key: '\\N|c', updates: [5] },
        { key: 'eu|a', updates: [3] },
        { key: 'vn|b\\|x', updates: [4] },
      ]);
      expect((await engine.run({ dates: ['2022-06-03'] })).error?.message).toBeUndefined();
      expect(await history(engine)).toEqual([
        { key: '\\N|c', updates: [5, 6] },
        { key: 'eu|a', updates: [3, 4] },
        { key: 'vn|b\\|x', updates: [4, 5] },
      ]);
    });
  });
});
