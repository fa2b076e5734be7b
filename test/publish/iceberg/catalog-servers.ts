import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isSafeNumber, parse, stringify } from 'lossless-json';
import type { FileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { parseMetadata, serializeMetadata } from '../../../engine/publish/iceberg/metadata-json.ts';
import type {
  IcebergSchema,
  PartitionSpec,
  Snapshot,
  SortOrder,
  TableMetadata,
} from '../../../engine/publish/iceberg/spec.ts';
import { newTableMetadata } from '../../../engine/publish/iceberg/table.ts';
import { serveOnLoopback } from '../../helpers/loopback.ts';

// Loopback servers speaking the parts of the Iceberg REST catalog and AWS Glue protocols a publisher
// uses, answering as their documentation says (status codes, error bodies, error types).

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function rawBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const lossless = (text: string) =>
  (text ? parse(text, null, (v: string) => (isSafeNumber(v) ? Number(v) : BigInt(v))) : {}) as Record<
    string,
    unknown
  >;

async function listen(server: Server): Promise<string> {
  return (await serveOnLoopback(server)).endpoint;
}

interface StoredTable {
  metadata: TableMetadata;
  metadataLocation: string;
  version: number;
}

export interface RestCatalogServer {
  url: string;
  tables: Map<string, StoredTable>;
  commits: number;
  /**
   * Answer the next commits with these statuses; `applied` first applies the commit, then fails (lost
   * reply). With `body`, that text is the answer (a 200 without `metadata-location`, or not JSON at all).
   */
  failNext: { status: number; applied: boolean; body?: string }[];
  /** Answer the next this many loads of a table (GET .../tables/{t}) with 503. */
  failLoads: number;
  close(): Promise<void>;
}

/** An Iceberg REST catalog (prefix `cat`) over a FileIO: it writes the metadata files itself, as real catalogs do. */
export async function startRestCatalog(io: FileIO): Promise<RestCatalogServer> {
  const tables = new Map<string, StoredTable>();
  const namespaces = new Set<string>();
  const state: RestCatalogServer = {
    url: '',
    tables,
    commits: 0,
    failNext: [],
    failLoads: 0,
    close: async () => undefined,
  };
  const send = (res: ServerResponse, status: number, payload: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(stringify(payload) ?? '');
  };
  const error = (res: ServerResponse, status: number, type: string, message: string) =>
    send(res, status, { error: { message, type, code: status } });
  const faultAnswer = (res: ServerResponse, fault: RestCatalogServer['failNext'][number], message: string) =>
    fault.body === undefined
      ? error(res, fault.status, 'ServiceFailure', message)
      : res.writeHead(fault.status, { 'content-type': 'application/json' }).end(fault.body);
  const save = async (key: string, metadata: TableMetadata, previous?: StoredTable) => {
    const version = (previous?.version ?? 0) + 1;
    const metadataLocation = `${metadata.location}/metadata/${String(version).padStart(5, '0')}-rest.metadata.json`;
    const logged: TableMetadata = previous
      ? {
          ...metadata,
          'metadata-log': [
            ...metadata['metadata-log'],
            {
              'metadata-file': previous.metadataLocation,
              'timestamp-ms': previous.metadata['last-updated-ms'],
            },
          ],
        }
      : metadata;
    await io.write(metadataLocation, serializeMetadata(logged));
    // Re-read what was written: the catalog serves exactly the file.
    const stored = {
      metadata: parseMetadata((await io.read(metadataLocation)).toString('utf8'), metadataLocation),
      metadataLocation,
      version,
    };
    tables.set(key, stored);
    return stored;
  };
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const payload = lossless(await body(req));
      if (req.method === 'GET' && url.pathname === '/v1/config')
        return send(res, 200, { defaults: {}, overrides: { prefix: 'cat' } });
      if (parts[0] !== 'v1' || parts[1] !== 'cat' || parts[2] !== 'namespaces')
        return error(res, 404, 'NotFoundException', 'no route');
      if (parts.length === 3 && req.method === 'POST') {
        const ns = (payload.namespace as string[]).join('.');
        if (namespaces.has(ns))
          return error(res, 409, 'AlreadyExistsException', `Namespace already exists: ${ns}`);
        namespaces.add(ns);
        return send(res, 200, { namespace: [ns], properties: {} });
      }
      const ns = parts[3] ?? '';
      if (parts.length === 5 && parts[4] === 'tables' && req.method === 'POST') {
        if (!namespaces.has(ns))
          return error(res, 404, 'NoSuchNamespaceException', `Namespace does not exist: ${ns}`);
        const key = `${ns}.${payload.name as string}`;
        if (tables.has(key)) return error(res, 409, 'AlreadyExistsException', `Table already exists: ${key}`);
        const metadata = newTableMetadata(
          String(payload.location),
          payload.schema as IcebergSchema,
          payload['partition-spec'] as TableMetadata['partition-specs'][number],
          (payload.properties as Record<string, string>) ?? {},
        );
        // A staged create registers nothing: the commit with assert-create makes the table.
        if (payload['stage-create'] === true) return send(res, 200, { metadata, config: {} });
        const stored = await save(key, metadata);
        return send(res, 200, {
          'metadata-location': stored.metadataLocation,
          metadata: stored.metadata,
          config: {},
        });
      }
      const key = `${ns}.${parts[5] ?? ''}`;
      const table = tables.get(key);
      if (parts.length === 6 && req.method === 'GET') {
        if (state.failLoads > 0) {
          state.failLoads--;
          return error(res, 503, 'ServiceUnavailable', 'catalog unavailable');
        }
        if (!table) return error(res, 404, 'NoSuchTableException', `Table does not exist: ${key}`);
        return send(res, 200, {
          'metadata-location': table.metadataLocation,
          metadata: table.metadata,
          config: {},
        });
      }
      if (parts.length === 6 && req.method === 'POST') {
        const requirements = payload.requirements as Record<string, unknown>[];
        const creating = requirements.some((r) => r.type === 'assert-create');
        if (creating && table)
          return error(res, 409, 'CommitFailedException', `Requirement failed: table ${key} already exists`);
        if (!table && !creating)
          return error(res, 404, 'NoSuchTableException', `Table does not exist: ${key}`);
        const fault = state.failNext.shift();
        if (fault && !fault.applied) return faultAnswer(res, fault, 'upstream failure');
        // A create transaction starts from nothing: its updates set every part of the metadata.
        const m: TableMetadata = table?.metadata ?? {
          ...newTableMetadata(
            '',
            { type: 'struct', 'schema-id': 0, fields: [] },
            { 'spec-id': 0, fields: [] },
            {},
          ),
          schemas: [],
          'partition-specs': [],
          'sort-orders': [],
        };
        for (const r of requirements) {
          const failed =
            (r.type === 'assert-table-uuid' && r.uuid !== m['table-uuid']) ||
            (r.type === 'assert-ref-snapshot-id' &&
              (r['snapshot-id'] === null
                ? m.refs[String(r.ref)] !== undefined
                : m.refs[String(r.ref)]?.['snapshot-id'] !== BigInt(r['snapshot-id'] as bigint))) ||
            (r.type === 'assert-current-schema-id' && r['current-schema-id'] !== m['current-schema-id']) ||
            (r.type === 'assert-last-assigned-field-id' &&
              r['last-assigned-field-id'] !== m['last-column-id']);
          if (failed) return error(res, 409, 'CommitFailedException', `Requirement failed: ${r.type}`);
        }
        let next: TableMetadata = { ...m };
        let lastAddedSchema = -1;
        for (const u of payload.updates as Record<string, unknown>[]) {
          if (u.action === 'add-schema') {
            const schema = u.schema as IcebergSchema;
            lastAddedSchema = schema['schema-id'];
            next = {
              ...next,
              schemas: [...next.schemas, schema],
              'last-column-id': Number(u['last-column-id']),
            };
          } else if (u.action === 'assign-uuid') {
            next = { ...next, 'table-uuid': String(u.uuid) };
          } else if (u.action === 'upgrade-format-version') {
            next = {
              ...next,
              'format-version': Number(u['format-version']) as TableMetadata['format-version'],
            };
          } else if (u.action === 'add-spec') {
            const spec = u.spec as PartitionSpec;
            next = {
              ...next,
              'partition-specs': [...next['partition-specs'], spec],
              'last-partition-id': Math.max(
                next['last-partition-id'],
                ...spec.fields.map((f) => f['field-id']),
              ),
            };
          } else if (u.action === 'set-default-spec') {
            next = { ...next, 'default-spec-id': Number(u['spec-id']) };
          } else if (u.action === 'add-sort-order') {
            next = { ...next, 'sort-orders': [...next['sort-orders'], u['sort-order'] as SortOrder] };
          } else if (u.action === 'set-default-sort-order') {
            next = { ...next, 'default-sort-order-id': Number(u['sort-order-id']) };
          } else if (u.action === 'set-location') {
            next = { ...next, location: String(u.location) };
          } else if (u.action === 'set-properties') {
            next = { ...next, properties: { ...next.properties, ...(u.updates as Record<string, string>) } };
          } else if (u.action === 'set-current-schema') {
            next = {
              ...next,
              'current-schema-id': u['schema-id'] === -1 ? lastAddedSchema : Number(u['schema-id']),
            };
          } else if (u.action === 'add-snapshot') {
            const raw = u.snapshot as Snapshot;
            const snapshot = {
              ...raw,
              'snapshot-id': BigInt(raw['snapshot-id']),
              ...(raw['parent-snapshot-id'] === undefined
                ? {}
                : { 'parent-snapshot-id': BigInt(raw['parent-snapshot-id']) }),
            };
            if (snapshot['sequence-number'] <= next['last-sequence-number']) {
              return error(
                res,
                409,
                'CommitFailedException',
                'Cannot add snapshot with sequence number older than last sequence number',
              );
            }
            next = {
              ...next,
              snapshots: [...next.snapshots, snapshot],
              'last-sequence-number': snapshot['sequence-number'],
              'last-updated-ms': snapshot['timestamp-ms'],
              'snapshot-log': [
                ...next['snapshot-log'],
                { 'snapshot-id': snapshot['snapshot-id'], 'timestamp-ms': snapshot['timestamp-ms'] },
              ],
            };
          } else if (u.action === 'set-snapshot-ref') {
            const id = BigInt(u['snapshot-id'] as bigint);
            next = {
              ...next,
              refs: { ...next.refs, [String(u['ref-name'])]: { 'snapshot-id': id, type: 'branch' } },
              'current-snapshot-id': id,
            };
          } else {
            return error(res, 400, 'BadRequestException', `Unsupported update ${String(u.action)}`);
          }
        }
        const stored = await save(key, next, table);
        state.commits++;
        if (fault) return faultAnswer(res, fault, 'gateway timeout after the commit');
        return send(res, 200, { 'metadata-location': stored.metadataLocation, metadata: stored.metadata });
      }
      return error(res, 404, 'NotFoundException', 'no route');
    } catch (e) {
      return error(res, 500, 'InternalServerError', (e as Error).message);
    }
  });
  state.url = await listen(server);
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

