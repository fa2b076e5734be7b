import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { fromIni } from '@aws-sdk/credential-providers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { literal, openDb } from '../../../engine/db/duckdb.ts';
import { createEngine, type Engine } from '../../../engine/engine.ts';
import {
  describeGoldTables,
  duckdbFingerprint,
  duckdbFingerprintGroups,
} from '../../../engine/publish/gold-tables.ts';
import { createDataApi } from '../../../engine/publish/redshift/data-api.ts';
import { PUBLISH_STATE_TABLE } from '../../../engine/publish/redshift/dialect.ts';
import { foreignKeyName } from '../../../engine/publish/redshift/plan.ts';
import { publishRedshift } from '../../../engine/publish/redshift/publish.ts';
import { targetType } from '../../../engine/publish/redshift/types.ts';
import { lakehouseFailure } from '../../helpers/errors.ts';
import { generatedProject, removeDir, tempDir } from '../../helpers/project.ts';
import { type S3Server, startS3Server } from '../../storage/s3-helpers.ts';
import { type DataApiServer, type StatementOutcome, startDataApiServer } from './data-api-server.ts';

// The Redshift fast path without Redshift: the Data API client against a loopback server speaking the
// service's JSON protocol, and Parquet staged on a real S3-protocol server (s3rver).

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const IAM_ROLE = 'arn:aws:iam::123456789012:role/redshift-copy';

let api: DataApiServer;
let s3: S3Server;
let s3Client: S3Client;
let work: string;
let engine: Engine;
let behaviour: (sql: string) => StatementOutcome | Promise<StatementOutcome>;

function dataClient(): RedshiftDataClient {
  return new RedshiftDataClient({ region: 'eu-west-1', endpoint: api.endpoint, credentials, maxAttempts: 1 });
}

