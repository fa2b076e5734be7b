import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type Dispatcher } from '../../../engine/api/dispatcher.ts';
import { createEngine, type Engine } from '../../../engine/engine.ts';
import { checkLocalWarehouse } from '../../../engine/publish/iceberg/file-io.ts';
import { lakehouseFailure } from '../../helpers/errors.ts';
import { generatedProject, removeDir, tempDir } from '../../helpers/project.ts';

let work: string;
beforeAll(async () => {
  work = await tempDir('iceberg-warehouse-check-');
});
afterAll(() => removeDir(work));

describe('checkLocalWarehouse', () => {
  it('accepts a folder to be created under a writable one, leaving nothing behind', async () => {
    await checkLocalWarehouse(join(work, 'new', 'wh'));
    expect(await readdir(work)).toEqual([]);
  });

  it('refuses a pseudo filesystem (mkdir under /proc never returns)', async () => {
    const failure = await lakehouseFailure(checkLocalWarehouse('/proc/wh'));
    expect(failure.code).toBe('PUBLISH_FAILED');
    expect(failure.message).toMatch(/\/proc\/wh: \/proc is on the proc pseudo filesystem/);
  });

  it('refuses a path through a file', async () => {
    await writeFile(join(work, 'file'), 'x');
    const failure = await lakehouseFailure(checkLocalWarehouse(join(work, 'file', 'wh')));
    expect(failure.message).toContain(`${join(work, 'file')} is a file, not a folder`);
  });
});

describe('publishing to a local folder', () => {
  let engine: Engine;
  let dispatcher: Dispatcher;
  beforeAll(async () => {
    const project = await generatedProject(await tempDir('iceberg-warehouse-project-'), 1, 50);
    engine = await createEngine({ projectDir: project.dir });
    await engine.run();
    dispatcher = createDispatcher(engine);
  }, 120_000);
  afterAll(async () => {
    await dispatcher?.close();
    engine?.close();
  });

  it('preflight and publish refuse /proc before anything, instead of hanging', async () => {
    const preflight = await lakehouseFailure(
      dispatcher.call('publish.iceberg.preflight', { warehouse: '/proc/wh' }),
    );
    expect(preflight.message).toMatch(
      /^Cannot publish to the warehouse folder \/proc\/wh: .*proc pseudo filesystem/,
    );
    const publish = await lakehouseFailure(dispatcher.call('publish.iceberg.run', { warehouse: '/proc/wh' }));
    expect(publish.code).toBe('PUBLISH_FAILED');
  }, 30_000);

  it('the preflight names the absolute folder a relative warehouse resolves to', async () => {
    const preflight = (await dispatcher.call('publish.iceberg.preflight', {
      warehouse: 'relative/wh',
      tables: ['dim_category'],
    })) as { target: string };
    expect(preflight.target).toBe(`file-system warehouse ${resolve('relative/wh')}`);
  });

  it('a run asked for while a publish holds the writer is refused, naming the publish', async () => {
    const warehouse = join(work, 'published');
    await mkdir(warehouse);
    const publish = dispatcher.call('publish.iceberg.run', { warehouse, tables: ['dim_category'] });
    const run = await lakehouseFailure(dispatcher.call('pipeline.run', {}));
    expect(run).toMatchObject({
      code: 'RUN_LOCKED',
      message: `An Iceberg publish to warehouse ${warehouse} is in progress; run the pipeline when it has finished.`,
      details: { reason: 'publish-in-progress', runId: null },
    });
    await publish;
    // Once it has finished, runs start again.
    const started = (await dispatcher.call('pipeline.run', {})) as { runId: string };
    expect(started.runId).toBeTruthy();
  }, 60_000);
});
