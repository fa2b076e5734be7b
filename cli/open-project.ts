// How a command opens a project: read-write for a run or a drop, or for reads read-only (or through the
// app while it holds the warehouse), saying which models a run would refuse. Shared by the commands.

import { LakehouseError } from '../engine/api/errors.ts';
import { createEngine, type Engine } from '../engine/engine.ts';
import type { Model } from '../engine/project/models.ts';
import { withProjectArg } from './format.ts';
import { checkCommandLineQuery, countAgainSql } from './query-check.ts';
import { type ProjectReads, readsThroughApp } from './remote.ts';

/** Opens the project for `fn`, closing it after; opened read-only, it first notes what a run would refuse. */
export async function withEngine<T>(
  dir: string,
  readOnly: boolean,
  fn: (engine: Engine) => Promise<T>,
  memoryLimit?: string,
): Promise<T> {
  const engine = await createEngine({ projectDir: dir, readOnly, memoryLimit });
  // A read works on a project with a broken model (the committed state); say why a run would not.
  if (readOnly) noteModelErrors(engine, dir);
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

/**
 * Runs the reads of `tables`, `runs` or `query` on the warehouse opened read-only, or, while the app
 * holds it, through the app's API (cli/remote.ts).
 */
export async function withReads(dir: string, fn: (reads: ProjectReads) => Promise<number>): Promise<number> {
  let engine: Engine;
  try {
    engine = await createEngine({ projectDir: dir, readOnly: true });
  } catch (error) {
    const throughApp = await readsThroughApp(dir, error);
    if (throughApp) return fn(throughApp);
    // No run has opened the project yet: it has no tables and no runs, which is no error; a query is.
    if (error instanceof LakehouseError && error.details.reason === 'no-warehouse') {
      return fn({
        tables: async () => [],
        runs: async () => [],
        reconcileWith: () => undefined,
        query: async () => {
          throw error;
        },
        countAgain: async () => null,
      });
    }
    throw error;
  }
  // A read works on a project with a broken model (the committed state); say why a run would not.
  noteModelErrors(engine, dir);
  try {
    return await fn({
      tables: () => engine.tables(),
      runs: (limit) => engine.runs(limit),
      reconcileWith: reconcileWithOf(engine.models),
      query: async (sql) => {
        await checkCommandLineQuery(engine.reader, sql);
        // Only a read gets past the check, so the read-only warehouse never has to refuse a write.
        return engine.streamQuery(sql);
      },
      countAgain: async (sql) => {
        const countSql = await countAgainSql(engine.reader, sql);
        if (countSql === null) return null;
        // A row that fails to compute fails the count as it fails reading: the query's error, not ours.
        return async () =>
          Number(
            (await engine.reader.scalar<number | bigint>(countSql).catch((error: unknown) => {
              throw new LakehouseError('QUERY_ERROR', (error as Error).message, { sql });
            })) ?? 0,
          );
      },
    });
  } finally {
    engine.close();
  }
}

/** On stderr, the model errors a run fails on until fixed: the tables read are the last committed state. */
function noteModelErrors(engine: Engine, projectArg: string): void {
  const errors = engine.modelErrors;
  if (errors.length === 0) return;
  const which = errors.length === 1 ? 'this is' : 'these are';
  process.stderr.write(
    `note: lakehouse run fails until ${which} fixed; the tables read here are the last committed state:\n` +
      errors.map((e) => `  ${withProjectArg(e.message, projectArg).replaceAll('\n', '\n  ')}\n`).join(''),
  );
}

/** Which upstream each model's rows are reconciled with (`reconcile_with:` of its header). */
export function reconcileWithOf(models: Model[]): (model: string) => string | undefined {
  return (id) => models.find((m) => m.id === id)?.config.reconcile_with;
}
