import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, stat, utimes } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { LakehouseError } from '../api/errors.ts';
import { type CachedFile, DEFAULT_CACHE_BYTES, evictLeastRecentlyUsed } from './lru-files.ts';
import { DOWNLOAD_TEMP_SUFFIX, downloadObject, forEachParallel, type S3ObjectInfo } from './s3-objects.ts';

/** Bytes fetched so far out of the batch's total; `cachedBytes` were already local and skipped. */
export interface TransferProgress {
  doneBytes: number;
  totalBytes: number;
  cachedBytes: number;
  files: number;
}

export interface ObjectCache {
  readonly dir: string;
  /**
   * Makes each object available as a local file (in input order): unchanged objects (same bucket,
   * key and ETag) come from the cache, the rest are downloaded in parallel. Evicts least recently
   * used files beyond the size limit afterwards, never the ones just asked for nor those held (see
   * holdCachedFiles), nor those another process sharing the folder used lately (SHARED_USE_MS).
   */
  fetch(objects: S3ObjectInfo[], onProgress?: (progress: TransferProgress) => void): Promise<string[]>;
  /** Total bytes the cache holds. */
  size(): Promise<number>;
}

/**
 * Cached files a reader still uses beyond the fetch that returned them (a run reads its reference files
 * on every date, and each date's files until its models are done): eviction spares them until released.
 */
export interface CacheHold {
  /** Runs `task`; every file a cache hands out meanwhile is held until `release`. */
  during<T>(task: () => Promise<T>): Promise<T>;
  release(): void;
}

// Process-wide, because two caches (an app's run and a Test connection) may share one folder.
const openHolds = new Set<Set<string>>();
const recordingHold = new AsyncLocalStorage<Set<string>>();

/**
 * Holds are in memory, so another process sharing s3.cache_dir (the CLI beside the app, another project)
 * cannot see them: there, a file whose mtime someone else set within this long counts as in use. Its
 * holds re-touch their files every HOLD_TOUCH_MS to stay within it; a process killed holding files
 * lets them go after it.
 */
const SHARED_USE_MS = 10 * 60 * 1000;
const HOLD_TOUCH_MS = 2 * 60 * 1000;

/**
 * The mtime this process last gave each cache file: a file whose mtime differs was touched by another
 * process since. Process-wide like the holds; an evicted file's entry goes with it.
 */
const ownTouches = new Map<string, number>();

/** Marks a cache file used now (its mtime is its LRU age) and records the mtime as this process's. */
async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now);
  // As the disk stored it: a file system keeping whole seconds would never match `now`.
  ownTouches.set(path, (await stat(path)).mtimeMs);
}

export function holdCachedFiles(): CacheHold {
  const paths = new Set<string>();
  openHolds.add(paths);
  const touching = setInterval(() => {
    for (const path of paths) touch(path).catch(() => undefined);
  }, HOLD_TOUCH_MS);
  touching.unref();
  return {
    during: (task) => recordingHold.run(paths, task),
    release: () => {
      clearInterval(touching);
      openHolds.delete(paths);
    },
  };
}

/**
 * How long a download's temp file must be untouched to be taken for one a killed process left. A live
 * download writes to it at least every 2 minutes (the S3 client's request timeout fails a stalled one,
 * which removes its temp file); an hour leaves room for a machine that slept mid-download.
 */
const ABANDONED_DOWNLOAD_MS = 60 * 60 * 1000;

export interface ObjectCacheOptions {
  dir: string;
  /** Soft limit; default 10 GiB. */
  maxBytes?: number;
  /** Downloads in flight; default 16. */
  parallel?: number;
}

/** The longest object name a cache file keeps: with the digest and a download's temp suffix, far below 255 bytes. */
const MAX_READABLE_NAME = 100;

/**
 * The object's file name as a cache file ends: only for people looking in the folder (the digest keeps
 * it unique), cut to MAX_READABLE_NAME, since a longer key's name made a file name the disk refuses.
 * The extensions stay: DuckDB picks a reader and decompression (`.csv.gz`) by them.
 */
function readableName(key: string): string {
  let name = basename(key).replace(/[^\w.-]/g, '_');
  // An object named like a download's temp file would be taken for one, never evicted.
  if (DOWNLOAD_TEMP_SUFFIX.test(name)) name = `${name}_`;
  if (name.length <= MAX_READABLE_NAME) return name;
  const extensions = /(\.[\w-]{1,16}){1,2}$/.exec(name)?.[0] ?? '';
  return `${name.slice(0, MAX_READABLE_NAME - extensions.length)}${extensions}`;
}

