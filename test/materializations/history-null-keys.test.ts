import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methods } from '../../engine/api/contract.ts';
import type { Engine } from '../../engine/engine.ts';
import { historyKeys, keyHistory } from '../../engine/explore/history.ts';
import { removeDir, tempDir, withEngine } from '../helpers/project.ts';

// A dimension may key one member on NULL. Its single-column key was logged by SCD1 as '' (the text of an
// empty key too) and listed by the history view as nothing: the NULL member's history could not be opened
// (SCD1 listed '', which opened the '' member or failed; SCD2 did not list it), and an SCD1 '' member
// showed the NULL member's changes as its own.

const model = (kind: string, members: string) => `/* config
materialized: ${kind}
unique_key: region
*/
SELECT region, n + day(getvariable('etl_date')::DATE) AS n
FROM (VALUES ${members}) AS t(region, n), (SELECT count(*) FROM source.prices)
`;
const ALL = "(NULL, 1), ('', 10), ('x', 100), ('\\N', 1000)";

let work: string;
let dir: string;

async function writeModel(name: string, text: string): Promise<void> {
  await writeFile(join(dir, 'models', 'gold', `${name}.sql`), text);
}

/** Each listed key with the member's values (n) the history shows: SCD1's logged updates, SCD2's versions. */
async function history(engine: Engine, name: string) {
  const model = `gold.${name}`;
  const listed = await historyKeys(engine, { model, search: '', limit: 10 });
  const shown: Record<string, unknown[]> = {};
  for (const { key } of listed.keys) {
    // As the app asks: through the API's input check, which refused the key '' the picker lists.
    const found = await keyHistory(engine, methods['history.key'].input.parse({ model, key }));
    shown[key] =
      found.kind === 'scd1'
        ? found.changes.filter((c) => c.kind === 'update').map((c) => c.after)
        : found.lanes.flatMap((l) => l.versions.map((v) => v.row.n));
  }
  return shown;
}

beforeAll(async () => {
  work = await tempDir('lakehouse-history-null-keys-');
  dir = join(work, 'project');
  await mkdir(join(dir, 'models', 'gold'), { recursive: true });
  await writeFile(join(dir, 'prices.csv'), 'sku,price\na,1\n');
  await writeFile(
    join(dir, 'lakehouse.yaml'),
    'name: prices\nsources:\n  prices: {kind: file, path: prices.csv}\n',
  );
  await writeModel('dim_scd1', model('scd1', ALL));
  await writeModel('dim_scd2', model('scd2', ALL));
  await writeModel('dim_old_log', model('scd1', "(NULL, 1), ('x', 100)"));
  await withEngine(dir, async (engine) => {
    const run = await engine.run({ dates: ['2022-06-01', '2022-06-02'] });
    expect(run.error?.message).toBeUndefined();
  });
});

afterAll(async () => {
  if (work) await removeDir(work);
});

describe('the history of a member keyed on NULL', () => {
  it('is listed and opened as \\N apart from an empty key and a key written \\N, for SCD1 and SCD2', async () => {
    await withEngine(dir, async (engine) => {
      expect(await history(engine, 'dim_scd1')).toEqual({
        '\\N': [3],
        '': [12],
        x: [102],
        '\\\\N': [1002],
      });
      expect(await history(engine, 'dim_scd2')).toEqual({
        '\\N': [2, 3],
        '': [11, 12],
        x: [101, 102],
        '\\\\N': [1001, 1002],
      });
    });
  });

  it("takes over SCD1 entries logged under '' for the NULL member before, when no member's key is ''", async () => {
    await withEngine(dir, async (engine) => {
      // As the change log was written before: the NULL key as ''.
      await engine.db.run(
        "UPDATE _lakehouse.scd1_changes SET key = '' WHERE model = 'gold.dim_old_log' AND key = '\\N'",
      );
      expect((await engine.run({ dates: ['2022-06-03'] })).error?.message).toBeUndefined();
      expect(await history(engine, 'dim_old_log')).toEqual({ '\\N': [3, 4], x: [102, 103] });
    });
  });
});
