import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { icebergRead } from 'icebird';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MethodName, MethodOutput } from '../../../engine/api/contract.ts';
import { createDispatcher, type Dispatcher } from '../../../engine/api/dispatcher.ts';
import { LakehouseError } from '../../../engine/api/errors.ts';
import type { Engine } from '../../../engine/engine.ts';
import { createEngine } from '../../../engine/engine.ts';
import { createFileSystemCatalog } from '../../../engine/publish/iceberg/catalogs/fs-catalog.ts';
import { createLocalFileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { parseMetadata } from '../../../engine/publish/iceberg/metadata-json.ts';
import {
  icebergStateDir,
  type OpenedTarget,
  openTarget,
  preflightIceberg,
  publishIceberg,
} from '../../../engine/publish/iceberg/publish.ts';
import { rejection } from '../../helpers/api.ts';
import { generatedProject, HAS_SHARED_DATA, removeDir, SHARED_DATA, tempDir } from '../../helpers/project.ts';
import { serveFolder } from './helpers.ts';

let work: string;
let engine: Engine;
let dates: string[];
let server: Awaited<ReturnType<typeof serveFolder>>;
let target: OpenedTarget;
let dispatcher: Dispatcher;
const call = <M extends MethodName>(method: M, input: unknown) =>
  dispatcher.call(method, input) as Promise<MethodOutput<M>>;

beforeAll(async () => {
  work = await tempDir('iceberg-publish-');
  const project = await generatedProject(work, 2, 300);
  dates = project.dates;
  engine = await createEngine({ projectDir: project.dir });
  server = await serveFolder(join(work, 'warehouse'));
  target = {
    catalog: createFileSystemCatalog(
      createLocalFileIO(join(work, 'warehouse'), server.url),
      'test warehouse',
    ),
    namespace: 'gold',
    properties: {},
    stateDir: icebergStateDir(engine.project),
  };
  dispatcher = createDispatcher(engine);
}, 120_000);

afterAll(async () => {
  await dispatcher?.close();
  engine?.close();
  await server?.close();
  await removeDir(work);
});

/** Every published table, read by icebird over HTTP, has the gold table's row count and keys. */
async function expectIcebirdEqualsGold(tables: string[]) {
  for (const table of tables) {
    const rows = await icebergRead({ tableUrl: `${server.url}/gold/${table}` }).catch((error: Error) => {
      if (/No data manifest/.test(error.message)) return [];
      throw error;
    });
    const local = Number(await engine.db.scalar(`SELECT count(*) FROM gold.${table}`));
    expect([table, rows.length]).toEqual([table, local]);
  }
}

describe('publishing the generated example', () => {
  it('after day 1 and again after day 2 keeps every Iceberg table equal to local gold', async () => {
    await engine.run({ dates: [dates[0]!] });
    const preflight = await preflightIceberg(engine, target);
    expect(preflight.tables.every((t) => t.action === 'create')).toBe(true);
    const fact = preflight.tables.find((t) => t.table === 'fact_customer_search')!;
    expect(fact).toMatchObject({ mode: 'partitions', partitionedBy: 'date_key' });
    expect(fact.columns.find((c) => c.name === 'datetime_log')).toMatchObject({
      duckdbType: 'TIMESTAMP',
      icebergType: 'timestamp',
    });

    const first = await publishIceberg(engine, target);
    const names = first.tables.map((t) => t.table);
    expect(names).toContain('dim_user');
    expect(names.at(-1)).toBe('fact_customer_search');
    for (const t of first.tables) expect([t.table, t.reconciliation.matches]).toEqual([t.table, true]);
    await expectIcebirdEqualsGold(names);
    const dayOneFact = Number(await engine.db.scalar('SELECT count(*) FROM gold.fact_customer_search'));
    // The same through the engine's API, to a second warehouse given only as a folder.
    const viaApi = await call('publish.iceberg.run', { warehouse: join(work, 'api-warehouse') });
    expect(viaApi.tables.every((t) => t.reconciliation.matches && t.action === 'create')).toBe(true);

    await engine.run({ dates: [dates[1]!] });
    const preflight2 = await preflightIceberg(engine, target);
    const fact2 = preflight2.tables.find((t) => t.table === 'fact_customer_search')!;
    expect(fact2).toMatchObject({ action: 'append', rowsRemoved: 0 });
    expect(fact2.rowsAdded).toBeGreaterThan(0);
    expect(preflight2.tables.find((t) => t.table === 'dim_user')?.action).toBe('upsert');

    const second = await publishIceberg(engine, target);
    for (const t of second.tables) expect([t.table, t.reconciliation.matches]).toEqual([t.table, true]);
    const factResult = second.tables.find((t) => t.table === 'fact_customer_search')!;
    expect(factResult).toMatchObject({ action: 'append', operation: 'append' });
    await expectIcebirdEqualsGold(names);

    // History and time travel through the API.
    const warehouse = join(work, 'api-warehouse');
    await call('publish.iceberg.run', { warehouse });
    const history = await call('iceberg.snapshots', { warehouse, table: 'fact_customer_search' });
    expect(history.snapshots.map((s) => [s.operation, s.action])).toEqual([
      ['append', 'append'],
      ['append', 'create'],
    ]);
    const [latest, firstSnapshot] = history.snapshots;
    const dayTwoRows =
      Number(await engine.db.scalar('SELECT count(*) FROM gold.fact_customer_search')) - dayOneFact;
    expect(latest).toMatchObject({
      rowsAdded: dayTwoRows,
      rowsRemoved: 0,
      totalRows: dayOneFact + dayTwoRows,
    });
    const asOfDayOne = await call('iceberg.scan', {
      warehouse,
      table: 'fact_customer_search',
      snapshotId: firstSnapshot!.snapshotId,
      limit: 5,
    });
    expect(asOfDayOne).toMatchObject({ totalRows: dayOneFact, hasMore: true });
    expect(asOfDayOne.rows).toHaveLength(5);
    expect(asOfDayOne.columns.map((c) => c.name)).toContain('event_id');
    // Windows of the latest snapshot (two data files) hold every row once, in the same order each read.
    const scanned: unknown[] = [];
    for (let hasMore = true; hasMore; ) {
      const window = await call('iceberg.scan', {
        warehouse,
        table: 'fact_customer_search',
        offset: scanned.length,
        limit: 97,
      });
      scanned.push(...window.rows.map((r) => r.event_id));
      hasMore = window.hasMore;
    }
    expect(scanned).toHaveLength(dayOneFact + dayTwoRows);
    expect(new Set(scanned).size).toBe(dayOneFact + dayTwoRows);
    const diff = await call('iceberg.diff', {
      warehouse,
      table: 'fact_customer_search',
      from: firstSnapshot!.snapshotId,
      to: latest!.snapshotId,
      limit: 3,
    });
    expect(diff).toMatchObject({ rowsAdded: dayTwoRows, rowsRemoved: 0 });
    expect(diff.added).toHaveLength(3);
    const userHistory = await call('iceberg.snapshots', { warehouse, table: 'dim_user' });
    expect(userHistory.snapshots[0]?.action).toBe('upsert');
    const userDiff = await call('iceberg.diff', {
      warehouse,
      table: 'dim_user',
      from: userHistory.snapshots[1]!.snapshotId,
      to: userHistory.snapshots[0]!.snapshotId,
      limit: 2,
    });
    // Returning users' last_search_dt moved: each shows as one row removed and one added.
    expect(userDiff.rowsAdded).toBeGreaterThan(0);
    expect(userDiff.rowsRemoved).toBeGreaterThan(0);
    const preflight3 = await call('publish.iceberg.preflight', { warehouse });
    expect(preflight3.tables.every((t) => t.action === 'none')).toBe(true);

    // Publishing again with nothing new changes nothing.
    const third = await publishIceberg(engine, target);
    expect(third.tables.every((t) => t.action === 'none')).toBe(true);

    // Re-running day 1 rewrites nothing whose rows are unchanged (the pipeline is deterministic).
    await engine.run({ dates: [dates[0]!] });
    const rerun = await publishIceberg(engine, target);
    expect(rerun.tables.find((t) => t.table === 'fact_customer_search')?.action).toBe('none');
  }, 180_000);
});

describe('cancelling a publish', () => {
  it('commits nothing of the table it was writing, deletes its files, and keeps the tables before it', async () => {
    const folder = join(work, 'cancel-warehouse');
    await engine.run({ dates: [dates[0]!] }); // idempotent: gold as it is, or built when this test runs alone
    // A bare warehouse folder, as the API call below names it.
    const cancelTarget = await openTarget(engine.project, { warehouse: folder });
    const controller = new AbortController();
    let commits = 0;
    const cancelled = await publishIceberg(engine, cancelTarget, {
      signal: controller.signal,
      // The third table's files and manifests are written; cancel just before its commit.
      beforeCommit: async () => {
        commits += 1;
        if (commits === 3) controller.abort();
      },
    }).catch((error: unknown) => error);
    const tables = (await preflightIceberg(engine, cancelTarget)).tables;
    const [first, second, third] = tables.map((t) => t.table);
    expect(cancelled).toMatchObject({
      code: 'RUN_CANCELLED',
      message: `The Iceberg publish to ${cancelTarget.catalog.description} was cancelled: ${first}, ${second} had been published (each table commits on its own); no rows of ${third} or the tables after it were committed.`,
      details: { published: [first, second], table: third },
    });
    expect(tables.map((t) => t.action)).toEqual(['none', 'none', ...tables.slice(2).map(() => 'create')]);
    // The cancelled table's data files were deleted; no later table was started.
    const dataFiles = async (table: string) =>
      (await readdir(join(folder, 'gold', table, 'data'), { recursive: true }).catch(() => [])).filter((f) =>
        String(f).endsWith('.parquet'),
      );
    expect(await dataFiles(third!)).toEqual([]);
    expect(await dataFiles(tables.at(-1)!.table)).toEqual([]);
    expect((await dataFiles(first!)).length).toBeGreaterThan(0);
    // The cancelled table was new: no table is left for readers, not even an empty one (v1, version-hint).
    expect(await cancelTarget.catalog.load('gold', third!)).toBeUndefined();
    const metadata = await readdir(join(folder, 'gold', third!, 'metadata')).catch(() => []);
    expect(metadata.filter((f) => /\.metadata\.json$|^version-hint\.text$/.test(String(f)))).toEqual([]);

    // Cancelled through the API while the facts are written: the next publish completes the rest.
    let stop = () => {};
    const factStarted = new Promise<void>((resolve) => {
      stop = dispatcher.subscribe((event) => {
        if (event.type === 'publish.progress' && event.table === 'fact_customer_search') resolve();
      });
    });
    const run = call('publish.iceberg.run', { warehouse: folder });
    // A publish that ends before the facts fails the test here, instead of waiting for ever.
    await Promise.race([factStarted, run.then(() => expect.fail('the publish ended before the facts'))]);
    stop();
    expect(await call('publish.cancel', {})).toEqual({ cancelled: true });
    expect(await rejection(run)).toMatchObject({ code: 'RUN_CANCELLED' });
    expect(await call('publish.cancel', {})).toEqual({ cancelled: false });
    // Shutting the app down stops a publish the same way, rather than waiting for it to finish.
    const closing = createDispatcher(engine);
    const factStartedToo = new Promise<void>((resolve) => {
      closing.subscribe((event) => {
        if (event.type === 'publish.progress' && event.table === 'fact_customer_search') resolve();
      });
    });
    const interrupted = closing.call('publish.iceberg.run', { warehouse: folder });
    await Promise.race([factStartedToo, interrupted.then(() => expect.fail('the publish ended first'))]);
    await closing.close();
    expect(await rejection(interrupted)).toMatchObject({ code: 'RUN_CANCELLED' });

    const resumed = await publishIceberg(engine, cancelTarget);
    expect(resumed.tables.filter((t) => t.action !== 'none').map((t) => t.table)).toEqual([
      'fact_customer_search',
    ]);
    expect(resumed.tables.every((t) => t.reconciliation.matches)).toBe(true);
  }, 120_000);

  it('a failure at a later table names the tables already published, and publishing again finishes', async () => {
    const folder = join(work, 'failing-warehouse');
    await engine.run({ dates: [dates[0]!] }); // idempotent: gold as it is, or built when this test runs alone
    const failingTarget = await openTarget(engine.project, { warehouse: folder });
    let commits = 0;
    // The store fails as the third table commits (as a 500 after retries would): the first two are published.
    const failed = await publishIceberg(engine, failingTarget, {
      beforeCommit: async () => {
        commits += 1;
        if (commits === 3) throw new LakehouseError('STORAGE_UNAVAILABLE', 'The store is failing.');
      },
    }).catch((error: unknown) => error);
    const tables = (await preflightIceberg(engine, failingTarget)).tables;
    const [first, second] = tables.map((t) => t.table);
    expect(failed).toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: `The store is failing. Before it failed, ${first}, ${second} had been published (each table commits on its own); publishing again finishes the rest.`,
      details: { published: [first, second] },
    });
    expect(tables.map((t) => t.action)).toEqual(['none', 'none', ...tables.slice(2).map(() => 'create')]);
    const resumed = await publishIceberg(engine, failingTarget);
    expect(resumed.tables.filter((t) => t.action !== 'none')).toHaveLength(tables.length - 2);
    expect(resumed.tables.every((t) => t.reconciliation.matches)).toBe(true);
  }, 120_000);

  it('stops at once when the cancel comes between two statements, writing no more files', async () => {
    const folder = join(work, 'cancel-between-warehouse');
    await engine.run({ dates: [dates[0]!] });
    const target = await openTarget(engine.project, { warehouse: folder });
    const controller = new AbortController();
    let reachedCommit = false;
    const cancelled = await publishIceberg(engine, target, {
      signal: controller.signal,
      // Said just before the first table's data files are written: no DuckDB statement is running, so
      // an interrupt alone is lost and the files would be written, up to the check before the commit.
      onProgress: ({ message }) => {
        if (message.includes(': writing ')) controller.abort();
      },
      beforeCommit: async () => {
        reachedCommit = true;
      },
    }).catch((error: unknown) => error);
    const [first] = (await preflightIceberg(engine, target)).tables.map((t) => t.table);
    expect(cancelled).toMatchObject({ code: 'RUN_CANCELLED', details: { published: [], table: first } });
    expect(reachedCommit).toBe(false);
    expect(await readdir(join(folder, 'gold', first!, 'data')).catch(() => [])).toEqual([]);
    // The engine's connection is free again, and the next publish completes.
    const resumed = await publishIceberg(engine, target);
    expect(resumed.tables.every((t) => t.reconciliation.matches)).toBe(true);
  }, 120_000);
});

