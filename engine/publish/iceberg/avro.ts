import avro from 'avsc';

/** Avro `long` as BigInt: Iceberg snapshot ids are random 63-bit numbers that a JS number would round. */
const BigIntLong = avro.types.LongType.__with({
  fromBuffer: (buffer: Buffer) => buffer.readBigInt64LE(),
  toBuffer: (value: bigint | number) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt(value));
    return buffer;
  },
  fromJSON: (value: unknown) => BigInt(value as string | number),
  toJSON: (value: bigint) => Number(value),
  isValid: (value: unknown) =>
    typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value)),
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/** An Avro type whose longs are BigInt. */
export function avroType(schema: object): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { registry: { long: BigIntLong } });
}

const MAGIC = Buffer.from('Obj\u0001', 'latin1');
const HeaderMeta = avro.Type.forSchema({ type: 'map', values: 'bytes' });
const Long = avro.Type.forSchema('long');

/**
 * Writes an Avro object container holding `records`. The header carries `schema` as given (raw JSON),
 * because avsc drops `field-id` and `logicalType` when it re-exports a parsed type, and Iceberg readers
 * map manifest columns by those ids.
 */
export function writeAvroContainer(
  schema: object,
  records: readonly object[],
  metadata: Record<string, string>,
): Buffer {
  const type = avroType(schema);
  const meta: Record<string, Buffer> = {
    'avro.schema': Buffer.from(JSON.stringify(schema)),
    'avro.codec': Buffer.from('null'),
  };
  for (const [key, value] of Object.entries(metadata)) meta[key] = Buffer.from(value);
  const sync = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) sync[i] = Math.floor(Math.random() * 256);
  const parts: Buffer[] = [MAGIC, HeaderMeta.toBuffer(meta), sync];
  if (records.length > 0) {
    const body = Buffer.concat(records.map((record) => type.toBuffer(record)));
    parts.push(Long.toBuffer(records.length), Long.toBuffer(body.length), body, sync);
  }
  return Buffer.concat(parts);
}

export interface AvroContainer<T> {
  metadata: Record<string, string>;
  schema: unknown;
  records: T[];
}

/** Reads an Avro object container (null or deflate codec), longs as BigInt. */
export async function readAvroContainer<T>(bytes: Buffer, source: string): Promise<AvroContainer<T>> {
  if (bytes.length < 4 || !bytes.subarray(0, 4).equals(MAGIC)) {
    throw new Error(`${source} is not an Avro object container file (bad magic bytes)`);
  }
  return new Promise((resolve, reject) => {
    const records: T[] = [];
    let metadata: Record<string, string> = {};
    let schema: unknown;
    const decoder = new avro.streams.BlockDecoder({
      parseHook: (parsed: unknown) => avroType(parsed as object),
    });
    decoder.on('metadata', (_type: avro.Type, _codec: string, header: { meta: Record<string, Buffer> }) => {
      metadata = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString('utf8')]));
      schema = JSON.parse(metadata['avro.schema'] ?? 'null');
    });
    decoder.on('data', (record: T) => records.push(record));
    decoder.on('error', (error: Error) => reject(new Error(`${source}: ${error.message}`)));
    decoder.on('end', () => resolve({ metadata, schema, records }));
    decoder.end(bytes);
  });
}
