import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Transport } from '../../renderer/src/api/client.ts';
import { type Client, createClient } from '../../renderer/src/api/client.ts';
import { bothTransports, rejection, type ServedProject, serveGeneratedProject } from '../helpers/api.ts';

// sources.save / sources.get / sources.remove over both transports, on one served project whose
// lakehouse.yaml carries a hand-written comment and setting that every save must keep.

const HAND_WRITTEN = '# kept by every save: a note from the team\n';

let served: ServedProject;
let projectFile: string;

beforeAll(async () => {
  served = await serveGeneratedProject({ prefix: 'lakehouse-sources-save-', days: 2, rowsPerDay: 100 });
  projectFile = join(served.projectDir, 'lakehouse.yaml');
  const text = await readFile(projectFile, 'utf8');
  await writeFile(projectFile, `${HAND_WRITTEN}${text.replace('vars:\n', 'vars:\n  team_note: "hello"\n')}`);
}, 120_000);

afterAll(() => served?.close());

const projectYaml = async () => readFile(projectFile, 'utf8');

describe.each(bothTransports(() => served))('sources.save over the %s transport', (transportName, make) => {
  let client: Client;
  const name = `catalog_copy_${transportName.replace('-', '_')}`;

  beforeAll(async () => {
    client = createClient(make());
    await client.ready();
  });
  afterAll(() => client?.close());

  it('saves a new source: the file keeps its comments and settings, project.info lists it', async () => {
    const catalog = (await client.call('sources.get', { name: 'title_catalog' })).source;
    expect(catalog).toEqual({
      kind: 'file',
      path: expect.any(String),
      required_columns: ['title', 'genres'],
    });

    const saved = await client.call('sources.save', { name, source: { kind: 'file', path: catalog.path } });
    expect(saved).toMatchObject({ name, replaced: false, reopenRequired: false });
    expect(saved.sources).toContainEqual({ name, kind: 'file', location: catalog.path });

    const text = await projectYaml();
    expect(text.startsWith(HAND_WRITTEN)).toBe(true);
    expect(text).toContain('# Reference catalog of titles used to normalise search keywords');
    expect(text).toContain('# dim_date covers at least this range');
    const written = parseYaml(text);
    expect(written.vars.team_note).toBe('hello');
    expect(written.sources[name]).toEqual({ kind: 'file', path: catalog.path });
    expect(Object.keys(written.sources)).toContain('customer_search_log');

    const info = await client.call('project.info');
    expect(info.sources).toContainEqual({ name, kind: 'file', location: catalog.path });
    // The engine reads the new source at once: testing it by name finds the file.
    expect(await client.call('sources.test', { name })).toMatchObject({ ok: true, objects: 1 });
  });

  it('refuses a name clash unless replace is set, then edits in place', async () => {
    const clash = await rejection(
      client.call('sources.save', { name, source: { kind: 'file', path: 'elsewhere.csv' } }),
    );
    expect(clash.code).toBe('INVALID_ARGUMENT');
    expect(clash.details).toMatchObject({ field: 'name' });
    expect(clash.message).toContain('already exists');

    const edited = await client.call('sources.save', {
      name,
      replace: true,
      source: { kind: 'file', path: 'elsewhere.csv', format: 'csv' },
    });
    expect(edited.replaced).toBe(true);
    expect(parseYaml(await projectYaml()).sources[name]).toEqual({
      kind: 'file',
      path: 'elsewhere.csv',
      format: 'csv',
    });
    expect((await client.call('sources.get', { name })).source).toMatchObject({ path: 'elsewhere.csv' });
  });

  it('refuses an invalid source naming the field, and leaves the file alone', async () => {
    const before = await projectYaml();
    const badFormat = await rejection(
      client.call('sources.save', { name: 'bad', source: { kind: 'file', path: 'x.xml', format: 'xml' } }),
    );
    expect(badFormat.code).toBe('INVALID_ARGUMENT');
    expect(badFormat.details).toMatchObject({ field: 'source.format' });
    expect(badFormat.message).toContain('source.format');

    // Absent columns are valid (every column as the files have it); a list instead of name: TYPE is not.
    const badColumns = await rejection(
      client.call('sources.save', {
        name: 'bad',
        source: { kind: 'daily_parquet', path: 'raw', columns: ['order_id'] },
      }),
    );
    expect(badColumns.details).toMatchObject({ field: 'source.columns' });

    const typo = await rejection(
      client.call('sources.save', { name: 'bad', source: { kind: 'file', path: 'x.csv', pth: 'y' } }),
    );
    expect(typo.details).toMatchObject({ field: 'source.pth' });

    const badName = await rejection(
      client.call('sources.save', { name: 'my source', source: { kind: 'file', path: 'x.csv' } }),
    );
    expect(badName.details).toMatchObject({ field: 'name' });

    // A malformed URI would be saved and then read as a folder of the project named after the typo.
    const badUri = await rejection(
      client.call('sources.save', { name: 'bad', source: { kind: 'file', path: 's3:/bucket/x.csv' } }),
    );
    expect(badUri.code).toBe('INVALID_ARGUMENT');
    expect(badUri.details).toMatchObject({ field: 'source.path' });
    expect(badUri.message).toContain(
      's3:/bucket/x.csv is neither an S3 URI nor a local path: expected s3://bucket/prefix',
    );
    expect(await projectYaml()).toBe(before);
  });

  it('tests no source against an S3 endpoint that is not an http(s) URL, and says how to write it', async () => {
    const tested = await client.call('sources.test', {
      source: { kind: 'daily_parquet', path: 's3://raw/events' },
      s3: { endpoint: 'localhost:9000' },
    });
    expect(tested.ok).toBe(false);
    expect(tested.error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 's3.endpoint' } });
    expect(tested.error?.message).toContain('write it in full, such as http://localhost:9000');
  });

  it('refuses credentials anywhere in the definition, but saves a profile name to the s3 block', async () => {
    const before = await projectYaml();
    const secret = await rejection(
      client.call('sources.save', {
        name: 'on_s3',
        source: { kind: 'file', path: 's3://b/titles.csv', aws_secret_access_key: 'abc' },
      }),
    );
    expect(secret.code).toBe('INVALID_ARGUMENT');
    expect(secret.details).toMatchObject({ field: 'source.aws_secret_access_key' });
    expect(secret.message).toContain('credentials never go in lakehouse.yaml');

    const keyInUrl = await rejection(
      client.call('sources.save', {
        name: 'on_s3',
        source: { kind: 'crawl', url: 'https://api.example.com/titles?key=AKIAABCDEFGHIJKLMNOP' },
      }),
    );
    expect(keyInUrl.details).toMatchObject({ field: 'source.url' });
    // A user:password@ would show in messages and run history: refused, and the test does not fetch it.
    const userInfo = { kind: 'crawl', url: 'https://reader:s3cr3t@api.example.com/titles' };
    const inUrl = await rejection(client.call('sources.save', { name: 'crawled', source: userInfo }));
    expect(inUrl).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'source.url' } });
    expect(inUrl.message).toContain('source.url: holds credentials (user:password@)');
    expect(inUrl.message).toContain('headers_from_env');
    expect(inUrl.message).not.toContain('s3cr3t');
    const tested = await client.call('sources.test', { source: userInfo });
    expect(tested).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(tested.error?.message).toContain('url: holds credentials (user:password@)');
    expect(JSON.stringify(tested)).not.toContain('s3cr3t');
    expect(await projectYaml()).toBe(before);

    const withProfile = await client.call('sources.save', {
      name: `on_s3_${transportName.replace('-', '_')}`,
      source: { kind: 'file', path: 's3://bucket/titles.csv' },
      s3: { profile: 'analytics' },
    });
    // Column names are data, not settings: one that says "password" is fine.
    const accounts = await client.call('sources.save', {
      name: `accounts_${transportName.replace('-', '_')}`,
      source: { kind: 'daily_parquet', path: 'accounts', columns: { password_hash: 'VARCHAR' } },
    });
    expect(accounts.replaced).toBe(false);
    // Its folder does not exist, and a run lists every daily source: it goes again before the run test.
    await client.call('sources.remove', { name: accounts.name });

    // The lake shares the S3 client, which is built when the project opens.
    expect(withProfile.reopenRequired).toBe(true);
    expect(parseYaml(await projectYaml()).s3).toEqual({ profile: 'analytics' });
  });

  it('removes a source no model reads, and refuses one a model reads', async () => {
    const read = await rejection(client.call('sources.remove', { name: 'customer_search_log' }));
    expect(read.message).toContain('bronze.customer_search');
    // A name lakehouse.yaml does not declare is refused by both, naming the sources it does declare.
    for (const method of ['sources.remove', 'sources.get'] as const) {
      const unknown = await rejection(client.call(method, { name: 'no_such_source' }));
      expect(unknown.message).toContain('No source "no_such_source" in lakehouse.yaml (sources: ');
      expect(unknown.message).toContain('customer_search_log');
    }

    const removed = await client.call('sources.remove', { name });
    expect(removed.sources.map((s) => s.name)).not.toContain(name);
    expect(parseYaml(await projectYaml()).sources[name]).toBeUndefined();
    expect((await projectYaml()).startsWith(HAND_WRITTEN)).toBe(true);
  });

  it('refuses to edit sources while a run is in progress', async () => {
    const { runId } = await client.call('pipeline.run', {});
    try {
      const locked = await rejection(
        client.call('sources.save', { name: 'during_run', source: { kind: 'file', path: 'x.csv' } }),
      );
      expect(locked.code).toBe('RUN_LOCKED');
    } finally {
      await client.call('pipeline.cancel', { runId });
      await expect
        .poll(async () => (await client.call('project.info')).activeRunId, { timeout: 60_000 })
        .toBeNull();
    }
    expect(parseYaml(await projectYaml()).sources.during_run).toBeUndefined();
  }, 90_000);
});

