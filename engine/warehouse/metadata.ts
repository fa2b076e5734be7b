import type { Db } from '../db/duckdb.ts';

/**
 * A SQL key that orders rows of the engine's tables by when their run did it (`clock`: started_at of
 * _lakehouse.runs, written_at of _lakehouse.partitions, recorded_at of _lakehouse.scd1_changes). Those are the wall clock of the machine's zone
 * then (now()::TIMESTAMP), which goes back an hour at a DST change or when the laptop travels west;
 * the run id starts with the UTC second, so it leads, and the clock only breaks ties within a run.
 */
export function runClockOrder(alias: string, clock = 'started_at'): string {
  return `(left(${alias}.run_id, 15), ${alias}.${clock})`;
}

/**
 * The warehouse file holds gold tables (schema gold), views over the lake's Parquet partitions
 * (schemas bronze, silver, quarantine) and the engine's own bookkeeping (schema _lakehouse).
 * Everything here is created idempotently, so opening an old warehouse upgrades it in place. In one
 * transaction: a first run killed while creating it leaves all of it or none (see hasWarehouseSchema).
 */
export async function ensureWarehouseSchema(db: Db): Promise<void> {
  await db.transaction(() =>
    db.run(`
    CREATE SCHEMA IF NOT EXISTS bronze;
    CREATE SCHEMA IF NOT EXISTS silver;
    CREATE SCHEMA IF NOT EXISTS gold;
    CREATE SCHEMA IF NOT EXISTS quarantine;
    CREATE SCHEMA IF NOT EXISTS _lakehouse;
    -- The committed Parquet file of each partition: the pointer swap that makes a replace atomic.
    CREATE TABLE IF NOT EXISTS _lakehouse.partitions (
      relation VARCHAR NOT NULL, etl_date DATE NOT NULL, path VARCHAR NOT NULL,
      row_count BIGINT NOT NULL, run_id VARCHAR NOT NULL, written_at TIMESTAMP NOT NULL
    );
    CREATE TABLE IF NOT EXISTS _lakehouse.runs (
      run_id VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP,
      status VARCHAR NOT NULL, dates VARCHAR, selection VARCHAR, error VARCHAR
    );
    CREATE TABLE IF NOT EXISTS _lakehouse.model_runs (
      run_id VARCHAR NOT NULL, model VARCHAR NOT NULL, etl_date DATE, status VARCHAR NOT NULL,
      rows_in BIGINT, rows_out BIGINT, duplicates_removed BIGINT, quarantined BIGINT,
      duration_ms BIGINT, error VARCHAR, tests VARCHAR, warnings VARCHAR, finished_at TIMESTAMP
    );
    -- Which dates each model has committed: history models replay from here when an old date is re-run.
    CREATE TABLE IF NOT EXISTS _lakehouse.model_dates (
      model VARCHAR NOT NULL, etl_date DATE NOT NULL, run_id VARCHAR NOT NULL
    );
    -- The keys each date of an append model loaded, as hashes (8 bytes a row, cheap to write): a re-run
    -- of the date removes the rows its new input no longer has (materializations/append.ts).
    CREATE TABLE IF NOT EXISTS _lakehouse.append_keys (
      model VARCHAR NOT NULL, etl_date DATE NOT NULL, key_hash UBIGINT NOT NULL
    );
    -- How each warehouse table was built (materialization, keys): a header edit it cannot take is
    -- refused before anything is written (materializations/builds.ts). Keys as a JSON array.
    CREATE TABLE IF NOT EXISTS _lakehouse.builds (
      relation VARCHAR NOT NULL, materialized VARCHAR NOT NULL, keys VARCHAR NOT NULL, surrogate_key VARCHAR
    );
    -- Which model writes each quarantine table: two models of one name (bronze.x, silver.x) would
    -- otherwise replace each other's quarantined rows (materializations/partition.ts).
    CREATE TABLE IF NOT EXISTS _lakehouse.quarantine_owners (relation VARCHAR NOT NULL, model VARCHAR NOT NULL);
    -- Dates whose run held a history model's replay for the run's last date and committed before it
    -- came (a stop, a kill): the model's next run replays first, whatever dates it runs (history.ts).
    CREATE TABLE IF NOT EXISTS _lakehouse.history_pending (model VARCHAR NOT NULL, etl_date DATE NOT NULL);
    -- Which version of its catalog each date of a keyword_match model was matched against: a changed
    -- catalog leaves the dates not run since with the old answers, which a run says (keyword-match.ts).
    CREATE TABLE IF NOT EXISTS _lakehouse.keyword_catalogs (
      model VARCHAR NOT NULL, etl_date DATE NOT NULL, fingerprint VARCHAR NOT NULL
    );
    -- Each model's file text as the latest run that ran it read it (kind 'ran'), and as the latest
    -- successful run did ('succeeded'): the editor offers the latter back after a failed run, also after
    -- a restart (explore/model-edit.ts).
    CREATE TABLE IF NOT EXISTS _lakehouse.model_texts (
      model VARCHAR NOT NULL, kind VARCHAR NOT NULL, run_id VARCHAR NOT NULL, text VARCHAR NOT NULL
    );
    -- The version of each macro a run used (JSON, see pipeline/macro-versions.ts): a run with changed
    -- macros says which committed dates of its models were built with the old ones.
    CREATE TABLE IF NOT EXISTS _lakehouse.run_macros (run_id VARCHAR NOT NULL, macros VARCHAR NOT NULL);
    -- The error code of a run that failed or was cancelled, beside the message in runs: a table of its
    -- own, not a column there, so a warehouse of an earlier version gains it on open and an earlier
    -- version still inserts its runs rows as it did.
    CREATE TABLE IF NOT EXISTS _lakehouse.run_errors (run_id VARCHAR NOT NULL, code VARCHAR NOT NULL);
    -- When each run started and ended as instants, with the UTC offset (seconds) of the machine's zone
    -- then: runs keeps the wall clock alone, which read in another zone (a DST change, a laptop that
    -- travelled) named another instant. Its own table, as run_errors is; runs recorded before it have none.
    CREATE TABLE IF NOT EXISTS _lakehouse.run_clocks (
      run_id VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, started_offset INTEGER NOT NULL,
      finished_at TIMESTAMPTZ, finished_offset INTEGER
    );
    -- The largest surrogate key each history model (scd2, bridge) has handed out, recorded when a replay
    -- rebuilds its table: a key the replay leaves out is never handed out again (history.ts).
    CREATE TABLE IF NOT EXISTS _lakehouse.surrogate_keys (model VARCHAR NOT NULL, high_water BIGINT NOT NULL);
    -- The tracked columns each SCD2 model's row hashes cover (lower case, sorted, as a JSON array): a
    -- tracked: edit rehashes the current versions once, so only changed values open versions (history.ts).
    CREATE TABLE IF NOT EXISTS _lakehouse.scd2_tracked (model VARCHAR NOT NULL, columns VARCHAR NOT NULL);
    -- What each SCD1 merge overwrote or inserted (materializations/scd1-changes.ts); values as JSON.
    CREATE TABLE IF NOT EXISTS _lakehouse.scd1_changes (
      run_id VARCHAR NOT NULL, model VARCHAR NOT NULL, etl_date DATE NOT NULL, key VARCHAR NOT NULL,
      kind VARCHAR NOT NULL, column_name VARCHAR, before VARCHAR, after VARCHAR, recorded_at TIMESTAMP NOT NULL
    );
  `),
  );
}

