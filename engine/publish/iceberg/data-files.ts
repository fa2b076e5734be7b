import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { LakehouseError } from '../../api/errors.ts';
import { type Db, ident, literal } from '../../db/duckdb.ts';
import { syncFile, syncFoldersUpTo } from '../../storage/atomic-file.ts';
import type { FileIO } from './file-io.ts';
import type { DataFile, PartitionValue } from './manifest.ts';
import { boundBytes, epochDays, type IcebergSchema, type IcebergType, type PartitionSpec } from './spec.ts';
import { newStagingFolder } from './staging.ts';

interface CopyStatsRow {
  filename: string;
  count: number;
  file_size_bytes: number;
  column_statistics: { key: string; value: { key: string; value: string | null }[] }[] | null;
  partition_keys: { key: string; value: string | null }[] | null;
}

/** DuckDB names columns in RETURN_STATS as quoted identifiers: `"a ""b"""` → `a "b"`. */
function unquoteIdentifier(name: string): string {
  return name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name;
}

function partitionValue(type: IcebergType, text: string | null, column: string): PartitionValue {
  if (text === null) return null;
  if (type === 'int') return Number(text);
  if (type === 'long') return BigInt(text);
  if (type === 'date') {
    const days = epochDays(text);
    if (days === undefined) {
      throw new LakehouseError(
        'ICEBERG_INVALID',
        `Partition column ${column} holds the date ${text}, which an Iceberg date cannot hold. Replace it in the model (NULL, or a real date).`,
        { column, value: text },
      );
    }
    return days;
  }
  return text;
}

/** Each partition field with the column it comes from (identity transforms: the value is the column's). */
function partitionColumnsOf(schema: IcebergSchema, spec: PartitionSpec) {
  return spec.fields.map((p) => {
    const source = schema.fields.find((f) => f.id === p['source-id']);
    return { name: p.name, column: source?.name ?? p.name, type: (source?.type ?? 'string') as IcebergType };
  });
}

/**
 * The longest folder name (`column=value`, escaped) a partition is written under. File systems refuse
 * names past 255 bytes, and DuckDB failed the publish with its bare 'File name too long'; well below
 * that, so a long path (Windows, a deep warehouse) keeps room for the file name too.
 */
export const MAX_PARTITION_FOLDER_BYTES = 128;

/** DuckDB's escaping of a Hive folder's column and value (its url_encode: all but A-Z a-z 0-9 - _ . ~). */
function hiveEscape(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The folder of a partition value too long to be its name: its first characters, then a hash of the
 * whole value. Iceberg readers take the value from the manifest, never from the path.
 */
function shortFolder(column: string, value: string | null): string {
  if (value === null) return `${hiveEscape(column)}=__HIVE_DEFAULT_PARTITION__`;
  const escaped = `${hiveEscape(column)}=${hiveEscape(value)}`;
  if (Buffer.byteLength(escaped) <= MAX_PARTITION_FOLDER_BYTES) return escaped;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 16);
  // Plain characters only: a `%` in the path is one more thing for a reader of the URI to decode.
  const prefix = [...value.slice(0, 32)].map((c) => (/[A-Za-z0-9._~-]/.test(c) ? c : '_')).join('');
  return `${hiveEscape(column)}=${prefix}-${hash}`;
}

export interface WriteDataFilesOptions {
  /** A SELECT whose columns are the schema's fields, in order, already cast to their write types. */
  select: string;
  schema: IcebergSchema;
  spec: PartitionSpec;
  /** The table location (URI). Files go under `<location>/data/`. */
  location: string;
  io: FileIO;
  /** Local scratch folder for files bound for a remote store. */
  stagingDir: string;
}

/**
 * Writes the rows of `select` as Parquet data files with Iceberg field ids (and the schema in the
 * `iceberg.schema` footer key, as Iceberg's own writers do), one file per partition value, and returns
 * their manifest `data_file` records with per-column stats and bounds in Iceberg's binary form.
 */
