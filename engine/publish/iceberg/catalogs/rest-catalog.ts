import { isSafeNumber, parse, stringify } from 'lossless-json';
import { LakehouseError } from '../../../api/errors.ts';
import {
  type Catalog,
  type CatalogTable,
  CommitConflictError,
  CommitStateUnknownError,
  type NewTable,
  type TableChange,
} from '../catalog.ts';
import type { RestCatalogConfig } from '../config.ts';
import { type FileIO, fileIOFor } from '../file-io.ts';
import { parseMetadata } from '../metadata-json.ts';
import type { TableMetadata } from '../spec.ts';

type RestConfig = Pick<RestCatalogConfig, 'uri' | 'warehouse' | 'token_env' | 's3'>;

interface RestResponse {
  status: number;
  body: Record<string, unknown> | undefined;
}

const parseBody = (text: string) =>
  text
    ? (parse(text, null, (v: string) => (isSafeNumber(v) ? Number(v) : BigInt(v))) as Record<string, unknown>)
    : undefined;

/** Routes each URI to the store its scheme names (tables of one REST catalog may live anywhere). */
function routingFileIO(config: RestConfig, cacheDir: string): FileIO {
  const stores = new Map<string, FileIO>();
  const storeFor = (uri: string): FileIO => {
    const s3 = /^s3:\/\/([^/]+)/i.exec(uri);
    const key = s3 ? `s3://${s3[1]}` : 'file:///';
    let io = stores.get(key);
    if (!io) {
      const localRoot = config.warehouse && !/^s3:\/\//i.test(config.warehouse) ? config.warehouse : '/';
      io = fileIOFor(s3 ? key : localRoot, {
        ...(config.s3 ? { s3: config.s3 } : {}),
        cacheDir,
        anywhere: true,
      });
      stores.set(key, io);
    }
    return io;
  };
  return {
    locationOf: (relative) => {
      if (!config.warehouse)
        throw new LakehouseError('INVALID_ARGUMENT', 'This REST catalog chooses table locations itself');
      return storeFor(config.warehouse).locationOf(relative);
    },
    read: (uri) => storeFor(uri).read(uri),
    readIfExists: (uri) => storeFor(uri).readIfExists(uri),
    write: (uri, bytes) => storeFor(uri).write(uri, bytes),
    createExclusive: (uri, bytes) => storeFor(uri).createExclusive(uri, bytes),
    localPath: (uri) => storeFor(uri).localPath(uri),
    upload: (file, uri) => storeFor(uri).upload(file, uri),
    readablePath: (uri) => storeFor(uri).readablePath(uri),
    async delete(uris) {
      for (const uri of uris) await storeFor(uri).delete([uri]);
    },
    list: (uri) => storeFor(uri).list(uri),
    identity: (uri) => storeFor(uri).identity(uri),
    async checkWritable() {
      if (config.warehouse) await storeFor(config.warehouse).checkWritable?.();
    },
  };
}

/**
 * An Iceberg REST catalog. Commits send requirements (table uuid, `main` still at the base snapshot)
 * and updates (add-snapshot, set-snapshot-ref, schema changes); the server applies them atomically.
 * 409 means another writer won (retry from a reload); 5xx or a dropped connection means the outcome is
 * unknown, so nothing may be deleted.
 */
