import { access, copyFile, cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inNumber } from '../api/counted.ts';
import { LakehouseError } from '../api/errors.ts';
import { openDb } from '../db/duckdb.ts';
import { firstLine, listSourceDates } from '../sources/daily-parquet.ts';
import { detectFormat, readFailure, referenceFileColumns } from '../sources/reference-file.ts';
import { missingAwsProfile } from '../storage/aws-profiles.ts';
import { createProjectStorage, type ProjectStorage } from '../storage/project-storage.ts';
import type { S3Settings } from '../storage/s3-client.ts';
import { listObjects } from '../storage/s3-objects.ts';
import { isS3Uri, locationKind, parseS3Uri } from '../storage/s3-uri.ts';
import { PROJECT_FILE, S3Endpoint, warehousePathProblem } from './config.ts';
import { didYouMean } from './config-issues.ts';

export const EXAMPLES = ['customer-search'] as const;
export type ExampleName = (typeof EXAMPLES)[number];

export function exampleDir(example: ExampleName): string {
  return fileURLToPath(new URL(`../examples/${example}/`, import.meta.url));
}

export interface InitOptions {
  dir: string;
  example: string;
  /** The daily source folder (YYYYMMDD/*.parquet); required here, the CLI generates one when absent. */
  source: string;
  /** The title catalog file; default: the example's built-in catalog, copied into the project. */
  catalog?: string;
  /** Catalog file column → the name the example reads (title, genres, slug), for a catalog named otherwise. */
  catalogRename?: Record<string, string>;
  /** The lake root: a folder (default `lake` in the project) or s3://bucket/prefix. */
  lake?: string;
  /** The `s3` block of lakehouse.yaml, for s3:// sources or lakes (an AWS profile, an S3-compatible endpoint). */
  s3?: { profile?: string; endpoint?: string; region?: string };
}

/**
 * What init would refuse, checked before anything is written or generated: an unknown example, a
 * project already there, a path that is a file, a catalog rename with no catalog file to rename, a
 * malformed URI (`s3:/x`) for the source, catalog or lake.
 */