export function createObjectCache(client: () => S3Client, options: ObjectCacheOptions): ObjectCache {
  const maxBytes = options.maxBytes ?? DEFAULT_CACHE_BYTES;
  const parallel = options.parallel ?? 16;
  const pathOf = (o: S3ObjectInfo) => {
    // The ETag is part of the name: a changed object is a new entry; the stale one ages out.
    const digest = createHash('sha256').update(`${o.bucket}\0${o.key}\0${o.etag}`).digest('hex').slice(0, 24);
    return join(options.dir, digest.slice(0, 2), `${digest}-${readableName(o.key)}`);
  };

  // Only entries pathOf names are the cache's: s3.cache_dir may name a folder holding other files (a
  // project file can set it to any folder), and eviction must never delete those.
  const isEntry = (shard: string, file: string) =>
    /^[0-9a-f]{2}$/.test(shard) && file.startsWith(shard) && /^[0-9a-f]{24}-[\w.-]*$/.test(file);

  /**
   * The cache's files, and the temp files of downloads a killed process left (ABANDONED_DOWNLOAD_MS).
   * A temp file is never an entry: evicting one deleted the file a download in progress was writing.
   */
  const listEntries = async () => {
    const entries: CachedFile[] = [];
    const abandoned: string[] = [];
    const now = Date.now();
    let shards: string[];
    try {
      shards = await readdir(options.dir);
    } catch {
      return { entries, abandoned };
    }
    for (const shard of shards) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      let files: string[];
      try {
        files = await readdir(join(options.dir, shard));
      } catch {
        continue;
      }
      for (const file of files) {
        if (!isEntry(shard, file)) continue;
        const path = join(options.dir, shard, file);
        const info = await stat(path).catch(() => undefined);
        if (!info?.isFile()) continue;
        if (!DOWNLOAD_TEMP_SUFFIX.test(file)) entries.push({ path, size: info.size, used: info.mtimeMs });
        else if (now - info.mtimeMs > ABANDONED_DOWNLOAD_MS) abandoned.push(path);
      }
    }
    return { entries, abandoned };
  };

  const evict = async (asked: string[]) => {
    const { entries, abandoned } = await listEntries();
    for (const path of abandoned) await rm(path, { force: true }).catch(() => undefined);
    const keep = new Set(asked);
    for (const hold of openHolds) for (const path of hold) keep.add(path);
    const now = Date.now();
    for (const entry of entries) {
      const inUseElsewhere = ownTouches.get(entry.path) !== entry.used && now - entry.used < SHARED_USE_MS;
      if (inUseElsewhere) keep.add(entry.path);
    }
    for (const path of await evictLeastRecentlyUsed(entries, maxBytes, keep)) ownTouches.delete(path);
  };

  return {
    dir: options.dir,
    async fetch(objects, onProgress) {
      await mkdir(options.dir, { recursive: true }).catch((error: unknown) => {
        throw new LakehouseError(
          'PROJECT_INVALID',
          `Cannot create the S3 object cache folder ${options.dir} (s3.cache_dir in lakehouse.yaml, default ` +
            `.lakehouse/s3-cache): ${(error as NodeJS.ErrnoException).code ?? String(error)}. Point s3.cache_dir ` +
            'at a writable folder, or make that one writable, and re-run; nothing was fetched.',
          { path: options.dir, fsError: (error as NodeJS.ErrnoException).code },
        );
      });
      const paths = objects.map(pathOf);
      const hold = recordingHold.getStore();
      for (const path of paths) hold?.add(path);
      const progress: TransferProgress = {
        doneBytes: 0,
        totalBytes: objects.reduce((sum, o) => sum + o.size, 0),
        cachedBytes: 0,
        files: objects.length,
      };
      const missing: { object: S3ObjectInfo; path: string }[] = [];
      for (const [i, object] of objects.entries()) {
        const path = paths[i] as string;
        const info = await stat(path).catch(() => undefined);
        if (info && info.size === object.size) {
          await touch(path);
          progress.cachedBytes += object.size;
          progress.doneBytes += object.size;
        } else {
          missing.push({ object, path });
        }
      }
      onProgress?.({ ...progress });
      let lastReport = 0;
      await forEachParallel(missing, parallel, async ({ object, path }) => {
        await downloadObject(client(), object, path, (bytes) => {
          progress.doneBytes += bytes;
          const t = Date.now();
          if (t - lastReport > 100) {
            lastReport = t;
            onProgress?.({ ...progress });
          }
        });
        await touch(path);
      });
      onProgress?.({ ...progress });
      await evict(paths);
      return paths;
    },
    async size() {
      return (await listEntries()).entries.reduce((sum, e) => sum + e.size, 0);
    },
  };
}
