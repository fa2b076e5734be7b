// `npm run bench:duckdb-transaction`: what a table written inside the open transaction costs to read,
// against the same table committed. Each pipeline date is one transaction (DESIGN.md: atomic dates), so
// every model's stage is such a table; this is the figure that decides whether staging elsewhere pays.
// A third case repeats the transaction with dictionary compression disabled, as the engine runs: DuckDB
// tries it on every text column it writes, which costs more than it saves on high-cardinality ones.
// Prints wall and CPU time per statement for each case and writes bench/results/duckdb-transaction.json.
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
  'keyword ' || hash(i % 40000)::VARCHAR AS keyword, ['enter', 'quit'][1 + i % 2] AS category,
  (i % 7)::BIGINT AS platform_key, (i % 13)::BIGINT AS network_key
  FROM range(${ROWS}) AS t(i)`;

async function measure(inTransaction: boolean, dictionary = true): Promise<Timing[]> {
  const db = await openDb(join(dir, `${inTransaction ? 'tx' : 'committed'}-${dictionary}.duckdb`));
  await db.run('SET preserve_insertion_order = false');
  if (!dictionary) await db.run(`SET disabled_compression_methods = 'dictionary'`);
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
  const withoutDictionary = await measure(true, false);
  const cell = (t: Timing) => `${t.wallMs} / ${t.cpuMs}`.padStart(12);
  log(`${ROWS.toLocaleString('en-US')} rows; wall ms / CPU ms`);
  log(
    `  ${''.padEnd(42)} ${'committed'.padStart(12)}   ${'in the tx'.padStart(12)}   ratio   ${'tx, no dict'.padStart(12)}`,
  );
  for (const [i, c] of committed.entries()) {
    const t = inTransaction[i]!;
    const n = withoutDictionary[i]!;
    log(
      `  ${c.statement.padEnd(42)} ${cell(c)}   ${cell(t)}   ${(t.wallMs / c.wallMs).toFixed(2)}x   ${cell(n)}`,
    );
  }
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(
    join(ROOT, 'bench', 'results', 'duckdb-transaction.json'),
    `${JSON.stringify({ date: new Date().toISOString(), rows: ROWS, committed, inTransaction, inTransactionWithoutDictionary: withoutDictionary }, null, 2)}\n`,
  );
  log('wrote bench/results/duckdb-transaction.json');
} finally {
  await rm(dir, { recursive: true, force: true });
}
