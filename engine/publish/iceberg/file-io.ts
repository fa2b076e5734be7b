import { createHash, randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import {
  copyFile,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  stat,
  statfs,
  utimes,
} from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LakehouseError } from '../../api/errors.ts';
import { fillAndClose, syncFile, syncFoldersUpTo, writeFileAtomically } from '../../storage/atomic-file.ts';
import { type CachedFile, DEFAULT_CACHE_BYTES, evictLeastRecentlyUsed } from '../../storage/lru-files.ts';
import { createS3Client, type S3Settings, s3Failure } from '../../storage/s3-client.ts';
import { deleteKeys, listObjects, uploadFile } from '../../storage/s3-objects.ts';
import { locationKind, parseS3Uri } from '../../storage/s3-uri.ts';

/** A file found by listing a folder of the warehouse (orphan-file removal). */
export interface ListedFile {
  /** A URI naming exactly this file, as `delete` takes it. */
  uri: string;
  /** What `identity` gives for every URI naming this file. */
  id: string;
  size: number;
  /** Last modification (S3: LastModified), in ms since the epoch. */
  modifiedMs: number;
}

/**
 * Where Iceberg files live, addressed by the full URIs the metadata records. Data files are written
 * by DuckDB to a local path first (`localPath`, or a staging file then `upload`).
 */
export interface FileIO {
  /** The URI a table under `relative` (e.g. `gold/dim_user`) of this warehouse gets. */
  locationOf(relative: string): string;
  read(uri: string): Promise<Buffer>;
  readIfExists(uri: string): Promise<Buffer | undefined>;
  write(uri: string, bytes: Buffer | string): Promise<void>;
  /**
   * Writes only if nothing is at `uri` yet; false when something else is (the commit race was lost).
   * WriteOutcomeUnknownError when it cannot tell whether the bytes landed (the caller must delete nothing).
   */
  createExclusive(uri: string, bytes: Buffer | string): Promise<boolean>;
  /** A local path DuckDB may write `uri` to directly, or undefined when the file must be uploaded. */
  localPath(uri: string): string | undefined;
  upload(localFile: string, uri: string): Promise<void>;
  /** A local path DuckDB can read `uri` from (remote files are downloaded into a cache once). */
  readablePath(uri: string): Promise<string>;
  delete(uris: string[]): Promise<void>;
  /**
   * Every file under the folder `uri` names, at any depth (nothing when it does not exist). Only files
   * a URI names exactly are listed: anything else could not be deleted without touching another file.
   */
  list(uri: string): Promise<ListedFile[]>;
  /**
   * The file a URI names, comparable with ListedFile.id (a local path, or s3://bucket/key): metadata
   * may spell one file several ways (file:/x, file:///x, the warehouse's base URI).
   */
  identity(uri: string): string;
  /** Fails fast, naming the folder, when the warehouse cannot be written (local folders only). */
  checkWritable?(): Promise<void>;
}

/**
 * Linux pseudo filesystems (statfs f_type). Node's recursive mkdir never returns for a path under
 * /proc, and nothing written to any of these is a warehouse, so they are refused up front.
 */
const PSEUDO_FILESYSTEMS: Record<number, string> = {
  40864: 'proc',
  1650812274: 'sysfs',
  7377: 'devpts',
  2613483: 'cgroup',
  1667723888: 'cgroup2',
  1684170528: 'debugfs',
  1953653091: 'tracefs',
  1935894131: 'securityfs',
  1634035564: 'pstore',
  3405662737: 'bpf',
  1650812272: 'configfs',
  3730735588: 'efivarfs',
  1112100429: 'binfmt_misc',
  1702057283: 'fusectl',
  427819522: 'mqueue',
  1853056627: 'nsfs',
  4185718668: 'selinuxfs',
};

/**
 * Checks a local warehouse folder can take files: its nearest existing ancestor must be a folder on a
 * real filesystem where a probe file can be created and removed. Nothing else is left behind.
 */
