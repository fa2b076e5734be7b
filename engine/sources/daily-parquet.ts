import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LakehouseError } from '../api/errors.ts';
import { type Db, ident, literal } from '../db/duckdb.ts';
import type { DailyParquetSource } from '../project/config.ts';

export interface BoundSource {
  name: string;
  files: string[];
  /** Problems that did not stop the load (extra columns), shown in the run history. */
  warnings: string[];
}

/** The folder name of a date under a daily source, from its strftime-style `date_format`. */
export function dayFolder(format: string, etlDate: string): string {
  const [y = '', m = '', d = ''] = etlDate.split('-');
  return format.replaceAll('%Y', y).replaceAll('%m', m).replaceAll('%d', d);
}

/** Lists the days a daily source has, as YYYY-MM-DD, by parsing folder names with its date_format. */
export async function listSourceDates(root: string, format: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    throw new LakehouseError(
      'SOURCE_MISSING',
      `Source folder ${root} does not exist. Check the source path in lakehouse.yaml.`,
      {
        path: root,
      },
    );
  }
  const pattern = new RegExp(
    `^${format.replace('%Y', '(?<y>\\d{4})').replace('%m', '(?<m>\\d{2})').replace('%d', '(?<d>\\d{2})')}$`,
  );
  return entries
    .map((e) => pattern.exec(e)?.groups)
    .filter((g): g is Record<string, string> => Boolean(g))
    .map((g) => `${g.y}-${g.m}-${g.d}`)
    .sort();
}

/**
 * Checks one day of a daily source and exposes it as the view `source.<name>` (the declared columns,
 * cast to nothing, plus `_source_file`). Every problem names the file and what to do about it.
 */
export async function bindDailyParquet(
  db: Db,
  name: string,
  source: DailyParquetSource,
  root: string,
  etlDate: string,
): Promise<BoundSource> {
  const folder = join(root, dayFolder(source.date_format, etlDate));
  let entries: string[];
  try {
    entries = (await readdir(folder)).filter((f) => f.endsWith('.parquet')).sort();
  } catch {
    const available = await listSourceDates(root, source.date_format).catch(() => []);
    throw new LakehouseError(
      'SOURCE_MISSING',
      `Source "${name}" has no folder for ${etlDate}: ${folder} does not exist. ` +
        (available.length
          ? `Days available: ${available[0]} .. ${available[available.length - 1]} (${available.length}). Run one of those dates.`
          : `No day folders at all under ${root}: check sources.${name}.path in lakehouse.yaml.`),
      { source: name, path: folder, etlDate },
    );
  }
  if (entries.length === 0) {
    throw new LakehouseError(
      'SOURCE_MISSING',
      `Source "${name}": ${folder} holds no .parquet files for ${etlDate}.`,
      {
        source: name,
        path: folder,
      },
    );
  }
  const files = entries.map((f) => join(folder, f));
  const warnings: string[] = [];
  for (const file of files) warnings.push(...(await checkFile(db, name, source, file)));

  const columns = Object.keys(source.columns)
    .map((c) => ident(c))
    .join(', ');
  const list = files.map(literal).join(', ');
  await db.run(
    `CREATE OR REPLACE VIEW source.${ident(name)} AS
       SELECT ${columns}, filename AS _source_file
       FROM read_parquet([${list}], filename = true, union_by_name = true)`,
  );
  return { name, files, warnings };
}

async function checkFile(db: Db, name: string, source: DailyParquetSource, file: string): Promise<string[]> {
  const size = (await stat(file)).size;
  let described: { column_name: string; column_type: string }[];
  try {
    described = await db.all(`DESCRIBE SELECT * FROM read_parquet(${literal(file)})`);
  } catch (error) {
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `Source "${name}": ${file} (${size} bytes) is not a readable Parquet file (${firstLine(error)}). ` +
        'It may be truncated, still being written, or not Parquet at all: re-export it, or move it out of the folder and re-run.',
      { source: name, file },
    );
  }
  const found = new Map(described.map((c) => [c.column_name, c.column_type]));
  const missing = Object.keys(source.columns).filter((c) => !found.has(c));
  if (missing.length > 0) {
    throw new LakehouseError(
      'SOURCE_SCHEMA_MISMATCH',
      `Source "${name}": ${file} lacks column(s) ${missing.join(', ')}. Found: ${[...found.keys()].join(', ')}. ` +
        `Fix the file, or update sources.${name}.columns in lakehouse.yaml if the source really changed.`,
      { source: name, file, missing },
    );
  }
  for (const [column, expected] of Object.entries(source.columns)) {
    const actual = found.get(column);
    if (actual && actual.toUpperCase() !== expected.toUpperCase()) {
      throw new LakehouseError(
        'SOURCE_SCHEMA_MISMATCH',
        `Source "${name}": ${file} column ${column} is ${actual}, expected ${expected}. ` +
          `Loading it would change values (e.g. lose leading zeros); fix the producer, or set sources.${name}.columns.${column} to ${actual} and adapt the models.`,
        { source: name, file, column, expected, actual },
      );
    }
  }
  const extra = [...found.keys()].filter((c) => !(c in source.columns));
  // Reading every string catches invalid UTF-8 now, with the file and column named, not mid-run.
  const stringColumns = Object.entries(source.columns)
    .filter(([, t]) => t.toUpperCase().startsWith('VARCHAR'))
    .map(([c]) => c);
  try {
    await db.run(
      `SELECT ${stringColumns.map((c) => `max(length(${ident(c)}::VARCHAR))`).join(', ') || '1'} FROM read_parquet(${literal(file)})`,
    );
  } catch (error) {
    const column = await findBadColumn(db, file, stringColumns);
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `Source "${name}": ${file}${column ? ` column ${column}` : ''} cannot be read: ${firstLine(error)}. ` +
        'Re-export the file with valid UTF-8 text, or move it out of the folder and re-run.',
      { source: name, file, column },
    );
  }
  return extra.length > 0
    ? [
        `${file}: extra column(s) ${extra.join(', ')} not declared in sources.${name}.columns; not loaded into bronze`,
      ]
    : [];
}

async function findBadColumn(db: Db, file: string, columns: string[]): Promise<string | undefined> {
  for (const column of columns) {
    try {
      await db.run(`SELECT max(length(${ident(column)}::VARCHAR)) FROM read_parquet(${literal(file)})`);
    } catch {
      return column;
    }
  }
  return undefined;
}

export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
