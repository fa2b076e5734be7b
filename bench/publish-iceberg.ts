// Benchmark of Iceberg publishing to a local warehouse, on a synthetic fact table shaped like
// gold.fact_customer_search plus the etl_date of the run that wrote each row (14 columns, 30 days by
// date_key, runs recorded in _lakehouse.model_dates as the pipeline does):
//  1. publish the whole table (create) vs DuckDB writing the same rows to plain Parquet (the floor),
//     both as one file per day and as a single file;
//  2. publish one new day onto the 29 days already published (fast append) vs publishing that day alone.
// Timed: the Iceberg operation (compare with what is published, write, commit); the reconciliation
// (row count and key checksum of the published files) is timed on its own.
// Run: node bin/run-ts.js bench/publish-iceberg.ts [rows]. Writes bench/results/publish-iceberg.{json,md}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb } from '../engine/db/duckdb.ts';
import { duckdbFingerprint, type GoldTable } from '../engine/publish/gold-tables.ts';
import { createFileSystemCatalog } from '../engine/publish/iceberg/catalogs/fs-catalog.ts';
import { createLocalFileIO } from '../engine/publish/iceberg/file-io.ts';
import { reconcileTable } from '../engine/publish/iceberg/publish.ts';
import { type SyncContext, syncTable } from '../engine/publish/iceberg/sync.ts';
import { ensureWarehouseSchema } from '../engine/warehouse/metadata.ts';

