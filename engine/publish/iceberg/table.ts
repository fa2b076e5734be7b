import { randomBytes, randomUUID } from 'node:crypto';
import type { FileIO } from './file-io.ts';
import {
  type DataFile,
  type ManifestEntry,
  type ManifestFile,
  readManifest,
  readManifestList,
  Status,
  writeManifest,
  writeManifestList,
} from './manifest.ts';
import {
  currentSchema,
  defaultSpec,
  type IcebergSchema,
  type PartitionSpec,
  type Snapshot,
  type SnapshotOperation,
  type SortOrder,
  type TableMetadata,
} from './spec.ts';

/** A positive random 63-bit snapshot id (most exceed 2^53: they must stay BigInt). */
export function newSnapshotId(): bigint {
  return randomBytes(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn || 1n;
}

export const UNSORTED: SortOrder = { 'order-id': 0, fields: [] };

/** Metadata of a new, empty table (no snapshot yet). */
export function newTableMetadata(
  location: string,
  schema: IcebergSchema,
  spec: PartitionSpec,
  properties: Record<string, string>,
): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': randomUUID(),
    location,
    'last-sequence-number': 0,
    'last-updated-ms': Date.now(),
    'last-column-id': Math.max(0, ...schema.fields.map((f) => f.id)),
    'current-schema-id': schema['schema-id'],
    schemas: [schema],
    'default-spec-id': spec['spec-id'],
    'partition-specs': [spec],
    // The spec says 999 when unpartitioned: partition field ids start at 1000.
    'last-partition-id': Math.max(999, ...spec.fields.map((f) => f['field-id'])),
    'default-sort-order-id': 0,
    'sort-orders': [UNSORTED],
    properties,
    snapshots: [],
    refs: {},
    'snapshot-log': [],
    'metadata-log': [],
  };
}

export interface LiveEntry extends ManifestEntry {
  manifestPath: string;
}

export interface SnapshotFiles {
  manifests: ManifestFile[];
  /** Data files live in the snapshot (ADDED or EXISTING), with their sequence numbers. */
  live: LiveEntry[];
  /** Entries DELETED by this very snapshot. */
  deleted: LiveEntry[];
}

export function findSnapshot(metadata: TableMetadata, snapshotId?: bigint): Snapshot | undefined {
  const id = snapshotId ?? metadata['current-snapshot-id'];
  return id === undefined ? undefined : metadata.snapshots.find((s) => s['snapshot-id'] === id);
}

/** Reads a snapshot's manifest list and manifests. */
export async function snapshotFiles(
  io: FileIO,
  metadata: TableMetadata,
  snapshotId?: bigint,
): Promise<SnapshotFiles> {
  const snapshot = findSnapshot(metadata, snapshotId);
  if (!snapshot) return { manifests: [], live: [], deleted: [] };
  const manifests = await readManifestList(io, snapshot['manifest-list']);
  const live: LiveEntry[] = [];
  const deleted: LiveEntry[] = [];
  const lists = await Promise.all(manifests.map((m) => readManifest(io, m)));
  manifests.forEach((manifest, i) => {
    for (const entry of lists[i] ?? []) {
      const item = { ...entry, manifestPath: manifest.manifest_path };
      if (entry.status === Status.DELETED) deleted.push(item);
      else live.push(item);
    }
  });
  return { manifests, live, deleted };
}

export interface PendingSnapshot {
  metadata: TableMetadata;
  snapshot: Snapshot;
  /** A schema new to the table, made current by this commit. */
  addedSchema?: IcebergSchema;
  /** An earlier schema of the table made current again (the columns changed back), by its id. */
  reusedSchemaId?: number;
  /** Files this attempt wrote (manifests, manifest list): deleted if the commit is refused. */
  writtenFiles: string[];
}

export interface SnapshotRequest {
  operation: SnapshotOperation;
  added: DataFile[];
  /** Paths of live data files this snapshot removes. */
  removed: ReadonlySet<string>;
  /** The schema the new data was written with; added to the table if it differs from the current one. */
  schema: IcebergSchema;
  attempt: number;
  extraSummary?: Record<string, string>;
}