describe('Iceberg names from the API and lakehouse.yaml', () => {
  // Relies on the first describe: api-warehouse holds published tables, found by climbing out of another.
  const other = () => join(work, 'other-warehouse');

  it('refuses a table name that is not a plain name, before it reaches the warehouse', async () => {
    const escapes = ['../../api-warehouse/gold/dim_user', '../../../../etc', 'dim_user/..'];
    for (const table of escapes) {
      for (const [method, input] of [
        ['iceberg.snapshots', { warehouse: other(), table }],
        ['iceberg.scan', { warehouse: other(), table }],
        ['iceberg.diff', { warehouse: other(), table, from: '1', to: '2' }],
      ] as const) {
        const error = await rejection(call(method, input));
        expect([method, table, error.code, error.details.issues]).toEqual([
          method,
          table,
          'INVALID_ARGUMENT',
          [{ path: 'table', message: expect.stringMatching(/letters, digits and _ only, e\.g\. dim_user/) }],
        ]);
      }
    }
  });

  it('refuses a catalog namespace that is not a plain name, naming the setting', async () => {
    const catalogs = engine.project.config.publish.iceberg;
    catalogs.climbs = { type: 'filesystem', warehouse: other(), namespace: '../api-warehouse/gold' };
    try {
      const error = await rejection(call('iceberg.snapshots', { catalog: 'climbs', table: 'dim_user' }));
      expect(error.code).toBe('PROJECT_INVALID');
      expect(error.message).toMatch(
        /publish\.iceberg\.climbs\.namespace: expected an Iceberg table or namespace name of letters, digits and _ only/,
      );
    } finally {
      delete catalogs.climbs;
    }
  });

  it('refuses a REST catalog URI holding credentials, without repeating them', async () => {
    const catalogs = engine.project.config.publish.iceberg;
    catalogs.leaky = { type: 'rest', uri: 'https://reader:s3cr3t@catalog.example.com/api' };
    try {
      const error = await rejection(call('iceberg.snapshots', { catalog: 'leaky', table: 'dim_user' }));
      expect(error.code).toBe('PROJECT_INVALID');
      expect(error.message).toContain('publish.iceberg.leaky.uri: holds credentials (user:password@)');
      expect(error.message).toContain('token_env');
      expect(JSON.stringify(error)).not.toContain('s3cr3t');
    } finally {
      delete catalogs.leaky;
    }
  });
});

