// `npm run bench:history-rerun`: what re-running every date costs the history models (SCD2, bridge)
// and the SCD1 dimensions against re-running their last date alone, on a lake of 31 days of 100,000
// events. A re-run of a committed date replays every date; a run of many dates replays once, on its last
// date, so the ratio stays near 1 however many dates the lake holds (it grew with them when every date
// replayed).
// Prints the figures and writes them to bench/results/history-rerun.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { benchDataset, freshExampleProject } from './datasets.ts';
import { runWorker } from './measure.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DATA = resolve(ROOT, 'bench-data');
const GROUPS = {
  history: ['gold.bridge_user_plan', 'gold.dim_user_history'],
  scd1: [
    'gold.dim_user',
    'gold.dim_platform',
    'gold.dim_network',
    'gold.dim_category',
    'gold.dim_subscription',
  ],
};

const runProject = (args: string[]) =>
  runWorker<{ status: string; wallMs: number; models: Record<string, number> }>('run-project.ts', args);

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const data = await benchDataset(DATA, '31days', 31, 100_000);
const project = await freshExampleProject(DATA, 'history-rerun', data);
process.stdout.write(
  '== re-running the history models and SCD1 dimensions on a 31-day lake (100,000 events a day) ==\n',
);
const build = runProject(['--project', project]);
process.stdout.write(`  build, 31 days: ${build.status} in ${secs(build.wallMs)}\n`);
const results: Record<string, { lastDate: unknown; everyDate: unknown; ratio: number }> = {};
for (const [group, models] of Object.entries(GROUPS)) {
  const select = models.flatMap((m) => ['--select', m]);
  const lastDate = runProject(['--project', project, '--date', '2022-07-01', ...select]);
  const everyDate = runProject(['--project', project, ...select]);
  const ratio = everyDate.wallMs / lastDate.wallMs;
  process.stdout.write(
    `  ${models.join(', ')}: re-run of the last date ${secs(lastDate.wallMs)}, ` +
      `of all 31 dates ${secs(everyDate.wallMs)}; ratio = ${ratio.toFixed(2)}\n`,
  );
  results[group] = { lastDate, everyDate, ratio };
}
await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
await writeFile(
  join(ROOT, 'bench', 'results', 'history-rerun.json'),
  `${JSON.stringify({ build, ...results }, null, 2)}\n`,
);
process.stdout.write('written to bench/results/history-rerun.json\n');
