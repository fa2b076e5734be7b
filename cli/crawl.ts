import { join } from 'node:path';
import { LakehouseError } from '../engine/api/errors.ts';
import { type CommandOptions, parseCommandArgs } from './args.ts';
import { counted, toJson } from './format.ts';

// `lakehouse crawl <project> [--source name]`: crawls (or resumes) a project's crawl sources now,
// whatever their max_age_hours, and merges them into their data; a run then reads the result.

export const CRAWL_USAGE =
  '  lakehouse crawl <project> [--source <name>]... [--json]   refresh crawl sources (resumes an interrupted crawl)';

export const CRAWL_OPTIONS = {
  source: {
    type: 'string',
    multiple: true,
    value: 'NAME',
    help: 'a crawl source of lakehouse.yaml to crawl; repeat for several (default: every crawl source)',
  },
  json: { type: 'boolean', help: 'print what each crawl fetched as JSON on stdout' },
} as const satisfies CommandOptions;

export async function crawlCommand(args: string[]): Promise<number> {
  const parsed = parse(args);
  const dir = parsed.positionals[0];
  if (!dir)
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `lakehouse crawl needs a project directory. Usage:\n${CRAWL_USAGE}`,
    );
  // Loaded on demand: commands.ts imports this file for its usage, and `--help` need not load the engine.
  const { loadProject, PROJECT_FILE } = await import('../engine/project/config.ts');
  const { openDb } = await import('../engine/db/duckdb.ts');
  const { crawl, crawlDir } = await import('../engine/sources/crawler.ts');
  const project = await loadProject(dir);
  const crawlable = Object.entries(project.config.sources).filter(([, s]) => s.kind === 'crawl');
  const wanted = parsed.values.source ?? crawlable.map(([name]) => name);
  const unknown = wanted.filter((name) => !crawlable.some(([n]) => n === name));
  const file = join(project.root, PROJECT_FILE);
  // Each refusal says what to do: add a crawl source, or pick one of those there are.
  if (crawlable.length === 0) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${file} has no crawl source (one with kind: crawl under sources:), so there is nothing to crawl. ` +
        'Add one (docs/s3.md, "Crawled reference data"), then run lakehouse crawl again.',
    );
  }
  if (unknown.length > 0) {
    const otherKinds = unknown
      .filter((name) => project.config.sources[name])
      .map((name) => `${name} is a ${project.config.sources[name]!.kind} source`);
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `No crawl source ${unknown.join(', ')} in ${file}${otherKinds.length > 0 ? ` (${otherKinds.join('; ')})` : ''}. ` +
        `Give --source one of its crawl sources: ${crawlable.map(([n]) => n).join(', ')}; or leave --source out to crawl them all.`,
    );
  }
  const db = await openDb();
  const results: Record<string, unknown> = {};
  // On a terminal one line per source is redrawn; in a log (CI, a pipe) a line every few seconds at most.
  const tty = Boolean(process.stderr.isTTY);
  let drawn = false;
  let lastPrint = 0;
  const say = (line: string, final: boolean) => {
    if (parsed.values.json) return;
    if (tty) {
      process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
      drawn = !final;
    } else if (final || Date.now() - lastPrint > 2000) {
      process.stderr.write(`${line}\n`);
      lastPrint = Date.now();
    }
  };
  try {
    for (const name of wanted) {
      const source = project.config.sources[name];
      if (source?.kind !== 'crawl') continue;
      const result = await crawl({
        db,
        name,
        source,
        dir: crawlDir(project.root, name),
        onProgress: (p) => say(`${name}: page ${p.pages}, ${counted(p.items, 'item')}`, false),
      });
      results[name] = result;
      say(
        `${name}: ${counted(result.pages, 'page')}, ${counted(result.items, 'item')}, ${counted(result.retries, 'retry', 'retries')}` +
          `${result.resumedFromPage ? `, resumed at page ${result.resumedFromPage}` : ''}; ${counted(result.rows, 'row')} after the merge`,
        true,
      );
    }
  } finally {
    // A failure's message starts on a line of its own, below the progress it stopped.
    if (drawn) process.stderr.write('\n');
    db.close();
  }
  if (parsed.values.json) process.stdout.write(`${toJson(results)}\n`);
  return 0;
}

function parse(args: string[]) {
  return parseCommandArgs(args, CRAWL_OPTIONS, CRAWL_USAGE);
}
