import { randomUUID } from 'node:crypto';
import { LakehouseError } from '../../api/errors.ts';
import { readAvroContainer, writeAvroContainer } from './avro.ts';
import type { FileIO } from './file-io.ts';
import type { IcebergSchema, IcebergType, PartitionSpec, TableMetadata } from './spec.ts';

/** A `long` partition value is a BigInt (as Avro reads it back): a JS number rounds above 2^53. */
export type PartitionValue = number | bigint | string | null;

/** A data file as a manifest records it (`data_file`, field ids 100+). Keys of the stat maps are field ids. */
export interface DataFile {
  content: 0;
  file_path: string;
  file_format: 'PARQUET';
  /** Partition values by partition field name; empty for an unpartitioned table. */
  partition: Record<string, PartitionValue>;
  record_count: bigint;
  file_size_in_bytes: bigint;
  column_sizes: { key: number; value: bigint }[] | null;
  value_counts: { key: number; value: bigint }[] | null;
  null_value_counts: { key: number; value: bigint }[] | null;
  nan_value_counts: { key: number; value: bigint }[] | null;
  lower_bounds: { key: number; value: Buffer }[] | null;
  upper_bounds: { key: number; value: Buffer }[] | null;
  key_metadata: Buffer | null;
  split_offsets: bigint[] | null;
  equality_ids: number[] | null;
  sort_order_id: number | null;
}

export const Status = { EXISTING: 0, ADDED: 1, DELETED: 2 } as const;

/** A manifest entry with sequence numbers already inherited (never null once read). */
export interface ManifestEntry {
  status: 0 | 1 | 2;
  snapshotId: bigint;
  sequenceNumber: bigint;
  fileSequenceNumber: bigint;
  file: DataFile;
}

/** One row of a manifest list (`manifest_file`, field ids 500+). */
export interface ManifestFile {
  manifest_path: string;
  manifest_length: bigint;
  partition_spec_id: number;
  content: 0 | 1;
  sequence_number: bigint;
  min_sequence_number: bigint;
  added_snapshot_id: bigint;
  added_files_count: number;
  existing_files_count: number;
  deleted_files_count: number;
  added_rows_count: bigint;
  existing_rows_count: bigint;
  deleted_rows_count: bigint;
  partitions:
    | {
        contains_null: boolean;
        contains_nan: boolean | null;
        lower_bound: Buffer | null;
        upper_bound: Buffer | null;
      }[]
    | null;
  key_metadata: Buffer | null;
}

const optional = (type: unknown, name: string, fieldId: number, doc?: string) => ({
  name,
  type: ['null', type],
  default: null,
  'field-id': fieldId,
  ...(doc ? { doc } : {}),
});

const intMap = (name: string, fieldId: number, keyId: number, valueId: number, valueType: string) =>
  optional(
    {
      type: 'array',
      logicalType: 'map',
      items: {
        type: 'record',
        name: `k${keyId}_v${valueId}`,
        fields: [
          { name: 'key', type: 'int', 'field-id': keyId },
          { name: 'value', type: valueType, 'field-id': valueId },
        ],
      },
    },
    name,
    fieldId,
  );

/** The Avro type of a partition value: the source column's Iceberg type under an identity transform. */
function partitionAvroType(type: IcebergType): unknown {
  switch (type) {
    case 'int':
    case 'long':
    case 'string':
    case 'boolean':
      return type;
    case 'date':
      return { type: 'int', logicalType: 'date' };
    default:
      throw new LakehouseError(
        'ICEBERG_INVALID',
        `Identity partitioning on a ${type} column is not supported here; partition on an int, long, string, boolean or date column.`,
      );
  }
}

export function partitionFieldTypes(
  schema: IcebergSchema,
  spec: PartitionSpec,
): { name: string; fieldId: number; type: IcebergType }[] {
  return spec.fields.map((f) => {
    const source = schema.fields.find((field) => field.id === f['source-id']);
    if (!source)
      throw new LakehouseError(
        'ICEBERG_INVALID',
        `Partition field ${f.name} has no source column ${f['source-id']}`,
      );
    if (f.transform !== 'identity') {
      throw new LakehouseError(
        'ICEBERG_INVALID',
        `Partition transform ${f.transform} of ${f.name} is not supported (identity only)`,
      );
    }
    return { name: f.name, fieldId: f['field-id'], type: source.type };
  });
}

