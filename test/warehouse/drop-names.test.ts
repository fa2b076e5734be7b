import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakehouseFailure } from '../helpers/errors.ts';
import { noDailySourceProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

// The name given to the engine's drop (the app's, and the command line's): SQL's quotes are taken off,
// and a first part that is no layer is said to be none, to the app as to the command line.

let dir: string;
beforeAll(async () => {
  dir = await tempDir('lakehouse-drop-names-');
  await noDailySourceProject(dir);
  await withEngine(dir, async (engine) => {
    expect((await engine.run({ dates: ['2024-01-01'] })).status).toBe('success');
  });
});
afterAll(async () => {
  if (dir) await removeDir(dir);
});

describe('the name of a table to drop', () => {
  it('may be quoted as in SQL, as one name or layer and table apart', async () => {
    await withEngine(dir, async (engine) => {
      // Tables no model builds: what a model file deleted leaves behind.
      await engine.db.run('CREATE TABLE gold.left_a AS SELECT 1 AS k');
      await engine.db.run('CREATE TABLE gold.left_b AS SELECT 1 AS k UNION ALL SELECT 2');
      // Before: 'No table "gold.left_a" to drop (did you mean "gold.left_a"?)', the same name.
      expect(await engine.dropTable('"gold.left_a"')).toMatchObject({ relation: 'gold.left_a', rows: 1 });
      expect(await engine.dropTable(' "gold"."LEFT_B" ')).toMatchObject({ relation: 'gold.left_b', rows: 2 });
    });
  });

  it('says a first part that is no layer is none, to the app as well', async () => {
    await withEngine(dir, async (engine) => {
      const error = await lakehouseFailure(engine.dropTable('my.prices'));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toBe(
        'No table my.prices to drop: "my" is no layer. Name the table as layer.table, the layer one of bronze, ' +
          'silver, gold, quarantine (a bare name is a gold table): did you mean gold.prices? Tables: gold.prices.',
      );
      expect(error.details).toMatchObject({ relation: 'my.prices', suggestions: ['gold.prices'] });
      expect(await engine.db.scalar('SELECT count(*) FROM gold.prices')).toBe(2);
    });
  });
});