export async function checkLocalWarehouse(folder: string): Promise<void> {
  const absolute = resolve(folder);
  const refuse = (why: string, details: Record<string, unknown> = {}) =>
    new LakehouseError('PUBLISH_FAILED', `Cannot publish to the warehouse folder ${absolute}: ${why}`, {
      warehouse: absolute,
      ...details,
    });
  let existing = absolute;
  for (;;) {
    try {
      const info = await stat(existing);
      if (!info.isDirectory()) throw refuse(`${existing} is a file, not a folder.`, { path: existing });
      break;
    } catch (error) {
      if (error instanceof LakehouseError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(existing) === existing) {
        throw refuse(`${existing} cannot be read (${code ?? String(error)}).`, { path: existing });
      }
      existing = dirname(existing);
    }
  }
  const type = (await statfs(existing)).type;
  const pseudo = PSEUDO_FILESYSTEMS[type];
  if (pseudo) {
    throw refuse(
      `${existing} is on the ${pseudo} pseudo filesystem, which cannot hold files. Choose a folder on a disk.`,
      {
        path: existing,
        filesystem: pseudo,
      },
    );
  }
  const probe = join(existing, `.lakehouse-write-check-${process.pid}-${Date.now()}`);
  try {
    await (await open(probe, 'wx')).close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw refuse(`cannot create files in ${existing} (${code ?? String(error)}).`, { path: existing, code });
  }
  await rm(probe, { force: true });
}

/** An exclusive create that may or may not have landed (no answer, a 5xx, a sync failing after the link). */
export class WriteOutcomeUnknownError extends LakehouseError {
  constructor(
    readonly uri: string,
    readonly reason: string,
  ) {
    super(
      'ICEBERG_COMMIT_STATE_UNKNOWN',
      `The write of ${uri} may or may not have landed (${reason}). Nothing was deleted; check whether it is there before writing it again.`,
      { uri, reason },
    );
  }
}

/** A metadata URI that leaves the warehouse: the table was made elsewhere (moved, copied) or planted. */
function outsideWarehouse(uri: string, warehouse: string): LakehouseError {
  return new LakehouseError(
    'ICEBERG_INVALID',
    `${uri} is outside the warehouse ${warehouse}. Iceberg metadata names absolute paths, so a table ` +
      'moved or copied from another warehouse (or metadata planted there) still points at the old place: ' +
      "publish to the warehouse the table was created in, or remove the table's folder here to publish it anew.",
    { uri, warehouse },
  );
}

/** Whether `path` is `folder` or under it, once `..` parts are resolved. */
function isWithin(folder: string, path: string): boolean {
  const inside = relative(folder, path);
  return inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside);
}

/** Creates `path` with O_EXCL and fills it: false when it exists. Not atomic (see createExclusive). */
async function createInPlace(path: string, bytes: Buffer | string, root: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  await fillAndClose(handle, bytes);
  await syncFoldersUpTo(root, [path]);
  return true;
}

/**
 * A warehouse in a local folder. `baseUri` is the URI the folder is known by in metadata (default its
 * file:// URL); a test serves the folder over loopback HTTP and passes that server's URL.
 */
export function createLocalFileIO(root: string, baseUri?: string): FileIO {
  const folder = resolve(root);
  const base = (baseUri ?? pathToFileURL(folder).href).replace(/\/+$/, '');
  const pathOf = (uri: string): string => {
    // Relative parts stay as written (DuckDB's hive folders are already percent-encoded on disk).
    let path: string | undefined;
    if (uri.startsWith(`${base}/`)) path = join(folder, uri.slice(base.length + 1));
    else if (uri.startsWith('file:')) path = fileURLToPath(uri);
    // These URIs come from metadata files anyone who can write the warehouse could plant (a table
    // `location`, a data file path): they must not make a publish write, read or delete elsewhere.
    if (path === undefined || !isWithin(folder, path)) {
      throw outsideWarehouse(uri, base);
    }
    return path;
  };
  return {
    locationOf: (relative) => `${base}/${relative.replace(/^\/+/, '')}`,
    read: (uri) => readFile(pathOf(uri)),
    async readIfExists(uri) {
      try {
        return await readFile(pathOf(uri));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async write(uri, bytes) {
      // A reader never sees half a file (version-hint.text is rewritten in place).
      await writeFileAtomically(pathOf(uri), bytes);
    },
    async createExclusive(uri, bytes) {
      const path = pathOf(uri);
      await mkdir(dirname(path), { recursive: true });
      // The name must appear complete or not at all: created first and then filled (O_EXCL), a kill
      // in between left an empty vN+1.metadata.json that every load then failed on and that no later
      // commit could replace. The bytes go to a synced temp file that link() names, failing if taken.
      const staging = `${path}.${process.pid}.${randomUUID()}.tmp`;
      await fillAndClose(await open(staging, 'wx'), bytes);
      let linked = false;
      try {
        await link(staging, path);
        linked = true;
        // The commit's name, and a new table's folders above it, survive a power cut.
        await syncFoldersUpTo(folder, [path]);
        return true;
      } catch (error) {
        // Visible now, but maybe not after a power cut: neither committed for sure nor safe to undo.
        if (linked) throw new WriteOutcomeUnknownError(uri, `syncing its folder failed: ${String(error)}`);
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return false;
        // A filesystem without hard links (FAT, some network mounts) still gets the exclusive create.
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS')
          return createInPlace(path, bytes, folder);
        throw error;
      } finally {
        await rm(staging, { force: true });
      }
    },
    localPath: (uri) => pathOf(uri),
    async upload(localFile, uri) {
      const path = pathOf(uri);
      await mkdir(dirname(path), { recursive: true });
      await copyFile(localFile, path);
      // Durable before the metadata that names it is committed: after a power cut, a snapshot must not
      // point at a data file with missing bytes.
      await syncFile(path);
      await syncFoldersUpTo(folder, [path]);
    },
    readablePath: async (uri) => pathOf(uri),
    async delete(uris) {
      for (const uri of uris) await rm(pathOf(uri), { force: true });
    },
    async list(uri) {
      const files: ListedFile[] = [];
      // Real folders and regular files only: a symlink may lead out of the warehouse.
      const walk = async (dir: string): Promise<void> => {
        let entries: Dirent[];
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'ENOTDIR') return;
          throw error;
        }
        for (const entry of entries) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) await walk(path);
          if (!entry.isFile()) continue;
          const info = await lstat(path).catch(() => undefined); // deleted meanwhile
          if (!info?.isFile()) continue;
          // The base URI form maps back to the path verbatim (a file: URI would be percent-decoded).
          const inside = relative(folder, path).split(sep).join('/');
          files.push({ uri: `${base}/${inside}`, id: path, size: info.size, modifiedMs: info.mtimeMs });
        }
      };
      await walk(pathOf(uri));
      return files;
    },
    identity: (uri) => pathOf(uri),
    checkWritable: () => checkLocalWarehouse(folder),
  };
}

