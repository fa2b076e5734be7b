import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LakehouseError } from '../../engine/api/errors.ts';
import { loadProject } from '../../engine/project/config.ts';
import { probeSource } from '../../engine/sources/probe.ts';
import { isOwnPartitionFile } from '../../engine/storage/lake-storage.ts';
import {
  createObjectCache,
  holdCachedFiles,
  type TransferProgress,
} from '../../engine/storage/object-cache.ts';
import { createProjectStorage } from '../../engine/storage/project-storage.ts';
import { createS3Client } from '../../engine/storage/s3-client.ts';
import {
  deleteKeys,
  downloadObject,
  listObjects,
  ownUploads,
  type S3ObjectInfo,
  uploadFile,
} from '../../engine/storage/s3-objects.ts';
import { isS3Uri, locationKind, parseS3Uri } from '../../engine/storage/s3-uri.ts';
import { nodeAsync } from '../helpers/cli.ts';
import { removeDir, tempDir } from '../helpers/project.ts';
import { startFaultProxy } from './fault-proxy.ts';
import { type S3Server, startS3Server, useS3rverCredentials } from './s3-helpers.ts';

/** Runs a TypeScript script in a process of its own (as run-ts does), without blocking this one's s3rver. */
const runTs = (script: string, args: string[]) => nodeAsync(['bin/run-ts.js', script, ...args]);

describe('S3 URIs', () => {
  it.each([
    ['s3://my-bucket', { bucket: 'my-bucket', prefix: '' }],
    ['s3://my-bucket/', { bucket: 'my-bucket', prefix: '' }],
    ['s3://my-bucket/raw/search/', { bucket: 'my-bucket', prefix: 'raw/search' }],
    ['s3://logs.example.com/a//b', { bucket: 'logs.example.com', prefix: 'a//b' }],
  ])('%s', (uri, expected) => {
    expect(parseS3Uri(uri)).toEqual(expected);
  });

  it.each(['http://bucket/key', 's3://', 's3://UPPER/key', 's3://a/key', 'bucket/key'])(
    'rejects %s with the reason',
    (uri) => {
      expect(() => parseS3Uri(uri)).toThrow(/is not an S3 URI: expected s3:\/\/bucket\/prefix/);
    },
  );

  it.each([
    ['s3://my-bucket/raw', 's3'],
    ['raw/search', 'path'],
    ['/data/raw', 'path'],
    ['./s3:/x', 'path'],
    ['C:\\data\\raw', 'path'],
  ])('classifies %s as %s', (location, kind) => {
    expect(locationKind(location)).toBe(kind);
  });

  // Each was taken as a local folder named after the typo (./s3:/ice/x) and written to without a word.
  it.each(['s3:/ice/x', 's3:x', 'S3://bucket/x', 's3a://bucket/x', 'https://example.com/x', 'file:///tmp/x'])(
    'refuses %s, naming it and the expected form',
    (location) => {
      for (const classify of [() => isS3Uri(location), () => locationKind(location)]) {
        expect(classify).toThrow(
          expect.objectContaining({
            code: 'INVALID_ARGUMENT',
            message: expect.stringContaining(
              `${location} is neither an S3 URI nor a local path: expected s3://bucket/prefix`,
            ),
          }),
        );
      }
    },
  );

  it('takes a file: URI only where the caller reads one (the Iceberg warehouse)', () => {
    expect(locationKind('file:///tmp/wh', { fileUri: true })).toBe('file-uri');
    expect(() => locationKind('s3:/tmp/wh', { fileUri: true })).toThrow(/expected s3:\/\/bucket\/prefix/);
    expect(() => isS3Uri('s3://UPPER/x')).toThrow(/is not an S3 URI/);
  });
});

describe('an S3 lake prefix', () => {
  // The mirror lives at .lakehouse/lake-mirror/<bucket>/<prefix>: '..' in the prefix put it (and the
  // clean-up of stray partition files in it) outside the project.
  it("is refused with a '..' or empty segment, which would move the local mirror outside the project", () => {
    const storage = createProjectStorage({
      root: '/tmp/project',
      settings: { endpoint: 'http://127.0.0.1:1' },
    });
    for (const lake of ['s3://lake/a/../../../../home', 's3://lake/./x', 's3://lake/a//b']) {
      expect(() => storage.lake(lake)).toThrow(
        expect.objectContaining({
          code: 'PROJECT_INVALID',
          message: expect.stringMatching(/^lake: s3:\/\/lake\/.* '\.\.' segment/),
        }),
      );
    }
    expect(storage.lake('s3://lake/a/b').localRoot).toBe('/tmp/project/.lakehouse/lake-mirror/lake/a/b');
    expect(storage.lake('s3://lake').localRoot).toBe('/tmp/project/.lakehouse/lake-mirror/lake');
  });
});

