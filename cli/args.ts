import { type ParseArgsConfig, parseArgs } from 'node:util';
import { LakehouseError } from '../engine/api/errors.ts';
import { didYouMean } from '../engine/project/config-issues.ts';

// Flag handling for the subcommands that carry their own usage text (publish redshift, publish iceberg):
// an unknown or malformed flag, or a missing project directory, is an INVALID_ARGUMENT quoting that usage.

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

/** The project directory, the first positional, that `lakehouse <command>` needs. */
export function projectDirArg(positionals: string[], command: string, usage: string): string {
  const dir = positionals[0];
  if (!dir)
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `lakehouse ${command} needs a project directory. Usage:\n${usage}`,
    );
  return dir;
}

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
