import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { scanSnapshot } from '../../../engine/publish/iceberg/history.ts';
import { removeOrphanFiles } from '../../../engine/publish/iceberg/orphans.ts';
import { openTarget } from '../../../engine/publish/iceberg/publish.ts';
import { createS3Client } from '../../../engine/storage/s3-client.ts';
import { lakehouse } from '../../helpers/cli.ts';
import { generatedProject, PROJECT_ROOT, removeDir, tempDir, withEngine } from '../../helpers/project.ts';
import { type FaultProxy, startFaultProxy } from '../../storage/fault-proxy.ts';
import { keysUnder, type S3Server, startS3Server, useS3rverCredentials } from '../../storage/s3-helpers.ts';

// `lakehouse publish iceberg --remove-orphans`: a publish killed (kill -9) after writing its files and
// before its commit leaves them in the warehouse; they are removed once older than the threshold.

const FACT = 'fact_customer_search';

let work: string;
let dir: string;
let dates: string[];
let s3: S3Server;
let proxy: FaultProxy;

beforeAll(async () => {
  useS3rverCredentials();
  work = await tempDir('iceberg-orphans-cli-');
  s3 = await startS3Server(['lake']);
  proxy = await startFaultProxy(s3.endpoint);
  const project = await generatedProject(work, 2, 200);
  dir = project.dir;
  dates = project.dates;
  await withEngine(dir, async (engine) => {
    expect((await engine.run({ dates: [dates[0] as string] })).error).toBeUndefined();
  });
  // The S3 warehouse is reached through a proxy that can hold back a request while the publisher is killed.
  const file = join(dir, 'lakehouse.yaml');
  const config = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  config.publish = {
    iceberg: {
      lake: {
        type: 'filesystem',
        warehouse: 's3://lake/wh',
        s3: { endpoint: proxy.endpoint, region: 'us-east-1' },
      },
    },
  };
  await writeFile(file, stringify(config));
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  await s3?.close();
  await removeDir(work);
});

/**
 * `lakehouse <args>` in a child process, awaited without blocking: s3rver and the proxy answer from
 * this process, which spawnSync would freeze.
 */
