import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SourceTestResult } from '../../engine/api/contract.ts';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { CrawlSource, loadProject } from '../../engine/project/config.ts';
import { crawl, fetchFirstPage } from '../../engine/sources/crawler.ts';
import { probeSource } from '../../engine/sources/probe.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { goldFingerprints } from '../helpers/fingerprint.ts';
import { generatedProject, PROJECT_ROOT, removeDir, tempDir, withEngine } from '../helpers/project.ts';

interface Item {
  id: number;
  title: string;
  updated_at: string;
}

/**
 * A paged JSON API over `items` (10 per page): `?page=N` or `?cursor=<offset>`, answering a
 * scripted failure (500, 429 + Retry-After, a dropped connection) on chosen request numbers.
 */
class CatalogApi {
  items: Item[] = [];
  requests: { url: string; at: number; headers: IncomingMessage['headers'] }[] = [];
  failures = new Map<number, 500 | 429 | 'drop'>();
  /** Where `/moved` redirects to (an open redirect of the API). */
  redirectTo = '';
  /** Pages at or after this fail with 500 (an outage), until cleared. */
  outageFromPage: number | undefined;
  private server: Server;
  url = '';

  constructor() {
    this.server = createServer((req, res) => this.answer(req, res));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  pagesRequested(): number[] {
    return this.requests
      .map((r) => Number(new URL(r.url, this.url).searchParams.get('page')))
      .filter((p) => p > 0);
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ url: req.url ?? '/', at: Date.now(), headers: req.headers });
    const failure = this.failures.get(this.requests.length);
    if (failure === 'drop') {
      req.socket.destroy();
      return;
    }
    if (failure === 429) {
      res.writeHead(429, { 'retry-after': '1' }).end('slow down');
      return;
    }
    if (failure === 500) {
      res.writeHead(500).end('oops');
      return;
    }
    const url = new URL(req.url ?? '/', this.url);
    if (url.pathname === '/moved') {
      res.writeHead(302, { location: this.redirectTo }).end();
      return;
    }
    if (url.pathname === '/titles') {
      const page = Number(url.searchParams.get('page') ?? '1');
      if (this.outageFromPage !== undefined && page >= this.outageFromPage) {
        res.writeHead(503).end('down');
        return;
      }
      const items = this.items.slice((page - 1) * 10, page * 10);
      // Another array beside the items (one a wrong items_path may name), empty past the end as they are.
      const facets = items.length > 0 ? [{ name: 'genre', count: items.length }] : [];
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ data: { items, facets }, page }));
      return;
    }
    if (url.pathname === '/cursor') {
      const offset = Number(url.searchParams.get('cursor') ?? '0');
      const items = this.items.slice(offset, offset + 10);
      const next = offset + 10 < this.items.length ? String(offset + 10) : null;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ results: items, meta: { next } }));
      return;
    }
    res.writeHead(404).end('no such endpoint');
  }
}

const catalog = (n: number, version = 'v1', updated = '2024-01-01'): Item[] =>
  Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    title: `title ${i + 1} ${version}`,
    updated_at: updated,
  }));

const titles = async (db: Db, file: string) =>
  new Map(
    (
      await db.all<{ id: number; title: string }>(
        `SELECT id::INTEGER AS id, title FROM read_parquet('${file}') ORDER BY id`,
      )
    ).map((r) => [r.id, r.title]),
  );

