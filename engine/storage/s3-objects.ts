import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { LakehouseError } from '../api/errors.ts';
import { s3Sdk, s3UploadSdk } from './aws-sdk.ts';
import { s3Failure } from './s3-client.ts';
import { s3Uri } from './s3-uri.ts';

export interface S3ObjectInfo {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  /** LastModified in ms since the epoch; absent when the store gives none. */
  modifiedMs?: number;
}

export interface S3Listing {
  objects: S3ObjectInfo[];
  /** With a delimiter: the "sub-folders" under the prefix, as full key prefixes ending in '/'. */
  prefixes: string[];
}

/** Lists every object (and, with `delimiter`, every common prefix) under a key prefix, page by page. */
export async function listObjects(
  client: S3Client,
  bucket: string,
  prefix: string,
  delimiter?: string,
): Promise<S3Listing> {
  const listing: S3Listing = { objects: [], prefixes: [] };
  let token: string | undefined;
  let startAfter: string | undefined;
  let resumedAfter: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await client.send(
        new (s3Sdk().ListObjectsV2Command)({
          Bucket: bucket,
          Prefix: prefix,
          Delimiter: delimiter,
          ContinuationToken: token,
          StartAfter: token === undefined ? startAfter : undefined,
        }),
      );
    } catch (error) {
      throw s3Failure(error, { bucket, key: prefix, action: 'list' });
    }
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined) continue;
      const modified = o.LastModified ? { modifiedMs: o.LastModified.getTime() } : {};
      listing.objects.push({
        bucket,
        key: o.Key,
        size: o.Size ?? 0,
        etag: unquote(o.ETag ?? ''),
        ...modified,
      });
    }
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) listing.prefixes.push(p.Prefix);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    startAfter = undefined;
    if (page.IsTruncated && !token) {
      // Some S3-compatible servers page without a continuation token (as ListObjects v1 did): go on
      // after the page's last entry rather than end the listing early and miss objects unsaid.
      const next = lastListed(page);
      if (next === undefined || (resumedAfter !== undefined && next <= resumedAfter)) {
        throw new LakehouseError(
          'STORAGE_UNAVAILABLE',
          `Cannot list ${s3Uri(bucket, prefix)}: the server says its answer is cut short but gives no way to ` +
            'ask for the rest (no continuation token, and no entry to go on after). Check that the endpoint ' +
            '(s3.endpoint / AWS_ENDPOINT_URL_S3) is an S3-compatible server supporting ListObjectsV2.',
          { bucket, key: prefix, action: 'list' },
        );
      }
      startAfter = next;
      resumedAfter = next;
    }
  } while (token || startAfter);
  return listing;
}

/**
 * Where a listing without a continuation token goes on: after the page's greatest key, or past every
 * key under its greatest common prefix (U+10FFFF sorts after any character a key can hold).
 */
function lastListed(page: ListObjectsV2CommandOutput): string | undefined {
  const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
  const prefixes = (page.CommonPrefixes ?? []).flatMap((p) => (p.Prefix ? [`${p.Prefix}\u{10FFFF}`] : []));
  return [...keys, ...prefixes].sort().at(-1);
}

/**
 * The ending downloadObject gives its temp file (`<destination>.part-<8 hex>`): a process killed
 * mid-download leaves that file behind, for the owner of the folder to delete.
 */
export const DOWNLOAD_TEMP_SUFFIX = /\.part-[0-9a-f]{8}$/;

/**
 * Downloads one object to `destination` via a temp file renamed at the end, so a dropped
 * connection never leaves a truncated file in place. `If-Match` pins the listed version: an object
 * replaced meanwhile fails instead of mixing versions. Body errors are retried (the SDK retries only
 * until the response headers arrive).
 */
export async function downloadObject(
  client: S3Client,
  object: S3ObjectInfo,
  destination: string,
  onBytes: (bytes: number) => void = () => undefined,
  attempts = 4,
): Promise<void> {
  await mkdir(dirname(destination), { recursive: true }).catch((error: unknown) => {
    throw localWriteFailure(error, destination, object) ?? error;
  });
  for (let attempt = 1; ; attempt++) {
    const temp = `${destination}.part-${randomUUID().slice(0, 8)}`;
    let received = 0;
    try {
      const response = await client.send(
        new (s3Sdk().GetObjectCommand)({
          Bucket: object.bucket,
          Key: object.key,
          IfMatch: object.etag ? `"${object.etag}"` : undefined,
        }),
      );
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          received += chunk.length;
          onBytes(chunk.length);
          done(null, chunk);
        },
      });
      await pipeline(response.Body as Readable, counter, createWriteStream(temp));
      const size = (await stat(temp)).size;
      if (size !== object.size) throw new Error(`truncated body: ${size} of ${object.size} bytes`);
      await rename(temp, destination);
      return;
    } catch (error) {
      // Never throws itself: an unremovable temp (a name too long, a folder gone) must not hide why it failed.
      await rm(temp, { force: true }).catch(() => undefined);
      onBytes(-received);
      // The local disk refusing the bytes is no fault of the store: retrying cannot help.
      const local = localWriteFailure(error, temp, object);
      if (local) throw local;
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const permanent = status !== undefined && status >= 300 && status < 500;
      if (permanent || attempt >= attempts) {
        throw s3Failure(error, { bucket: object.bucket, key: object.key, action: 'download' });
      }
      await sleep(200 * 2 ** attempt * (0.5 + Math.random()));
    }
  }
}

