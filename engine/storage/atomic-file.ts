import { randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';

/**
 * Writes `file` whole or not at all: the bytes go to a temp file of this write's own (two writers of
 * one file, such as the app's publish and the CLI's, must not take each other's), which is then renamed
 * over it. A crash mid-write leaves the previous file, never half of one. `durable` (the default) also
 * flushes the bytes and then the new name to the disk before returning, so a power cut after it cannot
 * leave the name with missing bytes; a cache that can be fetched again skips that. `mode` gives the file
 * those permissions (e.g. those of the file it replaces) rather than the umask's.
 */
export async function writeFileAtomically(
  file: string,
  data: string | Uint8Array,
  { durable = true, mode }: { durable?: boolean; mode?: number } = {},
): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    const handle = await open(temp, 'w');
    // Set before the rename, so the file never shows under its name with the umask's permissions.
    if (mode !== undefined) await handle.chmod(mode);
    await fillAndClose(handle, data, { durable });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  if (durable) await syncDirectory(dirname(file));
}

/**
 * Writes a file just opened and closes it; `durable` (the default) flushes the bytes first, so a name given
 * to the file then cannot show missing bytes after a power cut.
 */
export async function fillAndClose(
  handle: FileHandle,
  data: string | Uint8Array,
  { durable = true }: { durable?: boolean } = {},
): Promise<void> {
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a file's bytes to the disk: what a commit is about to name must survive a power cut. */
export async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Flushes the names created or renamed in `dir` to the disk (a file's own sync does not cover its name on
 * every file system). Where a folder cannot be opened or synced (Windows), the file system keeps names
 * durable its own way: nothing to do.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(dir, 'r');
  } catch (error) {
    if (cannotSyncFolders(error)) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!cannotSyncFolders(error)) throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Syncs the folder of each of `paths` and every folder above it up to `root`: a file in a folder created for
 * it (a new table's, a partition's) is only found again after a power cut if each new name on the way is.
 */
export async function syncFoldersUpTo(root: string, paths: string[]): Promise<void> {
  const top = resolve(root);
  const folders = new Set<string>();
  for (const path of paths) {
    for (
      let dir = dirname(resolve(path));
      dir === top || dir.startsWith(`${top}${sep}`);
      dir = dirname(dir)
    ) {
      folders.add(dir);
      if (dir === top) break;
    }
  }
  for (const dir of folders) await syncDirectory(dir);
}

function cannotSyncFolders(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    code === 'EISDIR' || code === 'EPERM' || code === 'EACCES' || code === 'EINVAL' || code === 'ENOTSUP'
  );
}
