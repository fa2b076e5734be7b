import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { LakehouseError } from '../api/errors.ts';
import { createProjectStorage, type ProjectStorage } from '../storage/project-storage.ts';
import { isS3Uri, locationKind } from '../storage/s3-uri.ts';
import { configErrorMap, issueLines, locateIssues } from './config-issues.ts';
import { dateFormatError, homeRelativePathError } from './source-settings.ts';

/**
 * A section whose entries are all commented out (`vars:` over `#   a: 1`) reads as null in YAML: it means
 * the section is empty, as if left out, not an error.
 */
function emptyWhenNull<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === null ? undefined : value), schema);
}

/** A daily source: one folder per day under `path`, named by `date_format` (e.g. 20220601), holding Parquet files. */
export const DailyParquetSource = z
  .strictObject({
    kind: z.literal('daily_parquet'),
    path: z.string(),
    date_format: z.string().default('%Y%m%d'),
    /**
     * Expected columns and DuckDB types; files are checked against them before anything is loaded. Empty
     * or absent (what the app's form saves with its box empty): every column, as the day's files agree on it.
     */
    columns: emptyWhenNull(z.record(z.string(), z.string()).default({})),
    /**
     * A date with no delivery of this source: `fail` the date (the default), read the `latest` delivery
     * before it (a snapshot that is not sent every day), or read it as `empty` (needs `columns`).
     */
    if_missing: z.enum(['fail', 'latest', 'empty']).default('fail'),
  })
  .superRefine((source, ctx) => {
    // With no columns declared an empty day would have no columns at all for models to read.
    if (source.if_missing === 'empty' && Object.keys(source.columns).length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['if_missing'],
        message:
          'if_missing: empty needs the columns declared (columns:), so a day without files still has them',
      });
  });
export type DailyParquetSource = z.infer<typeof DailyParquetSource>;

/** A reference table from one CSV, Parquet or JSON file, loaded whole (e.g. the title catalog). */
export const ReferenceFileSource = z.strictObject({
  kind: z.literal('file'),
  path: z.string(),
  format: z.enum(['csv', 'parquet', 'json']).optional(),
  /** Columns that must be present (after `rename`). */
  required_columns: emptyWhenNull(z.array(z.string()).default([])),
  /** File column → the name models read it by, for a file whose columns are named otherwise. */
  rename: emptyWhenNull(z.record(z.string(), z.string().min(1)).default({})),
});
export type ReferenceFileSource = z.infer<typeof ReferenceFileSource>;

function hasUserInfo(url: URL): boolean {
  return url.username !== '' || url.password !== '';
}

/**
 * The environment variables a crawl header may read: only `LAKEHOUSE_*`. A crawl definition names its own
 * URL, and the app can test an unsaved one, so any other name would let it send PGPASSWORD or
 * AWS_SECRET_ACCESS_KEY to a server of its choosing.
 */
export const CRAWL_HEADER_VARIABLE = /^LAKEHOUSE_[A-Za-z0-9_]+$/;

/** Why a crawl header (or query parameter) may not read `variable`, and the name to use instead. */
export function crawlHeaderVariableRefusal(variable: string, what = 'a crawl header'): string {
  const stem =
    variable
      .replace(/^LAKEHOUSE_/i, '')
      .replace(/[^A-Za-z0-9_]/g, '_')
      .toUpperCase() || 'API_TOKEN';
  return (
    `"${variable}" is not allowed: ${what} may only read an environment variable whose name starts with LAKEHOUSE_, ` +
    'so a source cannot send other secrets (database passwords, AWS keys) to its URL. ' +
    `Export the API's token as LAKEHOUSE_${stem} (or another LAKEHOUSE_ name) and name that here.`
  );
}

const CrawlHeaderVariable = z.string().superRefine((variable, ctx) => {
  if (!CRAWL_HEADER_VARIABLE.test(variable)) {
    ctx.addIssue({ code: 'custom', message: crawlHeaderVariableRefusal(variable) });
  }
});

