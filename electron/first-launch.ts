import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openDb } from '../engine/db/duckdb.ts';
import { generateSample } from '../engine/generate/generate.ts';
import { PROJECT_FILE } from '../engine/project/config.ts';
import { initProject } from '../engine/project/init.ts';

/** The demo `lakehouse demo` builds: five days of 4,000 searches each, the same seed. */
const DEMO = { days: 5, rowsPerDay: 4000, seed: 42 };

/**
 * Creates the customer-search demo project in `dir` (a generated sample as its source) unless a project
 * is already there. Returns true when it created one: the caller then runs it, in view of the user.
 */
export async function ensureDemoProject(dir: string): Promise<boolean> {
  if (existsSync(join(dir, PROJECT_FILE))) return false;
  const data = join(dir, 'data');
  await mkdir(dir, { recursive: true });
  const db = await openDb();
  try {
    await generateSample(db, { outDir: data, ...DEMO });
  } finally {
    db.close();
  }
  // Like `lakehouse demo`: the example's built-in title catalog.
  await initProject({ dir, example: 'customer-search', source: join(data, 'customer_search_log_data') });
  return true;
}
