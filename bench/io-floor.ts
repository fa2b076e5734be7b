// Benchmark worker: the older, approximate I/O floor (sessions 1-24). For each day, plain DuckDB reads the
// same source Parquet and writes its rows three times: as Parquet twice and into a DuckDB table. The
// pipeline's silver rows and fact rows are wider than the source's and it writes more tables, so this
// undercounts the output; io-floor-outputs.ts writes the real output bytes. Kept for comparison.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { literal, openDb } from '../engine/db/duckdb.ts';

const { values } = parseArgs({ options: { source: { type: 'string' }, work: { type: 'string' } } });
if (!values.source || !values.work) throw new Error('--source and --work are required');
await rm(values.work, { recursive: true, force: true });
await mkdir(values.work, { recursive: true });
const db = await openDb(join(values.work, 'floor.duckdb'));
const days = (await readdir(values.source)).filter((d) => /^\d{8}$/.test(d)).sort();
const started = performance.now();
for (const day of days) {
  const input = `read_parquet(${literal(join(values.source, day, '*.parquet'))})`;
  for (const layer of ['bronze', 'silver']) {
    const out = join(values.work, layer, `etl_date=${day}`);
    await mkdir(out, { recursive: true });
    await db.run(
      `COPY (SELECT * FROM ${input}) TO ${literal(join(out, 'part.parquet'))} (FORMAT PARQUET, COMPRESSION snappy)`,
    );
  }
  await db.run(
    day === days[0]
      ? `CREATE TABLE fact AS SELECT * FROM ${input}`
      : `INSERT INTO fact SELECT * FROM ${input}`,
  );
}
const wallMs = performance.now() - started;
db.close();
process.stdout.write(
  `${JSON.stringify({ wallMs, days: days.length, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
