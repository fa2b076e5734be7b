import { LakehouseError } from '../engine/api/errors.ts';
import { icebergOutcome } from '../engine/api/publish-outcome.ts';
import { type CommandOptions, PUBLISH_ORDER, parseCommandArgs, projectDirArg, tableList } from './args.ts';
import { formatDuration, renderTable, toJson } from './format.ts';
import { cancelOnStopSignals } from './stop-signals.ts';

export const PUBLISH_ICEBERG_USAGE = `  lakehouse publish iceberg <project> --catalog <name> | --warehouse <folder or s3://bucket/prefix>
                           [--tables a,b] [--full-compare] [--dry-run] [--json]
                           [--remove-orphans [--older-than 3d]]`;

export const PUBLISH_ICEBERG_OPTIONS = {
  catalog: {
    type: 'string',
    value: 'NAME',
    help: 'a catalog under publish.iceberg in lakehouse.yaml; give this or --warehouse',
  },
  warehouse: {
    type: 'string',
    value: 'FOLDER|s3://bucket/prefix',
    help: 'a warehouse with no configuration (file-system catalog); give this or --catalog',
  },
  tables: {
    type: 'string',
    value: 'a,b',
    help: `gold tables to publish, comma-separated (default: every gold table); committed and listed ${PUBLISH_ORDER}, not in the order given, so no fact is published before the dimension rows it points at`,
  },
  'full-compare': {
    type: 'boolean',
    help: 'compare every fact partition with the target, not only those runs changed since the last publish',
  },
  'dry-run': { type: 'boolean', help: 'print what would change; write nothing' },
  json: { type: 'boolean', help: 'print the plan (--dry-run) or the result as JSON on stdout' },
  'remove-orphans': {
    type: 'boolean',
    help: 'then delete the files of the tables no snapshot references (what a killed publish leaves); with --dry-run, list them',
  },
  'older-than': {
    type: 'string',
    value: 'AGE',
    help: 'with --remove-orphans: only files older than this, e.g. 90s, 30m, 12h, 3d (default: 3d)',
  },
} as const satisfies CommandOptions;

/**
 * `lakehouse publish iceberg`: one atomic Iceberg commit per gold table (dimensions first), then a
 * read-back of row counts and key checksums. The warehouse is opened read-only, so the app may stay open.
 */
export async function publishIcebergCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, PUBLISH_ICEBERG_OPTIONS, PUBLISH_ICEBERG_USAGE);
  const dir = projectDirArg(positionals, 'publish iceberg', { usage: PUBLISH_ICEBERG_USAGE });
  if (Boolean(values.catalog) === Boolean(values.warehouse)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `Give exactly one of --catalog <name> or --warehouse <folder or s3://...>. Usage:\n${PUBLISH_ICEBERG_USAGE}`,
    );
  }
  // Checked before the project or the warehouse is opened, as the other flags are.
  const tables = tableList(values.tables, PUBLISH_ICEBERG_USAGE);
  const { openTarget, preflightIceberg, publishIceberg } = await import(
    '../engine/publish/iceberg/publish.ts'
  );
  // --remove-orphans: after publishing (or, with --dry-run, instead of deleting) the files of the
  // tables that no snapshot references and are older than --older-than, as a killed publish leaves.
  const { describeOrphanReport, parseAge, removeOrphanFiles } = await import(
    '../engine/publish/iceberg/orphans.ts'
  );
  if (values['older-than'] !== undefined && !values['remove-orphans']) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--older-than only applies with --remove-orphans. Usage:\n${PUBLISH_ICEBERG_USAGE}`,
    );
  }
  const minAgeMs = values['older-than'] === undefined ? undefined : parseAge(values['older-than']);
  const { createEngine } = await import('../engine/engine.ts');
  const engine = await createEngine({ projectDir: dir, readOnly: true });
  // Ctrl-C stops before the next commit and deletes the files the table in progress had written.
  const controller = new AbortController();
  const stopSignals = cancelOnStopSignals(
    controller,
    'Cancelling: the table being written is left as it was ...',
  );
  try {
    const target = await openTarget(engine.project, {
      ...(values.catalog ? { catalog: values.catalog } : {}),
      ...(values.warehouse ? { warehouse: values.warehouse } : {}),
    });
    const orphansOf = (names: string[], dryRun: boolean) =>
      values['remove-orphans']
        ? removeOrphanFiles(target, names, { dryRun, ...(minAgeMs === undefined ? {} : { minAgeMs }) })
        : Promise.resolve(undefined);
    // --full-compare: compare every fact partition, e.g. after editing a gold table outside a run.
    const options = {
      ...(tables ? { tables } : {}),
      ...(values['full-compare'] ? { fullCompare: true } : {}),
    };
    if (values['dry-run']) {
      const preflight = await preflightIceberg(engine, target, options);
      const orphans = await orphansOf(
        preflight.tables.map((t) => t.table),
        true,
      );
      if (values.json) process.stdout.write(`${toJson(orphans ? { ...preflight, orphans } : preflight)}\n`);
      else {
        process.stdout.write(
          `Publish to ${preflight.target}, namespace ${preflight.namespace}: nothing written\n`,
        );
        process.stdout.write(`${renderTable(preflight.tables.map(planLine))}\n`);
        if (orphans) process.stdout.write(`\n${describeOrphanReport(orphans)}\n`);
      }
      return 0;
    }
    const result = await publishIceberg(engine, target, {
      ...options,
      signal: controller.signal,
      onProgress: (p) => {
        if (!values.json) process.stderr.write(`${p.message}\n`);
      },
    });
    const orphans = await orphansOf(
      result.tables.map((t) => t.table),
      false,
    );
    if (values.json) {
      process.stdout.write(`${toJson(orphans ? { ...result, orphans } : result)}\n`);
      return 0;
    }
    process.stdout.write(
      `${renderTable(
        result.tables.map((t) => ({
          ...planLine(t),
          snapshot: t.snapshotId ?? '',
          files: t.filesAdded,
          bytes: t.bytesAdded,
          published_rows: t.reconciliation.publishedRows,
          reconciled: t.reconciliation.matches ? 'yes' : 'NO',
        })),
      )}\n`,
    );
    process.stdout.write(
      `\n${icebergOutcome(result)} (${formatDuration(result.durationMs)}). Target: ${result.target}, namespace ${result.namespace}; row counts and key checksums match.\n`,
    );
    if (orphans) process.stdout.write(`${describeOrphanReport(orphans)}\n`);
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

function planLine(t: {
  table: string;
  action: string;
  mode: string;
  rowsAdded: number;
  rowsRemoved: number;
  schemaChange: { added: string[]; widened: { column: string }[]; dropped: string[] } | null;
}) {
  return {
    table: t.table,
    action: t.action,
    mode: t.mode,
    rows_added: t.rowsAdded,
    rows_removed: t.rowsRemoved,
    schema_change: t.schemaChange
      ? [
          ...t.schemaChange.added.map((c) => `+${c}`),
          ...t.schemaChange.widened.map((w) => `~${w.column}`),
          // A dropped column changes the schema too (every file is rewritten): say so, as the app does.
          ...t.schemaChange.dropped.map((c) => `-${c}`),
        ].join(' ')
      : '',
  };
}
