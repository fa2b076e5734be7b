import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { counted } from '../api/counted.ts';
import { LakehouseError } from '../api/errors.ts';
import { syncFile, syncFoldersUpTo } from './atomic-file.ts';
import {
  abortStaleUploads,
  deleteKeys,
  downloadObject,
  forEachParallel,
  getText,
  listObjects,
  putText,
  type S3ObjectInfo,
  uploadFile,
} from './s3-objects.ts';
import { isS3Uri, joinKey, parseS3Uri } from './s3-uri.ts';

/** One committed partition, as the manifest of an S3 lake lists it. */
export interface CommittedPartition {
  relation: string;
  etl_date: string;
  /** Relative to the lake root, '/'-separated. */
  path: string;
  rows: number;
}

/**
 * Where partition files live. DuckDB always reads and writes them under `localRoot`: the lake
 * itself on local disk, or the local mirror of an S3 lake. For S3, a written file is uploaded under
 * its unique name (`store`, awaited by `flush` before the warehouse commits) and becomes visible to
 * other readers only when `sync` publishes the manifest after the commit.
 */
export interface LakeStorage {
  readonly localRoot: string;
  /** The lake as the user named it (a folder or s3://bucket/prefix). */
  readonly location: string;
  /** Starts making a freshly written partition file durable in the lake (relative path). */
  store(relPath: string): void;
  /** Waits for every `store` since the last flush; throws the first failure. */
  flush(): Promise<void>;
  /**
   * Makes committed files present under `localRoot`, fetching what an S3 lake's mirror lacks. Returns
   * those the lake itself does not hold (deleted by hand, left out of a copy), for the caller to name.
   */
  ensureLocal(relPaths: string[]): Promise<string[]>;
  /** Where a file of the lake lives, as messages name it: a local path or an s3:// URI. */
  uriOf(relPath: string): string;
  /**
   * Publishes the committed partitions and removes lake objects none of them names (and stale
   * multipart uploads). Returns how many objects were removed. A no-op on local disk.
   */
  sync(committed: CommittedPartition[]): Promise<number>;
}

/** The files (relative to `root`, or absolute) that are not a file on local disk. */
async function absentUnder(root: string, paths: string[]): Promise<string[]> {
  const found = await Promise.all(
    paths.map(async (path) => {
      const file = await stat(isAbsolute(path) ? path : join(root, path)).catch(() => undefined);
      return file?.isFile() ? undefined : path;
    }),
  );
  return found.filter((p): p is string => p !== undefined);
}

/**
 * Starts a piece of work whose failure `flushPending` reports; until then an early failure is not an
 * unhandled rejection.
 */
function startPending(pending: Promise<void>[], work: Promise<void>): void {
  work.catch(() => undefined);
  pending.push(work);
}

