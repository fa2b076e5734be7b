import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * How the command line finds the app serving a project: the app holds the project's warehouse open, so
 * `lakehouse query` and friends cannot open it themselves and ask the app over its loopback API instead.
 * Each running server leaves a file (origin, session token, pid) in a folder only this user can read, as
 * Jupyter does with its runtime files; it is removed when the server stops, and ignored once its process
 * is gone.
 */
export interface ServerRecord {
  /** http://127.0.0.1:<port> */
  origin: string;
  token: string;
  pid: number;
  project: string;
}

/** The per-user folder: $XDG_RUNTIME_DIR (already private) or a private folder under the temp dir. */
function discoveryDir(): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime) return join(runtime, 'lakehouse-explorer');
  // One level, right in the temp folder: its sticky bit keeps others from renaming it once it is ours
  // (a parent folder someone else made first could have its entries swapped after the check).
  const user = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  return join(tmpdir(), `lakehouse-explorer-servers-${user}`);
}

async function projectKey(projectRoot: string): Promise<string> {
  const root = await realpath(resolve(projectRoot)).catch(() => resolve(projectRoot));
  return createHash('sha256').update(root).digest('hex').slice(0, 32);
}

/**
 * A folder another user could have made first (in a shared temp dir) must not receive the token: it
 * must be a real folder, owned by this user, that no one else can read or write.
 */
async function privateFolder(dir: string): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return isPrivateFolder(await lstat(dir));
}

/**
 * Whether a folder's owner and permission bits keep it to this user. Windows has no such bits (Node
 * reports a folder there as rw-rw-rw-, 0o40666, so the check always failed and the command line never
 * found the app): its temp folder is under the user's profile, whose access list keeps other users out.
 */
export function isPrivateFolder(
  stats: { isDirectory(): boolean; uid: number; mode: number },
  platform: NodeJS.Platform = process.platform,
  ownUid: number = typeof process.getuid === 'function' ? process.getuid() : stats.uid,
): boolean {
  if (!stats.isDirectory()) return false;
  if (platform === 'win32') return true;
  return stats.uid === ownUid && (stats.mode & 0o077) === 0;
}

/**
 * Records a running server for its project; returns what removes the record (call it when stopping).
 * The record is written again whenever it has gone: a desktop app stays open for days, and the system
 * cleans old files out of the temp folder (macOS after three days unread), which would leave the command
 * line unable to find the app and locked out of its warehouse.
 */
export async function registerServer(
  projectRoot: string,
  server: { origin: string; token: string },
  options: { checkEveryMs?: number } = {},
): Promise<() => Promise<void>> {
  const dir = discoveryDir();
  if (!(await privateFolder(dir))) return async () => undefined;
  const file = join(dir, `${await projectKey(projectRoot)}.json`);
  const record: ServerRecord = {
    origin: server.origin,
    token: server.token,
    pid: process.pid,
    project: resolve(projectRoot),
  };
  const write = () => writeFile(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  await write();
  let stopped = false;
  const keeper = setInterval(() => {
    // Only when gone: a later server for the same project may have replaced it. Failures wait for the
    // next check (this is housekeeping, not the server).
    lstat(file).catch(async () => {
      if ((await privateFolder(dir).catch(() => false)) && !stopped) await write().catch(() => undefined);
    });
  }, options.checkEveryMs ?? 60_000);
  keeper.unref();
  return async () => {
    stopped = true;
    clearInterval(keeper);
    // Only our own record: a later server for the same project may have replaced it.
    const current = await readRecord(file);
    if (current?.pid === process.pid) await rm(file, { force: true });
  };
}

/** The running server of a project, if one registered and its process is still alive. */
export async function findServer(projectRoot: string): Promise<ServerRecord | undefined> {
  const dir = discoveryDir();
  const stats = await lstat(dir).catch(() => undefined);
  if (!stats || !isPrivateFolder(stats)) return undefined;
  const record = await readRecord(join(dir, `${await projectKey(projectRoot)}.json`));
  if (!record || !processAlive(record.pid)) return undefined;
  return record;
}

async function readRecord(file: string): Promise<ServerRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<ServerRecord>;
    if (typeof parsed.origin !== 'string' || typeof parsed.token !== 'string') return undefined;
    if (typeof parsed.pid !== 'number' || !/^http:\/\/127\.0\.0\.1:\d+$/.test(parsed.origin))
      return undefined;
    return parsed as ServerRecord;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone (the server was killed before it could remove its record). EPERM: the pid was
    // reused by another user's process, so not our server either.
    return false;
  }
}
