import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelApplyStarted, ModelDiff } from '../../engine/api/contract.ts';
import { appOnGeneratedProject } from '../helpers/app-dispatcher.ts';
import { lakehouseFailure } from '../helpers/errors.ts';

// The app's dispatcher when calls overlap, as two windows (or the editor and the pipeline view) send them.
describe('dispatcher: calls that overlap a model.apply', () => {
  const app = appOnGeneratedProject('lakehouse-apply-overlap-', 300, { runFirst: true });

  it('refuses a pipeline.run sent while a model.apply saves, so the edit runs (and is diffed) once', async () => {
    const { dir, date, dispatcher, runEnd } = app;
    const file = join(dir, 'models', 'gold', 'dim_date.sql');
    const before = await readFile(file, 'utf8');
    const text = before.replace(/\nSELECT/, '\n-- edited in the app\nSELECT');
    expect(text).not.toBe(before);
    // Sent together: the apply has passed its checks and is writing the file when the run arrives.
    const apply = dispatcher.call('model.apply', {
      model: 'gold.dim_date',
      text,
      base: before,
      dates: [date],
    });
    const run = dispatcher.call('pipeline.run', { dates: [date] });
    // Without the guard the run started too, and the apply's snapshot (taken behind it) diffed nothing.
    const refused = await lakehouseFailure(run);
    expect(refused.code).toBe('RUN_LOCKED');
    expect(refused.details.reason).toBe('apply-in-progress');
    expect(refused.message).toContain('gold.dim_date is being saved and run');
    const started = (await apply) as ModelApplyStarted;
    expect((await runEnd(started.runId)).status).toBe('success');
    expect(await readFile(file, 'utf8')).toBe(text);
    const diff = (await dispatcher.call('model.diff', { runId: started.runId })) as ModelDiff;
    expect(diff.runId).toBe(started.runId);
  });

  it('refuses a second model.apply sent while the first saves, leaving its file as it was', async () => {
    const { dir, date, dispatcher, runEnd } = app;
    const dateFile = join(dir, 'models', 'gold', 'dim_date.sql');
    const networkFile = join(dir, 'models', 'gold', 'dim_network.sql');
    const dateText = await readFile(dateFile, 'utf8');
    const networkBefore = await readFile(networkFile, 'utf8');
    const apply = dispatcher.call('model.apply', {
      model: 'gold.dim_date',
      text: `${dateText}\n-- again\n`,
      base: dateText,
      dates: [date],
    });
    const second = dispatcher.call('model.apply', {
      model: 'gold.dim_network',
      text: `${networkBefore}\n-- edited too\n`,
      base: networkBefore,
      dates: [date],
    });
    const refused = await lakehouseFailure(second);
    expect(refused.code).toBe('RUN_LOCKED');
    expect(await readFile(networkFile, 'utf8')).toBe(networkBefore);
    const started = (await apply) as ModelApplyStarted;
    expect((await runEnd(started.runId)).status).toBe('success');
  });
});
