import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { QueryExport, QueryExportInput } from '../api/contract.ts';
import { LakehouseError, toLakehouseError } from '../api/errors.ts';
import { type Db, literal } from '../db/duckdb.ts';

/** Largest file sent back to a browser as a download; bigger results need a path to write to. */
const MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024;

const NOT_A_QUERY =
  'Export takes one read-only query (SELECT, WITH, FROM, VALUES); the warehouse changes through runs only.';

/**
 * Writes the whole result of one read-only query with DuckDB's COPY: CSV with a header and RFC 4180
 * quoting (fields with commas, quotes or newlines are quoted, quotes doubled), or Parquet. With `path` the
 * file goes there (never over an existing file); without, it comes back in `content` for a download.
 */
export async function exportQuery(db: Db, input: QueryExportInput): Promise<QueryExport> {
  const sql = input.sql.replace(/[\s;]+$/, '');
  await checkOneQuery(db, sql);
  const extension = input.format === 'csv' ? 'csv' : 'parquet';
  let target: string;
  let scratch: string | null = null;
  if (input.path) {
    if (!isAbsolute(input.path)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `Export path ${input.path} is not absolute: give the full path.`,
        {
          path: input.path,
        },
      );
    }
    const parent = await stat(dirname(input.path)).catch(() => null);
    if (!parent?.isDirectory()) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `Cannot export to ${input.path}: its folder does not exist.`,
        {
          path: input.path,
        },
      );
    }
    if (await stat(input.path).catch(() => null)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `${input.path} already exists; choose another file name or delete it first.`,
        { path: input.path },
      );
    }
    target = input.path;
  } else {
    scratch = await mkdtemp(join(tmpdir(), 'lakehouse-export-'));
    target = join(scratch, `query.${extension}`);
  }
  const options = input.format === 'csv' ? `(FORMAT csv, HEADER true)` : `(FORMAT parquet, COMPRESSION zstd)`;
  try {
    let rows: number;
    try {
      const [copied] = await db.all<{ Count?: number; count?: number }>(
        `COPY (${sql}\n) TO ${literal(target)} ${options}`,
      );
      rows = Number(copied?.Count ?? copied?.count ?? 0);
    } catch (error) {
      const failure = toLakehouseError(error, 'QUERY_ERROR');
      throw new LakehouseError(failure.code, failure.message, { sql: input.sql, path: input.path ?? null });
    }
    const bytes = (await stat(target)).size;
    const fileName = input.path ? basename(input.path) : `query-${timestamp()}.${extension}`;
    if (!scratch) return { format: input.format, rows, bytes, path: target, fileName, content: null };
    if (bytes > MAX_DOWNLOAD_BYTES) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `The export is ${Math.round(bytes / 1048576)} MB, too big to download; export to a path instead (lakehouse query --json or query.export with path).`,
        { bytes, limit: MAX_DOWNLOAD_BYTES },
      );
    }
    return {
      format: input.format,
      rows,
      bytes,
      path: null,
      fileName,
      content: new Uint8Array(await readFile(target)),
    };
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * DuckDB's own parser says, without running anything, whether the text is exactly one query; if not,
 * QUERY_ERROR with the parser's error (and its character position) or `notAQuery`.
 */
export async function checkOneQuery(db: Db, sql: string, notAQuery = NOT_A_QUERY): Promise<void> {
  const tree = JSON.parse(
    String((await db.scalar(`SELECT json_serialize_sql(${literal(sql)})`)) ?? '{}'),
  ) as {
    error?: boolean;
    error_type?: string;
    error_message?: string;
    position?: string;
    statements?: unknown[];
  };
  if (tree.error) {
    const parserError = tree.error_type === 'parser';
    throw new LakehouseError(
      'QUERY_ERROR',
      parserError ? `Parser Error: ${tree.error_message}` : notAQuery,
      parserError
        ? { sql, reason: 'syntax', position: tree.position === undefined ? null : Number(tree.position) }
        : { sql, reason: 'not-a-query' },
    );
  }
  if ((tree.statements?.length ?? 0) !== 1) {
    throw new LakehouseError(
      'QUERY_ERROR',
      `${notAQuery} This text holds ${tree.statements?.length ?? 0} statements.`,
      {
        sql,
        reason: 'several-statements',
      },
    );
  }
}

function timestamp(): string {
  return new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
}
