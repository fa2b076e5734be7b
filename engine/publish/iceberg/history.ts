import { LakehouseError } from '../../api/errors.ts';
import { type Db, jsonRows } from '../../db/duckdb.ts';
import type { Catalog, CatalogTable } from './catalog.ts';
import { publishedSelect } from './published-files.ts';
import type { IcebergSchema, Snapshot, TableMetadata } from './spec.ts';
import { findSnapshot, snapshotFiles } from './table.ts';

export interface SnapshotInfo {
  snapshotId: string;
  parentId: string | null;
  sequenceNumber: number;
  timestampMs: number;
  operation: string;
  rowsAdded: number;
  rowsRemoved: number;
  totalRows: number;
  filesAdded: number;
  filesRemoved: number;
  schemaId: number;
  /** What the publisher did (create, append, overwrite, upsert), when this app wrote the snapshot. */
  action: string | null;
}

export interface TableHistory {
  table: string;
  location: string;
  metadataLocation: string;
  currentSnapshotId: string | null;
  snapshots: SnapshotInfo[];
}

async function loadTable(catalog: Catalog, namespace: string, table: string): Promise<CatalogTable> {
  const loaded = await catalog.load(namespace, table);
  if (!loaded) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `No published Iceberg table ${namespace}.${table} in ${catalog.description}. Publish it first.`,
      {
        table,
      },
    );
  }
  return loaded;
}

const counter = (snapshot: Snapshot, key: string) => Number(snapshot.summary[key] ?? 0);

/** The snapshots of a published table, newest first, with what each added and removed. */
export async function tableHistory(
  catalog: Catalog,
  namespace: string,
  table: string,
): Promise<TableHistory> {
  const { metadata, metadataLocation } = await loadTable(catalog, namespace, table);
  return {
    table,
    location: metadata.location,
    metadataLocation,
    currentSnapshotId:
      metadata['current-snapshot-id'] === undefined ? null : String(metadata['current-snapshot-id']),
    snapshots: [...metadata.snapshots]
      .sort((a, b) => b['sequence-number'] - a['sequence-number'])
      .map((s) => ({
        snapshotId: String(s['snapshot-id']),
        parentId: s['parent-snapshot-id'] === undefined ? null : String(s['parent-snapshot-id']),
        sequenceNumber: s['sequence-number'],
        timestampMs: s['timestamp-ms'],
        operation: s.summary.operation,
        rowsAdded: counter(s, 'added-records'),
        rowsRemoved: counter(s, 'deleted-records'),
        totalRows: counter(s, 'total-records'),
        filesAdded: counter(s, 'added-data-files'),
        filesRemoved: counter(s, 'deleted-data-files'),
        schemaId: s['schema-id'],
        action: s.summary['lakehouse.action'] ?? null,
      })),
  };
}

function snapshotOf(metadata: TableMetadata, table: string, id: string | undefined): Snapshot {
  const snapshot = findSnapshot(metadata, id === undefined ? undefined : BigInt(id));
  if (!snapshot) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      id === undefined
        ? `Iceberg table ${table} has no snapshot yet.`
        : `Iceberg table ${table} has no snapshot ${id}. List them with iceberg.snapshots.`,
      { table, snapshotId: id ?? null },
    );
  }
  return snapshot;
}

function schemaOf(metadata: TableMetadata, snapshot: Snapshot): IcebergSchema {
  return metadata.schemas.find((s) => s['schema-id'] === snapshot['schema-id']) ?? metadata.schemas.at(-1)!;
}

async function relationOf(
  db: Db,
  catalog: Catalog,
  metadata: TableMetadata,
  snapshot: Snapshot,
  schema: IcebergSchema,
) {
  const files = await snapshotFiles(catalog.io, metadata, snapshot['snapshot-id']);
  const paths = new Map<string, string>();
  for (const e of files.live) paths.set(e.file.file_path, await catalog.io.readablePath(e.file.file_path));
  return {
    files: paths,
    select: (uris: string[], position: 'none' | 'row' = 'none') =>
      publishedSelect(
        db,
        uris.map((u) => paths.get(u)!),
        schema,
        position,
      ),
  };
}

