import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSourceDates } from '../../engine/sources/daily-parquet.ts';
import { createProjectStorage } from '../../engine/storage/project-storage.ts';
import { createS3Client } from '../../engine/storage/s3-client.ts';
import { forEachParallel, listObjects } from '../../engine/storage/s3-objects.ts';
import { PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';
import { useS3rverCredentials } from './s3-helpers.ts';

// S3 answers at most 1,000 keys a listing page; a source of three years of days, or a lake's partitions,
// holds more. s3rver encodes its continuation tokens with DES, which Node 20's OpenSSL 3 refuses unless its
// legacy provider is loaded: the server runs here in a process of its own that loads it, so listings go
// past the first page with a real server's continuation tokens.

const DAYS = 1_101;
let work: string;
let server: ChildProcess;
let endpoint: string;

beforeAll(async () => {
  useS3rverCredentials();
  work = await tempDir('lakehouse-s3-pages-');
  const start = `const S3rver = require('s3rver');
new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: ${JSON.stringify(work)},
  configureBuckets: [{ name: 'data' }] }).run().then((a) => console.log(a.port));`;
  server = spawn(process.execPath, ['--openssl-legacy-provider', '-e', start], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [port] = (await once(server.stdout!, 'data')) as [Buffer];
  endpoint = `http://127.0.0.1:${String(port).trim()}`;
  const client = createS3Client({ endpoint });
  const first = Date.UTC(2020, 0, 1);
  const days = Array.from({ length: DAYS }, (_, i) =>
    new Date(first + i * 86_400_000).toISOString().slice(0, 10).replaceAll('-', ''),
  );
  await forEachParallel(days, 16, async (day) => {
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: `src/${day}/part-0.parquet`, Body: 'x' }));
  });
}, 120_000);
afterAll(async () => {
  server?.kill();
  await removeDir(work);
});

describe('S3 listings longer than one page', () => {
  it('lists every key, in order, following the continuation tokens', async () => {
    const listing = await listObjects(createS3Client({ endpoint }), 'data', 'src/');
    expect(listing.objects).toHaveLength(DAYS);
    expect(listing.objects[0]?.key).toBe('src/20200101/part-0.parquet');
    expect(listing.objects.at(-1)?.key).toBe('src/20230105/part-0.parquet');
  });

  it('offers every day of a daily source', async () => {
    const storage = createProjectStorage({ root: work, settings: { endpoint } });
    const dates = await listSourceDates('s3://data/src', '%Y%m%d', storage);
    expect(dates).toHaveLength(DAYS);
    expect(dates.at(-1)).toBe('2023-01-05');
  });
});
