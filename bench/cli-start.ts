// `npm run bench:cli-start`: how long a `lakehouse` command takes from start to exit, the bundled CLI
// (bin/cli-bundle.js) against its TypeScript loaded through tsx (LAKEHOUSE_CLI_SOURCE=1), alternating in one
// run. Prints medians and the ratio; writes bench/results/cli-start.json.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from './measure.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' } } });
const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'lakehouse.js');
const DEMO = join(ROOT, 'bench-data', 'cli-start-demo');
const rounds = Number(values.rounds);

const lakehouse = (args: string[], fromSource: boolean) => {
  const env = { ...process.env };
  if (fromSource) env.LAKEHOUSE_CLI_SOURCE = '1';
  else delete env.LAKEHOUSE_CLI_SOURCE;
  const started = performance.now();
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`lakehouse ${args.join(' ')} failed: ${result.stderr}`);
  return performance.now() - started;
};

if (!existsSync(join(DEMO, 'lakehouse.yaml'))) lakehouse(['demo', '--dir', DEMO], false);
// The first bundled start builds the bundle when the sources changed: not part of what is measured.
lakehouse(['--version'], false);

const commands: Record<string, string[]> = {
  '--help': ['--help'],
  tables: ['tables', DEMO],
  'query --json': ['query', DEMO, 'SELECT count(*) AS n FROM fact_customer_search', '--json'],
};
const results: Record<string, { bundledMs: number; sourceMs: number; ratio: number }> = {};
for (const [name, args] of Object.entries(commands)) {
  const bundled: number[] = [];
  const source: number[] = [];
  for (let round = 0; round < rounds; round++) {
    bundled.push(lakehouse(args, false));
    source.push(lakehouse(args, true));
  }
  const entry = {
    bundledMs: median(bundled),
    sourceMs: median(source),
    ratio: median(bundled) / median(source),
  };
  results[name] = entry;
  process.stdout.write(
    `lakehouse ${name.padEnd(13)} bundled ${entry.bundledMs.toFixed(0).padStart(5)} ms, from TypeScript ` +
      `${entry.sourceMs.toFixed(0).padStart(5)} ms (median of ${rounds}); ratio ${entry.ratio.toFixed(2)}\n`,
  );
}
await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
await writeFile(
  join(ROOT, 'bench', 'results', 'cli-start.json'),
  `${JSON.stringify({ date: new Date().toISOString(), rounds, results }, null, 2)}\n`,
);
process.stdout.write('written to bench/results/cli-start.json\n');
