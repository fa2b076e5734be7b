import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Db, ident, readParquet } from '../../db/duckdb.ts';
import { writeFileAtomically } from '../../storage/atomic-file.ts';
import { duckdbKeyChecksumSql } from '../gold-tables.ts';
import type { Catalog } from './catalog.ts';
import { duckdbTypeOf, type IcebergSchema } from './spec.ts';
import type { LiveEntry } from './table.ts';

/**
 * A SELECT over published data files with the columns of `schema` (columns a file lacks read as NULL).
 * `position` adds where each row comes from: its file (`filename`), or its file and place in it
 * (`filename`, `file_row_number`), an order that stays the same from one read to the next.
 */
export async function publishedSelect(
  db: Db,
  paths: string[],
  schema: IcebergSchema,
  position: 'none' | 'file' | 'row' = 'none',
): Promise<string> {
  const typed = (present: Set<string>) =>
    schema.fields
      .map((f) =>
        present.has(f.name)
          ? `CAST(${ident(f.name)} AS ${duckdbTypeOf(f.type)}) AS ${ident(f.name)}`
          : `CAST(NULL AS ${duckdbTypeOf(f.type)}) AS ${ident(f.name)}`,
      )
      .join(', ');
  const where = { none: '', file: ', filename', row: ', filename, file_row_number' }[position];
  if (paths.length === 0) {
    const none = {
      none: '',
      file: ", '' AS filename",
      row: ", '' AS filename, 0::BIGINT AS file_row_number",
    };
    return `SELECT ${typed(new Set())}${none[position]} WHERE false`;
  }
  const options = { none: '', file: ', filename = true', row: ', filename = true, file_row_number = true' };
  const source = readParquet(paths, `union_by_name = true${options[position]}`);
  const present = new Set(
    (await db.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${source}`)).map((c) => c.column_name),
  );
  return `SELECT ${typed(present)}${where} FROM ${source}`;
}

/** The hash of a whole row, summed per file or partition to compare published and local rows. */
export const rowHashSql = (schema: IcebergSchema) =>
  `hash(${schema.fields.map((f) => ident(f.name)).join(', ')})`;

/**
 * What one published data file holds, as read back from the file itself: its row count, the sum of
 * its row hashes (to compare partitions with local gold) and its key checksum (the reconciliation's).
 * All three are sums over rows, so a partition's or a table's value is the sum over its files.
 */
export interface FileFingerprint {
  rows: number;
  rowHash: string;
  keyChecksum: string;
  /** The size the manifest gave when the file was read: a manifest entry for the same path with
   * another size or row count is read again, never trusted. */
  bytes: string;
}

/**
 * Fingerprints of published files, kept in the state folder beside the warehouse so neither the next
 * comparison nor the reconciliation reads history back. Data files are immutable; an entry is keyed by
 * the schema and key it was computed with, and is only ever made by reading the file.
 */
export interface FingerprintStore {
  /** Fingerprints of `entries`, reading back (and remembering) only the files not read before. */
  of(entries: LiveEntry[]): Promise<Map<string, FileFingerprint>>;
  /** Writes the store, keeping only the files still live in the table. */
  save(live: LiveEntry[]): Promise<void>;
}

export interface FingerprintScope {
  db: Db;
  catalog: Catalog;
  stateDir: string;
  /** The table location: one store per table. */
  location: string;
  schema: IcebergSchema;
  keyColumns: string[];
}

const storeFile = (stateDir: string, location: string) =>
  join(stateDir, 'file-fingerprints', `${createHash('sha1').update(location).digest('hex')}.json`);

/** Sums decimal strings exactly (row-hash sums exceed 2^64). */
export const addDecimal = (a: string, b: string) => (BigInt(a) + BigInt(b)).toString();

export async function openFingerprintStore(scope: FingerprintScope): Promise<FingerprintStore> {
  const file = storeFile(scope.stateDir, scope.location);
  let entries: Record<string, FileFingerprint> = {};
  try {
    entries = JSON.parse(await readFile(file, 'utf8')) as Record<string, FileFingerprint>;
  } catch {
    entries = {};
  }
  const scopeKey = createHash('sha1')
    .update(JSON.stringify([scope.schema.fields, scope.keyColumns]))
    .digest('hex')
    .slice(0, 16);
  const keyOf = (path: string) => `${scopeKey}:${path}`;
  const valid = (e: LiveEntry, fp: FileFingerprint | undefined): fp is FileFingerprint =>
    fp !== undefined &&
    fp.rows === Number(e.file.record_count) &&
    fp.bytes === String(e.file.file_size_in_bytes);

  return {
    async of(live) {
      const result = new Map<string, FileFingerprint>();
      const unread: LiveEntry[] = [];
      for (const e of live) {
        const hit = entries[keyOf(e.file.file_path)];
        if (valid(e, hit)) result.set(e.file.file_path, hit);
        else unread.push(e);
      }
      if (unread.length === 0) return result;
      const byLocalPath = new Map<string, LiveEntry>();
      for (const e of unread) byLocalPath.set(await scope.catalog.io.readablePath(e.file.file_path), e);
      const select = await publishedSelect(scope.db, [...byLocalPath.keys()], scope.schema, 'file');
      const rows = await scope.db.allJson<{ filename: string; n: number; h: string | null; k: string }>(
        `SELECT filename, count(*) AS n, CAST(sum(${rowHashSql(scope.schema)}) AS VARCHAR) AS h,
                CAST(${duckdbKeyChecksumSql(scope.keyColumns)} AS VARCHAR) AS k
         FROM (${select}) GROUP BY filename`,
      );
      for (const r of rows) {
        const e = byLocalPath.get(r.filename);
        if (!e) continue;
        const fp: FileFingerprint = {
          rows: Number(r.n),
          rowHash: r.h ?? '0',
          keyChecksum: r.k,
          bytes: String(e.file.file_size_in_bytes),
        };
        result.set(e.file.file_path, fp);
        // Only a read that agrees with the manifest is remembered; a disagreement shows in the totals.
        if (valid(e, fp)) entries[keyOf(e.file.file_path)] = fp;
      }
      for (const e of unread) {
        if (!result.has(e.file.file_path))
          result.set(e.file.file_path, { rows: 0, rowHash: '0', keyChecksum: '0', bytes: '0' });
      }
      return result;
    },
    async save(live) {
      // Entries of other schemas or keys stay while their files are live (the schema may change back).
      const livePaths = new Set(live.map((e) => e.file.file_path));
      const kept = Object.fromEntries(
        Object.entries(entries).filter(([key]) => livePaths.has(key.slice(key.indexOf(':') + 1))),
      );
      await writeFileAtomically(file, JSON.stringify(kept));
    },
  };
}
