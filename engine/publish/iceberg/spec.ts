import { LakehouseError } from '../../api/errors.ts';

/** Iceberg primitive type names as they appear in metadata JSON (`decimal(P,S)` included). */
export type IcebergType = string;

export interface IcebergField {
  id: number;
  name: string;
  required: boolean;
  type: IcebergType;
  doc?: string;
}

export interface IcebergSchema {
  type: 'struct';
  'schema-id': number;
  fields: IcebergField[];
  'identifier-field-ids'?: number[];
}

export interface PartitionField {
  'source-id': number;
  'field-id': number;
  name: string;
  transform: string;
}

export interface PartitionSpec {
  'spec-id': number;
  fields: PartitionField[];
}

export interface SortOrder {
  'order-id': number;
  fields: { transform: string; 'source-id': number; direction: 'asc' | 'desc'; 'null-order': string }[];
}

export type SnapshotOperation = 'append' | 'replace' | 'overwrite' | 'delete';

export interface Snapshot {
  'snapshot-id': bigint;
  'parent-snapshot-id'?: bigint;
  'sequence-number': number;
  'timestamp-ms': number;
  'manifest-list': string;
  summary: { operation: SnapshotOperation } & Record<string, string>;
  'schema-id': number;
}

export interface SnapshotRef {
  'snapshot-id': bigint;
  type: 'branch' | 'tag';
}

/** Table metadata, format version 2. Snapshot ids are BigInt everywhere (they exceed 2^53). */
export interface TableMetadata {
  'format-version': 2;
  'table-uuid': string;
  location: string;
  'last-sequence-number': number;
  'last-updated-ms': number;
  'last-column-id': number;
  'current-schema-id': number;
  schemas: IcebergSchema[];
  'default-spec-id': number;
  'partition-specs': PartitionSpec[];
  'last-partition-id': number;
  'default-sort-order-id': number;
  'sort-orders': SortOrder[];
  properties: Record<string, string>;
  'current-snapshot-id'?: bigint;
  snapshots: Snapshot[];
  refs: Record<string, SnapshotRef>;
  'snapshot-log': { 'snapshot-id': bigint; 'timestamp-ms': number }[];
  'metadata-log': { 'metadata-file': string; 'timestamp-ms': number }[];
}

export function currentSchema(metadata: TableMetadata): IcebergSchema {
  const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']);
  if (!schema) {
    throw new LakehouseError(
      'ICEBERG_INVALID',
      `Iceberg table at ${metadata.location}: current-schema-id ${metadata['current-schema-id']} names no schema`,
    );
  }
  return schema;
}

export function defaultSpec(metadata: TableMetadata): PartitionSpec {
  const spec = metadata['partition-specs'].find((s) => s['spec-id'] === metadata['default-spec-id']);
  if (!spec) {
    throw new LakehouseError(
      'ICEBERG_INVALID',
      `Iceberg table at ${metadata.location}: default-spec-id ${metadata['default-spec-id']} names no partition spec`,
    );
  }
  return spec;
}

/** How a DuckDB column is written: the Iceberg type, and the DuckDB type to cast to before writing. */
export interface ColumnMapping {
  name: string;
  duckdbType: string;
  icebergType: IcebergType;
  /** DuckDB type the column is cast to when written (the Parquet physical form Iceberg expects). */
  writeType: string;
}

/** Maps a DuckDB column type to Iceberg (format v2); throws for types Iceberg v2 cannot hold. */
export function mapDuckdbType(table: string, column: string, duckdbType: string): ColumnMapping {
  const t = duckdbType.toUpperCase().trim();
  const simple: Record<string, [IcebergType, string]> = {
    BOOLEAN: ['boolean', 'BOOLEAN'],
    TINYINT: ['int', 'INTEGER'],
    SMALLINT: ['int', 'INTEGER'],
    INTEGER: ['int', 'INTEGER'],
    UTINYINT: ['int', 'INTEGER'],
    USMALLINT: ['int', 'INTEGER'],
    UINTEGER: ['long', 'BIGINT'],
    BIGINT: ['long', 'BIGINT'],
    // 20 digits would do, but DuckDB writes every decimal past 18 digits as a 16-byte fixed, and the
    // Iceberg spec sizes that fixed by the precision (38 takes 16 bytes, 20 only 9): as wider decimals.
    UBIGINT: ['decimal(38, 0)', 'DECIMAL(38,0)'],
    HUGEINT: ['decimal(38, 0)', 'DECIMAL(38,0)'],
    UHUGEINT: ['decimal(38, 0)', 'DECIMAL(38,0)'],
    FLOAT: ['float', 'FLOAT'],
    DOUBLE: ['double', 'DOUBLE'],
    VARCHAR: ['string', 'VARCHAR'],
    BLOB: ['binary', 'BLOB'],
    DATE: ['date', 'DATE'],
    TIME: ['time', 'TIME'],
    TIMESTAMP: ['timestamp', 'TIMESTAMP'],
    TIMESTAMP_S: ['timestamp', 'TIMESTAMP'],
    TIMESTAMP_MS: ['timestamp', 'TIMESTAMP'],
    // Nanoseconds are format v3 only: written as microseconds.
    TIMESTAMP_NS: ['timestamp', 'TIMESTAMP'],
    'TIMESTAMP WITH TIME ZONE': ['timestamptz', 'TIMESTAMPTZ'],
    UUID: ['uuid', 'UUID'],
  };
  const hit = simple[t];
  if (hit) return { name: column, duckdbType, icebergType: hit[0], writeType: hit[1] };
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (decimal) {
    const precision = Number(decimal[1]);
    const scale = Number(decimal[2]);
    // DuckDB stores 19..38 digits as HUGEINT; Iceberg readers expect the fixed-length form of 38 digits.
    const p = precision > 18 ? 38 : precision;
    return {
      name: column,
      duckdbType,
      icebergType: `decimal(${p}, ${scale})`,
      writeType: `DECIMAL(${p},${scale})`,
    };
  }
  throw new LakehouseError(
    'ICEBERG_INVALID',
    `Column ${table}.${column} has type ${duckdbType}, which an Iceberg v2 table cannot hold. Cast it in the model to a plain type (VARCHAR, BIGINT, DOUBLE, DATE, TIMESTAMP...).`,
    { table, column, type: duckdbType },
  );
}

