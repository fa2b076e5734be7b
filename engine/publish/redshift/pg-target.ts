import { constants, createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { LakehouseError } from '../../api/errors.ts';
import type { TargetReader } from './plan.ts';

// A target reached over the PostgreSQL wire protocol (PostgreSQL, or Redshift provisioned): one client,
// one transaction for the whole publish. Cancelling asks the server to cancel the running statement
// (pg_cancel_backend from a second connection), after which the transaction rolls back.

export interface PgConnection extends TargetReader {
  readonly label: string;
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  execute(sql: string): Promise<void>;
  /**
   * Streams a local file into a COPY ... FROM STDIN statement. With `written`, the file is a named pipe
   * another writer fills: the copy ends when both sides have, and neither is left blocked if one fails.
   */
  copyIn(sql: string, file: string, written?: Promise<void>): Promise<void>;
  /** Cancels the statement running now (no-op when idle). */
  cancel(): Promise<void>;
  close(): Promise<void>;
}

/** `user@host:port/db`, for messages (never the password). */
export function describeConnection(config: pg.ClientConfig): string {
  if (config.connectionString) {
    try {
      const url = new URL(config.connectionString);
      return `${decodeURIComponent(url.username)}@${url.hostname}:${url.port || 5432}${url.pathname}`;
    } catch {
      return 'the database (its URL does not parse)';
    }
  }
  return `${config.user ?? ''}@${config.host ?? 'localhost'}:${config.port ?? 5432}/${config.database ?? ''}`;
}

/**
 * A failure caused by another transaction creating or changing the same objects meanwhile: two first
 * publishes both create the schema and tables (the loser trips on a catalog unique index), or lock
 * each other. Publishing again, after the other one, succeeds.
 */
function concurrentChange(e: { code?: string; constraint?: string }): boolean {
  if (e.code === '23505') return e.constraint?.startsWith('pg_') ?? false;
  return ['42P06', '42P07', '40P01', '40001'].includes(e.code ?? '');
}

/**
 * The connection itself failed (the server stopped or restarted, the backend was terminated, the network
 * dropped), as opposed to the server refusing a statement: SQLSTATE class 08, 57P01-57P03, or
 * node-postgres's own errors for a closed socket, which carry no SQLSTATE.
 */
function connectionLost(e: { code?: string; message: string }): boolean {
  if (e.code?.startsWith('08') || ['57P01', '57P02', '57P03'].includes(e.code ?? '')) return true;
  return (
    !/^[0-9A-Z]{5}$/.test(e.code ?? '') &&
    /Connection terminated|connection error|not queryable|ECONNRESET|EPIPE|ETIMEDOUT/i.test(e.message)
  );
}

export async function connectPg(
  config: pg.ClientConfig,
  passwordSource = "PGPASSWORD with --url, or the variable the target's password_env names",
): Promise<PgConnection> {
  const label = describeConnection(config);
  const client = new pg.Client({ ...config, application_name: 'lakehouse-publish' });
  try {
    await client.connect();
  } catch (error) {
    // A client failed mid-handshake keeps its socket until the server times out (60 s): close it.
    void client.end().catch(() => undefined);
    const message = (error as Error).message;
    // node-postgres says "client password must be a string" when the server asks for a password
    // and none was given: say that in the user's terms.
    if (/password must be a string/.test(message)) {
      throw new LakehouseError(
        'PUBLISH_FAILED',
        `Cannot connect to ${label}: the server asks for a password and none was given. ` +
          `Set ${passwordSource} and retry.`,
        { target: label },
      );
    }
    throw new LakehouseError(
      'PUBLISH_FAILED',
      `Cannot connect to ${label}: ${message}. Check the host, port, user and password (${passwordSource}).`,
      { target: label },
    );
  }
  // A failed connection mid-publish surfaces as the failure of the statement running; nothing to do here.
  client.on('error', () => undefined);
  const fail = (error: unknown, sql: string): never => {
    if (error instanceof LakehouseError) throw error;
    const e = error as Error & { code?: string; detail?: string; table?: string; constraint?: string };
    if (connectionLost(e)) {
      // Only a lost COMMIT can leave the outcome unknown (commit() says so); any statement before it,
      // BEGIN included, ran inside a transaction that never committed.
      throw new LakehouseError(
        'PUBLISH_FAILED',
        `Lost the connection to ${label} during the publish (${e.message}). Nothing was changed: the ` +
          'publish is one transaction and it had not committed. Publish again once the server is reachable.',
        {
          target: label,
          sql: sql.length > 2000 ? `${sql.slice(0, 2000)}…` : sql,
          sqlState: e.code ?? null,
          commitStateUnknown: false,
        },
      );
    }
    throw new LakehouseError(
      'PUBLISH_FAILED',
      `${label} refused a statement: ${e.message}${e.detail ? ` (${e.detail})` : ''}` +
        // 2BP01: a view (or another object) on a table the publish replaces by a swap blocks its drop.
        (e.code === '2BP01'
          ? '. Nothing was changed: drop the dependent object named above, publish, then create it again.'
          : concurrentChange(e)
            ? '. Nothing was changed (the publish is one transaction): another session, most likely another publish to this target, created or changed the same schema or tables at the same time. Publish again once it has finished.'
            : ''),
      {
        target: label,
        sql: sql.length > 2000 ? `${sql.slice(0, 2000)}…` : sql,
        sqlState: e.code ?? null,
        constraint: e.constraint ?? null,
      },
    );
  };
  // Date keys are compared with DuckDB's text of them (YYYY-MM-DD); a role or database may set another style.
  const setupSql = 'SET DateStyle = ISO; SELECT pg_backend_pid() AS pid';
  let setup: pg.QueryResult | pg.QueryResult[];
  try {
    setup = (await client.query(setupSql)) as pg.QueryResult | pg.QueryResult[];
  } catch (error) {
    await client.end().catch(() => undefined);
    return fail(error, setupSql);
  }
  const pid = Number((Array.isArray(setup) ? setup.at(-1) : setup)?.rows[0]?.pid ?? 0);
  return {
    label,
    async query(sql) {
      try {
        return (await client.query(sql)).rows as Record<string, unknown>[];
      } catch (error) {
        return fail(error, sql);
      }
    },
    async begin() {
      try {
        await client.query('BEGIN');
      } catch (error) {
        fail(error, 'BEGIN');
      }
    },
    async commit() {
      try {
        await client.query('COMMIT');
      } catch (error) {
        const e = error as Error & { code?: string };
        if (!connectionLost(e)) fail(error, 'COMMIT');
        // The server may have committed before the connection went: only the target can tell.
        throw new LakehouseError(
          'PUBLISH_FAILED',
          `Lost the connection to ${label} while committing the publish (${e.message}): it may or may not ` +
            'have been applied. Publish again once the server is reachable: a publish compares the gold ' +
            'tables with what the target holds, so it completes or repeats this one safely.',
          { target: label, sql: 'COMMIT', sqlState: e.code ?? null, commitStateUnknown: true },
        );
      }
    },
    async rollback() {
      await client.query('ROLLBACK').catch(() => undefined);
    },
    async execute(sql) {
      try {
        await client.query(sql);
      } catch (error) {
        fail(error, sql);
      }
    },
    async copyIn(sql, file, written) {
      const copying = pipeline(createReadStream(file), client.query(copyFrom(sql)));
      let writerFailure: unknown;
      // A writer failing before it opened the pipe would leave the reader waiting: open and close the
      // write end once, so the reader sees the end of the data and the COPY finishes (then rolls back).
      written?.catch(async (error) => {
        writerFailure = error;
        const handle = await open(file, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => null);
        await handle?.close();
      });
      try {
        await copying;
      } catch (error) {
        // The reader is gone: a writer still waiting to open the pipe gets a reader for a moment, then EPIPE.
        const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => null);
        await handle?.close();
        await written?.catch(() => undefined);
        fail(error, sql);
      }
      await written?.catch(() => undefined);
      if (writerFailure) {
        throw new LakehouseError(
          'PUBLISH_FAILED',
          `Exporting rows for ${sql.slice(0, 200)} failed: ${(writerFailure as Error).message}`,
          { target: label, sql },
        );
      }
    },
    async cancel() {
      const canceller = new pg.Client(config);
      try {
        await canceller.connect();
        await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
      } catch {
        // The publish ends on its own; a failed cancel only means it runs to its next step.
      } finally {
        await canceller.end().catch(() => undefined);
      }
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}