/**
 * A partition field's name as an Avro field name, which allows only `[A-Za-z_][A-Za-z0-9_]*`: other
 * characters become `_x<hex>` (a leading digit gets a `_`), as Iceberg's Java writer names them.
 * Readers find the field by its id, so only Avro's rule matters.
 */
export function avroFieldName(name: string): string {
  let out = '';
  for (const [i, ch] of Array.from(name).entries()) {
    if (/[A-Za-z_]/.test(ch) || (i > 0 && /[0-9]/.test(ch))) out += ch;
    else if (/[0-9]/.test(ch)) out += `_${ch}`;
    else out += `_x${ch.codePointAt(0)!.toString(16).toUpperCase()}`;
  }
  return out;
}

/** The `manifest_entry` Avro schema for a partition spec (the spec's fields make up `partition`, id 102). */
export function manifestEntrySchema(schema: IcebergSchema, spec: PartitionSpec): object {
  const partitionFields = partitionFieldTypes(schema, spec).map((p) =>
    optional(partitionAvroType(p.type), avroFieldName(p.name), p.fieldId),
  );
  return {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      { name: 'status', type: 'int', 'field-id': 0 },
      optional('long', 'snapshot_id', 1),
      optional('long', 'sequence_number', 3),
      optional('long', 'file_sequence_number', 4),
      {
        name: 'data_file',
        'field-id': 2,
        type: {
          type: 'record',
          name: 'r2',
          fields: [
            {
              name: 'content',
              type: 'int',
              'field-id': 134,
              doc: 'Contents of the file: 0=data, 1=position deletes, 2=equality deletes',
            },
            { name: 'file_path', type: 'string', 'field-id': 100, doc: 'Location URI with FS scheme' },
            { name: 'file_format', type: 'string', 'field-id': 101 },
            {
              name: 'partition',
              'field-id': 102,
              type: { type: 'record', name: 'r102', fields: partitionFields },
            },
            { name: 'record_count', type: 'long', 'field-id': 103 },
            { name: 'file_size_in_bytes', type: 'long', 'field-id': 104 },
            intMap('column_sizes', 108, 117, 118, 'long'),
            intMap('value_counts', 109, 119, 120, 'long'),
            intMap('null_value_counts', 110, 121, 122, 'long'),
            intMap('nan_value_counts', 137, 138, 139, 'long'),
            intMap('lower_bounds', 125, 126, 127, 'bytes'),
            intMap('upper_bounds', 128, 129, 130, 'bytes'),
            optional('bytes', 'key_metadata', 131),
            optional({ type: 'array', items: 'long', 'element-id': 133 }, 'split_offsets', 132),
            optional({ type: 'array', items: 'int', 'element-id': 136 }, 'equality_ids', 135),
            optional('int', 'sort_order_id', 140),
          ],
        },
      },
    ],
  };
}

export const MANIFEST_FILE_SCHEMA = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    { name: 'manifest_path', type: 'string', 'field-id': 500 },
    { name: 'manifest_length', type: 'long', 'field-id': 501 },
    { name: 'partition_spec_id', type: 'int', 'field-id': 502 },
    { name: 'content', type: 'int', 'field-id': 517 },
    { name: 'sequence_number', type: 'long', 'field-id': 515 },
    { name: 'min_sequence_number', type: 'long', 'field-id': 516 },
    { name: 'added_snapshot_id', type: 'long', 'field-id': 503 },
    { name: 'added_files_count', type: 'int', 'field-id': 504 },
    { name: 'existing_files_count', type: 'int', 'field-id': 505 },
    { name: 'deleted_files_count', type: 'int', 'field-id': 506 },
    { name: 'added_rows_count', type: 'long', 'field-id': 512 },
    { name: 'existing_rows_count', type: 'long', 'field-id': 513 },
    { name: 'deleted_rows_count', type: 'long', 'field-id': 514 },
    optional(
      {
        type: 'array',
        'element-id': 508,
        items: {
          type: 'record',
          name: 'r508',
          fields: [
            { name: 'contains_null', type: 'boolean', 'field-id': 509 },
            optional('boolean', 'contains_nan', 518),
            optional('bytes', 'lower_bound', 510),
            optional('bytes', 'upper_bound', 511),
          ],
        },
      },
      'partitions',
      507,
    ),
    optional('bytes', 'key_metadata', 519),
  ],
};