describe('the crawler', () => {
  let api: CatalogApi;
  let db: Db;
  let work: string;
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    await new Promise((r) => setTimeout(r, ms));
  };

  beforeAll(async () => {
    db = await openDb();
    work = await tempDir('lakehouse-crawl-');
  });
  afterAll(async () => {
    db.close();
    await removeDir(work);
  });
  afterEach(async () => {
    await api?.close();
    sleeps.length = 0;
  });

  const start = async (items: Item[]) => {
    api = new CatalogApi();
    api.items = items;
    await api.start();
  };
  const pageSource = (extra: Record<string, unknown> = {}) =>
    CrawlSource.parse({
      kind: 'crawl',
      url: `${api.url}/titles`,
      items_path: 'data.items',
      requests_per_second: 50,
      ...extra,
    });

  it('pages until an empty page, retries 500s, dropped connections and 429 (after Retry-After), within the rate limit', async () => {
    const items = catalog(95);
    // A duplicate id on a later page: the later page's version wins.
    items.push({ id: 5, title: 'title 5 corrected', updated_at: '2024-01-01' });
    await start(items);
    api.failures.set(2, 500);
    api.failures.set(4, 429);
    api.failures.set(7, 'drop');
    const dir = join(work, 'paged');
    const result = await crawl({ db, name: 'titles', source: pageSource(), dir, sleep });
    expect(result.pages).toBe(11);
    expect(result.items).toBe(96);
    expect(result.retries).toBe(3);
    expect(result.rows).toBe(95);
    expect(sleeps).toContain(1000);
    // 10 pages with items, then the empty one that ends the crawl; each page fetched successfully once.
    expect(new Set(api.pagesRequested())).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    // 50 requests/s: 20 ms apart on average. Arrival times at the server jitter by a few milliseconds
    // on a busy machine, so one gap may come in short; the average may not.
    const gaps = api.requests.slice(1).map((r, i) => r.at - (api.requests[i]?.at ?? 0));
    const meanGap = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
    expect(meanGap).toBeGreaterThanOrEqual(19);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(10);
    const merged = await titles(db, result.file);
    expect(merged.get(5)).toBe('title 5 corrected');
    expect(merged.get(95)).toBe('title 95 v1');
  }, 30_000);

  it('follows a cursor until it is missing', async () => {
    await start(catalog(33));
    const source = CrawlSource.parse({
      kind: 'crawl',
      url: `${api.url}/cursor`,
      paging: { type: 'cursor', param: 'cursor', cursor_path: 'meta.next' },
      items_path: 'results',
      requests_per_second: 100,
    });
    const result = await crawl({ db, name: 'titles', source, dir: join(work, 'cursor'), sleep });
    expect(result.pages).toBe(4);
    expect(result.rows).toBe(33);
    expect(api.requests.map((r) => r.url)).toEqual([
      '/cursor',
      '/cursor?cursor=10',
      '/cursor?cursor=20',
      '/cursor?cursor=30',
    ]);
  });

  it('resumes an interrupted crawl at the first page it lacks', async () => {
    await start(catalog(60));
    api.outageFromPage = 4;
    const dir = join(work, 'resume');
    const source = pageSource({ max_retries: 1 });
    await expect(crawl({ db, name: 'titles', source, dir, sleep })).rejects.toThrow(
      /titles\?page=4 still failing after 2 attempts \(HTTP 503\).*resumes from this page/,
    );
    expect(existsSync(join(dir, 'state.json'))).toBe(true);
    expect(existsSync(join(dir, 'data.parquet'))).toBe(false);
    api.outageFromPage = undefined;
    api.requests = [];
    const result = await crawl({ db, name: 'titles', source, dir, sleep });
    expect(result.resumedFromPage).toBe(4);
    expect(api.pagesRequested()).toEqual([4, 5, 6, 7]);
    expect(result.rows).toBe(60);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
  });

  // A crawl whose merge failed kept its state and pages; fixing items_path then merged the same wrong
  // pages again on every run, without a request.
  it('fetches afresh when the settings that shape the pages changed since an unfinished crawl', async () => {
    await start(catalog(15));
    const dir = join(work, 'refit');
    const wrong = await lakehouseFailure(
      crawl({ db, name: 'titles', source: pageSource({ items_path: 'data.facets' }), dir, sleep }),
    );
    expect(wrong.message).toContain('cannot merge the crawled items');
    expect(existsSync(join(dir, 'state.json'))).toBe(true);
    api.requests = [];
    const fixed = await crawl({ db, name: 'titles', source: pageSource(), dir, sleep });
    expect(fixed.resumedFromPage).toBeUndefined();
    expect(api.pagesRequested()).toEqual([1, 2, 3]);
    expect(fixed.rows).toBe(15);
  });

  // A crawl killed after its merge, between removing state.json and pages/, left pages that the next
  // crawl merged as its own latest: an item's old version beat the one just fetched.
  it('never merges pages that a crawl killed during its clean-up left behind', async () => {
    await start(catalog(5));
    const dir = join(work, 'leftover');
    await crawl({ db, name: 'titles', source: pageSource(), dir, sleep });
    const old = JSON.stringify({ ...catalog(1)[0], _crawl_page: 3, _crawl_item: 0 });
    await mkdir(join(dir, 'pages'), { recursive: true });
    await writeFile(join(dir, 'pages', '000003.jsonl'), old);
    await api.close();
    await start(catalog(5, 'v2'));
    const second = await crawl({ db, name: 'titles', source: pageSource(), dir, sleep });
    expect(second.rows).toBe(5);
    expect((await titles(db, second.file)).get(1)).toBe('title 1 v2');
  });

  it('merges into the previous crawl: newest wins, nothing vanishes', async () => {
    await start(catalog(30));
    const dir = join(work, 'merge');
    await crawl({ db, name: 'titles', source: pageSource(), dir, sleep });
    // The catalog changed: items 1-20 re-published as v2, 21-30 gone from the API, 31-35 new.
    await api.close();
    await start([...catalog(20, 'v2', '2024-02-01'), ...catalog(35, 'v2', '2024-02-01').slice(30)]);
    const second = await crawl({ db, name: 'titles', source: pageSource(), dir, sleep });
    expect(second.rows).toBe(35);
    const merged = await titles(db, second.file);
    expect(merged.get(1)).toBe('title 1 v2');
    expect(merged.get(25)).toBe('title 25 v1');
    expect(merged.get(35)).toBe('title 35 v2');

    // With an updated_field, an older version crawled later does not win.
    await api.close();
    await start(catalog(3, 'stale', '2023-12-01'));
    const third = await crawl({
      db,
      name: 'titles',
      source: pageSource({ updated_field: 'updated_at' }),
      dir,
      sleep,
    });
    const after = await titles(db, third.file);
    expect(after.get(1)).toBe('title 1 v2');
    expect(third.rows).toBe(35);
  });

  it('refuses a URL with credentials in lakehouse.yaml, saying to use headers_from_env, without repeating them', async () => {
    const dir = join(work, 'credentials');
    await mkdir(dir, { recursive: true });
    for (const url of [
      'https://reader:s3cr3t@api.example.com/titles',
      'https://token-only@api.example.com/',
    ]) {
      await writeFile(
        join(dir, 'lakehouse.yaml'),
        `name: p\nsources:\n  titles:\n    kind: crawl\n    url: "${url}"\n`,
      );
      const error = await loadProject(dir).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PROJECT_INVALID' });
      const message = (error as Error).message;
      expect(message).toContain('sources.titles.url: holds credentials (user:password@)');
      // The variable it suggests is one headers_from_env accepts (LAKEHOUSE_*).
      const suggested = /headers_from_env: \{ Authorization: (\w+) \}/.exec(message)?.[1] ?? '';
      expect(
        CrawlSource.safeParse({
          kind: 'crawl',
          url: 'https://api.example.com/',
          headers_from_env: { Authorization: suggested },
        }).success,
      ).toBe(true);
      expect(message).not.toMatch(/s3cr3t|token-only/);
    }
    // Without them the same URL is fine (an @ in the path is no user).
    expect(CrawlSource.safeParse({ kind: 'crawl', url: 'https://api.example.com/@titles' }).success).toBe(
      true,
    );
  });

  // A crawl's folder is .lakehouse/crawl/<name>, which it clears: the name must not lead out of it.
  it('refuses a source name holding a path, before any crawl could write or clear a folder by it', async () => {
    const dir = join(work, 'path-name');
    await mkdir(dir, { recursive: true });
    for (const name of ['../../../victim', 'a/b', '..']) {
      await writeFile(
        join(dir, 'lakehouse.yaml'),
        `name: p\nsources:\n  "${name}":\n    kind: crawl\n    url: "https://api.example.com/titles"\n`,
      );
      const error = await lakehouseFailure(loadProject(dir));
      expect(error.code).toBe('PROJECT_INVALID');
      expect(error.message).toContain(`"${name}" is not a source name`);
    }
  });

  it('stops at a 404 with the URL and what to fix', async () => {
    await start(catalog(5));
    const source = CrawlSource.parse({ kind: 'crawl', url: `${api.url}/nothing`, items_path: 'x' });
    await expect(crawl({ db, name: 'titles', source, dir: join(work, 'missing'), sleep })).rejects.toThrow(
      /Source "titles": http:\/\/127\.0\.0\.1:\d+\/nothing\?page=1 answered HTTP 404\. Check sources\.titles\.url/,
    );
  });

  it('refuses a page without an item array, on a crawl and a test connection alike', async () => {
    await start(catalog(5));
    const source = CrawlSource.parse({ kind: 'crawl', url: `${api.url}/titles`, items_path: 'data' });
    const fix = 'has no item array at "data". Fix sources.titles.items_path in lakehouse.yaml.';
    const crawled = await lakehouseFailure(
      crawl({ db, name: 'titles', source, dir: join(work, 'no-items'), sleep }),
    );
    expect(crawled.message).toContain(fix);
    const tested = await lakehouseFailure(fetchFirstPage('titles', source));
    expect(tested.message).toContain(fix);
  });

  it('feeds the pipeline like a catalog file: same gold tables', async () => {
    const { dir } = await generatedProject(join(work, 'pipeline'), 2, 1000);
    const expected = await withEngine(dir, async (engine) => {
      expect((await engine.run({})).error).toBeUndefined();
      return goldFingerprints(engine);
    });
    // Serve the catalog file's rows as the API's items, then point the project's catalog at it.
    const rows = await db.all<{ title: string; genres: string }>(
      `SELECT * FROM read_csv('${join(work, 'pipeline', 'data', 'title_catalog.csv')}', header = true, all_varchar = true)`,
    );
    await start(rows.map((r, i) => ({ ...r, id: i + 1, updated_at: '2024-01-01' })));
    const yaml = await readFile(join(dir, 'lakehouse.yaml'), 'utf8');
    await writeFile(
      join(dir, 'lakehouse.yaml'),
      yaml.replace(
        / {2}title_catalog:\n {4}kind: file\n {4}path: .*\n/,
        `  title_catalog:\n    kind: crawl\n    url: "${api.url}/titles"\n    items_path: data.items\n    requests_per_second: 200\n`,
      ),
    );
    // "Test connection" reads the first page only.
    const probe = await probeSource(await loadProject(dir), { name: 'title_catalog' });
    expect(probe).toMatchObject({ ok: true, kind: 'crawl', objects: 10, error: null });
    expect(probe.sample).toEqual(expect.arrayContaining(['id', 'title', 'genres']));
    expect(api.pagesRequested()).toEqual([1]);
    // A field the items lack would fail the run's merge after every page: the test says so at once.
    const unsaved = {
      kind: 'crawl',
      url: `${api.url}/titles`,
      items_path: 'data.items',
      id_field: 'uuid',
      required_columns: ['title', 'genre'],
    };
    const lacking = await probeSource(await loadProject(dir), { name: 'titles_api', source: unsaved });
    expect(lacking).toMatchObject({ ok: false, error: { code: 'SOURCE_SCHEMA_MISMATCH' } });
    expect(lacking.summary).toMatch(
      /lack uuid \(sources\.titles_api\.id_field\), genre \(sources\.titles_api\.required_columns\); they have .*genres/,
    );
    // An API that keeps failing: a test has crawled nothing, so it says what to check, not that a run resumes.
    api.outageFromPage = 1;
    const down = await probeSource(await loadProject(dir), {
      name: 'titles_api',
      source: { ...unsaved, id_field: 'id' },
    });
    api.outageFromPage = undefined;
    expect(down.summary).toMatch(
      /still failing after 3 attempts \(HTTP 503\)\. Check that the API is up and sources\.titles_api\.url is right, then test again\.$/,
    );
    api.requests = [];
    await removeDir(join(dir, 'warehouse.duckdb'));
    await removeDir(join(dir, 'lake'));
    const gold = await withEngine(dir, async (engine) => {
      const summary = await engine.run({});
      expect(summary.error).toBeUndefined();
      return goldFingerprints(engine);
    });
    expect(gold).toEqual(expected);
    // Every page with items, then the empty page that ends the crawl.
    expect(api.pagesRequested().length).toBe(Math.ceil(rows.length / 10) + 1);

    // `lakehouse crawl` refreshes it on demand (a run re-crawls only past max_age_hours).
    const cli = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/lakehouse.js', 'crawl', dir], { cwd: PROJECT_ROOT });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(cli.code, cli.stderr).toBe(0);
    // Not a terminal: whole lines, no carriage returns running the page counts into one another.
    expect(cli.stderr).not.toContain('\r');
    expect(cli.stderr.split('\n')).toContain(
      `title_catalog: ${Math.ceil(rows.length / 10) + 1} pages, ${rows.length} items, 0 retries; ${rows.length} rows after the merge`,
    );
  }, 120_000);
});

