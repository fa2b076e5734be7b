// `npm run bench:small-run [-- --baseline <other checkout>]`: how long the example takes on a small lake
// (3 days of 2,000 events), the size an analyst edits and re-runs a model on, where a run is the engine's
// fixed cost per model and date (bookkeeping, checks, hundreds of small statements), not its row speed.
// Each round runs every date on a fresh copy of one project, in a process of its own (bench/run-project.ts).
// With --baseline, another checkout (a worktree of an older commit, say) runs the same copies,
// alternating, and the ratio is measured side by side.
// Prints medians and writes bench/results/small-run.json.
import { existsSync } from 'node:fs';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchDataset, freshExampleProject } from './datasets.ts';
import { median, runWorker } from './measure.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    baseline: { type: 'string' },
  },
});
const ROOT = resolve(import.meta.dirname, '..');
const DATA = resolve(ROOT, 'bench-data');
const DAYS = 3;
const ROWS_PER_DAY = 2_000;
const rounds = Number(values.rounds);
const baseline = values.baseline ? resolve(values.baseline) : undefined;
if (baseline && !existsSync(join(baseline, 'bench', 'run-project.ts'))) {
  throw new Error(`--baseline ${baseline} is not a checkout of this project (no bench/run-project.ts)`);
}

const data = await benchDataset(DATA, 'small', DAYS, ROWS_PER_DAY);
const template = await freshExampleProject(DATA, 'small-run-template', data);
const scratch = join(DATA, 'projects', 'small-run');

/** Runs every date of a fresh copy of the template with `checkout`'s engine; returns the run's wall time. */
async function timedRun(checkout: string): Promise<number> {
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  await cp(template, scratch, { recursive: true });
  const result = runWorker<{ status: string; wallMs: number }>(
    'run-project.ts',
    ['--project', scratch],
    checkout,
  );
  if (result.status !== 'success') throw new Error(`${checkout}: the run ended ${result.status}`);
  return result.wallMs;
}

const sides = { this: ROOT, ...(baseline ? { baseline } : {}) };
const times: Record<string, number[]> = Object.fromEntries(Object.keys(sides).map((s) => [s, []]));
// One untimed run each: the first start of a checkout compiles and caches its TypeScript.
for (const checkout of Object.values(sides)) await timedRun(checkout);
for (let round = 0; round < rounds; round++) {
  for (const [side, checkout] of Object.entries(sides)) times[side]!.push(await timedRun(checkout));
}
await rm(scratch, { recursive: true, force: true });

const results = Object.fromEntries(
  Object.entries(times).map(([side, ms]) => [side, { medianMs: median(ms), runsMs: ms }]),
);
const line = (side: string) =>
  `${side.padEnd(8)} ${(median(times[side]!) / 1000).toFixed(2)} s (median of ${rounds}: ` +
  `${times[side]!.map((ms) => (ms / 1000).toFixed(2)).join(', ')})`;
process.stdout.write(`== the example on ${DAYS} days of ${ROWS_PER_DAY} events, every date run ==\n`);
for (const side of Object.keys(sides)) process.stdout.write(`  ${line(side)}\n`);
const ratio = baseline ? median(times.this!) / median(times.baseline!) : undefined;
if (ratio !== undefined) process.stdout.write(`  ratio this / baseline ${ratio.toFixed(3)}\n`);
await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
await writeFile(
  join(ROOT, 'bench', 'results', 'small-run.json'),
  `${JSON.stringify({ date: new Date().toISOString(), days: DAYS, rowsPerDay: ROWS_PER_DAY, baseline, results, ratio }, null, 2)}\n`,
);
process.stdout.write('written to bench/results/small-run.json\n');
