import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { keyHistory } from '../../engine/explore/history.ts';
import { starOrphans, starSchema } from '../../engine/explore/star-schema.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// A relationships test's `to:` naming the dimension bare (the search path finds it in gold) or in other
// letter case runs in the pipeline; the views that follow the test to its dimension read it alike.

const FACT = 'gold.fact_customer_search';
let work: string;
let engine: Engine;

beforeAll(async () => {
  work = await tempDir('lakehouse-star-edges-');
  const { dir } = await generatedProject(work, 1, 100);
  const file = join(dir, 'models', 'gold', 'fact_customer_search.sql');
  const text = await readFile(file, 'utf8');
  await writeFile(
    file,
    text
      .replace('to: gold.dim_platform', 'to: dim_platform')
      .replace('column: user_id, to: gold.dim_user', 'column: user_id, to: GOLD.Dim_User'),
  );
  const bridge = join(dir, 'models', 'gold', 'bridge_user_plan.sql');
  const bridgeText = await readFile(bridge, 'utf8');
  await writeFile(bridge, bridgeText.replace('to: gold.dim_subscription', 'to: Dim_Subscription'));
  engine = await createEngine({ projectDir: dir });
  expect((await engine.run({})).status).toBe('success');
});

afterAll(async () => {
  engine?.close();
  if (work) await removeDir(work);
});

describe('star schema edges', () => {
  it('include a relationships test whose to: names the dimension bare or in other case', async () => {
    const star = await starSchema(engine);
    const platform = star.edges.find((e) => e.from === FACT && e.column === 'platform_key');
    expect(platform).toMatchObject({
      to: 'gold.dim_platform',
      field: 'platform_key',
      checked: true,
      missing: 0,
    });
    expect(platform?.rows).toBeGreaterThan(0);
    expect(star.edges.find((e) => e.from === FACT && e.column === 'user_id')).toMatchObject({
      to: 'gold.dim_user',
      checked: true,
    });
    const orphans = await starOrphans(engine, {
      from: FACT,
      column: 'platform_key',
      to: 'gold.dim_platform',
      kind: 'all',
      limit: 10,
    });
    expect(orphans.total).toBe(0);
  });
});

describe('the history of a bridge key', () => {
  it('labels each member lane from the dimension its relationships test names bare', async () => {
    const [row] = (await engine.query('SELECT user_id FROM gold.bridge_user_plan LIMIT 1')).rows;
    const history = await keyHistory(engine, { model: 'gold.bridge_user_plan', key: String(row!.user_id) });
    expect(history.lanes.length).toBeGreaterThan(0);
    // `<subscription_key> · <plan name> · <plan type>`, not the bare key.
    for (const lane of history.lanes) expect(lane.label).toMatch(/^\d+ · .+ · .+/);
  });
});
