import { join } from 'node:path';
import { openDb } from '../../engine/db/duckdb.ts';
import { generateSample } from '../../engine/generate/generate.ts';
import { initProject } from '../../engine/project/init.ts';

/**
 * The customer-search example over a freshly generated sample (starting 2022-06-01), in `work`.
 * Returns the project directory and the generated dates.
 */
export async function generatedProject(
  work: string,
  days: number,
  rowsPerDay: number,
): Promise<{ dir: string; dates: string[] }> {
  const db = await openDb();
  let summary: Awaited<ReturnType<typeof generateSample>>;
  try {
    summary = await generateSample(db, { outDir: join(work, 'data'), days, rowsPerDay, seed: 3 });
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
