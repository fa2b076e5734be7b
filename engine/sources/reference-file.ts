import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { inNumber } from '../api/counted.ts';
import { LakehouseError } from '../api/errors.ts';
import { type Db, ident, literal, NO_HIVE_COLUMNS, pathLiteral } from '../db/duckdb.ts';
import type { ReferenceFileSource } from '../project/config.ts';
import type { ProjectStorage } from '../storage/project-storage.ts';
import { listObjects, type S3ObjectInfo } from '../storage/s3-objects.ts';
import { isS3Uri, parseS3Uri } from '../storage/s3-uri.ts';
import { firstLine } from './daily-parquet.ts';

/**
 * A DuckDB error reading a file, in one line a user can act on: its first line and, for a CSV error,
 * the line saying what is wrong, which DuckDB puts after the offending line and before its settings.
 */
export function readFailure(error: unknown): string {
  const first = firstLine(error).replace(/\.$/, '');
  if (!first.includes('CSV Error on Line')) return first;
  const rest = (error instanceof Error ? error.message : String(error)).split('\n').slice(1);
  // A quote left open takes the next lines into the original line DuckDB shows, before its reason.
  const reason =
    rest.find((l) => l.startsWith('Value with unterminated quote')) ??
    rest.find((l) => l.trim() !== '' && !/^(Original Line|Possible Solution|\s)/.test(l));
  return `${first.replace(/^Invalid Input Error: /, '')}${reason ? `: ${reason.trim().replace(/\.$/, '')}` : ''}`;
}

