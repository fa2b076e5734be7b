import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LakehouseError } from '../../api/errors.ts';
import { type Db, ident, literal, qualified } from '../../db/duckdb.ts';
import { GOLD_SCHEMA } from '../gold-tables.ts';
import type { Dialect } from './dialect.ts';
import type { PlanStep } from './plan.ts';
import { exportExpression } from './types.ts';

// Two load paths behind one interface. Both export a gold table from DuckDB in the target's column order;
// the direct path streams CSV into COPY FROM STDIN, the Redshift fast path stages Parquet on S3 for
// COPY ... FORMAT AS PARQUET (which matches columns by position).

export type LoadStep = Extract<PlanStep, { kind: 'load' }>;

const run = promisify(execFile);

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
      dir ??= await mkdtemp(join(tmpdir(), 'lakehouse-publish-'));
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
      const written = db.run(
        `COPY (${exportQuery(step)}) TO ${literal(file)} (FORMAT csv, HEADER false, NULLSTR '\\N', USE_TMP_FILE false)`,
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
      dir ??= await mkdtemp(join(tmpdir(), 'lakehouse-publish-'));
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
