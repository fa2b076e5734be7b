import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewModel, saveModel } from '../../engine/explore/model-edit.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { exampleProject, PROJECT_ROOT, removeDir, tempDir, withEngine } from '../helpers/project.ts';
import { events, writeCatalog, writeDay } from '../helpers/source-files.ts';

// The edit-and-re-run loop: an analyst breaks a model while changing it, and must still be able to read
// what was committed, and get a clear, recorded failure from a run.

const D1 = '2022-06-01';
const D2 = '2022-06-02';

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['bin/lakehouse.js', ...args], { cwd: PROJECT_ROOT, encoding: 'utf8' });
}

/** Replaces `from` (which must occur once) in a model file of the project; returns the line it is on. */
async function editModel(dir: string, model: string, from: string, to: string): Promise<number> {
  const path = join(dir, 'models', model);
  const text = await readFile(path, 'utf8');
  expect(text.split(from)).toHaveLength(2);
  const edited = text.replace(from, to);
  await writeFile(path, edited);
  return edited.slice(0, edited.indexOf(to)).split('\n').length;
}

describe('a project with a broken model', () => {
  let src: string;
  let catalog: string;
  const dirs: string[] = [];

  beforeAll(async () => {
    src = await tempDir('lakehouse-src-');
    await writeDay(src, '20220601', events(12, D1));
    await writeDay(src, '20220602', events(12, D2));
    catalog = await writeCatalog(join(src, 'titles.csv'));
  });

  afterAll(async () => {
    for (const d of dirs) await removeDir(d);
    await removeDir(src);
  });

  /** A syntax error in gold/dim_platform.sql (FORM for FROM); returns the line of the edit. */
  const breakDimPlatform = (dir: string) =>
    editModel(dir, 'gold/dim_platform.sql', 'FROM silver.customer_search', 'FORM silver.customer_search');

  /** The example project with D1 committed. */
  const committedProject = async () => {
    const dir = await exampleProject(src, catalog);
    dirs.push(dir);
    await withEngine(dir, async (engine) => {
      expect((await engine.run({ dates: [D1] })).status).toBe('success');
    });
    return dir;
  };

  it('still opens for reads: query, tables and runs show the committed state', async () => {
    const dir = await committedProject();
    const line = await breakDimPlatform(dir);
    await withEngine(
      dir,
      async (engine) => {
        expect(engine.modelErrors).toHaveLength(1);
        expect(engine.modelErrors[0]).toMatchObject({
          code: 'MODEL_SQL_ERROR',
          message: `models/gold/dim_platform.sql:${line}: syntax error at or near "FORM"`,
          details: { file: 'models/gold/dim_platform.sql', line, model: 'gold.dim_platform' },
        });
        // Left out of the graph, and so are the edges to it; every other model is there.
        expect(engine.graph.byId.has('gold.dim_platform')).toBe(false);
        expect(engine.graph.byId.get('gold.fact_customer_search')?.upstream).not.toContain(
          'gold.dim_platform',
        );
        expect(engine.graph.nodes).toHaveLength(12);
        const { rows } = await engine.query('SELECT count(*) AS n FROM dim_platform');
        expect(Number(rows[0]?.n)).toBeGreaterThan(1);
        // The broken model's table is still listed as built by its file.
        const platform = (await engine.tables()).find((t) => t.name === 'gold.dim_platform');
        expect(platform).toMatchObject({ model: 'models/gold/dim_platform.sql', materialized: 'scd1' });
        expect((await engine.runs(1))[0]?.status).toBe('success');
      },
      true,
    );

    for (const [command, ...rest] of [['runs'], ['tables', '--json'], ['query', 'SELECT 1 AS x']]) {
      const result = cli(command ?? '', dir, ...rest);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toBe(
        'note: lakehouse run fails until this is fixed; the tables read here are the last committed state:\n' +
          `  models/gold/dim_platform.sql:${line}: syntax error at or near "FORM"\n`,
      );
    }
    const tables = JSON.parse(cli('tables', dir, '--json').stdout) as { name: string }[];
    expect(tables.map((t) => t.name)).toContain('gold.dim_platform');
  });

  it('fails a run with the model error, recorded in the history, and run --json prints its object', async () => {
    const dir = await committedProject();
    const line = await breakDimPlatform(dir);
    const message = `models/gold/dim_platform.sql:${line}: syntax error at or near "FORM"`;
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: [D2] });
      expect(summary).toMatchObject({
        status: 'failed',
        dates: [D2],
        error: { code: 'MODEL_SQL_ERROR', message, details: { model: 'gold.dim_platform', line } },
      });
      // The broken model failed, the others did not run; as the history keeps a bad source's run.
      expect(summary.models[0]).toMatchObject({
        model: 'gold.dim_platform',
        status: 'failed',
        error: message,
      });
      expect(summary.models.slice(1).map((m) => m.status)).toEqual(Array(12).fill('skipped'));
      expect(summary.models[1]?.error).toBe(`not run: ${message}`);
      const [latest] = await engine.runs(1);
      expect(latest).toMatchObject({ runId: summary.runId, status: 'failed', dates: D2, error: message });
      expect(latest?.models.filter((m) => m.status === 'failed').map((m) => m.model)).toEqual([
        'gold.dim_platform',
      ]);
    });

    const result = cli('run', dir, '--date', D2, '--json');
    expect(result.status).toBe(1);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(printed).sort()).toEqual([
      'dates',
      'durationMs',
      'error',
      'models',
      'runId',
      'status',
    ]);
    expect(printed).toMatchObject({
      status: 'failed',
      dates: [D2],
      error: { code: 'MODEL_SQL_ERROR', message },
    });
    const history = JSON.parse(cli('runs', dir, '--json', '--limit', '1').stdout) as { runId: string }[];
    expect(history[0]?.runId).toBe(printed.runId);
  });

  it('records each model of a cycle as failed', async () => {
    const dir = await committedProject();
    const table = (sql: string) => `/* config\nmaterialized: table\n*/\n${sql}\n`;
    await writeFile(join(dir, 'models', 'gold', 'cycle_a.sql'), table('SELECT * FROM gold.cycle_b'));
    await writeFile(join(dir, 'models', 'gold', 'cycle_b.sql'), table('SELECT * FROM gold.cycle_a'));
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: [D2], select: ['gold.cycle_a+'] });
      expect(summary.error?.code).toBe('MODEL_CYCLE');
      expect(summary.models.map((m) => [m.model, m.status])).toEqual([
        ['gold.cycle_a', 'failed'],
        ['gold.cycle_b', 'failed'],
      ]);
    });
  });

  it('run --json prints its object with a null runId when the run is refused before it starts', async () => {
    const dir = await committedProject();
    const result = cli('run', dir, '--date', '2022-6-2', '--json');
    expect(result.status).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({
      runId: null,
      status: 'failed',
      dates: [],
      models: [],
      error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^--date 2022-6-2: expected/) },
    });
    expect(result.stderr).toMatch(/^error \[INVALID_ARGUMENT\]: --date 2022-6-2/);
  });

  it("is repaired from the app's model editor: saving the fixed model puts it back in the graph", async () => {
    const dir = await committedProject();
    const path = join(dir, 'models', 'gold', 'dim_platform.sql');
    const good = await readFile(path, 'utf8');
    await breakDimPlatform(dir);
    await withEngine(dir, async (engine) => {
      expect(engine.modelErrors).toHaveLength(1);
      await saveModel(engine, 'gold.dim_platform', good);
      expect(engine.modelErrors).toEqual([]);
      expect(engine.graph.byId.get('gold.fact_customer_search')?.upstream).toContain('gold.dim_platform');
      expect((await engine.run({ dates: [D2] })).status).toBe('success');
    });
  });

  // Only DuckDB's first line was kept, so its hint for a misspelt table was lost; the lines after the hints
  // quote the engine's wrapper statement, which the user never wrote.
  it("names a misspelt layer table with the closest one, and keeps DuckDB's hints in a model's SQL error", async () => {
    const dir = await committedProject();
    const path = join(dir, 'models', 'gold', 'dim_platform.sql');
    const line = await editModel(
      dir,
      'gold/dim_platform.sql',
      'FROM silver.customer_search',
      'FROM silver.customer_searh',
    );
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: [D1] });
      // Said when the project loads, before any model of the date runs.
      expect(summary.error).toMatchObject({
        code: 'MODEL_INVALID',
        message:
          `models/gold/dim_platform.sql:${line}: reads silver.customer_searh, which no model builds and no table ` +
          'holds (did you mean "silver.customer_search"?). Fix the name, or add models/silver/customer_searh.sql.',
        details: { line, model: 'gold.dim_platform' },
      });
      expect(summary.models.every((m) => m.status !== 'success')).toBe(true);
      // The same in the app's preview of an edit, and a binder error keeps its candidate columns.
      const misspeltColumn = (await readFile(path, 'utf8'))
        .replace('FROM silver.customer_searh', 'FROM silver.customer_search')
        .replace('SELECT DISTINCT platform,', 'SELECT DISTINCT platfrm,');
      const preview = await lakehouseFailure(
        previewModel(engine, { model: 'gold.dim_platform', text: misspeltColumn, limit: 5 }),
      );
      expect(preview.message).toMatch(
        new RegExp(
          `^models/gold/dim_platform\\.sql:${line - 1}: Binder Error: Referenced column "platfrm" not found in FROM clause!\nCandidate bindings: "platform"`,
        ),
      );
      for (const message of [summary.error?.message, preview.message])
        expect(message).not.toMatch(/LINE \d|DESCRIBE|\^/);
    });
  });

  it('lists the table of a model whose config header does not parse as built by that file', async () => {
    const dir = await committedProject();
    await editModel(dir, 'gold/dim_platform.sql', 'materialized: scd1', 'materialized: scd9');
    await withEngine(
      dir,
      async (engine) => {
        expect(engine.modelErrors[0]).toMatchObject({
          code: 'MODEL_INVALID',
          details: { file: 'models/gold/dim_platform.sql', model: 'gold.dim_platform' },
        });
        expect(engine.models.map((m) => m.id)).not.toContain('gold.dim_platform');
        const platform = (await engine.tables()).find((t) => t.name === 'gold.dim_platform');
        expect(platform).toMatchObject({ model: 'models/gold/dim_platform.sql', materialized: null });
      },
      true,
    );
  });
});