/** Iceberg's order of partition values: numbers (int, date, long as BigInt) by value, strings by UTF-8 bytes. */
function comparePartitionValues(a: number | bigint | string, b: number | bigint | string): number {
  if (typeof a === 'string' || typeof b === 'string')
    return Buffer.compare(Buffer.from(String(a), 'utf8'), Buffer.from(String(b), 'utf8'));
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Binary single-value form of a partition value (for partition summaries). */
function partitionValueBytes(type: IcebergType, value: number | bigint | string): Buffer {
  if (type === 'int' || type === 'date') {
    const b = Buffer.alloc(4);
    b.writeInt32LE(Number(value));
    return b;
  }
  if (type === 'long') {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(value));
    return b;
  }
  if (type === 'boolean') return Buffer.from([value ? 1 : 0]);
  return Buffer.from(String(value), 'utf8');
}

/**
 * Writes one manifest for entries of one snapshot. ADDED entries leave their sequence numbers null
 * (inherited from the manifest list); EXISTING and DELETED keep the numbers they were given.
 */
export async function writeManifest(
  io: FileIO,
  metadata: TableMetadata,
  schema: IcebergSchema,
  spec: PartitionSpec,
  snapshotId: bigint,
  sequenceNumber: bigint,
  entries: ManifestEntry[],
): Promise<ManifestFile> {
  const path = `${metadata.location}/metadata/${randomUUID()}-m0.avro`;
  const records = entries.map((e) => ({
    status: e.status,
    snapshot_id: e.snapshotId,
    sequence_number: e.status === Status.ADDED ? null : e.sequenceNumber,
    file_sequence_number: e.status === Status.ADDED ? null : e.fileSequenceNumber,
    data_file: {
      ...e.file,
      partition: Object.fromEntries(
        spec.fields.map((f) => [avroFieldName(f.name), e.file.partition[f.name] ?? null]),
      ),
    },
  }));
  const bytes = writeAvroContainer(manifestEntrySchema(schema, spec), records, {
    schema: JSON.stringify(schema),
    'schema-id': String(schema['schema-id']),
    'partition-spec': JSON.stringify(spec.fields),
    'partition-spec-id': String(spec['spec-id']),
    'format-version': '2',
    content: 'data',
  });
  await io.write(path, bytes);
  const count = (status: number) => entries.filter((e) => e.status === status);
  const rows = (list: ManifestEntry[]) => list.reduce((sum, e) => sum + e.file.record_count, 0n);
  let minSequence = sequenceNumber;
  for (const e of entries)
    if (e.status === Status.EXISTING && e.sequenceNumber < minSequence) minSequence = e.sequenceNumber;
  const fields = partitionFieldTypes(schema, spec);
  const partitions = fields.map((field) => {
    // Like Java's writer, summaries cover every entry (DELETED ones too: changelog readers prune on them).
    const values = entries.map((e) => e.file.partition[field.name] ?? null);
    const present = values.filter((v): v is number | bigint | string => v !== null);
    const sorted = [...present].sort(comparePartitionValues);
    return {
      contains_null: values.some((v) => v === null),
      contains_nan: false,
      lower_bound: sorted.length ? partitionValueBytes(field.type, sorted[0]!) : null,
      upper_bound: sorted.length ? partitionValueBytes(field.type, sorted[sorted.length - 1]!) : null,
    };
  });
  return {
    manifest_path: path,
    manifest_length: BigInt(bytes.length),
    partition_spec_id: spec['spec-id'],
    content: 0,
    sequence_number: sequenceNumber,
    min_sequence_number: minSequence,
    added_snapshot_id: snapshotId,
    added_files_count: count(Status.ADDED).length,
    existing_files_count: count(Status.EXISTING).length,
    deleted_files_count: count(Status.DELETED).length,
    added_rows_count: rows(count(Status.ADDED)),
    existing_rows_count: rows(count(Status.EXISTING)),
    deleted_rows_count: rows(count(Status.DELETED)),
    partitions: fields.length ? partitions : null,
    key_metadata: null,
  };
}

