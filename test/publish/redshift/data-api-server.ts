import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { serveOnLoopback } from '../../helpers/loopback.ts';

// A loopback server answering the Redshift Data API's JSON 1.1 protocol as AWS documents it: POST /
// with `X-Amz-Target: RedshiftData.<Operation>`, JSON bodies, errors as HTTP 400 with `__type`.
// Statements move SUBMITTED → STARTED → FINISHED (or FAILED) on successive DescribeStatement calls;
// CancelStatement makes a running one ABORTED. What a statement returns or why it fails is up to the test.

export interface StatementOutcome {
  /** Rows of a SELECT: column names, then values (string, number, boolean or null). */
  columns?: string[];
  rows?: (string | number | boolean | null)[][];
  /** Makes the statement (and its batch) FAILED with this message. */
  error?: string;
}

export interface DataApiRequest {
  operation: string;
  body: Record<string, unknown>;
  /** The access key the request was signed with. */
  accessKeyId: string;
  /** The region of the signature's credential scope: where the client sent the request for. */
  region: string;
}

export interface DataApiServer {
  endpoint: string;
  requests: DataApiRequest[];
  close(): Promise<void>;
}

interface Statement {
  id: string;
  sqls: string[];
  outcomes: StatementOutcome[];
  describes: number;
  aborted: boolean;
  /** Polls answered SUBMITTED/STARTED before the final state. */
  pollsToFinish: number;
  createdAt: number;
  target: Record<string, unknown>;
}

export interface DataApiServerOptions {
  /** Decides each statement's outcome; called when the statement is submitted. */
  run(sql: string): StatementOutcome | Promise<StatementOutcome>;
  /** Polls a statement stays SUBMITTED/STARTED; default 2. */
  pollsToFinish?: number;
}

function field(value: string | number | boolean | null): Record<string, unknown> {
  if (value === null) return { isNull: true };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { longValue: value } : { doubleValue: value };
  if (typeof value === 'boolean') return { booleanValue: value };
  return { stringValue: value };
}

