// `npm run bench:duckdb-transaction`: what a table written inside the open transaction costs to read,
// against the same table committed. Each pipeline date is one transaction (DESIGN.md: atomic dates), so
// every model's stage is such a table; this is the figure that decides whether staging elsewhere pays.
// Prints wall and CPU time per statement for both cases and writes bench/results/duckdb-transaction.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { literal, openDb } from '../engine/db/duckdb.ts';

const ROWS = 1_000_000;
const ROOT = resolve(import.meta.dirname, '..');
const dir = await mkdtemp(join(tmpdir(), 'lakehouse-tx-bench-'));
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Timing {
  statement: string;
  wallMs: number;
  cpuMs: number;
}

/** A search-log-like stage of ROWS rows: ids, text, timestamps and small integers. */
const STAGE_SQL = `SELECT 'e' || i::VARCHAR AS event_id, 'user' || (i % 50000)::VARCHAR AS user_id,
  TIMESTAMP '2022-06-01' + to_seconds(i % 86400) AS datetime_log, 20220601 AS date_key,
  'keyword ' || (i % 40000)::VARCHAR AS keyword, ['enter', 'quit'][1 + i % 2] AS category,
  (i % 7)::BIGINT AS platform_key, (i % 13)::BIGINT AS network_key
  FROM range(${ROWS}) AS t(i)`;

async function measure(inTransaction: boolean): Promise<Timing[]> {
  const db = await openDb(join(dir, `${inTransaction ? 'tx' : 'committed'}.duckdb`));
  await db.run('SET preserve_insertion_order = false');
  await db.run(`CREATE TABLE fact AS SELECT * FROM (${STAGE_SQL}) LIMIT 0`);
  await db.run('CREATE TABLE dim AS SELECT 1 AS k');
  const timings: Timing[] = [];
  const timed = async (statement: string, sql: string) => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    await db.run(sql);
    const used = process.cpuUsage(cpu);
    timings.push({
      statement,
      wallMs: Math.round(performance.now() - started),
      cpuMs: Math.round((used.user + used.system) / 1000),
    });
  };
  if (inTransaction) {
    // As in a pipeline date: the transaction has already written to the warehouse.
    await db.run('BEGIN TRANSACTION');
    await db.run('UPDATE dim SET k = 2');
  }
  await timed('create the stage (temp table)', `CREATE TEMP TABLE stage AS ${STAGE_SQL}`);
  await timed(
    'COPY the stage to Parquet',
    `COPY (SELECT * FROM stage) TO ${literal(join(dir, `${inTransaction}.parquet`))} (FORMAT parquet)`,
  );
  await timed('INSERT the stage into a warehouse table', 'INSERT INTO fact SELECT * FROM stage');
  await timed('aggregate over the stage', 'SELECT count(DISTINCT event_id), max(keyword) FROM stage');
  if (inTransaction) await db.run('COMMIT');
  db.close();
  return timings;
}

try {
  const committed = await measure(false);
  const inTransaction = await measure(true);
  log(`${ROWS.toLocaleString('en-US')} rows; wall ms / CPU ms, committed vs written in the open transaction`);
  for (const [i, c] of committed.entries()) {
    const t = inTransaction[i]!;
    log(
      `  ${c.statement.padEnd(42)} ${`${c.wallMs} / ${c.cpuMs}`.padStart(12)}   ${`${t.wallMs} / ${t.cpuMs}`.padStart(12)}   ${(t.wallMs / c.wallMs).toFixed(2)}x`,
    );
  }
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(
    join(ROOT, 'bench', 'results', 'duckdb-transaction.json'),
    `${JSON.stringify({ date: new Date().toISOString(), rows: ROWS, committed, inTransaction }, null, 2)}\n`,
  );
  log('wrote bench/results/duckdb-transaction.json');
} finally {
  await rm(dir, { recursive: true, force: true });
}
