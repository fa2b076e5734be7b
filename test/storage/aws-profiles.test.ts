import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsProfileRegion } from '../../engine/storage/aws-profiles.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// The profile's region as the SDK finds it in the shared files, read by the S3 and Glue clients each time
// the files change. The files here are temporary ones, never ~/.aws.
describe('awsProfileRegion', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir('lakehouse-aws-profiles-');
  });
  afterAll(async () => {
    if (work) await removeDir(work);
  });

  const cases: [string, { config: string; credentials?: string; profile: string }, string | undefined][] = [
    [
      '[default] of the config file',
      { config: '[default]\nregion = eu-west-1\n', profile: 'default' },
      'eu-west-1',
    ],
    [
      '[profile default] is the default',
      { config: '[profile default]\nregion = eu-west-2\n', profile: 'default' },
      'eu-west-2',
    ],
    [
      '[profile name]',
      { config: '[default]\nregion = us-west-2\n[profile a]\nregion = eu-west-3\n', profile: 'a' },
      'eu-west-3',
    ],
    [
      '[name] in the config file is no profile',
      { config: '[a]\nregion = eu-west-3\n', profile: 'a' },
      undefined,
    ],
    [
      'a comment after the value',
      { config: '[default]\nregion = eu-north-1 # Stockholm\n', profile: 'default' },
      'eu-north-1',
    ],
    [
      'the credentials file wins, as in the SDK',
      {
        config: '[profile a]\nregion = eu-west-1\n',
        credentials: '[a]\nregion = ap-south-1\n',
        profile: 'a',
      },
      'ap-south-1',
    ],
    [
      'a nested setting is not the profile region',
      { config: '[default]\nregion = us-east-2\ns3 =\n  region = wrong-1\n', profile: 'default' },
      'us-east-2',
    ],
    ['a profile without region', { config: '[profile a]\noutput = json\n', profile: 'a' }, undefined],
  ];
  it.each(cases)('%s', async (name, files, region) => {
    const config = join(work, `${cases.findIndex((c) => c[0] === name)}-config`);
    const credentials = `${config}-credentials`;
    await writeFile(config, files.config);
    await writeFile(credentials, files.credentials ?? '');
    const env = { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials };
    expect(awsProfileRegion(files.profile, env)).toBe(region);
  });
});
