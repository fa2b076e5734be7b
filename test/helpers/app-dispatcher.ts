import { afterAll, beforeAll, expect } from 'vitest';
import type { RunFinishedEvent } from '../../engine/api/contract.ts';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { generatedProject, removeDir, tempDir } from './project.ts';

/** The app's dispatcher over a generated project of one date, as a describe block's beforeAll leaves it. */
export interface AppOnProject {
  /** The temp folder holding the project. */
  work: string;
  /** The project folder. */
  dir: string;
  /** The project's one date. */
  date: string;
  engine: Engine;
  dispatcher: Dispatcher;
  /** Every run.finished event the dispatcher sent, in order. */
  finished: RunFinishedEvent[];
  /** The summary of run `runId` once its run.finished event came (polled for up to a minute). */
  runEnd(runId: string): Promise<RunFinishedEvent['summary']>;
}

/**
 * Registers a beforeAll that generates a project of one date with `rowsPerDay` rows in a temp folder
 * named `prefix`…, opens an engine on it (running every model first with `runFirst`) and the app's
 * dispatcher over that, listening for run.finished; and an afterAll that closes them and removes the
 * folder. Call it inside a describe block; the fields of the object it returns are filled by its tests.
 */
export function appOnGeneratedProject(
  prefix: string,
  rowsPerDay: number,
  options: { runFirst?: boolean } = {},
): AppOnProject {
  const finished: RunFinishedEvent[] = [];
  const app = {
    finished,
    async runEnd(runId: string) {
      await expect.poll(() => finished.find((e) => e.runId === runId), { timeout: 60_000 }).toBeTruthy();
      return finished.find((e) => e.runId === runId)!.summary;
    },
  } as AppOnProject;

  beforeAll(async () => {
    app.work = await tempDir(prefix);
    const generated = await generatedProject(app.work, 1, rowsPerDay);
    app.dir = generated.dir;
    app.date = generated.dates[0]!;
    app.engine = await createEngine({ projectDir: app.dir });
    if (options.runFirst) expect((await app.engine.run({})).status).toBe('success');
    app.dispatcher = createDispatcher(app.engine);
    app.dispatcher.subscribe((event) => {
      if (event.type === 'run.finished') finished.push(event as RunFinishedEvent);
    });
  });
  afterAll(async () => {
    await app.dispatcher?.close();
    app.engine?.close();
    if (app.work) await removeDir(app.work);
  });

  return app;
}
