import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  type DescribeStatementResponse,
  ExecuteStatementCommand,
  type Field,
  GetStatementResultCommand,
  type RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { LakehouseError } from '../../api/errors.ts';
import type { TargetReader } from './plan.ts';

// The Redshift Data API: statements are submitted over HTTPS and polled to completion, so a publish
// needs no network path to the cluster. BatchExecuteStatement runs its statements in one transaction:
// if one fails, none of them is kept.

/** At most this many statements per BatchExecuteStatement call (a service limit). */
export const MAX_BATCH_STATEMENTS = 40;

export interface DataApiTarget {
  /** Redshift Serverless. */
  workgroupName?: string;
  /** A provisioned cluster, with dbUser (temporary credentials) or secretArn. */
  clusterIdentifier?: string;
  database: string;
  dbUser?: string;
  secretArn?: string;
}

export interface DataApiOptions {
  /** Delay between DescribeStatement polls (ms), growing to 5x this. */
  pollMs?: number;
}

export interface DataApi extends TargetReader {
  readonly label: string;
  /** Runs the statements as one transaction; resolves when it finished, rejects with what failed. */
  executeBatch(sqls: string[], signal?: AbortSignal): Promise<{ id: string; durationMs: number }>;
}

/**
 * What to do when the SDK found no usable credentials: the Data API is reached with the standard AWS
 * chain (the target's profile, else AWS_PROFILE), so the fix is in the shared AWS files or the environment.
 */
function credentialsAdvice(error: { name?: string; message: string }): string {
  const said = `${error.name ?? ''} ${error.message}`;
  if (/CredentialsProviderError|Could not load credentials|Could not resolve credentials/i.test(said)) {
    return (
      'No AWS credentials were found for the Data API: give the target a profile of ~/.aws/config (profile: in ' +
      'its publish.redshift entry, else AWS_PROFILE; run `aws sso login` for an SSO one) that holds keys, or ' +
      'export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then publish again.'
    );
  }
  if (/ExpiredToken|TokenRefreshRequired|RequestExpired/.test(said)) {
    return 'The AWS credentials have expired: refresh them (`aws sso login`, or new session keys) and publish again.';
  }
  return '';
}

type Terminal = Required<Pick<DescribeStatementResponse, 'Id'>> & DescribeStatementResponse;

export function createDataApi(
  client: RedshiftDataClient,
  target: DataApiTarget,
  options: DataApiOptions = {},
): DataApi {
  const label = target.workgroupName
    ? `workgroup ${target.workgroupName}/${target.database}`
    : `cluster ${target.clusterIdentifier ?? '?'}/${target.database}`;
  const pollMs = options.pollMs ?? 250;
  const where = {
    WorkgroupName: target.workgroupName,
    ClusterIdentifier: target.clusterIdentifier,
    Database: target.database,
    DbUser: target.dbUser,
    SecretArn: target.secretArn,
  };

  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      const e = error as Error & { name?: string };
      const said = `Redshift Data API ${what} on ${label} failed: ${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}`;
      const advice = credentialsAdvice(e);
      throw new LakehouseError('PUBLISH_FAILED', advice ? `${said.replace(/\.?$/, '.')} ${advice}` : said, {
        target: label,
        awsError: e.name ?? null,
      });
    }
  };

  const waitFor = async (id: string, signal?: AbortSignal): Promise<Terminal> => {
    let delay = pollMs;
    let cancelled = false;
    for (;;) {
      if (signal?.aborted && !cancelled) {
        cancelled = true;
        await call('CancelStatement', () => client.send(new CancelStatementCommand({ Id: id }))).catch(
          () => undefined,
        );
      }
      const status = await call('DescribeStatement', () =>
        client.send(new DescribeStatementCommand({ Id: id })),
      );
      if (status.Status === 'FINISHED' || status.Status === 'FAILED' || status.Status === 'ABORTED') {
        return { ...status, Id: id };
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, pollMs * 5);
    }
  };

  const failure = (status: Terminal, sqls: string[]): LakehouseError => {
    if (status.Status === 'ABORTED') {
      return new LakehouseError(
        'RUN_CANCELLED',
        `The publish to ${label} was cancelled; Redshift rolled it back.`,
        {
          target: label,
          statementId: status.Id,
        },
      );
    }
    const failed = status.SubStatements?.find((s) => s.Status === 'FAILED');
    const index = failed?.Id ? Number(failed.Id.split(':').pop()) - 1 : -1;
    const sql = failed?.QueryString ?? (index >= 0 ? sqls[index] : undefined) ?? status.QueryString ?? '';
    const message = failed?.Error ?? status.Error ?? 'unknown error';
    return new LakehouseError(
      /reconciliation failed/.test(message) ? 'PUBLISH_MISMATCH' : 'PUBLISH_FAILED',
      `${label} rolled the publish back: ${message}${index >= 0 ? ` (statement ${index + 1} of ${sqls.length})` : ''}`,
      { target: label, statementId: status.Id, sql: sql.length > 2000 ? `${sql.slice(0, 2000)}…` : sql },
    );
  };

  return {
    label,
    async query(sql) {
      const { Id } = await call('ExecuteStatement', () =>
        client.send(new ExecuteStatementCommand({ ...where, Sql: sql })),
      );
      if (!Id)
        throw new LakehouseError('PUBLISH_FAILED', `Redshift Data API on ${label} returned no statement id`);
      const status = await waitFor(Id);
      if (status.Status !== 'FINISHED') throw failure(status, [sql]);
      if (!status.HasResultSet) return [];
      const rows: Record<string, unknown>[] = [];
      let next: string | undefined;
      do {
        const page = await call('GetStatementResult', () =>
          client.send(new GetStatementResultCommand({ Id, NextToken: next })),
        );
        const names = (page.ColumnMetadata ?? []).map((c, i) => c.name ?? c.label ?? `column${i}`);
        for (const record of page.Records ?? []) {
          const row: Record<string, unknown> = {};
          record.forEach((field, i) => {
            row[names[i] ?? `column${i}`] = fieldValue(field);
          });
          rows.push(row);
        }
        next = page.NextToken;
      } while (next);
      return rows;
    },
    async executeBatch(sqls, signal) {
      if (sqls.length > MAX_BATCH_STATEMENTS) {
        throw new LakehouseError(
          'PUBLISH_FAILED',
          `This publish needs ${sqls.length} statements; the Data API runs at most ${MAX_BATCH_STATEMENTS} in one transaction. Publish fewer tables at a time (--tables).`,
          { target: label, statements: sqls.length },
        );
      }
      const started = Date.now();
      const { Id } = await call('BatchExecuteStatement', () =>
        client.send(new BatchExecuteStatementCommand({ ...where, Sqls: sqls })),
      );
      if (!Id)
        throw new LakehouseError('PUBLISH_FAILED', `Redshift Data API on ${label} returned no statement id`);
      const status = await waitFor(Id, signal);
      if (status.Status !== 'FINISHED') throw failure(status, sqls);
      return { id: Id, durationMs: Date.now() - started };
    },
  };
}

function fieldValue(field: Field): unknown {
  if (field.isNull) return null;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.blobValue !== undefined) return field.blobValue;
  return null;
}
