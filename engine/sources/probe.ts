import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { counted } from '../api/counted.ts';
import { dateSpan, type ErrorPayload, LakehouseError, toLakehouseError } from '../api/errors.ts';
import { type Db, ident, openDb } from '../db/duckdb.ts';
import { type Project, resolveProjectPath, S3Endpoint, SourceConfig } from '../project/config.ts';
import { configErrorMap } from '../project/config-issues.ts';
import { dateFormatError, homeRelativePathError } from '../project/source-settings.ts';
import type { ProjectStorage } from '../storage/project-storage.ts';
import type { S3Settings } from '../storage/s3-client.ts';
import { listObjects } from '../storage/s3-objects.ts';
import { isS3Uri, parseS3Uri } from '../storage/s3-uri.ts';
import { fetchFirstPage } from './crawler.ts';
import { bindDailyParquet, dayEntryKind, dayFolder, listSourceDates, splitDayKey } from './daily-parquet.ts';
import { bindReferenceFile, fileMissing, s3FileObject } from './reference-file.ts';

/** What "test connection" found for a source: enough to tell a right path from a wrong one. */
export interface SourceProbe {
  ok: boolean;
  kind: SourceConfig['kind'];
  location: string;
  /** One line for people: "3 days (2022-06-01 .. 2022-06-03), 6 objects, 1.2 MB". */
  summary: string;
  dates: string[];
  objects: number;
  bytes: number;
  /** A few object names or item fields. */
  sample: string[];
  /** A daily source's columns as models read them on its latest day (`name TYPE`), after the run's checks. */
  columns: string[];
  error: (ErrorPayload & { details: Record<string, unknown> }) | null;
}

export interface ProbeRequest {
  /** A source of the project, by name... */
  name?: string;
  /** ...or an unsaved definition (as in lakehouse.yaml) to try before saving it. */
  source?: unknown;
  /** S3 settings for an unsaved definition (default: the project's). */
  s3?: S3Settings;
}

/**
 * What messages call a definition tested before it has a name: `sources.<name>.format` reads as the
 * setting to fill in, where a made-up name (`sources.new source.format`) reads as a key to look for.
 */
const UNNAMED_SOURCE = '<name>';

/** Lists what a source holds without loading it; failures come back as `error`, not thrown. */
export async function probeSource(project: Project, request: ProbeRequest): Promise<SourceProbe> {
  const name = request.name ?? UNNAMED_SOURCE;
  let source: SourceConfig;
  if (request.source !== undefined) {
    const parsed = SourceConfig.safeParse(request.source, { error: configErrorMap });
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(source)'}: ${i.message}`)
        .join('; ');
      return failed(
        'file',
        '',
        new LakehouseError('INVALID_ARGUMENT', `The source definition is invalid: ${issues}`),
      );
    }
    source = parsed.data;
  } else {
    const configured = request.name === undefined ? undefined : project.config.sources[request.name];
    if (!configured) {
      const known = Object.keys(project.config.sources).join(', ');
      return failed(
        'file',
        '',
        new LakehouseError(
          'INVALID_ARGUMENT',
          `No source "${request.name ?? ''}" in lakehouse.yaml (sources: ${known}).`,
        ),
      );
    }
    source = configured;
  }
  // Checked as lakehouse.yaml checks it: `localhost:9000` would fail every request as a store that is down.
  const endpoint = request.s3?.endpoint;
  if (endpoint !== undefined && !S3Endpoint.safeParse(endpoint).success) {
    return failed(
      source.kind,
      '',
      new LakehouseError(
        'INVALID_ARGUMENT',
        `s3.endpoint "${endpoint}" is not an http:// or https:// URL: write it in full, such as http://localhost:9000.`,
        { field: 's3.endpoint' },
      ),
    );
  }
  const pathField = request.source === undefined ? `sources.${name}.path` : 'source.path';
  const homeRelative = source.kind !== 'crawl' && homeRelativePathError(source.path, pathField);
  if (homeRelative) return failed(source.kind, '', homeRelative);
  const badFormat =
    source.kind === 'daily_parquet' &&
    dateFormatError(
      source.date_format,
      request.source === undefined ? `sources.${name}.date_format` : undefined,
    );
  if (badFormat) return failed(source.kind, '', badFormat);
  const storage = request.s3
    ? project.storage.withSettings({ ...project.storage.settings, ...request.s3 })
    : project.storage;
  const location = source.kind === 'crawl' ? source.url : resolveProjectPath(project.root, source.path);
  try {
    if (source.kind === 'crawl') {
      const { url, items } = await fetchFirstPage(name, source);
      const fields = Object.keys((items[0] as Record<string, unknown> | undefined) ?? {});
      // A run merges by id_field and checks required_columns only after every page is crawled: a field
      // the first page's items lack would fail it then, so the test fails now, naming the setting.
      const lacking = [source.id_field, ...source.required_columns].filter((f) => !fields.includes(f));
      if (items.length > 0 && lacking.length > 0) {
        const setting = (f: string) => (f === source.id_field ? 'id_field' : 'required_columns');
        throw new LakehouseError(
          'SOURCE_SCHEMA_MISMATCH',
          `Source "${name}": the items of ${url} lack ${lacking.map((f) => `${f} (sources.${name}.${setting(f)})`).join(', ')}; ` +
            `they have ${fields.join(', ') || 'no fields'}. Name one of those, or fix items_path.`,
          { source: name, url, missing: lacking },
        );
      }
      return {
        ...empty(source.kind, url),
        ok: true,
        objects: items.length,
        sample: fields,
        summary: `First page: ${counted(items.length, 'item')} with fields ${fields.join(', ') || '(none)'}`,
      };
    }
    if (source.kind === 'file') {
      const probe = await probeFile(name, location, storage);
      // Read as a run reads it: the header checked against required_columns and rename.
      const columns = await boundColumns(name, (db) =>
        bindReferenceFile(db, name, source, location, storage),
      );
      return { ...probe, columns, summary: `${probe.summary}; reads ${columns.join(', ')}` };
    }
    return await probeDaily(name, source, location, storage);
  } catch (error) {
    return failed(source.kind, location, toLakehouseError(error));
  }
}

