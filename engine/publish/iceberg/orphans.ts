import { counted } from '../../api/counted.ts';
import { LakehouseError } from '../../api/errors.ts';
import type { Catalog, CatalogTable } from './catalog.ts';
import type { ListedFile } from './file-io.ts';
import { type ManifestFile, readManifest, readManifestList } from './manifest.ts';

/**
 * Iceberg's own default for remove_orphan_files. Publishes are not locked against each other: a writer's
 * files are unreferenced from the moment it writes them until its commit, which a slow write, a retry
 * or a laptop asleep over a weekend can put days later. Files younger than this are never deleted.
 */
export const DEFAULT_ORPHAN_AGE_MS = 3 * 24 * 3_600_000;

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `1h`, `3d` as milliseconds; anything else is refused with the accepted forms. */
export function parseAge(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (!match) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `--older-than ${text} is not an age: give a number and a unit, e.g. 90s, 30m, 12h or 3d.`,
      { value: text },
    );
  }
  return Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1_000);
}

/** An age in the largest unit that divides it, as parseAge reads it back (`3d`, `90m`). */
export function formatAge(ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    const size = UNITS[unit] ?? 1;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1_000}s`;
}

export interface OrphanFile {
  uri: string;
  size: number;
  modifiedMs: number;
}

export interface TableOrphans {
  table: string;
  /** The folder whose data/ and metadata/ were listed; null when skipped before listing. */
  location: string | null;
  /** Why nothing of this table was looked at (and so nothing deleted), or null. */
  skipped: string | null;
  /** Files under the location that the table's metadata reaches: always kept. */
  referenced: number;
  /** Unreferenced and older than the threshold: deleted, or listed only in a dry run. */
  removed: OrphanFile[];
  /** Unreferenced but newer than the threshold (maybe a publish in progress), or named with a %: kept. */
  kept: OrphanFile[];
}

export interface OrphanReport {
  target: string;
  namespace: string;
  dryRun: boolean;
  /** The threshold: files modified at or after `olderThan` are kept. */
  minAgeMs: number;
  olderThan: string;
  tables: TableOrphans[];
}

/** Runs `fn` over `items`, at most `limit` at a time (manifests on S3 are one GET each). */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Every file the table's current metadata reaches, as FileIO identities: that metadata file and those
 * of its metadata log, the version hint (file-system catalog), statistics files, and for every snapshot
 * its manifest list, manifests and the files their entries name (DELETED ones too: an older snapshot
 * still holds them). Any file that cannot be read fails the whole walk: a partial set would make
 * referenced files look orphaned.
 */
async function reachableFiles(
  catalog: Catalog,
  loaded: CatalogTable,
  location: string,
): Promise<Set<string>> {
  const { io } = catalog;
  const { metadata } = loaded;
  const reachable = new Set<string>();
  const add = (uri: string) => reachable.add(io.identity(uri));
  add(loaded.metadataLocation);
  for (const entry of metadata['metadata-log']) add(entry['metadata-file']);
  if (catalog.kind === 'filesystem') add(`${location}/metadata/version-hint.text`);
  // Puffin statistics other engines attach to snapshots live under metadata/ too.
  const raw = metadata as unknown as Record<string, { 'statistics-path'?: unknown }[] | undefined>;
  for (const stats of [...(raw.statistics ?? []), ...(raw['partition-statistics'] ?? [])]) {
    if (typeof stats['statistics-path'] === 'string') add(stats['statistics-path']);
  }
  const manifests = new Map<string, ManifestFile>();
  const lists = await mapLimit(metadata.snapshots, 8, async (snapshot) => {
    add(snapshot['manifest-list']);
    return readManifestList(io, snapshot['manifest-list']);
  });
  for (const list of lists) for (const m of list) manifests.set(m.manifest_path, m);
  await mapLimit([...manifests.values()], 8, async (manifest) => {
    add(manifest.manifest_path);
    for (const entry of await readManifest(io, manifest)) add(entry.file.file_path);
  });
  return reachable;
}

/** Whether the file `id` lies under the folder `root` (both FileIO identities). */
const isUnder = (id: string, root: string) => id.startsWith(`${root}/`) || id.startsWith(`${root}\\`);

const isTableMetadata = (uri: string) => /(^|\/)(version-hint\.text|[^/]*\.metadata\.json)$/.test(uri);

/**
 * Removes the files under one table's `data/` and `metadata/` folders that nothing reachable from its
 * current metadata references and that were last modified before `olderThan` (ms since the epoch):
 * what a publish killed before its commit leaves. Only the folder the catalog gives the table is
 * listed, and only when the table's metadata names that same folder: a table whose metadata points
 * elsewhere (copied, moved, created by another tool) could share its folder with another table.
 */
export async function removeTableOrphans(
  catalog: Catalog,
  namespace: string,
  table: string,
  options: { olderThan: number; dryRun?: boolean },
): Promise<TableOrphans> {
  const { io } = catalog;
  const result: TableOrphans = { table, location: null, skipped: null, referenced: 0, removed: [], kept: [] };
  const loaded = await catalog.load(namespace, table);
  if (!loaded && catalog.kind !== 'filesystem') {
    // Glue or REST may have dropped the table on purpose, keeping its files to register again.
    result.skipped = `not in the ${catalog.kind === 'glue' ? 'Glue' : 'REST'} catalog: its files are left alone`;
    return result;
  }
  const location = catalog.defaultLocation(namespace, table).replace(/\/+$/, '');
  if (catalog.kind === 'rest' && !/^(s3|file):/.test(location)) {
    result.skipped = 'the REST catalog chooses table locations: use its own maintenance';
    return result;
  }
  const root = io.identity(location);
  if (loaded && io.identity(loaded.metadata.location.replace(/\/+$/, '')) !== root) {
    result.skipped = `its metadata names the location ${loaded.metadata.location}, not ${location}: another table may own files there`;
    return result;
  }
  result.location = location;
  // Listed under the table's folder, so always inside it; checked again since these get deleted.
  const listed: ListedFile[] = [
    ...(await io.list(`${location}/data`)),
    ...(await io.list(`${location}/metadata`)),
  ].filter((f) => isUnder(f.id, root));
  let reachable = new Set<string>();
  if (loaded) reachable = await reachableFiles(catalog, loaded, location);
  else if (listed.some((f) => isTableMetadata(f.uri))) {
    // A metadata file that did not load (a gap in vN, a half-written hint) is not "no table".
    throw new LakehouseError(
      'ICEBERG_INVALID',
      `${location}/metadata holds table metadata but no table ${namespace}.${table} could be loaded from it; orphan files were not removed. Check the metadata files there.`,
      { table, location },
    );
  }
  for (const file of listed) {
    if (reachable.has(file.id)) {
      result.referenced++;
      continue;
    }
    const orphan = { uri: file.uri, size: file.size, modifiedMs: file.modifiedMs };
    // A name holding % (Hive's s=a%20b folders) may be referenced by a URI spelling it decoded or not,
    // depending on the tool that wrote it: never taken for an orphan, since deleting it could break a table.
    if (file.modifiedMs < options.olderThan && !file.id.includes('%')) result.removed.push(orphan);
    else result.kept.push(orphan);
  }
  if (!options.dryRun && result.removed.length > 0) await io.delete(result.removed.map((f) => f.uri));
  return result;
}

/**
 * Orphan-file removal for the named tables of a target, one table after another. `minAgeMs` defaults to
 * DEFAULT_ORPHAN_AGE_MS; a dry run lists what would be removed and deletes nothing.
 */
export async function removeOrphanFiles(
  target: { catalog: Catalog; namespace: string },
  tables: string[],
  options: { minAgeMs?: number; dryRun?: boolean; now?: number } = {},
): Promise<OrphanReport> {
  const minAgeMs = options.minAgeMs ?? DEFAULT_ORPHAN_AGE_MS;
  const olderThan = (options.now ?? Date.now()) - minAgeMs;
  const dryRun = options.dryRun ?? false;
  const results: TableOrphans[] = [];
  for (const table of tables) {
    results.push(await removeTableOrphans(target.catalog, target.namespace, table, { olderThan, dryRun }));
  }
  return {
    target: target.catalog.description,
    namespace: target.namespace,
    dryRun,
    minAgeMs,
    olderThan: new Date(olderThan).toISOString(),
    tables: results,
  };
}

/** The report in words, for the CLI: a line per table, and per file in a dry run. */
export function describeOrphanReport(report: OrphanReport): string {
  const age = formatAge(report.minAgeMs);
  const lines: string[] = [];
  let removed = 0;
  let bytes = 0;
  let kept = 0;
  for (const t of report.tables) {
    if (t.skipped) {
      lines.push(`${t.table}: skipped (${t.skipped})`);
      continue;
    }
    const size = t.removed.reduce((n, f) => n + f.size, 0);
    removed += t.removed.length;
    bytes += size;
    kept += t.kept.length;
    lines.push(
      `${t.table}: ${counted(t.removed.length, 'orphan file')} ${report.dryRun ? 'to remove' : 'removed'} (${size} bytes), ${t.kept.length} younger than ${age} kept, ${t.referenced} referenced`,
    );
    if (report.dryRun) {
      for (const f of t.removed) lines.push(`  would remove ${f.uri}`);
      for (const f of t.kept)
        lines.push(`  would keep   ${f.uri} (modified ${new Date(f.modifiedMs).toISOString()})`);
    }
  }
  const verb = report.dryRun ? 'would be removed; nothing deleted' : 'removed';
  lines.push(
    `Orphan files (referenced by no snapshot, older than ${age}): ${removed} (${bytes} bytes) ${verb}; ${kept} younger kept.`,
  );
  return lines.join('\n');
}
