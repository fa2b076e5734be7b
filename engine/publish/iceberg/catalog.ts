import { LakehouseError } from '../../api/errors.ts';
import type { FileIO } from './file-io.ts';
import type { IcebergSchema, PartitionSpec, Snapshot, SortOrder, TableMetadata } from './spec.ts';

/** A table as a catalog knows it: its current metadata, where that lives, and the catalog's version token. */
export interface CatalogTable {
  metadata: TableMetadata;
  metadataLocation: string;
  /** Glue's VersionId; unused elsewhere. */
  version?: string;
  /** Not in the catalog yet (stageCreate): the commit of its first snapshot creates it. */
  staged?: boolean;
  /** From a commit that landed but left something to fix (a stale version-hint.text): said, not thrown. */
  warning?: string;
}

/** What a commit changes, in the terms the REST protocol needs (other catalogs swap whole files). */
export interface TableChange {
  addedSchema?: IcebergSchema;
  /** An earlier schema made current again: Java's catalogs set it by id and add no copy of it. */
  reusedSchemaId?: number;
  snapshot: Snapshot;
}

export interface NewTable {
  namespace: string;
  name: string;
  location: string;
  schema: IcebergSchema;
  spec: PartitionSpec;
  sortOrder: SortOrder;
  properties: Record<string, string>;
}

/**
 * Where published tables are registered. `commit` is atomic: it applies `next` only if the table is
 * still at `base` and throws CommitConflictError otherwise (the caller reloads and retries), or
 * CommitStateUnknownError when it cannot tell (the caller then must delete nothing).
 */
export interface Catalog {
  readonly io: FileIO;
  /**
   * `filesystem`: the metadata files under the table's folder are the catalog, so a table without them
   * does not exist. Glue and REST keep the table elsewhere: files of a table they do not list may still
   * be someone's (a dropped table kept for re-registering).
   */
  readonly kind: 'filesystem' | 'glue' | 'rest';
  /** Human-readable target, e.g. `file-system warehouse /tmp/wh` or `Glue database lakehouse`. */
  readonly description: string;
  defaultLocation(namespace: string, name: string): string;
  load(namespace: string, name: string): Promise<CatalogTable | undefined>;
  /**
   * A new table to build the first snapshot on, registered nowhere: `commit` creates it together with
   * that snapshot, so a cancelled or failed first publish leaves no empty table for readers to find.
   */
  stageCreate(table: NewTable): Promise<CatalogTable>;
  /** With a staged base, creates the table holding `next`; CommitConflictError if it exists by then. */
  commit(
    namespace: string,
    name: string,
    base: CatalogTable,
    next: TableMetadata,
    change: TableChange,
  ): Promise<CatalogTable>;
}

export class CommitConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommitConflictError';
  }
}

export class CommitStateUnknownError extends LakehouseError {
  constructor(table: string, reason: string) {
    super(
      'ICEBERG_COMMIT_STATE_UNKNOWN',
      `The commit to Iceberg table ${table} may or may not have been applied (${reason}). No file was deleted. Check the table's current snapshot in the catalog, then publish again: publishing compares with what is there.`,
      { table, reason },
    );
  }
}

/** The next `vN.metadata.json` number after a metadata file named `vN.metadata.json` or `NNNNN-uuid.metadata.json`. */
export function metadataVersion(location: string): number {
  const name = location.split('/').pop() ?? '';
  const match = /^v(\d+)\.metadata\.json$/.exec(name) ?? /^(\d+)-.*\.metadata\.json$/.exec(name);
  return match ? Number(match[1]) : 0;
}
