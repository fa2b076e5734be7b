import { type ParseArgsConfig, parseArgs } from 'node:util';
import { LakehouseError } from '../engine/api/errors.ts';
import { didYouMean } from '../engine/project/config-issues.ts';

// Flag handling. Each command declares its options once, as a CommandOptions object: the parser reads
// its types and `--help` prints its descriptions, so the help cannot list a flag the command does not
// take, or leave one out. For the subcommands that carry their own usage text (publish redshift,
// publish iceberg, crawl) an unknown or malformed flag, or a missing project directory, is an
// INVALID_ARGUMENT quoting that usage.

/** One flag: how node's parseArgs reads it, plus what `--help` says about it. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** The value's placeholder in the help (`YYYY-MM-DD`, `N`); string options only. */
  value?: string;
  /** One line: what the flag does, and its default when it has one. */
  help: string;
}

/** A command's flags by name, without the leading `--`. */
export type CommandOptions = Record<string, OptionSpec>;

/** The `Options:` section of a command's help: one line per flag, in declaration order. */
export function optionsHelp(options: CommandOptions): string {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return [o.multiple ? `${flag} ...` : flag, o.help] as const;
  });
  rows.push(['-h, --help', 'this help']);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return `Options:\n${rows.map(([flag, help]) => `  ${flag.padEnd(width)}${help}`).join('\n')}`;
}

/** Parses `args` strictly against `options`, with positionals allowed. */
export function parseCommandArgs<const Options extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: Options,
  usage: string,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new LakehouseError('INVALID_ARGUMENT', `${optionsError(error, options)}. Usage:\n${usage}`);
  }
}

/**
 * What was wrong with the flags, from node's parseArgs error. An unknown flag is named with the closest
 * one the command takes and the list of them, instead of node's advice about positionals after `--`.
 */
export function optionsError(error: unknown, options: NonNullable<ParseArgsConfig['options']>): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
  if (unknown === undefined) return message.replace(/\.$/, '');
  const flags = Object.keys(options).map((name) => `--${name}`);
  return `Unknown option ${unknown}${didYouMean(unknown, flags)}; this command takes ${flags.join(', ')}`;
}

/**
 * The project directory, the first positional, that `lakehouse <command>` needs; `takes` is how many
 * positionals the command has (query: the SQL too); `usage`, for a command that needs flags besides, is
 * shown when the directory is missing. A stray word is a mistake (an unquoted SQL, a flag without its
 * dashes), not something to ignore.
 */
export function projectDirArg(
  positionals: string[],
  command: string,
  { takes = 1, usage }: { takes?: number; usage?: string } = {},
): string {
  const dir = positionals[0];
  if (!dir)
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      usage
        ? `lakehouse ${command} needs a project directory. Usage:\n${usage}`
        : `lakehouse ${command} needs a project directory, e.g. lakehouse ${command} ./demo`,
    );
  if (positionals.length > takes)
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `lakehouse ${command}: unexpected ${positionals.length - takes === 1 ? 'argument' : 'arguments'} ${positionals.slice(takes).join(' ')}. Run \`lakehouse ${command} --help\`.`,
    );
  return dir;
}

/**
 * The order publish loads (Redshift declares foreign keys) or commits (Iceberg, table by table) gold
 * tables and lists them in its output, whatever order --tables names them in: describeGoldTables' order.
 */
export const PUBLISH_ORDER = 'dimensions, then bridges, then facts (by name within each)';

/**
 * A comma-separated --tables flag as names, or undefined when the flag is absent. A flag naming no table
 * (`--tables ''`, e.g. from an unset shell variable) is refused: read as absent it would publish every table.
 */
export function tableList(flag: string | undefined, usage: string): string[] | undefined {
  if (flag === undefined) return undefined;
  const names = flag
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (names.length === 0)
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--tables names no table: give gold tables separated by commas (--tables dim_user,fact_customer_search), or leave the flag out to publish every table. Usage:\n${usage}`,
    );
  return names;
}