export async function checkInit(
  options: Omit<InitOptions, 'source'> & { source?: string },
): Promise<CatalogMapping | undefined> {
  if (!(EXAMPLES as readonly string[]).includes(options.example)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `Unknown example "${options.example}". Available: ${EXAMPLES.join(', ')}`,
    );
  }
  const dir = resolve(options.dir);
  const unusable = warehousePathProblem(dir);
  if (unusable) throw new LakehouseError('INVALID_ARGUMENT', `Cannot create the project there: ${unusable}`);
  const kind = await stat(dir).catch(() => undefined);
  if (kind && !kind.isDirectory()) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${dir} is a file, not a folder: give a new or empty folder for the project.`,
    );
  }
  const projectFile = join(dir, PROJECT_FILE);
  if (await exists(projectFile)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${projectFile} already exists; choose an empty directory or delete it first.`,
    );
  }
  // A folder holding the user's own models or macros (lakehouse.yaml deleted to start again): copying
  // the example over them would replace their work without a word. Files as the example has them (an
  // init stopped before it wrote lakehouse.yaml) are no one's work: a second init rewrites them.
  const example = exampleDir(options.example as ExampleName);
  const written = [
    ...(await filesUnder(example, 'models')),
    ...(await filesUnder(example, 'macros')),
    ...(options.catalog ? [] : [join('reference', 'titles.csv')]),
  ];
  const taken: string[] = [];
  for (const file of written) {
    const there = await readFile(join(dir, file)).catch(() => undefined);
    const original = file.startsWith('reference') ? 'titles.csv' : file;
    if (there && !there.equals(await readFile(join(example, original)))) taken.push(file);
  }
  if (taken.length > 0) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${dir} already holds ${taken.length === 1 ? 'a file' : `${taken.length} files`} init would write over ` +
        `(${taken.slice(0, 3).join(', ')}${taken.length > 3 ? ', ...' : ''}); nothing was written. Choose ` +
        'an empty directory, or move those files away first.',
      { files: taken },
    );
  }
  // A mistyped profile is said now, not as "no AWS region" at the first run.
  const profile = options.s3?.profile;
  if (profile) {
    const missing = missingAwsProfile(profile, '--profile');
    if (missing) throw new LakehouseError('INVALID_ARGUMENT', missing.message, missing.details);
  }
  // Written as it is, `localhost:9000` failed every run as a store that is down.
  const endpoint = options.s3?.endpoint;
  if (endpoint !== undefined && !S3Endpoint.safeParse(endpoint).success) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--endpoint ${endpoint}: expected an http:// or https:// URL, such as http://localhost:9000; nothing was written.`,
    );
  }
  if (Object.keys(options.catalogRename ?? {}).length > 0 && !options.catalog) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      '--catalog-rename maps the columns of the --catalog file, and none was given: the built-in catalog ' +
        'already has title and genres. Give --catalog <file> too, or leave the rename out.',
    );
  }
  // A column renamed to a name the example does not read (keyword=titl) is one the models never see.
  for (const [from, to] of Object.entries(options.catalogRename ?? {})) {
    if (!(CATALOG_RENAME_TARGETS as readonly string[]).includes(to)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `--catalog-rename ${from}=${to}: the example reads ${CATALOG_RENAME_TARGETS.join(', ')} from the catalog, ` +
          `not ${to}${didYouMean(to, CATALOG_RENAME_TARGETS)}. Map each file column to one of them, e.g. keyword=title,category=genres.`,
      );
    }
  }
  // Refused before anything is written (init copies the models first): locationKind throws on `s3:/x`.
  for (const location of [options.source, options.catalog, options.lake])
    if (location) locationKind(location);
  // A Parquet file given for the folder of day folders: every run would fail to list it.
  if (
    options.source &&
    !isS3Uri(options.source) &&
    (await stat(resolve(options.source)).catch(() => undefined))?.isFile()
  ) {
    const file = resolve(options.source);
    const sourceFolder = dirname(dirname(file));
    const hint = DAY_FOLDER_NAME.test(basename(dirname(file))) ? ` (here ${sourceFolder})` : '';
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--source ${file} is a file, and the source is the folder that holds the day folders (YYYYMMDD/*.parquet)${hint}: give that folder.`,
    );
  }
  // A file of the search log itself given as the catalog: its keyword and category columns pass for
  // title and genres, and every keyword would be matched to a title whose genres are enter or quit.
  if (options.source && options.catalog && !isS3Uri(options.source) && !isS3Uri(options.catalog)) {
    const inSource = relative(resolve(options.source), resolve(options.catalog)).split(/[\\/]/);
    if (inSource.length > 1 && inSource[0] !== '..' && DAY_FOLDER_NAME.test(inSource[0]!)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `--catalog ${resolve(options.catalog)} is a file of the source's day ${inSource[0]}, the search log itself: ` +
          'give the catalog of titles and their genres (a CSV with a header, Parquet or JSON file), or leave ' +
          '--catalog out to use the built-in one.',
        { path: resolve(options.catalog) },
      );
    }
  }
  // A lake that is a file makes every command refuse the project once written; say it now.
  if (
    options.lake &&
    !isS3Uri(options.lake) &&
    (await stat(resolve(options.lake)).catch(() => undefined))?.isFile()
  ) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--lake ${resolve(options.lake)} is a file, and the lake is a folder (or s3://bucket/prefix) that runs write ` +
        'partitions under: give a folder name there, or move the file away.',
    );
  }
  return options.catalog ? catalogRename(options.catalog, options.catalogRename) : undefined;
}

/** How the catalog file's columns become the example's: a rename given, or one guessed from its header. */
export interface CatalogMapping {
  rename: Record<string, string>;
  /** The part of `rename` init guessed from the header (empty when the file or the flag said it all). */
  guessed: Record<string, string>;
}

/** The columns the example's models read from the title catalog; `slug` is optional. */
const CATALOG_COLUMNS = ['title', 'genres'] as const;
/** What `--catalog-rename` may map a file column to: the columns above and the optional `slug`. */
const CATALOG_RENAME_TARGETS = [...CATALOG_COLUMNS, 'slug'] as const;
/** Header names (lower case) that mean a catalog column, for a file named otherwise. */
const CATALOG_SYNONYMS: Record<(typeof CATALOG_COLUMNS)[number], string[]> = {
  title: ['title', 'name', 'keyword', 'movie', 'film', 'show', 'program', 'programme', 'series'],
  genres: ['genres', 'genre', 'category', 'categories'],
};

/**
 * The rename that makes a local catalog file give the example title and genres: `given` checked
 * against the file's header, and for what it leaves out (all of it when none is given), one guessed
 * from common names (`keyword`, `category`, ...) where each column has exactly one candidate. Refuses a
 * catalog the example could not read, so init does not write a project whose every run fails. An S3 or
 * not-yet-existing catalog is not read here (the first run checks it).
 */
export async function catalogRename(
  catalog: string,
  given: Record<string, string> | undefined,
): Promise<CatalogMapping | undefined> {
  if (isS3Uri(catalog) || !(await exists(catalog))) return undefined;
  const path = resolve(catalog);
  // A folder failed below as an internal EISDIR; the catalog is one file.
  if ((await stat(path)).isDirectory()) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--catalog ${path} is a folder: give the catalog file in it (a CSV with a header, Parquet or JSON file of titles and their genres).`,
      { path },
    );
  }
  const format = await detectFormat(path);
  const db = await openDb();
  let described: { name: string; type: string }[];
  try {
    described = await referenceFileColumns(db, path, format);
  } catch (error) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--catalog ${path} cannot be read as ${format}: ${readFailure(error)}. ` +
        'Give a CSV (with a header), Parquet or JSON file of titles and their genres.',
      { path },
    );
  } finally {
    db.close();
  }
  const columns = described.map((c) => c.name);
  // A guess takes text only: a title from a struct or a genre id would run and match nothing.
  const guessable = (column: string, target: string) => {
    const type = described.find((c) => c.name === column)?.type ?? '';
    return type === 'VARCHAR' || (target === 'genres' && type === 'VARCHAR[]');
  };
  const found = `(found ${columns.join(', ')})`;
  if (given && Object.keys(given).length > 0) {
    const unknown = Object.keys(given).filter((from) => !columns.includes(from));
    if (unknown.length > 0) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `--catalog-rename names ${inNumber(unknown.length, 'column')} ${unknown.join(', ')} that ${path} does not have ${found}.`,
        { path, unknown },
      );
    }
  }
  const renamed = columns.map((c) => given?.[c] ?? c);
  const missing = CATALOG_COLUMNS.filter((c) => !renamed.includes(c));
  if (missing.length === 0) return { rename: given ?? {}, guessed: {} };
  // What a given rename leaves out is guessed like the rest, from the columns it does not name.
  const guess: Record<string, string> = {};
  for (const target of missing) {
    const named = columns.filter(
      (c) =>
        CATALOG_SYNONYMS[target].includes(c.toLowerCase()) && guessable(c, target) && !(c in (given ?? {})),
    );
    // "Title" is the title whatever else could be: the name itself, in another case, comes first.
    const exact = named.filter((c) => c.toLowerCase() === target);
    const candidates = exact.length === 1 ? exact : named;
    if (candidates.length === 1 && !(candidates[0]! in guess)) guess[candidates[0]!] = target;
  }
  if (Object.keys(guess).length === missing.length) return { rename: { ...given, ...guess }, guessed: guess };
  // What was guessed goes in the suggested flag as it is: only the rest is asked for (name,tags: tags).
  const unguessed = missing.filter((m) => !Object.values(guess).includes(m));
  throw new LakehouseError(
    'INVALID_ARGUMENT',
    `--catalog ${path} has no ${unguessed.join(' or ')} column ${found}, which the example reads. ` +
      `Say which columns hold them: --catalog-rename ${[
        ...Object.entries({ ...given, ...guess }).map(([from, to]) => `${from}=${to}`),
        ...unguessed.map((m) => `<file column>=${m}`),
      ].join(',')}.`,
    { path, missing: unguessed, columns },
  );
}