/** Exposes a CSV, Parquet or JSON file as the view `source.<name>`, after checking its required columns. */
export async function bindReferenceFile(
  db: Db,
  name: string,
  source: ReferenceFileSource,
  location: string,
  storage?: ProjectStorage,
): Promise<void> {
  // An S3 object is fetched into the local cache (skipped when its ETag is unchanged) and read there.
  const path = isS3Uri(location)
    ? await fetchS3File(name, location, storage).catch((error: unknown) => {
        if (error instanceof LakehouseError) error.details.source ??= name;
        throw error;
      })
    : location;
  try {
    await access(path);
  } catch {
    throw fileMissing(name, path);
  }
  // A folder passes the check above, then failed as an INTERNAL EISDIR naming neither it nor the setting.
  if ((await stat(path)).isDirectory()) {
    throw new LakehouseError(
      'SOURCE_MISSING',
      `Source "${name}": ${location} is a folder, and a file source is one CSV, Parquet or JSON file. Give that ` +
        `file's path as sources.${name}.path in lakehouse.yaml (a folder of day folders is a daily_parquet source).`,
      { source: name, path: location },
    );
  }
  // Otherwise "cannot be read as csv: EACCES ... set sources.<name>.format", as if the format were at fault.
  await access(path, constants.R_OK).catch(() => {
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `Source "${name}": file ${path} cannot be opened by this user (permission denied). Give your user read access to it (chmod a+r), or copy it somewhere readable and change sources.${name}.path.`,
      { source: name, path },
    );
  });
  // A workbook read as CSV failed as "not utf-8 encoded"; Excel's own export is the way to a file read here.
  if (/\.(xlsx|xlsm|xls|ods)$/i.test(location) || (await startsWith(path, 'PK\x03\x04'))) {
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `Source "${name}": ${location} is a spreadsheet workbook (or another zip archive), which is not read. ` +
        `Export the sheet as CSV (Excel: Save As "CSV UTF-8") and give that file as sources.${name}.path.`,
      { source: name, path: location },
    );
  }
  const format = source.format ?? (await detectFormat(path, location));
  let reader: string;
  let columns: string[];
  try {
    const described = await describeReferenceFile(db, path, format);
    reader = described.reader;
    columns = described.columns.map((c) => c.name);
  } catch (error) {
    const reason = readFailure(error);
    // Another format would not help a CSV saved as Latin-1 or UTF-16 (Excel's "Unicode text"): its encoding is the fault.
    const fix = /not utf-8 encoded/i.test(reason)
      ? 'Save it as UTF-8 (Excel: "CSV UTF-8"; or iconv -f latin1 -t utf-8)'
      : `Fix the file or set sources.${name}.format`;
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `Source "${name}": ${location} cannot be read as ${format}: ${reason}. ${fix}.`,
      { source: name, path: location },
    );
  }
  const renames = Object.entries(source.rename);
  const unknown = renames.filter(([from]) => !columns.includes(from)).map(([from]) => from);
  if (unknown.length > 0) {
    throw new LakehouseError(
      'SOURCE_SCHEMA_MISMATCH',
      `Source "${name}": sources.${name}.rename names ${inNumber(unknown.length, 'column')} ${unknown.join(', ')} that ${location} does not have ` +
        `(found ${columns.join(', ')}). Fix the names in lakehouse.yaml.`,
      { source: name, path: location, unknown },
    );
  }
  const renamed = columns.map((c) => source.rename[c] ?? c);
  // DuckDB names a second column of one name (in any case) `title_1`: the file's own title column was
  // read under another name without a word, and the renamed one taken for it.
  const clash = renames.find(([from, to]) =>
    renamed.some((c, i) => columns[i] !== from && c.toLowerCase() === to.toLowerCase()),
  );
  if (clash) {
    const [from, to] = clash;
    const other = columns.find((c, i) => c !== from && renamed[i]?.toLowerCase() === to.toLowerCase());
    throw new LakehouseError(
      'SOURCE_SCHEMA_MISMATCH',
      `Source "${name}": sources.${name}.rename reads column ${from} as ${to}, but ${location} ${
        other !== undefined && other in source.rename
          ? `reads ${other} as ${to} too`
          : `has a column ${other} already`
      }. Rename that one too (${other}: <another name>), or take ${from} out of the rename.`,
      { source: name, path: location, column: from, clash: other },
    );
  }
  const missing = source.required_columns.filter((c) => !renamed.includes(c));
  if (missing.length > 0) {
    // A file column named the same in another case (Title for title) is the one to map: named, not a placeholder.
    const unmapped = columns.filter((c) => !(c in source.rename));
    const fileColumnOf = (m: string) =>
      unmapped.find((c) => c.toLowerCase() === m.toLowerCase()) ?? '<file column>';
    const mapping = [...renames, ...missing.map((m) => [fileColumnOf(m), m] as const)];
    const yamlKey = (key: string) =>
      /^[A-Za-z_][\w ]*$|^<file column>$/.test(key) ? key : JSON.stringify(key);
    throw new LakehouseError(
      'SOURCE_SCHEMA_MISMATCH',
      `Source "${name}": ${location} lacks required ${inNumber(missing.length, 'column')} ${missing.join(', ')} (found ${renamed.join(', ')}). ` +
        `If the file names them otherwise, map its columns in lakehouse.yaml: sources.${name}.rename: ` +
        `{${mapping.map(([from, to]) => `${yamlKey(from)}: ${to}`).join(', ')}} (init takes the same as --catalog-rename ` +
        `${mapping.map(([from, to]) => `${from}=${to}`).join(',')}).`,
      { source: name, path: location, missing },
    );
  }
  const rename = renames.length
    ? ` RENAME (${renames.map(([from, to]) => `${ident(from)} AS ${ident(to)}`).join(', ')})`
    : '';
  await db.run(`CREATE OR REPLACE VIEW source.${ident(name)} AS SELECT *${rename} FROM ${reader}`);
}

async function fetchS3File(name: string, uri: string, storage: ProjectStorage | undefined): Promise<string> {
  if (!storage) {
    throw new LakehouseError('INVALID_ARGUMENT', `${uri} is on S3 but no S3 storage was passed to read it.`, {
      path: uri,
    });
  }
  const object = await s3FileObject(name, uri, storage);
  const [file] = await storage.cache.fetch([object], (progress) =>
    storage.reportTransfer({ ...progress, what: name }),
  );
  return file as string;
}

