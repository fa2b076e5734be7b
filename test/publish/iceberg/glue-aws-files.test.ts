import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGlueCatalog } from '../../../engine/publish/iceberg/catalogs/glue-catalog.ts';
import { createLocalFileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { useAwsFilesIn } from '../../helpers/env.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';
import { type GlueServer, startGlueServer } from './catalog-servers.ts';

// A publish to Glue from an app left open while ~/.aws changes: the Glue client took its region from the
// default profile rather than the catalog's, once per process, and its keys from the process's first read
// of the credentials file. The files here are temporary ones, never ~/.aws.
describe('an AWS Glue catalog after the shared AWS files change', () => {
  let work: string;
  let glue: GlueServer;
  let restoreEnv: () => void;
  beforeAll(async () => {
    work = await tempDir('lakehouse-glue-aws-');
    glue = await startGlueServer();
    restoreEnv = useAwsFilesIn(work, ['AWS_REGION', 'AWS_DEFAULT_REGION']);
  });
  afterAll(async () => {
    restoreEnv?.();
    await glue?.close();
    if (work) await removeDir(work);
  });

  const awsFiles = (region: string, key: string) =>
    Promise.all([
      writeFile(
        join(work, 'config'),
        `[default]\nregion = us-west-2\n\n[profile glue-user]\nregion = ${region}\n`,
      ),
      writeFile(
        join(work, 'credentials'),
        `[glue-user]\naws_access_key_id = ${key}\naws_secret_access_key = secret\n`,
      ),
    ]);

  it("signs each publish with the catalog profile's region and keys as the files hold them then", async () => {
    const folder = join(work, 'warehouse');
    const catalog = () =>
      createGlueCatalog(createLocalFileIO(folder), {
        warehouse: folder,
        endpoint: glue.url,
        profile: 'glue-user',
      });
    await awsFiles('eu-west-1', 'FIRSTKEY');
    expect(await catalog().load('gold', 'dim_plan')).toBeUndefined();
    expect(glue.signedWith.at(-1)).toBe('FIRSTKEY/eu-west-1');
    // `aws configure --profile glue-user` while the app stays open, then the next publish.
    await awsFiles('eu-central-1', 'SECONDKEY');
    expect(await catalog().load('gold', 'dim_plan')).toBeUndefined();
    expect(glue.signedWith.at(-1)).toBe('SECONDKEY/eu-central-1');
  });
});