/**
 * Writes a project: lakehouse.yaml pointing at the source and catalog, plus the example's models and
 * macros, which the user then owns and edits. Refuses to overwrite an existing project.
 */
export async function initProject(options: InitOptions): Promise<string> {
  // A catalog named otherwise (keyword, category) is mapped here when its header leaves no doubt.
  const mapping = await checkInit(options);
  const dir = resolve(options.dir);
  const example = exampleDir(options.example as ExampleName);
  await mkdir(dir, { recursive: true });
  await cp(join(example, 'models'), join(dir, 'models'), { recursive: true });
  await cp(join(example, 'macros'), join(dir, 'macros'), { recursive: true });
  // A path inside the project (the sample generated into data/) is written relative to it, as the lake
  // is, so the folder can be copied or moved whole: written absolute, a moved demo read the old place.
  const local = (path: string) => {
    if (isS3Uri(path)) return path;
    const inside = relative(dir, resolve(path));
    return inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : resolve(path);
  };
  let catalog = options.catalog ? local(options.catalog) : undefined;
  if (!catalog) {
    await mkdir(join(dir, 'reference'), { recursive: true });
    await copyFile(join(example, 'titles.csv'), join(dir, 'reference', 'titles.csv'));
    catalog = 'reference/titles.csv';
  }
  const template = await readFile(join(example, PROJECT_FILE), 'utf8');
  let yaml = template
    .replace('"__SOURCE__"', JSON.stringify(local(options.source)))
    .replace('"__CATALOG__"', JSON.stringify(catalog));
  const rename = Object.entries(mapping?.rename ?? options.catalogRename ?? {});
  if (rename.length > 0) {
    yaml = yaml.replace(
      /^( {4}required_columns: \[title, genres\]\n)/m,
      `$1    rename: {${rename.map(([from, to]) => `${JSON.stringify(from)}: ${JSON.stringify(to)}`).join(', ')}}\n`,
    );
  }
  if (options.lake) yaml = yaml.replace(/^lake: .*$/m, `lake: ${JSON.stringify(local(options.lake))}`);
  const s3 = Object.entries(options.s3 ?? {}).filter(([, v]) => v !== undefined);
  if (s3.length > 0) {
    yaml += `# How to reach S3 (credentials come from the AWS chain: environment, profiles, SSO).\ns3:\n${s3
      .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}\n`)
      .join('')}`;
  }
  await writeFile(join(dir, PROJECT_FILE), yaml);
  return dir;
}

/** The files under `root`/`folder`, as paths relative to `root`. */
async function filesUnder(root: string, folder: string): Promise<string[]> {
  // Walked by hand: Dirent.parentPath, which a recursive readdir needs, is newer than Node 20.0.
  const files: string[] = [];
  for (const entry of await readdir(join(root, folder), { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(root, path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** Whether a file or folder exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The example's day folders (its lakehouse.yaml `date_format`). */
const EXAMPLE_DAY_FORMAT = '%Y%m%d';
/** A folder named as the example's day folders are. */
const DAY_FOLDER_NAME = /^\d{8}$/;

/**
 * What init says of a source folder (local or s3://) with no day folder of Parquet files (YYYYMMDD/*.parquet),
 * which every run would refuse: the subfolders that have day folders, when the path is one level too
 * high. An S3 prefix that cannot be listed is said too, since every run would fail to list it as well.
 */
export async function sourceLayoutNote(
  source: string,
  where: { projectDir: string; s3?: S3Settings } = { projectDir: '.' },
): Promise<string | undefined> {
  const onS3 = isS3Uri(source);
  if (!onS3 && !(await exists(source))) return undefined;
  const root = onS3 ? source.replace(/\/+$/, '') : resolve(source);
  // Created only for an S3 source; nothing is fetched, so its cache folder is never written.
  const storage = onS3
    ? createProjectStorage({ root: resolve(where.projectDir), settings: where.s3 })
    : undefined;
  const daysUnder = (folder: string) => listSourceDates(folder, EXAMPLE_DAY_FORMAT, storage);
  let days: string[];
  try {
    days = await daysUnder(root);
  } catch (error) {
    if (!onS3) return undefined;
    return `--source ${root} could not be listed (${firstLine(error).replace(/\.$/, '')}), so runs cannot read it either: check the bucket, the prefix and the s3 settings in lakehouse.yaml.`;
  }
  if (days.length > 0) return undefined;
  const holding: string[] = [];
  for (const folder of await subfolders(root, storage)) {
    const inside = await daysUnder(folder).catch(() => []);
    if (inside.length > 0) holding.push(folder);
  }
  // One level too low: a day folder given for the folder that holds it.
  const parent = onS3 ? root.slice(0, root.lastIndexOf('/')) : dirname(root);
  const isDayFolder =
    DAY_FOLDER_NAME.test(basename(root)) && (await daysUnder(parent).catch(() => [])).length > 0;
  const fix = isDayFolder
    ? ` It is a day folder itself: give the folder that holds it, ${parent}, as --source, or edit sources.customer_search_log.path in lakehouse.yaml.`
    : holding.length > 0
      ? ` ${holding.join(' and ')} ${holding.length === 1 ? 'has' : 'have'} them: give that folder as --source, or edit sources.customer_search_log.path in lakehouse.yaml.`
      : " Put each day's Parquet files in a folder named for it (20220601/), or edit sources.customer_search_log.path in lakehouse.yaml.";
  return `--source ${root} has no day folder with Parquet files in it (YYYYMMDD/*.parquet), so runs have no date to load.${fix}`;
}

/** The subfolders that might hold the day folders when the source is one level too high: on S3, the first 20 of one listing. */
async function subfolders(root: string, storage: ProjectStorage | undefined): Promise<string[]> {
  if (!storage) {
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory()).map((e) => join(root, e.name));
  }
  // Every key under the prefix, not a delimited listing: S3-compatible stores differ in the common prefixes they return.
  const { bucket, prefix } = parseS3Uri(root);
  const base = prefix ? `${prefix}/` : '';
  const listing = await listObjects(storage.client(), bucket, base).catch(() => undefined);
  const firstLevel = new Set<string>();
  for (const o of listing?.objects ?? []) {
    const [folder, ...below] = o.key.slice(base.length).split('/');
    if (folder && below.length > 0) firstLevel.add(folder);
  }
  return [...firstLevel].slice(0, 20).map((folder) => `${root}/${folder}`);
}