const ROWS = Number(process.argv[2] ?? 10_000_000);
const DAYS = 30;
/** The day's append and the day alone are timed this many times, interleaved; medians are reported. */
const REPEATS = 3;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, (performance.now() - start) / 1000];
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'bench-iceberg-'));
  const db = await openDb(join(work, 'bench.duckdb'), { tempDirectory: join(work, 'tmp') });
  try {
    await db.run('SET preserve_insertion_order = false');
    await ensureWarehouseSchema(db);
    console.log(`Generating ${ROWS.toLocaleString()} fact rows over ${DAYS} days ...`);
    await db.run(`CREATE TABLE gold.fact AS
      SELECT 'evt-' || i AS event_id,
             TIMESTAMP '2022-06-01' + to_microseconds(i * ${Math.floor((86_400_000_000 * DAYS) / ROWS)}) AS datetime_log,
             CAST(strftime(DATE '2022-06-01' + CAST(i * ${DAYS} // ${ROWS} AS INTEGER), '%Y%m%d') AS INTEGER) AS date_key,
             DATE '2022-06-01' + CAST(i * ${DAYS} // ${ROWS} AS INTEGER) AS etl_date,
             lpad(CAST(hash(i) % 200000 AS VARCHAR), 8, '0') AS user_id,
             'keyword ' || (hash(i + 1) % 5000) AS keyword, 'keyword-' || (hash(i + 1) % 5000) AS keyword_slug,
             ['movie', 'series', 'sport', 'kids'][1 + (i % 4)::INTEGER] AS category,
             CASE WHEN i % 3 = 0 THEN 'search' ELSE 'click' END AS action,
             (hash(i + 2) % 40)::INTEGER AS network_key, (hash(i + 3) % 12)::INTEGER AS platform_key,
             (hash(i + 4) % 300)::INTEGER AS main_keyword_category,
             CASE WHEN i % 2 = 0 THEN (hash(i + 5) % 300)::INTEGER END AS sub1_keyword_category,
             CASE WHEN i % 5 = 0 THEN (hash(i + 6) % 300)::INTEGER END AS sub2_keyword_category
      FROM range(${ROWS}) t(i)`);
    await db.run('CHECKPOINT');
    const describe = async (name: string): Promise<GoldTable> => {
      const columns = await db.all<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'gold' AND table_name = '${name}' ORDER BY column_index`,
      );
      const fp = await duckdbFingerprint(db, `gold.${name}`, ['event_id']);
      return {
        name,
        modelId: `gold.${name}`,
        materialized: 'append',
        role: 'fact',
        uniqueKey: ['event_id'],
        surrogateKey: null,
        primaryKey: ['event_id'],
        keySource: 'unique_key',
        dateKey: 'date_key',
        relationships: [],
        columns: columns.map((c) => ({
          name: c.column_name,
          duckdbType: c.data_type,
          nullable: true,
          maxBytes: null,
        })),
        rowCount: fp.rowCount,
        keyChecksum: fp.keyChecksum,
        nullKeyRows: fp.nullKeyRows,
      };
    };
    const catalogAt = (folder: string): SyncContext => ({
      db,
      catalog: createFileSystemCatalog(createLocalFileIO(folder), folder),
      namespace: 'gold',
      stateDir: join(work, 'state'),
    });

    const [, plainPartitioned] = await timed(() =>
      db.run(
        `COPY gold.fact TO '${join(work, 'plain-by-day')}' (FORMAT PARQUET, PARTITION_BY (date_key), WRITE_PARTITION_COLUMNS true)`,
      ),
    );
    const [, plainSingle] = await timed(() =>
      db.run(`COPY gold.fact TO '${join(work, 'plain.parquet')}' (FORMAT PARQUET)`),
    );
    const fact = await describe('fact');
    const full = catalogAt(join(work, 'warehouse-full'));
    const [created, publishFull] = await timed(() => syncTable(full, fact));
    const [reconciliation, reconcileFull] = await timed(() => reconcileTable(full, fact));
    if (!reconciliation.matches) throw new Error('reconciliation failed');

    // Day 30 onto days 1-29.
    const lastDay = Number(await db.scalar('SELECT max(date_key) FROM gold.fact'));
    await db.run(`CREATE TABLE gold.fact_day AS SELECT * FROM gold.fact WHERE date_key = ${lastDay}`);
    await db.run(`CREATE TABLE gold.fact_29 AS SELECT * FROM gold.fact WHERE date_key < ${lastDay}`);
    // A run per ETL date, as the pipeline records them: 29 already published, then one more.
    const recordRuns = (table: string, runId: string) =>
      db.run(
        `INSERT INTO _lakehouse.model_dates SELECT DISTINCT 'gold.fact_29', etl_date, '${runId}' FROM gold.${table}`,
      );
    await recordRuns('fact_29', 'run-1');
    const history = catalogAt(join(work, 'warehouse-append'));
    const published29 = await describe('fact_29');
    await syncTable(history, published29);
    if (!(await reconcileTable(history, published29)).matches) throw new Error('reconciliation failed');
    await db.run(`INSERT INTO gold.fact_29 SELECT * FROM gold.fact_day`);
    await recordRuns('fact_day', 'run-2');
    // Described outside the timing: the key checksum gold-tables.ts computes is the reconciliation's cost.
    const withDay = await describe('fact_29');
    // Each repetition appends onto the same 29 days: the table's metadata folder and the publish state
    // are put back afterwards (the appended data file stays behind, unreferenced).
    const metadataFolder = join(work, 'warehouse-append', 'gold', 'fact_29', 'metadata');
    await cp(metadataFolder, join(work, 'metadata-29'), { recursive: true });
    await cp(join(work, 'state'), join(work, 'state-29'), { recursive: true });
    const dayOnly = await describe('fact_day');
    const samples = {
      append: [] as number[],
      reconcileAppend: [] as number[],
      day: [] as number[],
      reconcileDay: [] as number[],
    };
    let dayRows = 0;
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      const [appended, appendDay] = await timed(() => syncTable(history, withDay));
      if (
        appended.action !== 'append' ||
        appended.rowsRemoved !== 0 ||
        appended.comparison.scope !== 'since-last-publish'
      )
        throw new Error(`expected a pure append of the new day, got ${JSON.stringify(appended)}`);
      dayRows = appended.rowsAdded;
      const [appendReconciliation, reconcileAppend] = await timed(() => reconcileTable(history, withDay));
      if (!appendReconciliation.matches) throw new Error('reconciliation failed');
      const alone = catalogAt(join(work, `warehouse-day-${repeat}`));
      const [, dayAlone] = await timed(() => syncTable(alone, dayOnly));
      const [dayReconciliation, reconcileDayAlone] = await timed(() => reconcileTable(alone, dayOnly));
      if (!dayReconciliation.matches) throw new Error('reconciliation failed');
      samples.append.push(appendDay);
      samples.reconcileAppend.push(reconcileAppend);
      samples.day.push(dayAlone);
      samples.reconcileDay.push(reconcileDayAlone);
      for (const [from, to] of [
        ['metadata-29', metadataFolder],
        ['state-29', join(work, 'state')],
      ] as const) {
        await rm(to, { recursive: true, force: true });
        await cp(join(work, from), to, { recursive: true });
      }
    }
    const appendDay = median(samples.append);
    const dayAlone = median(samples.day);
    const reconcileAppend = median(samples.reconcileAppend);
    const reconcileDayAlone = median(samples.reconcileDay);

    const figures = {
      rows: ROWS,
      days: DAYS,
      cores: cpus().length,
      plainParquetByDaySeconds: +plainPartitioned.toFixed(2),
      plainParquetSingleFileSeconds: +plainSingle.toFixed(2),
      icebergCreateSeconds: +publishFull.toFixed(2),
      icebergCreateFiles: created.filesAdded,
      icebergCreateBytes: created.bytesAdded,
      reconcileSeconds: +reconcileFull.toFixed(2),
      ratioCreateVsPlainByDay: +(publishFull / plainPartitioned).toFixed(2),
      ratioCreateVsPlainSingle: +(publishFull / plainSingle).toFixed(2),
      dayRows,
      repeats: REPEATS,
      appendOneDaySeconds: +appendDay.toFixed(2),
      oneDayAloneSeconds: +dayAlone.toFixed(2),
      ratioAppendVsDayAlone: +(appendDay / dayAlone).toFixed(2),
      reconcileAppendSeconds: +reconcileAppend.toFixed(2),
      reconcileDayAloneSeconds: +reconcileDayAlone.toFixed(2),
      ratioAppendVsDayAloneWithReconciliation: +(
        (appendDay + reconcileAppend) /
        (dayAlone + reconcileDayAlone)
      ).toFixed(2),
      samplesSeconds: Object.fromEntries(
        Object.entries(samples).map(([name, values]) => [name, values.map((v) => +v.toFixed(2))]),
      ),
    };
    console.table({ ...figures, samplesSeconds: JSON.stringify(figures.samplesSeconds) });
    const out = join(dirname(fileURLToPath(import.meta.url)), 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'publish-iceberg.json'), `${JSON.stringify(figures, null, 2)}\n`);
    writeFileSync(
      join(out, 'publish-iceberg.md'),
      [
        `# Iceberg publish benchmark (${ROWS.toLocaleString()} rows, ${DAYS} days, ${figures.cores} cores)`,
        '',
        '| measure | seconds |',
        '| --- | --- |',
        `| DuckDB COPY to plain Parquet, one file per day | ${figures.plainParquetByDaySeconds} |`,
        `| DuckDB COPY to plain Parquet, one file | ${figures.plainParquetSingleFileSeconds} |`,
        `| Iceberg create (compare, write ${figures.icebergCreateFiles} files, manifests, commit) | ${figures.icebergCreateSeconds} |`,
        `| its reconciliation (reads every file back once: count, key checksum, row hashes) | ${figures.reconcileSeconds} |`,
        `| append day 30 (${figures.dayRows.toLocaleString()} rows) onto 29 published days, median of ${REPEATS} | ${figures.appendOneDaySeconds} |`,
        `| publish that day alone into a new table, median of ${REPEATS} | ${figures.oneDayAloneSeconds} |`,
        `| reconciliation after the append (reads the new file only) | ${figures.reconcileAppendSeconds} |`,
        `| reconciliation of the day alone | ${figures.reconcileDayAloneSeconds} |`,
        '',
        `Ratios: create / plain by day ${figures.ratioCreateVsPlainByDay} (target ≤ 1.25), create / plain single file ${figures.ratioCreateVsPlainSingle}, append / day alone ${figures.ratioAppendVsDayAlone} (target ≤ 1.25), and with each one's reconciliation ${figures.ratioAppendVsDayAloneWithReconciliation}.`,
        '',
      ].join('\n'),
    );
  } finally {
    db.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