/**
 * Whether the engine's bookkeeping exists: a warehouse file without it was created by a first run
 * killed before it wrote anything (or by another tool), and holds no tables and no runs.
 */
export async function hasWarehouseSchema(db: Db): Promise<boolean> {
  return hasEngineTable(db, 'runs');
}

/**
 * Whether the engine's table `_lakehouse.<table>` exists: a read-only open of a warehouse an earlier
 * version wrote, which no writer has opened since, lacks the tables added after it.
 */
export async function hasEngineTable(db: Db, table: string): Promise<boolean> {
  const found = await db.scalar<number | bigint>(
    `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()
     AND schema_name = '_lakehouse' AND table_name = $table`,
    { table },
  );
  return Number(found ?? 0) > 0;
}

/**
 * Why a run left 'running' by a killed process is aborted, and what of it stayed: each date commits on
 * its own, so the dates it finished are kept (their records survive) and only the one it was on is gone.
 */
export function abandonedRunReason(committed: string[]): string {
  const dates = [...new Set(committed)].sort();
  return dates.length === 0
    ? 'the process ended before the run finished; nothing of it was committed'
    : `the process ended before the run finished; ${dates.join(', ')} had been committed, the date it was on was rolled back`;
}

/**
 * Records now, with the zone's UTC offset now, as when the run started or finished (see
 * _lakehouse.run_clocks). Inside the transaction that sets the wall clock of runs: now() is its start.
 */
