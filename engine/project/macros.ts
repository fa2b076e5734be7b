import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LakehouseError } from '../api/errors.ts';
import type { Db } from '../db/duckdb.ts';
import { SLUG_SQL_MACRO } from '../normalize/slug.ts';

/** The engine's own slug macro (see loadMacros). */
export const ENGINE_SLUGIFY = '__lakehouse_slugify';

/**
 * Registers the engine's built-in macros (slugify) and then every `macros/*.sql` file of the project,
 * in name order. Project macros are plain DuckDB `CREATE MACRO` statements shared by all models.
 */
export async function loadMacros(db: Db, projectRoot: string): Promise<string[]> {
  // Temp macros: nothing is written to the warehouse, so a read-only open works too.
  await db.run(SLUG_SQL_MACRO.replace(/CREATE (OR REPLACE )?MACRO/i, 'CREATE OR REPLACE TEMP MACRO'));
  // The same macro under a name projects do not override: the keyword cache compares these slugs with
  // the matcher's, so a project's own `slugify` must not change them.
  await db.run(
    SLUG_SQL_MACRO.replace(
      /CREATE (OR REPLACE )?MACRO slugify/i,
      `CREATE OR REPLACE TEMP MACRO ${ENGINE_SLUGIFY}`,
    ),
  );
  const dir = join(projectRoot, 'macros');
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  } catch {
    return [];
  }
  for (const name of files) {
    const file = join(dir, name);
    const text = await readFile(file, 'utf8');
    try {
      await db.run(text);
    } catch (error) {
      throw new LakehouseError(
        'MODEL_SQL_ERROR',
        `${relative(projectRoot, file)}: ${(error as Error).message.split('\n')[0]}`,
        {
          file: relative(projectRoot, file),
        },
      );
    }
  }
  return files;
}
