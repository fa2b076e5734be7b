import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';
import { type Db, ident, openDb, qualified } from '../../../engine/db/duckdb.ts';
import type { Materialization } from '../../../engine/project/models.ts';
import { duckdbFingerprint, type GoldTable } from '../../../engine/publish/gold-tables.ts';
import { createFileSystemCatalog } from '../../../engine/publish/iceberg/catalogs/fs-catalog.ts';
import { createLocalFileIO } from '../../../engine/publish/iceberg/file-io.ts';
import type { SyncContext } from '../../../engine/publish/iceberg/sync.ts';
import { serveOnLoopback } from '../../helpers/loopback.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';

/** Serves a folder read-only over loopback HTTP (with Range support, which hyparquet uses). */
export async function serveFolder(root: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    if (!path.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const info = await stat(path);
      const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
      if (range) {
        const start = Number(range[1]);
        const end = range[2] ? Number(range[2]) : info.size - 1;
        res.writeHead(206, {
          'content-length': end - start + 1,
          'content-range': `bytes ${start}-${end}/${info.size}`,
        });
        if (req.method === 'HEAD') res.end();
        else createReadStream(path, { start, end }).pipe(res);
        return;
      }
      res.writeHead(200, { 'content-length': info.size });
      if (req.method === 'HEAD') res.end();
      else createReadStream(path).pipe(res);
    } catch {
      res.writeHead(404).end();
    }
  });
  const { endpoint, close } = await serveOnLoopback(server);
  return { url: endpoint, close };
}

/** Describes a table in schema `gold` of `db` the way gold-tables.ts does, for tests without a project. */
export async function describeTestTable(
  db: Db,
  name: string,
  options: { materialized: Materialization; primaryKey?: string[]; dateKey?: string },
): Promise<GoldTable> {
  const columns = await db.all<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'gold' AND table_name = $name ORDER BY column_index`,
    { name },
  );
  const names = columns.map((c) => c.column_name);
  const primaryKey = options.primaryKey ?? names;
  const { rowCount, keyChecksum, nullKeyRows } = await duckdbFingerprint(
    db,
    qualified('gold', name),
    primaryKey,
  );
  return {
    name,
    modelId: `gold.${name}`,
    materialized: options.materialized,
    role: options.dateKey ? 'fact' : 'dimension',
    uniqueKey: options.primaryKey ?? [],
    surrogateKey: null,
    primaryKey,
    keySource: options.primaryKey ? 'unique_key' : 'all_columns',
    dateKey: options.dateKey ?? null,
    relationships: [],
    columns: columns.map((c) => ({
      name: c.column_name,
      duckdbType: c.data_type,
      nullable: true,
      maxBytes: null,
    })),
    rowCount,
    keyChecksum,
    nullKeyRows: options.primaryKey ? nullKeyRows : 0,
  };
}

/** Rows of a gold table as JSON-safe objects, ordered by the given columns. */
export async function goldRows(db: Db, name: string, orderBy: string[]): Promise<Record<string, unknown>[]> {
  return db.allJson(`SELECT * FROM ${qualified('gold', name)} ORDER BY ${orderBy.map(ident).join(', ')}`);
}

/** A DuckDB with a `gold` schema publishing to a file-system warehouse in a temp folder, served over HTTP for icebird. */
export interface TestWarehouse {
  db: Db;
  ctx: SyncContext;
  /** Where icebird reads the warehouse: `${url}/gold/<table>`. */
  url: string;
  close(): Promise<void>;
}

export async function openTestWarehouse(prefix: string): Promise<TestWarehouse> {
  const work = await tempDir(prefix);
  const server = await serveFolder(join(work, 'warehouse'));
  const db = await openDb();
  await db.run('CREATE SCHEMA gold');
  const io = createLocalFileIO(join(work, 'warehouse'), server.url);
  const ctx: SyncContext = {
    db,
    catalog: createFileSystemCatalog(io, 'test warehouse'),
    namespace: 'gold',
    stateDir: join(work, 'state'),
  };
  return {
    db,
    ctx,
    url: server.url,
    async close() {
      db.close();
      await server.close();
      await removeDir(work);
    },
  };
}
