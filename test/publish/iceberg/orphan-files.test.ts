import { cp, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { icebergRead } from 'icebird';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../../engine/db/duckdb.ts';
import type { Catalog } from '../../../engine/publish/iceberg/catalog.ts';
import { createFileSystemCatalog } from '../../../engine/publish/iceberg/catalogs/fs-catalog.ts';
import { createGlueCatalog } from '../../../engine/publish/iceberg/catalogs/glue-catalog.ts';
import { listLocalFiles } from '../../../engine/publish/iceberg/data-files.ts';
import { createLocalFileIO, type FileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { scanSnapshot } from '../../../engine/publish/iceberg/history.ts';
import { DEFAULT_ORPHAN_AGE_MS, removeOrphanFiles } from '../../../engine/publish/iceberg/orphans.ts';
import { reconcileTable } from '../../../engine/publish/iceberg/publish.ts';
import { type SyncContext, syncTable, type TableResult } from '../../../engine/publish/iceberg/sync.ts';
import { lakehouseFailure } from '../../helpers/errors.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';
import { useS3rverCredentials } from '../../storage/s3-helpers.ts';
import { type GlueServer, startGlueServer } from './catalog-servers.ts';
import { describeTestTable, serveFolder } from './helpers.ts';

// A publish killed (kill -9) between writing its files and its commit leaves data files, a manifest and
// a manifest list that no snapshot references. Here a "killed" writer is one stopped for good at the
// point a kill would leave it: its beforeCommit never returns, so it neither commits nor cleans up.

let work: string;
let http: Awaited<ReturnType<typeof serveFolder>>;
let db: Db;
const frozenDbs: Db[] = [];

beforeAll(async () => {
  work = await tempDir('iceberg-orphans-');
  http = await serveFolder(work);
  db = await openDb();
  await db.run('CREATE SCHEMA gold');
});

afterAll(async () => {
  db.close();
  for (const frozen of frozenDbs) frozen.close();
  await http.close();
  await removeDir(work);
});

const DAY = 86_400_000;

interface Warehouse {
  folder: string;
  io: FileIO;
  catalog: Catalog;
}

function warehouseIn(name: string): Warehouse {
  const folder = join(work, name);
  const io = createLocalFileIO(folder, `${http.url}/${name}`);
  return { folder, io, catalog: createFileSystemCatalog(io, name) };
}

const context = (on: Db, catalog: Catalog, state: string): SyncContext => ({
  db: on,
  catalog,
  namespace: 'gold',
  stateDir: join(work, 'state', state),
});

const plays = (on: Db, name = 'fact_plays') =>
  describeTestTable(on, name, { materialized: 'append', primaryKey: ['play_id'], dateKey: 'date_key' });

const dayRows = (day: number, from: number) =>
  `INSERT INTO gold.fact_plays SELECT ${day} AS date_key, i AS play_id, 'title ' || i AS title FROM range(${from}, ${from + 4}) t(i)`;

const CREATE = 'CREATE TABLE gold.fact_plays (date_key INTEGER, play_id INTEGER, title VARCHAR)';

/** Sets every file under `folder` to `ms` ago (the age a killed publish's files reach). */
async function ageAll(folder: string, ms: number) {
  const when = new Date(Date.now() - ms);
  for (const file of await listLocalFiles(folder)) await utimes(file, when, when);
}

/** Starts a publish that stops for good just before its commit, as a kill -9 there leaves it. */
async function killedPublish(catalog: Catalog, sql: string[], tag: string): Promise<void> {
  const dead = await openDb();
  frozenDbs.push(dead);
  await dead.run('CREATE SCHEMA gold');
  for (const statement of sql) await dead.run(statement);
  let reached: () => void = () => undefined;
  const atCommit = new Promise<void>((resolve) => {
    reached = resolve;
  });
  void syncTable(
    {
      ...context(dead, catalog, tag),
      beforeCommit: () => {
        reached();
        return new Promise<void>(() => undefined);
      },
    },
    await plays(dead),
  );
  await atCommit;
}

/** Starts a publish paused just before its commit; `commit()` lets it go on and returns its result. */
async function pausedPublish(catalog: Catalog, tag: string): Promise<{ commit: () => Promise<TableResult> }> {
  let reached: () => void = () => undefined;
  let release: () => void = () => undefined;
  const atCommit = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const running = syncTable(
    {
      ...context(db, catalog, tag),
      beforeCommit: async () => {
        reached();
        await gate;
      },
    },
    await plays(db),
  );
  await atCommit;
  return {
    commit: () => {
      release();
      return running;
    },
  };
}

const sorted = (list: string[]) => [...list].sort();
const newFiles = (after: string[], before: string[]) => sorted(after.filter((f) => !before.includes(f)));

async function snapshotRows(catalog: Catalog, snapshotId: string, on: Db = db) {
  const scan = await scanSnapshot(on, catalog, 'gold', 'fact_plays', { snapshotId, offset: 0, limit: 1000 });
  return scan.rows.map((r) => JSON.stringify(r)).sort();
}

describe('orphan-file removal on a local warehouse folder', () => {
  it('removes exactly the old unreferenced files a killed publish left, keeps a concurrent publish and every snapshot', async () => {
    const wh = warehouseIn('wh');
    const table = join(wh.folder, 'gold', 'fact_plays');
    const ctx = context(db, wh.catalog, 'a');
    // Three snapshots: create, append a day, overwrite day 1 (its first file stays in snapshots 1 and 2 only).
    const history = [CREATE, dayRows(1, 0)];
    for (const sql of history) await db.run(sql);
    const snapshots: string[] = [];
    snapshots.push(String((await syncTable(ctx, await plays(db))).snapshotId));
    history.push(dayRows(2, 100));
    await db.run(dayRows(2, 100));
    snapshots.push(String((await syncTable(ctx, await plays(db))).snapshotId));
    const update = `UPDATE gold.fact_plays SET title = 'renamed ' || play_id WHERE date_key = 1`;
    history.push(update);
    await db.run(update);
    const overwrite = await syncTable(ctx, await plays(db));
    expect(overwrite.action).toBe('overwrite');
    snapshots.push(String(overwrite.snapshotId));
    const asOf = new Map<string, string[]>();
    for (const id of snapshots) asOf.set(id, await snapshotRows(wh.catalog, id));
    const published = await listLocalFiles(table);

    // A publish of day 3 killed before its commit: its data file, manifest and manifest list stay.
    await killedPublish(wh.catalog, [...history, dayRows(3, 200)], 'killed');
    const killed = newFiles(await listLocalFiles(table), published);
    expect(killed.filter((f) => f.endsWith('.parquet'))).toHaveLength(1);
    expect(killed.filter((f) => /\/metadata\/snap-.*\.avro$/.test(f))).toHaveLength(1);
    expect(killed.filter((f) => /\/metadata\/[^/]*-m0\.avro$/.test(f))).toHaveLength(1);
    // The staging file of a version-hint rewrite a kill cut short.
    const staging = join(table, 'metadata', 'version-hint.text.4242.1700000000000.tmp');
    await writeFile(staging, '3');
    // Old files that are not this table's: a sibling with a longer name, the namespace and warehouse root.
    const strangers = [
      join(wh.folder, 'gold', 'fact_plays_old', 'data', 'x.parquet'),
      join(wh.folder, 'gold', 'stray.parquet'),
      join(wh.folder, 'stray.avro'),
    ];
    for (const file of strangers) {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, 'not a table file');
    }
    // Everything is four days old, referenced files included: only references may keep them.
    await ageAll(wh.folder, 4 * DAY);

    // Meanwhile another publish (day 4) has written its files and is about to commit.
    await db.run(dayRows(4, 300));
    const beforeInFlight = await listLocalFiles(table);
    const inFlight = await pausedPublish(wh.catalog, 'a');
    const fresh = newFiles(await listLocalFiles(table), beforeInFlight);
    expect(fresh.length).toBe(3);

    const orphans = sorted([...killed, staging]);
    const dry = await removeOrphanFiles({ catalog: wh.catalog, namespace: 'gold' }, ['fact_plays'], {
      dryRun: true,
    });
    const [dryTable] = dry.tables;
    expect(dry.minAgeMs).toBe(DEFAULT_ORPHAN_AGE_MS);
    expect(sorted(dryTable!.removed.map((f) => wh.io.identity(f.uri)))).toEqual(orphans);
    expect(sorted(dryTable!.kept.map((f) => wh.io.identity(f.uri)))).toEqual(fresh);
    expect(dryTable!.referenced).toBe(published.length);
    // A dry run deletes nothing.
    const everything = await listLocalFiles(wh.folder);
    expect(sorted(everything)).toEqual(sorted([...published, ...orphans, ...fresh, ...strangers]));

    const report = await removeOrphanFiles({ catalog: wh.catalog, namespace: 'gold' }, ['fact_plays']);
    expect(sorted(report.tables[0]!.removed.map((f) => wh.io.identity(f.uri)))).toEqual(orphans);
    expect(sorted(await listLocalFiles(wh.folder))).toEqual(sorted([...published, ...fresh, ...strangers]));

    // The concurrent publish commits on top, its files intact; the table reads as gold, by DuckDB and icebird.
    const committed = await inFlight.commit();
    expect(committed).toMatchObject({ action: 'append', attempts: 1 });
    expect((await reconcileTable(ctx, await plays(db))).matches).toBe(true);
    const current = await icebergRead({ tableUrl: `${http.url}/wh/gold/fact_plays` });
    // Days 1, 2 and 4 (day 3 was only ever in the killed publish).
    expect(current.map((r) => Number(r.date_key)).sort()).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4]);
    // Time travel: every older snapshot reads as it did before the removal.
    for (const id of snapshots) expect(await snapshotRows(wh.catalog, id)).toEqual(asOf.get(id));

    // Nothing is left to remove: the in-flight files are referenced now, with the v4 it committed.
    const again = await removeOrphanFiles({ catalog: wh.catalog, namespace: 'gold' }, ['fact_plays'], {
      minAgeMs: 0,
    });
    expect(again.tables[0]).toMatchObject({
      removed: [],
      kept: [],
      referenced: published.length + fresh.length + 1,
    });
  });

  it('keeps an unreferenced file whose name holds a %, which another tool may reference spelled decoded', async () => {
    const wh = warehouseIn('wh-percent');
    const ctx = context(db, wh.catalog, 'percent');
    await db.run('DROP TABLE IF EXISTS gold.fact_plays');
    for (const sql of [CREATE, dayRows(1, 0)]) await db.run(sql);
    await syncTable(ctx, await plays(db));
    // Hive names a partition folder of `s=a b` as s=a%20b on disk; a file:/ URI may keep or decode it.
    const hive = join(wh.folder, 'gold', 'fact_plays', 'data', 's=a%20b', 'f.parquet');
    const plain = join(wh.folder, 'gold', 'fact_plays', 'data', 'plain.parquet');
    for (const file of [hive, plain]) {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, 'PAR1');
    }
    await ageAll(wh.folder, 4 * DAY);
    const report = await removeOrphanFiles({ catalog: wh.catalog, namespace: 'gold' }, ['fact_plays']);
    expect(report.tables[0]!.removed.map((f) => wh.io.identity(f.uri))).toEqual([plain]);
    expect(report.tables[0]!.kept.map((f) => f.uri)).toEqual([expect.stringMatching(/s=a%20b\/f\.parquet$/)]);
    expect((await readFile(hive, 'utf8')).length).toBe(4);
  });

  it('removes what a killed first publish left (no table yet), after which the table is created as usual', async () => {
    const wh = warehouseIn('first');
    const table = join(wh.folder, 'gold', 'fact_plays');
    await killedPublish(wh.catalog, [CREATE, dayRows(1, 0)], 'first-killed');
    const left = await listLocalFiles(table);
    expect(left.length).toBe(3);
    expect(await wh.catalog.load('gold', 'fact_plays')).toBeUndefined();
    // Younger than the threshold: kept, a first publish may be in progress.
    const early = await removeOrphanFiles({ catalog: wh.catalog, namespace: 'gold' }, ['fact_plays']);
    expect(early.tables[0]!.kept.length).toBe(3);
    expect(await listLocalFiles(table)).toEqual(left);
    await ageAll(wh.folder, 4 * DAY);
    const report = await removeOrphanFiles({ catalog: wh.catalog, namespace: 'gold' }, ['fact_plays']);
    expect(sorted(report.tables[0]!.removed.map((f) => wh.io.identity(f.uri)))).toEqual(sorted(left));
    expect(await listLocalFiles(table)).toEqual([]);

    const other = await openDb();
    frozenDbs.push(other);
    await other.run('CREATE SCHEMA gold');
    for (const sql of [CREATE, dayRows(1, 0)]) await other.run(sql);
    const ctx = context(other, wh.catalog, 'first');
    expect((await syncTable(ctx, await plays(other))).action).toBe('create');
    expect((await reconcileTable(ctx, await plays(other))).matches).toBe(true);
  });

  it('deletes nothing of a table whose metadata names another folder, or cannot be loaded, or leaves the warehouse', async () => {
    const wh = warehouseIn('wh');
    const original = join(wh.folder, 'gold', 'fact_plays');
    // A copy of the table: its metadata still names the original's folder, so every file in the copy
    // looks unreferenced (and the original's newer files would, if that folder were listed).
    const copy = join(wh.folder, 'gold', 'fact_copy');
    await cp(original, copy, { recursive: true });
    await ageAll(wh.folder, 4 * DAY);
    const before = sorted(await listLocalFiles(wh.folder));
    const skipped = await removeOrphanFiles({ catalog: wh.catalog, namespace: 'gold' }, ['fact_copy'], {
      minAgeMs: 0,
    });
    expect(skipped.tables[0]).toMatchObject({ location: null, removed: [], kept: [] });
    expect(skipped.tables[0]!.skipped).toContain(`names the location ${http.url}/wh/gold/fact_plays`);
    expect(sorted(await listLocalFiles(wh.folder))).toEqual(before);

    // Metadata that does not load (v1 missing) is not "no table": refused.
    const broken = join(wh.folder, 'gold', 'fact_broken');
    await mkdir(join(broken, 'metadata'), { recursive: true });
    await mkdir(join(broken, 'data'), { recursive: true });
    await writeFile(join(broken, 'metadata', 'v2.metadata.json'), '{}');
    await writeFile(join(broken, 'data', 'old.parquet'), 'x');
    await ageAll(broken, 4 * DAY);
    const refused = await lakehouseFailure(
      removeOrphanFiles({ catalog: wh.catalog, namespace: 'gold' }, ['fact_broken'], { minAgeMs: 0 }),
    );
    expect(refused.code).toBe('ICEBERG_INVALID');
    expect(refused.message).toContain('holds table metadata but no table gold.fact_broken could be loaded');

    // A metadata file naming a manifest list outside the warehouse is refused before anything is deleted.
    const latest = (await wh.catalog.load('gold', 'fact_plays'))!;
    const version = Number(/v(\d+)\.metadata\.json$/.exec(latest.metadataLocation)?.[1]);
    const text = await readFile(join(original, 'metadata', `v${version}.metadata.json`), 'utf8');
    const outside = pathToFileURL(join(work, 'elsewhere', 'snap.avro')).href;
    const planted = text.replace(/"manifest-list"\s*:\s*"[^"]*"/, `"manifest-list": "${outside}"`);
    expect(planted).not.toBe(text);
    await writeFile(join(original, 'metadata', `v${version + 1}.metadata.json`), planted);
    const stray = join(original, 'data', 'stray.parquet');
    await writeFile(stray, 'x');
    await ageAll(original, 4 * DAY);
    const beforePlanted = sorted(await listLocalFiles(wh.folder));
    const contained = await lakehouseFailure(
      removeOrphanFiles({ catalog: wh.catalog, namespace: 'gold' }, ['fact_plays'], { minAgeMs: 0 }),
    );
    expect(contained.code).toBe('ICEBERG_INVALID');
    expect(contained.message).toContain(`${outside} is outside the warehouse`);
    expect(sorted(await listLocalFiles(wh.folder))).toEqual(beforePlanted);
  });
});

