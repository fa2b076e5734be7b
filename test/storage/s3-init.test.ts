import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../engine/storage/s3-client.ts';
import { uploadFile } from '../../engine/storage/s3-objects.ts';
import { lakehouseAsync } from '../helpers/cli.ts';
import { removeDir, tempDir } from '../helpers/project.ts';
import { type S3Server, startS3Server, useS3rverCredentials } from './s3-helpers.ts';

// init says of an s3:// source what it says of a local folder with no day folders, before any run fails on it.
describe('lakehouse init on an S3 source', () => {
  let s3: S3Server;
  let work: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    useS3rverCredentials();
    s3 = await startS3Server(['raw']);
    work = await tempDir('lakehouse-s3-init-');
    const file = join(work, 'part-0.parquet');
    await writeFile(file, 'not read by init');
    const client = createS3Client({ endpoint: s3.endpoint });
    await uploadFile(client, 'raw', 'delivery/logs/20220601/part-0.parquet', file);
    // A day folder with nothing to load is no day either.
    await uploadFile(client, 'raw', 'delivery/notes/20220602/_SUCCESS', join(work, 'part-0.parquet'));
  });
  afterAll(async () => {
    await s3.close();
    await removeDir(work);
    process.env = saved;
  });

  const init = (name: string, source: string) =>
    lakehouseAsync('init', join(work, name), '--source', source, '--endpoint', s3.endpoint);

  it('says when the prefix has no day folders, and which sub-prefix has them', async () => {
    const tooHigh = await init('too-high', 's3://raw/delivery');
    expect(tooHigh.code).toBe(0);
    expect(tooHigh.stderr).toBe(
      'note: --source s3://raw/delivery has no day folder with Parquet files in it (YYYYMMDD/*.parquet), so runs have no date to load. ' +
        's3://raw/delivery/logs has them: give that folder as --source, or edit sources.customer_search_log.path in lakehouse.yaml.\n',
    );
    expect(await init('right-level', 's3://raw/delivery/logs')).toMatchObject({ code: 0, stderr: '' });
    expect((await init('empty', 's3://raw/delivery/notes')).stderr).toBe(
      'note: --source s3://raw/delivery/notes has no day folder with Parquet files in it (YYYYMMDD/*.parquet), so runs have no date to load. ' +
        "Put each day's Parquet files in a folder named for it (20220601/), or edit sources.customer_search_log.path in lakehouse.yaml.\n",
    );
  });

  it('says when the prefix cannot be listed, and still writes the project', async () => {
    const missing = await init('no-bucket', 's3://no-such-bucket/logs');
    expect(missing.code).toBe(0);
    expect(missing.stdout).toMatch(/^Created project /);
    expect(missing.stderr).toMatch(
      /^note: --source s3:\/\/no-such-bucket\/logs could not be listed \(.+\), so runs cannot read it either: check the bucket, the prefix and the s3 settings in lakehouse\.yaml\.\n$/,
    );
  });
});
