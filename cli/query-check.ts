import { LakehouseError } from '../engine/api/errors.ts';
import type { Db } from '../engine/db/duckdb.ts';
import { checkOneQuery } from '../engine/explore/export.ts';

const READS_ONLY =
  'lakehouse query only reads: one query (SELECT, WITH, FROM, VALUES, SHOW, DESCRIBE, SUMMARIZE). ' +
  'To change data, edit a model and run it: lakehouse run.';

/**
 * Refuses, before anything runs, a text that is not exactly one read query, with the same words whether
 * the warehouse is read here or through the open app (whose SQL console applies the same parser check).
 * `db` only parses: any connection will do. Nothing to run and several statements are usage errors (exit 2).
 */
export async function checkCommandLineQuery(db: Db, sql: string): Promise<void> {
  try {
    await checkOneQuery(db, sql, READS_ONLY);
  } catch (error) {
    const reason = error instanceof LakehouseError ? error.details.reason : undefined;
    if (reason === 'no-statement') {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        'There is no query to run: the SQL holds only blanks, comments or semicolons. ' +
          'Give one query, e.g. lakehouse query ./demo "SELECT 1".',
      );
    }
    if (reason === 'several-statements') {
      const count = await db.connection.extractStatements(sql).then((s) => s.count);
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `lakehouse query runs one statement; this SQL holds ${count}. Run them one at a time.`,
      );
    }
    if (reason === 'not-a-query') throw new LakehouseError('QUERY_ERROR', READS_ONLY, { sql });
    throw error;
  }
}