describe('crawl headers from the environment', () => {
  let api: CatalogApi;
  let work: string;
  let engine: Engine;
  let dispatcher: Dispatcher;
  const saved = { ...process.env };

  beforeAll(async () => {
    work = await tempDir('lakehouse-crawl-env-');
    api = new CatalogApi();
    api.items = catalog(3);
    await api.start();
    const { dir } = await generatedProject(work, 1, 100);
    engine = await createEngine({ projectDir: dir });
    dispatcher = createDispatcher(engine);
    process.env.PGPASSWORD = 'pg-secret';
    process.env.AWS_SECRET_ACCESS_KEY = 'aws-secret';
    process.env.LAKEHOUSE_CATALOG_TOKEN = 'catalog-token';
  }, 60_000);
  afterAll(async () => {
    for (const name of ['PGPASSWORD', 'AWS_SECRET_ACCESS_KEY', 'LAKEHOUSE_CATALOG_TOKEN']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await dispatcher?.close();
    engine?.close();
    await api?.close();
    await removeDir(work);
  });

  // The review's request: an unsaved definition naming the app's secrets, sent to a listener of its own.
  const leaking = () => ({
    kind: 'crawl',
    url: `${api.url}/titles`,
    items_path: 'data.items',
    headers_from_env: { 'x-leak': 'PGPASSWORD', 'x-aws': 'AWS_SECRET_ACCESS_KEY' },
  });

  it('sends a LAKEHOUSE_ variable as the header it names', async () => {
    api.requests = [];
    const probe = (await dispatcher.call('sources.test', {
      source: { ...leaking(), headers_from_env: { authorization: 'LAKEHOUSE_CATALOG_TOKEN' } },
    })) as SourceTestResult;
    expect(probe).toMatchObject({ ok: true, objects: 3 });
    expect(api.requests.map((r) => r.headers.authorization)).toEqual(['catalog-token']);
  });

  // fetch drops only Authorization on a redirect to another origin; any other header went along.
  it("sends the headers to the source URL's origin only, not to another origin a redirect names", async () => {
    const elsewhere = new CatalogApi();
    elsewhere.items = catalog(3);
    await elsewhere.start();
    try {
      api.requests = [];
      api.redirectTo = `${elsewhere.url}/titles`;
      const headers_from_env = {
        'x-api-key': 'LAKEHOUSE_CATALOG_TOKEN',
        authorization: 'LAKEHOUSE_CATALOG_TOKEN',
      };
      const away = (await dispatcher.call('sources.test', {
        source: { ...leaking(), url: `${api.url}/moved`, headers_from_env },
      })) as SourceTestResult;
      expect(away).toMatchObject({ ok: true, objects: 3 });
      expect(api.requests.map((r) => r.headers['x-api-key'])).toEqual(['catalog-token']);
      expect(elsewhere.requests).toHaveLength(1);
      expect(elsewhere.requests[0]?.headers['x-api-key']).toBeUndefined();
      expect(elsewhere.requests[0]?.headers.authorization).toBeUndefined();

      // A redirect within the origin keeps them.
      api.requests = [];
      api.redirectTo = `${api.url}/titles`;
      const within = (await dispatcher.call('sources.test', {
        source: { ...leaking(), url: `${api.url}/moved`, headers_from_env },
      })) as SourceTestResult;
      expect(within).toMatchObject({ ok: true, objects: 3 });
      expect(api.requests.map((r) => r.headers['x-api-key'])).toEqual(['catalog-token', 'catalog-token']);
    } finally {
      await elsewhere.close();
    }
  });

  it('sources.test refuses any other variable before sending a request, saying what to rename', async () => {
    api.requests = [];
    const probe = (await dispatcher.call('sources.test', { source: leaking() })) as SourceTestResult;
    expect(probe.ok).toBe(false);
    expect(probe.error?.message).toContain(
      'headers_from_env.x-leak: "PGPASSWORD" is not allowed: a crawl header may only read an environment variable whose name starts with LAKEHOUSE_',
    );
    expect(probe.error?.message).toContain("Export the API's token as LAKEHOUSE_PGPASSWORD");
    expect(probe.error?.message).toContain('headers_from_env.x-aws: "AWS_SECRET_ACCESS_KEY" is not allowed');
    expect(api.requests).toEqual([]);
  });

  it('sources.save refuses it and leaves lakehouse.yaml as it was', async () => {
    const file = join(engine.project.root, 'lakehouse.yaml');
    const before = await readFile(file, 'utf8');
    const refused = await lakehouseFailure(
      dispatcher.call('sources.save', { name: 'leaky', source: leaking() }),
    );
    expect(refused.code).toBe('INVALID_ARGUMENT');
    expect(refused.details).toMatchObject({ field: 'source.headers_from_env.x-leak' });
    expect(refused.message).toContain(
      'may only read an environment variable whose name starts with LAKEHOUSE_',
    );
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(api.requests).toEqual([]);
  });

  it('lakehouse.yaml refuses it when the project loads, and the crawler checks again', async () => {
    const dir = join(work, 'yaml');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'lakehouse.yaml'),
      `name: leaky\nsources:\n  titles:\n    kind: crawl\n    url: "${api.url}/titles"\n    headers_from_env:\n      x-leak: PGPASSWORD\n`,
    );
    const invalid = await lakehouseFailure(loadProject(dir));
    expect(invalid.code).toBe('PROJECT_INVALID');
    expect(invalid.message).toContain('sources.titles.headers_from_env.x-leak: "PGPASSWORD" is not allowed');

    // A definition built without the schema (a caller's bug) still sends nothing.
    const source = { ...CrawlSource.parse({ kind: 'crawl', url: `${api.url}/titles` }) };
    source.headers_from_env = { 'x-leak': 'PGPASSWORD' };
    const db = await openDb();
    try {
      await expect(crawl({ db, name: 'titles', source, dir: join(work, 'unchecked') })).rejects.toThrow(
        'Source "titles": headers_from_env.x-leak: "PGPASSWORD" is not allowed',
      );
    } finally {
      db.close();
    }
    expect(api.requests).toEqual([]);
  });
});

