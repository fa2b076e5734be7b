import { LakehouseError } from '../engine/api/errors.ts';
import { redshiftOutcome } from '../engine/api/publish-outcome.ts';
import { type CommandOptions, PUBLISH_ORDER, parseCommandArgs, projectDirArg, tableList } from './args.ts';
import { formatDuration, renderTable, toJson } from './format.ts';
import { createProgressBar } from './progress.ts';
import { PUBLISH_ICEBERG_USAGE, publishIcebergCommand } from './publish-iceberg.ts';
import { cancelOnStopSignals } from './stop-signals.ts';

// `lakehouse publish <kind> <project> ...`: a small dispatcher by target kind, each publisher owning its
// flags. Publishing reads the warehouse read-only, so it may run while the app is open.

const PUBLISH_REDSHIFT_USAGE = `  lakehouse publish redshift <project> --target <name> | --url postgres://user@host:port/db
                           [--schema gold] [--tables a,b] [--dry-run] [--json]`;

export const PUBLISH_USAGE = `${PUBLISH_REDSHIFT_USAGE}
${PUBLISH_ICEBERG_USAGE}`;

export const PUBLISH_REDSHIFT_OPTIONS = {
  target: {
    type: 'string',
    value: 'NAME',
    help: 'a target under publish.redshift in lakehouse.yaml; give this or --url',
  },
  url: {
    type: 'string',
    value: 'postgres://user@host:port/db',
    help: 'a Redshift or PostgreSQL database (password from PGPASSWORD or ~/.pgpass); give this or --target',
  },
  schema: {
    type: 'string',
    value: 'NAME',
    help: "the schema to load into (default: the target's schema, else gold)",
  },
  tables: {
    type: 'string',
    value: 'a,b',
    help: `gold tables to publish, comma-separated (default: every gold table); loaded and listed ${PUBLISH_ORDER}, not in the order given, so foreign keys point at tables already loaded`,
  },
  'dry-run': {
    type: 'boolean',
    help: 'print the DDL, the rows each table would send and any conflicts; change nothing',
  },
  json: { type: 'boolean', help: 'print the plan (--dry-run) or the result as JSON on stdout' },
} as const satisfies CommandOptions;

type Publisher = (args: string[]) => Promise<number>;

const publishers: Record<string, Publisher> = {
  redshift: publishRedshiftCommand,
  iceberg: publishIcebergCommand,
};

export async function publishCommand(args: string[]): Promise<number> {
  const [kind, ...rest] = args;
  const kinds = Object.keys(publishers).join(', ');
  if (!kind) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `lakehouse publish needs a target kind: ${kinds}. Usage:\n${PUBLISH_USAGE}`,
    );
  }
  // Own keys only: `publish constructor` must not reach Object.prototype.
  const publisher = Object.hasOwn(publishers, kind) ? publishers[kind] : undefined;
  if (!publisher) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `Unknown publish target kind "${kind}": lakehouse publish takes ${kinds}. Usage:\n${PUBLISH_USAGE}`,
      { kind, kinds: Object.keys(publishers) },
    );
  }
  return publisher(rest);
}

async function publishRedshiftCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, PUBLISH_REDSHIFT_OPTIONS, PUBLISH_USAGE);
  const dir = projectDirArg(positionals, 'publish redshift', { usage: PUBLISH_USAGE });
  if (Boolean(values.target) === Boolean(values.url)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `Give exactly one of --target <name> or --url postgres://... Usage:\n${PUBLISH_USAGE}`,
    );
  }
  // Checked before the project or the target is opened, as the other flags are.
  const tables = tableList(values.tables, PUBLISH_USAGE);
  // Loaded on demand: pg, the AWS SDK and the engine are only needed here (commands.ts imports this file
  // for its usage, which `--help` prints without them).
  const { resolveRedshiftTarget } = await import('../engine/publish/redshift/connection.ts');
  const { preflightRedshift, publishRedshift } = await import('../engine/publish/redshift/publish.ts');
  const { createEngine } = await import('../engine/engine.ts');
  const engine = await createEngine({ projectDir: dir, readOnly: true });
  const controller = new AbortController();
  const stopSignals = cancelOnStopSignals(controller, 'Cancelling: the publish is rolled back ...');
  try {
    const { connection, schema } = await resolveRedshiftTarget(engine.project, {
      target: values.target,
      url: values.url,
      schema: values.schema,
      // The user typed this URL in their own shell, next to their own PGPASSWORD.
      passwordFromEnvFor: 'any-host',
    });
    const options = {
      db: engine.reader,
      models: engine.models,
      connection,
      schema,
      tables,
      signal: controller.signal,
    };
    if (values['dry-run']) {
      const preflight = await preflightRedshift(options);
      if (values.json) {
        process.stdout.write(`${toJson(preflight)}\n`);
      } else {
        process.stdout.write(
          `Publish to ${preflight.target} (schema ${preflight.schema}, ${preflight.loadPath}): nothing run\n`,
        );
        process.stdout.write(`${renderTable(preflight.tables.map((t) => tableLine(t, 'to_send')))}\n`);
        if (preflight.ddl.length > 0)
          process.stdout.write(`\nDDL\n${preflight.ddl.map((s) => `  ${s};`).join('\n')}\n`);
        for (const w of preflight.warnings) process.stderr.write(`warning: ${w}\n`);
        for (const c of preflight.conflicts) process.stderr.write(`conflict: ${c.message}\n`);
      }
      return preflight.conflicts.length > 0 ? 1 : 0;
    }
    const bar = createProgressBar(process.stderr, !values.json);
    // Cleared on failure too: on a terminal the error would otherwise be written onto the bar's line.
    const result = await publishRedshift({
      ...options,
      onProgress: (e) => bar.update(e.done, e.total, `${e.phase}${e.table ? ` ${e.table}` : ''}`),
    }).finally(() => bar.done());
    if (values.json) {
      process.stdout.write(`${toJson(result)}\n`);
      return 0;
    }
    process.stdout.write(
      `${renderTable(
        result.tables.map((t) => {
          const check = result.reconciliation.find((r) => r.table === t.table);
          return {
            ...tableLine(t, 'sent'),
            target_rows: check?.targetRows ?? '',
            reconciled: check?.matches ? 'yes' : 'NO',
          };
        }),
      )}\n`,
    );
    for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(
      `\n${redshiftOutcome(result)} (${formatDuration(result.durationMs)}). Target: ${result.target}, schema ${result.schema}; row counts and key checksums match.\n`,
    );
    return 0;
  } catch (error) {
    // A publish a stop signal cancelled exits 130 or 143, as a cancelled run does.
    const cancelled = stopSignals.reportCancel(error);
    if (cancelled === undefined) throw error;
    return cancelled;
  } finally {
    stopSignals.remove();
    engine.close();
  }
}

/**
 * One table of the plan or result: the rows that travel (an append table sends only the dates that
 * differ in the target, often none) next to the gold table's own, so neither reads as the other.
 */
function tableLine(
  t: {
    table: string;
    materialized: string;
    action: string;
    rows: number;
    rowsToSend: number;
    addedColumns: string[];
  },
  sentLabel: 'to_send' | 'sent',
) {
  return {
    table: t.table,
    materialized: t.materialized,
    load: t.action,
    [sentLabel]: t.rowsToSend,
    gold_rows: t.rows,
    new_columns: t.addedColumns.join(', '),
  };
}
