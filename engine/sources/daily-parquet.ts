import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IsoDate } from '../api/contract.ts';
import { LakehouseError } from '../api/errors.ts';
import { type Db, ident, literal } from '../db/duckdb.ts';
import type { DailyParquetSource } from '../project/config.ts';
import type { ProjectStorage } from '../storage/project-storage.ts';
import { forEachParallel, listObjects } from '../storage/s3-objects.ts';
import { isS3Uri, joinKey, parseS3Uri, s3Uri } from '../storage/s3-uri.ts';

export interface BoundSource {
  name: string;
  files: string[];
  /** Problems that did not stop the load (extra columns, files not read), shown in the run history. */
  warnings: string[];
  /**
   * Reads every text value of the day's files and throws SOURCE_UNREADABLE naming the file and column
   * that cannot be read (invalid UTF-8, a corrupt page). Not done up front: it costs a full extra read
   * per date, so the runner calls it only when a model reading the source fails.
   */
  findUnreadable(): Promise<void>;
}

/** The folder name of a date under a daily source, from its strftime-style `date_format`. */
export function dayFolder(format: string, etlDate: string): string {
  const [y = '', m = '', d = ''] = etlDate.split('-');
  return format.replaceAll('%Y', y).replaceAll('%m', m).replaceAll('%d', d);
}

/** Lists the days a daily source has, as YYYY-MM-DD, by parsing folder names with its date_format. */
export async function listSourceDates(
  root: string,
  format: string,
  storage?: ProjectStorage,
): Promise<string[]> {
  let entries: string[];
  // On S3 one listing of the whole prefix also tells which days hold a Parquet object.
  let s3Loadable: Set<string> | undefined;
  try {
    if (isS3Uri(root)) ({ folders: entries, loadable: s3Loadable } = await listS3Days(root, storage));
    else entries = await readdir(root);
  } catch (error) {
    if (error instanceof LakehouseError) throw error;
    throw new LakehouseError(
      'SOURCE_MISSING',
      `Source folder ${root} does not exist: check the path of the source (in lakehouse.yaml, or the form that tests it).`,
      {
        path: root,
      },
    );
  }
  const pattern = new RegExp(
    `^${format.replace('%Y', '(?<y>\\d{4})').replace('%m', '(?<m>\\d{2})').replace('%d', '(?<d>\\d{2})')}$`,
  );
  const days = entries.filter((e) => pattern.test(e));
  // Locally a day is a folder (through links too): a stray file or a broken link is not a day to offer.
  const folders = isS3Uri(root)
    ? days
    : (
        await Promise.all(
          days.map(async (e) => ((await stat(join(root, e)).catch(() => null))?.isDirectory() ? e : null)),
        )
      ).filter((e): e is string => e !== null);
  const dates: string[] = [];
  for (const folder of folders) {
    const g = pattern.exec(folder)?.groups;
    if (!g) continue;
    const date = `${g.y}-${g.m}-${g.d}`;
    // Named like a day but no day (20220230): its files would never load, and runs without dates choke on it.
    if (!IsoDate.safeParse(date).success) {
      throw new LakehouseError(
        'SOURCE_UNREADABLE',
        `Source folder ${root} has a day folder ${folder} that is no calendar date (${date}), so its files ` +
          'would never load. Rename it to the day it holds, or move it out of the source folder.',
        { path: join(root, folder), reason: 'not-a-date' },
      );
    }
    dates.push(date);
  }
  // A day with no Parquet file (only _SUCCESS, or not delivered yet) has nothing to run: not offered.
  const loadable = new Set<string>();
  await forEachParallel(dates, 16, async (date) => {
    const day = dayFolder(format, date);
    if (s3Loadable ? s3Loadable.has(day) : await localDayHasParquet(join(root, day))) loadable.add(date);
  });
  return dates.filter((d) => loadable.has(d)).sort();
}

/** What an entry of a day folder is to a run: data it loads, a marker it ignores, or something it does not read. */
export type DayEntryKind = 'parquet' | 'ignored' | 'unread';

