import { resolve } from 'node:path';
import { LakehouseError } from '../engine/api/errors.ts';
import type { Engine } from '../engine/engine.ts';
import { loadModels } from '../engine/project/models.ts';
import { findServer, type ServerRecord } from '../server/discovery.ts';

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
  /** Every row of a one-statement query. */
  query(sql: string): Promise<{ columns: { name: string; type: string }[]; rows: Record<string, unknown>[] }>;
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
    async query(sql) {
      // The API answers in windows of at most 10,000 rows; the command prints them all.
      type Window = Awaited<ReturnType<ProjectReads['query']>> & { hasMore: boolean };
      const first = await call<Window>(server, 'query.run', { sql, limit: 10_000 });
      const rows = [...first.rows];
      for (let window = first; window.hasMore; ) {
        window = await call<Window>(server, 'query.run', { sql, limit: 10_000, offset: rows.length });
        rows.push(...window.rows);
      }
      return { columns: first.columns, rows };
    },
  };
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