export async function startDataApiServer(options: DataApiServerOptions): Promise<DataApiServer> {
  const statements = new Map<string, Statement>();
  const requests: DataApiRequest[] = [];

  const error = (res: ServerResponse, type: string, message: string) => {
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type });
    res.end(JSON.stringify({ __type: type, message }));
  };
  const reply = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(body));
  };

  const status = (s: Statement): 'SUBMITTED' | 'STARTED' | 'FINISHED' | 'FAILED' | 'ABORTED' => {
    if (s.aborted) return 'ABORTED';
    if (s.describes <= 1 && s.pollsToFinish > 0) return 'SUBMITTED';
    if (s.describes <= s.pollsToFinish) return 'STARTED';
    return s.outcomes.some((o) => o.error) ? 'FAILED' : 'FINISHED';
  };

  const submit = async (res: ServerResponse, body: Record<string, unknown>, sqls: string[]) => {
    if (typeof body.Database !== 'string') return error(res, 'ValidationException', 'Database is required');
    if (!body.WorkgroupName === !body.ClusterIdentifier) {
      return error(res, 'ValidationException', 'Either WorkgroupName or ClusterIdentifier must be specified');
    }
    if (body.ClusterIdentifier && !body.DbUser && !body.SecretArn) {
      return error(res, 'ValidationException', 'DbUser or SecretArn is required with ClusterIdentifier');
    }
    if (sqls.length === 0 || sqls.length > 40) {
      return error(res, 'ValidationException', 'Sqls must have between 1 and 40 statements');
    }
    const outcomes: StatementOutcome[] = [];
    // A batch is one transaction: statements after a failing one never run.
    for (const sql of sqls) {
      const outcome = await options.run(sql);
      outcomes.push(outcome);
      if (outcome.error) break;
    }
    const statement: Statement = {
      id: randomUUID(),
      sqls,
      outcomes,
      describes: 0,
      aborted: false,
      pollsToFinish: options.pollsToFinish ?? 2,
      createdAt: Date.now() / 1000,
      target: body,
    };
    statements.set(statement.id, statement);
    reply(res, {
      Id: statement.id,
      CreatedAt: statement.createdAt,
      Database: body.Database,
      ...(body.WorkgroupName
        ? { WorkgroupName: body.WorkgroupName }
        : { ClusterIdentifier: body.ClusterIdentifier }),
      ...(body.DbUser ? { DbUser: body.DbUser } : {}),
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.replace(/^RedshiftData\./, '');
    if (req.method !== 'POST' || !target.startsWith('RedshiftData.')) {
      return error(res, 'UnknownOperationException', `Unknown operation ${target}`);
    }
    if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256')) {
      return error(res, 'MissingAuthenticationTokenException', 'Request is missing Authentication Token');
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    // Credential=<key>/<date>/<region>/redshift-data/aws4_request
    const scope = /Credential=([^/]+)\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization));
    requests.push({ operation, body, accessKeyId: scope?.[1] ?? '', region: scope?.[2] ?? '' });
    const statement = typeof body.Id === 'string' ? statements.get(body.Id.split(':')[0] ?? '') : undefined;
    switch (operation) {
      case 'ExecuteStatement':
        return submit(res, body, [String(body.Sql ?? '')]);
      case 'BatchExecuteStatement':
        return submit(res, body, Array.isArray(body.Sqls) ? body.Sqls.map(String) : []);
      case 'DescribeStatement': {
        if (!statement)
          return error(res, 'ResourceNotFoundException', `Query does not exist: ${String(body.Id)}`);
        statement.describes++;
        const state = status(statement);
        const failed = statement.outcomes.findIndex((o) => o.error);
        const done = state === 'FINISHED' || state === 'FAILED';
        const sub = statement.sqls.map((sql, i) => ({
          Id: `${statement.id}:${i + 1}`,
          QueryString: sql,
          Status:
            state === 'ABORTED'
              ? 'ABORTED'
              : !done
                ? state
                : i === failed
                  ? 'FAILED'
                  : failed >= 0
                    ? 'ABORTED'
                    : 'FINISHED',
          ...(done && i === failed ? { Error: statement.outcomes[i]?.error } : {}),
          HasResultSet: Boolean(statement.outcomes[i]?.columns),
          CreatedAt: statement.createdAt,
          UpdatedAt: Date.now() / 1000,
        }));
        return reply(res, {
          Id: statement.id,
          Status: state,
          CreatedAt: statement.createdAt,
          UpdatedAt: Date.now() / 1000,
          Database: statement.target.Database,
          ...(statement.sqls.length === 1
            ? { QueryString: statement.sqls[0], HasResultSet: Boolean(statement.outcomes[0]?.columns) }
            : { SubStatements: sub }),
          ...(state === 'FAILED' ? { Error: statement.outcomes[failed]?.error } : {}),
        });
      }
      case 'CancelStatement': {
        if (!statement)
          return error(res, 'ResourceNotFoundException', `Query does not exist: ${String(body.Id)}`);
        const state = status(statement);
        if (state === 'FINISHED' || state === 'FAILED') {
          return error(
            res,
            'ValidationException',
            `Could not cancel a query that is already in ${state} state`,
          );
        }
        statement.aborted = true;
        return reply(res, { Status: true });
      }
      case 'GetStatementResult': {
        if (!statement)
          return error(res, 'ResourceNotFoundException', `Query does not exist: ${String(body.Id)}`);
        if (status(statement) !== 'FINISHED') {
          return error(res, 'ValidationException', 'Query has not finished or has no result set');
        }
        const index = String(body.Id).includes(':') ? Number(String(body.Id).split(':')[1]) - 1 : 0;
        const outcome = statement.outcomes[index];
        if (!outcome?.columns) return error(res, 'ResourceNotFoundException', 'Query does not have result');
        return reply(res, {
          ColumnMetadata: outcome.columns.map((name) => ({ name, label: name, typeName: 'varchar' })),
          Records: (outcome.rows ?? []).map((row) => row.map(field)),
          TotalNumRows: outcome.rows?.length ?? 0,
        });
      }
      default:
        return error(res, 'UnknownOperationException', `Unknown operation ${operation}`);
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => error(res, 'InternalServerException', e.message));
  });
  return { ...(await serveOnLoopback(server)), requests };
}
