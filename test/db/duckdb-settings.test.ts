import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// Every database the engine opens: DuckDB must not fetch or load an extension because a query named a
// path or function that needs one; what the engine uses (parquet, json, icu) is built in.

let work: string;
let db: Db;

beforeAll(async () => {
  work = await tempDir('lakehouse-duckdb-settings-');
  db = await openDb(join(work, 'settings.duckdb'));
});

afterAll(async () => {
  db?.close();
  await removeDir(work);
});

const setting = (on: Db, name: string) =>
  on.scalar<string>('SELECT value FROM duckdb_settings() WHERE name = $name', { name });

describe('a database opened by the engine', () => {
  it('neither installs nor autoloads extensions, on every connection', async () => {
    const reader = await db.fork();
    try {
      for (const on of [db, reader]) {
        expect(await setting(on, 'autoinstall_known_extensions')).toBe('false');
        expect(await setting(on, 'autoload_known_extensions')).toBe('false');
      }
    } finally {
      reader.close();
    }
  });

  it('refuses an https:// read at once instead of downloading httpfs', async () => {
    const started = Date.now();
    await expect(db.run("SELECT * FROM read_csv('https://example.invalid/titles.csv')")).rejects.toThrow(
      /Missing Extension Error: File https:\/\/example\.invalid\/titles\.csv requires the extension httpfs/,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('still reads and writes Parquet and JSON and knows time zones (built in)', async () => {
    const file = join(work, 'rows.parquet');
    await db.run(`COPY (SELECT 1 AS id, '{"a": 2}' AS doc) TO '${file}' (FORMAT parquet)`);
    const rows = await db.all<{ id: number; a: string; paris: string }>(
      `SELECT id, json_extract_string(doc, '$.a') AS a,
              (TIMESTAMPTZ '2024-06-01 12:00:00+00' AT TIME ZONE 'Europe/Paris')::VARCHAR AS paris
       FROM read_parquet('${file}')`,
    );
    expect(rows).toEqual([{ id: 1, a: '2', paris: '2024-06-01 14:00:00' }]);
  });

  it('keeps the settings read-only too', async () => {
    db.close();
    const readOnly = await openDb(join(work, 'settings.duckdb'), { readOnly: true });
    try {
      expect(await setting(readOnly, 'autoinstall_known_extensions')).toBe('false');
      expect(await setting(readOnly, 'autoload_known_extensions')).toBe('false');
    } finally {
      readOnly.close();
    }
    db = await openDb(join(work, 'settings.duckdb'));
  });
});