/** Promotions Iceberg allows without rewriting data (schema evolution). */
export function isAllowedPromotion(from: IcebergType, to: IcebergType): boolean {
  if (from === to) return true;
  if (from === 'int' && to === 'long') return true;
  if (from === 'float' && to === 'double') return true;
  const a = /^decimal\((\d+), ?(\d+)\)$/.exec(from);
  const b = /^decimal\((\d+), ?(\d+)\)$/.exec(to);
  return Boolean(a && b && a[2] === b[2] && Number(b[1]) >= Number(a[1]));
}

/** The DuckDB type an Iceberg primitive reads back as. */
export function duckdbTypeOf(type: IcebergType): string {
  const decimal = /^decimal\((\d+), ?(\d+)\)$/.exec(type);
  if (decimal) return `DECIMAL(${decimal[1]},${decimal[2]})`;
  const map: Record<string, string> = {
    boolean: 'BOOLEAN',
    int: 'INTEGER',
    long: 'BIGINT',
    float: 'FLOAT',
    double: 'DOUBLE',
    string: 'VARCHAR',
    binary: 'BLOB',
    date: 'DATE',
    time: 'TIME',
    timestamp: 'TIMESTAMP',
    timestamptz: 'TIMESTAMPTZ',
    uuid: 'UUID',
  };
  const hit = map[type];
  if (!hit)
    throw new LakehouseError('ICEBERG_INVALID', `Iceberg type ${type} is not supported by this reader`);
  return hit;
}

const MAX_STRING_BOUND = 16;

/**
 * Serialises a column bound (as DuckDB's RETURN_STATS prints it) into Iceberg's single-value binary
 * form; undefined when the type has no bound we write (bounds are optional).
 */
export function boundBytes(type: IcebergType, text: string, side: 'lower' | 'upper'): Buffer | undefined {
  switch (type) {
    case 'int': {
      const b = Buffer.alloc(4);
      b.writeInt32LE(Number(text));
      return b;
    }
    case 'date': {
      // `infinity` has no Iceberg date: no bound, rather than one that excludes the value.
      const days = epochDays(text);
      if (days === undefined) return undefined;
      const b = Buffer.alloc(4);
      b.writeInt32LE(days);
      return b;
    }
    case 'long': {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(text));
      return b;
    }
    case 'float':
    case 'double': {
      let value = Number(text);
      if (Number.isNaN(value) || text.trim() === '') return undefined;
      // DuckDB takes -0.0 and 0.0 for equal and prints either as the bound, while Iceberg orders
      // -0.0 first: a zero bound must cover both, or readers skip files holding the other zero.
      if (value === 0) value = side === 'lower' ? -0 : 0;
      const b = Buffer.alloc(type === 'float' ? 4 : 8);
      if (type === 'float') b.writeFloatLE(value);
      else b.writeDoubleLE(value);
      return b;
    }
    case 'boolean':
      return Buffer.from([text === '1' || text.toLowerCase() === 'true' ? 1 : 0]);
    case 'string':
      return stringBound(text, side);
    case 'timestamp':
    case 'timestamptz': {
      const micros = timestampMicros(text, side);
      if (micros === undefined) return undefined;
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(micros);
      return b;
    }
    default:
      if (type.startsWith('decimal(')) return decimalBytes(text);
      return undefined;
  }
}

