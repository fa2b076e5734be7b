import type { Dispatcher } from '../engine/api/dispatcher.ts';
import { registerServer } from './discovery.ts';
import { type RunningServer, startServer } from './http-server.ts';

export interface CommandLineAccess {
  server: RunningServer;
  /** Removes the record, then stops the server (the dispatcher stays open). */
  close(): Promise<void>;
}

/**
 * While the app holds a project's warehouse open, the command line cannot open it: the app serves its
 * API on 127.0.0.1 (per-launch token) and records where, in a folder only this user can read, so
 * `lakehouse tables`, `runs` and `query` read through it. Browser mode and the desktop window alike.
 */
export async function openForCommandLine(
  projectRoot: string,
  dispatcher: Dispatcher,
  options: { port?: number; staticDir?: string } = {},
): Promise<CommandLineAccess> {
  const server = await startServer({
    dispatcher,
    port: options.port ?? 0,
    ...(options.staticDir ? { staticDir: options.staticDir } : {}),
  });
  const unregister = await registerServer(projectRoot, server).catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  return {
    server,
    async close() {
      await unregister();
      await server.close();
    },
  };
}
