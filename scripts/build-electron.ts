// `npm run build` (after `vite build`): bundles the Electron main process and preload with esbuild into
// dist/electron. main.js is ESM with the engine inlined and npm packages left to node_modules (DuckDB is
// native); preload.cjs is CommonJS, the only form a sandboxed preload runs.
import { cp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { bundleWorker, PREBUILT_WORKER, readWorkerSources } from '../engine/normalize/parallel-match.ts';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'dist', 'electron');
// The engine finds an example project as ../examples/<name>/ from its own code (engine/project/init.ts):
// beside the bundle in dist/electron, that is dist/examples. The app's first launch builds its demo from it.
const EXAMPLES = join(ROOT, 'dist', 'examples');

await rm(OUT, { recursive: true, force: true });
await rm(EXAMPLES, { recursive: true, force: true });
const started = performance.now();
await build({
  entryPoints: [join(ROOT, 'electron', 'main.ts')],
  outfile: join(OUT, 'main.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
await build({
  entryPoints: [join(ROOT, 'electron', 'preload.ts')],
  outfile: join(OUT, 'preload.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['electron'],
  logLevel: 'warning',
});
// The keyword matcher's worker thread, bundled now and found beside the code that starts it
// (engine/normalize/parallel-match.ts): a packaged app could not run esbuild from inside its archive.
await bundleWorker(await readWorkerSources(join(ROOT, 'engine', 'normalize')), join(OUT, PREBUILT_WORKER));
await cp(join(ROOT, 'engine', 'examples'), EXAMPLES, { recursive: true });
process.stdout.write(
  `built dist/electron/main.js and preload.cjs in ${Math.round(performance.now() - started)} ms\n`,
);