describe('publishing a fact that carries the ETL date of each row', () => {
  it('after each run compares only the partitions that run wrote', async () => {
    const dir = await tempDir('iceberg-lineage-');
    try {
      const project = await generatedProject(dir, 3, 200);
      const model = join(project.dir, 'models', 'gold', 'fact_customer_search.sql');
      const sql = await readFile(model, 'utf8');
      await writeFile(model, sql.replace('  e.event_id,\n', '  e.event_id,\n  e.etl_date,\n'));
      const lineageEngine = await createEngine({ projectDir: project.dir });
      try {
        const lineageTarget: OpenedTarget = {
          catalog: createFileSystemCatalog(createLocalFileIO(join(dir, 'warehouse')), 'lineage warehouse'),
          namespace: 'gold',
          properties: {},
          stateDir: icebergStateDir(lineageEngine.project),
        };
        const factAfter = async (dates: string[]) => {
          await lineageEngine.run({ dates });
          const result = await publishIceberg(lineageEngine, lineageTarget);
          for (const t of result.tables) expect([t.table, t.reconciliation.matches]).toEqual([t.table, true]);
          return result.tables.find((t) => t.table === 'fact_customer_search')!;
        };
        const [day1, day2, day3] = project.dates;
        expect((await factAfter([day1!])).comparison).toMatchObject({
          scope: 'all',
          reason: 'first publish',
        });
        const second = await factAfter([day2!]);
        expect(second).toMatchObject({ action: 'append', rowsRemoved: 0 });
        expect(second.comparison).toMatchObject({ scope: 'since-last-publish' });
        // Two runs between publishes, one of them re-running day 1 with the same rows.
        await lineageEngine.run({ dates: [day3!] });
        const third = await factAfter([day1!]);
        expect(third).toMatchObject({ action: 'append', rowsRemoved: 0 });
        expect(third.comparison).toMatchObject({
          scope: 'since-last-publish',
          reason: '2 ETL dates committed since the last publish',
        });
      } finally {
        lineageEngine.close();
      }
    } finally {
      await removeDir(dir);
    }
  }, 180_000);
});