describe("a lake's clean-up of abandoned multipart uploads", () => {
  // s3rver cannot list multipart uploads, so the choice of which to abort is checked on its own.
  it("aborts only the engine's partition uploads, never another tool's beside the lake", () => {
    const uploads = [
      {
        Key: 'silver/customer_search/etl_date=2022-06-01/part-20261127T101010-ab12cd34-0123abcd.parquet',
        UploadId: '1',
      },
      { Key: 'spark/events/etl_date=2022-06-01/part-00000-1b2c.snappy.parquet', UploadId: '2' },
      { Key: 'exports/big.csv', UploadId: '3' },
      { Key: 'bronze/customer_search/etl_date=2022-06-01/part-r1-0123abcd.parquet' },
    ];
    const owns = (key: string) => isOwnPartitionFile(key);
    expect(ownUploads(uploads, owns).map((u) => u.UploadId)).toEqual(['1']);
  });
});

// s3rver deletes every key it is asked to: a store refusing some (S3 without s3:DeleteObject) is faked.
describe('deleting keys the store refuses one by one', () => {
  const refusing = (errors: { Key: string; Code: string; Message: string }[]) =>
    ({ send: async () => ({ Errors: errors, $metadata: { httpStatusCode: 200 } }) }) as unknown as S3Client;
  const keys = ['lake/a.parquet', 'lake/b.parquet', 'lake/c.parquet'];

  // DeleteObjects answers 200 with the refused keys under Errors: they were counted as removed.
  it('fails naming the first key refused and why, as a refused request does', async () => {
    const denied = await deleteKeys(
      refusing([{ Key: 'lake/b.parquet', Code: 'AccessDenied', Message: 'Access Denied' }]),
      'bkt',
      keys,
    ).catch((e: LakehouseError) => e);
    expect(denied).toMatchObject({
      code: 'STORAGE_ACCESS_DENIED',
      details: { bucket: 'bkt', key: 'lake/b.parquet', s3Error: 'AccessDenied' },
    });
    expect((denied as LakehouseError).message).toMatch(
      /^Cannot delete s3:\/\/bkt\/lake\/b\.parquet: access denied \(AccessDenied\)\. .*s3:DeleteObject/,
    );
    const failing = await deleteKeys(
      refusing([
        { Key: 'lake/a.parquet', Code: 'InternalError', Message: 'We encountered an internal error' },
        { Key: 'lake/c.parquet', Code: 'InternalError', Message: 'We encountered an internal error' },
      ]),
      'bkt',
      keys,
    ).catch((e: LakehouseError) => e);
    expect(failing).toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { key: 'lake/a.parquet' } });
    expect((failing as LakehouseError).message).toContain(
      'InternalError: We encountered an internal error (and 1 more of 3 keys)',
    );
    await expect(deleteKeys(refusing([]), 'bkt', keys)).resolves.toBeUndefined();
  });
});

