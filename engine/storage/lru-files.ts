import { rm } from 'node:fs/promises';

/** Soft size limit of a local cache of remote files, unless its owner sets another. */
export const DEFAULT_CACHE_BYTES = 10 * 1024 ** 3;

/** A file of a local cache: its size, and when it was last used (its mtime, touched on every hit). */
export interface CachedFile {
  path: string;
  size: number;
  used: number;
}

/**
 * Deletes the least recently used of `files` until their total is within `maxBytes`, never one in
 * `keep` (files the caller is about to read): the limit is soft, so a cache may stay above it while
 * everything in it is in use. Returns the paths deleted.
 */
export async function evictLeastRecentlyUsed(
  files: CachedFile[],
  maxBytes: number,
  keep: ReadonlySet<string>,
): Promise<string[]> {
  const deleted: string[] = [];
  let total = files.reduce((sum, f) => sum + f.size, 0);
  if (total <= maxBytes) return deleted;
  for (const file of [...files].sort((a, b) => a.used - b.used)) {
    if (total <= maxBytes) break;
    if (keep.has(file.path)) continue;
    await rm(file.path, { force: true });
    deleted.push(file.path);
    total -= file.size;
  }
  return deleted;
}
