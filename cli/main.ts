import { readFile } from 'node:fs/promises';
import { LakehouseError, toLakehouseError } from '../engine/api/errors.ts';
import { didYouMean } from '../engine/project/config-issues.ts';
import { projectDirArg } from './args.ts';
import { COMMAND_OPTIONS, commandHelp, USAGE } from './commands.ts';
import { type Flags, parse, portFlag } from './flags.ts';
import { withProjectArg } from './format.ts';

// Each command's code is imported when that command runs (the `await import` calls below): the engine,
// DuckDB, the AWS SDK and the publishers take about a second to load, which `--help` and a mistyped
// command need not wait for, and a command need not load what only another one uses.

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    // `lakehouse help run` is `lakehouse run --help`, as git and npm read it.
    const [topic, ...topicRest] = rest;
    process.stdout.write(command === 'help' && topic ? commandHelp(topic, topicRest) : `${USAGE}\n`);
    return command ? 0 : 2;
  }
  // Every CLI answers --version; a bug report or a support question starts with it.
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`lakehouse ${await packageVersion()}\n`);
    return 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(command, rest));
    return 0;
  }
  switch (command) {
    case 'demo':
      return (await import('./project-commands.ts')).demo(parse(rest, COMMAND_OPTIONS.demo).values);
    case 'init':
      return (await import('./project-commands.ts')).init(parse(rest, COMMAND_OPTIONS.init));
    case 'generate':
      return (await import('./project-commands.ts')).generate(parse(rest, COMMAND_OPTIONS.generate).values);
    case 'run':
      return (await import('./run.ts')).runCommand(rest);
    case 'tables':
      return (await import('./project-commands.ts')).tables(parse(rest, COMMAND_OPTIONS.tables));
    case 'runs':
      return (await import('./project-commands.ts')).runs(parse(rest, COMMAND_OPTIONS.runs));
    case 'query':
      return (await import('./project-commands.ts')).query(
        parse(sqlAsPositional(rest), COMMAND_OPTIONS.query),
      );
    case 'drop':
      return (await import('./project-commands.ts')).drop(parse(rest, COMMAND_OPTIONS.drop));
    case 'repair':
      return (await import('./project-commands.ts')).repair(parse(rest, COMMAND_OPTIONS.repair));
    case 'serve':
      return serve(parse(rest, COMMAND_OPTIONS.serve));
    case 'app': {
      const { values, positionals } = parse(rest, COMMAND_OPTIONS.app);
      const { app } = await import('./app.ts');
      return app({ project: positionals[0], port: portFlag(values), browser: values.browser === true });
    }
    case 'publish':
      return (await import('./publish.ts')).publishCommand(rest);
    case 'crawl':
      return (await import('./crawl.ts')).crawlCommand(rest);
    default:
      throw unknownCommand(command);
  }
}

/**
 * A first word that is no command: the closest command when it looks mistyped (`rnu`), or, for an option
 * given before the command (`lakehouse --json tables demo`), that options follow the command.
 */
function unknownCommand(command: string): LakehouseError {
  const commands = [...new Set(Object.keys(COMMAND_OPTIONS).map((name) => name.split(' ')[0] ?? name))];
  const message = command.startsWith('-')
    ? `${command} is an option, and options go after the command: lakehouse <command> <project> ${command}, e.g. lakehouse tables ./demo --json.`
    : `Unknown command "${command}"${didYouMean(command, commands)}; the commands are ${commands.join(', ')}.`;
  return new LakehouseError('INVALID_ARGUMENT', `${message} Run \`lakehouse --help\`.`);
}

/** The version in package.json, which sits one folder above cli/ in the repository and the package. */
async function packageVersion(): Promise<string> {
  const text = await readFile(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/**
 * `lakehouse query demo "-- comment\nSELECT 1"`: an argument starting with a dash whose name (before any
 * `=`) holds whitespace is SQL, not a flag, since no flag name has a space; it is passed after `--` so
 * the parser takes it as the positional it is instead of refusing an unknown option.
 */
function sqlAsPositional(args: string[]): string[] {
  const isSql = (arg: string) => arg.startsWith('-') && /\s/.test(arg.split('=')[0] ?? '');
  const sql = args.filter(isSql);
  if (sql.length === 0) return args;
  const others = args.filter((arg) => !isSql(arg));
  return others.includes('--') ? [...others, ...sql] : [...others, '--', ...sql];
}

async function serve({ values, positionals }: { values: Flags; positionals: string[] }): Promise<number> {
  const { serveUntilStopped } = await import('./serve.ts');
  return serveUntilStopped(projectDirArg(positionals, 'serve'), portFlag(values));
}

// A reader that stops early (`lakehouse runs demo | head`) closes the pipe: stop quietly, as Unix tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

/**
 * The project argument as the user typed it (the command's first positional), for the commands an error
 * suggests; undefined for a command without one, or whose arguments do not parse.
 */
function projectArgOf(argv: string[]): string | undefined {
  const [command, ...rest] = argv;
  const name = command === 'publish' ? `publish ${rest[0]}` : command;
  const args = command === 'publish' ? rest.slice(1) : command === 'query' ? sqlAsPositional(rest) : rest;
  if (name === undefined || !Object.hasOwn(COMMAND_OPTIONS, name)) return undefined;
  const options = COMMAND_OPTIONS[name as keyof typeof COMMAND_OPTIONS];
  try {
    return parse(args, options).positionals[0];
  } catch {
    return undefined;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const failure = toLakehouseError(error);
    const projectArg = projectArgOf(process.argv.slice(2));
    const message = projectArg === undefined ? failure.message : withProjectArg(failure.message, projectArg);
    process.stderr.write(`error [${failure.code}]: ${message}\n`);
    if (process.env.LAKEHOUSE_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = failure.code === 'INVALID_ARGUMENT' ? 2 : 1;
  },
);
