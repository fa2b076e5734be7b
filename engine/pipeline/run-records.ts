// A run's rows in the _lakehouse history: the run, each model's record on each date (and a note added
// to it), the model texts it ran. Apart from runner.ts so the run reads as steps, not the SQL recording them.

import type { DuckDBValue } from '@duckdb/node-api';
import type { Db } from '../db/duckdb.ts';
import { downstreamOf, type ModelGraph } from '../graph/dependencies.ts';
import type { Model } from '../project/models.ts';
import { committedDates, recordRunClock } from '../warehouse/metadata.ts';
import type { ModelRunRecord, ModelStatus } from './run-types.ts';

/**
 * A selection that leaves out models downstream of one it ran (`--select silver.x`, not `silver.x+`):
 * those that already hold the date still hold what the previous version of their input gave. Said on
 * the model that ran, so the run history shows it next to the rows it changed.
 */
export async function noteStaleDownstream(
  db: Db,
  graph: ModelGraph,
  selected: string[],
  records: ModelRunRecord[],
  date: string,
): Promise<void> {
  const chosen = new Set(selected);
  for (const record of records) {
    if (record.status !== 'success') continue;
    const left = [...downstreamOf(graph, record.model)].filter((id) => !chosen.has(id));
    const stale: string[] = [];
    for (const id of left) if ((await committedDates(db, id)).includes(date)) stale.push(id);
    if (stale.length === 0) continue;
    record.warnings.push(
      `not run with it: ${stale.join(', ')} ${stale.length === 1 ? 'holds' : 'hold'} ${date} as the previous ` +
        `${record.model} gave it; select ${record.model}+ to run ${stale.length === 1 ? 'it' : 'them'} too`,
    );
  }
}

export function emptyRecord(
  model: string,
  etlDate: string,
  status: ModelStatus,
  error: string,
): ModelRunRecord {
  return {
    model,
    etlDate,
    status,
    rowsIn: 0,
    rowsOut: 0,
    duplicatesRemoved: 0,
    quarantined: 0,
    durationMs: 0,
    error,
    tests: [],
    warnings: [],
  };
}

/** The run's row, as running: finishRun sets how it ended. */
export async function insertRun(
  db: Db,
  runId: string,
  dates: string[],
  select: string[] | undefined,
): Promise<void> {
  await db.transaction(async () => {
    await db.run(
      `INSERT INTO _lakehouse.runs VALUES ($runId, now()::TIMESTAMP, NULL, 'running', $dates, $selection, NULL)`,
      {
        runId,
        dates: dates.join(','),
        selection: (select ?? []).map((s) => s.trim()).join(' ') || 'all',
      },
    );
    await recordRunClock(db, runId, 'started');
  });
}

/**
 * Model records in one statement (a date's, or those of a run that failed before its models ran): a
 * date's dozen records one INSERT each were a tenth of a small date's statements.
 */
export async function insertModelRuns(db: Db, runId: string, records: ModelRunRecord[]): Promise<void> {
  if (records.length === 0) return;
  const params: DuckDBValue[] = [runId];
  const rows = records.map((r) => {
    const first = params.length + 1;
    params.push(
      r.model,
      r.etlDate,
      r.status,
      r.rowsIn,
      r.rowsOut,
      r.duplicatesRemoved,
      r.quarantined,
      r.durationMs,
      r.error ?? null,
      JSON.stringify(r.tests),
      JSON.stringify(r.warnings),
    );
    const $ = (i: number) => `$${first + i}`;
    return `($1, ${$(0)}, ${$(1)}::DATE, ${$(2)}, ${$(3)}, ${$(4)}, ${$(5)}, ${$(6)}, ${$(7)}, ${$(8)}, ${$(9)}, ${$(10)}, now()::TIMESTAMP)`;
  });
  await db.run(`INSERT INTO _lakehouse.model_runs VALUES ${rows.join(', ')}`, params);
}

/** Each model's text as this run reads it: the latest run of a model then says which text it ran. */
export async function recordModelTexts(db: Db, runId: string, models: Model[]): Promise<void> {
  for (const model of models) {
    await db.run(`DELETE FROM _lakehouse.model_texts WHERE model = $model AND kind = 'ran'`, {
      model: model.id,
    });
    await db.run(`INSERT INTO _lakehouse.model_texts VALUES ($model, 'ran', $runId, $text)`, {
      model: model.id,
      runId,
      text: model.text,
    });
  }
}

/** The texts a successful run ran become its models' last good versions, which a failed edit restores. */
export async function recordSucceededTexts(db: Db, runId: string): Promise<void> {
  await db.run(
    `DELETE FROM _lakehouse.model_texts WHERE kind = 'succeeded'
       AND model IN (SELECT model FROM _lakehouse.model_texts WHERE kind = 'ran' AND run_id = $runId)`,
    { runId },
  );
  await db.run(
    `INSERT INTO _lakehouse.model_texts
     SELECT model, 'succeeded', run_id, text FROM _lakehouse.model_texts WHERE kind = 'ran' AND run_id = $runId`,
    { runId },
  );
}

export async function finishRun(
  db: Db,
  runId: string,
  status: string,
  error?: { code: string; message: string },
): Promise<void> {
  await db.transaction(async () => {
    await db.run(
      `UPDATE _lakehouse.runs SET status = $status, finished_at = now()::TIMESTAMP, error = $error WHERE run_id = $runId`,
      {
        status,
        error: error?.message ?? null,
        runId,
      },
    );
    await recordRunClock(db, runId, 'finished');
    if (error)
      await db.run('INSERT INTO _lakehouse.run_errors VALUES ($runId, $code)', { runId, code: error.code });
  });
  // The run's dates are committed (in the write-ahead log); fold them into the warehouse file once,
  // now, rather than after each date. A query in flight on the reader makes a plain CHECKPOINT fail:
  // the log then stays until the next run, the size threshold or close, which is just as safe.
  await db.run('CHECKPOINT').catch(() => undefined);
}
