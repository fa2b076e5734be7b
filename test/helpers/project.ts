import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb } from '../../engine/db/duckdb.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { generateSample } from '../../engine/generate/generate.ts';
import { initProject } from '../../engine/project/init.ts';

export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The reference data shared beside the project (absent on a plain clone: tests that need it skip). */
export const SHARED_DATA = resolve(PROJECT_ROOT, '..', 'shared', 'data');
export const REAL_SOURCE = join(SHARED_DATA, 'customer_search_log_data');
export const HAS_SHARED_DATA = existsSync(join(REAL_SOURCE, '20220601'));
export const SHARED_SKIP_REASON = `../shared/data not found at ${SHARED_DATA}: tests on the real sample are skipped`;

export async function tempDir(prefix = 'lakehouse-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Creates the customer-search example project in a temp dir over the given source and catalog. */
export async function exampleProject(source: string, catalog?: string): Promise<string> {
  const dir = await tempDir();
  await initProject({ dir, example: 'customer-search', source, catalog });
  return dir;
}

/**
 * A copy of project `dir` (its lake a local folder) in a new temp dir, for a test to change a project built
 * once. It stands alone: the lake's paths are relative to the project and the engine recreates its views
 * when it opens. An S3 lake is not copied: both copies would write to it.
 */
export async function copyProject(dir: string): Promise<string> {
  const copy = await tempDir();
  await cp(dir, copy, { recursive: true });
  return copy;
}

export async function withEngine<T>(
  dir: string,
  fn: (engine: Engine) => Promise<T>,
  readOnly = false,
): Promise<T> {
  const engine = await createEngine({ projectDir: dir, readOnly });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

/**
 * The customer-search example over a freshly generated sample (starting 2022-06-01), in `work`.
 * Returns the project directory and the generated dates.
 */
export async function generatedProject(
  work: string,
  days: number,
  rowsPerDay: number,
  seed = 3,
): Promise<{ dir: string; dates: string[] }> {
  const db = await openDb();
  let summary: Awaited<ReturnType<typeof generateSample>>;
  try {
    summary = await generateSample(db, { outDir: join(work, 'data'), days, rowsPerDay, seed });
  } finally {
    db.close();
  }
  const dir = join(work, 'project');
  await initProject({
    dir,
    example: 'customer-search',
    source: join(work, 'data', 'customer_search_log_data'),
    catalog: summary.catalogPath,
  });
  return { dir, dates: summary.days.map((d) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}`) };
}

/**
 * A project whose one source is a reference file (prices.csv, a row per `prices` entry) and whose one
 * model copies it: no daily source, so no day folders to take dates from.
 */
export async function noDailySourceProject(dir: string, prices = ['a,1', 'b,2']): Promise<void> {
  await writeFile(join(dir, 'prices.csv'), `sku,price\n${prices.join('\n')}\n`);
  await writeFile(
    join(dir, 'lakehouse.yaml'),
    'name: prices\nsources:\n  prices: {kind: file, path: prices.csv}\n',
  );
  await mkdir(join(dir, 'models', 'gold'), { recursive: true });
  await writeFile(
    join(dir, 'models', 'gold', 'prices.sql'),
    '/* config\nmaterialized: table\n*/\nSELECT * FROM source.prices\n',
  );
}

/**
 * dim_platform's text with device_type renamed device_kind (columns, tests, unknown member), merging only
 * the platforms not starting with 'a': the others keep NULL in the new column, which not_null finds.
 */
export function renameDeviceTypeForSomePlatforms(text: string): string {
  return text
    .replaceAll('device_type:', 'device_kind:')
    .replace('not_null: device_type', 'not_null: device_kind')
    .replace('column: device_type', 'column: device_kind')
    .replace('AS device_type', 'AS device_kind')
    .replace('platform IS NOT NULL', "platform IS NOT NULL AND platform NOT LIKE 'a%'");
}
