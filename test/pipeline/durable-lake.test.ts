import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listParquetFiles } from '../../engine/lake/partitions.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';
import { completedCalls, hasStrace, lakehouseTraced, syncedPath } from '../helpers/strace.ts';

// A power cut after a date commits must not leave the warehouse naming a partition file whose bytes never
// reached the disk.

describe.skipIf(!hasStrace)('a run on a local lake', () => {
  let work: string;
  let dir: string;
  beforeAll(async () => {
    work = await tempDir('durable-lake-');
    dir = (await generatedProject(work, 1, 300)).dir;
  });
  afterAll(() => removeDir(work));

  it('flushes each partition file and its new folders to the disk before the warehouse commits the date', async () => {
    const log = join(work, 'strace.log');
    const run = lakehouseTraced(log, ['fsync', 'fdatasync'], ['run', dir]);
    expect(run.status, run.stderr).toBe(0);
    const synced = completedCalls(await readFile(log, 'utf8'))
      .map(syncedPath)
      .filter((path): path is string => path !== undefined);
    const lake = join(dir, 'lake');
    const files = await listParquetFiles(lake);
    // bronze, silver (kept rows and quarantine) and user_plans_map: every partition model of the example.
    expect(files.length).toBeGreaterThanOrEqual(4);
    const firstPartitionSync = synced.findIndex((path) => path.startsWith(`${lake}/`));
    expect(firstPartitionSync).toBeGreaterThanOrEqual(0);
    // Inside the date's transaction DuckDB syncs nothing: its next write-ahead-log sync is the COMMIT.
    const commit = synced.findIndex((path, i) => i > firstPartitionSync && path.endsWith('.duckdb.wal'));
    expect(commit).toBeGreaterThan(firstPartitionSync);
    for (const file of files) {
      expect(synced.indexOf(file), file).toBeGreaterThanOrEqual(0);
      expect(synced.indexOf(file), file).toBeLessThan(commit);
      for (let folder = dirname(file); folder !== dirname(lake); folder = dirname(folder)) {
        const at = synced.indexOf(folder, synced.indexOf(file));
        expect(at, folder).toBeGreaterThan(0);
        expect(at, folder).toBeLessThan(commit);
      }
    }
  });
});
