import {
  type Catalog,
  type CatalogTable,
  CommitConflictError,
  CommitStateUnknownError,
  metadataVersion,
  type NewTable,
} from '../catalog.ts';
import { type FileIO, WriteOutcomeUnknownError } from '../file-io.ts';
import { parseMetadata, serializeMetadata } from '../metadata-json.ts';
import type { TableMetadata } from '../spec.ts';
import { newTableMetadata, withMetadataLog } from '../table.ts';

/**
 * The file-system catalog (Hadoop layout): `<warehouse>/<namespace>/<table>/metadata/vN.metadata.json`
 * plus `version-hint.text`. The commit is the exclusive creation of vN+1 (O_EXCL locally,
 * `If-None-Match: *` on S3): of two writers racing for the same N exactly one wins.
 */
export function createFileSystemCatalog(io: FileIO, description: string): Catalog {
  const tableLocation = (namespace: string, name: string) => io.locationOf(`${namespace}/${name}`);
  const metadataFile = (location: string, version: number) =>
    `${location}/metadata/v${version}.metadata.json`;

  async function load(namespace: string, name: string): Promise<CatalogTable | undefined> {
    const location = tableLocation(namespace, name);
    const hint = await io.readIfExists(`${location}/metadata/version-hint.text`);
    let version = hint ? Number.parseInt(hint.toString('utf8').trim(), 10) || 0 : 0;
    // The hint is written after the commit and may lag: the newest vN that exists wins.
    let text: Buffer | undefined =
      version > 0 ? await io.readIfExists(metadataFile(location, version)) : undefined;
    if (!text && version > 0) version = 0;
    for (;;) {
      const next = await io.readIfExists(metadataFile(location, version + 1));
      if (!next) break;
      version++;
      text = next;
    }
    if (!text || version === 0) return undefined;
    const metadataLocation = metadataFile(location, version);
    return { metadata: parseMetadata(text.toString('utf8'), metadataLocation), metadataLocation };
  }

  async function swap(
    table: string,
    location: string,
    version: number,
    metadata: TableMetadata,
  ): Promise<CatalogTable> {
    const metadataLocation = metadataFile(location, version);
    let created: boolean;
    try {
      created = await io.createExclusive(metadataLocation, serializeMetadata(metadata));
    } catch (error) {
      if (error instanceof WriteOutcomeUnknownError)
        throw new CommitStateUnknownError(table, `writing ${metadataLocation}: ${error.reason}`);
      throw error;
    }
    if (!created) {
      throw new CommitConflictError(`${metadataLocation} was written by another commit first`);
    }
    const hint = `${location}/metadata/version-hint.text`;
    try {
      await io.write(hint, String(version));
    } catch (error) {
      // The commit has landed: failing now would delete the files it names. A stale hint is only
      // slower (loads probe past it for newer versions), though readers that trust it see older data.
      return {
        metadata,
        metadataLocation,
        warning: `committed ${metadataLocation}, but ${hint} could not be updated (${(error as Error).message}); readers that trust the hint see the previous version until the next publish rewrites it`,
      };
    }
    return { metadata, metadataLocation };
  }

  return {
    io,
    kind: 'filesystem',
    description,
    defaultLocation: tableLocation,
    load,
    async stageCreate(table: NewTable) {
      const location = tableLocation(table.namespace, table.name);
      const metadata = newTableMetadata(location, table.schema, table.spec, table.properties);
      return { metadata, metadataLocation: metadataFile(location, 0), staged: true };
    },
    async commit(namespace, name, base, next) {
      const table = `${namespace}.${name}`;
      // A staged table is created as v1 holding its first snapshot; of two creators one wins v1.
      if (base.staged) return swap(table, base.metadata.location, 1, next);
      return swap(
        table,
        base.metadata.location,
        metadataVersion(base.metadataLocation) + 1,
        withMetadataLog(next, base),
      );
    },
  };
}
