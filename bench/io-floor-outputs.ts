// Benchmark worker: the I/O floor as the issue defines it, measured on a project the pipeline has just built:
// the time plain DuckDB needs to read the same input and write the same output bytes. For each day it reads
// the source Parquet into the bronze partition with the two columns bronze adds, and writes every other
// partition of that day and the day's appended fact rows; then every other warehouse table once, as it ends.
// The rows to write are loaded into memory first, untimed, so only the read of the input and the writes count.
// A pipeline rewrites dimensions every day; writing their final bytes once keeps this a lower bound.
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { applyWriteSettings, ident, literal, openDb } from '../engine/db/duckdb.ts';
import { PARTITION_WRITE_OPTIONS } from '../engine/lake/partitions.ts';
import { statementTimer } from './measure.ts';

const { values } = parseArgs({
  options: { source: { type: 'string' }, project: { type: 'string' }, work: { type: 'string' } },
});
if (!values.source || !values.project || !values.work)
  throw new Error('--source, --project and --work are required');
const { source, project, work } = values as Record<'source' | 'project' | 'work', string>;
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const db = await openDb(join(work, 'floor.duckdb'));
// Written as the engine writes (row order, compression): other settings would write other bytes, and
// DuckDB's defaults are slower (up to a quarter of the floor), which would flatter the ratio.
await applyWriteSettings(db);
await db.run(`ATTACH ${literal(join(project, 'warehouse.duckdb'))} AS built (READ_ONLY)`);

const { ms: msByOutput, run: timed } = statementTimer(db);

const partitions = await db.all<{ relation: string; day: string; path: string }>(
  `SELECT relation, strftime(etl_date, '%Y-%m-%d') AS day, path FROM built._lakehouse.partitions ORDER BY etl_date, relation`,
);
const appendedModels = (
  await db.all<{ model: string }>('SELECT DISTINCT model FROM built._lakehouse.append_keys')
).map((r) => r.model);
const days = [...new Set(partitions.map((p) => p.day))];
// The floor's tables made so far: an appended model's first day creates its table, later days insert.
const created = new Set<string>();
const outFile = async (relation: string, day: string) => {
  const file = join(work, ...relation.split('.'), `etl_date=${day}`, 'part.parquet');
  await mkdir(dirname(file), { recursive: true });
  return literal(file);
};

for (const day of days) {
  const input = `read_parquet(${literal(join(source, day.replaceAll('-', ''), '*.parquet'))}, filename = true)`;
  await timed(
    'bronze.customer_search',
    `COPY (SELECT * EXCLUDE (filename), filename AS source_file, ${literal(day)}::DATE AS etl_date FROM ${input})
     TO ${await outFile('bronze.customer_search', day)} (${PARTITION_WRITE_OPTIONS})`,
  );
  for (const p of partitions.filter((p) => p.day === day && !p.relation.startsWith('bronze.'))) {
    await db.run(
      `CREATE OR REPLACE TEMP TABLE out_rows AS SELECT * FROM read_parquet(${literal(join(project, 'lake', p.path))})`,
    );
    await timed(
      p.relation,
      `COPY (SELECT * FROM out_rows) TO ${await outFile(p.relation, day)} (${PARTITION_WRITE_OPTIONS})`,
    );
  }
  for (const model of appendedModels) await writeTable(model, day);
}
const tables = await db.all<{ name: string }>(
  `SELECT schema_name || '.' || table_name AS name FROM duckdb_tables()
   WHERE database_name = 'built' AND schema_name IN ('silver', 'gold') ORDER BY 1`,
);
for (const { name } of tables) if (!appendedModels.includes(name)) await writeTable(name);
await timed('checkpoint', 'CHECKPOINT');
db.close();

/** Writes a warehouse table into the floor's database: one day's appended rows, or the whole table. */
async function writeTable(name: string, day?: string): Promise<void> {
  const [schema, table] = name.split('.') as [string, string];
  const target = ident(`${schema}_${table}`);
  const rows = day
    ? `SELECT * FROM built.${ident(schema)}.${ident(table)} WHERE hash(${await keyColumns(name)}) IN (
         SELECT key_hash FROM built._lakehouse.append_keys WHERE model = ${literal(name)} AND etl_date = ${literal(day)}::DATE)`
    : `SELECT * FROM built.${ident(schema)}.${ident(table)}`;
  await db.run(`CREATE OR REPLACE TEMP TABLE out_rows AS ${rows}`);
  await timed(
    name,
    created.has(target)
      ? `INSERT INTO ${target} SELECT * FROM out_rows`
      : `CREATE TABLE ${target} AS SELECT * FROM out_rows`,
  );
  created.add(target);
}

/** The unique key an append model hashes into append_keys (as append.ts does), from the engine's build record. */
async function keyColumns(model: string): Promise<string> {
  const [row] = await db.all<{ keys: string }>(
    `SELECT keys FROM built._lakehouse.builds WHERE relation = ${literal(model)}`,
  );
  return (JSON.parse(row?.keys ?? '[]') as string[]).map(ident).join(', ');
}

const wallMs = Object.values(msByOutput).reduce((sum, ms) => sum + ms, 0);
process.stdout.write(
  `${JSON.stringify({ wallMs, msByOutput, days: days.length, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