/**
 * A warehouse under an S3 prefix. The commit pointer is made safe with `If-None-Match: *`: S3 answers
 * 412 when the object exists and 409 on a concurrent conditional write; both mean "lost the race".
 */
export function createS3FileIO(
  warehouse: string,
  settings: S3Settings,
  cacheDir: string,
  options: { client?: S3Client; anywhere?: boolean; cacheMaxBytes?: number } = {},
): FileIO {
  const s3 = options.client ?? createS3Client(settings);
  // Downloads this FileIO handed out: a caller may read them all after asking (history reads a
  // snapshot's files at once), so none of them is evicted while it lives, whatever the limit.
  const handedOut = new Set<string>();
  const root = warehouse.replace(/\/+$/, '');
  const target = (uri: string) => {
    // A table location or file path in metadata anyone with write access to the warehouse could plant
    // must not make a publish write or delete, with the user's credentials, under another prefix or
    // bucket. Only a catalog that keeps tables anywhere (Glue, REST) lets URIs leave the warehouse.
    if (!options.anywhere && !uri.startsWith(`${root}/`)) {
      throw outsideWarehouse(uri, root);
    }
    const { bucket, prefix } = parseS3Uri(uri);
    return { bucket, key: prefix };
  };
  const get = async (uri: string): Promise<Buffer | undefined> => {
    const { bucket, key } = target(uri);
    try {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = response.Body as { transformToByteArray(): Promise<Uint8Array> };
      return Buffer.from(await body.transformToByteArray());
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      // A missing bucket is a 404 too, but it is a wrong warehouse, not a table yet to be created.
      if (e.name === 'NoSuchBucket') throw s3Failure(error, { bucket, key, action: 'read' });
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw s3Failure(error, { bucket, key, action: 'read' });
    }
  };
  return {
    locationOf: (relative) => `${root}/${relative.replace(/^\/+/, '')}`,
    async read(uri) {
      const bytes = await get(uri);
      if (!bytes) {
        throw new LakehouseError(
          'ICEBERG_INVALID',
          `${uri} is missing: the Iceberg table references a file that is gone`,
          {
            uri,
          },
        );
      }
      return bytes;
    },
    readIfExists: get,
    async write(uri, bytes) {
      const { bucket, key } = target(uri);
      try {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
      } catch (error) {
        throw s3Failure(error, { bucket, key, action: 'write' });
      }
    },
    async createExclusive(uri, bytes) {
      const { bucket, key } = target(uri);
      try {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, IfNoneMatch: '*' }));
        return true;
      } catch (error) {
        const e = error as { name?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
        const status = e.$metadata?.httpStatusCode;
        const taken = status === 412 || status === 409;
        // Refused at the first try: the key holds (or is getting) another writer's object.
        if (taken && (e.$metadata?.attempts ?? 1) <= 1) return false;
        if (!taken && status !== undefined && status < 500)
          throw s3Failure(error, { bucket, key, action: 'write' });
        // A PUT answered 5xx or not at all may have stored the object, and the SDK's retry of it then
        // meets our own bytes (412): what the key holds now says whether the commit is ours.
        const reason = `${e.name ?? 'no answer'}${status ? ` (HTTP ${status})` : ''}`;
        let there: Buffer | undefined;
        try {
          there = await get(uri);
        } catch {
          throw new WriteOutcomeUnknownError(uri, reason);
        }
        if (there) return there.equals(Buffer.from(bytes));
        throw new WriteOutcomeUnknownError(uri, reason);
      }
    },
    localPath: () => undefined,
    async upload(localFile, uri) {
      const { bucket, key } = target(uri);
      await uploadFile(s3, bucket, key, localFile);
    },
    async readablePath(uri) {
      const cached = join(
        cacheDir,
        createHash('sha256').update(uri).digest('hex').slice(0, 32),
        uri.split('/').pop() ?? 'file',
      );
      handedOut.add(cached);
      try {
        await stat(cached);
        // Touched: the least recently used downloads go first when the cache outgrows its limit.
        const now = new Date();
        await utimes(cached, now, now);
        return cached;
      } catch {
        // A cached file is taken as it is by every later publish, so one cut short (a killed publish,
        // two reading at once) must never appear under the final name.
        await writeFileAtomically(cached, await this.read(uri), { durable: false });
        // Every published file ever compared or read back lands here; without a limit the cache
        // grew with each publish, holding files no snapshot uses any more.
        await evictLeastRecentlyUsed(
          await downloadsIn(cacheDir),
          options.cacheMaxBytes ?? DEFAULT_CACHE_BYTES,
          handedOut,
        );
        return cached;
      }
    },
    async delete(uris) {
      const byBucket = new Map<string, string[]>();
      for (const uri of uris) {
        const { bucket, key } = target(uri);
        byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), key]);
      }
      for (const [bucket, keys] of byBucket) await deleteKeys(s3, bucket, keys);
    },
    async list(uri) {
      const { bucket, key } = target(uri);
      const { objects } = await listObjects(s3, bucket, key ? `${key}/` : '');
      return objects.flatMap((object) => {
        const objectUri = `s3://${bucket}/${object.key}`;
        // A folder marker (`x/`) or a key with edge slashes or spaces is not what its URI names.
        if (parseS3Uri(objectUri).prefix !== object.key) return [];
        // Without a date the object counts as just written, so it is never old enough to delete.
        return [
          { uri: objectUri, id: objectUri, size: object.size, modifiedMs: object.modifiedMs ?? Date.now() },
        ];
      });
    },
    identity(uri) {
      const { bucket, key } = target(uri);
      return `s3://${bucket}/${key}`;
    },
  };
}

