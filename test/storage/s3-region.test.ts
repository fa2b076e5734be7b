import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../engine/project/config.ts';
import { initProject } from '../../engine/project/init.ts';
import { probeSource } from '../../engine/sources/probe.ts';
import { createS3Client } from '../../engine/storage/s3-client.ts';
import { listObjects } from '../../engine/storage/s3-objects.ts';
import { lakehouse } from '../helpers/cli.ts';
import { AWS_FILE_SETTINGS, clearEnv, saveEnv, useAwsFilesIn } from '../helpers/env.ts';
import { openFailure } from '../helpers/errors.ts';
import { generatedProject, PROJECT_ROOT, removeDir, tempDir, withEngine } from '../helpers/project.ts';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';
import { type S3Server, startS3Server, uploadTree, useS3rverCredentials } from './s3-helpers.ts';

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

// A profile the shared AWS files do not define made the SDK fail on the region it could not read from
// it: "no AWS region is set", never naming the profile. The files here are temporary ones, never ~/.aws.
describe('an AWS profile that does not exist', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let config: string;
  let credentials: string;
  let restoreEnv: () => void;
  const AWS_VARS = [
    'AWS_CONFIG_FILE',
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
    'AWS_PROFILE',
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_S3',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
  ];
  beforeAll(async () => {
    work = await tempDir('lakehouse-profile-');
    config = join(work, 'aws-config');
    credentials = join(work, 'aws-credentials');
    await writeFile(config, '[default]\nregion = eu-west-1\n\n[profile analytics]\nregion = eu-west-1\n');
    await writeFile(credentials, '[ci]\naws_access_key_id = key\naws_secret_access_key = secret\n');
    env = { ...process.env };
    for (const name of AWS_VARS) delete env[name];
    env.AWS_CONFIG_FILE = config;
    env.AWS_SHARED_CREDENTIALS_FILE = credentials;
    // The in-process probe reads the same files.
    restoreEnv = clearEnv(AWS_VARS);
    process.env.AWS_CONFIG_FILE = config;
    process.env.AWS_SHARED_CREDENTIALS_FILE = credentials;
  });
  afterAll(async () => {
    restoreEnv?.();
    if (work) await removeDir(work);
  });

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'lakehouse.js'), ...args], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('is refused by init --profile, naming the files looked in and the profiles they define', async () => {
    const dir = join(work, 'typo');
    const init = cli('init', dir, '--source', 's3://nobucket/raw', '--profile', 'analytic');
    expect(init.status).toBe(2);
    expect(init.stderr).toContain(
      `error [INVALID_ARGUMENT]: AWS profile "analytic" (--profile) does not exist: no [profile analytic] in ` +
        `the config file and no [analytic] in the credentials file, looked up in ${config} (AWS_CONFIG_FILE) ` +
        `and ${credentials} (AWS_SHARED_CREDENTIALS_FILE), which define analytics, ci, default ` +
        '(did you mean "analytics"?).',
    );
    await expect(readFile(join(dir, 'lakehouse.yaml'))).rejects.toThrow();
    // Profiles of either file are found.
    for (const profile of ['analytics', 'ci'])
      expect(
        cli('init', join(work, profile), '--source', 's3://nobucket/raw', '--profile', profile).status,
      ).toBe(0);
  });

  it('is named by a run and by Test connection instead of "no AWS region"', async () => {
    const dir = join(work, 'gone');
    expect(cli('init', dir, '--source', 's3://nobucket/raw').status).toBe(0);
    const yaml = join(dir, 'lakehouse.yaml');
    await writeFile(yaml, `${await readFile(yaml, 'utf8')}s3:\n  profile: gone\n`);
    const run = cli('run', dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'error [PROJECT_INVALID]: AWS profile "gone" (s3.profile) does not exist: no [profile gone] in the config file',
    );
    expect(run.stderr).not.toContain('region');

    const project = await loadProject(dir);
    const probe = await probeSource(project, { name: 'customer_search_log', s3: { profile: 'nope' } });
    expect(probe.ok).toBe(false);
    expect(probe.error).toMatchObject({ code: 'PROJECT_INVALID', details: { profile: 'nope' } });
    expect(probe.error?.message).toContain(`AWS profile "nope" (s3.profile) does not exist`);
    expect(probe.error?.message).toContain(`looked up in ${config} (AWS_CONFIG_FILE)`);
  });
});

