import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lakehouseFailure } from '../helpers/errors.ts';
import { removeDir, tempDir, withEngine } from '../helpers/project.ts';
import { exampleProjectForSuite } from '../helpers/source-files.ts';

// What a run says when it refuses its dates or selection before starting, and what a failed date records.

const D1 = '2022-06-01';
const D2 = '2022-06-02';

// The example on one delivered day (2022-06-01), nothing run yet.
describe('dates and selections a run refuses, said in words that fit the run', () => {
  const project = exampleProjectForSuite();

  // A range over decades listed each of its 36,000 undelivered days: a 400 kB error.
  it('names a long range of undelivered days as ranges, not day by day', async () => {
    await withEngine(project.dir, async (engine) => {
      const failure = await lakehouseFailure(engine.run({ from: '2000-01-01', to: '2100-01-01' }));
      expect(failure.code).toBe('SOURCE_MISSING');
      expect(failure.message).toMatch(
        /^This run's dates include days no source delivered: 2000-01-01 \.\. 2022-05-31 \(8187 days\), 2022-06-02 \.\. 2100-01-01 \(28338 days\) \(source "customer_search_log"/,
      );
      expect(failure.message.length).toBeLessThan(1000);
      expect(await engine.runs(1)).toEqual([]);
    });
  });

  // Only one bound given, the other is the sources' day: the error named a flag never typed.
  it('says which bound a one-sided range is out of, without naming a flag not given', async () => {
    await withEngine(project.dir, async (engine) => {
      const late = await lakehouseFailure(engine.run({ from: '2022-06-10' }));
      expect(late).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: `--from 2022-06-10 is after the sources' last day, ${D1}: no date to run. Pass a --from up to ${D1}.`,
      });
      const early = await lakehouseFailure(engine.run({ to: '2022-05-01' }));
      expect(early.message).toBe(
        `--to 2022-05-01 is before the sources' first day, ${D1}: no date to run. Pass a --to from ${D1} on.`,
      );
    });
  });

  // A `table` model reads its partitioned upstream whole; with no partition yet its view does not exist,
  // and the run failed on DuckDB's "Table with name customer_search does not exist!", recorded as failed.
  it('refuses a table model whose left-out partitioned upstream was never built', async () => {
    await withEngine(project.dir, async (engine) => {
      const refused = await lakehouseFailure(engine.run({ dates: [D1], select: ['gold.dim_date'] }));
      expect(refused).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message:
          'gold.dim_date reads silver.customer_search, which no run has built yet.\nNothing ran: add the ' +
          'upstream models to the selection (+gold.dim_date) or run every model.',
      });
      expect(await engine.runs(1)).toEqual([]);
      expect((await engine.run({ dates: [D1], select: ['+gold.dim_date'] })).status).toBe('success');
      expect((await engine.run({ dates: [D1], select: ['gold.dim_date'] })).status).toBe('success');
    });
  });
});

/** A project of gold table models with no daily source: `files` maps a model name to its file text. */
async function tableProject(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('lakehouse-table-project-');
  await writeFile(join(dir, 'lakehouse.yaml'), 'name: table-project\nsources: {}\n');
  await mkdir(join(dir, 'models', 'gold'), { recursive: true });
  for (const [name, text] of Object.entries(files))
    await writeFile(join(dir, 'models', 'gold', `${name}.sql`), text);
  return dir;
}

describe("a failed date's records", () => {
  // c reads b, which reads a: c was "skipped: upstream gold.b failed", though b was only skipped.
  it('name the failed model, not a skipped one, as what stopped a model further down', async () => {
    const dir = await tableProject({
      a: '/* config\nmaterialized: table\ntests:\n  - not_null: x\n*/\nSELECT NULL::INTEGER AS x\n',
      b: '/* config\nmaterialized: table\n*/\nSELECT x FROM gold.a\n',
      c: '/* config\nmaterialized: table\n*/\nSELECT x FROM gold.b\n',
    });
    try {
      await withEngine(dir, async (engine) => {
        const summary = await engine.run({ dates: [D1] });
        expect(summary.error?.code).toBe('TEST_FAILED');
        expect(summary.models.map((m) => [m.model, m.status, m.error])).toEqual([
          ['gold.a', 'failed', 'test not_null(x): 1 failing row'],
          ['gold.b', 'skipped', 'skipped: upstream gold.a failed'],
          ['gold.c', 'skipped', 'skipped: upstream gold.a failed'],
        ]);
      });
    } finally {
      await removeDir(dir);
    }
  });

  // The model whose SQL raised got an empty record: 0 ms in the history, whatever it ran for.
  it('give the model that raised the time it ran, and its error a stop before the dates accounted', async () => {
    const dir = await tableProject({
      slow: `/* config\nmaterialized: table\n*/\nSELECT s, CASE WHEN getvariable('etl_date') = DATE '${D2}' THEN error('boom on ' || getvariable('etl_date')) END AS x\nFROM (SELECT sum(i) AS s FROM range(30000000) t(i))\n`,
    });
    try {
      await withEngine(dir, async (engine) => {
        const summary = await engine.run({ dates: [D1, D2] });
        expect(summary.error?.code).toBe('MODEL_SQL_ERROR');
        // DuckDB's message has no stop of its own: the sentence after it ran on as part of it.
        expect(summary.error?.message).toContain(
          `boom on ${D2}. Of this run's dates, ${D1} had been committed and stay; ${D2} was not.`,
        );
        const failed = summary.models.find((m) => m.etlDate === D2);
        expect(failed?.status).toBe('failed');
        expect(failed?.durationMs).toBeGreaterThan(0);
        const [latest] = await engine.runs(1);
        const recorded = latest?.models.find((m) => m.etlDate === D2);
        expect(recorded?.durationMs).toBe(failed?.durationMs);
      });
    } finally {
      await removeDir(dir);
    }
  });
});