export async function writeDataFiles(db: Db, options: WriteDataFilesOptions): Promise<DataFile[]> {
  const { schema, spec, io } = options;
  const fieldIds = schema.fields.map((f) => `${literal(f.name)}: ${f.id}`).join(', ');
  const partitionColumns = partitionColumnsOf(schema, spec);
  const dataUri = `${options.location}/data`;
  const direct = io.localPath(dataUri);
  const folder = direct ?? newStagingFolder(options.stagingDir);
  await mkdir(folder, { recursive: true });
  const copyOptions = [
    'FORMAT PARQUET',
    `FIELD_IDS {${fieldIds}}`,
    `KV_METADATA {'iceberg.schema': ${literal(JSON.stringify(schema))}}`,
    'RETURN_STATS true',
  ];
  // Every file of this write is named after it: written straight into the table's data folder, where
  // earlier snapshots' files and other publishers' uncommitted ones also live, a failed or cancelled
  // write must delete its own files and nothing else.
  const writeId = randomUUID();
  let target: string;
  if (partitionColumns.length > 0) {
    copyOptions.push(
      `PARTITION_BY (${partitionColumns.map((p) => ident(p.column)).join(', ')})`,
      'WRITE_PARTITION_COLUMNS true',
      'APPEND true',
      `FILENAME_PATTERN ${literal(`${writeId}-{uuid}`)}`,
    );
    target = folder;
  } else {
    target = join(folder, `${writeId}.parquet`);
  }
  const uploaded: string[] = [];
  try {
    const long = await longPartitions(db, options.select, partitionColumns);
    const rows = await db.allJson<CopyStatsRow>(
      `COPY (${long ? `SELECT * FROM (${options.select}) WHERE NOT (${long.where})` : options.select}) TO ${literal(target)} (${copyOptions.join(', ')})`,
    );
    // Rows whose partition value is too long for a folder name: one file per value, written where we
    // name it (DuckDB's PARTITION_BY would name the folder after the value), its value given as
    // DuckDB gives a partition's.
    for (const values of long?.values ?? []) {
      const file = join(
        folder,
        ...partitionColumns.map((p, i) => shortFolder(p.column, values[i] ?? null)),
        `${writeId}-${randomUUID()}.parquet`,
      );
      await mkdir(dirname(file), { recursive: true });
      const matches = partitionColumns
        .map(
          (p, i) =>
            `CAST(${ident(p.column)} AS VARCHAR) IS NOT DISTINCT FROM ${values[i] == null ? 'NULL' : literal(values[i])}`,
        )
        .join(' AND ');
      const written = await db.allJson<CopyStatsRow>(
        `COPY (SELECT * FROM (${options.select}) WHERE ${matches}) TO ${literal(file)} (${[
          'FORMAT PARQUET',
          `FIELD_IDS {${fieldIds}}`,
          `KV_METADATA {'iceberg.schema': ${literal(JSON.stringify(schema))}}`,
          'RETURN_STATS true',
        ].join(', ')})`,
      );
      const keys = partitionColumns.map((p, i) => ({ key: p.column, value: values[i] ?? null }));
      rows.push(...written.map((row) => ({ ...row, partition_keys: keys })));
    }
    return await describeFiles(rows, { ...options, folder, direct: direct !== undefined, uploaded });
  } catch (error) {
    if (direct) {
      for (const file of await listLocalFiles(folder))
        if (basename(file).includes(writeId)) await rm(file, { force: true });
    }
    await io.delete(uploaded).catch(() => undefined);
    throw error;
  } finally {
    if (!direct) await rm(folder, { recursive: true, force: true });
  }
}

/**
 * The partitions (values of the partition columns, as text) of `select` whose folder name would be
 * longer than MAX_PARTITION_FOLDER_BYTES, with the predicate that finds their rows; null when none is.
 * Only string values can be that long. One scan of the partition column, mostly answered by strlen: a
 * value of n bytes escapes to at most 3n.
 */
async function longPartitions(
  db: Db,
  select: string,
  partitionColumns: { column: string; type: IcebergType }[],
): Promise<{ where: string; values: (string | null)[][] } | null> {
  const tests = partitionColumns
    .filter((p) => p.type === 'string')
    .map((p) => {
      const room = MAX_PARTITION_FOLDER_BYTES - Buffer.byteLength(hiveEscape(p.column)) - 1;
      const column = ident(p.column);
      // coalesce: a NULL value has its folder, and NOT (NULL) would leave its rows out of both writes.
      return `coalesce(strlen(${column}) * 3 > ${room} AND strlen(url_encode(${column})) > ${room}, false)`;
    });
  if (tests.length === 0) return null;
  const where = tests.join(' OR ');
  const found = await db.allJson<{ v: (string | null)[] }>(
    `SELECT DISTINCT [${partitionColumns.map((p) => `CAST(${ident(p.column)} AS VARCHAR)`).join(', ')}] AS v FROM (${select}) WHERE ${where}`,
  );
  return found.length === 0 ? null : { where, values: found.map((r) => r.v) };
}