describe('Iceberg project metadata fixtures', () => {
  const folder = join(SHARED_DATA, 'iceberg-metadata-fixtures');
  it.skipIf(!HAS_SHARED_DATA)(
    'accepts the valid one and rejects each invalid one with its reason',
    async () => {
      const names = (await readdir(folder)).filter((n) => n.endsWith('.json')).sort();
      const outcome = async (name: string) => {
        try {
          const m = parseMetadata(await readFile(join(folder, name), 'utf8'), name);
          return `ok ${m.schemas.length} schemas, current ${m['current-schema-id']}`;
        } catch (error) {
          return (error as Error).message;
        }
      };
      expect(names).toHaveLength(4);
      expect(await outcome('TableMetadataV2Valid.json')).toBe('ok 2 schemas, current 1');
      expect(await outcome('TableMetadataV2MissingSortOrder.json')).toMatch(
        /missing required fields sort-orders, default-sort-order-id$/,
      );
      expect(await outcome('TableMetadataV2MissingPartitionSpecs.json')).toMatch(
        /missing required fields.* partition-specs.*\(only the v1 fields schema, partition-spec present\)/,
      );
      expect(await outcome('TableMetadataV2CurrentSchemaNotFound.json')).toMatch(
        /current-schema-id 2 names no schema/,
      );
    },
  );
});
