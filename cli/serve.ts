import { join } from 'node:path';
import { exists } from '../engine/project/init.ts';

/**
 * Serves a project's app over HTTP on 127.0.0.1 until Ctrl-C or SIGTERM (`lakehouse serve`, and
 * `lakehouse app` in browser mode). While it runs, the command line's reads of the project go through
 * it (server/discovery.ts): it holds the warehouse open.
 */
export async function serveUntilStopped(dir: string, port: number): Promise<number> {
  const { createEngine } = await import('../engine/engine.ts');
  const { createDispatcher } = await import('../engine/api/dispatcher.ts');
  const { DEFAULT_STATIC_DIR } = await import('../server/http-server.ts');
  const { openForCommandLine } = await import('../server/command-line-access.ts');
  const engine = await createEngine({ projectDir: dir });
  const dispatcher = createDispatcher(engine);
  const access = await openForCommandLine(engine.project.root, dispatcher, { port });
  const { server } = access;
  process.stdout.write(
    `Lakehouse Explorer for ${engine.project.root}\n  open ${server.url}\n  (Ctrl-C stops it)\n`,
  );
  const ui = join(DEFAULT_STATIC_DIR, 'index.html');
  if (!(await exists(ui))) {
    process.stderr.write(
      `note: the UI is not built yet (${ui} is missing): run \`npm run build\`, then reload.\n`,
    );
  }
  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', () => resolveStop());
    process.once('SIGTERM', () => resolveStop());
  });
  await access.close();
  await dispatcher.close();
  engine.close();
  return 0;
}