const CrawlQueryVariable = z.string().superRefine((variable, ctx) => {
  if (!CRAWL_HEADER_VARIABLE.test(variable)) {
    ctx.addIssue({
      code: 'custom',
      message: crawlHeaderVariableRefusal(variable, 'a crawl query parameter'),
    });
  }
});

/** Query parameter names that carry a secret: written in the URL, the value would show wherever the URL does. */
const SECRET_QUERY_PARAM = /^(api[_-]?key|key|token|access[_-]?token|secret|password|sig|signature)$/i;

/** The URL's literal query parameters whose name says they hold a secret. */
export function secretQueryParams(url: string): string[] {
  if (!URL.canParse(url)) return [];
  return [...new Set(new URL(url).searchParams.keys())].filter((name) => SECRET_QUERY_PARAM.test(name));
}

/** The query_from_env line to write instead of a secret query parameter, e.g. api_key: LAKEHOUSE_API_KEY. */
function queryFromEnvLine(names: string[]): string {
  const entries = names.map(
    (name) => `${name}: LAKEHOUSE_CRAWL_${name.replace(/[^A-Za-z0-9_]/g, '_').toUpperCase()}`,
  );
  return `query_from_env: { ${entries.join(', ')} }`;
}

/**
 * A reference table crawled from a paged JSON HTTP API (engine/sources/crawler.ts): pages by number or
 * cursor, rate-limited, retried, resumable; items deduplicated by id and merged into the previous crawl.
 */
export const CrawlSource = z.strictObject({
  kind: z.literal('crawl'),
  /** The first page's URL; `{page}` (page paging) is replaced by the page number. */
  url: z
    .string()
    .url()
    // The URL shows in progress, errors and run history: a user:password@ in it would be shown too.
    .refine(
      (url) => !URL.canParse(url) || !hasUserInfo(new URL(url)),
      'holds credentials (user:password@); they would show in messages and run history. Take them out of ' +
        'the URL and send them as a header whose value comes from the environment: ' +
        'headers_from_env: { Authorization: LAKEHOUSE_CRAWL_AUTHORIZATION }',
    )
    // Likewise an API key in the query string (?api_key=...): it comes from the environment instead.
    .superRefine((url, ctx) => {
      const secrets = secretQueryParams(url);
      if (secrets.length === 0) return;
      ctx.addIssue({
        code: 'custom',
        message:
          `holds the query parameter ${secrets.map((n) => `"${n}"`).join(', ')}, whose value would show in ` +
          'messages and run history. Take it out of the URL, export its value under a LAKEHOUSE_ name and ' +
          `add it from the environment: ${queryFromEnvLine(secrets)}`,
      });
    }),
  paging: z
    .discriminatedUnion('type', [
      z.strictObject({
        type: z.literal('page'),
        /** Query parameter carrying the page number, unless the URL has `{page}`. */
        param: z.string().default('page'),
        start: z.number().int().default(1),
      }),
      z.strictObject({
        type: z.literal('cursor'),
        /** Query parameter the next request carries the cursor in. */
        param: z.string().default('cursor'),
        /** Dotted path of the next cursor in a response; absent or null ends the crawl. */
        cursor_path: z.string(),
      }),
    ])
    .default({ type: 'page', param: 'page', start: 1 }),
  /** Dotted path of the item array in a response ('' for a top-level array). */
  items_path: z.string().default('items'),
  id_field: z.string().default('id'),
  /** When set, the item with the greater value wins a merge; otherwise the later crawl wins. */
  updated_field: z.string().optional(),
  /** Stop after this many pages (besides an empty page or a missing cursor). */
  max_pages: z.number().int().positive().optional(),
  /** Dotted path of a boolean "has more" flag; false ends the crawl. */
  has_more_path: z.string().optional(),
  requests_per_second: z.number().positive().default(5),
  /** A run re-crawls when the last complete crawl is older than this. */
  max_age_hours: z.number().nonnegative().default(24),
  max_retries: z.number().int().min(0).default(6),
  /**
   * Request headers whose values come from environment variables (header: LAKEHOUSE_NAME), never from this
   * file; only LAKEHOUSE_* variables (CRAWL_HEADER_VARIABLE).
   */
  headers_from_env: z.record(z.string(), CrawlHeaderVariable).default({}),
  /**
   * Query parameters added to every request URL, values from environment variables (param: LAKEHOUSE_NAME)
   * as for headers; never shown: messages, progress and run history show the URL without them.
   */
  query_from_env: z.record(z.string().min(1), CrawlQueryVariable).default({}),
  required_columns: z.array(z.string()).default([]),
});
export type CrawlSource = z.infer<typeof CrawlSource>;