beforeAll(async () => {
  work = await tempDir('lakehouse-dataapi-');
  [api, s3] = await Promise.all([
    startDataApiServer({ run: (sql) => behaviour(sql) }),
    startS3Server(['staging']),
  ]);
  s3Client = new S3Client({
    region: 'eu-west-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const project = await generatedProject(work, 1, 200);
  engine = await createEngine({ projectDir: project.dir });
  await engine.run({ dates: project.dates });
});

afterAll(async () => {
  engine?.close();
  await api?.close();
  await s3?.close();
  await removeDir(work);
});

describe('Redshift Data API client', () => {
  it('submits, polls DescribeStatement through SUBMITTED and STARTED, then reads the result', async () => {
    behaviour = () => ({ columns: ['n', 'name', 'flag', 'missing'], rows: [[42, 'dim_user', true, null]] });
    const dataApi = createDataApi(
      dataClient(),
      { workgroupName: 'analytics', database: 'dev' },
      { pollMs: 5 },
    );
    const before = api.requests.length;
    expect(await dataApi.query('SELECT 1')).toEqual([{ n: 42, name: 'dim_user', flag: true, missing: null }]);
    const operations = api.requests.slice(before).map((r) => r.operation);
    expect(operations).toEqual([
      'ExecuteStatement',
      'DescribeStatement',
      'DescribeStatement',
      'DescribeStatement',
      'GetStatementResult',
    ]);
    expect(api.requests[before]?.body).toMatchObject({
      Sql: 'SELECT 1',
      WorkgroupName: 'analytics',
      Database: 'dev',
    });
  });

  it('reports the failing statement of a batch, which the service rolled back', async () => {
    behaviour = (sql) =>
      sql.startsWith('INSERT') ? { error: 'ERROR: relation "gold.nope" does not exist' } : {};
    const dataApi = createDataApi(
      dataClient(),
      { clusterIdentifier: 'prod', database: 'dev', dbUser: 'loader' },
      { pollMs: 5 },
    );
    const error = await lakehouseFailure(
      dataApi.executeBatch(['BEGIN_WORK', 'INSERT INTO gold.nope VALUES (1)', 'SELECT 1']),
    );
    expect(error.code).toBe('PUBLISH_FAILED');
    expect(error.message).toContain('relation "gold.nope" does not exist');
    expect(error.message).toContain('statement 2 of 3');
    expect(error.details.sql).toBe('INSERT INTO gold.nope VALUES (1)');
    const batch = api.requests.findLast((r) => r.operation === 'BatchExecuteStatement');
    expect(batch?.body).toMatchObject({ ClusterIdentifier: 'prod', DbUser: 'loader', Database: 'dev' });
  });

  it('turns service errors into PUBLISH_FAILED naming the AWS error', async () => {
    behaviour = () => ({});
    // A cluster without DbUser or SecretArn: the service answers ValidationException.
    const dataApi = createDataApi(
      dataClient(),
      { clusterIdentifier: 'prod', database: 'dev' },
      { pollMs: 5 },
    );
    const error = await lakehouseFailure(dataApi.query('SELECT 1'));
    expect(error.code).toBe('PUBLISH_FAILED');
    expect(error.details.awsError).toBe('ValidationException');
    expect(error.message).toContain('DbUser or SecretArn is required');
  });

  it('says where credentials come from when the AWS chain finds none', async () => {
    behaviour = () => ({});
    // A real provider of the chain, for a profile no AWS file holds: what a user without credentials meets.
    const noCredentials = fromIni({
      profile: 'no-such-profile',
      filepath: join(work, 'no-credentials'),
      configFilepath: join(work, 'no-config'),
    });
    const client = new RedshiftDataClient({
      region: 'eu-west-1',
      endpoint: api.endpoint,
      credentials: noCredentials,
      maxAttempts: 1,
    });
    const dataApi = createDataApi(client, { workgroupName: 'analytics', database: 'dev' }, { pollMs: 5 });
    const error = await lakehouseFailure(dataApi.query('SELECT 1'));
    expect(error.code).toBe('PUBLISH_FAILED');
    expect(error.details.awsError).toBe('CredentialsProviderError');
    expect(error.message).toMatch(
      /^Redshift Data API ExecuteStatement on workgroup analytics\/dev failed: CredentialsProviderError: .*no-such-profile\] in [a-z/()]+ file\(s\)\. No AWS credentials were found for the Data API: give the target a profile .* else AWS_PROFILE; .* or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then publish again\.$/,
    );
  });

  it('cancels a running batch (CancelStatement) and reports RUN_CANCELLED', async () => {
    behaviour = () => ({});
    const dataApi = createDataApi(
      dataClient(),
      { workgroupName: 'analytics', database: 'dev' },
      { pollMs: 5 },
    );
    const controller = new AbortController();
    controller.abort();
    const error = await lakehouseFailure(dataApi.executeBatch(['SELECT 1', 'SELECT 2'], controller.signal));
    expect(error.code).toBe('RUN_CANCELLED');
    expect(api.requests.some((r) => r.operation === 'CancelStatement')).toBe(true);
  });

  it('refuses a batch over the 40-statement limit before calling the service', async () => {
    const dataApi = createDataApi(
      dataClient(),
      { workgroupName: 'analytics', database: 'dev' },
      { pollMs: 5 },
    );
    const before = api.requests.length;
    const error = await lakehouseFailure(dataApi.executeBatch(Array.from({ length: 41 }, () => 'SELECT 1')));
    expect(error.code).toBe('PUBLISH_FAILED');
    expect(error.message).toContain('--tables');
    expect(api.requests.length).toBe(before);
  });
});

describe('publish through the Data API with Parquet staged on S3', () => {
  /** Downloads the Parquet under a COPY's s3:// prefix and fingerprints it with DuckDB. */
  async function stagedFingerprint(uri: string, key: string[]) {
    const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri) ?? [];
    const listed = await s3Client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const files: string[] = [];
    for (const object of listed.Contents ?? []) {
      const body = await s3Client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      const file = join(work, `${files.length}-${Date.now()}.parquet`);
      await writeFile(
        file,
        await (body.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      );
      files.push(file);
    }
    const db = await openDb();
    try {
      const relation = `read_parquet([${files.map(literal).join(', ')}])`;
      const columns = await db.all<{ column_name: string; column_type: string }>(
        `DESCRIBE SELECT * FROM ${relation}`,
      );
      return { ...(await duckdbFingerprint(db, relation, key)), columns, files: files.length };
    } finally {
      db.close();
    }
  }

  it('stages every table, runs one batch (DDL, COPY, keys, reconciliation) and reads the counts back', async () => {
    const batches: string[][] = [];
    const staged = new Map<string, Awaited<ReturnType<typeof stagedFingerprint>>>();
    const tables = new Map((await engine.tables()).map((t) => [t.name, t]));
    const keyOf: Record<string, string[]> = {
      dim_user: ['user_id'],
      dim_date: ['date_key'],
      fact_customer_search: ['event_id'],
    };
    let batch: string[] = [];
    behaviour = async (sql) => {
      if (sql.includes('information_schema.columns')) return { columns: ['table_name'], rows: [] };
      if (sql.includes('pg_constraint')) return { columns: ['name'], rows: [] };
      if (sql.includes('FROM pg_namespace')) return { columns: ['n'], rows: [[0]] };
      const copy = /^COPY "gold"\."(\w+)" FROM '(s3:\/\/[^']+)'/.exec(sql);
      if (copy?.[1] && copy[2]) staged.set(copy[1], await stagedFingerprint(copy[2], keyOf[copy[1]] ?? []));
      const readBack = /FROM "gold"\."(\w+)"$/.exec(sql);
      if (sql.startsWith('SELECT count(*) AS n') && readBack?.[1]) {
        const s = staged.get(readBack[1]);
        return { columns: ['n', 'checksum'], rows: [[s?.rowCount ?? 0, s?.keyChecksum ?? '0']] };
      }
      batch.push(sql);
      if (sql.includes('reconciliation failed')) batches.push(batch.splice(0));
      return {};
    };
    batch = [];
    const result = await publishRedshift({
      db: engine.reader,
      models: engine.models,
      tables: ['dim_user', 'dim_date', 'fact_customer_search'],
      connection: {
        kind: 'data-api',
        client: dataClient(),
        target: { workgroupName: 'analytics', database: 'dev' },
        staging: { client: s3Client, uri: 's3://staging/lakehouse/', iamRole: IAM_ROLE },
        options: { pollMs: 5 },
      },
    });
    expect(result.loadPath).toBe('s3-parquet');
    expect(batches).toHaveLength(1);
    const sqls = batches[0] ?? [];
    expect(sqls[0]).toBe('CREATE SCHEMA IF NOT EXISTS "gold"');
    expect(sqls.find((s) => s.startsWith('CREATE TABLE "gold"."fact_customer_search"'))).toContain(
      'DISTSTYLE KEY DISTKEY ("user_id") SORTKEY ("date_key")',
    );
    expect(sqls.find((s) => s.startsWith('CREATE TABLE "gold"."dim_user"'))).toContain(
      'DISTSTYLE KEY DISTKEY ("user_id")',
    );
    expect(sqls.find((s) => s.startsWith('CREATE TABLE "gold"."dim_date"'))).toContain(
      'DISTSTYLE ALL SORTKEY ("date_key")',
    );
    const copies = sqls.filter((s) => s.startsWith('COPY'));
    expect(copies).toHaveLength(3);
    for (const copy of copies) {
      expect(copy).toMatch(
        /^COPY "gold"\."\w+" FROM 's3:\/\/staging\/lakehouse\/\d{4}-\d{2}-\d{2}-[0-9a-f-]+\/\w+-\d\/' IAM_ROLE 'arn:aws:iam::123456789012:role\/redshift-copy' FORMAT AS PARQUET$/,
      );
    }
    expect(sqls.filter((s) => s.includes('FOREIGN KEY'))).toEqual([
      'ALTER TABLE "gold"."fact_customer_search" ADD CONSTRAINT "fact_customer_search_date_key_fkey" FOREIGN KEY ("date_key") REFERENCES "gold"."dim_date" ("date_key")',
      'ALTER TABLE "gold"."fact_customer_search" ADD CONSTRAINT "fact_customer_search_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "gold"."dim_user" ("user_id")',
    ]);
    expect(sqls.at(-1)).toContain('reconciliation failed for gold.fact_customer_search');

    // What was staged is exactly the local table, columns in the target's order and types Redshift loads.
    const fact = staged.get('fact_customer_search');
    expect(fact?.rowCount).toBe(tables.get('gold.fact_customer_search')?.rows);
    expect(fact?.columns.map((c) => c.column_name)).toEqual(
      tables.get('gold.fact_customer_search')?.columns.map((c) => c.name),
    );
    expect(result.reconciliation.map((r) => [r.table, r.matches])).toEqual([
      ['dim_date', true],
      ['dim_user', true],
      ['fact_customer_search', true],
    ]);
    // Staged files are removed once the publish is over.
    const left = await s3Client.send(new ListObjectsV2Command({ Bucket: 'staging', Prefix: 'lakehouse/' }));
    expect(left.KeyCount ?? 0).toBe(0);
  });

  it('a reconciliation assertion failing inside the batch is reported as PUBLISH_MISMATCH', async () => {
    behaviour = (sql) => {
      if (sql.includes('information_schema.columns')) return { columns: ['table_name'], rows: [] };
      if (sql.includes('pg_constraint')) return { columns: ['name'], rows: [] };
      if (sql.includes('FROM pg_namespace')) return { columns: ['n'], rows: [[0]] };
      if (sql.includes('reconciliation failed')) {
        return {
          error:
            'ERROR: invalid input syntax for integer: "reconciliation failed for gold.dim_date: expected 365 rows, key checksum 1; target has 364 rows, key checksum 2"',
        };
      }
      return {};
    };
    const error = await lakehouseFailure(
      publishRedshift({
        db: engine.reader,
        models: engine.models,
        tables: ['dim_date'],
        connection: {
          kind: 'data-api',
          client: dataClient(),
          target: { workgroupName: 'analytics', database: 'dev' },
          staging: { client: s3Client, uri: 's3://staging/lakehouse', iamRole: IAM_ROLE },
          options: { pollMs: 5 },
        },
      }),
    );
    expect(error.code).toBe('PUBLISH_MISMATCH');
    expect(error.message).toContain('gold.dim_date: expected 365 rows');
  });

  it('re-publishes the whole star to an existing target in one batch within the 40-statement limit', async () => {
    const gold = await describeGoldTables(engine.reader, engine.models);
    const fact = gold.find((t) => t.name === 'fact_customer_search');
    if (!fact?.dateKey) throw new Error('no fact');
    const factGroups = await duckdbFingerprintGroups(
      engine.reader,
      'gold.fact_customer_search',
      fact.primaryKey,
      fact.dateKey,
      fact.columns.map((c) => c.name),
    );
    // The target as a previous publish left it: every table, column and foreign key, the same fact rows,
    // and its record of what each date of the fact held.
    const columnRows = [
      ...gold.flatMap((t) =>
        t.columns.map((c) => [t.name, c.name, ...informationSchemaType(targetType(t.name, c))]),
      ),
      ...['table_name', 'group_value', 'content_hash'].map((c) => [
        PUBLISH_STATE_TABLE,
        c,
        'character varying',
        256,
        null,
        null,
      ]),
    ];
    // The constraints a first publish leaves: primary keys (the merges match on them) and foreign keys.
    const keyRows = [
      ...gold
        .filter((t) => t.keySource !== 'all_columns')
        .map((t) => [`${t.name}_pkey`, 'p', t.name, null, `PRIMARY KEY (${t.primaryKey.join(', ')})`]),
      ...gold.flatMap((t) =>
        t.relationships.map((r) => [
          foreignKeyName(t.name, r.column),
          'f',
          t.name,
          r.toTable,
          `FOREIGN KEY (${r.column}) REFERENCES gold.${r.toTable}(${r.toColumn})`,
        ]),
      ),
    ];
    let batch: string[] = [];
    behaviour = (sql) => {
      if (sql.includes('information_schema.columns')) {
        return {
          columns: [
            'table_name',
            'column_name',
            'data_type',
            'character_maximum_length',
            'numeric_precision',
            'numeric_scale',
          ],
          rows: columnRows,
        };
      }
      if (sql.includes('pg_constraint'))
        return { columns: ['name', 'kind', 'table_name', 'ref_table', 'definition'], rows: keyRows };
      if (sql.includes('FROM pg_namespace')) return { columns: ['n'], rows: [[1]] };
      if (sql.startsWith('SELECT group_value AS v, content_hash AS h')) {
        return { columns: ['v', 'h'], rows: [...factGroups].map(([v, f]) => [v, f.contentHash ?? '']) };
      }
      if (sql.endsWith('GROUP BY 1')) {
        return {
          columns: ['v', 'n', 'checksum'],
          rows: [...factGroups].map(([v, f]) => [v, f.rowCount, f.keyChecksum]),
        };
      }
      const readBack = /^SELECT count\(\*\) AS n, .* FROM "gold"\."(\w+)"$/.exec(sql);
      if (readBack) {
        const t = gold.find((g) => g.name === readBack[1]);
        return { columns: ['n', 'checksum'], rows: [[t?.rowCount ?? 0, t?.keyChecksum ?? '0']] };
      }
      batch.push(sql);
      return {};
    };
    batch = [];
    const result = await publishRedshift({
      db: engine.reader,
      models: engine.models,
      connection: {
        kind: 'data-api',
        client: dataClient(),
        target: { workgroupName: 'analytics', database: 'dev' },
        staging: { client: s3Client, uri: 's3://staging/lakehouse/', iamRole: IAM_ROLE },
        options: { pollMs: 5 },
      },
    });
    expect(result.tables.find((t) => t.table === 'fact_customer_search')).toMatchObject({
      action: 'append',
      rowsToSend: 0,
    });
    expect(batch.length).toBeLessThanOrEqual(40);
    expect(batch.some((s) => s.startsWith('DROP TABLE "lakehouse_stage'))).toBe(false);
    expect(batch.filter((s) => s.startsWith('MERGE INTO')).map((s) => s.split('"')[3])).toEqual([
      'dim_category',
      'dim_network',
      'dim_platform',
      'dim_subscription',
      'dim_user',
      'dim_user_history',
      'bridge_user_plan',
    ]);
    // Redshift's MERGE takes no condition on WHEN MATCHED.
    expect(batch.find((s) => s.startsWith('MERGE INTO "gold"."dim_user"'))).toContain(
      ' WHEN MATCHED THEN UPDATE SET ',
    );
    const swap = batch.indexOf('DROP TABLE "gold"."dim_date"');
    expect(batch[swap - 1]).toBe(
      'ALTER TABLE "gold"."fact_customer_search" DROP CONSTRAINT "fact_customer_search_date_key_fkey"',
    );
    expect(batch).toContain(
      'ALTER TABLE "gold"."fact_customer_search" ADD CONSTRAINT "fact_customer_search_date_key_fkey" FOREIGN KEY ("date_key") REFERENCES "gold"."dim_date" ("date_key")',
    );
    expect(result.reconciliation.every((r) => r.matches)).toBe(true);
  });
});

/** data_type, character_maximum_length, numeric_precision, numeric_scale as information_schema gives them. */
function informationSchemaType(type: string): (string | number | null)[] {
  const varchar = /^VARCHAR\((\d+)\)$/.exec(type);
  if (varchar) return ['character varying', Number(varchar[1]), null, null];
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(type);
  if (decimal) return ['numeric', null, Number(decimal[1]), Number(decimal[2])];
  const names: Record<string, string> = {
    INTEGER: 'integer',
    BIGINT: 'bigint',
    SMALLINT: 'smallint',
    BOOLEAN: 'boolean',
    DATE: 'date',
    TIMESTAMP: 'timestamp without time zone',
    'DOUBLE PRECISION': 'double precision',
  };
  return [names[type] ?? type.toLowerCase(), null, null, null];
}