/** Truncated string bounds stay valid: a lower bound is a prefix, an upper bound a prefix incremented. */
function stringBound(text: string, side: 'lower' | 'upper'): Buffer | undefined {
  const chars = Array.from(text);
  if (chars.length <= MAX_STRING_BOUND) return Buffer.from(text, 'utf8');
  const prefix = chars.slice(0, MAX_STRING_BOUND);
  if (side === 'lower') return Buffer.from(prefix.join(''), 'utf8');
  for (let i = prefix.length - 1; i >= 0; i--) {
    const code = prefix[i]!.codePointAt(0)!;
    if (code < 0x10ffff && !(code >= 0xd7ff && code < 0xe000)) {
      return Buffer.from(prefix.slice(0, i).join('') + String.fromCodePoint(code + 1), 'utf8');
    }
  }
  return undefined;
}

/**
 * Days from 1970-01-01 to a proleptic Gregorian date, exact for any year (year 0 is 1 BC). Date.UTC
 * takes years 0-99 for 1900-1999, and Date covers only ±275,760 years.
 */
function civilDays(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** DuckDB's date text: `YYYY-MM-DD`, more digits past year 9999, ` (BC)` before year 1. */
const DATE_TEXT = /(\d{4,})-(\d{2})-(\d{2})( \(BC\))?/.source;
const DATE = new RegExp(`^${DATE_TEXT}$`);
const TIMESTAMP = new RegExp(
  `^${DATE_TEXT}[ T]${/(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([+-])(\d{2})(?::?(\d{2}))?)?$/.source}`,
);

const daysOf = (year: string, month: string, day: string, bc: string | undefined) =>
  civilDays(bc ? 1 - Number(year) : Number(year), Number(month), Number(day));

/** Days since the epoch of a DuckDB date; undefined for `infinity`, `-infinity` or anything else. */
export function epochDays(text: string): number | undefined {
  const m = DATE.exec(text.trim());
  if (!m) return undefined;
  const days = daysOf(m[1]!, m[2]!, m[3]!, m[4]);
  return days >= -(2 ** 31) && days < 2 ** 31 ? days : undefined;
}

/**
 * Microseconds since the epoch from DuckDB's `YYYY-MM-DD[ (BC)] HH:MM:SS[.fffffffff][+HH[:MM]]`, without
 * any zone shift for naive values; undefined for `infinity` or anything else. Digits past microseconds
 * round down for a lower bound and up for an upper one, so the bound still holds the value.
 */
export function timestampMicros(text: string, side: 'lower' | 'upper' = 'lower'): bigint | undefined {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return undefined;
  const days = BigInt(daysOf(m[1]!, m[2]!, m[3]!, m[4]));
  const seconds = BigInt(Number(m[5]) * 3600 + Number(m[6]) * 60 + Number(m[7]));
  const digits = m[8] ?? '';
  let micros = (days * 86_400n + seconds) * 1_000_000n + BigInt(`${digits}000000`.slice(0, 6));
  if (side === 'upper' && /[1-9]/.test(digits.slice(6))) micros += 1n;
  if (m[9]) {
    const offsetMinutes = Number(m[10]) * 60 + Number(m[11] ?? 0);
    micros -= BigInt((m[9] === '-' ? -1 : 1) * offsetMinutes) * 60_000_000n;
  }
  return micros === BigInt.asIntN(64, micros) ? micros : undefined;
}

/** Decimal unscaled value as big-endian two's complement in the fewest bytes. */
export function decimalBytes(text: string): Buffer {
  const negative = text.trim().startsWith('-');
  const digits = text.trim().replace(/^[-+]/, '').replace('.', '');
  let value = BigInt(digits || '0');
  if (negative) value = -value;
  let length = 1;
  while (value < -(1n << BigInt(8 * length - 1)) || value >= 1n << BigInt(8 * length - 1)) length++;
  const out = Buffer.alloc(length);
  let v = BigInt.asUintN(8 * length, value);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Reads a single-value binary bound back into a comparable JS value (tests, partition summaries). */
export function decodeBound(type: IcebergType, bytes: Buffer): string | number | bigint | boolean {
  switch (type) {
    case 'int':
      return bytes.readInt32LE();
    case 'date':
      return dateOfDays(bytes.readInt32LE());
    case 'long':
    case 'timestamp':
    case 'timestamptz':
      return bytes.readBigInt64LE();
    case 'float':
      return bytes.readFloatLE();
    case 'double':
      return bytes.readDoubleLE();
    case 'boolean':
      return bytes[0] === 1;
    case 'string':
      return bytes.toString('utf8');
    default:
      return bytes.toString('hex');
  }
}

/** The `YYYY-MM-DD` date (DuckDB's text, ` (BC)` before year 1) that many days from 1970-01-01. */
export function dateOfDays(days: number): string {
  // The inverse of civilDays (Hinnant's civil_from_days).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  const text = `${pad(year > 0 ? year : 1 - year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
  return year > 0 ? text : `${text} (BC)`;
}