export const SourceConfig = z.discriminatedUnion('kind', [
  DailyParquetSource,
  ReferenceFileSource,
  CrawlSource,
]);
export type SourceConfig = z.infer<typeof SourceConfig>;

/**
 * An S3-compatible endpoint: an http(s) URL. `localhost:9000`, as MinIO's docs write it, parses as a URL
 * of scheme `localhost:`, and the S3 client then failed every request as if the store were down.
 */
export const S3Endpoint = z.url({
  protocol: /^https?$/,
  error: 'expected an http:// or https:// URL, such as http://localhost:9000',
});

/** Variables the runner sets for every model (SET VARIABLE), besides those declared under `vars:`. */
export const RUNNER_VARIABLES = ['etl_date'] as const;

// Strict at every level but the publish targets (each publisher checks its own, engine/publish/*): a
// misspelt key (setings:, a source's pth:) would otherwise be dropped and its setting left at the default.
export const ProjectConfig = z.strictObject({
  name: z.string().min(1),
  /** Where bronze and silver Parquet partitions live. */
  lake: z.string().default('lake'),
  /** The DuckDB file holding gold tables, partition pointers and run history. */
  warehouse: z.string().default('warehouse.duckdb'),
  sources: z.record(z.string(), SourceConfig).superRefine((sources, ctx) => {
    // A crawl source's name is a folder under .lakehouse/crawl, which a crawl clears and rewrites: a name
    // with a path in it (../../somewhere) would put that elsewhere on disk.
    for (const name of Object.keys(sources)) {
      if (/[/\\]/.test(name) || name === '.' || name === '..' || name.trim() === '') {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `"${name}" is not a source name: use letters, digits and _, e.g. title_catalog`,
        });
      }
    }
  }),
  /** Values models read with getvariable('name'); etl_date is set by the runner. */
  vars: emptyWhenNull(
    z
      .record(
        z.string(),
        z.union([z.string(), z.number(), z.boolean()], {
          error: 'a variable is a string, a number or true/false (models read it with getvariable)',
        }),
      )
      .superRefine((vars, ctx) => {
        // The runner sets these for each date it runs: a value here would be overridden without a word.
        for (const name of RUNNER_VARIABLES.filter((n) => n in vars))
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `${name} is set by each run (the date it runs); remove it from vars:`,
          });
      })
      .default({}),
  ),
  /**
   * Named publish targets: `redshift: {name: {...}}` and `iceberg: {name: {...}}`. Each publisher validates its
   * own entries (engine/publish/*), so this file stays free of their settings.
   */
  publish: emptyWhenNull(
    z
      .strictObject({
        redshift: emptyWhenNull(z.record(z.string(), z.unknown()).default({})),
        iceberg: emptyWhenNull(z.record(z.string(), z.unknown()).default({})),
      })
      .default({ redshift: {}, iceberg: {} }),
  ),
  /** How to reach S3 for s3:// sources and lakes; credentials come from the AWS chain, never from here. */
  s3: emptyWhenNull(
    z
      .strictObject({
        endpoint: S3Endpoint.optional(),
        region: z.string().optional(),
        profile: z.string().optional(),
        force_path_style: z.boolean().optional(),
        max_attempts: z.number().int().positive().optional(),
        /** Where fetched source objects are cached (default `.lakehouse/s3-cache` in the project). */
        cache_dir: z.string().optional(),
        cache_max_gb: z.number().positive().default(10),
        /** Parallel downloads. */
        parallel: z.number().int().positive().default(16),
      })
      .default({ cache_max_gb: 10, parallel: 16 }),
  ),
  settings: emptyWhenNull(
    z
      .strictObject({
        memory_limit: z.string().optional(),
        threads: z.number().int().positive().optional(),
      })
      .default({}),
  ),
});
export type ProjectConfig = z.infer<typeof ProjectConfig>;