/**
 * The same fields in the same order (id, name, type, required, doc). Field by field, not as JSON text:
 * a schema read from another writer's metadata may list a field's keys in another order.
 */
function sameFields(a: IcebergSchema, b: IcebergSchema): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every((f, i) => {
      const g = b.fields[i]!;
      return (
        f.id === g.id &&
        f.name === g.name &&
        f.type === g.type &&
        f.required === g.required &&
        f.doc === g.doc
      );
    })
  );
}

/** Iceberg's schema equality (Java's Schema.sameSchema): the same fields and identifier fields. */
function sameSchema(a: IcebergSchema, b: IcebergSchema): boolean {
  const x = a['identifier-field-ids'] ?? [];
  const y = b['identifier-field-ids'] ?? [];
  return sameFields(a, b) && x.length === y.length && x.every((id, i) => id === y[i]);
}

/**
 * Where a schema goes in the table: the current one when its fields are the same, an equal earlier one
 * made current again (columns that changed back, {a,b} → {a,b,c} → {a,b}, as Java's metadata builder
 * reuses it), or a new one numbered above the highest id. Decided before the data files are written,
 * which name the schema's id in their `iceberg.schema` footer, and again by buildSnapshot: the same rule.
 */
export function placeSchema(
  base: TableMetadata,
  schema: IcebergSchema,
): { schema: IcebergSchema; added?: IcebergSchema; reusedId?: number } {
  const current = currentSchema(base);
  if (sameFields(current, schema)) return { schema: current };
  const earlier = base.schemas.find((s) => sameSchema(s, schema));
  if (earlier) return { schema: earlier, reusedId: earlier['schema-id'] };
  const added = { ...schema, 'schema-id': Math.max(...base.schemas.map((s) => s['schema-id'])) + 1 };
  return { schema: added, added };
}

/**
 * Builds the next snapshot over `base`: manifests that hold no removed file are carried over as they
 * are (fast append); a manifest that does is rewritten with EXISTING and DELETED entries keeping their
 * sequence numbers; the added files get one new manifest with ADDED entries that inherit the new
 * sequence number. Returns the new metadata, ready for the catalog's atomic swap.
 */
