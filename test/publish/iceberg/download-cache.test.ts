import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3FileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { createS3Client } from '../../../engine/storage/s3-client.ts';
import { uploadFile } from '../../../engine/storage/s3-objects.ts';
import { PROJECT_ROOT, removeDir, tempDir } from '../../helpers/project.ts';
import { type S3Server, startS3Server, useS3rverCredentials } from '../../storage/s3-helpers.ts';

// A publish to an S3 warehouse reads published files back through a local download cache, and takes
// a cached file as it is from then on. A publish killed while writing one into the cache must leave
// no file under its final name, or every later publish would read a truncated file.
let s3: S3Server;
let work: string;
const SIZE = 96 * 1024 * 1024;
const URI = 's3://cache-test/wh/gold/t/data/big.parquet';

beforeAll(async () => {
  useS3rverCredentials();
  work = await tempDir('iceberg-download-cache-');
  s3 = await startS3Server(['cache-test']);
  const local = join(work, 'big.parquet');
  await writeFile(local, Buffer.alloc(SIZE, 'x'));
  await uploadFile(
    createS3Client({ endpoint: s3.endpoint, region: 'us-east-1' }),
    'cache-test',
    'wh/gold/t/data/big.parquet',
    local,
  );
}, 120_000);
afterAll(async () => {
  await s3?.close();
  await removeDir(work);
});

/** Every file under `dir` with its size, temp files left aside. */
function cachedFiles(dir: string): { name: string; size: number }[] {
  const out: { name: string; size: number }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name.endsWith('.tmp')) continue;
    out.push({ name: entry.name, size: statSync(join(entry.parentPath, entry.name)).size });
  }
  return out;
}

describe('the download cache of an S3 warehouse', () => {
  it('never shows a file cut short, even when the publish is killed while writing it', async () => {
    const cacheDir = join(work, 'cache');
    const child = spawn(
      process.execPath,
      ['bin/run-ts.js', 'test/publish/iceberg/download-cache-child.ts', s3.endpoint, URI, cacheDir],
      { cwd: PROJECT_ROOT, stdio: 'ignore', env: process.env },
    );
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const deadline = Date.now() + 90_000;
    let seen: { name: string; size: number }[] = [];
    // Kill the child the moment a file appears under its final name (or once it has ended).
    while (child.exitCode === null && Date.now() < deadline) {
      try {
        seen = cachedFiles(cacheDir);
      } catch {
        seen = [];
      }
      if (seen.length > 0) {
        child.kill('SIGKILL');
        break;
      }
      await new Promise((r) => setImmediate(r));
    }
    await exited;
    expect(seen.map((f) => f.size)).not.toContain(0);
    for (const file of seen) expect(file.size, 'a cached file was visible before it was complete').toBe(SIZE);
    // Whatever the kill left, reading through the cache again gives the whole file.
    const io = createS3FileIO('s3://cache-test/wh', { endpoint: s3.endpoint, region: 'us-east-1' }, cacheDir);
    expect(statSync(await io.readablePath(URI)).size).toBe(SIZE);
  }, 120_000);

  it('removes the temp file of a download a kill cut short once it is a day old, and keeps a younger one', async () => {
    const cacheDir = join(work, 'cut-short');
    const client = createS3Client({ endpoint: s3.endpoint, region: 'us-east-1' });
    const local = join(work, 'small.parquet');
    await writeFile(local, Buffer.alloc(1000, 's'));
    await uploadFile(client, 'cache-test', 'wh/gold/t/data/small.parquet', local);
    // What writeFileAtomically leaves when the publish is killed mid-write: `<file>.<pid>.<id>.tmp`,
    // beside no final file. One a day old is a killed download's; a young one may be being written.
    const folder = join(cacheDir, 'ab'.repeat(16));
    const abandoned = join(folder, 'big.parquet.4242.0c1d2e3f.tmp');
    const writing = join(folder, 'other.parquet.4343.1a2b3c4d.tmp');
    await mkdir(folder, { recursive: true });
    await writeFile(abandoned, Buffer.alloc(5000));
    await writeFile(writing, Buffer.alloc(5000));
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await utimes(abandoned, twoDaysAgo, twoDaysAgo);
    // The next download tidies the cache.
    const io = createS3FileIO('s3://cache-test/wh', { endpoint: s3.endpoint, region: 'us-east-1' }, cacheDir);
    await io.readablePath('s3://cache-test/wh/gold/t/data/small.parquet');
    expect(existsSync(abandoned)).toBe(false);
    expect(statSync(writing).size).toBe(5000);
  }, 60_000);

  it('keeps within its size limit by evicting the least recently used downloads, and only its own', async () => {
    const cacheDir = join(work, 'bounded');
    const client = createS3Client({ endpoint: s3.endpoint, region: 'us-east-1' });
    const uriOf = (name: string) => `s3://cache-test/wh/gold/t/data/${name}.parquet`;
    for (const name of ['a', 'b', 'c']) {
      const local = join(work, `${name}.parquet`);
      await writeFile(local, Buffer.alloc(1000, name));
      await uploadFile(client, 'cache-test', `wh/gold/t/data/${name}.parquet`, local);
    }
    const open = () =>
      createS3FileIO('s3://cache-test/wh', { endpoint: s3.endpoint, region: 'us-east-1' }, cacheDir, {
        cacheMaxBytes: 2500,
      });
    // One publish reads a and b back (2000 bytes, under the limit); a was used longest ago.
    const first = open();
    const a = await first.readablePath(uriOf('a'));
    const b = await first.readablePath(uriOf('b'));
    await utimes(a, new Date('2020-01-01'), new Date('2020-01-01'));
    await utimes(b, new Date('2021-01-01'), new Date('2021-01-01'));
    // Not the cache's: a file and a folder of the user's beside the downloads.
    await writeFile(join(cacheDir, 'notes.txt'), 'mine');
    await mkdir(join(cacheDir, 'mine'));
    await writeFile(join(cacheDir, 'mine', 'x.parquet'), Buffer.alloc(5000));
    // The next publish uses b again, then downloads c: 3000 bytes, so a goes.
    const next = open();
    expect(await next.readablePath(uriOf('b'))).toBe(b);
    const c = await next.readablePath(uriOf('c'));
    expect(existsSync(a)).toBe(false);
    expect(readFileSync(b, 'utf8')).toBe('b'.repeat(1000));
    expect(readFileSync(c, 'utf8')).toBe('c'.repeat(1000));
    expect(readFileSync(join(cacheDir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(statSync(join(cacheDir, 'mine', 'x.parquet')).size).toBe(5000);
    // Read again, a is downloaded anew.
    expect(readFileSync(await next.readablePath(uriOf('a')), 'utf8')).toBe('a'.repeat(1000));
  }, 60_000);
});