/**
 * Why DuckDB cannot keep its warehouse file at `path`, if it cannot: it reads what follows a '?' in a
 * database path as options, and the write-ahead log of `q?x/warehouse.duckdb` went to `q.wal?x/...`.
 */
export function warehousePathProblem(path: string): string | undefined {
  if (!path.includes('?')) return undefined;
  return (
    `${path} holds a '?', after which DuckDB reads its database path as options (its write-ahead log would ` +
    "go to another folder). Move or rename the project folder to a path without '?'."
  );
}

export interface Project {
  root: string;
  config: ProjectConfig;
  /** Absolute paths, resolved against the project root. */
  lakeRoot: string;
  warehousePath: string;
  /** S3 client, source cache and lake storage (local or S3) for this project. */
  storage: ProjectStorage;
}

export const PROJECT_FILE = 'lakehouse.yaml';

/**
 * Resolves a path from lakehouse.yaml against the project root (absolute paths and s3:// URIs pass
 * through); a malformed URI (`s3:/x`) is refused rather than made a folder of the project.
 */
export function resolveProjectPath(root: string, path: string, accept: { fileUri?: boolean } = {}): string {
  if (locationKind(path, accept) !== 'path' || isAbsolute(path)) return path;
  return resolve(root, path);
}

/** lakehouse.yaml's text, validated; errors name the file and the line of the first issue. */
function parseConfig(file: string, text: string): ProjectConfig {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    // The line in details too, as for a schema issue below: the app opens the file at it.
    const line = document.errors[0]?.linePos?.[0]?.line;
    throw new LakehouseError('PROJECT_INVALID', `${file} is not valid YAML: ${document.errors[0]?.message}`, {
      path: file,
      ...(line === undefined ? {} : { line }),
    });
  }
  // An empty file (or only comments) read as "expected object, received null", naming nothing to add.
  if (document.contents === null) {
    throw new LakehouseError(
      'PROJECT_INVALID',
      `${file} is empty: it needs at least a name: and sources: (docs/projects.md lists every key), or run ` +
        '`lakehouse init <dir> --example customer-search` to start from the example.',
      { path: file },
    );
  }
  const parsed = ProjectConfig.safeParse(document.toJS(), { error: configErrorMap });
  if (!parsed.success) {
    const located = locateIssues(parsed.error.issues, document, text);
    const issues = issueLines(located);
    throw new LakehouseError('PROJECT_INVALID', `${file} is invalid:\n  ${issues.join('\n  ')}`, {
      path: file,
      line: located[0]?.line,
      issues,
    });
  }
  return parsed.data;
}

/**
 * Reads the publish targets of lakehouse.yaml again into the open project: the app keeps a project open
 * for hours, and a target added there (as docs/redshift.md says to) must not need a restart.
 */
export async function reloadPublishTargets(project: Project): Promise<void> {
  const file = join(project.root, PROJECT_FILE);
  project.config.publish = parseConfig(file, await readFile(file, 'utf8')).publish;
}

/**
 * Why `dirOrFile` opens no project. A file given in place of the folder (warehouse.duckdb, a model, a
 * lakehouse.yml) is named as such, with its folder when that is a project, since "lakehouse.yaml not
 * found" sends the user looking for a file that is right beside it.
 */
