import { randomUUID } from 'node:crypto';
import {
  type Column,
  CreateDatabaseCommand,
  CreateTableCommand,
  GetTableCommand,
  GlueClient,
  type Table,
  UpdateTableCommand,
} from '@aws-sdk/client-glue';
import { LakehouseError } from '../../../api/errors.ts';
import { awsCredentialsFor, awsRegionOfProfile } from '../../../storage/aws-chain.ts';
import {
  type Catalog,
  type CatalogTable,
  CommitConflictError,
  CommitStateUnknownError,
  metadataVersion,
  type NewTable,
} from '../catalog.ts';
import type { GlueCatalogConfig } from '../config.ts';
import type { FileIO } from '../file-io.ts';
import { parseMetadata, serializeMetadata } from '../metadata-json.ts';
import { currentSchema, type IcebergType, type TableMetadata } from '../spec.ts';
import { newTableMetadata, withMetadataLog } from '../table.ts';

type GlueConfig = Pick<GlueCatalogConfig, 'region' | 'endpoint' | 'profile' | 'catalog_id' | 'warehouse'>;

/** The Hive type Athena and Redshift Spectrum read a column as. */
function hiveType(type: IcebergType): string {
  const map: Record<string, string> = {
    int: 'int',
    long: 'bigint',
    float: 'float',
    double: 'double',
    boolean: 'boolean',
    string: 'string',
    binary: 'binary',
    date: 'date',
    timestamp: 'timestamp',
    timestamptz: 'timestamp',
    uuid: 'string',
    time: 'string',
  };
  return map[type] ?? type.replace(/\s/g, '');
}

/** Glue columns with the iceberg.field.* parameters Athena needs (it fails on an Iceberg table without columns). */
export function glueColumns(metadata: TableMetadata): Column[] {
  return currentSchema(metadata).fields.map((f) => ({
    Name: f.name,
    Type: hiveType(f.type),
    Parameters: {
      'iceberg.field.id': String(f.id),
      'iceberg.field.optional': String(!f.required),
      'iceberg.field.current': 'true',
    },
  }));
}

interface AwsError {
  name?: string;
  /** `attempts`: how many times the SDK sent the call (it retries a 5xx or a call left unanswered). */
  $metadata?: { httpStatusCode?: number; attempts?: number };
  message?: string;
}

/**
 * AWS Glue Data Catalog: an EXTERNAL_TABLE with `table_type=ICEBERG` and `metadata_location`. A commit
 * writes the next metadata file, checks the table still points at the base, then UpdateTable with the
 * VersionId read then: Glue refuses a stale VersionId with ConcurrentModificationException.
 */
