import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelApplyStarted, ModelSource, ProjectInfo } from '../../engine/api/contract.ts';
import { appOnGeneratedProject } from '../helpers/app-dispatcher.ts';

// A model file whose header an editor broke while the app is open: the app must still list, open, fix and
// save it, rather than drop it from every view until a run fails with MODEL_INVALID.
describe('the app on a model file whose header does not parse', () => {
  const app = appOnGeneratedProject('lakehouse-broken-model-file-', 200, { runFirst: true });

  it('lists it with its error, opens it by name, and saves and runs its fix', async () => {
    const { dir, date, dispatcher, runEnd } = app;
    const file = join(dir, 'models', 'gold', 'dim_network.sql');
    const good = await readFile(file, 'utf8');
    const broken = good.replace(/materialized: \w+/, 'materialized: scd9');
    await writeFile(file, broken);

    const info = (await dispatcher.call('project.info', {})) as ProjectInfo;
    expect(info.models.map((m) => m.id)).not.toContain('gold.dim_network');
    expect(info.brokenModels).toEqual([
      {
        id: 'gold.dim_network',
        layer: 'gold',
        file: 'models/gold/dim_network.sql',
        error: expect.objectContaining({ code: 'MODEL_INVALID' }),
      },
    ]);
    expect(info.brokenModels[0]!.error.message).toContain('models/gold/dim_network.sql:2');
    expect(info.brokenModels[0]!.error.message).toContain('"scd9" is not valid (did you mean "scd1"?)');

    // It answered "No model named gold.dim_network".
    const source = (await dispatcher.call('model.source', { model: 'gold.dim_network' })) as ModelSource;
    expect(source.text).toBe(broken);
    expect(source.file).toBe('models/gold/dim_network.sql');
    expect(source.sqlStartLine).toBe(good.split('*/')[0]!.split('\n').length + 1);

    // Saving it broken still says why; the file is left as it was.
    await expect(
      dispatcher.call('model.apply', { model: 'gold.dim_network', text: `${broken}\n`, base: broken }),
    ).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    expect(await readFile(file, 'utf8')).toBe(broken);

    const preview = await dispatcher.call('model.preview', { model: 'gold.dim_network', text: good, date });
    expect((preview as { rows: unknown[] }).rows.length).toBeGreaterThan(0);

    const started = (await dispatcher.call('model.apply', {
      model: 'gold.dim_network',
      text: good,
      base: broken,
      dates: [date],
    })) as ModelApplyStarted;
    expect(started.tables).toContain('gold.dim_network');
    expect((await runEnd(started.runId)).status).toBe('success');
    expect(await readFile(file, 'utf8')).toBe(good);
    const fixed = (await dispatcher.call('project.info', {})) as ProjectInfo;
    expect(fixed.brokenModels).toEqual([]);
    expect(fixed.models.map((m) => m.id)).toContain('gold.dim_network');
  });
});