// A bucket in another region than the one configured: S3 answers 301 PermanentRedirect (naming the
// bucket's region in x-amz-bucket-region) or, signed for the wrong region, 400 AuthorizationHeaderMalformed.
// Both read as "the store is throttling or failing, after retries".
describe('a bucket in another region than the one configured', () => {
  let work: string;
  let s3: S3Server;
  let proxy: FaultProxy;
  let dates: string[];
  beforeAll(async () => {
    useS3rverCredentials();
    work = await tempDir('lakehouse-region-');
    s3 = await startS3Server(['raw', 'lake']);
    proxy = await startFaultProxy(s3.endpoint);
    ({ dates } = await generatedProject(work, 1, 200));
    await uploadTree(createS3Client({ endpoint: s3.endpoint }), join(work, 'data'), 'raw', 'all');
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    await s3?.close();
    if (work) await removeDir(work);
  });

  const project = async (name: string) => {
    const dir = join(work, name);
    await initProject({
      dir,
      example: 'customer-search',
      source: 's3://raw/all/customer_search_log_data',
      catalog: 's3://raw/all/title_catalog.csv',
      lake: `s3://lake/${name}`,
      s3: { endpoint: proxy.endpoint, region: 'us-east-1' },
    });
    return dir;
  };

  it("follows S3's redirect to the bucket's region, for the sources and the lake", async () => {
    proxy.bucketRegion('eu-west-1', 'redirect');
    const dir = await project('redirected');
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({});
      expect(summary.error).toBeUndefined();
      const rows = await engine.query('SELECT count(*) AS n FROM bronze.customer_search');
      expect(Number(rows.rows[0]?.n)).toBe(200);
    });
    expect(dates).toHaveLength(1);
  });

  it('names the region the bucket expects and where to set it when S3 refuses the signature', async () => {
    proxy.bucketRegion('eu-west-1', 'malformed');
    const dir = await project('malformed');
    const error = await openFailure(dir);
    expect(error?.code).toBe('PROJECT_INVALID');
    expect(error?.message).toMatch(
      /^Cannot read s3:\/\/lake\/malformed\/_lakehouse\/manifest\.json: bucket lake is in region eu-west-1, not us-east-1\. Set s3\.region: eu-west-1 in lakehouse\.yaml/,
    );
  });
});

// The SDK keeps the shared files' contents for the life of the process, a failed read included: an
// app started before `aws configure` (or with a profile added later) kept failing with "no AWS
// credentials" until restarted, whatever the error told the user to do.
describe('AWS credentials written after the process first looked for them', () => {
  let work: string;
  let s3: S3Server;
  let restoreEnv: () => void;
  beforeAll(async () => {
    useS3rverCredentials();
    work = await tempDir('lakehouse-creds-');
    s3 = await startS3Server(['lake']);
    restoreEnv = saveEnv(AWS_FILE_SETTINGS);
  });
  afterAll(async () => {
    restoreEnv?.();
    await s3?.close();
    if (work) await removeDir(work);
  });

  it('are used by the next open, without a restart', async () => {
    const dir = join(work, 'p');
    await initProject({
      dir,
      example: 'customer-search',
      source: 's3://lake/raw',
      lake: 's3://lake/p',
      s3: { endpoint: s3.endpoint },
    });
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(work, 'credentials');
    process.env.AWS_CONFIG_FILE = join(work, 'config');
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const open = () => openFailure(dir);
    const before = await open();
    expect(before?.code).toBe('STORAGE_ACCESS_DENIED');
    expect(before?.message).toMatch(/no AWS credentials found/);

    // What `aws configure` writes, then a temporary profile with a session token.
    await writeFile(
      join(work, 'credentials'),
      '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n\n' +
        '[temp]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\naws_session_token = token\n',
    );
    expect(await open()).toBeUndefined();
    process.env.AWS_PROFILE = 'temp';
    expect(await open()).toBeUndefined();
  });

  // The client kept the credentials it first resolved for as long as the project stayed open: after
  // "the AWS credentials have expired. Refresh them ... and retry", refreshing them did not help the app.
  it('are read again after S3 says the ones in use expired, so a retry in the open app works', async () => {
    const proxy = await startFaultProxy(s3.endpoint);
    const dir = join(work, 'expiring');
    try {
      await initProject({
        dir,
        example: 'customer-search',
        source: 's3://lake/raw',
        lake: 's3://lake/expiring',
        s3: { endpoint: proxy.endpoint },
      });
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      delete process.env.AWS_PROFILE;
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(work, 'session-credentials');
      process.env.AWS_CONFIG_FILE = join(work, 'config');
      process.env.AWS_EC2_METADATA_DISABLED = 'true';
      const session = (token: string) =>
        writeFile(
          join(work, 'session-credentials'),
          `[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\naws_session_token = ${token}\n`,
        );
      await session('first');
      await withEngine(dir, async (engine) => {
        proxy.expireSessionToken('first');
        const expired = await engine.run({ dates: ['2022-06-01'] });
        expect(expired.error?.code).toBe('STORAGE_ACCESS_DENIED');
        expect(expired.error?.message).toMatch(/credentials have expired/);
        // What `aws sso login` or a credentials helper does; then the user retries in the same app.
        await session('second');
        const retried = await engine.run({ dates: ['2022-06-01'] });
        expect(retried.error?.code).toBe('SOURCE_MISSING');
      });
    } finally {
      await proxy.close();
    }
  });
});