/**
 * Classifies an entry of a day folder. Hidden and `_`-prefixed names, `.crc` checksums and zero-byte
 * markers are what Spark, Glue and Hive leave beside their output and ignore too.
 */
export function dayEntryKind(name: string, entry: { size: number; folder: boolean } | null): DayEntryKind {
  if (name === '' || name.startsWith('.') || name.startsWith('_') || name.endsWith('.crc')) return 'ignored';
  if (entry === null || entry.folder) return 'unread';
  if (name.toLowerCase().endsWith('.parquet')) return 'parquet';
  return entry.size === 0 ? 'ignored' : 'unread';
}

async function localDayHasParquet(folder: string): Promise<boolean> {
  const names = await readdir(folder).catch(() => []);
  for (const name of names) {
    // Only a name that would load needs a stat (links followed): one that is a file is enough.
    if (dayEntryKind(name, { size: 1, folder: false }) !== 'parquet') continue;
    const info = await stat(join(folder, name)).catch(() => null);
    if (info?.isFile()) return true;
  }
  return false;
}

/** One entry of a day folder as the user sees it (`shown`), with its size when it is a file. */
interface DayEntry {
  name: string;
  shown: string;
  kind: DayEntryKind;
  /** Bytes of a file; null for a sub-folder or an entry that cannot be read (a broken link). */
  size: number | null;
  folder: boolean;
}

async function localDayEntries(folder: string): Promise<DayEntry[]> {
  const names = (await readdir(folder)).sort();
  return Promise.all(
    names.map(async (name) => {
      const info = await stat(join(folder, name)).catch(() => null);
      const entry = info ? { size: info.size, folder: info.isDirectory() } : null;
      return {
        name,
        shown: join(folder, name),
        kind: dayEntryKind(name, entry),
        size: entry && !entry.folder ? entry.size : null,
        folder: entry?.folder ?? false,
      };
    }),
  );
}

/** The run's note for an entry of the day that is not loaded, saying why: nothing is dropped unsaid. */
function unreadNote(name: string, entry: DayEntry): string {
  if (entry.folder) {
    return `${entry.shown}: not read, since it is a sub-folder and only the files directly in a day folder are loaded; move its files up if sources.${name} should load them`;
  }
  if (entry.size === null) return `${entry.shown}: not read, since it cannot be opened (a broken link?)`;
  return `${entry.shown}: not read, since only .parquet files are loaded (it has ${entry.size} bytes); convert it to Parquet if sources.${name} should load it`;
}

/** What a day folder without Parquet files holds, for the error that says so. */
function describeHeld(entries: DayEntry[]): string {
  if (entries.length === 0) return 'it is empty';
  const shown = entries
    .slice(0, 5)
    .map((e) => `${e.name}${e.folder ? '/' : e.size === null ? '' : ` (${e.size} bytes)`}`);
  const more = entries.length > 5 ? ` and ${entries.length - 5} more` : '';
  return `it holds only ${shown.join(', ')}${more}`;
}

/**
 * Checks one day of a daily source and exposes it as the view `source.<name>` (the declared columns,
 * cast to nothing, plus `_source_file`). Every problem names the file and what to do about it.
 */