export async function recordRunClock(db: Db, runId: string, event: 'started' | 'finished'): Promise<void> {
  const offset = "date_part('timezone', now())";
  await db.run(
    event === 'started'
      ? `INSERT INTO _lakehouse.run_clocks VALUES ($runId, now(), ${offset}, NULL, NULL)`
      : `UPDATE _lakehouse.run_clocks SET finished_at = now(), finished_offset = ${offset}
         WHERE run_id = $runId AND finished_at IS NULL`,
    { runId },
  );
}

/** Marks runs left 'running' by a killed process as aborted (their uncommitted work was rolled back by DuckDB). */
export async function markAbandonedRuns(db: Db): Promise<void> {
  const runs = await db.all<{ run_id: string; dates: string[] | null }>(
    `SELECT r.run_id, list(strftime(m.etl_date, '%Y-%m-%d')) FILTER (WHERE m.status = 'success') AS dates
     FROM _lakehouse.runs r LEFT JOIN _lakehouse.model_runs m USING (run_id)
     WHERE r.status = 'running' GROUP BY r.run_id`,
  );
  for (const run of runs) {
    await db.transaction(async () => {
      await db.run(
        `UPDATE _lakehouse.runs SET status = 'aborted', finished_at = coalesce(finished_at, now()::TIMESTAMP),
           error = coalesce(error, $reason)
         WHERE run_id = $runId`,
        { runId: run.run_id, reason: abandonedRunReason(run.dates ?? []) },
      );
      await recordRunClock(db, run.run_id, 'finished');
    });
  }
}

/** Every model's committed dates, in order: what committedDates gives each, in one query. */
export async function committedDatesByModel(db: Db): Promise<Map<string, string[]>> {
  const rows = await db.all<{ model: string; dates: string[] }>(
    `SELECT model, list(strftime(etl_date, '%Y-%m-%d') ORDER BY etl_date) AS dates
     FROM _lakehouse.model_dates GROUP BY model`,
  );
  return new Map(rows.map((r) => [r.model, [...r.dates]]));
}

export async function committedDates(db: Db, model: string): Promise<string[]> {
  const rows = await db.all<{ d: string }>(
    `SELECT strftime(etl_date, '%Y-%m-%d') AS d FROM _lakehouse.model_dates WHERE model = $model ORDER BY etl_date`,
    { model },
  );
  return rows.map((r) => r.d);
}

/** Which run built each model's date (replacing an earlier run's), for all of a date's models at once. */
export async function recordModelDates(
  db: Db,
  built: { model: string; etlDate: string }[],
  runId: string,
): Promise<void> {
  if (built.length === 0) return;
  const pairs = built.flatMap(({ model, etlDate }) => [model, etlDate]);
  const values = `(VALUES ${built.map((_, i) => `($${2 * i + 1}, $${2 * i + 2}::DATE)`).join(', ')}) AS built(model, etl_date)`;
  await db.run(
    `DELETE FROM _lakehouse.model_dates AS d USING ${values} WHERE d.model = built.model AND d.etl_date = built.etl_date`,
    pairs,
  );
  await db.run(
    `INSERT INTO _lakehouse.model_dates SELECT DISTINCT model, etl_date, $${pairs.length + 1} FROM ${values}`,
    [...pairs, runId],
  );
}
