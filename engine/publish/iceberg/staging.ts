import { createHash, randomUUID } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../process-alive.ts';

// A publish to an S3 warehouse writes each table's gold rows to a local staging folder, uploads them,
// and deletes the folder. Killed (kill -9, power loss) in between, it leaves the folder: its name says
// which machine and process made it, so the next publish can tell a dead publish's folder from a live one's.

/** How old a staging folder whose owner cannot be checked must be to go: no publish writes for that long. */
const UNOWNED_STAGING_MS = 24 * 60 * 60 * 1000;

/** This machine, in a staging folder's name: a project on a shared drive may be published from several. */
function machineTag(): string {
  return createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
}

const OWNED = /^([0-9a-f]{8})-(\d+)-[0-9a-f-]{36}$/;

/** A new staging folder under `stagingDir` for this process (not created): `<machine>-<pid>-<uuid>`. */
export function newStagingFolder(stagingDir: string): string {
  return join(stagingDir, `${machineTag()}-${process.pid}-${randomUUID()}`);
}

/**
 * Removes the staging folders killed publishes left, and returns them. A folder made on this machine
 * goes as soon as its process is gone, and stays however old while it runs (a reused pid only delays
 * its removal). One made on another machine, or named before names held a pid, cannot be checked: it
 * goes once untouched for a day. Failures are ignored: this is housekeeping, not the publish.
 */
export async function removeLeftoverStaging(stagingDir: string, now = Date.now()): Promise<string[]> {
  const entries = await readdir(stagingDir, { withFileTypes: true }).catch(() => []);
  const here = machineTag();
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const folder = join(stagingDir, entry.name);
    const owner = OWNED.exec(entry.name);
    let leftover: boolean;
    if (owner?.[1] === here) leftover = !processAlive(Number(owner[2]));
    else {
      const info = await stat(folder).catch(() => undefined);
      leftover = info !== undefined && now - info.mtimeMs > UNOWNED_STAGING_MS;
    }
    if (!leftover) continue;
    const gone = await rm(folder, { recursive: true, force: true }).then(
      () => true,
      () => false,
    );
    if (gone) removed.push(folder);
  }
  return removed;
}