describe('S3 transfers against s3rver', () => {
  let s3: S3Server;
  let work: string;

  beforeAll(async () => {
    useS3rverCredentials();
    s3 = await startS3Server(['data']);
    work = await tempDir('lakehouse-storage-');
  });
  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL_S3;
    await s3?.close();
    await removeDir(work);
  });

  it('takes the endpoint from AWS_ENDPOINT_URL_S3, as the SDK does', async () => {
    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    try {
      const client = createS3Client();
      await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'env/x.txt', Body: 'x' }));
      expect((await listObjects(client, 'data', 'env/')).objects.map((o) => o.key)).toEqual(['env/x.txt']);
    } finally {
      delete process.env.AWS_ENDPOINT_URL_S3;
    }
  });

  it('lists everything from a server that pages without a continuation token, and refuses one that cannot go on', async () => {
    const plain = createS3Client({ endpoint: s3.endpoint });
    const keys = [
      'paged/a.txt',
      'paged/b.txt',
      'paged/day=1/x.txt',
      'paged/day=2/x.txt',
      'paged/day=2/y.txt',
      'paged/z.txt',
    ];
    for (const key of keys) await plain.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: 'x' }));
    const proxy = await startFaultProxy(s3.endpoint);
    try {
      const client = createS3Client({ endpoint: proxy.endpoint });
      proxy.pageListingsWithoutToken(2);
      expect((await listObjects(client, 'data', 'paged/')).objects.map((o) => o.key)).toEqual(keys);
      // With a delimiter a page ends on a common prefix: the next one starts past every key under it.
      expect(await listObjects(client, 'data', 'paged/', '/')).toMatchObject({
        objects: ['paged/a.txt', 'paged/b.txt', 'paged/z.txt'].map((key) => ({ key })),
        prefixes: ['paged/day=1/', 'paged/day=2/'],
      });
      // A page with nothing in it cannot say where to go on: an error, never a listing cut short unsaid.
      proxy.pageListingsWithoutToken(0);
      await expect(listObjects(client, 'data', 'paged/')).rejects.toThrow(
        /Cannot list s3:\/\/data\/paged\/: the server says its answer is cut short but gives no way to ask for the rest/,
      );
    } finally {
      await proxy.close();
    }
  });

  it('uploads a large file in parts and downloads it byte for byte', async () => {
    const proxy = await startFaultProxy(s3.endpoint);
    const requests: string[] = [];
    proxy.onRequest((method, url) =>
      requests.push(`${method} ${url.replace(/uploadId=[^&]+/, 'uploadId=ID')}`),
    );
    // Every 3rd request fails once (a part, the completion...): parts are retried one by one.
    proxy.configure({ every: 3, faults: ['slowdown', 'drop'] });
    const client = createS3Client({ endpoint: proxy.endpoint });
    const file = join(work, 'big.bin');
    const content = randomBytes(17 * 1024 * 1024 + 123);
    await writeFile(file, content);
    await uploadFile(client, 'data', 'big/big.bin', file);
    await proxy.close();
    expect(requests.filter((r) => r.startsWith('POST /data/big/big.bin?uploads'))).toHaveLength(1);
    expect(new Set(requests.filter((r) => r.startsWith('PUT /data/big/big.bin?partNumber=')))).toEqual(
      new Set([
        'PUT /data/big/big.bin?partNumber=1&uploadId=ID&x-id=UploadPart',
        'PUT /data/big/big.bin?partNumber=2&uploadId=ID&x-id=UploadPart',
      ]),
    );
    expect(proxy.stats.slowdown + proxy.stats.drop).toBeGreaterThan(0);
    const plain = createS3Client({ endpoint: s3.endpoint });
    const [object] = (await listObjects(plain, 'data', 'big/')).objects;
    expect(object?.size).toBe(content.length);
    let received = 0;
    await downloadObject(plain, object as S3ObjectInfo, join(work, 'big.copy'), (n) => {
      received += n;
    });
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(digest(await readFile(join(work, 'big.copy')))).toBe(digest(content));
    expect(received).toBe(content.length);
  }, 60_000);

  it('caches by bucket, key and ETag, reports bytes, and evicts the least recently used beyond its limit', async () => {
    const client = createS3Client({ endpoint: s3.endpoint });
    const put = (key: string, body: string) =>
      client.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: body }));
    const objectsOf = async (...keys: string[]) => {
      const all = (await listObjects(client, 'data', 'cache/')).objects;
      return keys.map((k) => all.find((o) => o.key === `cache/${k}`) as S3ObjectInfo);
    };
    await put('cache/a.csv', 'a'.repeat(1000));
    await put('cache/b.csv', 'b'.repeat(1000));
    await put('cache/c.csv', 'c'.repeat(1000));
    const cache = createObjectCache(() => client, { dir: join(work, 'cache'), maxBytes: 2500 });
    const progress: TransferProgress[] = [];
    const [a1, b1] = await cache.fetch(await objectsOf('a.csv', 'b.csv'), (p) => progress.push(p));
    expect(await readFile(a1 as string, 'utf8')).toBe('a'.repeat(1000));
    expect(progress.at(-1)).toEqual({ doneBytes: 2000, totalBytes: 2000, cachedBytes: 0, files: 2 });

    // Unchanged: served from the cache. Changed (new ETag): fetched again.
    progress.length = 0;
    await new Promise((r) => setTimeout(r, 20));
    await cache.fetch(await objectsOf('a.csv'), (p) => progress.push(p));
    expect(progress.at(-1)?.cachedBytes).toBe(1000);
    await put('cache/a.csv', 'A'.repeat(1000));
    progress.length = 0;
    const [a2] = await cache.fetch(await objectsOf('a.csv'), (p) => progress.push(p));
    expect(progress.at(-1)?.cachedBytes).toBe(0);
    expect(await readFile(a2 as string, 'utf8')).toBe('A'.repeat(1000));
    expect(a2).not.toBe(a1);

    // Over the limit (a1, b1, a2 = 3000 bytes): the least recently used (b1, then the stale a1) go.
    await new Promise((r) => setTimeout(r, 20));
    const [c1] = await cache.fetch(await objectsOf('c.csv'));
    expect(await cache.size()).toBeLessThanOrEqual(2500);
    const exists = (path: string | undefined) =>
      readFile(path as string).then(
        () => true,
        () => false,
      );
    expect(await exists(b1)).toBe(false);
    expect(await exists(c1)).toBe(true);
    expect(await exists(a2)).toBe(true);
  });

  // s3.cache_dir comes from lakehouse.yaml: a project pointing it at a folder of the user's own files
  // must not have eviction delete them.
  it('evicts only its own entries from a cache folder that holds other files', async () => {
    const client = createS3Client({ endpoint: s3.endpoint });
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'shared/x.csv', Body: 'x'.repeat(1000) }));
    const [object] = (await listObjects(client, 'data', 'shared/')).objects;
    const dir = join(work, 'shared-cache');
    const own = [
      join(dir, 'docs', 'notes.txt'),
      join(dir, 'ab', 'plan.txt'),
      join(dir, 'cd', 'cd12-old.txt'),
    ];
    for (const file of own) {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, 'mine'.repeat(500));
    }
    const cache = createObjectCache(() => client, { dir, maxBytes: 10 });
    const [fetched] = await cache.fetch([object as S3ObjectInfo]);
    expect(await readFile(fetched as string, 'utf8')).toBe('x'.repeat(1000));
    for (const file of own) expect(await readFile(file, 'utf8')).toBe('mine'.repeat(500));
    expect(await cache.size()).toBe(1000);
  });

  // A cache folder that cannot be written is a setting to fix, not a store to retry (it used to fail as
  // a raw ENOTDIR, or as "the store is throttling or failing" after four download attempts).
  it('names the cache folder it cannot write, and what to do, without retrying the store', async () => {
    const client = createS3Client({ endpoint: s3.endpoint });
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'ro/x.csv', Body: 'x'.repeat(100) }));
    const [object] = (await listObjects(client, 'data', 'ro/')).objects;
    const blocker = join(work, 'a-file');
    await writeFile(blocker, 'not a folder');
    const under = createObjectCache(() => client, { dir: join(blocker, 'cache') });
    const refused = await under.fetch([object as S3ObjectInfo]).catch((e: LakehouseError) => e);
    expect(refused).toMatchObject({ code: 'PROJECT_INVALID', details: { fsError: 'ENOTDIR' } });
    expect((refused as LakehouseError).message).toMatch(
      /^Cannot create the S3 object cache folder .*a-file\/cache \(s3\.cache_dir in lakehouse\.yaml.*writable folder/,
    );

    // The folder exists but a file stands where the object's shard folder goes.
    const dir = join(work, 'blocked-cache');
    const cache = createObjectCache(() => client, { dir });
    await mkdir(dir, { recursive: true });
    const [shard] = (await cache.fetch([object as S3ObjectInfo])).map((p) => dirname(p as string));
    await removeDir(dir);
    await mkdir(dir, { recursive: true });
    await writeFile(shard as string, 'not a folder');
    const requests: string[] = [];
    const proxy = await startFaultProxy(s3.endpoint);
    proxy.onRequest((method, url) => requests.push(`${method} ${url}`));
    try {
      const viaProxy = createObjectCache(() => createS3Client({ endpoint: proxy.endpoint }), { dir });
      const error = await viaProxy.fetch([object as S3ObjectInfo]).catch((e: LakehouseError) => e);
      expect(error).toMatchObject({ code: 'PROJECT_INVALID', details: { key: 'ro/x.csv' } });
      expect((error as LakehouseError).message).toMatch(
        /^Cannot write .*blocked-cache.* to fetch s3:\/\/data\/ro\/x\.csv: (ENOTDIR|EEXIST), .*Make the folder writable/,
      );
      expect(requests.filter((r) => r.startsWith('GET /data/ro/x.csv'))).toHaveLength(0);
    } finally {
      await proxy.close();
    }
  });

  // A key whose last segment is over ~216 characters (legal on S3 and on disk) made a cache file name
  // past 255 bytes with the temp suffix: every fetch failed, as an internal error about the clean-up.
  it('fetches an object with a long name, keeping its extension, and names a path too long to write', async () => {
    const client = createS3Client({ endpoint: s3.endpoint });
    const key = `long/${'a'.repeat(225)}.csv`;
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: 'id,t\n1,x\n' }));
    const [object] = (await listObjects(client, 'data', 'long/')).objects;
    const cache = createObjectCache(() => client, { dir: join(work, 'long-cache') });
    const [fetched] = await cache.fetch([object as S3ObjectInfo]);
    expect(await readFile(fetched as string, 'utf8')).toBe('id,t\n1,x\n');
    expect(basename(fetched as string)).toMatch(/^[0-9a-f]{24}-a+\.csv$/);
    expect(basename(fetched as string).length).toBeLessThanOrEqual(130);

    // Where the disk still refuses the name (the temp file's is 14 bytes longer): a setting to fix.
    const error = await downloadObject(client, object as S3ObjectInfo, join(work, 'b'.repeat(250))).catch(
      (e: LakehouseError) => e,
    );
    expect(error).toMatchObject({ code: 'PROJECT_INVALID', details: { fsError: 'ENAMETOOLONG', key } });
    expect((error as LakehouseError).message).toMatch(
      /: ENAMETOOLONG, the path is too long for the local file system\. Use a folder with a shorter path/,
    );
  });

  // Eviction by a second cache on the folder (a Test connection beside a run) took the temp file of a
  // download in progress for an entry and deleted it: the download failed and started over.
  it("never evicts a download's temp file, but clears one a killed process left", async () => {
    const client = createS3Client({ endpoint: s3.endpoint });
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'temp/x.csv', Body: 'x'.repeat(1000) }));
    const [object] = (await listObjects(client, 'data', 'temp/')).objects;
    const dir = join(work, 'temp-cache');
    // As downloadObject names them: `<entry>.part-<8 hex>`.
    const writing = join(dir, '12', `12${'3'.repeat(22)}-big.parquet.part-0a1b2c3d`);
    const abandoned = join(dir, '45', `45${'6'.repeat(22)}-old.parquet.part-deadbeef`);
    for (const file of [writing, abandoned]) {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, 'p'.repeat(5000));
    }
    const longAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(abandoned, longAgo, longAgo);
    const cache = createObjectCache(() => client, { dir, maxBytes: 1500 });
    await cache.fetch([object as S3ObjectInfo]);
    expect(existsSync(writing)).toBe(true);
    expect(existsSync(abandoned)).toBe(false);
    expect(await cache.size()).toBe(1000);
  });

  // Holds are in memory: another process sharing s3.cache_dir evicted the reference file a run here
  // still read, and the run's next date failed on a file gone.
  it('spares files another process used lately, which its holds cannot tell', async () => {
    const client = createS3Client({ endpoint: s3.endpoint });
    for (const name of ['held.csv', 'other.csv'])
      await client.send(
        new PutObjectCommand({ Bucket: 'data', Key: `shared-use/${name}`, Body: 'y'.repeat(600) }),
      );
    const [held] = (await listObjects(client, 'data', 'shared-use/held.csv')).objects;
    const dir = join(work, 'shared-use-cache');
    const cache = createObjectCache(() => client, { dir, maxBytes: 1000 });
    const hold = holdCachedFiles();
    try {
      const [file] = await hold.during(() => cache.fetch([held as S3ObjectInfo]));
      const other = await runTs('test/storage/cache-other-process.ts', [
        dir,
        '1000',
        s3.endpoint,
        'data',
        'shared-use/other.csv',
      ]);
      expect(other.code, other.stderr).toBe(0);
      expect(await readFile(other.stdout.trim(), 'utf8')).toBe('y'.repeat(600));
      expect(await readFile(file as string, 'utf8')).toBe('y'.repeat(600));
    } finally {
      hold.release();
    }
  });

  // With an S3 override (the app's source form), Test connection fetched into .lakehouse/s3-cache with
  // the default 10 GB limit, whatever s3.cache_dir and s3.cache_max_gb said.
  it('tests a source with S3 overrides in the cache folder and within the limit lakehouse.yaml sets', async () => {
    const client = createS3Client({ endpoint: s3.endpoint });
    await client.send(
      new PutObjectCommand({ Bucket: 'data', Key: 'probe/titles.csv', Body: 'id,title\n1,x\n' }),
    );
    const dir = join(work, 'probe-project');
    const cacheDir = join(work, 'probe-cache');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'lakehouse.yaml'),
      'name: p\nsources:\n  titles: {kind: file, path: s3://data/probe/titles.csv}\n' +
        `s3:\n  endpoint: ${s3.endpoint}\n  cache_dir: ${cacheDir}\n  cache_max_gb: 0.000001\n`,
    );
    // An entry of an earlier fetch, long unused: beyond the ~1 KB limit, it goes.
    const stale = join(cacheDir, 'ab', `ab${'0'.repeat(22)}-old.csv`);
    await mkdir(dirname(stale), { recursive: true });
    await writeFile(stale, 'x'.repeat(2000));
    const old = new Date(Date.now() - 7 * 24 * 3_600_000);
    await utimes(stale, old, old);
    const project = await loadProject(dir);
    const probe = await probeSource(project, { name: 'titles', s3: { region: 'eu-west-1' } });
    expect(probe).toMatchObject({ ok: true, objects: 1 });
    expect(existsSync(join(dir, '.lakehouse', 's3-cache'))).toBe(false);
    expect(existsSync(stale)).toBe(false);
    expect(await project.storage.cache.size()).toBe(13);
  });

  // The download is pinned to the listed ETag (If-Match): an object replaced since it was listed gets
  // S3's 412, which read as "the store is throttling or failing after retries".
  it('says an object changed while it was fetched, and to re-run, when S3 answers 412 to If-Match', async () => {
    const client = createS3Client({ endpoint: s3.endpoint });
    await client.send(
      new PutObjectCommand({ Bucket: 'data', Key: 'moving/x.parquet', Body: 'x'.repeat(100) }),
    );
    const [object] = (await listObjects(client, 'data', 'moving/')).objects;
    const proxy = await startFaultProxy(s3.endpoint);
    try {
      proxy.configure({ every: 1, faults: ['changed'], match: (method) => method === 'GET' });
      const cache = createObjectCache(() => createS3Client({ endpoint: proxy.endpoint }), {
        dir: join(work, 'moving-cache'),
      });
      const error = await cache.fetch([object as S3ObjectInfo]).catch((e: LakehouseError) => e);
      expect(error).toMatchObject({ code: 'SOURCE_UNREADABLE', details: { key: 'moving/x.parquet' } });
      expect((error as LakehouseError).message).toMatch(
        /^Cannot download s3:\/\/data\/moving\/x\.parquet: it changed since it was listed .*re-run/,
      );
      expect(proxy.stats.changed).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  // With path style off, the SDK puts the bucket in the host name (raw.localhost), which a custom
  // endpoint's DNS does not know: it read as "the store is throttling or failing".
  it('says to use path-style addressing when the bucket in the host name does not resolve', async () => {
    const port = new URL(s3.endpoint).port;
    const virtual = createS3Client({
      endpoint: `http://localhost:${port}`,
      force_path_style: false,
      max_attempts: 1,
    });
    const error = await listObjects(virtual, 'data', '').catch((e: LakehouseError) => e);
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { host: 'data.localhost' } });
    expect((error as LakehouseError).message).toMatch(
      /^Cannot list s3:\/\/data\/: host data\.localhost does not resolve\. .*set s3\.force_path_style: true/,
    );
    const unknownHost = createS3Client({ endpoint: 'http://no-such-host.invalid:9000', max_attempts: 1 });
    const other = await listObjects(unknownHost, 'data', '').catch((e: LakehouseError) => e);
    expect((other as LakehouseError).message).toMatch(
      /host no-such-host\.invalid does not resolve\. Check s3\.endpoint/,
    );
    const path = createS3Client({ endpoint: `http://localhost:${port}`, max_attempts: 1 });
    expect(Array.isArray((await listObjects(path, 'data', '')).objects)).toBe(true);
  });
});
