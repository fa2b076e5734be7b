import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Whether `npm run build`'s output is older than what it is built from: after a `git pull` or an edit,
// `npm start` and the browser tests rebuild instead of serving yesterday's app.

const REPO = fileURLToPath(new URL('..', import.meta.url));

export const RENDERER_INDEX = join(REPO, 'dist', 'renderer', 'index.html');
export const ELECTRON_MAIN = join(REPO, 'dist', 'electron', 'main.js');

// What each bundle is built from (the renderer shares engine/api's contract; Electron's main bundles the engine).
const RENDERER_INPUTS = ['renderer', 'engine/api', 'vite.config.ts', 'package-lock.json'];
const ELECTRON_INPUTS = ['electron', 'engine', 'scripts/build-electron.ts', 'package-lock.json'];

export function rendererOutdated(): boolean {
  return outdated(RENDERER_INDEX, RENDERER_INPUTS, REPO);
}

export function electronOutdated(): boolean {
  return outdated(ELECTRON_MAIN, ELECTRON_INPUTS, REPO);
}

/** True when `output` is missing or any file under `inputs` (paths from `root`) is newer. */
export function outdated(output: string, inputs: string[], root: string): boolean {
  const built = mtimeOf(output);
  if (built === undefined) return true;
  return inputs.some((input) => newestUnder(join(root, input)) > built);
}

function mtimeOf(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function newestUnder(path: string): number {
  const own = mtimeOf(path);
  if (own === undefined) return 0;
  let newest = own;
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return newest; // a file
  }
  for (const name of names) {
    if (name !== 'node_modules') newest = Math.max(newest, newestUnder(join(path, name)));
  }
  return newest;
}