export function createRestCatalog(
  config: RestConfig,
  cacheDir: string,
  fetchImpl: typeof fetch = fetch,
): Catalog {
  const root = config.uri.replace(/\/+$/, '');
  let prefix: string | undefined;
  const headers = (): Record<string, string> => {
    const token = config.token_env ? process.env[config.token_env] : undefined;
    if (config.token_env && !token) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `The REST catalog's token is read from $${config.token_env}, which is not set. Export it and retry.`,
      );
    }
    return { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  };

  async function exchange(method: string, path: string, body?: unknown) {
    const response = await fetchImpl(`${root}${path}`, {
      method,
      headers: headers(),
      ...(body === undefined ? {} : { body: stringify(body) ?? '' }),
    });
    return { status: response.status, text: await response.text() };
  }

  async function request(method: string, path: string, body?: unknown): Promise<RestResponse> {
    const { status, text } = await exchange(method, path, body);
    return { status, body: parseBody(text) };
  }

  async function base(): Promise<string> {
    if (prefix === undefined) {
      const query = config.warehouse ? `?warehouse=${encodeURIComponent(config.warehouse)}` : '';
      const response = await request('GET', `/v1/config${query}`);
      if (response.status !== 200) throw restFailure(response, 'read its configuration');
      const pick = (block: unknown) => (block as Record<string, string> | undefined)?.prefix;
      prefix = pick(response.body?.overrides) ?? pick(response.body?.defaults) ?? '';
    }
    return prefix ? `/v1/${encodeURIComponent(prefix)}` : '/v1';
  }

  const tablePath = async (namespace: string, name: string) =>
    `${await base()}/namespaces/${encodeURIComponent(namespace)}/tables/${encodeURIComponent(name)}`;

  const toTable = (body: Record<string, unknown> | undefined, what: string): CatalogTable => {
    const location = body?.['metadata-location'];
    if (typeof location !== 'string' || !body?.metadata)
      throw new LakehouseError('PUBLISH_FAILED', `REST catalog answered ${what} without metadata`);
    return { metadata: parseMetadata(stringify(body.metadata) ?? '', location), metadataLocation: location };
  };

  return {
    io: routingFileIO(config, cacheDir),
    kind: 'rest',
    description: `Iceberg REST catalog ${root}`,
    defaultLocation(namespace, name) {
      return config.warehouse ? this.io.locationOf(`${namespace}/${name}`) : '(chosen by the catalog)';
    },
    async load(namespace, name) {
      const response = await request('GET', await tablePath(namespace, name));
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw restFailure(response, `load table ${namespace}.${name}`);
      return toTable(response.body, `load table ${namespace}.${name}`);
    },
    async stageCreate(table: NewTable) {
      // A staged create registers nothing: the catalog answers the metadata (and the location it
      // chose), and the commit with assert-create makes the table with its first snapshot.
      const body = {
        name: table.name,
        ...(config.warehouse ? { location: table.location } : {}),
        schema: table.schema,
        'partition-spec': table.spec,
        'write-order': table.sortOrder,
        'stage-create': true,
        properties: table.properties,
      };
      const path = `${await base()}/namespaces/${encodeURIComponent(table.namespace)}/tables`;
      let response = await request('POST', path, body);
      if (response.status === 404) {
        const created = await request('POST', `${await base()}/namespaces`, {
          namespace: [table.namespace],
          properties: {},
        });
        if (created.status !== 200 && created.status !== 409)
          throw restFailure(created, `create namespace ${table.namespace}`);
        response = await request('POST', path, body);
      }
      if (response.status === 409)
        throw new CommitConflictError(`table ${table.namespace}.${table.name} was created by another writer`);
      if (response.status !== 200)
        throw restFailure(response, `create table ${table.namespace}.${table.name}`);
      // A staged table has no metadata file yet (the spec lets metadata-location be null).
      if (!response.body?.metadata)
        throw new LakehouseError('PUBLISH_FAILED', 'REST catalog answered create table without metadata');
      const metadata = parseMetadata(
        stringify(response.body.metadata) ?? '',
        `${table.namespace}.${table.name}`,
      );
      return { metadata, metadataLocation: '', staged: true };
    },
    async commit(namespace, name, baseTable, _next: TableMetadata, change: TableChange) {
      const current = baseTable.metadata;
      const requirements: Record<string, unknown>[] = baseTable.staged
        ? [{ type: 'assert-create' }]
        : [
            { type: 'assert-table-uuid', uuid: current['table-uuid'] },
            {
              type: 'assert-ref-snapshot-id',
              ref: 'main',
              'snapshot-id': current['current-snapshot-id'] ?? null,
            },
          ];
      const updates: Record<string, unknown>[] = baseTable.staged ? createUpdates(current) : [];
      if (change.addedSchema) {
        requirements.push(
          { type: 'assert-current-schema-id', 'current-schema-id': current['current-schema-id'] },
          { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': current['last-column-id'] },
        );
        updates.push(
          {
            action: 'add-schema',
            schema: change.addedSchema,
            'last-column-id': Math.max(
              ...change.addedSchema.fields.map((f) => f.id),
              current['last-column-id'],
            ),
          },
          { action: 'set-current-schema', 'schema-id': -1 },
        );
      }
      if (change.reusedSchemaId !== undefined) {
        // Not add-schema with set-current-schema -1: a Java catalog adds nothing for a schema it holds,
        // so "the last added schema" does not exist and the commit is refused.
        requirements.push({
          type: 'assert-current-schema-id',
          'current-schema-id': current['current-schema-id'],
        });
        updates.push({ action: 'set-current-schema', 'schema-id': change.reusedSchemaId });
      }
      updates.push(
        { action: 'add-snapshot', snapshot: change.snapshot },
        {
          action: 'set-snapshot-ref',
          'ref-name': 'main',
          type: 'branch',
          'snapshot-id': change.snapshot['snapshot-id'],
        },
      );
      let answer: { status: number; text: string };
      try {
        answer = await exchange('POST', await tablePath(namespace, name), {
          identifier: { namespace: [namespace], name },
          requirements,
          updates,
        });
      } catch (error) {
        return await landedOrUnknown(
          this,
          namespace,
          name,
          change.snapshot['snapshot-id'],
          `no answer from ${root}: ${(error as Error).message}`,
        );
      }
      let response: RestResponse = { status: answer.status, body: undefined };
      try {
        response = { status: answer.status, body: parseBody(answer.text) };
      } catch {
        // Not JSON: only a 200 matters (checked below); an error status is judged by itself.
      }
      if (response.status === 409)
        throw new CommitConflictError(`REST catalog refused the commit: ${errorMessage(response)}`);
      if (response.status >= 500)
        return await landedOrUnknown(
          this,
          namespace,
          name,
          change.snapshot['snapshot-id'],
          `HTTP ${response.status} ${errorMessage(response)}`,
        );
      if (response.status !== 200) throw restFailure(response, `commit to ${namespace}.${name}`);
      try {
        return toTable(response.body, 'commit');
      } catch {
        // A 200 is the catalog's final word, yet it does not say what the table now is: look. Taking
        // it for a failure would delete the files of a commit that may have landed.
        return await checkCommitLanded(this, namespace, name, change.snapshot['snapshot-id']);
      }
    },
  };
}

