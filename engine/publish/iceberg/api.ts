import type { IcebergDiff, IcebergScan } from '../../api/contract.ts';
import { LakehouseError } from '../../api/errors.ts';
import type { Engine } from '../../engine.ts';
import { reloadPublishTargets } from '../../project/config.ts';
import { diffSnapshots, scanSnapshot, tableHistory } from './history.ts';
import { removeOrphanFiles } from './orphans.ts';
import {
  type IcebergTarget,
  openTarget,
  type PublishProgress,
  preflightIceberg,
  publishIceberg,
} from './publish.ts';

/**
 * The engine methods of Iceberg publishing and history (publish.iceberg.*, iceberg.*). Publishing and
 * its preflight use the writer connection (they stage comparisons in temp tables); history reads use
 * the reader, so they answer during a run.
 */
export function icebergApi(engine: Engine) {
  const target = async (input: IcebergTarget) => {
    if (input.catalog) await reloadPublishTargets(engine.project);
    return openTarget(engine.project, {
      ...(input.catalog ? { catalog: input.catalog } : {}),
      ...(input.warehouse ? { warehouse: input.warehouse } : {}),
    });
  };
  return {
    async preflight(input: IcebergTarget & { tables?: string[] | undefined }) {
      return preflightIceberg(engine, await target(input), input.tables ? { tables: input.tables } : {});
    },
    async publish(
      input: IcebergTarget & { tables?: string[] | undefined },
      onProgress?: (p: PublishProgress) => void,
      signal?: AbortSignal,
    ) {
      return publishIceberg(engine, await target(input), {
        ...(input.tables ? { tables: input.tables } : {}),
        ...(onProgress ? { onProgress } : {}),
        ...(signal ? { signal } : {}),
      });
    },
    /** Lists (dry run) or removes the orphan files of the named gold tables, every gold table by default. */
    async orphans(
      input: IcebergTarget & {
        tables?: string[] | undefined;
        dryRun: boolean;
        olderThanHours?: number | undefined;
      },
    ) {
      const gold = engine.models.filter((m) => m.layer === 'gold').map((m) => m.name);
      const unknown = (input.tables ?? []).filter((t) => !gold.includes(t));
      if (unknown.length > 0) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `${unknown.join(', ')}: no such gold table. Gold tables: ${gold.join(', ')}.`,
          { tables: unknown },
        );
      }
      return removeOrphanFiles(await target(input), input.tables ?? gold, {
        dryRun: input.dryRun,
        ...(input.olderThanHours === undefined ? {} : { minAgeMs: input.olderThanHours * 3_600_000 }),
      });
    },
    async snapshots(input: IcebergTarget & { table: string }) {
      const opened = await target(input);
      return tableHistory(opened.catalog, opened.namespace, input.table);
    },
    async scan(
      input: IcebergTarget & {
        table: string;
        snapshotId?: string | undefined;
        offset: number;
        limit: number;
      },
    ) {
      const opened = await target(input);
      // Rows come from DuckDB's JSON form (jsonRows): JSON-safe as the contract needs.
      return (await scanSnapshot(engine.reader, opened.catalog, opened.namespace, input.table, {
        ...(input.snapshotId ? { snapshotId: input.snapshotId } : {}),
        offset: input.offset,
        limit: input.limit,
      })) as IcebergScan;
    },
    async diff(input: IcebergTarget & { table: string; from: string; to: string; limit: number }) {
      const opened = await target(input);
      return (await diffSnapshots(
        engine.reader,
        opened.catalog,
        opened.namespace,
        input.table,
        input,
      )) as IcebergDiff;
    },
  };
}
