import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyHistory } from '../../engine/explore/history.ts';
import { generatedProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

// Before NaN, infinities and integers past 2^53 were logged as JSON strings, SCD1's change log held them
// bare (NaN), which JSON.parse refuses: a warehouse holding such entries must still open the history.

let work: string;
let dir: string;
let user: string;

beforeAll(async () => {
  work = await tempDir('lakehouse-old-change-log-');
  ({ dir } = await generatedProject(work, 1, 100));
  user = await withEngine(dir, async (engine) => {
    expect((await engine.run({})).status).toBe('success');
    const [row] = await engine.reader.allJson<{ key: string }>(
      "SELECT key FROM _lakehouse.scd1_changes WHERE model = 'gold.dim_user' ORDER BY key LIMIT 1",
    );
    const key = row?.key ?? '';
    await engine.db.run(
      `INSERT INTO _lakehouse.scd1_changes SELECT run_id, model, etl_date + 1, key, 'update', 'user_type', 'NaN', 'Infinity', recorded_at
       FROM _lakehouse.scd1_changes WHERE model = 'gold.dim_user' AND key = $key LIMIT 1`,
      { key },
    );
    return key;
  });
});

afterAll(async () => {
  if (work) await removeDir(work);
});

describe('a change log written by an earlier version', () => {
  it('opens the history, showing a value JSON cannot read as its text', async () => {
    const history = await withEngine(dir, (engine) =>
      keyHistory(engine, { model: 'gold.dim_user', key: user }),
    );
    expect(history.changes.at(-1)).toMatchObject({ column: 'user_type', before: 'NaN', after: 'Infinity' });
  });
});