/**
 * The manifest `data_file` records of the files a COPY wrote (uploading each to the table first when
 * it was written to a local staging folder; `uploaded` collects their URIs as they go).
 */
async function describeFiles(
  rows: CopyStatsRow[],
  options: WriteDataFilesOptions & { folder: string; direct: boolean; uploaded: string[] },
): Promise<DataFile[]> {
  const { schema, spec, io, folder, direct } = options;
  const dataUri = `${options.location}/data`;
  const partitionColumns = partitionColumnsOf(schema, spec);
  const byName = new Map(schema.fields.map((f) => [f.name, f]));
  const files: DataFile[] = [];
  for (const row of rows) {
    if (Number(row.count) === 0) {
      await rm(row.filename, { force: true });
      continue;
    }
    const rel = relative(folder, row.filename).split('\\').join('/');
    const uri = `${dataUri}/${rel}`;
    if (!direct) {
      await io.upload(row.filename, uri);
      options.uploaded.push(uri);
    } else {
      // Durable before the metadata that names it is committed (the upload of a staged file does the same).
      await syncFile(row.filename);
    }
    const columnSizes: { key: number; value: bigint }[] = [];
    const valueCounts: { key: number; value: bigint }[] = [];
    const nullCounts: { key: number; value: bigint }[] = [];
    const lower: { key: number; value: Buffer }[] = [];
    const upper: { key: number; value: Buffer }[] = [];
    for (const column of row.column_statistics ?? []) {
      const field = byName.get(unquoteIdentifier(column.key));
      if (!field) continue;
      const stats = Object.fromEntries(column.value.map((s) => [s.key, s.value]));
      if (stats.column_size_bytes != null)
        columnSizes.push({ key: field.id, value: BigInt(stats.column_size_bytes) });
      if (stats.num_values != null) valueCounts.push({ key: field.id, value: BigInt(stats.num_values) });
      if (stats.null_count != null) nullCounts.push({ key: field.id, value: BigInt(stats.null_count) });
      const min = stats.min != null ? boundBytes(field.type, stats.min, 'lower') : undefined;
      const max = stats.max != null ? boundBytes(field.type, stats.max, 'upper') : undefined;
      if (min) lower.push({ key: field.id, value: min });
      if (max) upper.push({ key: field.id, value: max });
    }
    const sortById = <T extends { key: number }>(list: T[]) => list.sort((a, b) => a.key - b.key);
    const keys = new Map((row.partition_keys ?? []).map((k) => [k.key, k.value]));
    const partition: Record<string, PartitionValue> = {};
    for (const p of partitionColumns)
      partition[p.name] = partitionValue(p.type, keys.get(p.column) ?? null, p.column);
    files.push({
      content: 0,
      file_path: uri,
      file_format: 'PARQUET',
      partition,
      record_count: BigInt(row.count),
      file_size_in_bytes: BigInt(row.file_size_bytes),
      column_sizes: sortById(columnSizes),
      value_counts: sortById(valueCounts),
      null_value_counts: sortById(nullCounts),
      nan_value_counts: null,
      lower_bounds: sortById(lower),
      upper_bounds: sortById(upper),
      key_metadata: null,
      split_offsets: null,
      equality_ids: null,
      sort_order_id: 0,
    });
  }
  if (direct)
    await syncFoldersUpTo(
      folder,
      rows.map((r) => r.filename),
    );
  return files;
}

/** Lists the files under a local folder (tests and garbage checks). */
export async function listLocalFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  // Before Node 20.12 (package.json allows any 20) a Dirent names its folder as `path`, not `parentPath`.
  const folderOf = (e: (typeof entries)[number]) => e.parentPath ?? (e as unknown as { path: string }).path;
  return entries.filter((e) => e.isFile()).map((e) => join(folderOf(e), e.name));
}