describe('orphan-file removal on a Glue catalog', () => {
  let glue: GlueServer;
  beforeAll(async () => {
    useS3rverCredentials();
    glue = await startGlueServer();
  });
  afterAll(() => glue?.close());

  it("removes a killed publish's files of a Glue table and leaves a table Glue does not list alone", async () => {
    const folder = join(work, 'glue');
    const io = createLocalFileIO(folder, `${http.url}/glue`);
    const catalog = createGlueCatalog(io, { warehouse: folder, endpoint: glue.url, region: 'us-east-1' });
    const writer = await openDb();
    frozenDbs.push(writer);
    await writer.run('CREATE SCHEMA gold');
    for (const sql of [CREATE, dayRows(1, 0)]) await writer.run(sql);
    const ctx = context(writer, catalog, 'glue');
    const created = await syncTable(ctx, await plays(writer));
    const day1 = await snapshotRows(catalog, String(created.snapshotId), writer);
    const table = join(folder, 'gold.db', 'fact_plays');
    const published = await listLocalFiles(table);
    await killedPublish(catalog, [CREATE, dayRows(1, 0), dayRows(2, 100)], 'glue-killed');
    // Killed between writing its next metadata file and UpdateTable, a Glue publish leaves that file too.
    const metadataFile = join(table, 'metadata', '00001-4f1c6f0e-killed.metadata.json');
    await writeFile(metadataFile, await readFile(published.find((f) => f.endsWith('.metadata.json'))!));
    const killed = newFiles(await listLocalFiles(table), published);
    expect(killed).toHaveLength(4);
    // Files of a table Glue does not list (dropped, kept to register again) are not orphans to remove.
    const dropped = join(folder, 'gold.db', 'dim_gone', 'data', 'kept.parquet');
    await mkdir(dirname(dropped), { recursive: true });
    await writeFile(dropped, 'PAR1');
    await ageAll(folder, 4 * DAY);

    const report = await removeOrphanFiles({ catalog, namespace: 'gold' }, ['fact_plays', 'dim_gone']);
    expect(sorted(report.tables[0]!.removed.map((f) => io.identity(f.uri)))).toEqual(killed);
    expect(report.tables[1]).toMatchObject({ table: 'dim_gone', location: null, removed: [] });
    expect(report.tables[1]!.skipped).toContain('not in the Glue catalog');
    expect(sorted(await listLocalFiles(folder))).toEqual(sorted([...published, dropped]));
    expect((await reconcileTable(ctx, await plays(writer))).matches).toBe(true);
    expect(await snapshotRows(catalog, String(created.snapshotId), writer)).toEqual(day1);
  });
});
