import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LakehouseError } from '../api/errors.ts';

/** A daily source: one folder per day under `path`, named by `date_format` (e.g. 20220601), holding Parquet files. */
export const DailyParquetSource = z.object({
  kind: z.literal('daily_parquet'),
  path: z.string(),
  date_format: z.string().default('%Y%m%d'),
  /** Expected columns and DuckDB types; files are checked against them before anything is loaded. */
  columns: z.record(z.string(), z.string()),
});
export type DailyParquetSource = z.infer<typeof DailyParquetSource>;

/** A reference table from one CSV, Parquet or JSON file, loaded whole (e.g. the title catalog). */
export const ReferenceFileSource = z.object({
  kind: z.literal('file'),
  path: z.string(),
  format: z.enum(['csv', 'parquet', 'json']).optional(),
  /** Columns that must be present. */
  required_columns: z.array(z.string()).default([]),
});
export type ReferenceFileSource = z.infer<typeof ReferenceFileSource>;

export const SourceConfig = z.discriminatedUnion('kind', [DailyParquetSource, ReferenceFileSource]);
export type SourceConfig = z.infer<typeof SourceConfig>;

export const ProjectConfig = z.object({
  name: z.string().min(1),
  /** Where bronze and silver Parquet partitions live. */
  lake: z.string().default('lake'),
  /** The DuckDB file holding gold tables, partition pointers and run history. */
  warehouse: z.string().default('warehouse.duckdb'),
  sources: z.record(z.string(), SourceConfig),
  /** Values models read with getvariable('name'); etl_date is set by the runner. */
  vars: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  /**
   * Named publish targets: `redshift: {name: {...}}` and `iceberg: {name: {...}}`. Each publisher validates its
   * own entries (engine/publish/*), so this file stays free of their settings.
   */
  publish: z
    .object({
      redshift: z.record(z.string(), z.unknown()).default({}),
      iceberg: z.record(z.string(), z.unknown()).default({}),
    })
    .default({ redshift: {}, iceberg: {} }),
  settings: z
    .object({
      memory_limit: z.string().optional(),
      threads: z.number().int().positive().optional(),
    })
    .default({}),
});
export type ProjectConfig = z.infer<typeof ProjectConfig>;

export interface Project {
  root: string;
  config: ProjectConfig;
  /** Absolute paths, resolved against the project root. */
  lakeRoot: string;
  warehousePath: string;
}

export const PROJECT_FILE = 'lakehouse.yaml';

/** Resolves a path from lakehouse.yaml against the project root (absolute paths and URIs pass through). */
export function resolveProjectPath(root: string, path: string): string {
  if (isAbsolute(path) || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return path;
  return resolve(root, path);
}

/** Loads and validates `<dir>/lakehouse.yaml` (or the file itself if given). */
export async function loadProject(dirOrFile: string): Promise<Project> {
  const file = dirOrFile.endsWith('.yaml') ? dirOrFile : join(dirOrFile, PROJECT_FILE);
  const root = resolve(dirname(file));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new LakehouseError(
      'PROJECT_NOT_FOUND',
      `No project at ${resolve(dirOrFile)}: ${PROJECT_FILE} not found. Create one with \`lakehouse init <dir> --example customer-search\`.`,
      { path: file },
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new LakehouseError('PROJECT_INVALID', `${file} is not valid YAML: ${(error as Error).message}`, {
      path: file,
    });
  }
  const parsed = ProjectConfig.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new LakehouseError('PROJECT_INVALID', `${file} is invalid:\n  ${issues.join('\n  ')}`, {
      path: file,
      issues,
    });
  }
  const config = parsed.data;
  return {
    root,
    config,
    lakeRoot: resolveProjectPath(root, config.lake),
    warehousePath: resolveProjectPath(root, config.warehouse),
  };
}
