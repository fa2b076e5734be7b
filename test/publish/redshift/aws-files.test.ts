import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecuteStatementCommand } from '@aws-sdk/client-redshift-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Project } from '../../../engine/project/config.ts';
import { resolveRedshiftTarget } from '../../../engine/publish/redshift/connection.ts';
import { useAwsFilesIn } from '../../helpers/env.ts';
import { lakehouseFailure } from '../../helpers/errors.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';
import {
  type ClusterCredentialsServer,
  startClusterCredentialsServer,
} from './cluster-credentials-server.ts';
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

// A target's `profile` picks the keys and the region of its AWS calls, as s3.profile and a Glue catalog's
// do: the Data API, GetClusterCredentials and the staging bucket's client, not AWS_PROFILE's or the default.
describe("a Redshift target's AWS profile", () => {
  let work: string;
  let dataApi: DataApiServer;
  let clusterApi: ClusterCredentialsServer;
  let restoreEnv: () => void;
  beforeAll(async () => {
    work = await tempDir('lakehouse-redshift-profile-');
    dataApi = await startDataApiServer({ run: () => ({}) });
    clusterApi = await startClusterCredentialsServer('temporary-password');
    restoreEnv = useAwsFilesIn(work, [
      'AWS_ENDPOINT_URL_REDSHIFT_DATA',
      'AWS_ENDPOINT_URL_REDSHIFT',
      'AWS_REGION',
      'AWS_DEFAULT_REGION',
    ]);
    // Each service's own endpoint setting of the SDK: the targets name none, as on AWS.
    process.env.AWS_ENDPOINT_URL_REDSHIFT_DATA = dataApi.endpoint;
    process.env.AWS_ENDPOINT_URL_REDSHIFT = clusterApi.endpoint;
    await writeFile(
      join(work, 'config'),
      '[default]\nregion = us-west-2\n\n[profile analyst]\nregion = eu-central-1\n\n[profile no-region]\noutput = json\n',
    );
    await writeFile(
      join(work, 'credentials'),
      ['default', 'analyst', 'no-region']
        .map((p) => `[${p}]\naws_access_key_id = ${p.toUpperCase()}-KEY\naws_secret_access_key = secret\n`)
        .join('\n'),
    );
  });
  afterAll(async () => {
    restoreEnv?.();
    await dataApi?.close();
    await clusterApi?.close();
    if (work) await removeDir(work);
  });

  const project = (target: Record<string, unknown>) =>
    ({ root: work, config: { publish: { iceberg: {}, redshift: { t: target } } } }) as unknown as Project;
  const serverless = {
    kind: 'serverless',
    workgroup: 'wg',
    database: 'dev',
    staging: { s3: 's3://bucket/stage/', iam_role: 'arn:aws:iam::123456789012:role/copy' },
  };

  /** Resolves target t, sends one Data API statement and says who signed it for which region. */
  const dataApiSigner = async (target: Record<string, unknown>) => {
    const { connection } = await resolveRedshiftTarget(project(target), { target: 't' });
    if (connection.kind !== 'data-api') throw new Error(`expected the Data API, got ${connection.kind}`);
    await connection.client.send(
      new ExecuteStatementCommand({ WorkgroupName: 'wg', Database: 'dev', Sql: 'SELECT 1' }),
    );
    const request = dataApi.requests.at(-1);
    const staging = connection.staging.client.config;
    return {
      dataApi: `${request?.accessKeyId}/${request?.region}`,
      staging: `${(await staging.credentials()).accessKeyId}/${await staging.region()}`,
    };
  };

  it.each([
    ['the profile, with its region', { profile: 'analyst' }, 'ANALYST-KEY/eu-central-1'],
    [
      "the profile's keys in the target's own region",
      { profile: 'analyst', region: 'ap-southeast-2' },
      'ANALYST-KEY/ap-southeast-2',
    ],
    // lakehouse.yaml as written before targets had a profile.
    ['the default profile without one', { region: 'eu-west-1' }, 'DEFAULT-KEY/eu-west-1'],
  ])('signs Data API and staging calls with %s', async (_, settings, signer) => {
    expect(await dataApiSigner({ ...serverless, ...settings })).toEqual({ dataApi: signer, staging: signer });
  });

  it("asks GetClusterCredentials with the profile's keys and region", async () => {
    const { connection } = await resolveRedshiftTarget(
      project({
        kind: 'provisioned',
        host: 'cluster.example.com',
        database: 'analytics',
        user: 'loader',
        iam: true,
        cluster_identifier: 'analytics',
        profile: 'analyst',
      }),
      { target: 't' },
    );
    expect(clusterApi.requests.at(-1)).toMatchObject({
      accessKeyId: 'ANALYST-KEY',
      region: 'eu-central-1',
      params: { Action: 'GetClusterCredentials', ClusterIdentifier: 'analytics', DbUser: 'loader' },
    });
    expect(connection.kind === 'pg' && connection.config).toMatchObject({
      user: 'IAM:loader',
      password: 'temporary-password',
    });
  });

  it('refuses a profile the shared files lack, and one with no region for a target without one', async () => {
    const missing = await lakehouseFailure(
      resolveRedshiftTarget(project({ ...serverless, profile: 'analsyt' }), { target: 't' }),
    );
    expect(missing.code).toBe('PROJECT_INVALID');
    expect(missing.message).toContain('AWS profile "analsyt" (publish.redshift.t.profile) does not exist');
    expect(missing.message).toContain('(did you mean "analyst"?)');
    const noRegion = await lakehouseFailure(
      resolveRedshiftTarget(project({ ...serverless, profile: 'no-region' }), { target: 't' }),
    );
    expect(noRegion.code).toBe('PROJECT_INVALID');
    expect(noRegion.message).toContain(
      'Target t has no AWS region: it sets no region and its profile "no-region" has no region = ...',
    );
    expect(noRegion.message).toContain('Add region: (e.g. eu-west-1) to publish.redshift.t');
  });
});
