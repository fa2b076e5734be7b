import { constants, type Stats } from 'node:fs';
import { access, readdir, readlink, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { IsoDate } from '../api/contract.ts';
import { inNumber } from '../api/counted.ts';
import { dateSpan, escapeRegExp, LakehouseError } from '../api/errors.ts';
import { type Db, ident, literal, pathLiteral, readParquet } from '../db/duckdb.ts';
import { isLosslessCast } from '../db/lossless-cast.ts';
import type { DailyParquetSource } from '../project/config.ts';
import type { ProjectStorage } from '../storage/project-storage.ts';
import { forEachParallel, listObjects } from '../storage/s3-objects.ts';
import { isS3Uri, joinKey, parseS3Uri, s3Uri } from '../storage/s3-uri.ts';

export interface BoundSource {
  name: string;
  files: string[];
  /** Problems that did not stop the load (extra columns, files not read), shown in the run history. */
  warnings: string[];
  /** The date had no delivery: another day's files, or no rows, stand in for it (if_missing). */
  standIn?: boolean;
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

/**
 * A RegExp for folder names written by `date_format` (or one `/`-separated level of it): the
 * placeholders capture the year, month and day, and every other character is literal.
 */
function datePattern(format: string): RegExp {
  return new RegExp(
    `^${escapeRegExp(format).replace('%Y', '(?<y>\\d{4})').replace('%m', '(?<m>\\d{2})').replace('%d', '(?<d>\\d{2})')}$`,
  );
}

/**
 * Splits an object key under a daily source's prefix into its day folder (as many levels as
 * `date_format` has: `2022/06/01` for `%Y/%m/%d`), the entry's name in that folder and anything deeper.
 * `name` is undefined for a key that is not inside a day-deep folder.
 */
export function splitDayKey(
  relativeKey: string,
  format: string,
): { day: string; name: string | undefined; deeper: string[] } {
  const parts = relativeKey.split('/');
  const levels = format.split('/').length;
  return { day: parts.slice(0, levels).join('/'), name: parts[levels], deeper: parts.slice(levels + 1) };
}

/** Whether a file system error is this user lacking permission (EACCES, or EPERM on some systems). */
function isPermissionDenied(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/**
 * A folder of a daily source this user cannot open: named with the chmod that lets runs read it, since
 * taken as "no delivery" its day would be skipped by runs without dates and said not to exist by --date.
 */
function folderDenied(folder: string, name: string | undefined): LakehouseError {
  return new LakehouseError(
    'SOURCE_UNREADABLE',
    `${name ? `Source "${name}": ` : ''}folder ${folder} cannot be opened by this user (permission denied): ` +
      `give your user read access to it (chmod -R a+rX ${folder}) and run again; nothing of it was loaded.`,
    { path: folder, reason: 'permission-denied', ...(name ? { source: name } : {}) },
  );
}

/**
 * A folder this user can list but not enter (chmod a-x): its entries' names are read but none opens, so its
 * Parquet files were taken for broken links and its day for one not delivered.
 */
function folderNotEnterable(folder: string, name: string | undefined): LakehouseError {
  return new LakehouseError(
    'SOURCE_UNREADABLE',
    `${name ? `Source "${name}": ` : ''}folder ${folder} can be listed but not entered by this user (it lacks execute/search ` +
      `permission): give your user that permission (chmod a+x ${folder}, or chmod u+x if you own it) and run again; nothing of it was loaded.`,
    { path: folder, reason: 'permission-denied', ...(name ? { source: name } : {}) },
  );
}

/**
 * Throws when `error` is a permission one and a folder above the source folder `root` is what this user may
 * not enter: every path under it then fails alike, and a chmod of the source folder would change nothing.
 */
async function throwIfClosedAbove(root: string, name: string | undefined, error: unknown): Promise<void> {
  if (!isPermissionDenied(error)) return;
  const above: string[] = [];
  for (let folder = dirname(resolve(root)); ; folder = dirname(folder)) {
    above.unshift(folder);
    if (dirname(folder) === folder) break;
  }
  // From the top down: the first one this user cannot enter is the one to open (those below it fail too).
  for (const folder of above) {
    if (
      await access(folder, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      continue;
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `${name ? `Source "${name}": ` : ''}folder ${folder}, above the source folder ${root}, cannot be entered by this ` +
        `user (it lacks execute/search permission): give your user that permission (chmod a+x ${folder}, or chmod u+x ` +
        'if you own it) and run again; nothing of it was loaded.',
      { path: folder, reason: 'permission-denied', ...(name ? { source: name } : {}) },
    );
  }
}

/**
 * Throws when `error`, met opening something in `folder`, is a permission one and the folder itself is
 * what this user may not enter (rather than, say, a link out of it): folderNotEnterable, or folderDenied
 * when it cannot be listed either.
 */
async function throwIfNotEnterable(folder: string, name: string | undefined, error: unknown): Promise<void> {
  if (!isPermissionDenied(error)) return;
  const allowed = (mode: number) =>
    access(folder, mode).then(
      () => true,
      () => false,
    );
  if (await allowed(constants.X_OK)) return;
  throw (await allowed(constants.R_OK)) ? folderNotEnterable(folder, name) : folderDenied(folder, name);
}

/**
 * An entry's stat, null when it cannot be had (a broken link). One in a folder this user cannot enter
 * throws, and so does a Parquet file this user may not reach (a link into a closed folder): taken for a
 * broken link, its rows were left out with a note, or its day said to wait for delivery.
 */
async function statEntry(folder: string, entry: string, name: string | undefined): Promise<Stats | null> {
  try {
    return await stat(join(folder, entry));
  } catch (error) {
    await throwIfNotEnterable(folder, name, error);
    if (isPermissionDenied(error) && dayEntryKind(entry, { size: 1, folder: false }) === 'parquet')
      throw await fileDenied(join(folder, entry), name);
    return null;
  }
}

/** A day's Parquet file this user may not reach, named with where it links to (when it is a link). */
async function fileDenied(file: string, name: string | undefined): Promise<LakehouseError> {
  const target = await readlink(file).catch(() => undefined);
  return new LakehouseError(
    'SOURCE_UNREADABLE',
    `${name ? `Source "${name}": ` : ''}file ${file}${target === undefined ? '' : ` (a link to ${target})`} cannot be opened by ` +
      'this user (permission denied): give your user read access to it and execute/search access (chmod a+x) to each ' +
      'folder on the way to it, and run again; nothing of its day was loaded.',
    { path: file, reason: 'permission-denied', ...(name ? { source: name } : {}) },
  );
}

/**
 * Passes on a listing error other than the entry being absent, a permission one as folderDenied. A file
 * where a day folder would be (ENOTDIR) is absent too: listSourceDates offers only folders as days.
 */
function unlessAbsent(folder: string, name: string | undefined, error: unknown): void {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return;
  throw isPermissionDenied(error) ? folderDenied(folder, name) : error;
}

/** A catch handler: `fallback` for an absent entry, unlessAbsent's error for any other. */
function ifAbsent<T>(fallback: T, folder: string, name: string | undefined): (error: unknown) => T {
  return (error) => {
    unlessAbsent(folder, name, error);
    return fallback;
  };
}

/**
 * The local folders under `root`, as relative paths, whose every level matches its level of
 * `date_format` (one level for `%Y%m%d`, three for `%Y/%m/%d`). Throws when `root` cannot be read.
 */
async function localDayFolders(root: string, format: string, name?: string): Promise<string[]> {
  let found = [''];
  for (const [level, segment] of format.split('/').entries()) {
    const pattern = datePattern(segment);
    const candidates: string[] = [];
    for (const parent of found) {
      // The root must exist; a deeper level gone since it was listed holds no day, one unreadable fails.
      const folder = join(root, parent);
      const entries =
        level === 0 ? await readdir(root) : await readdir(folder).catch(ifAbsent([], folder, name));
      for (const entry of entries)
        if (pattern.test(entry)) candidates.push(parent ? `${parent}/${entry}` : entry);
    }
    // Locally a day is a folder (through links too): a stray file or a broken link is not a day to offer.
    // A level this user cannot enter fails, naming it: its days were left out unsaid.
    const isFolder = await Promise.all(
      candidates.map(async (path) => {
        const parent = path.split('/').slice(0, -1).join('/');
        const entry = path.split('/').at(-1) ?? path;
        return (await statEntry(join(root, parent), entry, name))?.isDirectory() === true;
      }),
    );
    found = candidates.filter((_, i) => isFolder[i]);
  }
  return found;
}

/** Lists the days a daily source has, as YYYY-MM-DD, by parsing folder names with its date_format. */
export async function listSourceDates(
  root: string,
  format: string,
  storage?: ProjectStorage,
  /** The source's name in lakehouse.yaml, for an error naming the setting to fix. */
  name?: string,
): Promise<string[]> {
  let folders: string[];
  // On S3 one listing of the whole prefix also tells which days hold a Parquet object.
  let s3Loadable: Set<string> | undefined;
  try {
    if (isS3Uri(root)) ({ folders, loadable: s3Loadable } = await listS3Days(root, format, storage));
    else folders = await localDayFolders(root, format, name);
  } catch (error) {
    if (error instanceof LakehouseError) throw error;
    await throwIfClosedAbove(root, name, error);
    if (isPermissionDenied(error)) throw folderDenied(root, name);
    // A file there (a day's Parquet file given for the source) was said to not exist.
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new LakehouseError(
        'SOURCE_MISSING',
        `${name ? `Source "${name}": ` : 'Source: '}${root} is a file, and a daily source is the folder that holds ` +
          `its day folders. Give that folder ${name ? `as sources.${name}.path in lakehouse.yaml` : 'as the path of the source'}.`,
        { path: root, ...(name ? { source: name } : {}) },
      );
    }
    throw new LakehouseError(
      'SOURCE_MISSING',
      name
        ? `Source "${name}": folder ${root} does not exist. Check sources.${name}.path in lakehouse.yaml.`
        : `Source folder ${root} does not exist: check the path of the source (in lakehouse.yaml, or the form that tests it).`,
      { path: root, ...(name ? { source: name } : {}) },
    );
  }
  const pattern = datePattern(format);
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
    if (s3Loadable ? s3Loadable.has(day) : await localDayHasParquet(join(root, day), name))
      loadable.add(date);
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

/**
 * Whether a local day folder holds a Parquet file. One this user cannot open throws, naming it: taken as
 * not delivered, runs without dates would skip its day unsaid.
 */
async function localDayHasParquet(folder: string, source: string | undefined): Promise<boolean> {
  const names = await readdir(folder).catch(ifAbsent([], folder, source));
  for (const name of names) {
    // Only a name that would load needs a stat (links followed): one that is a file is enough.
    if (dayEntryKind(name, { size: 1, folder: false }) !== 'parquet') continue;
    // A broken link is no file; a folder that lists but does not open (chmod a-x) fails as unreadable.
    const info = await statEntry(folder, name, source);
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

async function localDayEntries(folder: string, source: string): Promise<DayEntry[]> {
  const names = (await readdir(folder)).sort();
  return Promise.all(
    names.map(async (name) => {
      const info = await statEntry(folder, name, source);
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

/**
 * Why a day folder without Parquet files fails: not delivered yet (empty, or only markers such as
 * _SUCCESS), which if_missing may stand in for; or delivered in files the source does not load (a CSV),
 * which it must not hide by reading another day.
 */
function notDelivered(entries: DayEntry[]): 'day-missing' | 'day-unloadable' {
  return entries.some((e) => e.kind === 'unread') ? 'day-unloadable' : 'day-missing';
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
 * Checks one day of a daily source and exposes it as the view `source.<name>` (the declared columns as
 * their declared types, or with none declared every column as the files have it, plus `_source_file`).
 * Every problem names the file and what to do about it. A day not delivered fails, or with `if_missing`
 * reads the latest delivery before it, or no rows.
 */
export async function bindDailyParquet(
  db: Db,
  name: string,
  source: DailyParquetSource,
  root: string,
  etlDate: string,
  storage?: ProjectStorage,
): Promise<BoundSource> {
  try {
    return await bindDay(db, name, source, root, etlDate, storage);
  } catch (error) {
    if (!(error instanceof LakehouseError) || error.details.reason !== 'day-missing') throw error;
    if (source.if_missing === 'empty') return bindNoRows(db, name, source, etlDate);
    if (source.if_missing !== 'latest') throw error;
    const earlier = (await listSourceDates(root, source.date_format, storage)).filter((d) => d < etlDate);
    const latest = earlier[earlier.length - 1];
    if (!latest) {
      throw new LakehouseError(
        'SOURCE_MISSING',
        `${error.message} With if_missing: latest it reads the latest earlier day, but there is none before ${etlDate}.`,
        error.details,
      );
    }
    const bound = await bindDay(db, name, source, root, latest, storage);
    bound.warnings.unshift(
      `source ${name} has no delivery for ${etlDate}: read ${latest}'s, the latest before it (if_missing: latest)`,
    );
    return { ...bound, standIn: true };
  }
}

/** The source's view with its declared columns and no rows, for a day not delivered (if_missing: empty). */
async function bindNoRows(
  db: Db,
  name: string,
  source: DailyParquetSource,
  etlDate: string,
): Promise<BoundSource> {
  // Each declared type as DuckDB names it, checked as for a day with files (a type cannot be quoted).
  const columns: string[] = [];
  for (const [column, written] of Object.entries(source.columns)) {
    columns.push(`NULL::${await duckDbType(db, name, column, written, [])} AS ${ident(column)}`);
  }
  await db.run(
    `CREATE OR REPLACE VIEW source.${ident(name)} AS
     SELECT ${[...columns, 'NULL::VARCHAR AS _source_file'].join(', ')} LIMIT 0`,
  );
  return {
    name,
    files: [],
    warnings: [`source ${name} has no delivery for ${etlDate}: read as no rows (if_missing: empty)`],
    standIn: true,
    findUnreadable: async () => {},
  };
}

async function bindDay(
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
  const day = dayFolder(source.date_format, etlDate);
  const folder = join(root, day);
  let entries: DayEntry[];
  try {
    entries = await localDayEntries(folder, name);
  } catch (error) {
    // The source folder (or a level of %Y/%m/%d) not entered is the one to name, not the day's.
    await throwIfClosedAbove(root, name, error);
    const levels = day.split('/');
    for (let i = 0; i < levels.length; i++)
      await throwIfNotEnterable(join(root, ...levels.slice(0, i)), name, error);
    // Only an absent folder is a day not delivered (if_missing may stand in); an unreadable one fails.
    unlessAbsent(folder, name, error);
    // Another day's folder unreadable: said too, rather than "no day folders at all".
    let unlisted = '';
    const available = await listSourceDates(root, source.date_format, storage, name).catch(
      (listing: unknown) => {
        if (listing instanceof LakehouseError && listing.details.reason === 'permission-denied')
          unlisted = listing.message;
        return [];
      },
    );
    throw new LakehouseError(
      'SOURCE_MISSING',
      `Source "${name}" has no folder for ${etlDate}: ${folder} does not exist. ` +
        (unlisted
          ? `Its other days could not be listed: ${unlisted}`
          : available.length
            ? `Days available: ${dateSpan(available[0] ?? '', available.at(-1) ?? '')} (${available.length}). Run one of those dates.`
            : `No day folders at all under ${root}: check sources.${name}.path in lakehouse.yaml.`),
      { source: name, path: folder, etlDate, reason: 'day-missing' },
    );
  }
  const files = entries.filter((e) => e.kind === 'parquet').map((e) => e.shown);
  if (files.length === 0) {
    throw new LakehouseError(
      'SOURCE_MISSING',
      `Source "${name}": ${folder} holds no .parquet files for ${etlDate}: ${describeHeld(entries)}. ` +
        'Wait for the day to be delivered (or copy its files in) and run the date again; nothing of it was loaded.',
      { source: name, path: folder, etlDate, reason: notDelivered(entries) },
    );
  }
  const notes = entries.filter((e) => e.kind === 'unread').map((e) => unreadNote(name, e));
  return bindFiles(db, name, source, { files, shown: files }, notes);
}

/** One file of the day: its path, how it is named to the user, and its columns with their DuckDB types. */
interface DayFile {
  file: string;
  shown: string;
  types: Map<string, string>;
  /** Declared columns of another type that hold only NULLs here: read as NULLs of the declared type. */
  onlyNulls: Set<string>;
}

/** A column of the source view: the DuckDB type models see, and how lakehouse.yaml writes it. */
interface ViewColumn {
  column: string;
  /** DuckDB's own name for the type (VARCHAR for TEXT), as DESCRIBE reports a file's columns. */
  type: string;
  /** The type as declared (or found); a file column of another type is read cast to it. */
  written: string;
}

/** read_parquet's column for the file a row came from: a name of the engine's, since a file may have `filename`. */
const FILE_NAME_COLUMN = '__lakehouse_file';

/** Checks the day's files and creates the source view; `shown[i]` names `files[i]` to the user and in `_source_file`. */
async function bindFiles(
  db: Db,
  name: string,
  source: DailyParquetSource,
  { files, shown }: { files: string[]; shown: string[] },
  notes: string[],
): Promise<BoundSource> {
  const warnings = [...notes];
  const day: DayFile[] = [];
  for (const [i, file] of files.entries()) {
    const label = shown[i] ?? file;
    day.push({ file, shown: label, types: await describeFile(db, name, file, label), onlyNulls: new Set() });
  }
  const columns =
    Object.keys(source.columns).length > 0
      ? await declaredColumns(db, name, source, day, warnings)
      : agreedColumns(name, day);
  // A delivery of well-formed files with no rows loads as an empty day, replacing what a re-run date
  // held: say so, since an export cut off before its rows looks exactly like this.
  if (files.length > 0 && (await parquetRowCount(db, files)) === 0) {
    warnings.push(
      `source ${name}: the day's ${inNumber(shown.length, 'file')} ${shown.join(', ')} ${inNumber(shown.length, 'holds', 'hold')} no rows, so the date is loaded as empty ` +
        '(replacing the rows of an earlier load of it, if any); if the delivery is incomplete, copy its complete files in and run the date again',
    );
  }
  // Files are read in groups of equal column types, each cast to the source's types before the groups
  // are combined: read in one go, DuckDB would unify an INTEGER and a FLOAT file as FLOAT, rounding.
  const groups = new Map<string, DayFile[]>();
  for (const f of day) {
    const key = JSON.stringify(columns.map((c) => [f.types.get(c.column), f.onlyNulls.has(c.column)]));
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const selects = [...groups.values()].map((group) => {
    const types = group[0]?.types;
    const onlyNulls = group[0]?.onlyNulls;
    const list = columns.map(({ column, type, written }) =>
      onlyNulls?.has(column)
        ? `CAST(NULL AS ${written}) AS ${ident(column)}`
        : types?.get(column) === type
          ? `${ident(column)} AS ${ident(column)}` // named as declared when the file's case differs
          : `CAST(${ident(column)} AS ${written}) AS ${ident(column)}`,
    );
    // Fetched S3 objects are read from the local cache but keep their s3:// URI as the source file.
    const sourceFile = group.every((f) => f.file === f.shown)
      ? FILE_NAME_COLUMN
      : `CASE ${FILE_NAME_COLUMN} ${group.map((f) => `WHEN ${literal(f.file)} THEN ${literal(f.shown)}`).join(' ')} END`;
    return (
      `SELECT ${[...list, `${sourceFile} AS _source_file`].join(', ')}\n` +
      `FROM ${readParquet(
        group.map((f) => f.file),
        `filename = '${FILE_NAME_COLUMN}', union_by_name = true`,
      )}`
    );
  });
  await db.run(`CREATE OR REPLACE VIEW source.${ident(name)} AS\n${selects.join('\nUNION ALL\n')}`);
  // Text anywhere in a column (a VARCHAR[] of plans, a STRUCT with a name) can hold invalid UTF-8.
  const textColumns = columns.filter((c) => c.type.includes('VARCHAR')).map((c) => c.column);
  return {
    name,
    files: shown,
    warnings,
    async findUnreadable() {
      // On a connection of its own: the failed statement has aborted the run's transaction.
      const reader = await db.fork();
      try {
        for (const f of day) await readEveryText(reader, name, textColumns, f.file, f.shown);
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
 * The day folders under an S3 prefix (as many levels deep as date_format), and those holding a Parquet
 * object of their own.
 * One listing of the whole prefix: fewer requests than one per day unless days hold over 1000 objects.
 */
async function listS3Days(
  root: string,
  format: string,
  storage: ProjectStorage | undefined,
): Promise<{ folders: string[]; loadable: Set<string> }> {
  const { bucket, prefix } = parseS3Uri(root);
  const base = prefix ? `${prefix}/` : '';
  const folders = new Set<string>();
  const loadable = new Set<string>();
  for (const o of (await listObjects(s3Storage(storage, root).client(), bucket, base)).objects) {
    const { day: folder, name, deeper } = splitDayKey(o.key.slice(base.length), format);
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
          ? `Days available: ${dateSpan(available[0] ?? '', available.at(-1) ?? '')} (${available.length}). Run one of those dates.`
          : `No day folders at all under ${root}: check sources.${name}.path in lakehouse.yaml.`),
      { source: name, path: s3Uri(bucket, dayPrefix), etlDate, reason: notDelivered(entries) },
    );
  }
  const what = `${name} ${etlDate}`;
  const files = await storage.cache.fetch(objects, (progress) =>
    storage.reportTransfer({ ...progress, what }),
  );
  const notes = entries.filter((e) => e.kind === 'unread').map((e) => unreadNote(name, e));
  return { files, shown: objects.map((o) => s3Uri(o.bucket, o.key)), notes };
}

/** A file's column name as an error lists it: quoted when spaces around it would not show (" eventID "). */
function shownName(column: string): string {
  return column.trim() === column ? column : JSON.stringify(column);
}

/** A file listed in its day folder and gone when read: the delivery was still being written or moved. */
function vanishedFile(name: string, shown: string, error: unknown): LakehouseError {
  return new LakehouseError(
    'SOURCE_UNREADABLE',
    `Source "${name}": ${shown} was in its day folder when the run listed it and is gone now (${firstLine(error)}): ` +
      "the day's files may still be being written or moved. Run the date again once its delivery is complete.",
    { source: name, file: shown, reason: 'vanished' },
  );
}

/** The file's columns and their DuckDB types; SOURCE_UNREADABLE when it is no readable Parquet file. */
async function describeFile(db: Db, name: string, file: string, shown: string): Promise<Map<string, string>> {
  const size = await stat(file).then(
    (s) => s.size,
    (error: unknown) => {
      throw vanishedFile(name, shown, error);
    },
  );
  let described: { column_name: string; column_type: string }[];
  try {
    described = await db.all(`DESCRIBE SELECT * FROM ${readParquet(file)}`);
  } catch (error) {
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `Source "${name}": ${shown} (${size} bytes) is not a readable Parquet file (${firstLine(error)}). ` +
        'It may be truncated, still being written, or not Parquet at all: re-export it, or move it out of the folder and re-run.',
      { source: name, file: shown },
    );
  }
  // DuckDB reads a name given twice (or twice but for case) as name and name_1: check the file's own names.
  if (described.some((c) => /_\d+$/.test(c.column_name))) {
    const repeated = await columnsNamedTwice(db, file);
    if (repeated.length > 0) {
      throw new LakehouseError(
        'SOURCE_SCHEMA_MISMATCH',
        `Source "${name}": ${shown} has ${repeated.length === 1 ? 'a column' : 'columns'} named twice: ` +
          `${repeated.join(', ')} (names are compared without case). Which of the two a model means cannot be ` +
          'told: re-export the file with one column of each name, or move it out of the folder and re-run.',
        { source: name, file: shown, columns: repeated },
      );
    }
  }
  return new Map(described.map((c) => [c.column_name, c.column_type]));
}

/**
 * The file's top-level column names that occur more than once, ignoring case, from its Parquet schema:
 * `keyword`, or `keyword (as keyword and KEYWORD)` when the spellings differ.
 */
async function columnsNamedTwice(db: Db, file: string): Promise<string[]> {
  const elements = await db.all<{ name: string; num_children: number | bigint | null }>(
    `SELECT name, num_children FROM parquet_schema(${pathLiteral(file)})`,
  );
  // Depth-first: the root, then each column followed by the elements of its nested type.
  const topLevel: string[] = [];
  let index = 1;
  const skipSubtree = (): void => {
    const children = Number(elements[index]?.num_children ?? 0);
    index += 1;
    for (let child = 0; child < children; child += 1) skipSubtree();
  };
  while (index < elements.length) {
    topLevel.push(elements[index]!.name);
    skipSubtree();
  }
  const spellings = new Map<string, string[]>();
  for (const column of topLevel) {
    const key = column.toLowerCase();
    spellings.set(key, [...(spellings.get(key) ?? []), column]);
  }
  return [...spellings.values()]
    .filter((names) => names.length > 1)
    .map((names) => {
      const distinct = [...new Set(names)];
      return distinct.length === 1 ? distinct[0]! : `${distinct[0]} (as ${distinct.join(' and ')})`;
    });
}

/** Whether a file's column has no value but NULL (reads that one column only; unreadable counts as no). */
async function holdsOnlyNulls(db: Db, file: string, column: string): Promise<boolean> {
  const values = await db
    .scalar<number | bigint>(`SELECT count(${ident(column)}) FROM ${readParquet(file)}`)
    .catch(() => undefined);
  return values !== undefined && Number(values) === 0;
}

/** The rows the files hold, from their Parquet footers (no data is read). */
async function parquetRowCount(db: Db, files: string[]): Promise<number> {
  const rows = await db.scalar<number | bigint | null>(
    `SELECT sum(num_rows) FROM parquet_file_metadata([${files.map((f) => pathLiteral(f)).join(', ')}])`,
  );
  return Number(rows ?? 0);
}

/** The distinct types a column has in the day's files, each with the first file that has it. */
function typesAcross(day: DayFile[], column: string): { type: string; shown: string }[] {
  const held = new Map<string, string>();
  for (const f of day) {
    const type = f.types.get(column);
    if (type !== undefined && !held.has(type)) held.set(type, f.shown);
  }
  return [...held].map(([type, shown]) => ({ type, shown }));
}

/** The one type every listed type converts to without losing a value, if there is one among them. */
function widest(held: { type: string }[]): string | undefined {
  return held.find((h) => held.every((u) => isLosslessCast(u.type, h.type)))?.type;
}

const listTypes = (held: { type: string; shown: string }[]) =>
  held.map((h) => `${h.type} in ${h.shown}`).join(', ');

/**
 * The declared columns, checked against every file of the day: a file column of the declared type, or
 * of one that converts to it without losing a value (INTEGER to BIGINT, FLOAT to DOUBLE), is read as
 * the declared type; anything else fails the date naming the file and column.
 */
async function declaredColumns(
  db: Db,
  name: string,
  source: DailyParquetSource,
  day: DayFile[],
  warnings: string[],
): Promise<ViewColumn[]> {
  const columns: ViewColumn[] = [];
  for (const [column, written] of Object.entries(source.columns)) {
    columns.push({ column, written, type: await duckDbType(db, name, column, written, day) });
  }
  for (const f of day) {
    matchCase(f, columns, warnings);
    const missing = columns.filter((c) => !f.types.has(c.column)).map((c) => c.column);
    if (missing.length > 0) {
      throw new LakehouseError(
        'SOURCE_SCHEMA_MISMATCH',
        `Source "${name}": ${f.shown} lacks ${inNumber(missing.length, 'column')} ${missing.join(', ')}. Found: ${[...f.types.keys()].map(shownName).join(', ')}. ` +
          `Fix the file, or update sources.${name}.columns in lakehouse.yaml if the source really changed.`,
        { source: name, file: f.shown, missing },
      );
    }
    // Every column of another type, so one run names them all rather than one per attempt.
    const otherType = columns.flatMap(({ column, written, type }) => {
      const actual = f.types.get(column) ?? type;
      return actual === type || isLosslessCast(actual, type)
        ? []
        : [{ column, expected: written, actual, type }];
    });
    // A column with no value has none to lose: pandas writes an all-None column with no type (INTEGER here).
    for (const m of otherType) if (await holdsOnlyNulls(db, f.file, m.column)) f.onlyNulls.add(m.column);
    const mismatched = otherType.filter((m) => !f.onlyNulls.has(m.column));
    if (mismatched.length > 0) throw typeMismatch(name, f, mismatched, day);
    if (f.onlyNulls.size > 0) {
      const held = otherType.filter((m) => f.onlyNulls.has(m.column)).map((m) => `${m.column} (${m.actual})`);
      warnings.push(
        `${f.shown}: ${inNumber(held.length, 'column')} ${held.join(', ')} ${inNumber(held.length, 'holds', 'hold')} only NULLs: read as NULLs of the declared types`,
      );
    }
    const extra = [...f.types.keys()].filter((c) => !(c in source.columns));
    if (extra.length > 0) {
      // Said of the source, not of bronze: the model reading it may be silver or gold in a project of one's own.
      warnings.push(
        `${f.shown}: extra ${inNumber(extra.length, 'column')} ${extra.join(', ')} not declared in sources.${name}.columns: not read ` +
          '(models see only the declared columns; declare it there to read it)',
      );
    }
  }
  return columns;
}

/**
 * Names a file's columns as declared when they differ only in case (`eventid` for `eventID`, as a Glue
 * crawler writes them): DuckDB resolves names regardless of case, so the view reads them as they are.
 */
function matchCase(f: DayFile, columns: ViewColumn[], warnings: string[]): void {
  const renamed: [string, string][] = [];
  for (const { column } of columns) {
    if (f.types.has(column)) continue;
    const found = [...f.types.keys()].filter((k) => k.toLowerCase() === column.toLowerCase());
    const [only] = found;
    if (found.length !== 1 || only === undefined) continue;
    f.types.set(column, f.types.get(only) ?? '');
    f.types.delete(only);
    renamed.push([only, column]);
  }
  if (renamed.length > 0) {
    warnings.push(
      `${f.shown}: ${inNumber(renamed.length, 'column')} ${renamed.map(([from]) => from).join(', ')} read as ${renamed.map(([, to]) => to).join(', ')} ` +
        '(the names differ only in case)',
    );
  }
}

/**
 * The error for a file whose columns do not convert to the declared types. The type it advises is
 * one every file of the day loads with; when the files differ in a column, it says so.
 */
function typeMismatch(
  name: string,
  f: DayFile,
  mismatched: { column: string; expected: string; actual: string; type: string }[],
  day: DayFile[],
): LakehouseError {
  const advised = mismatched.map((m) => {
    const held = typesAcross(day, m.column);
    return { ...m, held, target: widest(held) };
  });
  const zeros = advised.some(
    ({ type, actual }) => type === 'VARCHAR' && /INT|DECIMAL|DOUBLE|FLOAT/i.test(actual),
  );
  const settable = advised.filter((m) => m.target !== undefined);
  const stuck = advised.filter((m) => m.target === undefined);
  const set = settable.map((m) => `sources.${name}.columns.${m.column} to ${m.target}`).join(', ');
  const advice =
    stuck.length === 0
      ? `fix the producer, or set ${set} and adapt the models.`
      : `fix the producer: the day's files differ in ${stuck.map((m) => `${m.column} (${listTypes(m.held)})`).join('; ')}, ` +
        `and no one type holds every file's values${settable.length > 0 ? `. For the rest, setting ${set} would do` : ''}.`;
  const differ = settable
    .filter((m) => m.held.length > 1)
    .map(
      (m) =>
        ` The day's files differ in ${m.column} (${listTypes(m.held)}): declared as ${m.target}, all of them load.`,
    )
    .join('');
  const expected = (m: { expected: string; type: string }) =>
    m.expected.toUpperCase() === m.type ? m.expected : `${m.expected} (${m.type})`;
  return new LakehouseError(
    'SOURCE_SCHEMA_MISMATCH',
    `Source "${name}": ${f.shown} ${mismatched.map((m) => `column ${m.column} is ${m.actual}, expected ${expected(m)}`).join('; ')}. ` +
      `Loading it would change values${zeros ? ' (e.g. lose leading zeros)' : ''}; ${advice}${differ}`,
    // column, expected and actual name the first, as before several were reported; columns has them all.
    {
      source: name,
      file: f.shown,
      ...pick(mismatched[0]),
      columns: mismatched.map(pick),
    },
  );
}

const pick = (m: { column: string; expected: string; actual: string } | undefined) =>
  m ? { column: m.column, expected: m.expected, actual: m.actual } : {};

/**
 * A source that declares no columns is read with every column as the files have it, so the day's files
 * must agree: the same columns, of the same types. Otherwise the error says which column to declare.
 */
function agreedColumns(name: string, day: DayFile[]): ViewColumn[] {
  const names = [...new Set(day.flatMap((f) => [...f.types.keys()]))];
  const clashing = day.find((f) => [...f.types.keys()].some((c) => c.toLowerCase() === '_source_file'));
  if (clashing) {
    throw new LakehouseError(
      'SOURCE_SCHEMA_MISMATCH',
      `Source "${name}": ${clashing.shown} has a column _source_file, the name under which the engine gives ` +
        'each row the file it came from. With no columns declared every column of the files is read, and the ' +
        `two would clash: declare the columns the models read under sources.${name}.columns in lakehouse.yaml ` +
        "(the file's _source_file is then left out), or rename it in the file.",
      { source: name, file: clashing.shown, columns: ['_source_file'] },
    );
  }
  const lacking = names.flatMap((column) => {
    const without = day.find((f) => !f.types.has(column));
    const with_ = day.find((f) => f.types.has(column));
    return without && with_ ? [{ column, without: without.shown, with: with_.shown }] : [];
  });
  const differing = names
    .map((column) => ({ column, held: typesAcross(day, column) }))
    .filter((c) => c.held.length > 1);
  const [first] = day;
  if (first && lacking.length === 0 && differing.length === 0) {
    return [...first.types].map(([column, type]) => ({ column, type, written: type }));
  }
  const problems = [
    ...lacking.map((l) => `${l.without} lacks ${l.column}, which ${l.with} has`),
    ...differing.map((d) => `${d.column} is ${listTypes(d.held)}`),
  ];
  const example = differing.flatMap((d) => {
    const target = widest(d.held);
    return target ? [`${d.column}: ${target}`] : [];
  });
  return failDisagreeing(name, problems, example, lacking, differing);
}

function failDisagreeing(
  name: string,
  problems: string[],
  example: string[],
  lacking: { column: string; without: string }[],
  differing: { column: string; held: { type: string; shown: string }[] }[],
): never {
  const file = lacking[0]?.without ?? differing[0]?.held[1]?.shown;
  throw new LakehouseError(
    'SOURCE_SCHEMA_MISMATCH',
    `Source "${name}" declares no columns, so the day's files must have the same columns and types, and they ` +
      `differ: ${problems.join('; ')}. Declare the columns the models read under sources.${name}.columns in ` +
      'lakehouse.yaml (one "name: TYPE" a line' +
      (example.length > 0 ? `, e.g. ${example.join(', ')}` : '') +
      '): files are then checked against them, columns of a narrower type read cast to the declared one, ' +
      'and undeclared columns left out. Or fix the producer so its files agree.',
    { source: name, file, columns: [...lacking.map((l) => l.column), ...differing.map((d) => d.column)] },
  );
}

/**
 * DuckDB's own name for a declared type (VARCHAR for TEXT or STRING, INTEGER for INT4), so aliases
 * match what files report. A type DuckDB does not know is the project's fault: PROJECT_INVALID.
 */
async function duckDbType(
  db: Db,
  name: string,
  column: string,
  written: string,
  day: DayFile[],
): Promise<string> {
  let reason: string;
  // A type can be neither quoted nor bound: text that could end the statement is no type.
  if (written.trim() === '' || /;|--|\/\*|'/.test(written)) {
    reason = 'a type has no quotes, semicolons or comments';
  } else {
    try {
      const [row] = await db.all<{ t: string }>(`SELECT typeof(NULL::${written}) AS t`);
      if (row) return row.t;
      reason = 'no type';
    } catch (error) {
      reason = firstLine(error);
    }
  }
  // The advice holds for every file of the day, not just the first one.
  const held = typesAcross(day, column);
  const target = widest(held);
  const files =
    held.length === 0
      ? 'Write a DuckDB type, such as VARCHAR, BIGINT, DOUBLE or TIMESTAMP.'
      : held.length === 1
        ? `The files have ${held[0]?.type}: write that, or the type the models expect.`
        : `The day's files have ${listTypes(held)}: ` +
          (target
            ? `write ${target}, which holds them all, or the type the models expect.`
            : 'write the type the models expect.');
  throw new LakehouseError(
    'PROJECT_INVALID',
    `lakehouse.yaml: sources.${name}.columns.${column} is "${written}", which is not a DuckDB type (${reason}). ${files}`,
    { source: name, column, expected: written },
  );
}

async function readEveryText(db: Db, name: string, stringColumns: string[], file: string, shown: string) {
  try {
    await db.run(
      `SELECT ${stringColumns.map((c) => `max(length(${ident(c)}::VARCHAR))`).join(', ') || '1'} FROM ${readParquet(file)}`,
    );
  } catch (error) {
    const gone = await stat(file).then(
      () => false,
      () => true,
    );
    if (gone) throw vanishedFile(name, shown, error);
    const column = await findBadColumn(db, file, stringColumns);
    // Invalid text has one remedy; a page that fails to decompress or decode means a damaged file.
    const badText = /utf-?8|unicode/i.test(firstLine(error));
    const row = column && badText ? await findBadRow(db, file, column) : undefined;
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `Source "${name}": ${shown}${column ? ` column ${column}` : ''}` +
        `${row !== undefined ? ` (row ${(row + 1).toLocaleString('en-US')} of the file)` : ''} cannot be read: ${firstLine(error)}. ` +
        (badText
          ? 'Re-export the file with valid UTF-8 text, or move it out of the folder and re-run.'
          : 'The file looks damaged (cut short or corrupted in transfer): copy or re-export it again, or move it out of the folder and re-run.'),
      { source: name, file: shown, column, ...(row !== undefined ? { row: row + 1 } : {}) },
    );
  }
}

/**
 * The first row (from 0) of a file whose `column` cannot be read, by halving row ranges: the reader
 * checks text only in the rows a file_row_number filter keeps. About 20 reads of one column for 1M rows.
 */
async function findBadRow(db: Db, file: string, column: string): Promise<number | undefined> {
  const source = readParquet(file, 'file_row_number = true');
  const reads = async (from: number, to: number) =>
    db
      .run(
        `SELECT max(length(${ident(column)}::VARCHAR)) FROM ${source} WHERE file_row_number BETWEEN ${from} AND ${to}`,
      )
      .then(
        () => true,
        () => false,
      );
  const rows = Number(await db.scalar(`SELECT count(*) FROM ${readParquet(file)}`));
  let [low, high] = [0, rows - 1];
  if (rows === 0 || (await reads(low, high))) return undefined;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (await reads(low, middle)) low = middle + 1;
    else high = middle;
  }
  return low;
}

async function findBadColumn(db: Db, file: string, columns: string[]): Promise<string | undefined> {
  for (const column of columns) {
    try {
      await db.run(`SELECT max(length(${ident(column)}::VARCHAR)) FROM ${readParquet(file)}`);
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