async function probeFile(name: string, location: string, storage: ProjectStorage): Promise<SourceProbe> {
  let bytes: number;
  if (isS3Uri(location)) {
    bytes = (await s3FileObject(name, location, storage)).size;
  } else {
    bytes = (
      await stat(location).catch(() => {
        throw fileMissing(name, location);
      })
    ).size;
  }
  return {
    ...empty('file', location),
    ok: true,
    objects: 1,
    bytes,
    summary: `1 file, ${formatBytes(bytes)}`,
  };
}

async function probeDaily(
  name: string,
  source: Extract<SourceConfig, { kind: 'daily_parquet' }>,
  location: string,
  storage: ProjectStorage,
): Promise<SourceProbe> {
  const format = source.date_format;
  const dates = await listSourceDates(location, format, storage);
  let objects = 0;
  let bytes = 0;
  const sample: string[] = [];
  if (isS3Uri(location)) {
    const { bucket, prefix } = parseS3Uri(location);
    const wanted = new Set(dates.map((d) => dayFolder(format, d)));
    for (const o of (await listObjects(storage.client(), bucket, prefix ? `${prefix}/` : '')).objects) {
      const { day, name = '', deeper } = splitDayKey(o.key.slice(prefix ? prefix.length + 1 : 0), format);
      // Counts what a run loads: the Parquet files directly in a day folder, not markers or hidden files.
      if (
        !wanted.has(day) ||
        deeper.length > 0 ||
        dayEntryKind(name, { size: o.size, folder: false }) !== 'parquet'
      )
        continue;
      objects++;
      bytes += o.size;
      if (sample.length < 5) sample.push(`s3://${bucket}/${o.key}`);
    }
  } else {
    for (const date of dates) {
      const folder = join(location, dayFolder(format, date));
      for (const file of await readdir(folder)) {
        const info = await stat(join(folder, file)).catch(() => null);
        const entry = info && { size: info.size, folder: info.isDirectory() };
        if (dayEntryKind(file, entry) !== 'parquet') continue;
        objects++;
        bytes += info?.size ?? 0;
        if (sample.length < 5) sample.push(join(folder, file));
      }
    }
  }
  if (dates.length === 0) {
    throw new LakehouseError(
      'SOURCE_MISSING',
      `${location} has no day folders named like ${format} (e.g. ${dayFolder(format, '2022-06-01')}) holding Parquet files. ` +
        ((await noDaysHint(location, format, storage)) ?? 'Check the path and date_format.'),
      { path: location },
    );
  }
  const latest = dates[dates.length - 1] as string;
  const columns = await latestDayColumns(name, source, location, latest, storage);
  return {
    ...empty('daily_parquet', location),
    ok: true,
    dates,
    objects,
    bytes,
    sample,
    columns,
    summary:
      `${counted(dates.length, 'day')} (${dateSpan(dates[0] ?? '', latest)}), ${counted(objects, 'Parquet file')}, ${formatBytes(bytes)}; ` +
      `${latest} reads ${columns.join(', ')}`,
  };
}