interface GlueTable {
  Name: string;
  DatabaseName: string;
  TableType?: string;
  Parameters?: Record<string, string>;
  StorageDescriptor?: {
    Location?: string;
    Columns?: { Name: string; Type: string; Parameters?: Record<string, string> }[];
  };
  VersionId: string;
}

export interface GlueServer {
  url: string;
  tables: Map<string, GlueTable>;
  /** Simulate another writer's UpdateTable landing between our GetTable and UpdateTable (N times). */
  raceNextUpdates: number;
  updates: number;
  /** The access key and region each request was signed with: `KEY/region`. */
  signedWith: string[];
  /**
   * Answer the next calls of `op` with a 500 InternalServiceException; `applied` first carries the call
   * out (an answer lost on its way back, which the SDK then retries). `meanwhile` runs before that 500
   * is sent: another writer committing before the SDK's retry arrives.
   */
  failNext: { op: string; applied: boolean; meanwhile?: () => Promise<void> }[];
  close(): Promise<void>;
}

/** AWS Glue's JSON 1.1 protocol (X-Amz-Target: AWSGlue.<Op>): databases and tables, VersionId concurrency. */
export async function startGlueServer(): Promise<GlueServer> {
  const databases = new Set<string>();
  const tables = new Map<string, GlueTable>();
  const state: GlueServer = {
    url: '',
    tables,
    raceNextUpdates: 0,
    updates: 0,
    signedWith: [],
    failNext: [],
    close: async () => undefined,
  };
  const serverError = (res: ServerResponse) =>
    res
      .writeHead(500, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-errortype': 'InternalServiceException',
      })
      .end(JSON.stringify({ __type: 'InternalServiceException', Message: 'Internal service error' }));
  // Requests whose call is carried out and then answered 500 (after what runs meanwhile).
  const lostAnswers = new WeakMap<ServerResponse, GlueServer['failNext'][number]>();
  const reply = (res: ServerResponse, status: number, payload: unknown) => {
    const lost = lostAnswers.get(res);
    if (lost && status === 200) {
      void (lost.meanwhile?.() ?? Promise.resolve()).finally(() => serverError(res));
      return;
    }
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(payload));
  };
  const fail = (res: ServerResponse, type: string, message: string) =>
    res
      .writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type })
      .end(JSON.stringify({ __type: type, Message: message }));
  const server = createServer(async (req, res) => {
    const op = String(req.headers['x-amz-target'] ?? '').replace('AWSGlue.', '');
    const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\//.exec(req.headers.authorization ?? '');
    if (scope) state.signedWith.push(`${scope[1]}/${scope[2]}`);
    const input = JSON.parse((await body(req)) || '{}') as Record<string, unknown>;
    const db = String(input.DatabaseName ?? '');
    const at = state.failNext.findIndex((f) => f.op === op);
    const fault = at >= 0 ? state.failNext.splice(at, 1)[0] : undefined;
    if (fault && !fault.applied) {
      await fault.meanwhile?.();
      return serverError(res);
    }
    if (fault) lostAnswers.set(res, fault);
    switch (op) {
      case 'CreateDatabase': {
        const name = String((input.DatabaseInput as { Name: string }).Name);
        if (databases.has(name))
          return fail(res, 'AlreadyExistsException', `Database ${name} already exists.`);
        databases.add(name);
        return reply(res, 200, {});
      }
      case 'GetTable': {
        const table = tables.get(`${db}.${String(input.Name)}`);
        if (!table) return fail(res, 'EntityNotFoundException', `Table ${String(input.Name)} not found.`);
        return reply(res, 200, { Table: table });
      }
      case 'CreateTable': {
        const t = input.TableInput as Omit<GlueTable, 'VersionId' | 'DatabaseName'>;
        if (!databases.has(db)) return fail(res, 'EntityNotFoundException', `Database ${db} not found.`);
        if (tables.has(`${db}.${t.Name}`))
          return fail(res, 'AlreadyExistsException', `Table already exists.`);
        tables.set(`${db}.${t.Name}`, { ...t, DatabaseName: db, VersionId: '1' });
        return reply(res, 200, {});
      }
      case 'UpdateTable': {
        const t = input.TableInput as Omit<GlueTable, 'VersionId' | 'DatabaseName'>;
        const current = tables.get(`${db}.${t.Name}`);
        if (!current) return fail(res, 'EntityNotFoundException', `Table ${t.Name} not found.`);
        if (state.raceNextUpdates > 0) {
          state.raceNextUpdates--;
          current.VersionId = String(Number(current.VersionId) + 1);
        }
        if (input.VersionId !== undefined && input.VersionId !== current.VersionId) {
          return fail(
            res,
            'ConcurrentModificationException',
            `Update table failed due to concurrent modifications.`,
          );
        }
        tables.set(`${db}.${t.Name}`, {
          ...t,
          DatabaseName: db,
          VersionId: String(Number(current.VersionId) + 1),
        });
        state.updates++;
        return reply(res, 200, {});
      }
      default:
        return fail(res, 'InvalidInputException', `Unsupported operation ${op}`);
    }
  });
  state.url = await listen(server);
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

