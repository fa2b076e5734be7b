// Generated datasets and example projects shared by the benchmarks: each dataset is generated once into
// `<data>/<name>-<days>x<rowsPerDay>` (seed 7) and reused by later runs and by other benchmarks.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openDb } from '../engine/db/duckdb.ts';
import { generateSample } from '../engine/generate/generate.ts';
import { initProject } from '../engine/project/init.ts';

/** `1M`, `200K`: the name a dataset of `events` rows goes by. */
export function sizeName(events: number): string {
  return events >= 1_000_000 ? `${events / 1_000_000}M` : `${events / 1000}K`;
}

/**
 * The dataset's folder, generated first if absent. `onGenerated` hears how long generation took (it is
 * not called when the dataset was already there).
 */
export async function benchDataset(
  dataRoot: string,
  name: string,
  days: number,
  rowsPerDay: number,
  onGenerated?: (ms: number) => void,
): Promise<string> {
  const dir = join(dataRoot, `${name}-${days}x${rowsPerDay}`);
  if (!existsSync(join(dir, 'title_catalog.csv'))) {
    await rm(dir, { recursive: true, force: true });
    const db = await openDb();
    const started = performance.now();
    await generateSample(db, { outDir: dir, days, rowsPerDay, seed: 7 });
    db.close();
    onGenerated?.(performance.now() - started);
  }
  return dir;
}

/** A fresh customer-search project at `<dataRoot>/projects/<name>` reading the dataset in `data`. */
export async function freshExampleProject(dataRoot: string, name: string, data: string): Promise<string> {
  const dir = join(dataRoot, 'projects', name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dataRoot, 'projects'), { recursive: true });
  await initProject({
    dir,
    example: 'customer-search',
    source: join(data, 'customer_search_log_data'),
    catalog: join(data, 'title_catalog.csv'),
  });
  return dir;
}