export async function bindDailyParquet(
  db: Db,
  name: string,
  source: DailyParquetSource,
  root: string,
  etlDate: string,
  storage?: ProjectStorage,
): Promise<BoundSource> {
  if (isS3Uri(root)) {
    const fetched = await fetchS3Day(name, source, root, etlDate, storage).catch((error: unknown) => {
      // The runner fails the models that read the source named here.
      if (error instanceof LakehouseError) error.details.source ??= name;
      throw error;
    });
    return bindFiles(db, name, source, fetched, fetched.notes);
  }
  const folder = join(root, dayFolder(source.date_format, etlDate));
  let entries: DayEntry[];
  try {
    entries = await localDayEntries(folder);
  } catch {
    const available = await listSourceDates(root, source.date_format, storage).catch(() => []);
    throw new LakehouseError(
      'SOURCE_MISSING',
      `Source "${name}" has no folder for ${etlDate}: ${folder} does not exist. ` +
        (available.length
          ? `Days available: ${available[0]} .. ${available[available.length - 1]} (${available.length}). Run one of those dates.`
          : `No day folders at all under ${root}: check sources.${name}.path in lakehouse.yaml.`),
      { source: name, path: folder, etlDate },
    );
  }
  const files = entries.filter((e) => e.kind === 'parquet').map((e) => e.shown);
  if (files.length === 0) {
    throw new LakehouseError(
      'SOURCE_MISSING',
      `Source "${name}": ${folder} holds no .parquet files for ${etlDate}: ${describeHeld(entries)}. ` +
        'Wait for the day to be delivered (or copy its files in) and run the date again; nothing of it was loaded.',
      {
        source: name,
        path: folder,
      },
    );
  }
  const notes = entries.filter((e) => e.kind === 'unread').map((e) => unreadNote(name, e));
  return bindFiles(db, name, source, { files, shown: files }, notes);
}

/** Checks the day's files and creates the source view; `shown[i]` names `files[i]` to the user and in `_source_file`. */
async function bindFiles(
  db: Db,
  name: string,
  source: DailyParquetSource,
  { files, shown }: { files: string[]; shown: string[] },
  notes: string[],
): Promise<BoundSource> {
  const warnings = [...notes];
  for (const [i, file] of files.entries())
    warnings.push(...(await checkFile(db, name, source, file, shown[i])));

  const columns = Object.keys(source.columns)
    .map((c) => ident(c))
    .join(', ');
  const list = files.map(literal).join(', ');
  // Fetched S3 objects are read from the local cache but keep their s3:// URI as the source file.
  const sourceFile =
    files === shown
      ? 'filename'
      : `CASE filename ${files.map((f, i) => `WHEN ${literal(f)} THEN ${literal(shown[i] ?? f)}`).join(' ')} END`;
  await db.run(
    `CREATE OR REPLACE VIEW source.${ident(name)} AS
       SELECT ${columns}, ${sourceFile} AS _source_file
       FROM read_parquet([${list}], filename = true, union_by_name = true)`,
  );
  return {
    name,
    files: shown,
    warnings,
    async findUnreadable() {
      // On a connection of its own: the failed statement has aborted the run's transaction.
      const reader = await db.fork();
      try {
        for (const [i, file] of files.entries())
          await readEveryText(reader, name, source, file, shown[i] ?? file);
      } finally {
        reader.close();
      }
    },
  };
}

function s3Storage(storage: ProjectStorage | undefined, uri: string): ProjectStorage {
  if (!storage) {
    throw new LakehouseError('INVALID_ARGUMENT', `${uri} is on S3 but no S3 storage was passed to read it.`, {
      path: uri,
    });
  }
  return storage;
}

/**
 * The "folder" names directly under an S3 prefix, and those holding a Parquet object of their own.
 * One listing of the whole prefix: fewer requests than one per day unless days hold over 1000 objects.
 */
async function listS3Days(
  root: string,
  storage: ProjectStorage | undefined,
): Promise<{ folders: string[]; loadable: Set<string> }> {
  const { bucket, prefix } = parseS3Uri(root);
  const base = prefix ? `${prefix}/` : '';
  const folders = new Set<string>();
  const loadable = new Set<string>();
  for (const o of (await listObjects(s3Storage(storage, root).client(), bucket, base)).objects) {
    const [folder = '', name, ...deeper] = o.key.slice(base.length).split('/');
    if (name === undefined) continue;
    folders.add(folder);
    if (deeper.length === 0 && dayEntryKind(name, { size: o.size, folder: false }) === 'parquet')
      loadable.add(folder);
  }
  return { folders: [...folders], loadable };
}

