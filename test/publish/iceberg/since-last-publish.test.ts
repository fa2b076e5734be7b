import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../../engine/db/duckdb.ts';
import { createFileSystemCatalog } from '../../../engine/publish/iceberg/catalogs/fs-catalog.ts';
import { createLocalFileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { reconcileTable } from '../../../engine/publish/iceberg/publish.ts';
import { publishedSelect } from '../../../engine/publish/iceberg/published-files.ts';
import { currentSchema } from '../../../engine/publish/iceberg/spec.ts';
import { type SyncContext, syncTable } from '../../../engine/publish/iceberg/sync.ts';
import { snapshotFiles } from '../../../engine/publish/iceberg/table.ts';
import { ensureWarehouseSchema, recordModelDates } from '../../../engine/warehouse/metadata.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';
import { describeTestTable } from './helpers.ts';

// A fact carrying etl_date, changed only by "runs" that do what the append materialization does
// (replace rows by key, insert the date's rows) and record the date in _lakehouse.model_dates.

let work: string;
let db: Db;
let ctx: SyncContext;
let runCount = 0;

beforeAll(async () => {
  work = await tempDir('iceberg-since-');
  db = await openDb();
  await ensureWarehouseSchema(db);
  await db.run('CREATE TABLE gold.fact (event_id BIGINT, date_key INTEGER, etl_date DATE, keyword VARCHAR)');
  ctx = {
    db,
    catalog: createFileSystemCatalog(createLocalFileIO(join(work, 'warehouse')), 'test warehouse'),
    namespace: 'gold',
    stateDir: join(work, 'state'),
  };
});

afterAll(async () => {
  db.close();
  await removeDir(work);
});

type Event = [eventId: number, dateKey: number, keyword: string];

/** One run of an ETL date: its events replace any rows with the same keys, then the date is recorded. */
async function run(etlDate: string, events: Event[]) {
  const runId = `run-${++runCount}`;
  await db.run('BEGIN TRANSACTION');
  await db.run('CREATE OR REPLACE TEMP TABLE stage (event_id BIGINT, date_key INTEGER, keyword VARCHAR)');
  await db.run(
    `INSERT INTO stage VALUES ${events.map(([id, dateKey, keyword]) => `(${id}, ${dateKey}, '${keyword}')`).join(', ')}`,
  );
  await db.run('DELETE FROM gold.fact WHERE event_id IN (SELECT event_id FROM stage)');
  await db.run(`INSERT INTO gold.fact SELECT event_id, date_key, DATE '${etlDate}', keyword FROM stage`);
  await recordModelDates(db, [{ model: 'gold.fact', etlDate }], runId);
  await db.run('COMMIT');
}

/** The events of a day: `count` rows of date_key `dateKey`, ids from `first`. */
const day = (dateKey: number, first: number, count: number, keyword = 'k'): Event[] =>
  Array.from({ length: count }, (_, i) => [first + i, dateKey, `${keyword}${first + i}`]);

const describeFact = () =>
  describeTestTable(db, 'fact', { materialized: 'append', primaryKey: ['event_id'], dateKey: 'date_key' });

/** Publishes, reconciles, and checks the Iceberg table holds exactly the local rows (as multisets). */
async function publish() {
  const table = await describeFact();
  const result = await syncTable(ctx, table);
  expect(await reconcileTable(ctx, table)).toMatchObject({ matches: true });
  const loaded = (await ctx.catalog.load('gold', 'fact'))!;
  const files = await snapshotFiles(ctx.catalog.io, loaded.metadata);
  const paths = await Promise.all(files.live.map((e) => ctx.catalog.io.readablePath(e.file.file_path)));
  const published = await publishedSelect(db, paths, currentSchema(loaded.metadata));
  const local = 'SELECT event_id, date_key, etl_date, keyword FROM gold.fact';
  const differing = await db.scalar<number>(
    `SELECT (SELECT count(*) FROM (${local} EXCEPT ALL ${published})) + (SELECT count(*) FROM (${published} EXCEPT ALL ${local}))`,
  );
  expect(Number(differing)).toBe(0);
  return result;
}

/** Data files of the current snapshot per date_key. */
async function filesByDateKey(): Promise<Map<number, string[]>> {
  const loaded = (await ctx.catalog.load('gold', 'fact'))!;
  const files = await snapshotFiles(ctx.catalog.io, loaded.metadata);
  const byKey = new Map<number, string[]>();
  for (const e of files.live) {
    const key = Number(e.file.partition.date_key);
    byKey.set(key, [...(byKey.get(key) ?? []), e.file.file_path]);
  }
  return byKey;
}

describe('publishing a fact after runs, comparing only what the runs changed', () => {
  it('compares everything on the first publish, then only the partitions of the new ETL date', async () => {
    await run('2024-01-01', day(20240101, 100, 5));
    await run('2024-01-02', day(20240102, 200, 5));
    // ETL date 3 brings a late event of date_key 1.
    await run('2024-01-03', [...day(20240103, 300, 5), [1000, 20240101, 'late']]);
    const first = await publish();
    expect(first).toMatchObject({ action: 'create', rowsAdded: 16 });
    expect(first.comparison).toMatchObject({ scope: 'all', reason: 'first publish' });

    await run('2024-01-04', day(20240104, 400, 5));
    const before = await filesByDateKey();
    const second = await publish();
    expect(second).toMatchObject({ action: 'append', rowsAdded: 5, rowsRemoved: 0 });
    expect(second.comparison).toEqual({
      scope: 'since-last-publish',
      reason: '1 ETL date committed since the last publish',
      partitionsCompared: 1,
    });
    const after = await filesByDateKey();
    for (const key of [20240101, 20240102, 20240103]) expect(after.get(key)).toEqual(before.get(key));

    const nothing = await publish();
    expect(nothing).toMatchObject({ action: 'none' });
    expect(nothing.comparison).toMatchObject({ scope: 'since-last-publish', partitionsCompared: 0 });
  });

  it('rewrites an old date_key when a late event of it arrives in a new ETL date', async () => {
    const before = await filesByDateKey();
    await run('2024-01-05', [...day(20240105, 500, 5), [1001, 20240102, 'late']]);
    const result = await publish();
    expect(result).toMatchObject({ action: 'overwrite', rowsAdded: 5 + 6, rowsRemoved: 5 });
    expect(result.comparison).toMatchObject({ scope: 'since-last-publish', partitionsCompared: 2 });
    const after = await filesByDateKey();
    expect(after.get(20240102)).not.toEqual(before.get(20240102));
    for (const key of [20240101, 20240103, 20240104]) expect(after.get(key)).toEqual(before.get(key));
  });

  it('rewrites what a re-run of an old ETL date changed, even where no row count moved', async () => {
    const before = await filesByDateKey();
    // Re-run of ETL date 3: new keywords for its events and its late event of date_key 1 (same keys,
    // same counts), and event 200 re-delivered with its date_key corrected from day 2 to day 3.
    await run('2024-01-03', [
      ...day(20240103, 300, 5, 'fixed'),
      [1000, 20240101, 'late fixed'],
      [200, 20240103, 'moved'],
    ]);
    const result = await publish();
    expect(result).toMatchObject({ action: 'overwrite' });
    expect(result.comparison).toMatchObject({ scope: 'since-last-publish', partitionsCompared: 3 });
    const after = await filesByDateKey();
    for (const key of [20240101, 20240102, 20240103]) expect(after.get(key)).not.toEqual(before.get(key));
    for (const key of [20240104, 20240105]) expect(after.get(key)).toEqual(before.get(key));
    // A re-run that reproduces the same rows rewrites nothing.
    await run('2024-01-04', day(20240104, 400, 5));
    expect(await publish()).toMatchObject({ action: 'none' });
  });

  it('compares everything when the publish state is missing, or when asked to', async () => {
    await rm(join(work, 'state', 'publish-state'), { recursive: true, force: true });
    await run('2024-01-06', day(20240106, 600, 3));
    const result = await publish();
    expect(result).toMatchObject({ action: 'append', rowsAdded: 3 });
    expect(result.comparison).toEqual({
      scope: 'all',
      reason: 'no publish state from an earlier publish',
      partitionsCompared: 6,
    });

    // An edit outside any run is invisible to the run bookkeeping: a full comparison finds it.
    await db.run(`UPDATE gold.fact SET keyword = 'edited' WHERE event_id = 101`);
    const full = await syncTable({ ...ctx, fullCompare: true }, await describeFact());
    expect(full).toMatchObject({ action: 'overwrite', rowsAdded: 6, rowsRemoved: 6 });
    expect(full.comparison.scope).toBe('all');
    expect(await publish()).toMatchObject({ action: 'none' });
  });

  it('compares everything when another publisher committed or a published ETL date vanished', async () => {
    const other: SyncContext = { ...ctx, stateDir: join(work, 'other-state') };
    await run('2024-01-07', day(20240107, 700, 2));
    expect(await syncTable(other, await describeFact())).toMatchObject({ action: 'append' });
    const afterOther = await publish();
    expect(afterOther).toMatchObject({ action: 'none' });
    expect(afterOther.comparison.reason).toBe(
      'the table was committed by another publisher since the last publish from here',
    );

    await db.run(`DELETE FROM _lakehouse.model_dates WHERE etl_date = DATE '2024-01-07'`);
    await db.run(`DELETE FROM gold.fact WHERE etl_date = DATE '2024-01-07'`);
    const dropped = await publish();
    expect(dropped).toMatchObject({ action: 'overwrite', rowsRemoved: 2, rowsAdded: 0 });
    expect(dropped.comparison).toMatchObject({
      scope: 'all',
      reason: 'ETL date 2024-01-07 published before is no longer committed',
    });
  });
});
