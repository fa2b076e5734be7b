import { describe, expect, it } from 'vitest';
import { COMMAND_OPTIONS, commandHelp, USAGE } from '../../cli/commands.ts';
import { lakehouse } from '../helpers/cli.ts';

// `lakehouse <command> --help` printed the usage line alone: what each flag did and its default were
// nowhere but the README. The help lists the options the command parses, from the same declaration.
describe('lakehouse <command> --help', () => {
  const commands = Object.keys(COMMAND_OPTIONS) as (keyof typeof COMMAND_OPTIONS)[];

  it.each(commands)('%s lists every option it parses, one described line each', (command) => {
    const [name = '', ...kind] = command.split(' ');
    const help = commandHelp(name, [...kind, '--help']);
    expect(help).toMatch(new RegExp(`^Usage:\\n {2}lakehouse ${command} `));
    const lines = help.slice(help.indexOf('\nOptions:\n') + 10).split('\n');
    for (const [flag, option] of Object.entries(COMMAND_OPTIONS[command])) {
      const line = lines.find((l) => l.startsWith(`  --${flag} `));
      expect(line, `--${flag}`).toBeDefined();
      expect(option.help.length).toBeGreaterThan(10);
      expect(line).toMatch(new RegExp(`\\s{2}${option.help.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    }
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}-h, --help +this help$/));
  });

  it.each(commands)('%s: the usage line shows exactly the flags it parses', (command) => {
    // The entry of this command: its `lakehouse ...` line and the deeper-indented lines after it.
    const lines = USAGE.split('\n');
    const start = lines.findIndex((l) => l.startsWith(`  lakehouse ${command} `));
    const end = lines.findIndex((l, j) => j > start && !l.startsWith('   '));
    const block = lines.slice(start, end === -1 ? undefined : end).join('\n');
    expect(start).toBeGreaterThan(0);
    const shown = new Set([...block.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]));
    expect([...shown].sort()).toEqual(Object.keys(COMMAND_OPTIONS[command]).sort());
  });

  it('prints the options from the command line, with defaults', () => {
    const run = lakehouse('run', '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage:\n {2}lakehouse run <project> \[--date D\]/);
    expect(run.stdout).toMatch(
      /^ {2}--date D \.\.\. +an ETL date to run; repeat for several \(default: every date the sources have\)$/m,
    );
    expect(run.stdout).toMatch(/^ {2}--memory-limit SIZE +DuckDB's memory limit .*\(default: /m);
    const query = lakehouse('query', 'demo', '-h');
    expect(query.stdout).toMatch(/^ {2}--limit N +rows to print at most \(default: 50 in the table/m);
    // publish: each kind with its own options, or the one asked for.
    const publish = lakehouse('publish', '--help');
    expect(publish.stdout).toContain('--url postgres://user@host:port/db');
    expect(publish.stdout).toContain('--warehouse ');
    const iceberg = lakehouse('publish', 'iceberg', '--help');
    expect(iceberg.stdout).toMatch(/^ {2}--older-than AGE +with --remove-orphans: .*\(default: 3d\)$/m);
    expect(iceberg.stdout).not.toContain('--url');
    expect(lakehouse('--help').stdout).toContain('Run `lakehouse <command> --help` for a command');
  });

  // Publishing loads tables so that keys exist before the rows that point at them (Redshift declares
  // foreign keys; Iceberg commits table by table), so --tables chooses tables, not their order.
  it.each(['redshift', 'iceberg'])(
    'publish %s --help says --tables is published in dependency order',
    (kind) => {
      const help = lakehouse('publish', kind, '--help');
      expect(help.stdout).toMatch(
        /^ {2}--tables a,b +gold tables to publish, comma-separated \(default: every gold table\); \w+ and listed dimensions, then bridges, then facts \(by name within each\), not in the order given/m,
      );
    },
  );

  // `run --from D` alone runs D to the sources' last date (and --to alone from their first), but the
  // help said each went "with" the other, so a user wanting "from D onwards" had to look dates up.
  it('run --help says what --from or --to alone runs', () => {
    const help = lakehouse('run', '--help').stdout;
    expect(help).toContain('[--from D] [--to D]');
    expect(help).toMatch(
      /^ {2}--from D +the first date of a range.*\(default with --to: the first date the sources have\)$/m,
    );
    expect(help).toMatch(
      /^ {2}--to D +the last date of the range \(default with --from: the last date the sources have\)$/m,
    );
  });

  // Every command-line tool answers --version; this one called it an unknown command.
  it.each(['--version', '-V', 'version'])('%s prints the version of package.json', (flag) => {
    const result = lakehouse(flag);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^lakehouse \d+\.\d+\.\d+\n$/);
    expect(lakehouse('--help').stdout).toContain('`lakehouse --version` prints the version.');
  });
});

describe('a mistyped command', () => {
  it('names the closest command, and says options go after the command', () => {
    const typo = lakehouse('tabels', 'demo');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('Unknown command "tabels" (did you mean "tables"?)');
    const optionFirst = lakehouse('--json', 'tables', 'demo');
    expect(optionFirst.code).toBe(2);
    expect(optionFirst.stderr).toContain('--json is an option, and options go after the command');
  });

  it('reads `lakehouse help run` as `lakehouse run --help`', () => {
    const help = lakehouse('help', 'run');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage:\n {2}lakehouse run <project> /);
    expect(help.stdout).toContain('--memory-limit SIZE');
  });
});
