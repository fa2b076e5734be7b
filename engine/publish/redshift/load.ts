import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LakehouseError } from '../../api/errors.ts';
import { type Db, ident, literal, qualified } from '../../db/duckdb.ts';
import { GOLD_SCHEMA } from '../gold-tables.ts';
import { processAlive } from '../process-alive.ts';
import type { Dialect } from './dialect.ts';
import type { PlanStep } from './plan.ts';
import { exportExpression } from './types.ts';

// Two load paths behind one interface. Both export a gold table from DuckDB in the target's column order;
// the direct path streams CSV into COPY FROM STDIN, the Redshift fast path stages Parquet on S3 for
// COPY ... FORMAT AS PARQUET (which matches columns by position).

export type LoadStep = Extract<PlanStep, { kind: 'load' }>;

const run = promisify(execFile);

const PUBLISH_DIR_PREFIX = 'lakehouse-publish-';
const DAY_MS = 24 * 60 * 60 * 1000;

/** A publish's scratch folder, named with this process's pid so a later publish can tell it is still in use. */
function makePublishDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), `${PUBLISH_DIR_PREFIX}${process.pid}-`));
}

/**
 * Removes the scratch folders of publishes whose process died without cleaning up (kill -9, a crash):
 * their named pipes would stay in the temp folder forever. A folder is removed only when the pid in its
 * name is no longer running, never for its age, so a publish running at the same time in another process
 * (or in this one) keeps its folder however long it takes; a reused pid only delays the removal. Folders
 * from before names held a pid are removed once untouched for a day. Failures (another user's folder) are
 * ignored: this is housekeeping, not the publish.
 */
export async function removeLeftoverPublishDirs(now = Date.now()): Promise<string[]> {
  const root = tmpdir();
  const names = await readdir(root).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(PUBLISH_DIR_PREFIX)) continue;
    const withPid = /^lakehouse-publish-(\d+)-[^-]+$/.exec(name);
    const path = join(root, name);
    let stale: boolean;
    if (withPid) {
      stale = !processAlive(Number(withPid[1]));
    } else if (/^lakehouse-publish-[^-]{6}$/.test(name)) {
      const info = await stat(path).catch(() => undefined);
      stale = info?.isDirectory() === true && now - info.mtimeMs > DAY_MS;
    } else {
      stale = false;
    }
    if (!stale) continue;
    const gone = await rm(path, { recursive: true, force: true }).then(
      () => true,
      () => false,
    );
    if (gone) removed.push(path);
  }
  return removed;
}

/**
 * What the target runs for one load: SQL (COPY from S3), or a COPY FROM STDIN fed from a local file. When
 * `written` is set, the file is a named pipe DuckDB is writing into while the target reads it.
 */
export type PreparedLoad =
  | { kind: 'sql'; sql: string; rows: number }
  | { kind: 'stdin'; sql: string; file: string; rows: number; written?: Promise<void> };

export interface LoadPath {
  readonly kind: 'copy-stdin' | 's3-parquet';
  prepare(step: LoadStep, dialect: Dialect): Promise<PreparedLoad>;
  /** Removes local temp files and staged objects. */
  cleanup(): Promise<void>;
}

function exportQuery(step: LoadStep): string {
  const expressions = step.columns.map((target) => {
    const column = step.table.columns.find((c) => c.name === target.name);
    if (!column) throw new LakehouseError('INTERNAL', `gold.${step.table.name} has no column ${target.name}`);
    return exportExpression(column);
  });
  const from = `SELECT ${expressions.join(', ')} FROM ${qualified(GOLD_SCHEMA, step.table.name)}`;
  if (!step.only) return from;
  const column = ident(step.only.column);
  const values = step.only.values.filter((v) => v !== '');
  const conditions = [
    ...(values.length > 0 ? [`CAST(${column} AS VARCHAR) IN (${values.map(literal).join(', ')})`] : []),
    ...(values.length < step.only.values.length ? [`${column} IS NULL`] : []),
  ];
  return `${from} WHERE ${conditions.join(' OR ')}`;
}

