import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drop } from '../../cli/project-commands.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { noDailySourceProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

// `lakehouse drop <project> my.table`: the first part of the name is read as its layer, so a name whose
// first part is no layer says so, with the layers and the tables there are. Called in process: no spawn.

let dir: string;
beforeAll(async () => {
  dir = await tempDir('lakehouse-drop-layer-');
  await noDailySourceProject(dir);
  await withEngine(dir, async (engine) => {
    expect((await engine.run({ dates: ['2024-01-01'] })).status).toBe('success');
  });
});
afterAll(async () => {
  if (dir) await removeDir(dir);
});

const dropping = (name: string) => drop({ values: {}, positionals: [dir, name] });

describe('lakehouse drop of a name whose first part is no layer', () => {
  it('says it is no layer, names the layers, and offers the table of that name', async () => {
    const error = await lakehouseFailure(dropping('my.prices'));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe(
      'No table my.prices to drop: "my" is no layer. Name the table as layer.table, the layer one of bronze, ' +
        'silver, gold, quarantine (a bare name is a gold table): did you mean gold.prices? Tables: gold.prices.',
    );
    expect(error.details).toMatchObject({ relation: 'my.prices', suggestions: ['gold.prices'] });
  });

  it('lists the tables there are when none has the name', async () => {
    const error = await lakehouseFailure(dropping('my.table'));
    expect(error.message).toMatch(
      /^No table my\.table to drop: "my" is no layer\. .*\. Tables: gold\.prices\.$/,
    );
    // The table is still there: nothing was dropped.
    await withEngine(dir, async (engine) => {
      expect(await engine.db.scalar('SELECT count(*) FROM gold.prices')).toBe(2);
    });
  });
});
