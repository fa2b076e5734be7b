// `npm run bench:publish-postgres`: publishes the 1M-event star schema to a local PostgreSQL 15 three
// ways, side by side on fresh databases of one server (started with wal_level=minimal, PostgreSQL's
// advice for bulk loads):
//   direct     the publisher's direct path (COPY FROM STDIN from DuckDB, keys, reconciliation, one transaction)
//   jdbc-batch the original's method: a prepared single-row INSERT, 10,000 rows per batch (pipelined, as
//              JDBC's executeBatch sends them) and a commit per batch
//   multi-row  (with --multi-row) one INSERT ... VALUES of 10,000 rows per statement
// The direct path is timed once more on a server with the default wal_level=replica (any server with
// replicas or WAL archiving), where COPY into a table created in the transaction still writes WAL.
// Prints the figures and writes bench/results/publish-postgres.json and .md.
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ident, literal } from '../engine/db/duckdb.ts';
import { createEngine, type Engine } from '../engine/engine.ts';
import { describeGoldTables } from '../engine/publish/gold-tables.ts';
import { PUBLISH_STATE_TABLE } from '../engine/publish/redshift/dialect.ts';
import { preflightRedshift, publishRedshift } from '../engine/publish/redshift/publish.ts';
import { exportExpression } from '../engine/publish/redshift/types.ts';
import { type PostgresServer, startPostgres } from '../test/helpers/postgres.ts';
import { benchDataset, freshExampleProject, sizeName } from './datasets.ts';

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '5' },
    'rows-per-day': { type: 'string', default: '200000' },
    data: { type: 'string', default: 'bench-data' },
    /** Also time multi-row INSERTs (slower than the original's method here; off by default to save minutes). */
    'multi-row': { type: 'boolean', default: false },
  },
});
const ROOT = resolve(import.meta.dirname, '..');
const DATA = resolve(ROOT, values.data);
const BATCH_ROWS = 10_000;
const DIRECT_RUNS = 3;
const days = Number(values.days);
const rowsPerDay = Number(values['rows-per-day']);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/**
 * With wal_level=minimal, a table created in the loading transaction is written without WAL (and synced
 * at commit); the baseline's INSERTs into existing tables are logged either way.
 */
const BULK_LOAD_SETTINGS = ['wal_level=minimal', 'max_wal_senders=0'];
const log = (line: string) => process.stdout.write(`${line}\n`);

/** The 1M dataset the pipeline benchmark uses (generated once), and a project of our own built on it. */
async function builtProject(): Promise<string> {
  const data = await benchDataset(DATA, sizeName(days * rowsPerDay), days, rowsPerDay, () =>
    log(`generated ${days} x ${rowsPerDay} events into ${DATA}`),
  );
  const dir = join(DATA, 'projects', `publish-${days}x${rowsPerDay}`);
  if (!existsSync(join(dir, 'warehouse.duckdb'))) {
    await freshExampleProject(DATA, `publish-${days}x${rowsPerDay}`, data);
    log(`running the pipeline on ${dir} ...`);
    const engine = await createEngine({ projectDir: dir });
    try {
      const summary = await engine.run({});
      if (summary.status !== 'success')
        throw new Error(`pipeline ${summary.status}: ${summary.error?.message}`);
    } finally {
      engine.close();
    }
  }
  return dir;
}

/** Creates the gold tables (same DDL as the publisher, no foreign keys) on an empty database. */
async function createTables(engine: Engine, url: string): Promise<void> {
  const preflight = await preflightRedshift({
    db: engine.reader,
    models: engine.models,
    connection: { kind: 'pg', config: { connectionString: url }, dialect: 'postgres' },
  });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const sql of preflight.ddl.filter((s) => !s.includes('FOREIGN KEY'))) await client.query(sql);
  await client.end();
}

