import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BINARY_REPLY_TYPE, decodeBinaryReply } from '../engine/api/binary-reply.ts';
import { LakehouseError } from '../engine/api/errors.ts';
import { type JsonRowBatch, openDb, readParquet, streamJsonRows } from '../engine/db/duckdb.ts';
import type { Engine, QueryResult, StreamedQuery } from '../engine/engine.ts';
import { megabytes } from '../engine/explore/export.ts';
import { loadModels } from '../engine/project/models.ts';
import { findServer, type ServerRecord } from '../server/discovery.ts';
import { checkCommandLineQuery } from './query-check.ts';

/**
 * The reads of `tables`, `runs` and `query`, either from the warehouse itself or, while the app holds
 * it open (a read-only open then fails with RUN_LOCKED), from the app's loopback API with the token it
 * registered (server/discovery.ts). Both give the same shapes, so the output does not depend on which.
 */
export interface ProjectReads {
  tables(): ReturnType<Engine['tables']>;
  runs(limit: number): ReturnType<Engine['runs']>;
  /** Which upstream a model's rows are reconciled with (its header's `reconcile_with:`). */
  reconcileWith(model: string): string | undefined;
  /** Every row of a one-statement query, a chunk at a time as they are read, so none is held whole. */
  query(sql: string): Promise<StreamedQuery>;
  /**
   * The query's row count by `count(*)` over it, when running it again gives the rows shown
   * (countAgainSql); null otherwise. Asked before `query`: both use one connection.
   */
  countAgain(sql: string): Promise<(() => Promise<number>) | null>;
}

/** The running app's API for the project when the warehouse is locked by it; undefined otherwise. */
export async function readsThroughApp(
  projectDir: string,
  locked: unknown,
): Promise<ProjectReads | undefined> {
  if (!(locked instanceof LakehouseError && locked.code === 'RUN_LOCKED')) return undefined;
  const server = await findServer(projectDir);
  if (!server) return undefined;
  process.stderr.write(`note: the app has this project open (${server.origin}); reading through it.\n`);
  // The model files say what the app's engine read from them (a file edited since is read as it is now).
  const { models } = await loadModels(resolve(projectDir));
  return {
    reconcileWith: (id) => models.find((m) => m.id === id)?.config.reconcile_with,
    tables: async () =>
      (await call<{ tables: Awaited<ReturnType<Engine['tables']>> }>(server, 'tables.list', {})).tables,
    runs: async (limit) =>
      (await call<{ runs: Awaited<ReturnType<Engine['runs']>> }>(server, 'runs.list', { limit })).runs,
    // The app reads the rows whole already (a window, or its Parquet export): counting them costs nothing more.
    countAgain: async () => null,
    async query(sql) {
      // Checked here as a local read checks it, so the refusals read the same (the app words its own for its console).
      const parser = await openDb();
      try {
        await checkCommandLineQuery(parser, sql);
      } finally {
        parser.close();
      }
      // One window answers most queries exactly. A bigger result comes whole, as the Parquet file of the
      // app's export, read here: paging with OFFSET would run the query again per window, and a query
      // without ORDER BY may return its rows in another order each time.
      type Window = QueryResult & { hasMore: boolean };
      const first = await call<Window>(server, 'query.run', { sql, limit: 10_000 });
      if (!first.hasMore) return { columns: first.columns, batches: oneBatch(first.rows) };
      const file = await call<{ content: Uint8Array }>(server, 'query.export', {
        sql,
        format: 'parquet',
      }).catch((error: unknown) => {
        // The download's limit, whose advice names this very command: what lifts it here is the app.
        if (!(error instanceof LakehouseError && error.details.limit !== undefined)) throw error;
        // No bad argument (exit 2): the query failed here, as it would not on the warehouse itself.
        throw new LakehouseError(
          'QUERY_ERROR',
          `While the app has the project open, lakehouse query reads a result of more than 10,000 rows through its download, and this one passed the download's ${megabytes(Number(error.details.limit))}. Close the app for lakehouse query to read the warehouse itself, or narrow the query (a WHERE, a LIMIT or an aggregate).`,
          error.details,
        );
      });
      return { columns: first.columns, batches: parquetRows(file.content) };
    },
  };
}

async function* oneBatch(rows: Record<string, unknown>[]): AsyncGenerator<JsonRowBatch> {
  yield { rowCount: rows.length, rows: () => rows };
}

/** The rows of a Parquet file, in the JSON form `lakehouse query --json` prints (as jsonRows gives them). */
async function* parquetRows(content: Uint8Array): AsyncGenerator<JsonRowBatch> {
  const dir = await mkdtemp(join(tmpdir(), 'lakehouse-query-'));
  const db = await openDb();
  try {
    const file = join(dir, 'result.parquet');
    await writeFile(file, content);
    yield* (await streamJsonRows(db.connection, `SELECT * FROM ${readParquet(file)}`)).batches;
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function call<T>(server: ServerRecord, method: string, input: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${server.origin}/rpc/${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
  } catch (error) {
    throw new LakehouseError(
      'RUN_LOCKED',
      `The app that has this project open (${server.origin}) did not answer: ${(error as Error).message}. Close it, or wait for it, then retry.`,
    );
  }
  if (response.ok && response.headers.get('content-type') === BINARY_REPLY_TYPE) {
    return decodeBinaryReply(await response.arrayBuffer()) as T;
  }
  const body = (await response.json()) as T & {
    code?: string;
    message?: string;
    details?: Record<string, unknown>;
  };
  if (!response.ok) {
    throw new LakehouseError(
      (body.code ?? 'INTERNAL') as LakehouseError['code'],
      body.message ?? `HTTP ${response.status}`,
      body.details ?? {},
    );
  }
  return body;
}