export function createGlueCatalog(io: FileIO, config: GlueConfig, client?: GlueClient): Catalog {
  const glue =
    client ??
    new GlueClient({
      // The profile's region and keys as the shared files hold them now, not as the process first read them.
      region: config.region ?? awsRegionOfProfile(config.profile, config.endpoint),
      ...(config.profile ? { profile: config.profile } : {}),
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      credentials: awsCredentialsFor(config.profile).provider,
      maxAttempts: 4,
    });
  const catalogId = config.catalog_id ? { CatalogId: config.catalog_id } : {};
  const nextMetadataFile = (location: string, version: number) =>
    `${location}/metadata/${String(version).padStart(5, '0')}-${randomUUID()}.metadata.json`;

  async function getTable(database: string, name: string) {
    try {
      return (await glue.send(new GetTableCommand({ ...catalogId, DatabaseName: database, Name: name })))
        .Table;
    } catch (error) {
      if ((error as AwsError).name === 'EntityNotFoundException') return undefined;
      throw glueFailure(error, `read table ${database}.${name}`);
    }
  }

  /**
   * After the SDK retried a commit call and the retry was refused as stale (CreateTable:
   * AlreadyExistsException, UpdateTable: ConcurrentModificationException), an earlier attempt answered
   * 5xx or not at all may have applied it. True when the table points at our metadata file, or at a
   * later writer's whose history holds our snapshot or metadata file (it committed on top of ours);
   * false when that history lacks both: the other writer won, and our attempt, refused as stale, can no
   * longer land. A table that cannot be read leaves the outcome unknown, and nothing may be deleted.
   */
  async function confirmLanded(
    namespace: string,
    name: string,
    ours: { metadata: TableMetadata; metadataLocation: string },
    e: AwsError,
  ): Promise<boolean> {
    const snapshotId = ours.metadata['current-snapshot-id'];
    const unknown = (why: string) =>
      new CommitStateUnknownError(
        `${namespace}.${name}`,
        `Glue refused a retry of the commit (${e.name ?? e.message}) after an attempt that got no clear answer, and ${why}. Look for snapshot ${snapshotId} in the table's snapshots, or ${ours.metadataLocation} in its metadata log: there, the publish is done; absent, publish again`,
      );
    let table: Awaited<ReturnType<typeof getTable>>;
    try {
      table = await getTable(namespace, name);
    } catch (error) {
      throw unknown(`reading the table to check failed (${(error as Error).message})`);
    }
    const location = table?.Parameters?.metadata_location;
    if (location === ours.metadataLocation) return true;
    if (!location) throw unknown('the table no longer exists');
    if (table?.Parameters?.previous_metadata_location === ours.metadataLocation) return true;
    let theirs: TableMetadata;
    try {
      theirs = parseMetadata((await io.read(location)).toString('utf8'), location);
    } catch (error) {
      throw unknown(`the metadata file it points at could not be read (${(error as Error).message})`);
    }
    return (
      theirs.snapshots.some((s) => snapshotId !== undefined && s['snapshot-id'] === snapshotId) ||
      theirs['metadata-log'].some((entry) => entry['metadata-file'] === ours.metadataLocation)
    );
  }

  /**
   * UpdateTable replaces the whole definition: what `existing` holds besides the commit's own fields
   * (parameters, description, owner other tools or people set) is sent back as it was, as Java's
   * GlueTableOperations does.
   */
  function tableInput(
    name: string,
    metadata: TableMetadata,
    metadataLocation: string,
    existing?: { table: Table; metadataLocation: string },
  ) {
    const kept = existing?.table;
    return {
      Name: name,
      ...(kept?.Description !== undefined ? { Description: kept.Description } : {}),
      ...(kept?.Owner !== undefined ? { Owner: kept.Owner } : {}),
      TableType: 'EXTERNAL_TABLE',
      Parameters: {
        ...kept?.Parameters,
        table_type: 'ICEBERG',
        metadata_location: metadataLocation,
        ...(existing ? { previous_metadata_location: existing.metadataLocation } : {}),
      },
      StorageDescriptor: {
        ...kept?.StorageDescriptor,
        Location: metadata.location,
        Columns: glueColumns(metadata),
      },
    };
  }

  /** CreateTable pointing at metadata that already holds the first snapshot: the table appears with its rows. */
  async function createWith(namespace: string, name: string, metadata: TableMetadata): Promise<CatalogTable> {
    const metadataLocation = nextMetadataFile(metadata.location, 0);
    await io.write(metadataLocation, serializeMetadata(metadata));
    const input = {
      ...catalogId,
      DatabaseName: namespace,
      TableInput: tableInput(name, metadata, metadataLocation),
    };
    try {
      try {
        await glue.send(new CreateTableCommand(input));
      } catch (error) {
        if ((error as AwsError).name !== 'EntityNotFoundException') throw error;
        await glue
          .send(new CreateDatabaseCommand({ ...catalogId, DatabaseInput: { Name: namespace } }))
          .catch((e: AwsError) => {
            if (e.name !== 'AlreadyExistsException') throw e;
          });
        await glue.send(new CreateTableCommand(input));
      }
    } catch (error) {
      const e = error as AwsError;
      const status = e.$metadata?.httpStatusCode;
      if (e.name === 'AlreadyExistsException' && (e.$metadata?.attempts ?? 1) > 1) {
        if (await confirmLanded(namespace, name, { metadata, metadataLocation }, e))
          return { metadata, metadataLocation };
      }
      if (e.name !== 'AlreadyExistsException' && (status === undefined || status >= 500))
        throw new CommitStateUnknownError(`${namespace}.${name}`, `Glue CreateTable: ${e.name ?? e.message}`);
      await io.delete([metadataLocation]);
      if (e.name === 'AlreadyExistsException')
        throw new CommitConflictError(`Glue table ${namespace}.${name} was created by another writer`);
      throw glueFailure(error, `create table ${namespace}.${name}`);
    }
    return { metadata, metadataLocation };
  }

  return {
    io,
    kind: 'glue',
    description: `AWS Glue catalog${config.endpoint ? ` at ${config.endpoint}` : ''}, files under ${config.warehouse}`,
    defaultLocation: (namespace, name) => io.locationOf(`${namespace}.db/${name}`),
    async load(namespace, name) {
      const table = await getTable(namespace, name);
      if (!table) return undefined;
      const location = table.Parameters?.metadata_location;
      if (table.Parameters?.table_type?.toUpperCase() !== 'ICEBERG' || !location) {
        throw new LakehouseError(
          'ICEBERG_INVALID',
          `Glue table ${namespace}.${name} exists but is not an Iceberg table (no table_type=ICEBERG / metadata_location). Publish under another namespace or drop it.`,
          { table: `${namespace}.${name}` },
        );
      }
      const metadata = parseMetadata((await io.read(location)).toString('utf8'), location);
      return {
        metadata,
        metadataLocation: location,
        ...(table.VersionId ? { version: table.VersionId } : {}),
      };
    },
    async stageCreate(table: NewTable): Promise<CatalogTable> {
      const metadata = newTableMetadata(table.location, table.schema, table.spec, table.properties);
      return { metadata, metadataLocation: '', staged: true };
    },
    async commit(namespace, name, base, next) {
      if (base.staged) return createWith(namespace, name, next);
      const metadata = withMetadataLog(next, base);
      const metadataLocation = nextMetadataFile(
        metadata.location,
        metadataVersion(base.metadataLocation) + 1,
      );
      await io.write(metadataLocation, serializeMetadata(metadata));
      const current = await getTable(namespace, name);
      if (current?.Parameters?.metadata_location !== base.metadataLocation) {
        await io.delete([metadataLocation]);
        throw new CommitConflictError(
          `Glue table ${namespace}.${name} moved to ${current?.Parameters?.metadata_location ?? '(dropped)'}`,
        );
      }
      try {
        await glue.send(
          new UpdateTableCommand({
            ...catalogId,
            DatabaseName: namespace,
            TableInput: tableInput(name, metadata, metadataLocation, {
              table: current,
              metadataLocation: base.metadataLocation,
            }),
            ...(current.VersionId ? { VersionId: current.VersionId } : {}),
          }),
        );
      } catch (error) {
        const e = error as AwsError;
        const status = e.$metadata?.httpStatusCode;
        if (e.name === 'ConcurrentModificationException') {
          if ((e.$metadata?.attempts ?? 1) > 1) {
            const landed = await confirmLanded(namespace, name, { metadata, metadataLocation }, e);
            if (landed) return { metadata, metadataLocation };
            // Without a VersionId an earlier attempt might still apply: not ours yet is not "lost".
            if (!current.VersionId)
              throw new CommitStateUnknownError(
                `${namespace}.${name}`,
                `Glue refused a retry of UpdateTable (${e.name}) after an attempt that got no clear answer, and the table shows another writer's commit; look for snapshot ${metadata['current-snapshot-id']} in its snapshots`,
              );
          }
          await io.delete([metadataLocation]);
          throw new CommitConflictError(
            `Glue refused VersionId ${current.VersionId} of ${namespace}.${name}: ${e.message ?? ''}`,
          );
        }
        if (status === undefined || status >= 500)
          throw new CommitStateUnknownError(
            `${namespace}.${name}`,
            `Glue UpdateTable: ${e.name ?? e.message}`,
          );
        await io.delete([metadataLocation]);
        throw glueFailure(error, `update table ${namespace}.${name}`);
      }
      return { metadata, metadataLocation };
    },
  };
}

function glueFailure(error: unknown, action: string): LakehouseError {
  if (error instanceof LakehouseError) return error;
  const e = error as AwsError;
  return new LakehouseError(
    'PUBLISH_FAILED',
    `AWS Glue could not ${action}: ${e.name ?? 'error'}: ${e.message ?? String(error)}. Check the region, the credentials (glue:GetTable, glue:CreateTable, glue:UpdateTable) and that the database exists.`,
    { action, glueError: e.name, status: e.$metadata?.httpStatusCode },
  );
}