/** A local file source whose file does not exist; a pattern in its name is said to be read as a name. */
export function fileMissing(name: string, path: string): LakehouseError {
  // A pattern is read as the name it spells (paths may hold * or [), so part-*.csv names no file.
  const pattern = /[*?[]/.test(basename(path))
    ? ' A file source reads one file, and * ? [ are read as part of its name, not as a pattern: give one file (or join the parts into one).'
    : '';
  return new LakehouseError(
    'SOURCE_MISSING',
    `Source "${name}": file ${path} does not exist. Check sources.${name}.path in lakehouse.yaml.${pattern}`,
    { source: name, path },
  );
}

/**
 * The object a file source names on S3. Listed with a delimiter, so a prefix of many objects is not
 * listed whole; a prefix holding objects (a folder) is refused as such, not as an object that does not exist.
 */
export async function s3FileObject(
  name: string,
  uri: string,
  storage: ProjectStorage,
): Promise<S3ObjectInfo> {
  const { bucket, prefix } = parseS3Uri(uri);
  const listing = await listObjects(storage.client(), bucket, prefix, '/');
  const object = listing.objects.find((o) => o.key === prefix);
  if (object) return object;
  const folder = prefix === '' || listing.prefixes.includes(`${prefix}/`);
  throw new LakehouseError(
    'SOURCE_MISSING',
    folder
      ? `Source "${name}": ${uri} is a folder (a prefix of objects), and a file source is one CSV, Parquet or JSON ` +
          `object. Give that object's s3:// URI as sources.${name}.path in lakehouse.yaml (a folder of day folders is a daily_parquet source).`
      : `Source "${name}": object ${uri} does not exist. Check sources.${name}.path in lakehouse.yaml.`,
    { source: name, path: uri },
  );
}

export type ReferenceFormat = 'csv' | 'parquet' | 'json';

/**
 * How a CSV reference file is sniffed: a header, every column as text (types are the models' business), and
 * no column from a folder named like `kind=x`: sniff_csv, which lists the columns, does not add it either.
 */
const CSV_OPTIONS = `header = true, all_varchar = true, ${NO_HIVE_COLUMNS}`;

/**
 * The table function reading a local Parquet or JSON reference file. Without a column from a folder named
 * like `kind=x`, as CSV_OPTIONS: DuckDB's hive detection is on by default for these formats.
 */
function referenceFileReader(path: string, format: Exclude<ReferenceFormat, 'csv'>): string {
  if (format === 'parquet') return `read_parquet(${pathLiteral(path)}, ${NO_HIVE_COLUMNS})`;
  return `read_json_auto(${pathLiteral(path)}, ${NO_HIVE_COLUMNS})`;
}

/** The columns of a local reference file, as a source binding would see them before any rename. */
export async function referenceFileColumns(
  db: Db,
  path: string,
  format: ReferenceFormat,
): Promise<{ name: string; type: string }[]> {
  return (await describeReferenceFile(db, path, format)).columns;
}

/**
 * A local reference file's columns and the table function its source view reads it with. A CSV file's
 * reader spells out the dialect its one sniff found, so neither the view nor any query on it sniffs again.
 */
async function describeReferenceFile(
  db: Db,
  path: string,
  format: ReferenceFormat,
): Promise<{ columns: { name: string; type: string }[]; reader: string }> {
  // DuckDB reads an empty CSV as one column named column0, which every message would then name.
  if ((await stat(path)).size === 0) throw new Error('the file is empty (0 bytes)');
  if (format === 'csv') {
    const head = await csvHead(path);
    // sniff_csv refuses a header in a file of a byte order mark alone, in words about its own options.
    if (head === '') throw new Error('the file is empty (a UTF-8 byte order mark only)');
    const excelSeparator = excelSeparatorLine(head);
    if (excelSeparator !== undefined && /^sep=.(\r\n|\r|\n)?$/i.test(head))
      throw new Error(`the file is empty (Excel's sep=${excelSeparator} line only, no header)`);
    const dialect = await sniffCsv(db, path, excelSeparator).catch(async (error: unknown) => {
      // Given a separator, the sniffer fails a row of too many fields as a dialect it cannot detect, naming
      // no line: a read with the header's names names it.
      if (excelSeparator !== undefined) await checkCsvHeader(db, path, head, UNSNIFFED, excelSeparator);
      throw error;
    });
    await checkCsvHeader(db, path, head, dialect, excelSeparator);
    return { columns: dialect.columns, reader: csvReader(path, dialect) };
  }
  const reader = referenceFileReader(path, format);
  const described = await db.all<{ column_name: string; column_type: string }>(
    `DESCRIBE SELECT * FROM ${reader}`,
  );
  const columns = described.map((c) => ({ name: c.column_name, type: c.column_type }));
  // DuckDB reads `[]` as one column named json, which the required-columns check would then name.
  if (format === 'json' && columns.length === 1 && columns[0]?.type === 'JSON') {
    const rows = await db.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${reader}`);
    if (rows[0]?.n === 0) throw new Error('the file is an empty JSON array (no rows, so no columns)');
  }
  return { columns, reader };
}

/**
 * The separator a first line `sep=;` names: Excel writes it in a CSV saved with a chosen separator, and reads
 * it so. DuckDB's sniffer took that line for the header (columns `sep=, column1`), so it is skipped and its
 * separator given instead of sniffed.
 */
function excelSeparatorLine(head: string): string | undefined {
  return /^sep=(.)(?:\r\n|\r|\n|$)/i.exec(head)?.[1];
}

/**
 * DuckDB's sniffer answers a row with more fields than the header by taking another line as the header,
 * or the whole line as one column: the names it then reports are not the file's. Read with the first
 * line's separator and names instead, and throw the error that names the row at fault. A quote a row
 * opens and never closes (`"Doraemon,Kids`) makes the sniffer read with quoting off, and the title come
 * out as `"Doraemon`: then too the file is read again with quotes, to name that row. `head` is the file's
 * first 64 KB, `dialect` the one sniff of it the columns came from, and `excelSeparator` the one its
 * `sep=` first line names, if it has one.
 */
async function checkCsvHeader(
  db: Db,
  path: string,
  head: string,
  dialect: CsvDialect,
  excelSeparator: string | undefined,
): Promise<void> {
  // Old Mac files end lines with a lone CR, which DuckDB reads as a line end too.
  const headerLine = head.split(/\r\n|\r|\n/)[excelSeparator === undefined ? 0 : 1] ?? '';
  // Quoted names may hold a separator, which this plain split would miscount.
  if (headerLine.includes('"')) return;
  const separator = (excelSeparator === undefined ? [',', ';', '\t', '|'] : [excelSeparator])
    .map((s) => ({ s, n: headerLine.split(s).length }))
    .sort((a, b) => b.n - a.n)[0];
  if (!separator || separator.n < 2) return;
  const names = headerLine.split(separator.s).map((n) => n.trim());
  // With the sniffer's names right, only a quote left open is looked for; other faults its read reports.
  // A file with no quote character at all has none to leave open: the read with quotes is skipped.
  const namesRight = names.join('\u0000') === dialect.columns.map((c) => c.name).join('\u0000');
  if (namesRight && (dialect.quote !== '' || !(await holdsQuote(path)))) return;
  // Blank or repeated names are DuckDB's to rename (column2, genres_1): nothing to compare.
  if (names.some((n) => n === '') || new Set(names).size < names.length) return;
  try {
    await db.run(
      `SELECT count(*) FROM read_csv(${pathLiteral(path)}, auto_detect = false, header = true, delim = ${literal(separator.s)},
         skip = ${excelSeparator === undefined ? 0 : 1}, quote = '"', escape = '"', columns = {${names.map((n) => `${literal(n)}: 'VARCHAR'`).join(', ')}})`,
    );
  } catch (error) {
    // Only a row at fault is the answer; any other failure leaves the sniffer's reading to the caller.
    if (!firstLine(error).includes('CSV Error on Line')) return;
    if (!namesRight || String(error).includes('unterminated quote')) throw error;
  }
}

/**
 * Whether a file holds a '"' byte anywhere, read a megabyte at a time and stopped at the first: a 30k-title
 * catalog is scanned in about 1 ms, where a read of it with quotes on takes about 10.
 */
async function holdsQuote(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(1024 * 1024);
    for (let position = 0; ; ) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return false;
      if (buffer.subarray(0, bytesRead).includes(0x22)) return true;
      position += bytesRead;
    }
  } finally {
    await file.close();
  }
}

/** A CSV file's first 64 KB as text, without a UTF-8 byte order mark: enough for its header line. */
async function csvHead(path: string): Promise<string> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    return buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
  } finally {
    await file.close();
  }
}