// An app left open for hours, or a long CLI session, while the user edits ~/.aws: the S3 client read the
// profile's region once and kept the keys it first resolved until S3 refused them, so the first request
// after rotating keys failed. The files here are temporary ones, never ~/.aws.
describe('shared AWS files edited while a project stays open', () => {
  let work: string;
  let s3: S3Server;
  let proxy: FaultProxy;
  let restoreEnv: () => void;
  beforeAll(async () => {
    work = await tempDir('lakehouse-aws-edit-');
    s3 = await startS3Server(['lake']);
    proxy = await startFaultProxy(s3.endpoint);
    restoreEnv = useAwsFilesIn(work, [
      'AWS_REGION',
      'AWS_DEFAULT_REGION',
      'AWS_ENDPOINT_URL',
      'AWS_ENDPOINT_URL_S3',
    ]);
  });
  afterAll(async () => {
    restoreEnv?.();
    await proxy?.close();
    await s3?.close();
    if (work) await removeDir(work);
  });

  const openProject = async (name: string) => {
    const dir = join(work, name);
    await initProject({
      dir,
      example: 'customer-search',
      source: 's3://lake/raw',
      lake: `s3://lake/${name}`,
      s3: { endpoint: proxy.endpoint },
    });
    return dir;
  };
  const credentials = (token: string) =>
    writeFile(
      join(work, 'credentials'),
      `[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\naws_session_token = ${token}\n`,
    );
  const region = (name: string) => writeFile(join(work, 'config'), `[default]\nregion = ${name}\n`);

  it("signs the next request for the region the profile's config now gives", async () => {
    await credentials('any');
    await region('eu-west-1');
    proxy.bucketRegion('eu-west-1', 'malformed');
    const dir = await openProject('region');
    try {
      await withEngine(dir, async (engine) => {
        // The source prefix is empty: reaching "no such day" means S3 answered the listing.
        expect((await engine.run({ dates: ['2022-06-01'] })).error?.code).toBe('SOURCE_MISSING');
        await region('eu-central-1');
        const wrong = await engine.run({ dates: ['2022-06-01'] });
        expect(wrong.error?.code).toBe('PROJECT_INVALID');
        expect(wrong.error?.message).toMatch(/bucket lake is in region eu-west-1, not eu-central-1/);
        await region('eu-west-1');
        expect((await engine.run({ dates: ['2022-06-01'] })).error?.code).toBe('SOURCE_MISSING');
      });
    } finally {
      proxy.bucketRegion(undefined);
    }
  });

  it('signs the next request with the keys the credentials file now holds', async () => {
    await region('us-east-1');
    await credentials('first');
    const dir = await openProject('rotated');
    try {
      await withEngine(dir, async (engine) => {
        expect((await engine.run({ dates: ['2022-06-01'] })).error?.code).toBe('SOURCE_MISSING');
        // Rotated, then the old session revoked: the next run must not try it first.
        await credentials('second');
        proxy.expireSessionToken('first');
        expect((await engine.run({ dates: ['2022-06-01'] })).error?.code).toBe('SOURCE_MISSING');
      });
    } finally {
      proxy.expireSessionToken(undefined);
    }
  });

  // No file of ~/.aws changes here: only the expiry the chain gave says the credentials must be read again.
  it('resolves credentials that carry an expiry again before they expire', async () => {
    const script = join(work, 'session.cjs');
    const token = join(work, 'token');
    // What `credential_process` helpers print: a session that expires in two minutes, inside the
    // window in which the SDK refreshes credentials ahead of their expiry.
    await writeFile(
      script,
      "const token = require('node:fs').readFileSync(process.argv[2], 'utf8').trim();\n" +
        'process.stdout.write(JSON.stringify({ Version: 1, AccessKeyId: "S3RVER", SecretAccessKey: "S3RVER", ' +
        'SessionToken: token, Expiration: new Date(Date.now() + 120000).toISOString() }));\n',
    );
    await writeFile(
      join(work, 'config'),
      `[default]\nregion = us-east-1\ncredential_process = ${process.execPath} ${script} ${token}\n`,
    );
    await writeFile(join(work, 'credentials'), '');
    await writeFile(token, 'first');
    // One client kept for the whole test, as an open project keeps its own.
    const client = createS3Client({ endpoint: proxy.endpoint });
    try {
      expect((await listObjects(client, 'lake', 'raw/')).objects).toEqual([]);
      await writeFile(token, 'second');
      proxy.expireSessionToken('first');
      expect((await listObjects(client, 'lake', 'raw/')).objects).toEqual([]);
    } finally {
      client.destroy();
      proxy.expireSessionToken(undefined);
    }
  });
});