function lakehouseAsync(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/lakehouse.js', ...args], {
    cwd: PROJECT_ROOT,
    env: process.env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

interface OrphanJson {
  tables: { table: string; removed: { uri: string }[]; kept: { uri: string }[]; referenced: number }[];
}

/** The rows of a snapshot of the fact, read from the warehouse (the download cache emptied first). */
async function factAsOf(snapshotId: string): Promise<string[]> {
  await rm(join(dir, '.iceberg', 'downloads'), { recursive: true, force: true });
  return withEngine(
    dir,
    async (engine) => {
      const target = await openTarget(engine.project, { catalog: 'lake' });
      const scan = await scanSnapshot(engine.db, target.catalog, 'gold', FACT, {
        snapshotId,
        offset: 0,
        limit: 100_000,
      });
      return scan.rows.map((r) => JSON.stringify(r)).sort();
    },
    true,
  );
}

describe('orphan files of a publish killed before its commit, on an S3 warehouse', () => {
  it('are listed, kept while young, then removed exactly; the table and its history read as before', async () => {
    const client = createS3Client({ endpoint: s3.endpoint, region: 'us-east-1' });
    const prefix = `wh/gold/${FACT}/`;
    /** `publish iceberg` of the fact table to the S3 catalog, with `options`. */
    const publishFact = (...options: string[]) =>
      lakehouseAsync('publish', 'iceberg', dir, '--catalog', 'lake', '--tables', FACT, ...options);
    const first = await publishFact('--json');
    expect(first.code).toBe(0);
    const firstSnapshot = (JSON.parse(first.stdout) as { tables: { snapshotId: string }[] }).tables[0]!
      .snapshotId;
    const day1 = await factAsOf(firstSnapshot);
    await withEngine(dir, async (engine) => {
      expect((await engine.run({ dates: [dates[1] as string] })).error).toBeUndefined();
    });
    const published = await keysUnder(client, 'lake', prefix);

    // Publish date 2 in a child process and kill -9 it as it sends its commit (v2.metadata.json),
    // which the proxy drops so the commit never lands.
    const commit = (method: string, url: string) =>
      method === 'PUT' && url.includes(`/${FACT}/metadata/v2.metadata.json`);
    proxy.configure({ every: 1, faults: ['drop'], match: commit });
    const child = spawn(
      process.execPath,
      ['bin/lakehouse.js', 'publish', 'iceberg', dir, '--catalog', 'lake', '--tables', FACT],
      { cwd: PROJECT_ROOT, stdio: 'ignore', env: process.env },
    );
    let armed = true;
    proxy.onRequest((method, url) => {
      if (armed && commit(method, url)) child.kill('SIGKILL');
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, how) => resolve(how)),
    );
    armed = false;
    proxy.configure({ every: 0, faults: [] });
    expect(signal).toBe('SIGKILL');
    const afterKill = await keysUnder(client, 'lake', prefix);
    const leftovers = afterKill.filter((k) => !published.includes(k)).map((k) => `s3://lake/${k}`);
    // Its data file(s), the new manifest and the manifest list; the table itself is still at v1.
    expect(leftovers.some((k) => k.endsWith('.parquet'))).toBe(true);
    expect(leftovers.filter((k) => /\/metadata\/snap-[^/]*\.avro$/.test(k))).toHaveLength(1);
    expect(leftovers.filter((k) => /\/metadata\/[^/]*-m0\.avro$/.test(k))).toHaveLength(1);
    expect(leftovers.some((k) => k.endsWith('.metadata.json'))).toBe(false);

    // Old objects that are not the table's files: a sibling table sharing the name's start, an object
    // named like the folder, a folder marker. None may go.
    const strangers = [`wh/gold/${FACT}_old/data/x.parquet`, `wh/gold/${FACT}`, `${prefix}data/`];
    for (const key of strangers)
      await client.send(
        new PutObjectCommand({ Bucket: 'lake', Key: key, Body: Buffer.from(key.endsWith('/') ? '' : 'x') }),
      );

    // Objects written after `cutoff` are "young": here a concurrent publish's data file in flight.
    await sleep(1_100);
    const cutoff = Date.now();
    await sleep(1_100);
    const inFlight = `${prefix}data/in-flight.parquet`;
    await client.send(new PutObjectCommand({ Bucket: 'lake', Key: inFlight, Body: Buffer.from('PAR1') }));

    // With the default threshold (3 days) everything unreferenced is too young: listed, nothing deleted.
    const dry = await publishFact('--remove-orphans', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    const dryOrphans = (JSON.parse(dry.stdout) as { orphans: OrphanJson }).orphans.tables[0]!;
    expect(dryOrphans.removed).toEqual([]);
    expect(dryOrphans.kept.map((f) => f.uri).sort()).toEqual([...leftovers, `s3://lake/${inFlight}`].sort());
    expect(dryOrphans.referenced).toBe(published.length);

    // Older than the cutoff: exactly the killed publish's objects go.
    const report = await withEngine(
      dir,
      async (engine) => {
        const target = await openTarget(engine.project, { catalog: 'lake' });
        const now = Date.now();
        return removeOrphanFiles(target, [FACT], { now, minAgeMs: now - cutoff });
      },
      true,
    );
    expect(report.tables[0]!.removed.map((f) => f.uri).sort()).toEqual([...leftovers].sort());
    expect(report.tables[0]!.kept.map((f) => f.uri)).toEqual([`s3://lake/${inFlight}`]);
    const everything = await keysUnder(client, 'lake', 'wh/');
    expect(everything).toEqual([...published, ...strangers, inFlight].sort());

    // Publishing again commits date 2 (v2); --remove-orphans after it, with the default age, keeps the
    // young object and removes nothing referenced.
    const again = await publishFact('--remove-orphans', '--json');
    expect(again.code).toBe(0);
    const result = JSON.parse(again.stdout) as {
      tables: { action: string; reconciliation: { matches: boolean }; snapshotId: string }[];
      orphans: OrphanJson;
    };
    expect(result.tables[0]).toMatchObject({ reconciliation: { matches: true } });
    expect(result.tables[0]!.action).not.toBe('none');
    expect(result.orphans.tables[0]).toMatchObject({ removed: [], kept: [{ uri: `s3://lake/${inFlight}` }] });
    const afterPublish = await keysUnder(client, 'lake', 'wh/');
    for (const key of published) expect(afterPublish).toContain(key);
    // Time travel: the first snapshot reads date 1 as it did, the new one holds both dates.
    expect(await factAsOf(firstSnapshot)).toEqual(day1);
    expect((await factAsOf(result.tables[0]!.snapshotId)).length).toBeGreaterThan(day1.length);
  }, 180_000);
});

describe('the local staging of a publish to S3 killed mid-upload', () => {
  it('is removed by the next publish, and a live or unverifiable publish keeps its own', async () => {
    // Kill -9 a publish of dim_user as it uploads its data file (held back by the proxy): its staged
    // gold rows stay in .iceberg/staging/<machine>-<pid>-<uuid>/.
    const staging = join(dir, '.iceberg', 'staging');
    const upload = (method: string, url: string) => method === 'PUT' && url.includes('/gold/dim_user/data/');
    proxy.configure({ every: 1, faults: ['drop'], match: upload });
    const child = spawn(
      process.execPath,
      ['bin/lakehouse.js', 'publish', 'iceberg', dir, '--catalog', 'lake', '--tables', 'dim_user'],
      { cwd: PROJECT_ROOT, stdio: 'ignore', env: process.env },
    );
    let armed = true;
    proxy.onRequest((method, url) => {
      if (armed && upload(method, url)) child.kill('SIGKILL');
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, how) => resolve(how)),
    );
    armed = false;
    proxy.configure({ every: 0, faults: [] });
    expect(signal).toBe('SIGKILL');
    const [killed, ...others] = await readdir(staging);
    expect(others).toEqual([]);
    const [, machine, pid] = /^([0-9a-f]{8})-(\d+)-/.exec(killed ?? '') ?? [];
    expect(Number(pid)).toBe(child.pid);
    expect(
      (await readdir(join(staging, killed as string), { recursive: true })).some((f) =>
        f.endsWith('.parquet'),
      ),
    ).toBe(true);

    // Beside it: a publish of this machine still running (this test's process), however old its
    // folder; one of another machine sharing the project; one named before names held a pid.
    const uuid = '0b7e3c9a-4f1d-4c2e-9a51-7d2f6e8b1c30';
    const live = `${machine}-${process.pid}-${uuid}`;
    const otherMachine = `${machine === '00000000' ? '11111111' : '00000000'}-${child.pid}-${uuid}`;
    const unnamed = uuid;
    for (const name of [live, otherMachine, unnamed]) {
      await mkdir(join(staging, name), { recursive: true });
      await writeFile(join(staging, name, 'rows.parquet'), 'gold rows');
    }
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await utimes(join(staging, live), twoDaysAgo, twoDaysAgo);

    const again = await lakehouseAsync(
      'publish',
      'iceberg',
      dir,
      '--catalog',
      'lake',
      '--tables',
      'dim_user',
      '--json',
    );
    expect(again.code).toBe(0);
    expect(
      (JSON.parse(again.stdout) as { tables: { reconciliation: { matches: boolean } }[] }).tables[0],
    ).toMatchObject({ reconciliation: { matches: true } });
    expect((await readdir(staging)).sort()).toEqual([live, otherMachine, unnamed].sort());
    for (const name of [live, otherMachine, unnamed]) await rm(join(staging, name), { recursive: true });
  }, 180_000);
});