/** What DuckDB's sniffer decides about a CSV file: how to split it, and the columns a read of it has. */
interface CsvDialect {
  columns: { name: string; type: string }[];
  delimiter: string;
  /** '' when the sniffer reads the file with no quoting. */
  quote: string;
  escape: string;
  newLine: string;
  comment: string;
  skipRows: number;
}

/** No dialect, for checkCsvHeader to read a file the sniffer failed on with the header's names. */
const UNSNIFFED: CsvDialect = {
  columns: [],
  delimiter: '',
  quote: '',
  escape: '',
  newLine: '',
  comment: '',
  skipRows: 0,
};

/**
 * Sniffs a CSV file once, with the options the source view reads it with, so the columns are the view's
 * and the quote is the one its reads use: a DESCRIBE of the view would sniff the same file again. A file
 * opening with Excel's `sep=` line is sniffed past it, with the separator it names.
 */
async function sniffCsv(db: Db, path: string, excelSeparator: string | undefined): Promise<CsvDialect> {
  const excel = excelSeparator === undefined ? '' : `, skip = 1, delim = ${literal(excelSeparator)}`;
  const [sniffed] = await db.all<{
    Columns: { name: string; type: string }[];
    Delimiter: string;
    Quote: string;
    Escape: string;
    NewLineDelimiter: string;
    Comment: string;
    SkipRows: number;
  }>(
    `SELECT Columns, Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows::INTEGER AS SkipRows
     FROM sniff_csv(${pathLiteral(path)}, ${CSV_OPTIONS}${excel})`,
  );
  if (!sniffed) throw new Error('DuckDB could not sniff the file as CSV');
  // sniff_csv shows a setting the file does without as '(empty)'.
  const given = (value: string) => (value === '(empty)' ? '' : value);
  return {
    columns: sniffed.Columns,
    delimiter: sniffed.Delimiter,
    quote: given(sniffed.Quote),
    escape: given(sniffed.Escape),
    newLine: sniffed.NewLineDelimiter,
    comment: given(sniffed.Comment),
    skipRows: sniffed.SkipRows,
  };
}

