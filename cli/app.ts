import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LakehouseError } from '../engine/api/errors.ts';
import { PROJECT_FILE } from '../engine/project/config.ts';
import { ELECTRON_MAIN, electronOutdated, rendererOutdated } from './build-state.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));

export interface AppOptions {
  /** The project to open; default ./demo, created and run on first launch. */
  project?: string;
  port: number;
  /** Browser mode even where Electron's binary is installed. */
  browser: boolean;
}

/** Electron's binary, or null where it is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD, CI, these machines). */
export function electronBinary(): string | null {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown;
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

function runStep(what: string, command: string, args: string[]): void {
  process.stderr.write(`${what} ...\n`);
  const result = spawnSync(command, args, { cwd: REPO, stdio: 'inherit' });
  if (result.status !== 0) {
    throw new LakehouseError(
      'INTERNAL',
      `${what} failed (${command} ${args.join(' ')} exited ${result.status}).`,
    );
  }
}

/**
 * `lakehouse app` (what `npm start` runs): opens the desktop app on a project, creating and running the
 * demo first when there is none. Builds the UI bundle and the Electron main code when they are missing
 * or older than their sources.
 * Where Electron's binary is absent it serves the same UI in browser mode and prints the URL.
 */
export async function app(options: AppOptions): Promise<number> {
  const dir = resolve(options.project ?? 'demo');
  if (!existsSync(join(dir, PROJECT_FILE))) {
    if (options.project) {
      throw new LakehouseError(
        'PROJECT_NOT_FOUND',
        `No ${PROJECT_FILE} in ${dir}. Create one: lakehouse init ${dir}`,
      );
    }
    // First launch: the same demo `lakehouse demo` builds (generate a sample, init, run every day).
    runStep('First launch: building the demo project', process.execPath, [
      join(REPO, 'bin', 'lakehouse.js'),
      'demo',
      '--dir',
      dir,
    ]);
  }
  const electron = options.browser ? null : electronBinary();
  if (rendererOutdated() || (electron && electronOutdated())) {
    runStep('Building the app (npm run build)', process.platform === 'win32' ? 'npm.cmd' : 'npm', [
      'run',
      'build',
    ]);
  }
  if (electron) {
    process.stderr.write(`Opening Lakehouse Explorer on ${dir}\n`);
    const child = spawn(electron, [ELECTRON_MAIN, '--project', dir], { stdio: 'inherit' });
    return new Promise((resolveExit) => child.on('exit', (code) => resolveExit(code ?? 0)));
  }
  if (!options.browser) {
    process.stderr.write(
      "Electron's binary is not installed here (ELECTRON_SKIP_BINARY_DOWNLOAD?): starting browser mode instead.\n",
    );
  }
  const { serveUntilStopped } = await import('./serve.ts');
  return serveUntilStopped(dir, options.port);
}
