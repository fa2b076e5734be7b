import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakehouseFailure } from '../helpers/errors.ts';
import { removeDir, tempDir, withEngine } from '../helpers/project.ts';
import { events, exampleProjectOnDays, writeDay } from '../helpers/source-files.ts';

const D1 = '2022-06-01';
const D2 = '2022-06-02';

const HEADER = '/* config\nmaterialized: append\nunique_key: platform\n*/\n';
const FIRST_SEEN =
  "SELECT DISTINCT platform FROM silver.customer_search\nWHERE etl_date = getvariable('etl_date') AND platform IS NOT NULL\n";
const NOT_SEEN_BEFORE = '  AND platform NOT IN (SELECT platform FROM gold.new_platforms)\n';

describe('a model reading its own table', () => {
  let src: string;
  let dir: string;
  let model: string;

  beforeAll(async () => {
    src = await tempDir('lakehouse-src-');
    await writeDay(src, '20220601', events(6, D1));
    await writeDay(src, '20220602', events(6, D2));
    dir = await exampleProjectOnDays(src);
    await mkdir(join(dir, 'models', 'gold'), { recursive: true });
    model = join(dir, 'models', 'gold', 'new_platforms.sql');
  });

  afterAll(async () => {
    await removeDir(dir);
    await removeDir(src);
  });

  // Its first run used to fail on DuckDB's "Table ... does not exist" once the model's turn came.
  it('is refused before its first run, at the line, with the way to build it first', async () => {
    await writeFile(model, HEADER + FIRST_SEEN + NOT_SEEN_BEFORE);
    await withEngine(dir, async (engine) => {
      const error = await lakehouseFailure(engine.run({ dates: [D1] }));
      expect(error.code).toBe('MODEL_INVALID');
      expect(error.message).toBe(
        "models/gold/new_platforms.sql:7: reads gold.new_platforms, this model's own table, which does not exist " +
          'until its first run commits, so that run cannot read it. Nothing ran. Build the table first without ' +
          'the read of its previous state (comment it out, run, then restore it), or read the previous state ' +
          'from another model.',
      );
      expect(error.details).toMatchObject({ file: 'models/gold/new_platforms.sql', line: 7 });
      expect(await engine.runs(10)).toEqual([]);
    });
  });

  it('runs once the table is built', async () => {
    await writeFile(model, HEADER + FIRST_SEEN);
    await withEngine(dir, async (engine) => {
      expect((await engine.run({ dates: [D1] })).status).toBe('success');
    });
    await writeFile(model, HEADER + FIRST_SEEN + NOT_SEEN_BEFORE);
    await withEngine(dir, async (engine) => {
      expect((await engine.run({ dates: [D2] })).status).toBe('success');
    });
  });
});
