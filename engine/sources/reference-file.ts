import { access } from 'node:fs/promises';
import { extname } from 'node:path';
import { LakehouseError } from '../api/errors.ts';
import { type Db, ident, literal } from '../db/duckdb.ts';
import type { ReferenceFileSource } from '../project/config.ts';
import { firstLine } from './daily-parquet.ts';

/** Exposes a CSV, Parquet or JSON file as the view `source.<name>`, after checking its required columns. */
export async function bindReferenceFile(
  db: Db,
  name: string,
  source: ReferenceFileSource,
  path: string,
): Promise<void> {
  try {
    await access(path);
  } catch {
    throw new LakehouseError(
      'SOURCE_MISSING',
      `Source "${name}": file ${path} does not exist. Check sources.${name}.path in lakehouse.yaml.`,
      {
        source: name,
        path,
      },
    );
  }
  const format = source.format ?? formatFromExtension(path);
  const reader =
    format === 'csv'
      ? `read_csv(${literal(path)}, header = true, all_varchar = true)`
      : format === 'parquet'
        ? `read_parquet(${literal(path)})`
        : `read_json_auto(${literal(path)})`;
  let columns: string[];
  try {
    columns = (await db.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${reader}`)).map(
      (c) => c.column_name,
    );
  } catch (error) {
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `Source "${name}": ${path} cannot be read as ${format}: ${firstLine(error)}. Fix the file or set sources.${name}.format.`,
      { source: name, path },
    );
  }
  const missing = source.required_columns.filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    throw new LakehouseError(
      'SOURCE_SCHEMA_MISMATCH',
      `Source "${name}": ${path} lacks required column(s) ${missing.join(', ')} (found ${columns.join(', ')}).`,
      { source: name, path, missing },
    );
  }
  await db.run(`CREATE OR REPLACE VIEW source.${ident(name)} AS SELECT * FROM ${reader}`);
}

function formatFromExtension(path: string): 'csv' | 'parquet' | 'json' {
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet') return 'parquet';
  if (ext === '.json' || ext === '.jsonl' || ext === '.ndjson') return 'json';
  return 'csv';
}
