import { LakehouseError } from '../engine/api/errors.ts';
import { type CommandOptions, optionsHelp } from './args.ts';
import { CRAWL_OPTIONS, CRAWL_USAGE } from './crawl.ts';
import { PUBLISH_REDSHIFT_OPTIONS, PUBLISH_USAGE } from './publish.ts';
import { PUBLISH_ICEBERG_OPTIONS } from './publish-iceberg.ts';

// The commands of `lakehouse`: their usage lines and the options each parses. main.ts parses every
// command with its entry of COMMAND_OPTIONS and `--help` describes that same entry.

export const USAGE = `lakehouse: a local Medallion lakehouse (bronze -> silver -> gold) on DuckDB

Usage:
  lakehouse demo [--dir D]                 generate a sample, create the example project in D (default ./demo), run it
  lakehouse init <dir> [--example customer-search] [--source <folder>] [--catalog <file>]
               [--catalog-rename keyword=title,category=genres]   map a catalog's columns to title, genres
               [--lake <folder|s3://b/lake>] [--profile P] [--endpoint URL]   sources and lake may be s3:// URIs
               the example (the only one, so the default) is also where your own pipeline starts: docs/projects.md
  lakehouse generate --out <dir> [--days N] [--rows-per-day N] [--seed S] [--start YYYY-MM-DD]
  lakehouse run <project> [--date D]... [--from D] [--to D] [--select model+]... [--memory-limit 1GB] [--json]
  lakehouse tables <project> [--json]
  lakehouse runs <project> [--limit N] [--json]
  lakehouse query <project> "<sql>" [--json] [--limit N]
  lakehouse drop <project> <layer.table> [--rebuild] [--json]   remove a table whose model file was deleted, with
                                           its partitions (a bare name is a gold table); --rebuild: a gold table its
                                           model builds (or one built otherwise than its header now says), for
                                           the next run over every date to build it whole
  lakehouse repair <project> [--json]       forget committed partitions whose file is gone from the lake, so their
                                           dates run again (opening such a project says which files are missing)
  lakehouse serve <project> [--port N]     serve the app's UI and API on 127.0.0.1 (a token is in the printed URL)
  lakehouse app [<project>] [--port N] [--browser]   the desktop app (npm start); default ./demo; builds what is outdated;
                                           browser mode where Electron's binary is absent
${PUBLISH_USAGE}
${CRAWL_USAGE}

Dates are YYYY-MM-DD. In queries gold tables answer to bare names (fact_customer_search) and gold.<name>;
silver, bronze and quarantine tables to silver.<name>, bronze.<name>, quarantine.<name>.
Progress goes to stderr; --json output on stdout has a stable shape (see README).
Run \`lakehouse <command> --help\` for a command's options, one line each with its default;
\`lakehouse --version\` prints the version.`;

const json = (what: string) => ({ type: 'boolean', help: `print ${what} as JSON on stdout` }) as const;
const port = {
  type: 'string',
  value: 'N',
  help: 'the TCP port on 127.0.0.1 (default: 0, any free port)',
} as const;

