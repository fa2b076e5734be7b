import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecuteStatementCommand } from '@aws-sdk/client-redshift-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Project } from '../../../engine/project/config.ts';
import { resolveRedshiftTarget } from '../../../engine/publish/redshift/connection.ts';
import { useAwsFilesIn } from '../../helpers/env.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';
import { type DataApiServer, startDataApiServer } from './data-api-server.ts';

// A publish through the Data API from an app left open while the user rotates keys in ~/.aws/credentials:
// each publish makes its client, but the SDK's provider read the file once per process, so the new client
// still signed with the old keys. The files here are temporary ones, never ~/.aws.
describe('a Data API publish after the shared credentials file changes', () => {
  let work: string;
  let api: DataApiServer;
  let restoreEnv: () => void;
  beforeAll(async () => {
    work = await tempDir('lakehouse-dataapi-aws-');
    api = await startDataApiServer({ run: () => ({}) });
    restoreEnv = useAwsFilesIn(work, ['AWS_ENDPOINT_URL_REDSHIFT_DATA']);
    // The SDK's own setting for one service's endpoint: the target has none, as on AWS.
    process.env.AWS_ENDPOINT_URL_REDSHIFT_DATA = api.endpoint;
  });
  afterAll(async () => {
    restoreEnv?.();
    await api?.close();
    if (work) await removeDir(work);
  });

  it('signs the next publish with the keys the file now holds', async () => {
    const project = {
      root: work,
      config: {
        publish: {
          iceberg: {},
          redshift: {
            sls: {
              kind: 'serverless',
              workgroup: 'wg',
              database: 'dev',
              region: 'eu-west-1',
              staging: { s3: 's3://bucket/stage/', iam_role: 'arn:aws:iam::123456789012:role/copy' },
            },
          },
        },
      },
    } as unknown as Project;
    const keys = (key: string) =>
      writeFile(
        join(work, 'credentials'),
        `[default]\naws_access_key_id = ${key}\naws_secret_access_key = secret\n`,
      );
    const publishSignedWith = async () => {
      const { connection } = await resolveRedshiftTarget(project, { target: 'sls' });
      if (connection.kind !== 'data-api') throw new Error(`expected the Data API, got ${connection.kind}`);
      await connection.client.send(
        new ExecuteStatementCommand({ WorkgroupName: 'wg', Database: 'dev', Sql: 'SELECT 1' }),
      );
      return api.requests.at(-1)?.accessKeyId;
    };
    await keys('FIRSTKEY');
    expect(await publishSignedWith()).toBe('FIRSTKEY');
    await keys('SECONDKEY');
    expect(await publishSignedWith()).toBe('SECONDKEY');
  });
});