/** read_csv with a sniffed dialect spelled out, as sniff_csv's own Prompt would write it: it sniffs nothing. */
function csvReader(path: string, dialect: CsvDialect): string {
  const columns = dialect.columns.map((c) => `${literal(c.name)}: 'VARCHAR'`).join(', ');
  return (
    `read_csv(${pathLiteral(path)}, auto_detect = false, header = true, ${NO_HIVE_COLUMNS}, ` +
    `delim = ${literal(dialect.delimiter)}, quote = ${literal(dialect.quote)}, escape = ${literal(dialect.escape)}, ` +
    `new_line = ${literal(dialect.newLine)}, comment = ${literal(dialect.comment)}, skip = ${dialect.skipRows}, ` +
    `columns = {${columns}})`
  );
}

/** A reference file's format from its extension, when the extension is one of them. */
function knownExtension(path: string): ReferenceFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet') return 'parquet';
  if (ext === '.json' || ext === '.jsonl' || ext === '.ndjson') return 'json';
  if (ext === '.csv' || ext === '.tsv') return 'csv';
  return undefined;
}

/** Whether a local file's first bytes are `magic` (read as latin1, so any byte compares). */
async function startsWith(path: string, magic: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(magic.length);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead).toString('latin1') === magic;
  } finally {
    await file.close();
  }
}

/**
 * The format of a local reference file that lakehouse.yaml does not name: its extension (`location`'s,
 * for a file fetched from S3), or for another one (`titles.pq`, `export.dat`, none) its first bytes:
 * Parquet's magic `PAR1`, a JSON object or array, else CSV.
 */
export async function detectFormat(path: string, location = path): Promise<ReferenceFormat> {
  const known = knownExtension(location);
  if (known) return known;
  const file = await open(path, 'r').catch(() => undefined);
  if (!file) return 'csv';
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const text = head.subarray(0, bytesRead).toString('latin1');
    if (text.startsWith('PAR1')) return 'parquet';
    // After a UTF-8 byte order mark and blank space.
    return /^(\xEF\xBB\xBF)?\s*[[{]/.test(text) ? 'json' : 'csv';
  } finally {
    await file.close();
  }
}