describe('lakehouse publish iceberg --remove-orphans on a local warehouse', () => {
  it('lists with --dry-run, removes old orphans after publishing, keeps young ones, refuses bad ages', async () => {
    const warehouse = join(work, 'local-wh');
    const args = ['publish', 'iceberg', dir, '--warehouse', warehouse, '--tables', 'dim_user'];
    const alone = lakehouse(...args, '--older-than', '3d');
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--older-than only applies with --remove-orphans');
    const badAge = lakehouse(...args, '--remove-orphans', '--older-than', '3 days');
    expect(badAge.code).toBe(2);
    expect(badAge.stderr).toContain('--older-than 3 days is not an age');

    expect(lakehouse(...args).code).toBe(0);
    const data = join(warehouse, 'gold', 'dim_user', 'data');
    const old = join(data, 'left-by-a-killed-publish.parquet');
    const young = join(data, 'being-written.parquet');
    await mkdir(data, { recursive: true });
    await writeFile(old, 'PAR1');
    await writeFile(young, 'PAR1');
    const fourDaysAgo = new Date(Date.now() - 4 * 86_400_000);
    await utimes(old, fourDaysAgo, fourDaysAgo);

    const dry = lakehouse(...args, '--remove-orphans', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would remove file://${old}`);
    expect(dry.stdout).toContain(`would keep   file://${young}`);
    expect(dry.stdout).toMatch(
      /Orphan files \(referenced by no snapshot, older than 3d\): 1 \(4 bytes\) would be removed/,
    );
    await stat(old);

    const run = lakehouse(...args, '--remove-orphans');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('dim_user: 1 orphan file removed (4 bytes), 1 younger than 3d kept');
    await expect(stat(old)).rejects.toThrow();
    await stat(young);
    // An age of your own: the young file goes too when it is older than that.
    const youngWhen = new Date(Date.now() - 2 * 3_600_000);
    await utimes(young, youngWhen, youngWhen);
    const hour = lakehouse(...args, '--remove-orphans', '--older-than', '1h', '--json');
    expect(hour.code).toBe(0);
    const orphans = (JSON.parse(hour.stdout) as { orphans: OrphanJson & { minAgeMs: number } }).orphans;
    expect(orphans.minAgeMs).toBe(3_600_000);
    expect(orphans.tables[0]!.removed.map((f) => f.uri)).toEqual([`file://${young}`]);
    await expect(stat(young)).rejects.toThrow();
  }, 180_000);
});
