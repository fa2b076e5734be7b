import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MethodName, MethodOutput } from '../../engine/api/contract.ts';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { rejection } from '../helpers/api.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// The app keeps a project open: a publish target added to lakehouse.yaml meanwhile, as the docs say to
// do for a server the URL field may not name, is found without restarting it.

let work: string;
let dir: string;
let engine: Engine;
let dispatcher: Dispatcher;
const call = <M extends MethodName>(method: M, input: unknown) =>
  dispatcher.call(method, input) as Promise<MethodOutput<M>>;

beforeAll(async () => {
  work = await tempDir('publish-targets-reload-');
  const project = await generatedProject(work, 1, 200);
  dir = project.dir;
  engine = await createEngine({ projectDir: dir });
  await engine.run({ dates: project.dates });
  dispatcher = createDispatcher(engine);
}, 120_000);

afterAll(async () => {
  await dispatcher?.close();
  engine?.close();
  await removeDir(work);
});

describe('publish targets added to lakehouse.yaml while the project is open', () => {
  it('are found by the next preflight, for Iceberg and for Redshift', async () => {
    // Said to the app as well as to the CLI: not only in the CLI's flags.
    expect(await rejection(call('publish.iceberg.preflight', { catalog: 'added' }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining(`the app's "Warehouse folder" target`),
    });
    expect(await rejection(call('publish.redshift.preflight', { target: 'added' }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('or the URL field of the app'),
    });
    await appendFile(
      join(dir, 'lakehouse.yaml'),
      [
        'publish:',
        '  iceberg:',
        '    added: { type: filesystem, warehouse: added-warehouse }',
        '  redshift:',
        // Nothing listens on port 1: reaching the connection shows the target was found.
        '    added: { kind: postgres, host: 127.0.0.1, port: 1, database: warehouse, user: analyst }',
        '',
      ].join('\n'),
    );
    const preflight = await call('publish.iceberg.preflight', { catalog: 'added' });
    expect(preflight.target).toContain(join(dir, 'added-warehouse'));
    expect(await rejection(call('publish.redshift.preflight', { target: 'added' }))).toMatchObject({
      code: 'PUBLISH_FAILED',
      message: expect.stringMatching(/^Cannot connect to analyst@127\.0\.0\.1:1\/warehouse/),
    });
  }, 120_000);
});