/** Every command's options, by command (`publish <kind>` for publishers). */
export const COMMAND_OPTIONS = {
  demo: {
    dir: {
      type: 'string',
      value: 'D',
      help: 'where the sample and the example project go; an existing project there is run again (default: ./demo)',
    },
  },
  init: {
    example: {
      type: 'string',
      value: 'NAME',
      help: 'the example project the models come from (default: customer-search, the only one)',
    },
    source: {
      type: 'string',
      value: 'FOLDER|s3://b/raw',
      help: 'the folder of day folders (YYYYMMDD/*.parquet) (default: a generated sample in <dir>/data)',
    },
    catalog: {
      type: 'string',
      value: 'FILE',
      help: 'the title catalog that normalises keywords, CSV, Parquet or JSON with title, genres (default: the built-in one)',
    },
    'catalog-rename': {
      type: 'string',
      value: 'COL=title,COL=genres',
      help: "map the --catalog file's columns to title and genres (default: guessed from its header when it leaves no doubt)",
    },
    lake: {
      type: 'string',
      value: 'FOLDER|s3://b/lake',
      help: 'where bronze and silver partitions are written (default: <dir>/lake)',
    },
    profile: {
      type: 'string',
      value: 'P',
      help: 'the AWS profile for s3:// locations, written as s3.profile; it must exist in the shared AWS files (default: AWS_PROFILE, else the AWS chain)',
    },
    endpoint: {
      type: 'string',
      value: 'URL',
      help: 'an S3-compatible endpoint, written as s3.endpoint (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)',
    },
  },
  generate: {
    out: { type: 'string', value: 'DIR', help: 'the new or empty folder to write into (required)' },
    days: { type: 'string', value: 'N', help: 'days of search logs, one folder each (default: 3)' },
    'rows-per-day': { type: 'string', value: 'N', help: 'search events per day (default: 3000)' },
    seed: {
      type: 'string',
      value: 'S',
      help: 'random seed: a seed gives the same files every time (default: 42)',
    },
    start: { type: 'string', value: 'YYYY-MM-DD', help: 'the first day (default: 2022-06-01)' },
  },
  run: {
    date: {
      type: 'string',
      multiple: true,
      value: 'D',
      help: 'an ETL date to run; repeat for several (default: every date the sources have)',
    },
    from: {
      type: 'string',
      value: 'D',
      help: 'the first date of a range, run day by day in order (default with --to: the first date the sources have)',
    },
    to: {
      type: 'string',
      value: 'D',
      help: 'the last date of the range (default with --from: the last date the sources have)',
    },
    select: {
      type: 'string',
      multiple: true,
      value: 'MODEL',
      help: 'run only these models: model+ adds what is downstream, +model what is upstream; repeat for several (default: every model)',
    },
    'memory-limit': {
      type: 'string',
      value: 'SIZE',
      help: "DuckDB's memory limit for this run, e.g. 1GB (default: settings.memory_limit, else DuckDB's)",
    },
    json: json('the run summary (also when the run is refused or fails)'),
  },
  tables: { json: json('every table with its layer, rows, columns and partitions') },
  runs: {
    limit: { type: 'string', value: 'N', help: 'how many runs, newest first (default: 10)' },
    json: json('the runs with their per-model records'),
  },
  query: {
    json: json('the rows (an array of objects)'),
    limit: {
      type: 'string',
      value: 'N',
      help: 'rows to print at most (default: 50 in the table, every row with --json)',
    },
  },
  drop: {
    rebuild: {
      type: 'boolean',
      help: 'drop a gold table its model still builds, for the next run over every date to build it whole',
    },
    json: json('what was dropped'),
  },
  repair: { json: json('the partitions forgotten') },
  serve: { port },
  app: {
    port,
    browser: { type: 'boolean', help: 'open the app in a browser instead of the desktop window' },
  },
  'publish redshift': PUBLISH_REDSHIFT_OPTIONS,
  'publish iceberg': PUBLISH_ICEBERG_OPTIONS,
  crawl: CRAWL_OPTIONS,
} as const satisfies Record<string, CommandOptions>;

type CommandName = keyof typeof COMMAND_OPTIONS;

/** The usage text's entries: a `  lakehouse ...` line with the more indented lines that continue it. */
function usageBlocks(): string[] {
  const blocks: string[] = [];
  for (const line of USAGE.split('\n')) {
    if (line.startsWith('  lakehouse ')) blocks.push(line);
    else if (line.startsWith('   ') && blocks.length > 0) blocks[blocks.length - 1] += `\n${line}`;
  }
  return blocks;
}

/**
 * `lakehouse <command> --help`: the usage lines of that command (of `publish <kind>` when a kind is
 * given, else of every kind), cut from the full usage, each followed by the options it parses.
 */
export function commandHelp(command: string, rest: string[]): string {
  const kind = command === 'publish' && rest[0] && !rest[0].startsWith('-') ? ` ${rest[0]}` : '';
  const entries = usageBlocks().flatMap((block) => {
    const name = /^ {2}lakehouse (\S+(?: (?:redshift|iceberg))?)/.exec(block)?.[1];
    if (!name || !`${name} `.startsWith(`${command}${kind} `)) return [];
    const options = Object.hasOwn(COMMAND_OPTIONS, name) ? COMMAND_OPTIONS[name as CommandName] : undefined;
    return [`Usage:\n${block}${options ? `\n\n${optionsHelp(options)}` : ''}`];
  });
  if (entries.length === 0)
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `Unknown command "${command}${kind}". Run \`lakehouse --help\`.`,
    );
  return `${entries.join('\n\n')}\n`;
}
