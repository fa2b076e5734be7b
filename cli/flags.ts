// Reading a command's flags: parsing them against the command's declared options, and typed values of
// each. Apart from main.ts so each command's module reads its flags the same way.

import { parseArgs } from 'node:util';
import { LakehouseError } from '../engine/api/errors.ts';
import { type CommandOptions, optionsError } from './args.ts';
import { COMMAND_OPTIONS } from './commands.ts';

export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** The command's flags and positionals; an unknown or malformed option is refused, pointing at --help. */
export function parse(args: string[], options: CommandOptions) {
  try {
    const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: parsed.values as Flags, positionals: parsed.positionals };
  } catch (error) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${optionsError(error, options)}. Run \`lakehouse ${commandOf(options)}--help\`.`,
    );
  }
}

/** `run ` for the options of `run`: the command whose own --help lists them. */
function commandOf(options: CommandOptions): string {
  const entry = Object.entries(COMMAND_OPTIONS).find(([, declared]) => declared === options);
  return entry ? `${entry[0]} ` : '';
}

/** A flag's string value, undefined when it is absent. */
export function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** A repeatable flag's values: none, one or many. */
export function list(flags: Flags, name: string): string[] {
  const v = flags[name];
  return Array.isArray(v)
    ? v.filter((x): x is string => typeof x === 'string')
    : typeof v === 'string'
      ? [v]
      : [];
}

/**
 * A whole-number flag, `fallback` when absent; anything else is refused, naming the flag. Digits only:
 * Number() also reads '' as 0, `0x10` as 16 and `1e20` as a number no SQL LIMIT or day count can take
 * (runs --limit 1e20 failed as INTERNAL; generate --days 1e20 started writing days without end).
 * Below `min` is refused too.
 */
export function int(flags: Flags, name: string, fallback: number, min = 0): number {
  const v = str(flags, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  // One message for 'abc' and for 0 where at least 1 is needed: it said "0 or more", then refused 0.
  if (!/^\d+$/.test(v.trim()) || n < min)
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--${name} ${shownValue(v)}: expected a whole number, ${min} or more`,
    );
  if (!Number.isSafeInteger(n))
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--${name} ${v}: too large, give a whole number of at most ${Number.MAX_SAFE_INTEGER}`,
    );
  return n;
}

/** A flag's value as an error quotes it: an empty or blank one would otherwise read as nothing at all. */
const shownValue = (value: string) => (value.trim() === '' ? `'${value}'` : value);

/** --port: a TCP port, or 0 (the default) for any free one. */
export function portFlag(flags: Flags): number {
  const port = int(flags, 'port', 0);
  if (port > 65535)
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--port ${port}: a TCP port is at most 65535; leave --port out to use any free one`,
    );
  return port;
}
