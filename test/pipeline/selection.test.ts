import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../engine/engine.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { noDailySourceProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';
import { events, handWrittenProject } from '../helpers/source-files.ts';

const D1 = '2022-06-01';
const D2 = '2022-06-02';

/** Committed partition dates of a lake relation. */
async function partitionDates(engine: Engine, relation: string): Promise<string[]> {
  const { rows } = await engine.query(
    `SELECT strftime(etl_date, '%Y-%m-%d') AS d FROM _lakehouse.partitions WHERE relation = '${relation}' ORDER BY d`,
  );
  return rows.map((r) => String(r.d));
}

describe('a --select run reads what its upstream committed', () => {
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove } = await handWrittenProject({ '20220601': events(12, D1), '20220602': events(12, D2) }, [
      D1,
    ]));
  });

  afterAll(() => remove());

  // A date bronze has no partition for used to commit empty silver and gold results, and silver then
  // had a partition bronze lacked.
  it('refuses a date the left-out upstream has no partition for, naming it and what to run', async () => {
    await withEngine(dir, async (engine) => {
      const runsBefore = (await engine.runs(100)).length;
      const error = await lakehouseFailure(engine.run({ dates: [D2], select: ['silver.customer_search+'] }));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toBe(
        `silver.customer_search, silver.user_plans_map read bronze.customer_search, which has no partition for ${D2} ` +
          `(it has 1 date, from ${D1} to ${D1}).\n` +
          'Nothing ran: the selection leaves out bronze.customer_search, so those dates would commit empty results. ' +
          'Add the upstream models to the selection (+silver.customer_search), run every model, or pick dates the upstream has.',
      );
      expect(error.details).toEqual({ missing: [{ relation: 'bronze.customer_search', dates: [D2] }] });
      expect(await partitionDates(engine, 'silver.customer_search')).toEqual([D1]);
      expect(await engine.runs(100)).toHaveLength(runsBefore);
      // A gold model reading silver's date is refused the same way.
      const gold = await lakehouseFailure(engine.run({ dates: [D2], select: ['gold.dim_user'] }));
      expect(gold.message).toMatch(
        /^gold\.dim_user reads silver\.customer_search, which has no partition for 2022-06-02/,
      );
    });
  });

  it('suggests the closest model for a misspelt selector, keeping its + marks', async () => {
    await withEngine(dir, async (engine) => {
      const misspelt = await lakehouseFailure(
        engine.run({ dates: [D1], select: ['silver.customer_serch+'] }),
      );
      expect(misspelt).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message:
          'No model named "silver.customer_serch" (selected as silver.customer_serch+). Did you mean silver.customer_search+?',
        details: { suggestion: 'silver.customer_search+' },
      });
      // A bare name is matched against bare names, and the suggestion is the model's id.
      const bare = await lakehouseFailure(engine.run({ dates: [D1], select: ['+dim_usr'] }));
      expect(bare.message).toMatch(/Did you mean \+gold\.dim_user\?$/);
      // Nothing close: the list of models.
      const far = await lakehouseFailure(engine.run({ dates: [D1], select: ['zzz'] }));
      expect(far.message).toMatch(
        /^No model named "zzz" \(selected as zzz\)\. Models: bronze\.customer_search, /,
      );
      const doubled = await lakehouseFailure(engine.run({ dates: [D1], select: ['gold.dim_user++'] }));
      expect(doubled.message).toMatch(
        /^"gold\.dim_user\+\+" is no model selector: a selector is a model name/,
      );
    });
  });

  it('runs a selection whose upstream has the date, a table model, and the upstream with it', async () => {
    await withEngine(dir, async (engine) => {
      const padded = await engine.run({ dates: [D1], select: [' silver.customer_search+ '] });
      expect(padded.status).toBe('success');
      expect((await engine.runs(1))[0]?.selection).toBe('silver.customer_search+');
      // dim_date is rebuilt from all of silver, not from a date's partition.
      expect((await engine.run({ dates: [D2], select: ['gold.dim_date'] })).status).toBe('success');
      const silver = ['+silver.customer_search', '+silver.user_plans_map'];
      expect((await engine.run({ dates: [D2], select: silver })).status).toBe('success');
      expect(await partitionDates(engine, 'silver.customer_search')).toEqual([D1, D2]);
      expect((await engine.run({ dates: [D2], select: ['gold.dim_user+'] })).status).toBe('success');
    });
  });

  it('says which downstream models a selection left holding the date as the previous version gave it', async () => {
    await withEngine(dir, async (engine) => {
      // D1 has run in full above: silver alone again leaves its downstream models as they were.
      const alone = await engine.run({ dates: [D1], select: ['silver.customer_search'] });
      expect(alone.status).toBe('success');
      const notes = alone.models.find((m) => m.model === 'silver.customer_search')!.warnings;
      const stale = notes.find((n) => n.startsWith('not run with it: '));
      expect(stale).toMatch(/^not run with it: (\w+\.\w+, )+\w+\.\w+ hold /);
      expect(stale).toContain(
        ` hold ${D1} as the previous silver.customer_search gave it; select silver.customer_search+ to run them too`,
      );
      for (const id of ['silver.user_plans_map', 'gold.dim_user_history', 'gold.fact_customer_search'])
        expect(stale).toContain(id);
      expect(stale).toContain('gold.dim_user');
      // Nothing to say when the selection takes them along, or when they never ran on the date.
      const along = await engine.run({ dates: [D1], select: ['silver.customer_search+'] });
      expect(along.models.flatMap((m) => m.warnings).filter((n) => n.startsWith('not run with it'))).toEqual(
        [],
      );
      const gold = await engine.run({ dates: [D1], select: ['gold.dim_platform'] });
      expect(gold.models.flatMap((m) => m.warnings).filter((n) => n.startsWith('not run with it'))).toEqual([
        `not run with it: gold.fact_customer_search holds ${D1} as the previous gold.dim_platform gave it; select gold.dim_platform+ to run it too`,
      ]);
    });
  });
});

