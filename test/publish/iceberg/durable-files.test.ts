import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedProject, removeDir, tempDir, withEngine } from '../../helpers/project.ts';
import { completedCalls, hasStrace, lakehouseTraced, syncedPath } from '../../helpers/strace.ts';

// A power cut after a publish reports success must not leave a snapshot naming a file whose bytes never
// reached the disk.

interface FileEvent {
  index: number;
  op: 'sync' | 'name';
  path: string;
  /** For a rename or link: the name given. */
  to?: string;
}

/** fsync/fdatasync (with strace -y, the fd's path), rename and link calls, in the order they returned. */
function fileEvents(log: string): FileEvent[] {
  const events: FileEvent[] = [];
  for (const line of completedCalls(log)) {
    if (/ = -1 /.test(line)) continue;
    const synced = syncedPath(line);
    if (synced) {
      events.push({ index: events.length, op: 'sync', path: synced });
      continue;
    }
    if (/\b(?:rename|renameat2?|link|linkat)\(/.test(line)) {
      const [from, to] = [...line.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
      if (from && to) events.push({ index: events.length, op: 'name', path: from, to });
    }
  }
  return events;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe.skipIf(!hasStrace)('a local Iceberg publish', () => {
  let work: string;
  let dir: string;
  beforeAll(async () => {
    work = await tempDir('iceberg-durable-');
    dir = (await generatedProject(work, 2, 200)).dir;
    await withEngine(dir, (engine) => engine.run());
  }, 120_000);
  afterAll(() => removeDir(work));

  it('flushes every data file, manifest and new folder to the disk before and as it commits', async () => {
    const warehouse = join(work, 'warehouse');
    const log = join(work, 'strace.log');
    const tables = ['dim_user', 'fact_customer_search'];
    const published = lakehouseTraced(
      log,
      ['fsync', 'fdatasync', 'rename', 'renameat', 'renameat2', 'link', 'linkat'],
      ['publish', 'iceberg', dir, '--warehouse', warehouse, '--tables', tables.join(',')],
    );
    expect(published.status, published.stderr).toBe(0);
    const events = fileEvents(await readFile(log, 'utf8'));
    const syncs = events.filter((e) => e.op === 'sync');
    const names = events.filter((e) => e.op === 'name');
    /** When `file`'s bytes were flushed: its own sync, or the sync of the temp file renamed to it. */
    const flushed = (file: string) =>
      syncs.find(
        (s) =>
          s.path === file ||
          (s.path.startsWith(`${file}.`) && names.some((n) => n.path === s.path && n.to === file)),
      )?.index ?? Number.POSITIVE_INFINITY;
    const folderSynced = (folder: string, after: number) =>
      syncs.some((s) => s.path === folder && s.index > after);

    for (const table of tables) {
      const root = join(warehouse, 'gold', table);
      const commit = names.find((n) => n.to === join(root, 'metadata', 'v1.metadata.json'))?.index;
      expect(commit, `${table}: no commit seen`).toBeDefined();
      const written = (await filesUnder(root)).filter((f) => /\.(parquet|avro)$/.test(f));
      expect(written.filter((f) => f.endsWith('.parquet')).length).toBeGreaterThan(0);
      for (const file of written) expect(flushed(file), file).toBeLessThan(commit!);
      // Each data file's folder (a partition's is new) is synced before the commit names its files...
      for (const folder of new Set(written.filter((f) => f.endsWith('.parquet')).map(dirname))) {
        expect(
          syncs.some((s) => s.path === folder && s.index < commit!),
          folder,
        ).toBe(true);
      }
      // ... and the commit's own name, with the new table's folders above it, right after it.
      for (const folder of [join(root, 'metadata'), root, join(warehouse, 'gold'), warehouse]) {
        expect(folderSynced(folder, commit!), folder).toBe(true);
      }
    }
  });
});