/** Lists one day of an S3 daily source and fetches its Parquet objects into the local cache. */
async function fetchS3Day(
  name: string,
  source: DailyParquetSource,
  root: string,
  etlDate: string,
  maybeStorage: ProjectStorage | undefined,
): Promise<{ files: string[]; shown: string[]; notes: string[] }> {
  const storage = s3Storage(maybeStorage, root);
  const { bucket, prefix } = parseS3Uri(root);
  const dayPrefix = `${joinKey(prefix, dayFolder(source.date_format, etlDate))}/`;
  const listing = await listObjects(storage.client(), bucket, dayPrefix, '/');
  const kindOf = (o: { key: string; size: number }) =>
    dayEntryKind(o.key.slice(dayPrefix.length), { size: o.size, folder: false });
  const objects = listing.objects
    .filter((o) => kindOf(o) === 'parquet')
    .sort((a, b) => (a.key < b.key ? -1 : 1));
  // The day's other objects and sub-folders ("prefixes"); the folder's own marker object is no entry.
  const entries: DayEntry[] = [
    ...listing.objects.map((o) => ({
      name: o.key.slice(dayPrefix.length),
      shown: s3Uri(bucket, o.key),
      kind: kindOf(o),
      size: o.size,
      folder: false,
    })),
    ...listing.prefixes.map((p) => {
      const entry = p.slice(dayPrefix.length, -1);
      return {
        name: entry,
        shown: s3Uri(bucket, p),
        kind: dayEntryKind(entry, { size: 0, folder: true }),
        size: null,
        folder: true,
      };
    }),
  ]
    .filter((e) => e.name !== '')
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  if (objects.length === 0) {
    const available = await listSourceDates(root, source.date_format, storage).catch(() => []);
    throw new LakehouseError(
      'SOURCE_MISSING',
      `Source "${name}" has no Parquet objects for ${etlDate} under ${s3Uri(bucket, dayPrefix)}` +
        `${entries.length > 0 ? `: ${describeHeld(entries)}` : ''}. ` +
        (available.length
          ? `Days available: ${available[0]} .. ${available[available.length - 1]} (${available.length}). Run one of those dates.`
          : `No day folders at all under ${root}: check sources.${name}.path in lakehouse.yaml.`),
      { source: name, path: s3Uri(bucket, dayPrefix), etlDate },
    );
  }
  const what = `${name} ${etlDate}`;
  const files = await storage.cache.fetch(objects, (progress) =>
    storage.reportTransfer({ ...progress, what }),
  );
  const notes = entries.filter((e) => e.kind === 'unread').map((e) => unreadNote(name, e));
  return { files, shown: objects.map((o) => s3Uri(o.bucket, o.key)), notes };
}