describe('a project without a daily source', () => {
  it('asks for the dates to run instead of looking for day folders it cannot have', async () => {
    const dir = await tempDir('lakehouse-no-daily-');
    try {
      await noDailySourceProject(dir, ['a,1']);
      await withEngine(dir, async (engine) => {
        const failure = await lakehouseFailure(engine.run({}));
        expect(failure.code).toBe('SOURCE_MISSING');
        expect(failure.message).toMatch(/no daily_parquet source to take dates from: pass --date YYYY-MM-DD/);
        expect((await engine.run({ dates: [D1] })).status).toBe('success');
      });
    } finally {
      await removeDir(dir);
    }
  });
});

describe('a model file named with capitals', () => {
  it('is the model its readers and selectors name in any case, keeping the name its tables have', async () => {
    const dir = await tempDir('lakehouse-capitals-');
    try {
      await writeFile(join(dir, 'lakehouse.yaml'), 'name: capitals\nsources: {}\n');
      await mkdir(join(dir, 'models', 'gold'), { recursive: true });
      await writeFile(
        join(dir, 'models', 'gold', 'My-Model.sql'),
        '/* config\nmaterialized: table\n*/\nSELECT 1 AS x\n',
      );
      await writeFile(
        join(dir, 'models', 'gold', 'reader.sql'),
        '/* config\nmaterialized: table\n*/\nSELECT x + 1 AS y FROM gold."My-Model"\n',
      );
      await withEngine(dir, async (engine) => {
        // Kept as the file names it: a lake built before keys its partitions and records so.
        expect(engine.graph.nodes.map((n) => n.model.id)).toEqual(['gold.My-Model', 'gold.reader']);
        expect(engine.graph.byId.get('gold.reader')?.upstream).toEqual(['gold.My-Model']);
        const selected = await engine.run({ dates: [D1], select: ['gold.my-model+'] });
        expect(selected.error?.message ?? selected.status).toBe('success');
        expect(selected.models.map((m) => m.model)).toEqual(['gold.My-Model', 'gold.reader']);
        // Built again in a second run: the reader finds the table the first one left.
        expect((await engine.run({ dates: [D1] })).status).toBe('success');
        expect((await engine.query('SELECT y FROM reader')).rows).toEqual([{ y: 2 }]);
      });
    } finally {
      await removeDir(dir);
    }
  });
});

describe('a selection that leaves out a table no run has built', () => {
  it('is refused before anything runs, naming the selection that builds it', async () => {
    const dir = await tempDir('lakehouse-unbuilt-');
    try {
      await writeFile(join(dir, 'lakehouse.yaml'), 'name: unbuilt\nsources: {}\n');
      await mkdir(join(dir, 'models', 'gold'), { recursive: true });
      await writeFile(
        join(dir, 'models', 'gold', 'base.sql'),
        '/* config\nmaterialized: table\n*/\nSELECT 1 AS x\n',
      );
      await writeFile(
        join(dir, 'models', 'gold', 'top.sql'),
        '/* config\nmaterialized: table\n*/\nSELECT x + 1 AS y FROM gold.base\n',
      );
      await withEngine(dir, async (engine) => {
        const refused = await lakehouseFailure(engine.run({ dates: [D1], select: ['gold.top'] }));
        expect(refused).toMatchObject({
          code: 'INVALID_ARGUMENT',
          message:
            'gold.top reads gold.base, which no run has built yet.\nNothing ran: add the upstream models to the ' +
            'selection (+gold.top) or run every model.',
        });
        expect((await engine.run({ dates: [D1], select: ['+gold.top'] })).status).toBe('success');
        // Built once, the table can be read by a selection that leaves its model out.
        expect((await engine.run({ dates: [D1], select: ['gold.top'] })).status).toBe('success');
      });
    } finally {
      await removeDir(dir);
    }
  });
});