export interface ScanResult {
  table: string;
  snapshotId: string;
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
  totalRows: number;
  offset: number;
  limit: number;
  hasMore: boolean;
  total: number;
}

/** The table as of a snapshot (time travel), a window of rows as query.run gives them. */
export async function scanSnapshot(
  db: Db,
  catalog: Catalog,
  namespace: string,
  table: string,
  options: { snapshotId?: string; offset: number; limit: number },
): Promise<ScanResult> {
  const { metadata } = await loadTable(catalog, namespace, table);
  const snapshot = snapshotOf(metadata, table, options.snapshotId);
  const schema = schemaOf(metadata, snapshot);
  const relation = await relationOf(db, catalog, metadata, snapshot, schema);
  // In file and row order: without an order, DuckDB's parallel scan may give windows that overlap.
  const select = await relation.select([...relation.files.keys()], 'row');
  const result = await db.connection.runAndReadAll(
    `SELECT * EXCLUDE (filename, file_row_number) FROM (${select})
     ORDER BY filename, file_row_number LIMIT ${options.limit + 1} OFFSET ${options.offset}`,
  );
  const rows = jsonRows(result);
  const types = result.columnTypes().map((t) => t.toString());
  const totalRows = Number(
    snapshot.summary['total-records'] ?? (await db.scalar(`SELECT count(*) FROM (${select})`)),
  );
  return {
    table,
    snapshotId: String(snapshot['snapshot-id']),
    columns: result.columnNames().map((name, i) => ({ name, type: types[i] ?? 'UNKNOWN' })),
    rows: rows.slice(0, options.limit),
    totalRows,
    // The snapshot's row count is the result's: a window of a time-travel scan has it like a query's.
    total: totalRows,
    offset: options.offset,
    limit: options.limit,
    hasMore: rows.length > options.limit,
  };
}

export interface SnapshotDiff {
  table: string;
  from: string;
  to: string;
  columns: { name: string; type: string }[];
  rowsAdded: number;
  rowsRemoved: number;
  added: Record<string, unknown>[];
  removed: Record<string, unknown>[];
}

/**
 * Rows added and removed between two snapshots. Files live in both are skipped (data files never
 * change), so only the files each side alone holds are read and compared row by row.
 */
export async function diffSnapshots(
  db: Db,
  catalog: Catalog,
  namespace: string,
  table: string,
  options: { from: string; to: string; limit: number },
): Promise<SnapshotDiff> {
  const { metadata } = await loadTable(catalog, namespace, table);
  const from = snapshotOf(metadata, table, options.from);
  const to = snapshotOf(metadata, table, options.to);
  const schema = schemaOf(metadata, to);
  const a = await relationOf(db, catalog, metadata, from, schema);
  const b = await relationOf(db, catalog, metadata, to, schema);
  const onlyA = await a.select([...a.files.keys()].filter((f) => !b.files.has(f)));
  const onlyB = await b.select([...b.files.keys()].filter((f) => !a.files.has(f)));
  const added = `(${onlyB}) EXCEPT ALL (${onlyA})`;
  const removed = `(${onlyA}) EXCEPT ALL (${onlyB})`;
  const count = async (sql: string) => Number(await db.scalar(`SELECT count(*) FROM (${sql})`));
  const sample = async (sql: string) =>
    jsonRows(await db.connection.runAndReadAll(`SELECT * FROM (${sql}) LIMIT ${options.limit}`));
  const described = await db.all<{ column_name: string; column_type: string }>(`DESCRIBE ${onlyB}`);
  return {
    table,
    from: String(from['snapshot-id']),
    to: String(to['snapshot-id']),
    columns: described.map((c) => ({ name: c.column_name, type: c.column_type })),
    rowsAdded: await count(added),
    rowsRemoved: await count(removed),
    added: await sample(added),
    removed: await sample(removed),
  };
}
