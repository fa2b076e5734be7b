// Benchmark of generateSample: prints rows/s for 1 x 1M and 10 x 1M rows and writes the figures as JSON.
// Run: npm run bench:generate [-- --rows 1000000 --out <dir> --keep]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openDb } from '../engine/db/duckdb.ts';
import { generateSample } from '../engine/generate/generate.ts';

interface Figure {
  days: number;
  rowsPerDay: number;
  rows: number;
  wallSeconds: number;
  cpuSeconds: number;
  rowsPerSecond: number;
}

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    out: { type: 'string' },
    keep: { type: 'boolean' },
  },
});
const rowsPerDay = Number(values.rows);
const root = values.out ?? (await mkdtemp(join(tmpdir(), 'generate-bench-')));
const figures: Figure[] = [];
const db = await openDb();
try {
  for (const days of [1, 10]) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    const summary = await generateSample(db, { outDir: join(root, `${days}d`), days, rowsPerDay, seed: 1 });
    const wallSeconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const figure: Figure = {
      days,
      rowsPerDay,
      rows: summary.rows,
      wallSeconds: Number(wallSeconds.toFixed(2)),
      cpuSeconds: Number(((used.user + used.system) / 1e6).toFixed(2)),
      rowsPerSecond: Math.round(summary.rows / wallSeconds),
    };
    figures.push(figure);
    console.log(
      `${days} x ${rowsPerDay} rows: ${figure.wallSeconds}s wall, ${figure.cpuSeconds}s CPU, ${figure.rowsPerSecond} rows/s`,
    );
  }
} finally {
  db.close();
}
const resultPath = resolve(import.meta.dirname, 'results', 'generate.json');
await writeFile(resultPath, `${JSON.stringify({ cores: availableParallelism(), figures }, null, 2)}\n`);
if (!values.keep) {
  await rm(join(root, '1d'), { recursive: true, force: true });
  await rm(join(root, '10d'), { recursive: true, force: true });
}
console.log(`figures written to ${resultPath}`);
