import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { initProject } from '../../engine/project/init.ts';
import { type RunningServer, startServer } from '../../server/http-server.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// The contract takes a model text and its base of up to 1,000,000 characters each: the server must take the
// body that carries them, at its largest (every character escaped as \uXXXX in the JSON).
describe('browser mode: the largest model.apply the contract accepts', () => {
  let work: string;
  let engine: Engine;
  let dispatcher: Dispatcher;
  let server: RunningServer;

  beforeAll(async () => {
    work = await tempDir('lakehouse-largest-apply-');
    await initProject({ dir: join(work, 'project'), example: 'customer-search', source: join(work, 'none') });
    engine = await createEngine({ projectDir: join(work, 'project') });
    dispatcher = createDispatcher(engine);
    const staticDir = join(work, 'static');
    await mkdir(staticDir, { recursive: true });
    await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Lakehouse Explorer</title>');
    server = await startServer({ dispatcher, staticDir });
  });
  afterAll(async () => {
    await server?.close();
    await dispatcher?.close();
    engine?.close();
    if (work) await removeDir(work);
  });

  it('reaches the engine, which answers the stale base, instead of a 413', async () => {
    const file = join(work, 'project', 'models', 'gold', 'dim_date.sql');
    const before = await readFile(file, 'utf8');
    const filler = '\u0001'.repeat(1_000_000 - 20);
    const body = JSON.stringify({
      model: 'gold.dim_date',
      text: `SELECT 1 AS x -- ${filler}`.slice(0, 1_000_000),
      base: filler,
    });
    expect(body.length).toBeGreaterThan(11_000_000);
    const response = await fetch(`${server.origin}/rpc/model.apply`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token}` },
      body,
    });
    const error = (await response.json()) as { code: string; message: string };
    expect(response.status, error.message).not.toBe(413);
    // The base is not the file's text: refused, the file left as it was.
    expect(error.code).not.toBe('INVALID_ARGUMENT');
    expect(await readFile(file, 'utf8')).toBe(before);
  });
});
