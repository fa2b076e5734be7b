import { isSafeNumber, parse, stringify } from 'lossless-json';
import { LakehouseError } from '../../api/errors.ts';
import type { Snapshot, TableMetadata } from './spec.ts';

const REQUIRED_V2 = [
  'format-version',
  'table-uuid',
  'location',
  'last-sequence-number',
  'last-updated-ms',
  'last-column-id',
  'schemas',
  'current-schema-id',
  'partition-specs',
  'default-spec-id',
  'sort-orders',
  'default-sort-order-id',
] as const;

/** Serialises metadata JSON; BigInt snapshot ids are written as exact integers. */
export function serializeMetadata(metadata: TableMetadata): string {
  const out: Record<string, unknown> = { ...metadata };
  // Readers that predate refs still expect -1 rather than an absent key for "no snapshot".
  if (metadata['current-snapshot-id'] === undefined) out['current-snapshot-id'] = -1;
  return stringify(out, undefined, 2) ?? '';
}

function invalid(source: string, reason: string): LakehouseError {
  return new LakehouseError(
    'ICEBERG_INVALID',
    `${source} is not valid Iceberg v2 table metadata: ${reason}`,
    {
      file: source,
      reason,
    },
  );
}

const toBigInt = (value: unknown): bigint => BigInt(value as bigint | number);

/**
 * Parses and checks v2 table metadata (the invariants Java's TableMetadataParser enforces). Integers
 * beyond 2^53 stay exact: snapshot ids come back as BigInt.
 */
export function parseMetadata(text: string, source: string): TableMetadata {
  let raw: Record<string, unknown>;
  try {
    raw = parse(text, null, (value: string) =>
      isSafeNumber(value) ? Number(value) : BigInt(value),
    ) as Record<string, unknown>;
  } catch (error) {
    throw invalid(source, `not JSON (${(error as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object') throw invalid(source, 'not a JSON object');
  if (raw['format-version'] !== 2)
    throw invalid(source, `format-version is ${String(raw['format-version'])}, expected 2`);
  const missing = REQUIRED_V2.filter((key) => raw[key] === undefined);
  if (missing.length > 0) {
    const v1 = ['schema', 'partition-spec'].filter((key) => raw[key] !== undefined);
    const hint = v1.length ? ` (only the v1 field${v1.length > 1 ? 's' : ''} ${v1.join(', ')} present)` : '';
    throw invalid(
      source,
      `missing required field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${hint}`,
    );
  }
  const metadata = raw as unknown as TableMetadata;
  if (!Array.isArray(metadata.schemas) || metadata.schemas.length === 0)
    throw invalid(source, 'schemas is empty');
  if (!metadata.schemas.some((s) => s['schema-id'] === metadata['current-schema-id'])) {
    throw invalid(source, `current-schema-id ${metadata['current-schema-id']} names no schema in schemas`);
  }
  if (!Array.isArray(metadata['partition-specs']) || metadata['partition-specs'].length === 0) {
    throw invalid(source, 'partition-specs is empty');
  }
  if (!metadata['partition-specs'].some((s) => s['spec-id'] === metadata['default-spec-id'])) {
    throw invalid(source, `default-spec-id ${metadata['default-spec-id']} names no partition spec`);
  }
  if (!Array.isArray(metadata['sort-orders']) || metadata['sort-orders'].length === 0) {
    throw invalid(source, 'sort-orders is empty');
  }
  if (!metadata['sort-orders'].some((s) => s['order-id'] === metadata['default-sort-order-id'])) {
    throw invalid(source, `default-sort-order-id ${metadata['default-sort-order-id']} names no sort order`);
  }
  // Older writers omit last-partition-id; like Java, derive it from the specs (999 when unpartitioned).
  metadata['last-partition-id'] ??= Math.max(
    999,
    ...metadata['partition-specs'].flatMap((s) => s.fields.map((f) => f['field-id'])),
  );
  metadata.properties ??= {};
  metadata.snapshots = ((raw.snapshots as Snapshot[] | undefined) ?? []).map((s) => ({
    ...s,
    'snapshot-id': toBigInt(s['snapshot-id']),
    ...(s['parent-snapshot-id'] === undefined
      ? {}
      : { 'parent-snapshot-id': toBigInt(s['parent-snapshot-id']) }),
  }));
  const current = raw['current-snapshot-id'];
  if (current === undefined || current === null || toBigInt(current) === -1n)
    delete metadata['current-snapshot-id'];
  else metadata['current-snapshot-id'] = toBigInt(current);
  metadata['snapshot-log'] = ((raw['snapshot-log'] as TableMetadata['snapshot-log'] | undefined) ?? []).map(
    (e) => ({
      ...e,
      'snapshot-id': toBigInt(e['snapshot-id']),
    }),
  );
  metadata['metadata-log'] ??= [];
  const refs = (raw.refs as TableMetadata['refs'] | undefined) ?? {};
  metadata.refs = Object.fromEntries(
    Object.entries(refs).map(([name, ref]) => [
      name,
      { ...ref, 'snapshot-id': toBigInt(ref['snapshot-id']) },
    ]),
  );
  if (metadata['current-snapshot-id'] !== undefined && !metadata.refs.main) {
    metadata.refs.main = { 'snapshot-id': metadata['current-snapshot-id'], type: 'branch' };
  }
  checkInvariants(metadata, source);
  return metadata;
}

/** The invariants a writer must keep (checked on read, and by the tests on everything written). */
export function checkInvariants(metadata: TableMetadata, source: string): void {
  const ids = new Set(metadata.snapshots.map((s) => s['snapshot-id']));
  let previousSequence = 0;
  for (const snapshot of [...metadata.snapshots].sort((a, b) => a['timestamp-ms'] - b['timestamp-ms'])) {
    if (snapshot['sequence-number'] > metadata['last-sequence-number']) {
      throw invalid(
        source,
        `snapshot ${snapshot['snapshot-id']} has a sequence number above last-sequence-number`,
      );
    }
    if (snapshot['sequence-number'] < previousSequence) {
      throw invalid(
        source,
        `snapshot ${snapshot['snapshot-id']} has a sequence number below its predecessor's`,
      );
    }
    previousSequence = snapshot['sequence-number'];
  }
  for (const [name, ref] of Object.entries(metadata.refs)) {
    if (!ids.has(ref['snapshot-id']))
      throw invalid(source, `ref ${name} points at unknown snapshot ${ref['snapshot-id']}`);
  }
  if (metadata.refs.main && metadata.refs.main['snapshot-id'] !== metadata['current-snapshot-id']) {
    throw invalid(source, 'ref main differs from current-snapshot-id');
  }
  const sorted = (log: { 'timestamp-ms': number }[]) =>
    log.every((e, i) => i === 0 || log[i - 1]!['timestamp-ms'] <= e['timestamp-ms']);
  if (!sorted(metadata['snapshot-log']) || !sorted(metadata['metadata-log'])) {
    throw invalid(source, 'snapshot-log or metadata-log is not in time order');
  }
  const lastLogged = Math.max(
    0,
    ...metadata['snapshot-log'].map((e) => e['timestamp-ms']),
    ...metadata['metadata-log'].map((e) => e['timestamp-ms']),
  );
  if (metadata['last-updated-ms'] < lastLogged)
    throw invalid(source, 'last-updated-ms is older than its last log entry');
}
