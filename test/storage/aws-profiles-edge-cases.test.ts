import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsProfileRegion, missingAwsProfile, sharedAwsFiles } from '../../engine/storage/aws-profiles.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// Shared AWS files named the ways the SDK reads them. Temporary files only, never ~/.aws.
describe('AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE starting with ~/', () => {
  let home: string;
  beforeAll(async () => {
    home = await tempDir('lakehouse-aws-home-');
    await mkdir(join(home, 'conf'));
    await writeFile(join(home, 'conf', 'aws-config'), '[profile analytics]\nregion = eu-west-1\n');
    await writeFile(join(home, 'conf', 'aws-credentials'), '[loader]\naws_access_key_id = AKIAEXAMPLE\n');
  });
  afterAll(async () => {
    if (home) await removeDir(home);
  });

  it('are read under the home folder, as the SDK reads them (a quoted ~ is not expanded by the shell)', () => {
    const env = {
      HOME: home,
      AWS_CONFIG_FILE: '~/conf/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '~/conf/aws-credentials',
    };
    expect(sharedAwsFiles(env).map((f) => f.path)).toEqual([
      join(home, 'conf', 'aws-config'),
      join(home, 'conf', 'aws-credentials'),
    ]);
    expect(missingAwsProfile('analytics', 's3.profile', env)).toBeUndefined();
    expect(missingAwsProfile('loader', 's3.profile', env)).toBeUndefined();
    expect(awsProfileRegion('analytics', env)).toBe('eu-west-1');
  });
});