/** Errors of the local file system that retrying a download cannot fix. */
const LOCAL_WRITE_ERRORS = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOTDIR',
  'EEXIST',
  'EISDIR',
  'ENOSPC',
  'EDQUOT',
  'ENAMETOOLONG',
]);

/** The error naming the local file a fetched object could not be written to, or undefined for another error. */
export function localWriteFailure(
  error: unknown,
  file: string,
  object: S3ObjectInfo,
): LakehouseError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined || !LOCAL_WRITE_ERRORS.has(code)) return undefined;
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  const long = code === 'ENAMETOOLONG';
  const problem = full
    ? 'the local disk is full'
    : long
      ? 'the path is too long for the local file system'
      : 'the local disk is read-only there, or a file stands where a folder should be';
  const fix = full
    ? 'Free some space'
    : long
      ? 'Use a folder with a shorter path'
      : 'Make the folder writable';
  return new LakehouseError(
    'PROJECT_INVALID',
    `Cannot write ${file} to fetch ${s3Uri(object.bucket, object.key)}: ${code}, ${problem}. ` +
      `${fix} and re-run (sources are fetched to s3.cache_dir of ` +
      "lakehouse.yaml, default .lakehouse/s3-cache, which may name another folder; an S3 lake's files to .lakehouse/lake-mirror).",
    { path: file, bucket: object.bucket, key: object.key, fsError: code },
  );
}

/**
 * Uploads a local file under `key`: one PUT for small files, multipart (parts retried one by one)
 * for large ones. The object only becomes visible when the upload completes; on failure the
 * multipart upload is aborted.
 */
export async function uploadFile(client: S3Client, bucket: string, key: string, file: string): Promise<void> {
  const upload = new (s3UploadSdk().Upload)({
    client,
    params: {
      Bucket: bucket,
      Key: key,
      Body: createReadStream(file),
      ContentType: 'application/octet-stream',
    },
    partSize: 16 * 1024 * 1024,
    queueSize: 4,
    leavePartsOnError: false,
  });
  try {
    await upload.done();
  } catch (error) {
    throw s3Failure(error, { bucket, key, action: 'upload' });
  }
}

export async function putText(client: S3Client, bucket: string, key: string, body: string): Promise<void> {
  try {
    await client.send(
      new (s3Sdk().PutObjectCommand)({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    throw s3Failure(error, { bucket, key, action: 'write' });
  }
}

export async function getText(client: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const response = await client.send(new (s3Sdk().GetObjectCommand)({ Bucket: bucket, Key: key }));
    return await (response.Body as { transformToString(): Promise<string> }).transformToString();
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchKey') return undefined;
    throw s3Failure(error, { bucket, key, action: 'read' });
  }
}

/**
 * Deletes keys in batches of 1000; fails on the first key the store would not delete. DeleteObjects
 * answers 200 even then, listing such keys under Errors (how S3 refuses s3:DeleteObject): unread, a lake
 * without that permission counted its replaced files as removed while they stayed in the bucket.
 */
export async function deleteKeys(client: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    let errors: { Key?: string | undefined; Code?: string | undefined; Message?: string | undefined }[];
    try {
      const response = await client.send(
        new (s3Sdk().DeleteObjectsCommand)({
          Bucket: bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      errors = response.Errors ?? [];
    } catch (error) {
      throw s3Failure(error, { bucket, key: batch[0], action: 'delete' });
    }
    const [first] = errors;
    if (first) {
      const others = errors.length > 1 ? ` (and ${errors.length - 1} more of ${batch.length} keys)` : '';
      throw s3Failure(
        {
          name: first.Code ?? 'DeleteError',
          message: `${first.Message ?? first.Code ?? 'not deleted'}${others}`,
        },
        { bucket, key: first.Key ?? batch[0], action: 'delete' },
      );
    }
  }
}

/** An unfinished multipart upload as ListMultipartUploads names it. */
export interface PendingUpload {
  Key?: string | undefined;
  UploadId?: string | undefined;
}

/**
 * The uploads of `uploads` that are the engine's own (`owns` the key): a lake at a bucket's root shares
 * its prefix with other tools, whose uploads in progress must not be cancelled.
 */
export function ownUploads(
  uploads: readonly PendingUpload[],
  owns: (key: string) => boolean,
): { Key: string; UploadId: string }[] {
  return uploads.flatMap((u) =>
    u.Key && u.UploadId && owns(u.Key) ? [{ Key: u.Key, UploadId: u.UploadId }] : [],
  );
}

/**
 * Aborts the engine's multipart uploads under a prefix that a killed process left behind (their parts
 * cost storage but are never visible). Stores without ListMultipartUploads (s3rver) are skipped.
 */
export async function abortStaleUploads(
  client: S3Client,
  bucket: string,
  prefix: string,
  owns: (key: string) => boolean,
): Promise<number> {
  let aborted = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  try {
    do {
      const page = await client.send(
        new (s3Sdk().ListMultipartUploadsCommand)({
          Bucket: bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const u of ownUploads(page.Uploads ?? [], owns)) {
        await client.send(
          new (s3Sdk().AbortMultipartUploadCommand)({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }),
        );
        aborted++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NotImplemented' || name === 'MethodNotAllowed') return aborted;
    throw s3Failure(error, { bucket, key: prefix, action: 'list uploads under' });
  }
  return aborted;
}

export function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `task` over items with at most `limit` in flight; rejects with the first failure. */
export async function forEachParallel<T>(
  items: T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
