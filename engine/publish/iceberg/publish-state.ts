import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { inNumber } from '../../api/counted.ts';
import type { Db } from '../../db/duckdb.ts';
import { writeFileAtomically } from '../../storage/atomic-file.ts';

/**
 * A fact whose rows carry, in this DATE column, the ETL date of the run that wrote them can be compared
 * with its published table only where runs changed it since the last publish.
 */
export const LINEAGE_COLUMN = 'etl_date';

/**
 * What the last publish of a partitioned table established: Iceberg snapshot `snapshotId` equals the
 * local table as of the runs in `etlRuns` (every later run commits an ETL date with a new run id).
 */
export interface PublishState {
  tableUuid: string;
  snapshotId: string;
  model: string;
  /** The schema and partition column the comparison ran with: any change voids the state. */
  layout: string;
  /** ETL date (YYYY-MM-DD) → the run that had last committed it for the model. */
  etlRuns: Record<string, string>;
}

const stateFile = (stateDir: string, location: string) =>
  join(stateDir, 'publish-state', `${createHash('sha1').update(location).digest('hex')}.json`);

export async function readPublishState(
  stateDir: string,
  location: string,
): Promise<PublishState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(stateDir, location), 'utf8')) as PublishState;
  } catch {
    return undefined;
  }
}

export async function writePublishState(
  stateDir: string,
  location: string,
  state: PublishState,
): Promise<void> {
  // Two publishes of one table (the app's and the CLI's) may finish at once: each writes aside.
  await writeFileAtomically(stateFile(stateDir, location), JSON.stringify(state));
}

/** Drops the state, so the next publish compares every partition (after a failed reconciliation). */
export async function forgetPublishState(stateDir: string, location: string): Promise<void> {
  await rm(stateFile(stateDir, location), { force: true });
}

/**
 * The ETL dates a model has committed, each with the run that last committed it (from the warehouse's
 * `_lakehouse.model_dates`), or undefined when the warehouse keeps no run bookkeeping.
 */
export async function committedEtlRuns(db: Db, model: string): Promise<Record<string, string> | undefined> {
  const bookkeeping = await db.scalar<number>(
    `SELECT count(*) FROM duckdb_tables()
     WHERE database_name = current_database() AND schema_name = '_lakehouse' AND table_name = 'model_dates'`,
  );
  if (Number(bookkeeping) === 0) return undefined;
  const rows = await db.all<{ d: string; run_id: string }>(
    `SELECT strftime(etl_date, '%Y-%m-%d') AS d, run_id FROM _lakehouse.model_dates WHERE model = $model`,
    { model },
  );
  return Object.fromEntries(rows.map((r) => [r.d, r.run_id]));
}

/**
 * The ETL dates committed by runs the last publish did not cover, or a reason to compare everything:
 * no state, or a date the state covered that is no longer committed (the table changed outside a run).
 */
export function etlDatesSince(
  previous: Record<string, string>,
  current: Record<string, string>,
): { dates: string[] } | { reason: string } {
  const vanished = Object.keys(previous).filter((d) => !(d in current));
  if (vanished.length > 0)
    return {
      reason: `ETL ${inNumber(vanished.length, 'date')} ${vanished.slice(0, 3).join(', ')} published before ${inNumber(vanished.length, 'is', 'are')} no longer committed`,
    };
  return {
    dates: Object.keys(current)
      .filter((d) => previous[d] !== current[d])
      .sort(),
  };
}