/** Streams a gold table out of DuckDB in batches of BATCH_ROWS rows, each value as text. */
async function* batches(
  engine: Engine,
  table: string,
  columns: string[],
): AsyncGenerator<(string | null)[][]> {
  const result = await engine.reader.connection.stream(
    `SELECT ${columns.map((c) => `CAST(${ident(c)} AS VARCHAR)`).join(', ')} FROM gold.${ident(table)}`,
  );
  let batch: (string | null)[][] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    for (const row of chunk.getRows()) {
      batch.push(row as (string | null)[]);
      if (batch.length === BATCH_ROWS) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

type Tables = Awaited<ReturnType<typeof describeGoldTables>>;

async function jdbcBatch(engine: Engine, tables: Tables, url: string): Promise<number> {
  await createTables(engine, url);
  const client = new pg.Client({ connectionString: url, pipeline: true });
  await client.connect();
  const started = performance.now();
  for (const table of tables) {
    const columns = table.columns.map((c) => c.name);
    const text = `INSERT INTO gold.${ident(table.name)} (${columns.map(ident).join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`;
    for await (const batch of batches(engine, table.name, columns)) {
      // executeBatch: every row is its own prepared INSERT, sent back to back; then one commit.
      const pending = [client.query('BEGIN')];
      for (const row of batch)
        pending.push(client.query({ name: `insert_${table.name}`, text, values: row }));
      pending.push(client.query('COMMIT'));
      await Promise.all(pending);
    }
  }
  const ms = performance.now() - started;
  await client.end();
  return ms;
}

async function multiRow(engine: Engine, tables: Tables, url: string): Promise<number> {
  await createTables(engine, url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const started = performance.now();
  for (const table of tables) {
    const columns = table.columns.map((c) => c.name);
    const head = `INSERT INTO gold.${ident(table.name)} (${columns.map(ident).join(', ')}) VALUES `;
    for await (const batch of batches(engine, table.name, columns)) {
      const rows = batch.map(
        (row) => `(${row.map((v) => (v === null ? 'NULL' : pg.escapeLiteral(v))).join(', ')})`,
      );
      await client.query(`${head}${rows.join(', ')}`);
    }
  }
  const ms = performance.now() - started;
  await client.end();
  return ms;
}

/**
 * PostgreSQL's floor on this machine: the same rows, already exported to CSV files, copied into tables
 * created in one transaction (COPY FREEZE) with no keys, no checks and no reconciliation. No loader that
 * keeps one transaction can beat it, so jdbc-batch / floor bounds the speed-up any direct path can show.
 */
async function postgresFloor(engine: Engine, tables: Tables, url: string): Promise<number> {
  const preflight = await preflightRedshift({
    db: engine.reader,
    models: engine.models,
    connection: { kind: 'pg', config: { connectionString: url }, dialect: 'postgres' },
  });
  const csvDir = await mkdtemp(join(tmpdir(), 'lakehouse-floor-'));
  try {
    const files = new Map<string, string>();
    for (const table of tables) {
      const file = join(csvDir, `${table.name}.csv`);
      await engine.reader.run(
        `COPY (SELECT ${table.columns.map(exportExpression).join(', ')} FROM gold.${ident(table.name)}) TO ${literal(file)} (FORMAT csv, HEADER false, NULLSTR '\\N')`,
      );
      files.set(table.name, file);
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const started = performance.now();
    await client.query('BEGIN');
    for (const sql of preflight.ddl.filter((s) => !/FOREIGN KEY|PRIMARY KEY/.test(s)))
      await client.query(sql);
    for (const table of tables) {
      const columns = table.columns.map((c) => ident(c.name)).join(', ');
      const copy = `COPY gold.${ident(table.name)} (${columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N', FREEZE)`;
      await pipeline(createReadStream(files.get(table.name) ?? ''), client.query(copyFrom(copy)));
    }
    await client.query('COMMIT');
    const ms = performance.now() - started;
    await client.end();
    return ms;
  } finally {
    await rm(csvDir, { recursive: true, force: true });
  }
}

async function counts(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const out: Record<string, number> = {};
  const tables = await client.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'gold' AND table_name <> ${literal(PUBLISH_STATE_TABLE)} ORDER BY 1`,
  );
  for (const { table_name } of tables.rows as { table_name: string }[]) {
    out[table_name] = (
      await client.query(`SELECT count(*)::int AS n FROM gold.${ident(table_name)}`)
    ).rows[0].n;
  }
  await client.end();
  return out;
}

/**
 * CPU seconds used by this process (the publisher or the baseline client, DuckDB included) and by the
 * PostgreSQL server while `fn` runs: a cost that, unlike wall time, does not depend on other load.
 */
async function cpuCost(
  server: PostgresServer,
  fn: () => Promise<void>,
): Promise<{ client: number; server: number } | null> {
  const serverBefore = await server.cpuSeconds();
  const clientBefore = process.cpuUsage();
  await fn();
  const client = process.cpuUsage(clientBefore);
  // Let the postmaster reap the backends that just exited, so their CPU time is counted.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const serverAfter = await server.cpuSeconds();
  if (serverBefore === null || serverAfter === null) return null;
  return { client: (client.user + client.system) / 1e6, server: serverAfter - serverBefore };
}

interface FirstPublish {
  url: string;
  ms: number;
  /** Wall time per phase: plan, rows in (COPY, primary keys), foreign keys validated, reconciliation + commit. */
  phases: { planMs: number; rowsInMs: number; foreignKeysMs: number; reconcileAndCommitMs: number };
  cpu: { client: number; server: number } | null;
}

/** The direct path's first publish of the whole star into the empty database at `url`. */
async function firstPublish(engine: Engine, server: PostgresServer, url: string): Promise<FirstPublish> {
  const started = performance.now();
  let ms = 0;
  const phaseStart = new Map<string, number>();
  let result: Awaited<ReturnType<typeof publishRedshift>> | undefined;
  const cpu = await cpuCost(server, async () => {
    result = await publishRedshift({
      db: engine.reader,
      models: engine.models,
      connection: { kind: 'pg', config: { connectionString: url }, dialect: 'postgres' },
      onProgress: (e) => {
        if (!phaseStart.has(e.phase)) phaseStart.set(e.phase, performance.now());
      },
    });
    ms = performance.now() - started;
  });
  if (!result?.reconciliation.every((r) => r.matches)) throw new Error('direct path did not reconcile');
  const at = (phase: string) => phaseStart.get(phase) ?? performance.now();
  return {
    url,
    ms,
    phases: {
      planMs: Math.round(at('load') - started),
      rowsInMs: Math.round(at('constraints') - at('load')),
      foreignKeysMs: Math.round(at('reconcile') - at('constraints')),
      reconcileAndCommitMs: Math.round(at('done') - at('reconcile')),
    },
    cpu,
  };
}

function medianRun(runs: FirstPublish[]): FirstPublish {
  const sorted = [...runs].sort((a, b) => a.ms - b.ms);
  const run = sorted[Math.floor(sorted.length / 2)];
  if (!run) throw new Error('no runs');
  return run;
}

const dir = await builtProject();
// The machine may be shared: its load when the measurement starts is part of the result.
const loadAtStart = Number(loadavg()[0]?.toFixed(1));
const engine = await createEngine({ projectDir: dir, readOnly: true });
const server = await startPostgres(BULK_LOAD_SETTINGS);
try {
  const tables = await describeGoldTables(engine.reader, engine.models);
  const expected = Object.fromEntries(tables.map((t) => [t.name, t.rowCount]));
  const totalRows = tables.reduce((sum, t) => sum + t.rowCount, 0);
  log(
    `star schema: ${tables.length} tables, ${totalRows.toLocaleString('en-US')} rows (fact ${expected.fact_customer_search?.toLocaleString('en-US')})`,
  );

  // Short runs suffer most from bursts of other load on a shared machine: the first publish runs
  // DIRECT_RUNS times, each on a fresh database, and the run of median wall time is reported.
  const directRuns: FirstPublish[] = [];
  for (let run = 0; run < DIRECT_RUNS; run++) {
    directRuns.push(await firstPublish(engine, server, await server.createDatabase(`direct_${run}`)));
  }
  const { ms: directMs, phases, cpu: directCpu, url: directUrl } = medianRun(directRuns);
  log(
    `direct path (COPY FREEZE FROM STDIN, keys, reconciliation, one transaction): ${secs(directMs)} (median of ${directRuns.map((r) => secs(r.ms)).join(', ')})`,
  );
  log(
    `  plan ${secs(phases.planMs)}, rows in (COPY + primary keys) ${secs(phases.rowsInMs)}, foreign keys validated ${secs(phases.foreignKeysMs)}, reconciliation + commit ${secs(phases.reconcileAndCommitMs)}`,
  );
  const started = performance.now();
  await publishRedshift({
    db: engine.reader,
    models: engine.models,
    connection: { kind: 'pg', config: { connectionString: directUrl }, dialect: 'postgres' },
  });
  const republishMs = performance.now() - started;
  log(`direct path, re-publish with nothing changed: ${secs(republishMs)}`);

  const jdbcUrl = await server.createDatabase('jdbc_batch');
  let jdbcMs = 0;
  const jdbcCpu = await cpuCost(server, async () => {
    jdbcMs = await jdbcBatch(engine, tables, jdbcUrl);
  });
  const jdbcCounts = await counts(jdbcUrl);
  log(`jdbc-batch (prepared single-row INSERT, 10,000 per batch and commit): ${secs(jdbcMs)}`);

  const floorRuns: number[] = [];
  for (let run = 0; run < DIRECT_RUNS; run++) {
    floorRuns.push(await postgresFloor(engine, tables, await server.createDatabase(`floor_${run}`)));
  }
  const floorMs = [...floorRuns].sort((a, b) => a - b)[Math.floor(floorRuns.length / 2)] ?? 0;
  log(
    `PostgreSQL floor (COPY FREEZE of ready CSV files, no keys, one transaction): ${secs(floorMs)} (median of ${floorRuns.map(secs).join(', ')}); the largest speed-up any one-transaction loader can show here: ${(jdbcMs / floorMs).toFixed(1)}x`,
  );

  let multiMs: number | null = null;
  if (values['multi-row']) {
    const multiUrl = await server.createDatabase('multi_row');
    multiMs = await multiRow(engine, tables, multiUrl);
    const multiCounts = await counts(multiUrl);
    if (JSON.stringify(multiCounts) !== JSON.stringify(Object.fromEntries(Object.entries(expected).sort()))) {
      throw new Error(`multi-row loaded ${JSON.stringify(multiCounts)}`);
    }
    log(`multi-row INSERT (10,000 rows per statement): ${secs(multiMs)}`);
  }
  if (JSON.stringify(jdbcCounts) !== JSON.stringify(Object.fromEntries(Object.entries(expected).sort()))) {
    throw new Error(`jdbc-batch loaded ${JSON.stringify(jdbcCounts)}`);
  }

  // The same first publish on a server with the default WAL settings, so both figures are on record.
  const defaultWalServer = await startPostgres();
  const defaultWalRuns: FirstPublish[] = [];
  try {
    for (let run = 0; run < DIRECT_RUNS; run++) {
      const url = await defaultWalServer.createDatabase(`direct_${run}`);
      defaultWalRuns.push(await firstPublish(engine, defaultWalServer, url));
    }
  } finally {
    await defaultWalServer.stop();
  }
  const directDefaultWalMs = medianRun(defaultWalRuns).ms;
  log(
    `direct path on a server with wal_level=replica (the default): ${secs(directDefaultWalMs)} (median of ${defaultWalRuns.map((r) => secs(r.ms)).join(', ')})`,
  );

  const speedup = jdbcMs / directMs;
  const defaultWalSpeedup = jdbcMs / directDefaultWalMs;
  log(
    `speed-up of the direct path over the original's batched INSERTs: ${speedup.toFixed(1)}x (target >= 20x); with wal_level=replica ${defaultWalSpeedup.toFixed(1)}x`,
  );
  log(
    `  rows in only (the baseline neither validates foreign keys nor reconciles): ${(jdbcMs / phases.rowsInMs).toFixed(1)}x`,
  );
  const cpuTotal = (c: { client: number; server: number } | null) => (c ? c.client + c.server : null);
  const directCpuS = cpuTotal(directCpu);
  const jdbcCpuS = cpuTotal(jdbcCpu);
  const cpuRatio = directCpuS && jdbcCpuS ? jdbcCpuS / directCpuS : null;
  if (directCpu && jdbcCpu && cpuRatio !== null) {
    log(
      `CPU seconds (client incl. DuckDB + PostgreSQL server): direct ${directCpu.client.toFixed(1)} + ${directCpu.server.toFixed(1)}, original ${jdbcCpu.client.toFixed(1)} + ${jdbcCpu.server.toFixed(1)}: ${cpuRatio.toFixed(1)}x less CPU`,
    );
  }
  if (multiMs !== null) log(`speed-up over multi-row INSERTs: ${(multiMs / directMs).toFixed(1)}x`);

  const results = {
    machine: {
      cpus: cpus().length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: Number(loadavg()[0]?.toFixed(1)),
    },
    date: new Date().toISOString(),
    postgres: await (async () => {
      const c = new pg.Client({ connectionString: directUrl });
      await c.connect();
      const v = (await c.query('SHOW server_version')).rows[0].server_version as string;
      await c.end();
      return v;
    })(),
    starSchema: { tables: tables.length, rows: totalRows, perTable: expected },
    serverSettings: BULK_LOAD_SETTINGS,
    directMs: Math.round(directMs),
    directRunsMs: directRuns.map((r) => Math.round(r.ms)),
    directWithDefaultWalRunsMs: defaultWalRuns.map((r) => Math.round(r.ms)),
    directWithDefaultWalMs: Math.round(directDefaultWalMs),
    directPhases: phases,
    directCpuSeconds: directCpu,
    jdbcBatchCpuSeconds: jdbcCpu,
    cpuRatioJdbcBatchToDirect: cpuRatio === null ? null : Number(cpuRatio.toFixed(1)),
    republishMs: Math.round(republishMs),
    jdbcBatchMs: Math.round(jdbcMs),
    floorMs: Math.round(floorMs),
    floorRunsMs: floorRuns.map(Math.round),
    ceilingSpeedupOverJdbcBatch: Number((jdbcMs / floorMs).toFixed(1)),
    directToFloor: Number((directMs / floorMs).toFixed(2)),
    multiRowMs: multiMs === null ? null : Math.round(multiMs),
    speedupOverJdbcBatch: Number(speedup.toFixed(1)),
    speedupWithDefaultWalOverJdbcBatch: Number(defaultWalSpeedup.toFixed(1)),
    rowsInSpeedupOverJdbcBatch: Number((jdbcMs / phases.rowsInMs).toFixed(1)),
    speedupOverMultiRow: multiMs === null ? null : Number((multiMs / directMs).toFixed(1)),
  };
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(
    join(ROOT, 'bench', 'results', 'publish-postgres.json'),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  const md = [
    '# Publishing the gold star schema to PostgreSQL',
    '',
    `${results.date}, ${results.machine.cpus} cores (load average ${results.machine.loadAverageAtStart} at the start, ${results.machine.loadAverageAtEnd} at the end), PostgreSQL ${results.postgres} on loopback (fsync off, ${BULK_LOAD_SETTINGS.join(', ')}), Node ${results.machine.node}.`,
    `Star schema of ${days * rowsPerDay} events: ${tables.length} tables, ${totalRows.toLocaleString('en-US')} rows. \`npm run bench:publish-postgres\`.`,
    '',
    '| method | wall time | rows/s | vs direct |',
    '| --- | ---: | ---: | ---: |',
    `| direct path: COPY FREEZE FROM STDIN from DuckDB + keys + reconciliation, one transaction (median of ${directRuns.map((r) => secs(r.ms)).join(', ')}) | ${secs(directMs)} | ${Math.round(totalRows / (directMs / 1000)).toLocaleString('en-US')} | 1x |`,
    `| of which: plan ${secs(phases.planMs)}, rows in (COPY + primary keys) ${secs(phases.rowsInMs)}, foreign keys validated ${secs(phases.foreignKeysMs)}, reconciliation + commit ${secs(phases.reconcileAndCommitMs)} | | | rows in alone: ${(jdbcMs / phases.rowsInMs).toFixed(1)}x faster than the original |`,
    `| re-publish, nothing changed (dimensions merged, no fact date sent) | ${secs(republishMs)} | | |`,
    `| direct path on a second server with wal_level=replica (the default: COPY writes WAL; median of ${defaultWalRuns.map((r) => secs(r.ms)).join(', ')}) | ${secs(directDefaultWalMs)} | ${Math.round(totalRows / (directDefaultWalMs / 1000)).toLocaleString('en-US')} | original ${defaultWalSpeedup.toFixed(1)}x slower |`,
    `| original: prepared single-row INSERT, batches of 10,000 pipelined in one round trip (node-pg pipeline mode, as JDBC's executeBatch), commit per batch | ${secs(jdbcMs)} | ${Math.round(totalRows / (jdbcMs / 1000)).toLocaleString('en-US')} | ${speedup.toFixed(1)}x slower |`,
    `| PostgreSQL's floor: COPY FREEZE of the same rows from ready CSV files, no keys, no checks, one transaction (median of ${floorRuns.map(secs).join(', ')}) | ${secs(floorMs)} | ${Math.round(totalRows / (floorMs / 1000)).toLocaleString('en-US')} | direct is ${(directMs / floorMs).toFixed(2)}x the floor; original ${(jdbcMs / floorMs).toFixed(1)}x slower than the floor |`,
    ...(multiMs === null
      ? []
      : [
          `| multi-row INSERT, 10,000 rows per statement | ${secs(multiMs)} | ${Math.round(totalRows / (multiMs / 1000)).toLocaleString('en-US')} | ${(multiMs / directMs).toFixed(1)}x slower |`,
        ]),
    '',
    "The original's method is reproduced as JDBC runs it: node-pg's pipeline mode sends a batch's 10,000 prepared INSERTs (parsed once) without waiting for each reply, then the commit, as `executeBatch` does; awaiting each INSERT instead would add a round trip per row and flatter the direct path.",
    '',
    ...(directCpu && jdbcCpu && cpuRatio !== null
      ? [
          `CPU seconds, which do not depend on the machine's other load (client with DuckDB + PostgreSQL server): direct path ${(directCpu.client + directCpu.server).toFixed(1)} s (${directCpu.client.toFixed(1)} + ${directCpu.server.toFixed(1)}), original ${(jdbcCpu.client + jdbcCpu.server).toFixed(1)} s (${jdbcCpu.client.toFixed(1)} + ${jdbcCpu.server.toFixed(1)}): **${cpuRatio.toFixed(1)}x** less CPU.`,
          '',
        ]
      : []),
  ].join('\n');
  await writeFile(join(ROOT, 'bench', 'results', 'publish-postgres.md'), md);
  log(`wrote bench/results/publish-postgres.json and .md`);
} finally {
  engine.close();
  await server.stop();
}