/**
 * The direct path: DuckDB writes CSV (NULL as \N) into a named pipe that COPY FROM STDIN reads as it is
 * written, so exporting and loading overlap; where named pipes do not exist (Windows), a temp file.
 */
export function copyStdinLoadPath(db: Db): LoadPath {
  let dir: string | undefined;
  let counter = 0;
  return {
    kind: 'copy-stdin',
    async prepare(step, dialect) {
      dir ??= await makePublishDir();
      const file = join(dir, `${step.table.name}-${counter++}.csv`);
      const sql = dialect.copyFromStdin(
        step.into,
        step.columns.map((c) => c.name),
      );
      const piped = await run('mkfifo', [file]).then(
        () => true,
        () => false,
      );
      // USE_TMP_FILE false: DuckDB must write into the pipe itself, not into a file it renames over it.
      // FORCE_QUOTE *: an unquoted line `\.` ends COPY FROM STDIN's data; quoted, every value is data
      // (NULL stays a bare \N, and '' stays distinct from it).
      const written = db.run(
        `COPY (${exportQuery(step)}) TO ${literal(file)} (FORMAT csv, HEADER false, NULLSTR '\\N', FORCE_QUOTE *, USE_TMP_FILE false)`,
      );
      if (!piped) {
        await written;
        return { kind: 'stdin', sql, file, rows: step.rows };
      }
      // The consumer awaits it; until then a rejection must not count as unhandled.
      written.catch(() => undefined);
      return { kind: 'stdin', sql, file, rows: step.rows, written };
    },
    async cleanup() {
      if (dir) await rm(dir, { recursive: true, force: true });
      dir = undefined;
    },
  };
}

export interface S3StagingLocation {
  client: S3Client;
  /** `s3://bucket/prefix/`; each publish writes under `<prefix>/<runId>/<table>/`. */
  uri: string;
  iamRole: string;
  region?: string;
  runId: string;
}

export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match?.[1]) throw new LakehouseError('INVALID_ARGUMENT', `${uri} is not an s3://bucket/prefix URI`);
  const prefix = (match[2] ?? '').replace(/\/+$/, '');
  return { bucket: match[1], prefix: prefix ? `${prefix}/` : '' };
}

/** The Redshift fast path: Parquet from DuckDB, uploaded to S3, loaded by COPY ... IAM_ROLE ... FORMAT AS PARQUET. */
export function s3ParquetLoadPath(db: Db, staging: S3StagingLocation): LoadPath {
  const { bucket, prefix } = parseS3Uri(staging.uri);
  const uploaded: string[] = [];
  let dir: string | undefined;
  let counter = 0;
  return {
    kind: 's3-parquet',
    async prepare(step, dialect) {
      dir ??= await makePublishDir();
      const n = counter++;
      const file = join(dir, `${step.table.name}-${n}.parquet`);
      await db.run(`COPY (${exportQuery(step)}) TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`);
      const folder = `${prefix}${staging.runId}/${step.table.name}-${n}/`;
      const key = `${folder}part-0.parquet`;
      try {
        await staging.client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: await readFile(file),
            ContentType: 'application/vnd.apache.parquet',
          }),
        );
      } catch (error) {
        throw new LakehouseError(
          'PUBLISH_FAILED',
          `Staging gold.${step.table.name} to s3://${bucket}/${key} failed: ${(error as Error).message}. Check the staging location and your AWS credentials.`,
          { table: step.table.name, uri: `s3://${bucket}/${key}` },
        );
      }
      uploaded.push(key);
      await rm(file, { force: true });
      return {
        kind: 'sql',
        sql: dialect.copyFromS3(step.into, {
          uri: `s3://${bucket}/${folder}`,
          iamRole: staging.iamRole,
          region: staging.region,
        }),
        rows: step.rows,
      };
    },
    async cleanup() {
      if (dir) await rm(dir, { recursive: true, force: true });
      dir = undefined;
      if (uploaded.length > 0) {
        const keys = uploaded.splice(0);
        await staging.client
          .send(
            new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
          )
          .catch(() => undefined);
      }
    },
  };
}