/** Day folder layouts seen in the wild (Spark, Hive, Glue, by hand), tried when date_format finds none. */
const COMMON_DATE_FORMATS = [
  '%Y%m%d',
  '%Y-%m-%d',
  '%Y_%m_%d',
  '%Y/%m/%d',
  'dt=%Y-%m-%d',
  'date=%Y-%m-%d',
  'etl_date=%Y-%m-%d',
  'year=%Y/month=%m/day=%d',
];

/**
 * Where the day folders are when a path misses them by a level: a day folder given for the folder holding
 * it (as init says of --source), a folder whose subfolder holds them, or Parquet files with no day folder.
 */
async function noDaysHint(
  location: string,
  format: string,
  storage: ProjectStorage,
): Promise<string | undefined> {
  const daysUnder = (folder: string, layout = format) =>
    listSourceDates(folder, layout, storage).catch(() => []);
  const onS3 = isS3Uri(location);
  const parts = location.replace(/\/+$/, '').split(onS3 ? '/' : sep);
  const levels = format.split('/').length;
  const parent = parts.slice(0, -levels).join(onS3 ? '/' : sep);
  const day = parts.slice(-levels).join('/');
  if (
    parent !== '' &&
    !parent.endsWith(':/') &&
    (await daysUnder(parent)).some((d) => dayFolder(format, d) === day)
  )
    return `It is a day folder itself: give the folder that holds it, ${parent}.`;
  if (onS3) return undefined;
  const entries = await readdir(location, { withFileTypes: true }).catch(() => []);
  // The listing refuses a day folder this user cannot open when its name matches date_format; one named
  // otherwise is only left out of the dates, so it is named here.
  const closed: string[] = [];
  for (const entry of entries.filter((e) => e.isDirectory() && /\d/.test(e.name)).slice(0, 400)) {
    const denied = await access(join(location, entry.name), constants.R_OK | constants.X_OK).then(
      () => false,
      () => true,
    );
    if (denied) closed.push(join(location, entry.name));
  }
  if (closed.length > 0)
    return `${closed.slice(0, 3).join(', ')}${closed.length > 3 ? ` and ${closed.length - 3} more` : ''} cannot be opened by this user (permission denied): give your user read access to them (chmod -R a+rX).`;
  const holding: string[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).slice(0, 50)) {
    const folder = join(location, entry.name);
    if ((await daysUnder(folder)).length > 0) holding.push(folder);
  }
  if (holding.length > 0)
    return `${holding.slice(0, 3).join(' and ')} ${holding.length === 1 ? 'has' : 'have'} them: give that folder.`;
  // Day folders named another common way (2022-06-01, dt=2022-06-01): the date_format to set.
  for (const other of COMMON_DATE_FORMATS.filter((f) => f !== format)) {
    const days = await daysUnder(location, other);
    if (days.length === 0) continue;
    return `Its folders are named like ${dayFolder(other, days[0] as string)}: set date_format to ${other} (the form's Day folders).`;
  }
  if (entries.some((e) => e.isFile() && dayEntryKind(e.name, { size: 1, folder: false }) === 'parquet'))
    return `It holds Parquet files directly: a daily source reads one folder per day, so move each day's files into a folder named for it (${dayFolder(format, '2022-06-01')}/), or read one of them as a source of kind file.`;
  return undefined;
}

/**
 * The latest day bound as a run binds it, on a scratch database: a listing alone would pass a source
 * whose declared columns the files lack (or a type DuckDB does not know) that every run then fails.
 */
async function latestDayColumns(
  name: string,
  source: Extract<SourceConfig, { kind: 'daily_parquet' }>,
  location: string,
  date: string,
  storage: ProjectStorage,
): Promise<string[]> {
  return boundColumns(name, (db) => bindDailyParquet(db, name, source, location, date, storage));
}

/** The columns (`name TYPE`) of the source view `bind` creates on a scratch database, as a run would. */
async function boundColumns(name: string, bind: (db: Db) => Promise<unknown>): Promise<string[]> {
  const db = await openDb(':memory:');
  try {
    await db.run(`ATTACH ':memory:' AS source`);
    await bind(db);
    const described = await db.all<{ column_name: string; column_type: string }>(
      `DESCRIBE source.${ident(name)}`,
    );
    return described
      .filter((c) => c.column_name !== '_source_file')
      .map((c) => `${c.column_name} ${c.column_type}`);
  } finally {
    db.close();
  }
}

function empty(kind: SourceConfig['kind'], location: string): SourceProbe {
  return {
    ok: false,
    kind,
    location,
    summary: '',
    dates: [],
    objects: 0,
    bytes: 0,
    sample: [],
    columns: [],
    error: null,
  };
}

function failed(kind: SourceConfig['kind'], location: string, error: LakehouseError): SourceProbe {
  return {
    ...empty(kind, location),
    summary: error.message,
    error: { code: error.code, message: error.message, details: error.details },
  };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