/**
 * After a commit answered 200 without a readable table: the table holding our snapshot (random 63-bit
 * ids, so no other writer's) is our commit; a table without it is no commit (its files may go); a load
 * that fails leaves the outcome unknown, and nothing may be deleted.
 */
async function checkCommitLanded(
  catalog: Catalog,
  namespace: string,
  name: string,
  snapshotId: bigint,
): Promise<CatalogTable> {
  const table = `${namespace}.${name}`;
  const answered = `${catalog.description} answered the commit with HTTP 200 but no readable table metadata`;
  let loaded: CatalogTable | undefined;
  try {
    loaded = await catalog.load(namespace, name);
  } catch (error) {
    throw new CommitStateUnknownError(
      table,
      `${answered}, and loading the table to check failed: ${(error as Error).message}. Look for snapshot ${snapshotId} in the table's snapshots: there, the publish is done; absent, publish again`,
    );
  }
  if (loaded?.metadata.snapshots.some((s) => s['snapshot-id'] === snapshotId)) return loaded;
  throw new LakehouseError(
    'PUBLISH_FAILED',
    `${answered}, and table ${table} does not hold the new snapshot ${snapshotId}: nothing was committed and the files written for it were removed. Check that the catalog's uri reaches the catalog itself (not a proxy answering for it), then publish again.`,
    { table, snapshotId: String(snapshotId) },
  );
}

/**
 * After a commit answered with a server error or not at all: a reloaded table holding our snapshot is our
 * commit, done (as Java's RESTTableOperations reconciles a simple append). Without it the outcome stays
 * unknown, not failed: a gateway's 5xx may come before its backend applies the commit.
 */
async function landedOrUnknown(
  catalog: Catalog,
  namespace: string,
  name: string,
  snapshotId: bigint,
  reason: string,
): Promise<CatalogTable> {
  const loaded = await catalog.load(namespace, name).catch(() => undefined);
  if (loaded?.metadata.snapshots.some((s) => s['snapshot-id'] === snapshotId)) return loaded;
  throw new CommitStateUnknownError(`${namespace}.${name}`, reason);
}

/** The updates that make a staged table, as the REST spec's create transaction sends them. */
function createUpdates(metadata: TableMetadata): Record<string, unknown>[] {
  return [
    { action: 'assign-uuid', uuid: metadata['table-uuid'] },
    { action: 'upgrade-format-version', 'format-version': metadata['format-version'] },
    ...metadata.schemas.map((schema) => ({
      action: 'add-schema',
      schema,
      'last-column-id': metadata['last-column-id'],
    })),
    { action: 'set-current-schema', 'schema-id': metadata['current-schema-id'] },
    ...metadata['partition-specs'].map((spec) => ({ action: 'add-spec', spec })),
    { action: 'set-default-spec', 'spec-id': metadata['default-spec-id'] },
    ...metadata['sort-orders'].map((order) => ({ action: 'add-sort-order', 'sort-order': order })),
    { action: 'set-default-sort-order', 'sort-order-id': metadata['default-sort-order-id'] },
    { action: 'set-location', location: metadata.location },
    { action: 'set-properties', updates: metadata.properties },
  ];
}

function errorMessage(response: RestResponse): string {
  const error = response.body?.error as { message?: string; type?: string } | undefined;
  return error ? `${error.type ?? ''}: ${error.message ?? ''}` : '';
}

function restFailure(response: RestResponse, action: string): LakehouseError {
  const auth = response.status === 401 || response.status === 403;
  return new LakehouseError(
    'PUBLISH_FAILED',
    `The Iceberg REST catalog could not ${action}: HTTP ${response.status} ${errorMessage(response)}.${auth ? ' Check the token (token_env) and its permissions.' : ''}`,
    { action, status: response.status },
  );
}