export interface ConditionalS3Server {
  url: string;
  objects: Map<string, Buffer>;
  preconditionFailures: number;
  /**
   * PUTs of a key matching `key` are answered 500, `times` times; `applied` first stores the object (an
   * answer lost on its way back, which the SDK then retries).
   */
  failPuts: { key: RegExp; applied: boolean; times: number }[];
  close(): Promise<void>;
}

/**
 * A minimal path-style S3 endpoint that enforces `If-None-Match: *` as S3 does (412 PreconditionFailed
 * when the key exists), which s3rver ignores. Objects live in memory; signatures are not checked.
 */
export async function startConditionalS3(): Promise<ConditionalS3Server> {
  const objects = new Map<string, Buffer>();
  const state: ConditionalS3Server = {
    url: '',
    objects,
    preconditionFailures: 0,
    failPuts: [],
    close: async () => undefined,
  };
  const xmlError = (res: ServerResponse, status: number, code: string) =>
    res
      .writeHead(status, { 'content-type': 'application/xml' })
      .end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`,
      );
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const key = decodeURIComponent(url.pathname.slice(1));
    const payload = await rawBody(req);
    if (req.method === 'PUT') {
      const fault = state.failPuts.find((f) => f.times > 0 && f.key.test(key));
      if (fault) fault.times--;
      if (fault && !fault.applied) return xmlError(res, 500, 'InternalError');
      if (req.headers['if-none-match'] === '*' && objects.has(key)) {
        state.preconditionFailures++;
        return xmlError(res, 412, 'PreconditionFailed');
      }
      objects.set(key, payload);
      if (fault) return xmlError(res, 500, 'InternalError');
      return res.writeHead(200, { etag: `"${objects.size}"` }).end();
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      const object = objects.get(key);
      if (!object) return xmlError(res, 404, 'NoSuchKey');
      res.writeHead(200, { 'content-length': object.length, 'content-type': 'application/octet-stream' });
      return res.end(req.method === 'GET' ? object : undefined);
    }
    if (req.method === 'POST' && url.searchParams.has('delete')) {
      const bucket = key.split('/')[0];
      for (const match of payload.toString('utf8').matchAll(/<Key>([^<]+)<\/Key>/g))
        objects.delete(`${bucket}/${match[1]}`);
      return res
        .writeHead(200, { 'content-type': 'application/xml' })
        .end('<?xml version="1.0" encoding="UTF-8"?><DeleteResult></DeleteResult>');
    }
    return xmlError(res, 501, 'NotImplemented');
  });
  state.url = await listen(server);
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}
