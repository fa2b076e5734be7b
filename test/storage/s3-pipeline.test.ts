import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../engine/api/dispatcher.ts';
import type { LakehouseError } from '../../engine/api/errors.ts';
import { createInProcessTransport } from '../../engine/api/in-process-transport.ts';
import { createEngine } from '../../engine/engine.ts';
import { initProject } from '../../engine/project/init.ts';
import { MANIFEST_KEY } from '../../engine/storage/lake-storage.ts';
import { createS3Client } from '../../engine/storage/s3-client.ts';
import { deleteKeys, getText } from '../../engine/storage/s3-objects.ts';
import { createClient } from '../../renderer/src/api/client.ts';
// The CLI without blocking this process, which serves s3rver.
import { lakehouseAsyncIn as cli } from '../helpers/cli.ts';
import { openFailure } from '../helpers/errors.ts';
import { goldFingerprints } from '../helpers/fingerprint.ts';
import { generatedProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';
import { startFaultProxy } from './fault-proxy.ts';
import { keysUnder, type S3Server, startS3Server, uploadTree, useS3rverCredentials } from './s3-helpers.ts';

describe('the example pipeline with source and lake on S3', () => {
  let work: string;
  let s3: S3Server;
  let localGold: Record<string, string>;
  let dates: string[];

  beforeAll(async () => {
    useS3rverCredentials();
    work = await tempDir();
    s3 = await startS3Server(['raw', 'lake', 'shared']);
    const generated = await generatedProject(work, 3, 2000);
    const dir = generated.dir;
    dates = generated.dates;
    localGold = await withEngine(dir, async (engine) => {
      const summary = await engine.run({});
      expect(summary.status).toBe('success');
      return goldFingerprints(engine);
    });
    const client = createS3Client({ endpoint: s3.endpoint });
    await uploadTree(
      client,
      join(work, 'data', 'customer_search_log_data'),
      'raw',
      'search/customer_search_log_data',
    );
    await uploadTree(client, join(work, 'data'), 'raw', 'all');
  }, 120_000);

  afterAll(async () => {
    await s3?.close();
    await removeDir(work);
  });

  const s3Project = async (name: string, endpoint: string, lake = `s3://lake/${name}`) => {
    const dir = join(work, name);
    await initProject({
      dir,
      example: 'customer-search',
      source: 's3://raw/search/customer_search_log_data',
      catalog: 's3://raw/all/title_catalog.csv',
      lake,
      s3: { endpoint },
    });
    return dir;
  };

  it('produces the same gold tables as the local run, and publishes a manifest naming every committed file', async () => {
    const dir = await s3Project('customer-search', s3.endpoint);
    const gold = await withEngine(dir, async (engine) => {
      const summary = await engine.run({});
      expect(summary.error).toBeUndefined();
      expect(summary.dates).toHaveLength(3);
      // Bronze names each row's S3 object, not the local cache file it was read from.
      const files = await engine.query('SELECT DISTINCT source_file FROM bronze.customer_search ORDER BY 1');
      expect(files.rows.map((r) => r.source_file)).toEqual(
        dates.map((d) =>
          expect.stringMatching(
            new RegExp(`^s3://raw/search/customer_search_log_data/${d.replaceAll('-', '')}/.+\\.parquet$`),
          ),
        ),
      );
      return goldFingerprints(engine);
    });
    expect(gold).toEqual(localGold);

    const client = createS3Client({ endpoint: s3.endpoint });
    const manifest = JSON.parse((await getText(client, 'lake', `customer-search/${MANIFEST_KEY}`)) ?? '{}');
    const keys = await keysUnder(client, 'lake', 'customer-search/');
    const parts = keys.filter((k) => k.endsWith('.parquet'));
    expect(parts.length).toBeGreaterThan(0);
    // Exactly the committed files are in the lake: nothing half-written, nothing left over.
    expect(manifest.partitions.map((p: { path: string }) => `customer-search/${p.path}`).sort()).toEqual(
      parts,
    );
  }, 180_000);

  it('re-runs from the cache without downloading, and rebuilds a lost lake mirror from S3', async () => {
    const dir = join(work, 'customer-search');
    const engine = await createEngine({ projectDir: dir });
    try {
      const fetched: { totalBytes: number; cachedBytes: number }[] = [];
      engine.project.storage.onTransfer((p) => fetched.push(p));
      const summary = await engine.run({});
      expect(summary.error).toBeUndefined();
      const last = fetched.filter((p) => p.totalBytes > 0);
      expect(last.length).toBeGreaterThan(0);
      expect(last.every((p) => p.cachedBytes === p.totalBytes)).toBe(true);
      expect(await goldFingerprints(engine)).toEqual(localGold);
    } finally {
      engine.close();
    }
    // A second machine has the warehouse but no mirror: opening fetches the committed files.
    await removeDir(join(dir, '.lakehouse', 'lake-mirror'));
    await withEngine(dir, async (engine) => {
      const rows = await engine.query('SELECT count(*) AS n FROM bronze.customer_search');
      expect(Number(rows.rows[0]?.n)).toBe(6000);
    });
    // The project moved to another folder: a read-only open re-points its views at its own mirror
    // (fetching the files again), not at the folder it left.
    const moved = join(work, 'customer-search-moved');
    await cp(dir, moved, { recursive: true });
    await removeDir(join(moved, '.lakehouse', 'lake-mirror'));
    const reader = await createEngine({ projectDir: moved, readOnly: true });
    try {
      const rows = await reader.query('SELECT count(*) AS n FROM bronze.customer_search');
      expect(Number(rows.rows[0]?.n)).toBe(6000);
      const views = await reader.query("SELECT sql FROM duckdb_views() WHERE schema_name = 'bronze'");
      expect(String(views.rows[0]?.sql)).toContain(join(moved, '.lakehouse', 'lake-mirror'));
    } finally {
      reader.close();
    }
    await removeDir(moved);
  }, 120_000);

  it('keeps the objects a run still reads in a cache smaller than them, and evicts the days it is done with', async () => {
    const dir = await s3Project('small-cache', s3.endpoint);
    // About a byte: every fetch is over the limit, so anything not held is evicted at once.
    await writeFile(
      join(dir, 'lakehouse.yaml'),
      `${await readFile(join(dir, 'lakehouse.yaml'), 'utf8')}  cache_max_gb: 0.000000001\n`,
    );
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({});
      expect(summary.error).toBeUndefined();
      expect(await goldFingerprints(engine)).toEqual(localGold);
      // The catalog (read on every date) and the last day's objects; the earlier days went as the run moved on.
      const cached = (await readdir(join(dir, '.lakehouse', 's3-cache'), { recursive: true })).filter((f) =>
        /-(.+\.parquet|title_catalog\.csv)$/.test(f),
      );
      const lastDay = await keysUnder(
        createS3Client({ endpoint: s3.endpoint }),
        'raw',
        `search/customer_search_log_data/${dates.at(-1)?.replaceAll('-', '')}/`,
      );
      expect(cached).toHaveLength(1 + lastDay.length);
    });
  }, 120_000);

  // The clean-up after a run deleted every key under the lake shaped like .../etl_date=X/part-Y.parquet,
  // at any depth: another tool's hive-partitioned output (Spark names its files part-00000-....parquet)
  // in the bucket of a lake at its root, or deeper under the lake's prefix, went with the run's garbage.
  it("leaves other tools' partition-like objects beside a lake alone", async () => {
    const client = createS3Client({ endpoint: s3.endpoint });
    const foreign = [
      'events/etl_date=2022-06-01/part-00000-3f2a-c000.snappy.parquet',
      'exports/spark/events/etl_date=2022-06-01/part-00001.parquet',
      'bronze/customer_search/etl_date=2022-06-01/part-00000-3f2a-c000.snappy.parquet',
    ];
    for (const key of foreign)
      await client.send(new PutObjectCommand({ Bucket: 'shared', Key: key, Body: 'not ours' }));
    const dir = await s3Project('bucket-root', s3.endpoint, 's3://shared');
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({ dates: [dates[0] as string] });
      expect(summary.error).toBeUndefined();
    });
    const keys = await keysUnder(client, 'shared', '');
    for (const key of foreign) expect(keys).toContain(key);
    // The run's own files are all there, and nothing else of its making.
    const manifest = JSON.parse((await getText(client, 'shared', MANIFEST_KEY)) ?? '{}');
    const ours = manifest.partitions.map((p: { path: string }) => p.path).sort();
    expect(ours.length).toBeGreaterThan(0);
    expect(keys.filter((k) => k.endsWith('.parquet') && !foreign.includes(k))).toEqual(ours);
  }, 120_000);

  it('refuses to open a fresh project on a lake another warehouse wrote, and changes nothing', async () => {
    const client = createS3Client({ endpoint: s3.endpoint });
    const before = await keysUnder(client, 'lake', 'customer-search/');
    const intruder = await s3Project('intruder', s3.endpoint, 's3://lake/customer-search');
    const error = await openFailure(intruder);
    expect(error?.code).toBe('PROJECT_INVALID');
    expect(error?.message).toMatch(
      /^The lake s3:\/\/lake\/customer-search holds \d+ partition files? this project's warehouse does not know .*Nothing was changed/,
    );
    expect(await keysUnder(client, 'lake', 'customer-search/')).toEqual(before);
  });

  // Two projects on one lake prefix, both opened while it was empty: the first check (a fresh warehouse
  // on a lake another wrote) passed for both, and from then on each run's clean-up deleted the other's files.
  it('refuses to publish over a lake another project has published to since, and deletes none of its files', async () => {
    const lake = 's3://lake/two-writers';
    const first = await s3Project('writer-a', s3.endpoint, lake);
    const second = await s3Project('writer-b', s3.endpoint, lake);
    const b = await createEngine({ projectDir: second });
    try {
      await withEngine(first, async (a) => {
        expect((await a.run({ dates: [dates[0] as string] })).error).toBeUndefined();
      });
      const client = createS3Client({ endpoint: s3.endpoint });
      const before = await keysUnder(client, 'lake', 'two-writers/');
      const summary = await b.run({ dates: [dates[1] as string] });
      expect(summary.error?.code).toBe('PROJECT_INVALID');
      expect(summary.error?.message).toMatch(
        /^The lake s3:\/\/lake\/two-writers holds \d+ partition files? this project's warehouse does not know .*Nothing was changed/,
      );
      // A's files and manifest are as A left them; B's upload is not named by any manifest.
      const after = await keysUnder(client, 'lake', 'two-writers/');
      for (const key of before) expect(after).toContain(key);
      await withEngine(first, async (a) => {
        const rows = await a.query('SELECT count(*) AS n FROM bronze.customer_search');
        expect(Number(rows.rows[0]?.n)).toBe(2000);
      });
    } finally {
      b.close();
    }
  }, 120_000);

  it('retries throttling, 5xx, dropped connections and cut-off bodies, and publishes nothing half-written', async () => {
    const proxy = await startFaultProxy(s3.endpoint);
    try {
      proxy.configure({ every: 4, faults: ['slowdown', 'internal', 'drop', 'truncate'] });
      const dir = await s3Project('faulty', proxy.endpoint);
      const gold = await withEngine(dir, async (engine) => {
        const summary = await engine.run({});
        expect(summary.error).toBeUndefined();
        return goldFingerprints(engine);
      });
      expect(gold).toEqual(localGold);
      expect(proxy.stats.slowdown).toBeGreaterThan(0);
      expect(proxy.stats.internal).toBeGreaterThan(0);
      expect(proxy.stats.drop).toBeGreaterThan(0);
      expect(proxy.stats.truncate).toBeGreaterThan(0);
      proxy.configure({ every: 0, faults: [] });
      const client = createS3Client({ endpoint: s3.endpoint });
      const manifest = JSON.parse((await getText(client, 'lake', `faulty/${MANIFEST_KEY}`)) ?? '{}');
      const parts = (await keysUnder(client, 'lake', 'faulty/')).filter((k) => k.endsWith('.parquet'));
      expect(manifest.partitions.map((p: { path: string }) => `faulty/${p.path}`).sort()).toEqual(parts);
    } finally {
      await proxy.close();
    }
  }, 180_000);

  it('fails with a clear error when the store keeps failing, and commits nothing', async () => {
    const proxy = await startFaultProxy(s3.endpoint);
    try {
      const dir = await s3Project('down', proxy.endpoint);
      await writeFile(
        join(dir, 'lakehouse.yaml'),
        `${await readFile(join(dir, 'lakehouse.yaml'), 'utf8')}  max_attempts: 2\n`,
      );
      await withEngine(dir, async (engine) => {
        // Every upload of a partition file fails: the date must not commit.
        proxy.configure({
          every: 1,
          faults: ['slowdown'],
          match: (method, url) => method === 'PUT' && url.includes('/part-'),
        });
        const summary = await engine.run({ dates: [dates[0] as string] });
        expect(summary.status).toBe('failed');
        expect(summary.error?.code).toBe('STORAGE_UNAVAILABLE');
        expect(summary.error?.message).toMatch(/s3:\/\/lake\/down\/\w+\/\w+\/etl_date=.*part-.*SlowDown/);
        const tables = await engine.query('SELECT count(*) AS n FROM _lakehouse.partitions');
        expect(Number(tables.rows[0]?.n)).toBe(0);
      });
      // The files that did upload before the failure were cleaned up with the failed run.
      const client = createS3Client({ endpoint: s3.endpoint });
      expect((await keysUnder(client, 'lake', 'down/')).filter((k) => k.endsWith('.parquet'))).toEqual([]);
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it('names the bucket and what to do when a bucket is missing or access is denied', async () => {
    const noLake = await s3Project('no-lake', s3.endpoint, 's3://no-such-bucket/lake');
    const missing = await createEngine({ projectDir: noLake }).then(
      (engine) => {
        engine.close();
        return undefined;
      },
      (error: LakehouseError) => error,
    );
    expect(missing?.code).toBe('STORAGE_BUCKET_MISSING');
    expect(missing?.message).toContain('no-such-bucket');
    expect(missing?.message).toMatch(/create it|Check the bucket name/);

    const denied = await s3Project('denied', s3.endpoint);
    process.env.AWS_ACCESS_KEY_ID = 'AKIAUNKNOWN';
    try {
      const error = await openFailure(denied);
      expect(error?.code).toBe('STORAGE_ACCESS_DENIED');
      expect(error?.message).toContain('s3://lake/denied/_lakehouse/manifest.json');
      expect(error?.message).toMatch(/credentials/);
    } finally {
      useS3rverCredentials();
    }

    // A policy that denies reading the source, and credentials that expire: neither is retried.
    const proxy = await startFaultProxy(s3.endpoint);
    try {
      const dir = await s3Project('policy', proxy.endpoint);
      await withEngine(dir, async (engine) => {
        for (const [fault, pattern] of [
          ['denied', /access denied \(AccessDenied\).*s3:GetObject/],
          ['expired', /credentials have expired.*aws sso login/],
        ] as const) {
          proxy.configure({
            every: 1,
            faults: [fault],
            match: (method, url) => method === 'GET' && url.startsWith('/raw/all/title_catalog'),
          });
          const summary = await engine.run({ dates: [dates[0] as string] });
          expect(summary.error?.code).toBe('STORAGE_ACCESS_DENIED');
          expect(summary.error?.message).toContain('s3://raw/all/title_catalog.csv');
          expect(summary.error?.message).toMatch(pattern);
        }
        expect(proxy.stats.denied).toBe(1);
        expect(proxy.stats.expired).toBe(1);
      });
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('tests a connection: what a configured or unsaved source holds, or a clear error', async () => {
    const engine = await createEngine({ projectDir: join(work, 'customer-search') });
    const dispatcher = createDispatcher(engine);
    const client = createClient(createInProcessTransport(dispatcher));
    try {
      const configured = await client.call('sources.test', { name: 'customer_search_log' });
      expect(configured).toMatchObject({ ok: true, kind: 'daily_parquet', dates, error: null });
      expect(configured.objects).toBeGreaterThanOrEqual(3);
      expect(configured.bytes).toBeGreaterThan(1000);
      expect(configured.summary).toMatch(
        /^3 days \(2022-06-01 \.\. 2022-06-03\), \d+ Parquet files?, [\d.]+ KB; 2022-06-03 reads eventID VARCHAR, /,
      );

      const catalog = await client.call('sources.test', {
        source: { kind: 'file', path: 's3://raw/all/title_catalog.csv' },
      });
      expect(catalog).toMatchObject({ ok: true, objects: 1 });

      const wrongBucket = await client.call('sources.test', {
        source: { kind: 'daily_parquet', path: 's3://no-such-bucket/raw', columns: {} },
        s3: { endpoint: s3.endpoint },
      });
      expect(wrongBucket.ok).toBe(false);
      expect(wrongBucket.error?.code).toBe('STORAGE_BUCKET_MISSING');
      expect(wrongBucket.summary).toContain('no-such-bucket');

      const emptyPrefix = await client.call('sources.test', {
        source: { kind: 'daily_parquet', path: 's3://raw/typo', columns: {} },
      });
      expect(emptyPrefix).toMatchObject({ ok: false, dates: [], error: { code: 'SOURCE_MISSING' } });
      expect(emptyPrefix.summary).toMatch(/s3:\/\/raw\/typo has no day folders named like %Y%m%d/);
    } finally {
      await dispatcher.close();
      engine.close();
    }
  }, 60_000);

  it('works from the CLI: init with --source/--catalog/--lake s3:// and a --profile, then run', async () => {
    // The profile's keys live in a shared credentials file only: the environment has none.
    const aws = join(work, 'aws');
    await mkdir(aws, { recursive: true });
    await writeFile(
      join(aws, 'credentials'),
      '[lake-user]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n',
    );
    await writeFile(join(aws, 'config'), '[profile lake-user]\nregion = eu-west-1\n');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_SHARED_CREDENTIALS_FILE: join(aws, 'credentials'),
      AWS_CONFIG_FILE: join(aws, 'config'),
    };
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    const dir = join(work, 'cli-project');
    const init = await cli(env, [
      'init',
      dir,
      '--example',
      'customer-search',
      '--source',
      's3://raw/search/customer_search_log_data',
      '--catalog',
      's3://raw/all/title_catalog.csv',
      '--lake',
      's3://lake/cli',
      '--profile',
      'lake-user',
      '--endpoint',
      s3.endpoint,
    ]);
    expect(init.code, init.stderr).toBe(0);
    const yaml = await readFile(join(dir, 'lakehouse.yaml'), 'utf8');
    expect(yaml).toContain('lake: "s3://lake/cli"');
    expect(yaml).toMatch(/s3:\n {2}profile: "lake-user"\n {2}endpoint: "http:\/\/127\.0\.0\.1:\d+"/);
    const run = await cli(env, ['run', dir, '--date', dates[0] as string]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/(KB|MB) fetched from S3 for customer_search_log 2022-06-01/);
    // A small catalog counts in KB, and its finished line is printed once, not "0/0 MB" per report.
    expect(run.stderr).not.toMatch(/ 0\/0 /);
    // Nor the AWS SDK's nine lines about its own future Node versions (package-lock.json pins it).
    expect(run.stderr).not.toContain('NodeVersionSupportWarning');
    const finished = run.stderr.match(/100% .* fetched from S3 for .*/g) ?? [];
    expect(
      finished.some((line) => / [\d.]+\/[\d.]+ KB fetched from S3 for title_catalog$/.test(line)),
      run.stderr,
    ).toBe(true);
    expect(new Set(finished).size, run.stderr).toBe(finished.length);
    const client = createS3Client({ endpoint: s3.endpoint });
    expect(await getText(client, 'lake', `cli/${MANIFEST_KEY}`)).toContain('bronze.customer_search');

    // Without the profile's file, the same run fails saying where credentials come from.
    const noCredentials = await cli({ ...env, AWS_SHARED_CREDENTIALS_FILE: join(aws, 'none') }, ['run', dir]);
    expect(noCredentials.code).toBe(1);
    expect(noCredentials.stderr).toMatch(
      /error \[STORAGE_ACCESS_DENIED\]: Cannot \w+ s3:\/\/lake\/cli\/.*: no AWS credentials found \(profile "lake-user": .*aws sso login/,
    );
  }, 120_000);

  it('a copy missing a lake file from S3 and its mirror says which, repairs, and writes it anew', async () => {
    const dir = await s3Project('lost-file', s3.endpoint);
    // A read-only open, as the CLI's query makes, in this process: a spawned CLI takes seconds to start.
    const silverRows = () =>
      withEngine(
        dir,
        async (engine) =>
          (
            await engine.query(
              'SELECT etl_date::VARCHAR AS d, count(*)::INT AS n FROM silver.customer_search GROUP BY 1 ORDER BY 1',
            )
          ).rows as { d: string; n: number }[],
        true,
      );
    await withEngine(dir, async (engine) => {
      expect((await engine.run({})).error).toBeUndefined();
    });
    const before = await silverRows();
    expect(before.map((r) => r.d)).toEqual(dates);
    // The file is deleted from the bucket, and the project is on a machine without a mirror.
    const client = createS3Client({ endpoint: s3.endpoint });
    const keys = await keysUnder(client, 'lake', 'lost-file/silver/customer_search/etl_date=2022-06-02/');
    expect(keys).toHaveLength(1);
    const lost = `s3://lake/${keys[0]}`;
    await deleteKeys(client, 'lake', keys);
    const mirror = join(dir, '.lakehouse', 'lake-mirror');
    await removeDir(mirror);

    // Reads and runs name the lost file and what to do, instead of failing on a file not mirrored.
    for (const args of [
      ['tables', dir],
      ['run', dir, '--date', '2022-06-02'],
    ]) {
      const attempt = await cli(process.env, args);
      expect(attempt.code, attempt.stderr).toBe(1);
      expect(attempt.stderr).toContain(
        'error [PROJECT_INVALID]: 1 committed partition file is missing from the lake s3://lake/lost-file: ' +
          `silver.customer_search 2022-06-02 (${lost})`,
      );
      expect(attempt.stderr).toContain(
        `\`lakehouse repair ${dir}\` forgets them; then run that date again (--date 2022-06-02)`,
      );
    }
    const repaired = await cli(process.env, ['repair', dir]);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stdout).toContain(`silver.customer_search 2022-06-02  (${lost})`);
    expect((await silverRows()).map((r) => r.d)).toEqual(dates.filter((d) => d !== '2022-06-02'));
    const rerun = await cli(process.env, ['run', dir, '--date', '2022-06-02']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await silverRows()).toEqual(before);
    // The manifest names exactly the files in the bucket again.
    const manifest = JSON.parse((await getText(client, 'lake', `lost-file/${MANIFEST_KEY}`)) ?? '{}');
    expect(manifest.partitions.map((p: { path: string }) => `lost-file/${p.path}`).sort()).toEqual(
      (await keysUnder(client, 'lake', 'lost-file/')).filter((k) => k.endsWith('.parquet')),
    );
    // A read-only open fetches what the mirror lacks.
    await removeDir(mirror);
    expect(await silverRows()).toEqual(before);
    expect((await cli(process.env, ['repair', dir])).stdout).toBe(
      'Nothing to repair: every committed partition file is in the lake.\n',
    );
    // A lake that is elsewhere (another prefix) is not forgotten wholesale.
    const yamlPath = join(dir, 'lakehouse.yaml');
    const yaml = await readFile(yamlPath, 'utf8');
    await writeFile(yamlPath, yaml.replace('s3://lake/lost-file', 's3://lake/lost-file-elsewhere'));
    const whole = await cli(process.env, ['repair', dir]);
    expect(whole.code).toBe(1);
    expect(whole.stderr).toMatch(
      /error \[PROJECT_INVALID\]: Every one of the \d+ committed partition files is missing from s3:\/\/lake\/lost-file-elsewhere/,
    );
    await writeFile(yamlPath, yaml);
    expect((await cli(process.env, ['tables', dir])).code).toBe(0);
  }, 180_000);
});