async function checkFile(
  db: Db,
  name: string,
  source: DailyParquetSource,
  file: string,
  shown = file,
): Promise<string[]> {
  const size = (await stat(file)).size;
  let described: { column_name: string; column_type: string }[];
  try {
    described = await db.all(`DESCRIBE SELECT * FROM read_parquet(${literal(file)})`);
  } catch (error) {
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `Source "${name}": ${shown} (${size} bytes) is not a readable Parquet file (${firstLine(error)}). ` +
        'It may be truncated, still being written, or not Parquet at all: re-export it, or move it out of the folder and re-run.',
      { source: name, file: shown },
    );
  }
  const found = new Map(described.map((c) => [c.column_name, c.column_type]));
  const missing = Object.keys(source.columns).filter((c) => !found.has(c));
  if (missing.length > 0) {
    throw new LakehouseError(
      'SOURCE_SCHEMA_MISMATCH',
      `Source "${name}": ${shown} lacks column(s) ${missing.join(', ')}. Found: ${[...found.keys()].join(', ')}. ` +
        `Fix the file, or update sources.${name}.columns in lakehouse.yaml if the source really changed.`,
      { source: name, file: shown, missing },
    );
  }
  // Every column of another type, so one run names them all rather than one per attempt.
  const mismatched = Object.entries(source.columns).flatMap(([column, expected]) => {
    const actual = found.get(column);
    return actual && actual.toUpperCase() !== expected.toUpperCase() ? [{ column, expected, actual }] : [];
  });
  for (const { column, expected, actual } of mismatched) {
    // A typo in lakehouse.yaml (VARCHR) is the project's fault, not the file's.
    const typeError = await notADuckDbType(db, expected);
    if (typeError) {
      throw new LakehouseError(
        'PROJECT_INVALID',
        `lakehouse.yaml: sources.${name}.columns.${column} is "${expected}", which is not a DuckDB type ` +
          `(${typeError}). The files have ${actual}: write that, or the type the models expect.`,
        { source: name, column, expected },
      );
    }
  }
  const [first] = mismatched;
  if (first) {
    const zeros = mismatched.some(
      ({ expected, actual }) =>
        /CHAR|STRING|TEXT/i.test(expected) && /INT|DECIMAL|DOUBLE|FLOAT|NUMERIC/i.test(actual),
    );
    throw new LakehouseError(
      'SOURCE_SCHEMA_MISMATCH',
      `Source "${name}": ${shown} ${mismatched.map((m) => `column ${m.column} is ${m.actual}, expected ${m.expected}`).join('; ')}. ` +
        `Loading it would change values${zeros ? ' (e.g. lose leading zeros)' : ''}; fix the producer, or set ` +
        `${mismatched.map((m) => `sources.${name}.columns.${m.column} to ${m.actual}`).join(', ')} and adapt the models.`,
      // column, expected and actual name the first, as before several were reported; columns has them all.
      { source: name, file: shown, ...first, columns: mismatched },
    );
  }
  const extra = [...found.keys()].filter((c) => !(c in source.columns));
  return extra.length > 0
    ? [
        `${shown}: extra column(s) ${extra.join(', ')} not declared in sources.${name}.columns; not loaded into bronze`,
      ]
    : [];
}

async function readEveryText(db: Db, name: string, source: DailyParquetSource, file: string, shown: string) {
  const stringColumns = Object.entries(source.columns)
    .filter(([, t]) => t.toUpperCase().startsWith('VARCHAR'))
    .map(([c]) => c);
  try {
    await db.run(
      `SELECT ${stringColumns.map((c) => `max(length(${ident(c)}::VARCHAR))`).join(', ') || '1'} FROM read_parquet(${literal(file)})`,
    );
  } catch (error) {
    const column = await findBadColumn(db, file, stringColumns);
    // Invalid text has one remedy; a page that fails to decompress or decode means a damaged file.
    const badText = /utf-?8|unicode/i.test(firstLine(error));
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `Source "${name}": ${shown}${column ? ` column ${column}` : ''} cannot be read: ${firstLine(error)}. ` +
        (badText
          ? 'Re-export the file with valid UTF-8 text, or move it out of the folder and re-run.'
          : 'The file looks damaged (cut short or corrupted in transfer): copy or re-export it again, or move it out of the folder and re-run.'),
      { source: name, file: shown, column },
    );
  }
}

async function findBadColumn(db: Db, file: string, columns: string[]): Promise<string | undefined> {
  for (const column of columns) {
    try {
      await db.run(`SELECT max(length(${ident(column)}::VARCHAR)) FROM read_parquet(${literal(file)})`);
    } catch {
      return column;
    }
  }
  return undefined;
}

export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/** DuckDB's reason when `type` names no type it knows; undefined for a valid one. */
async function notADuckDbType(db: Db, type: string): Promise<string | undefined> {
  // Only type-shaped text is tried (a type can be neither quoted nor bound); other text is not judged.
  if (!/^[A-Za-z][A-Za-z0-9_ ]*(\(\s*\d+(\s*,\s*\d+)?\s*\))?(\[\d*\])*$/.test(type)) return undefined;
  try {
    await db.run(`SELECT NULL::${type}`);
    return undefined;
  } catch (error) {
    return firstLine(error);
  }
}