async function projectNotFound(dirOrFile: string, file: string): Promise<LakehouseError> {
  const given = resolve(dirOrFile);
  const isFile = await stat(given).then(
    (s) => s.isFile(),
    () => false,
  );
  if (isFile && file !== dirOrFile) {
    const folder = dirname(given);
    const folderIsProject = await stat(join(folder, PROJECT_FILE)).then(
      (s) => s.isFile(),
      () => false,
    );
    return new LakehouseError(
      'PROJECT_NOT_FOUND',
      `${given} is a file, not a project folder: give the folder that holds ${PROJECT_FILE}` +
        (folderIsProject ? `, here ${folder}.` : '.'),
      { path: given },
    );
  }
  // A folder of a project (demo/models) or a mistyped one: "create one with init" led away from both.
  const isFolder = await stat(given).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isFolder) {
    return new LakehouseError(
      'PROJECT_NOT_FOUND',
      `No project at ${given}: no such folder. Check the path (a project is the folder that holds ${PROJECT_FILE}), ` +
        'or create one with `lakehouse init <dir> --example customer-search`.',
      { path: file },
    );
  }
  for (let folder = dirname(given); folder !== dirname(folder); folder = dirname(folder)) {
    if (
      await stat(join(folder, PROJECT_FILE)).then(
        (s) => s.isFile(),
        () => false,
      )
    ) {
      return new LakehouseError(
        'PROJECT_NOT_FOUND',
        `No project at ${given}: it is a folder inside the project ${folder}. Give that folder, the one that holds ${PROJECT_FILE}.`,
        { path: file },
      );
    }
  }
  return new LakehouseError(
    'PROJECT_NOT_FOUND',
    `No project at ${given}: ${PROJECT_FILE} not found. Create one with \`lakehouse init <dir> --example customer-search\`.`,
    { path: file },
  );
}

/** Loads and validates `<dir>/lakehouse.yaml` (or the file itself if given). */
export async function loadProject(dirOrFile: string): Promise<Project> {
  const file = dirOrFile.endsWith('.yaml') ? dirOrFile : join(dirOrFile, PROJECT_FILE);
  const root = resolve(dirname(file));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw await projectNotFound(dirOrFile, file);
  }
  const config = parseConfig(file, text);
  // A malformed URI (lake: s3:/x) is refused when the file is read, naming its setting, not at first use.
  const resolved = (key: string, path: string): string => {
    // `~/data` is no folder of the project: refused in the words saving a source from the app uses.
    const homeRelative = homeRelativePathError(path, key);
    if (homeRelative) {
      throw new LakehouseError('PROJECT_INVALID', `${file}: ${homeRelative.message}`, {
        ...homeRelative.details,
        path: file,
        key,
      });
    }
    try {
      return resolveProjectPath(root, path);
    } catch (error) {
      if (!(error instanceof LakehouseError)) throw error;
      throw new LakehouseError('PROJECT_INVALID', `${file}: ${key}: ${error.message}`, {
        ...error.details,
        path: file,
        key,
      });
    }
  };
  for (const [name, source] of Object.entries(config.sources)) {
    if (source.kind !== 'crawl') resolved(`sources.${name}.path`, source.path);
    // `%Y%m` written by hand failed each run as "no calendar date (2022-06-undefined)": refused as a save does.
    const badFormat =
      source.kind === 'daily_parquet' && dateFormatError(source.date_format, `sources.${name}.date_format`);
    if (badFormat) {
      throw new LakehouseError('PROJECT_INVALID', `${file}: ${badFormat.message}`, {
        ...badFormat.details,
        path: file,
      });
    }
  }
  const lakeRoot = resolved('lake', config.lake);
  // A run would fail writing its first partition, with ENOTDIR blamed on the bronze model.
  if (
    !isS3Uri(lakeRoot) &&
    (await stat(lakeRoot).then(
      (s) => !s.isDirectory(),
      () => false,
    ))
  ) {
    throw new LakehouseError(
      'PROJECT_INVALID',
      `${file}: lake: ${lakeRoot} is a file, and the lake is a folder (or s3://bucket/prefix) that runs write ` +
        'partitions under: give a folder name there, or move the file away.',
      { path: file, key: 'lake' },
    );
  }
  const warehousePath = resolved('warehouse', config.warehouse);
  const unusable = warehousePathProblem(warehousePath);
  if (unusable) {
    throw new LakehouseError('PROJECT_INVALID', `${file}: warehouse: ${unusable}`, {
      path: file,
      key: 'warehouse',
    });
  }
  return {
    root,
    config,
    lakeRoot,
    warehousePath,
    storage: createProjectStorage({
      root,
      settings: config.s3,
      cacheDir: config.s3.cache_dir ? resolved('s3.cache_dir', config.s3.cache_dir) : undefined,
      cacheMaxBytes: config.s3.cache_max_gb * 1024 ** 3,
      parallel: config.s3.parallel,
    }),
  };
}
