import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '../../engine/explore/model-edit.ts';
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
    const line = await editModel(
      dir,
      'gold/dim_platform.sql',
      'FROM silver.customer_search',
      'FORM silver.customer_search',
    );
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
        'note: lakehouse run fails until this model is fixed; the tables read here are the last committed state:\n' +
          `  models/gold/dim_platform.sql:${line}: syntax error at or near "FORM"\n`,
      );
    }
    const tables = JSON.parse(cli('tables', dir, '--json').stdout) as { name: string }[];
    expect(tables.map((t) => t.name)).toContain('gold.dim_platform');
  });

  it("is repaired from the app's model editor: saving the fixed model puts it back in the graph", async () => {
    const dir = await committedProject();
    const path = join(dir, 'models', 'gold', 'dim_platform.sql');
    const good = await readFile(path, 'utf8');
    await editModel(
      dir,
      'gold/dim_platform.sql',
      'FROM silver.customer_search',
      'FORM silver.customer_search',
    );
    await withEngine(dir, async (engine) => {
      expect(engine.modelErrors).toHaveLength(1);
      await saveModel(engine, 'gold.dim_platform', good);
      expect(engine.modelErrors).toEqual([]);
      expect(engine.graph.byId.get('gold.fact_customer_search')?.upstream).toContain('gold.dim_platform');
      expect((await engine.run({ dates: [D2] })).status).toBe('success');
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