/** How long a download's temp file must be untouched to be taken for one a kill cut short. */
const ABANDONED_DOWNLOAD_MS = 24 * 60 * 60 * 1000;

/**
 * The downloads readablePath made in `cacheDir` (`<32 hex digits>/<file name>`), and nothing else: the
 * folder sits beside the warehouse, and no other file there is the cache's to delete. On the way it
 * removes the temp files of downloads a kill cut short (untouched for a day: a live one is being
 * written), which no eviction counted, so each stayed for good.
 */
async function downloadsIn(cacheDir: string, now = Date.now()): Promise<CachedFile[]> {
  const files: CachedFile[] = [];
  const folders = await readdir(cacheDir).catch(() => [] as string[]);
  for (const folder of folders) {
    if (!/^[0-9a-f]{32}$/.test(folder)) continue;
    for (const name of await readdir(join(cacheDir, folder)).catch(() => [] as string[])) {
      const path = join(cacheDir, folder, name);
      if (name.endsWith('.tmp')) {
        const info = await stat(path).catch(() => undefined);
        if (info?.isFile() && now - info.mtimeMs > ABANDONED_DOWNLOAD_MS) await rm(path, { force: true });
        continue;
      }
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile()) files.push({ path, size: info.size, used: info.mtimeMs });
    }
  }
  return files;
}

/** A FileIO for a warehouse given as a folder or an s3:// URI. */
export function fileIOFor(
  warehouse: string,
  options: { s3?: S3Settings; cacheDir: string; baseUri?: string; anywhere?: boolean },
): FileIO {
  // Classified where every other location is, so a typo like s3:/x is refused, not made a local folder.
  const kind = locationKind(warehouse, { fileUri: true });
  if (kind === 's3') {
    return createS3FileIO(warehouse, options.s3 ?? {}, options.cacheDir, { anywhere: options.anywhere });
  }
  return createLocalFileIO(kind === 'file-uri' ? fileURLToPath(warehouse) : warehouse, options.baseUri);
}