/** Writes the manifest list of a snapshot (`snap-<id>-<attempt>-<uuid>.avro`). */
export async function writeManifestList(
  io: FileIO,
  metadata: TableMetadata,
  snapshotId: bigint,
  parentSnapshotId: bigint | undefined,
  sequenceNumber: bigint,
  attempt: number,
  manifests: ManifestFile[],
): Promise<string> {
  const path = `${metadata.location}/metadata/snap-${snapshotId}-${attempt}-${randomUUID()}.avro`;
  const bytes = writeAvroContainer(MANIFEST_FILE_SCHEMA, manifests, {
    'snapshot-id': String(snapshotId),
    'parent-snapshot-id': parentSnapshotId === undefined ? 'null' : String(parentSnapshotId),
    'sequence-number': String(sequenceNumber),
    'format-version': '2',
  });
  await io.write(path, bytes);
  return path;
}

export async function readManifestList(io: FileIO, path: string): Promise<ManifestFile[]> {
  const { records } = await readAvroContainer<ManifestFile>(await io.read(path), path);
  return records;
}

interface RawEntry {
  status: 0 | 1 | 2;
  snapshot_id: bigint | null;
  sequence_number: bigint | null;
  file_sequence_number: bigint | null;
  data_file: DataFile;
}

/** Reads a manifest's entries, inheriting null sequence numbers and snapshot ids from its list row. */
export async function readManifest(io: FileIO, manifest: ManifestFile): Promise<ManifestEntry[]> {
  const container = await readAvroContainer<RawEntry>(
    await io.read(manifest.manifest_path),
    manifest.manifest_path,
  );
  const partitionOf = partitionNamesOf(container.schema, container.metadata['partition-spec']);
  return container.records.map((r) => {
    if (r.status !== Status.ADDED && (r.sequence_number === null || r.file_sequence_number === null)) {
      throw new LakehouseError(
        'ICEBERG_INVALID',
        `${manifest.manifest_path}: an ${r.status === 0 ? 'EXISTING' : 'DELETED'} entry for ${r.data_file.file_path} has no sequence number`,
      );
    }
    return {
      status: r.status,
      snapshotId: r.snapshot_id ?? manifest.added_snapshot_id,
      sequenceNumber: r.sequence_number ?? manifest.sequence_number,
      fileSequenceNumber: r.file_sequence_number ?? manifest.sequence_number,
      file: { ...r.data_file, partition: partitionOf(r.data_file.partition) },
    };
  });
}

/**
 * Keys a manifest's partition tuple by the spec's field names: its Avro field names may differ (a
 * name Avro refuses, like `date key`, is written `date_x20key`), so they are matched by field id.
 */
function partitionNamesOf(
  avroSchema: unknown,
  specJson: string | undefined,
): (tuple: Record<string, PartitionValue>) => Record<string, PartitionValue> {
  type AvroField = { name: string; 'field-id'?: number; type: unknown };
  const fieldsOf = (type: unknown): AvroField[] => (type as { fields?: AvroField[] } | null)?.fields ?? [];
  const dataFile = fieldsOf(avroSchema).find((f) => f['field-id'] === 2 || f.name === 'data_file');
  const partition = fieldsOf(dataFile?.type).find((f) => f['field-id'] === 102 || f.name === 'partition');
  let specFields: PartitionSpec['fields'] = [];
  try {
    specFields = specJson ? (JSON.parse(specJson) as PartitionSpec['fields']) : [];
  } catch {
    // No readable spec in the header: the Avro names are all there is.
  }
  const renames = new Map<string, string>();
  for (const field of fieldsOf(partition?.type)) {
    const named = specFields.find((f) => f['field-id'] === field['field-id']);
    if (named && named.name !== field.name) renames.set(field.name, named.name);
  }
  return (tuple) =>
    Object.fromEntries(Object.entries(tuple).map(([name, value]) => [renames.get(name) ?? name, value]));
}
