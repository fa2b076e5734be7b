import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakehouse } from '../helpers/cli.ts';
import { PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';

// With no region anywhere (environment, profile, lakehouse.yaml) the SDK says only "Region is missing",
// which read as a store that throttles or fails after retries. Nothing here reaches the network.
describe('an S3 source with no AWS region set', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir('lakehouse-region-');
  });
  afterAll(async () => {
    if (work) await removeDir(work);
  });

  it('is a setup error that says where to give the region', () => {
    const dir = join(work, 'p');
    expect(lakehouse('init', dir, '--source', 's3://nobucket/raw').code).toBe(0);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_CONFIG_FILE: join(work, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'),
      AWS_ACCESS_KEY_ID: 'key',
      AWS_SECRET_ACCESS_KEY: 'secret',
    };
    for (const name of [
      'AWS_REGION',
      'AWS_DEFAULT_REGION',
      'AWS_PROFILE',
      'AWS_ENDPOINT_URL',
      'AWS_ENDPOINT_URL_S3',
    ])
      delete env[name];
    const run = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'lakehouse.js'), 'run', dir], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      "error [PROJECT_INVALID]: Cannot list s3://nobucket/raw/: no AWS region is set. Give the bucket's region " +
        "(s3.region in lakehouse.yaml, or Region in the app's source form), set AWS_REGION, or add region = ... " +
        'to the AWS profile in use (~/.aws/config).',
    );
  });
});