/** Waits for every piece of work started since the last call (all settle first); throws the first failure. */
async function flushPending(pending: Promise<void>[]): Promise<void> {
  const started = pending.splice(0);
  const failed = (await Promise.allSettled(started)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * A lake on local disk: files are written in place, nothing to upload or publish. Each new partition file
 * is flushed to the disk (fsync) while the date's later models run; before the warehouse commits the
 * pointers, those flushes are awaited and the files' folders flushed: after a power cut, a committed date
 * never names a file with missing bytes.
 */
export function localLake(root: string): LakeStorage {
  if (isS3Uri(root)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `The lake ${root} is on S3 but no S3 storage was configured for it; open the project through createEngine.`,
      { lake: root },
    );
  }
  const pending: Promise<void>[] = [];
  let stored: string[] = [];
  return {
    localRoot: root,
    location: root,
    store(relPath) {
      const file = join(root, relPath);
      stored.push(file);
      startPending(pending, syncFile(file));
    },
    async flush() {
      const files = stored;
      stored = [];
      await flushPending(pending);
      // Once for the date's files together: they share the lake's and their layer's folders.
      await syncFoldersUpTo(root, files);
    },
    ensureLocal: (relPaths) => absentUnder(root, relPaths),
    uriOf: (relPath) => (isAbsolute(relPath) ? relPath : join(root, relPath)),
    async sync() {
      return 0;
    },
  };
}

/**
 * Whether a path relative to the lake root is a partition file as the engine names them
 * (`<schema>/<table>/etl_date=D/part-<run>-<8 hex>.parquet`). Only those are ever deleted: the lake's
 * bucket or prefix may hold another tool's hive-partitioned output (Spark's `part-00000-....parquet`).
 */
export function isOwnPartitionFile(relPath: string): boolean {
  return /^[^/]+\/[^/]+\/etl_date=\d{4}-\d{2}-\d{2}\/part-[^/]+-[0-9a-f]{8}\.parquet$/.test(relPath);
}

/** The key of the manifest an S3 lake publishes last, listing its committed partition files. */
export const MANIFEST_KEY = '_lakehouse/manifest.json';

/**
 * A lake under s3://bucket/prefix with a local mirror folder. Part files carry unique names and are
 * never overwritten; `_lakehouse/manifest.json`, one small object replaced in a single PUT after the
 * warehouse commit, names the committed ones. A reader (another machine) reads the manifest and then
 * fetches the files it names, so it sees the previous commit or the next, never a half-written one.
 */
export function s3Lake(location: string, mirror: string, client: () => S3Client): LakeStorage {
  const { bucket, prefix } = parseS3Uri(location);
  const keyOf = (relPath: string) => joinKey(prefix, relPath.split('\\').join('/'));
  const manifestMirror = join(mirror, MANIFEST_KEY);
  const pending: Promise<void>[] = [];

  /**
   * A first sync from this warehouse must not wipe a lake another warehouse wrote (a fresh project, or
   * a deleted warehouse, pointed at a used prefix): its files would all look like garbage. Nor one another
   * project published to since this one last did (two projects opened on one empty prefix). Files the
   * manifest names but S3 no longer holds are no one's data: `lakehouse repair` just forgot them.
   */
  const refuseForeignLake = async (committed: CommittedPartition[], published: string | undefined) => {
    const remote = await getText(client(), bucket, keyOf(MANIFEST_KEY));
    // Unchanged since this warehouse published it: the files it names that are gone from ours are
    // replaced partitions, this sync's garbage.
    if (remote === undefined || remote === published) return;
    const ours = new Set(committed.map((c) => c.path));
    const theirs = ((JSON.parse(remote) as { partitions?: { path: string }[] }).partitions ?? []).map(
      (p) => p.path,
    );
    const notOurs = theirs.filter((p) => !ours.has(p));
    if (notOurs.length === 0) return;
    const listing = await listObjects(client(), bucket, prefix === '' ? '' : `${prefix}/`);
    const held = new Set(listing.objects.map((o) => o.key));
    const foreign = notOurs.filter((p) => held.has(keyOf(p)));
    if (foreign.length > 0) {
      throw new LakehouseError(
        'PROJECT_INVALID',
        `The lake ${location} holds ${counted(foreign.length, 'partition file')} this project's warehouse does not know (e.g. ${foreign[0]}): ` +
          'another project writes to it, or this warehouse was deleted. Nothing was changed. Point lake: in lakehouse.yaml at another prefix, ' +
          'or open the project (warehouse) that wrote it.',
        { lake: location, foreign: foreign.length },
      );
    }
  };

  return {
    localRoot: mirror,
    location,
    store(relPath) {
      startPending(pending, uploadFile(client(), bucket, keyOf(relPath), join(mirror, relPath)));
    },
    // Every upload settles first, so the cleanup after a failure sees all of them.
    flush: () => flushPending(pending),
    async ensureLocal(relPaths) {
      const unmirrored = await absentUnder(mirror, relPaths);
      if (unmirrored.length === 0) return [];
      const listing = await listObjects(client(), bucket, prefix === '' ? '' : `${prefix}/`);
      const byKey = new Map(listing.objects.map((o) => [o.key, o]));
      // A file gone from S3 too is the caller's to name (and `lakehouse repair`'s to forget): failing
      // here would lock out the repair that fixes it. The others are fetched all the same.
      const gone: string[] = [];
      const fetches: [S3ObjectInfo, string][] = [];
      for (const relPath of unmirrored) {
        const object = isAbsolute(relPath) ? undefined : byKey.get(keyOf(relPath));
        if (object) fetches.push([object, join(mirror, relPath)]);
        else gone.push(relPath);
      }
      await forEachParallel(fetches, 16, ([object, file]) => downloadObject(client(), object, file));
      return gone;
    },
    uriOf: (relPath) => `s3://${bucket}/${keyOf(relPath)}`,
    async sync(committed) {
      const manifest = `${JSON.stringify(
        { format: 1, partitions: [...committed].sort((a, b) => (a.path < b.path ? -1 : 1)) },
        null,
        1,
      )}\n`;
      const published = await readFile(manifestMirror, 'utf8').catch(() => undefined);
      await refuseForeignLake(committed, published);
      if (published !== manifest) {
        await putText(client(), bucket, keyOf(MANIFEST_KEY), manifest);
        await mkdir(dirname(manifestMirror), { recursive: true });
        await writeFile(manifestMirror, manifest);
      }
      // Only after the manifest stopped naming them may replaced files go.
      const live = new Set(committed.map((c) => keyOf(c.path)));
      const base = prefix === '' ? '' : `${prefix}/`;
      const owns = (key: string) => isOwnPartitionFile(key.slice(base.length));
      const listing = await listObjects(client(), bucket, base);
      const garbage = listing.objects.map((o) => o.key).filter((key) => owns(key) && !live.has(key));
      if (garbage.length > 0) await deleteKeys(client(), bucket, garbage);
      return garbage.length + (await abortStaleUploads(client(), bucket, base, owns));
    },
  };
}
