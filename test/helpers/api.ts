import { expect } from 'vitest';
import type { Transport } from '../../engine/api/contract.ts';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { LakehouseError } from '../../engine/api/errors.ts';
import { createInProcessTransport } from '../../engine/api/in-process-transport.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { createHttpTransport } from '../../renderer/src/api/http-transport.ts';
import { type RunningServer, startServer } from '../../server/http-server.ts';
import { nodeEventSource } from '../api/node-event-source.ts';
import { generatedProject, removeDir, tempDir } from './project.ts';

/** A generated project behind an engine, its dispatcher and an HTTP server, for contract tests. */
export interface ServedProject {
  work: string;
  projectDir: string;
  dates: string[];
  engine: Engine;
  dispatcher: Dispatcher;
  server: RunningServer;
  /** Stops the server, the dispatcher and the engine, then removes the work folder. */
  close(): Promise<void>;
}

export interface ServedProjectOptions {
  /** Prefix of the temp work folder. */
  prefix: string;
  days: number;
  rowsPerDay: number;
  /** Runs before the dispatcher exists, e.g. to run the pipeline or add tables. */
  prepare?: (engine: Engine, project: { dir: string; dates: string[] }) => Promise<void>;
  /** The folder the server serves as its UI (by default the work folder, which has none). */
  staticDir?: (work: string) => Promise<string>;
}

export async function serveGeneratedProject(options: ServedProjectOptions): Promise<ServedProject> {
  const work = await tempDir(options.prefix);
  let engine: Engine | undefined;
  let dispatcher: Dispatcher | undefined;
  let server: RunningServer | undefined;
  const close = async () => {
    await server?.close();
    await dispatcher?.close();
    engine?.close();
    await removeDir(work);
  };
  try {
    const project = await generatedProject(work, options.days, options.rowsPerDay);
    engine = await createEngine({ projectDir: project.dir });
    await options.prepare?.(engine, project);
    dispatcher = createDispatcher(engine);
    const staticDir = options.staticDir ? await options.staticDir(work) : work;
    server = await startServer({ dispatcher, staticDir });
    return { work, projectDir: project.dir, dates: project.dates, engine, dispatcher, server, close };
  } catch (error) {
    // A failed setup leaves nothing for afterAll to close, so it cleans up here.
    await close();
    throw error;
  }
}

/**
 * The two transports of the contract over one served project, named for describe.each. The project is
 * read when a transport is made (in a test), since describe.each runs before beforeAll starts it.
 */
export function bothTransports(served: () => ServedProject): [string, () => Transport][] {
  return [
    ['in-process', () => createInProcessTransport(served().dispatcher)],
    [
      'http',
      () =>
        createHttpTransport({
          origin: served().server.origin,
          token: served().server.token,
          eventSource: nodeEventSource,
        }),
    ],
  ];
}

/** The LakehouseError a call fails with (the test fails if the call succeeds or fails otherwise). */
export async function rejection(promise: Promise<unknown>): Promise<LakehouseError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LakehouseError);
    return error as LakehouseError;
  }
  throw new Error('expected the call to fail');
}
