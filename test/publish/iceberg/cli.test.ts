import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { lakehouse } from '../../helpers/cli.ts';
import { generatedProject, PROJECT_ROOT, removeDir, tempDir, withEngine } from '../../helpers/project.ts';

describe('lakehouse publish iceberg', () => {
  let work: string;
  let dir: string;
  beforeAll(async () => {
    work = await tempDir('iceberg-cli-');
    const project = await generatedProject(work, 1, 200);
    dir = project.dir;
    await withEngine(dir, (engine) => engine.run());
    const file = join(dir, 'lakehouse.yaml');
    const config = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    config.publish = {
      iceberg: { local: { type: 'filesystem', warehouse: 'iceberg-warehouse', namespace: 'analytics' } },
    };
    await writeFile(file, stringify(config));
  }, 120_000);
  afterAll(() => removeDir(work));

  it('previews with --dry-run, publishes to a bare --warehouse, then to a named catalog', () => {
    const warehouse = join(work, 'wh');
    const dry = lakehouse('publish', 'iceberg', dir, '--warehouse', warehouse, '--dry-run', '--json');
    expect(dry.stderr).toBe('');
    const preflight = JSON.parse(dry.stdout) as {
      tables: { table: string; action: string; columns: unknown[] }[];
    };
    expect(preflight.tables.find((t) => t.table === 'fact_customer_search')).toMatchObject({
      action: 'create',
    });

    const published = lakehouse(
      'publish',
      'iceberg',
      dir,
      '--warehouse',
      warehouse,
      '--tables',
      'fact_customer_search,dim_user',
    );
    expect(published.code).toBe(0);
    expect(published.stdout).toMatch(/fact_customer_search\s+create/);
    // Committed and listed dimensions first, whatever order --tables gives (as its --help says).
    const listed = published.stdout
      .split('\n')
      .map((line) => /^(dim_user|fact_customer_search)\s/.exec(line)?.[1]);
    expect(listed.filter(Boolean)).toEqual(['dim_user', 'fact_customer_search']);
    expect(published.stdout).toMatch(
      /Published 2 tables \(.+\)\. Target: file-system warehouse .*row counts and key checksums match/,
    );

    const named = lakehouse('publish', 'iceberg', dir, '--catalog', 'local', '--json');
    expect(named.code).toBe(0);
    const result = JSON.parse(named.stdout) as {
      namespace: string;
      tables: { reconciliation: { matches: boolean }; location: string }[];
    };
    expect(result.namespace).toBe('analytics');
    expect(result.tables.every((t) => t.reconciliation.matches)).toBe(true);
    expect(result.tables[0]?.location).toContain(`${join(dir, 'iceberg-warehouse')}/analytics/`);

    const again = lakehouse('publish', 'iceberg', dir, '--catalog', 'local', '--json');
    const unchanged = JSON.parse(again.stdout) as { tables: { action: string }[] };
    expect(unchanged.tables.every((t) => t.action === 'none')).toBe(true);
    // Said in words too: a publish that wrote nothing does not claim it published every table.
    expect(lakehouse('publish', 'iceberg', dir, '--catalog', 'local').stdout).toContain(
      `${unchanged.tables.length} tables already up to date; nothing written`,
    );
  });

  it('refuses a warehouse that is a malformed URI instead of publishing into a folder named after it', async () => {
    // Run from the work folder: without the check the tables went to <cwd>/s3:/ice/x.
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'lakehouse.js'), ...args], {
        cwd: work,
        encoding: 'utf8',
        timeout: 120_000,
      });
    for (const warehouse of ['s3:/ice/x', 'S3://ice/x', 'https://example.com/ice']) {
      const result = run('publish', 'iceberg', dir, '--warehouse', warehouse, '--tables', 'dim_user');
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(
        `error [INVALID_ARGUMENT]: ${warehouse} is neither an S3 URI nor a local path: expected s3://bucket/prefix`,
      );
    }
    expect(await readdir(work)).not.toContain('s3:');
    expect(await readdir(work)).not.toContain('S3:');
    // The same typo in lakehouse.yaml's catalog entry is refused too.
    const file = join(dir, 'lakehouse.yaml');
    const original = await readFile(file, 'utf8');
    const config = parse(original) as { publish: { iceberg: Record<string, unknown> } };
    config.publish.iceberg.typo = { type: 'filesystem', warehouse: 's3:/ice/y' };
    await writeFile(file, stringify(config));
    try {
      const result = run('publish', 'iceberg', dir, '--catalog', 'typo', '--tables', 'dim_user');
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('s3:/ice/y is neither an S3 URI nor a local path');
      expect(await readdir(dir)).not.toContain('s3:');
    } finally {
      await writeFile(file, original);
    }
  });

  it('names the catalogs it knows when given an unknown one', () => {
    const result = lakehouse('publish', 'iceberg', dir, '--catalog', 'nope');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/No Iceberg catalog named nope .*Known: local/);
  });
});

describe('lakehouse publish iceberg, schema changes', () => {
  let work: string;
  let dir: string;
  beforeAll(async () => {
    work = await tempDir('iceberg-cli-schema-');
    dir = (await generatedProject(work, 1, 200)).dir;
    await withEngine(dir, (engine) => engine.run());
  }, 120_000);
  afterAll(() => removeDir(work));

  it('lists a dropped column in schema_change, as it lists an added one', async () => {
    const warehouse = join(work, 'wh');
    const publish = (...extra: string[]) =>
      lakehouse('publish', 'iceberg', dir, '--warehouse', warehouse, '--tables', 'dim_network', ...extra);
    expect(publish().code).toBe(0);
    await withEngine(dir, async (engine) => {
      await engine.db.run('ALTER TABLE gold.dim_network DROP COLUMN isp_group');
      await engine.db.run('ALTER TABLE gold.dim_network ADD COLUMN isp_tier INTEGER');
    });
    const line = (output: string) => output.split('\n').find((l) => l.startsWith('dim_network'));
    expect(line(publish('--dry-run').stdout)).toMatch(/\s\+isp_tier -isp_group(\s|$)/);
    const published = publish();
    expect(published.code).toBe(0);
    expect(line(published.stdout)).toMatch(/\s\+isp_tier -isp_group(\s|$)/);
  });

  it('removes a staging folder whose process it cannot check once it is a day old, and keeps a younger one', async () => {
    // A publish to S3 stages gold rows under .iceberg/staging/ and deletes them itself, unless it is
    // killed. A folder named without its machine and pid (an older version's) may be another publish's
    // still writing while it is young. (Named ones: orphan-files-cli.test.ts.)
    const staging = join(dir, '.iceberg', 'staging');
    const old = join(staging, 'left-by-a-killed-publish');
    const young = join(staging, 'another-publish-writing');
    for (const folder of [old, young]) {
      await mkdir(join(folder, 'date_key=20240101'), { recursive: true });
      await writeFile(join(folder, 'date_key=20240101', 'rows.parquet'), 'gold rows');
    }
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    await utimes(old, twoDaysAgo, twoDaysAgo);
    const published = lakehouse(
      'publish',
      'iceberg',
      dir,
      '--warehouse',
      join(work, 'wh-staging'),
      '--tables',
      'dim_date',
    );
    expect(published.code).toBe(0);
    expect(await readdir(staging)).toEqual(['another-publish-writing']);
  });
});