describe('an edit of a source in lakehouse.yaml', () => {
  it('keeps the comments, quotes and flow lists of what it leaves unchanged', async () => {
    const [[, make]] = bothTransports(() => served) as [[string, () => Transport]];
    const client = createClient(make());
    await client.ready();
    try {
      const annotated = (await projectYaml())
        .replace(
          /(title_catalog:\n {4}kind: file\n {4}path: [^\n]*)/,
          '$1 # refreshed monthly by the catalog team',
        )
        .replace('      eventID: VARCHAR\n', '      eventID: VARCHAR # unique per search\n');
      expect(annotated).toContain('# refreshed monthly');
      expect(annotated).toContain('# unique per search');
      expect(annotated).toContain('required_columns: [title, genres]');
      await writeFile(projectFile, annotated);

      // What the Sources form sends when a source is saved without a change: the file stays as it was.
      const log = (await client.call('sources.get', { name: 'customer_search_log' })).source;
      await client.call('sources.save', { name: 'customer_search_log', source: log, replace: true });
      expect(await projectYaml()).toBe(annotated);

      const catalog = (await client.call('sources.get', { name: 'title_catalog' })).source;
      const edited = await client.call('sources.save', {
        name: 'title_catalog',
        source: { ...catalog, required_columns: ['title'] },
        replace: true,
      });
      expect(await projectYaml()).toBe(
        annotated.replace('required_columns: [title, genres]', 'required_columns: [title]'),
      );
      // An edit names the models reading the source; a file source loses no declared column.
      expect(edited).toMatchObject({
        replaced: true,
        readers: [expect.stringMatching(/\./)],
        droppedColumns: [],
      });
    } finally {
      client.close();
    }
  });

  it('names the models reading a daily source and the declared columns an edit takes from them', async () => {
    const [[, make]] = bothTransports(() => served) as [[string, () => Transport]];
    const client = createClient(make());
    await client.ready();
    try {
      const log = (await client.call('sources.get', { name: 'customer_search_log' })).source;
      const { keyword: _, ...columns } = log.columns as Record<string, string>;
      const edited = await client.call('sources.save', {
        name: 'customer_search_log',
        source: { ...log, columns },
        replace: true,
      });
      expect(edited).toMatchObject({ readers: ['bronze.customer_search'], droppedColumns: ['keyword'] });
      const restored = await client.call('sources.save', {
        name: 'customer_search_log',
        source: log,
        replace: true,
      });
      expect(restored).toMatchObject({ readers: ['bronze.customer_search'], droppedColumns: [] });
      const added = await client.call('sources.save', {
        name: 'unread_copy',
        source: { kind: 'file', path: 'x.csv' },
      });
      expect(added).toMatchObject({ replaced: false, readers: [], droppedColumns: [] });
      await client.call('sources.remove', { name: 'unread_copy' });
    } finally {
      client.close();
    }
  });

  it('tests a file source as a run reads it: its columns, or the error of a required column it lacks', async () => {
    const [[, make]] = bothTransports(() => served) as [[string, () => Transport]];
    const client = createClient(make());
    await client.ready();
    try {
      const saved = await client.call('sources.test', { name: 'title_catalog' });
      expect(saved).toMatchObject({ ok: true, objects: 1 });
      expect(saved.columns).toEqual(expect.arrayContaining(['title VARCHAR']));
      expect(saved.summary).toMatch(/; reads .*title VARCHAR/);
      const { path } = (await client.call('sources.get', { name: 'title_catalog' })).source;
      const lacking = await client.call('sources.test', {
        name: 'catalog_draft',
        source: { kind: 'file', path, required_columns: ['title', 'rating'] },
      });
      expect(lacking).toMatchObject({ ok: false });
      expect(lacking.summary).toMatch(/catalog_draft.*rating/);
      // A draft not named yet: its message names the settings with a placeholder to fill in.
      const unnamed = await client.call('sources.test', {
        source: { kind: 'file', path, required_columns: ['title', 'rating'] },
      });
      expect(unnamed.error?.message).toMatch(/^Source "<name>": .* lacks required column.* rating /);
      expect(unnamed.error?.message).toContain('map its columns in lakehouse.yaml: sources.<name>.rename:');
      expect(unnamed.error?.message).not.toContain('new source');
    } finally {
      client.close();
    }
  });
});