export async function buildSnapshot(
  io: FileIO,
  base: TableMetadata,
  baseFiles: SnapshotFiles,
  request: SnapshotRequest,
): Promise<PendingSnapshot> {
  const parent = findSnapshot(base);
  const snapshotId = newSnapshotId();
  const sequenceNumber = base['last-sequence-number'] + 1;
  const sequence = BigInt(sequenceNumber);
  const spec = defaultSpec(base);
  const { schema, added: addedSchema, reusedId: reusedSchemaId } = placeSchema(base, request.schema);
  const writtenFiles: string[] = [];
  const manifests: ManifestFile[] = [];
  const byManifest = new Map<string, LiveEntry[]>();
  for (const entry of baseFiles.live)
    byManifest.set(entry.manifestPath, [...(byManifest.get(entry.manifestPath) ?? []), entry]);
  const deletedEntries: LiveEntry[] = [];
  for (const manifest of baseFiles.manifests) {
    const live = byManifest.get(manifest.manifest_path) ?? [];
    if (live.length === 0) continue; // only DELETED entries of an older snapshot: nothing live to carry
    const touched = live.some((e) => request.removed.has(e.file.file_path));
    if (!touched) {
      manifests.push(manifest);
      continue;
    }
    const entries: ManifestEntry[] = live.map((e) =>
      request.removed.has(e.file.file_path)
        ? { ...e, status: Status.DELETED, snapshotId }
        : { ...e, status: Status.EXISTING },
    );
    deletedEntries.push(...live.filter((e) => request.removed.has(e.file.file_path)));
    const rewritten = await writeManifest(io, base, currentSchema(base), spec, snapshotId, sequence, entries);
    // A rewritten manifest keeps the sequence number of the snapshot that writes it.
    writtenFiles.push(rewritten.manifest_path);
    manifests.push(rewritten);
  }
  if (request.added.length > 0) {
    const entries: ManifestEntry[] = request.added.map((file) => ({
      status: Status.ADDED,
      snapshotId,
      sequenceNumber: sequence,
      fileSequenceNumber: sequence,
      file,
    }));
    const added = await writeManifest(io, base, schema, spec, snapshotId, sequence, entries);
    writtenFiles.push(added.manifest_path);
    manifests.unshift(added);
  }
  const manifestList = await writeManifestList(
    io,
    base,
    snapshotId,
    parent?.['snapshot-id'],
    sequence,
    request.attempt,
    manifests,
  );
  writtenFiles.push(manifestList);

  const sum = (files: DataFile[], pick: (f: DataFile) => bigint) =>
    files.reduce((total, f) => total + pick(f), 0n);
  const liveAfter = [
    ...baseFiles.live.filter((e) => !request.removed.has(e.file.file_path)).map((e) => e.file),
    ...request.added,
  ];
  const removedFiles = deletedEntries.map((e) => e.file);
  // A long partition value is a BigInt, which JSON.stringify refuses.
  const changedPartitions = new Set(
    [...request.added, ...removedFiles].map((f) =>
      JSON.stringify(f.partition, (_key, value) => (typeof value === 'bigint' ? String(value) : value)),
    ),
  );
  const now = Math.max(Date.now(), base['last-updated-ms'] + 1);
  const summary: Snapshot['summary'] = {
    operation: request.operation,
    'added-data-files': String(request.added.length),
    'deleted-data-files': String(removedFiles.length),
    'added-records': String(sum(request.added, (f) => f.record_count)),
    'deleted-records': String(sum(removedFiles, (f) => f.record_count)),
    'added-files-size': String(sum(request.added, (f) => f.file_size_in_bytes)),
    'removed-files-size': String(sum(removedFiles, (f) => f.file_size_in_bytes)),
    'changed-partition-count': String(changedPartitions.size),
    'total-records': String(sum(liveAfter, (f) => f.record_count)),
    'total-files-size': String(sum(liveAfter, (f) => f.file_size_in_bytes)),
    'total-data-files': String(liveAfter.length),
    'total-delete-files': '0',
    'total-position-deletes': '0',
    'total-equality-deletes': '0',
    ...request.extraSummary,
  };
  const snapshot: Snapshot = {
    'snapshot-id': snapshotId,
    ...(parent ? { 'parent-snapshot-id': parent['snapshot-id'] } : {}),
    'sequence-number': sequenceNumber,
    'timestamp-ms': now,
    'manifest-list': manifestList,
    summary,
    'schema-id': schema['schema-id'],
  };
  const metadata: TableMetadata = {
    ...base,
    'last-sequence-number': sequenceNumber,
    'last-updated-ms': now,
    'last-column-id': Math.max(base['last-column-id'], ...schema.fields.map((f) => f.id)),
    'current-schema-id': schema['schema-id'],
    schemas: addedSchema ? [...base.schemas, addedSchema] : base.schemas,
    'current-snapshot-id': snapshotId,
    snapshots: [...base.snapshots, snapshot],
    refs: { ...base.refs, main: { 'snapshot-id': snapshotId, type: 'branch' } },
    'snapshot-log': [...base['snapshot-log'], { 'snapshot-id': snapshotId, 'timestamp-ms': now }],
  };
  return {
    metadata,
    snapshot,
    ...(addedSchema ? { addedSchema } : {}),
    ...(reusedSchemaId !== undefined ? { reusedSchemaId } : {}),
    writtenFiles,
  };
}

/** Adds the previous metadata file to the metadata log (catalogs call this as they write the next file). */
export function withMetadataLog(
  next: TableMetadata,
  base: { metadataLocation: string; metadata: TableMetadata },
): TableMetadata {
  return {
    ...next,
    'metadata-log': [
      ...base.metadata['metadata-log'],
      { 'metadata-file': base.metadataLocation, 'timestamp-ms': base.metadata['last-updated-ms'] },
    ],
  };
}