describe('crawl query parameters from the environment', () => {
  let api: CatalogApi;
  let work: string;
  let db: Db;
  const saved = { ...process.env };
  // Characters a URL encodes: the value must not show in either form.
  const SECRET = 'k3y s3cr3t/+=';
  const query_from_env = { api_key: 'LAKEHOUSE_CATALOG_KEY' };
  const shown = (text: string) => {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(encodeURIComponent(SECRET));
    expect(text).not.toContain(new URLSearchParams({ v: SECRET }).toString().slice(2));
    expect(text).not.toContain('api_key');
  };
  const keysSent = (server: CatalogApi) =>
    server.requests.map((r) => new URL(r.url, server.url).searchParams.get('api_key'));

  beforeAll(async () => {
    work = await tempDir('lakehouse-crawl-query-');
    db = await openDb();
    api = new CatalogApi();
    api.items = catalog(25);
    await api.start();
    process.env.LAKEHOUSE_CATALOG_KEY = SECRET;
    process.env.PGPASSWORD = 'pg-secret';
  });
  afterAll(async () => {
    for (const name of ['LAKEHOUSE_CATALOG_KEY', 'PGPASSWORD']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    db.close();
    await api?.close();
    await removeDir(work);
  });

  it('adds them to every request, and shows the URL without them in progress and errors', async () => {
    api.requests = [];
    const progress: string[] = [];
    const source = CrawlSource.parse({
      kind: 'crawl',
      url: `${api.url}/titles?lang=en`,
      items_path: 'data.items',
      requests_per_second: 200,
      query_from_env,
    });
    const result = await crawl({
      db,
      name: 'titles',
      source,
      dir: join(work, 'crawl'),
      onProgress: (p) => progress.push(JSON.stringify(p)),
    });
    expect(result.rows).toBe(25);
    expect(keysSent(api)).toEqual([SECRET, SECRET, SECRET, SECRET]);
    expect(api.pagesRequested()).toEqual([1, 2, 3, 4]);
    expect(new URL(api.requests[0]?.url ?? '', api.url).searchParams.get('lang')).toBe('en');
    shown(progress.join('\n') + JSON.stringify(result));

    // A 4xx names the URL it requested, without the key.
    const missing = await lakehouseFailure(
      crawl({
        db,
        name: 'titles',
        source: { ...source, url: `${api.url}/nothing` },
        dir: join(work, 'missing'),
      }),
    );
    expect(missing.message).toMatch(
      /Source "titles": http:\/\/127\.0\.0\.1:\d+\/nothing\?page=1 answered HTTP 404/,
    );
    shown(missing.message + JSON.stringify(missing.details));

    // Out of retries: the same.
    api.outageFromPage = 1;
    try {
      const down = await lakehouseFailure(
        crawl({ db, name: 'titles', source: { ...source, max_retries: 0 }, dir: join(work, 'down') }),
      );
      expect(down.message).toContain('/titles?lang=en&page=1 still failing after 1 attempts (HTTP 503)');
      shown(down.message + JSON.stringify(down.details));
    } finally {
      api.outageFromPage = undefined;
    }
  });

  it("sends them to the source URL's origin only, and sources.test shows the URL without them", async () => {
    const elsewhere = new CatalogApi();
    elsewhere.items = catalog(3);
    await elsewhere.start();
    const engineWork = join(work, 'probe');
    const { dir } = await generatedProject(engineWork, 1, 100);
    const engine = await createEngine({ projectDir: dir });
    const dispatcher = createDispatcher(engine);
    try {
      const source = { kind: 'crawl', url: `${api.url}/moved`, items_path: 'data.items', query_from_env };
      api.requests = [];
      api.redirectTo = `${elsewhere.url}/titles`;
      const away = (await dispatcher.call('sources.test', { source })) as SourceTestResult;
      expect(away).toMatchObject({ ok: true, objects: 3 });
      expect(keysSent(api)).toEqual([SECRET]);
      expect(keysSent(elsewhere)).toEqual([null]);
      shown(JSON.stringify(away));

      api.requests = [];
      api.redirectTo = `${api.url}/titles?page=1`;
      const within = (await dispatcher.call('sources.test', { source })) as SourceTestResult;
      expect(within).toMatchObject({ ok: true, objects: 10 });
      expect(keysSent(api)).toEqual([SECRET, SECRET]);
      shown(JSON.stringify(within));
    } finally {
      await dispatcher.close();
      engine.close();
      await elsewhere.close();
    }
  });

  it('a run whose crawl fails keeps the key out of its error and the run history', async () => {
    const { dir } = await generatedProject(join(work, 'run'), 1, 100);
    const yaml = await readFile(join(dir, 'lakehouse.yaml'), 'utf8');
    await writeFile(
      join(dir, 'lakehouse.yaml'),
      yaml.replace(
        / {2}title_catalog:\n {4}kind: file\n {4}path: .*\n/,
        `  title_catalog:\n    kind: crawl\n    url: "${api.url}/nothing"\n    items_path: data.items\n    query_from_env: { api_key: LAKEHOUSE_CATALOG_KEY }\n`,
      ),
    );
    api.requests = [];
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({});
      expect(summary.error?.message).toContain('/nothing?page=1 answered HTTP 404');
      shown(JSON.stringify(summary));
      const history = JSON.stringify(await engine.runs(20));
      expect(history).toContain('/nothing?page=1 answered HTTP 404');
      shown(history);
    });
    expect(keysSent(api)).toEqual([SECRET]);
  }, 120_000);

  it('refuses a secret-named query parameter in the URL, showing the query_from_env line to write', async () => {
    for (const [url, names] of [
      ['https://api.example.com/titles?api_key=abc123&page=1', ['api_key']],
      ['https://api.example.com/titles?APIKEY=abc123', ['APIKEY']],
      ['https://api.example.com/titles?lang=en&Token=abc123&sig=abc123', ['Token', 'sig']],
      [
        'https://api.example.com/titles?key=abc123&access_token=abc123&secret=abc123',
        ['key', 'access_token', 'secret'],
      ],
      ['https://api.example.com/titles?password=abc123&Signature=abc123', ['password', 'Signature']],
    ] as const) {
      const parsed = CrawlSource.safeParse({ kind: 'crawl', url });
      expect(parsed.success, url).toBe(false);
      const message = parsed.error?.issues.map((i) => i.message).join('\n') ?? '';
      expect(message).toContain(`holds the query parameter ${names.map((n) => `"${n}"`).join(', ')}`);
      expect(message).not.toContain('abc123');
      // The line it suggests is one the schema accepts, with the URL left without the secrets.
      const line = /query_from_env: \{ (.*) \}/.exec(message)?.[1] ?? '';
      const suggested = Object.fromEntries(line.split(', ').map((entry) => entry.split(': ')));
      expect(Object.keys(suggested)).toEqual(names);
      const cleaned = new URL(url);
      for (const name of names) cleaned.searchParams.delete(name);
      expect(
        CrawlSource.safeParse({ kind: 'crawl', url: cleaned.href, query_from_env: suggested }).success,
      ).toBe(true);
    }
    // Names that only contain a secret word are no secret parameter.
    for (const url of [
      'https://api.example.com/titles?keyword=x&monkey=1',
      'https://api.example.com/{page}?token_type=a',
    ]) {
      expect(CrawlSource.safeParse({ kind: 'crawl', url }).success, url).toBe(true);
    }

    // In lakehouse.yaml: the project does not load, naming the source and field.
    const dir = join(work, 'literal');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'lakehouse.yaml'),
      `name: p\nsources:\n  titles:\n    kind: crawl\n    url: "${api.url}/titles?api_key=abc123"\n`,
    );
    const invalid = await lakehouseFailure(loadProject(dir));
    expect(invalid.code).toBe('PROJECT_INVALID');
    expect(invalid.message).toContain('sources.titles.url: holds the query parameter "api_key"');
    expect(invalid.message).toContain('query_from_env: { api_key: LAKEHOUSE_CRAWL_API_KEY }');
    expect(invalid.message).not.toContain('abc123');
  });

  it('reads only LAKEHOUSE_ variables, and sources.test sends no request for a refused definition', async () => {
    const { dir } = await generatedProject(join(work, 'refused'), 1, 100);
    const engine = await createEngine({ projectDir: dir });
    const dispatcher = createDispatcher(engine);
    try {
      api.requests = [];
      const leaking = (await dispatcher.call('sources.test', {
        source: { kind: 'crawl', url: `${api.url}/titles`, query_from_env: { api_key: 'PGPASSWORD' } },
      })) as SourceTestResult;
      expect(leaking.ok).toBe(false);
      expect(leaking.error?.message).toContain(
        'query_from_env.api_key: "PGPASSWORD" is not allowed: a crawl query parameter may only read an environment variable whose name starts with LAKEHOUSE_',
      );
      const literal = (await dispatcher.call('sources.test', {
        source: { kind: 'crawl', url: `${api.url}/titles?api_key=abc123` },
      })) as SourceTestResult;
      expect(literal.ok).toBe(false);
      expect(literal.error?.message).toContain('query_from_env: { api_key: LAKEHOUSE_CRAWL_API_KEY }');
      expect(literal.error?.message).not.toContain('abc123');
      expect(api.requests).toEqual([]);

      const file = join(engine.project.root, 'lakehouse.yaml');
      const before = await readFile(file, 'utf8');
      const refused = await lakehouseFailure(
        dispatcher.call('sources.save', {
          name: 'keyed',
          source: { kind: 'crawl', url: `${api.url}/titles?api_key=abc123` },
        }),
      );
      expect(refused.details).toMatchObject({ field: 'source.url' });
      expect(refused.message).not.toContain('abc123');
      expect(await readFile(file, 'utf8')).toBe(before);
    } finally {
      await dispatcher.close();
      engine.close();
    }
  });
});
