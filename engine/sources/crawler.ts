import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inNumber } from '../api/counted.ts';
import { LakehouseError } from '../api/errors.ts';
import { type Db, ident, literal, NO_HIVE_COLUMNS, pathLiteral, readParquet } from '../db/duckdb.ts';
import { CRAWL_HEADER_VARIABLE, type CrawlSource, crawlHeaderVariableRefusal } from '../project/config.ts';
import { writeFileAtomically } from '../storage/atomic-file.ts';
import { firstLine } from './daily-parquet.ts';

/**
 * A crawl source pages through a JSON HTTP API into `<project>/.lakehouse/crawl/<name>/`:
 * - `pages/NNNNNN.jsonl`: the items of each fetched page, written before `state.json` moves past it,
 *   so an interrupted crawl (killed, cancelled, out of retries) resumes at the first page it lacks;
 * - `data.parquet`: the merged result, replaced atomically when a crawl completes. Items are
 *   deduplicated by id; against the previous crawl the newest wins (by `updated_field` if set,
 *   else the later crawl, and within a crawl the later page).
 * The runner reads it as `source.<name>` like a reference file.
 */

export interface CrawlProgress {
  pages: number;
  items: number;
  /** Retries so far (throttled or failed requests). */
  retries: number;
  resumedFromPage?: number;
}

export interface CrawlResult extends CrawlProgress {
  /** Rows in the merged data after this crawl. */
  rows: number;
  file: string;
}

export interface CrawlOptions {
  db: Db;
  name: string;
  source: CrawlSource;
  /** The crawl's folder (state, pages, merged data). */
  dir: string;
  signal?: AbortSignal;
  onProgress?: (progress: CrawlProgress) => void;
  /** Injected for tests of the clock; default Date.now-based sleeping. */
  sleep?: (ms: number) => Promise<void>;
}

interface CrawlState {
  url: string;
  /** pagesFingerprint of the settings the pages were fetched with; absent in a state from before it. */
  fetchedWith?: string;
  crawlId: string;
  startedAt: string;
  /** The next request: a page number or a cursor; null when the crawl reached its end. */
  next: { page?: number; cursor?: string } | null;
  pages: number;
  items: number;
}

export function crawlDir(projectRoot: string, name: string): string {
  return join(projectRoot, '.lakehouse', 'crawl', name);
}

export function crawlDataFile(dir: string): string {
  return join(dir, 'data.parquet');
}

/** Runs (or resumes) a crawl to its end and merges it into the previous data. */
export async function crawl(options: CrawlOptions): Promise<CrawlResult> {
  const { source, dir, name } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pagesDir = join(dir, 'pages');
  const stateFile = join(dir, 'state.json');
  const fingerprint = pagesFingerprint(source);
  const saved = await readJson<CrawlState>(stateFile);
  // Pages fetched with other settings (another URL, items_path, paging...) are not this source's: a
  // crawl whose merge failed on a wrong items_path would otherwise merge the same wrong pages forever.
  const previous = saved?.fetchedWith === fingerprint ? saved : undefined;
  if (!previous) {
    // Nothing resumes, so any page here is stale (a crawl with other settings, or one killed during its
    // clean-up, left it): merged now, it would count as this crawl's newest items.
    await rm(stateFile, { force: true });
    await rm(pagesDir, { recursive: true, force: true });
  }
  await mkdir(pagesDir, { recursive: true });
  const state: CrawlState = previous ?? {
    url: source.url,
    fetchedWith: fingerprint,
    crawlId: randomUUID(),
    startedAt: new Date().toISOString(),
    next: source.paging.type === 'page' ? { page: source.paging.start } : {},
    pages: 0,
    items: 0,
  };
  const progress: CrawlProgress = {
    pages: state.pages,
    items: state.items,
    retries: 0,
    resumedFromPage: previous ? previous.pages + 1 : undefined,
  };
  const headers = requestHeaders(name, source, true);
  const query = requestQuery(name, source, true);
  const minInterval = 1000 / source.requests_per_second;
  let lastRequest = 0;

  while (state.next) {
    if (source.max_pages !== undefined && state.pages >= source.max_pages) break;
    if (options.signal?.aborted) {
      throw new LakehouseError(
        'RUN_CANCELLED',
        `The crawl of "${name}" was cancelled; it resumes at page ${state.pages + 1}.`,
      );
    }
    const url = pageUrl(source, state.next);
    const body = await fetchJson(url, headers, {
      name,
      query,
      retries: source.max_retries,
      sleep,
      signal: options.signal,
      waitTurn: async () => {
        const wait = lastRequest + minInterval - Date.now();
        if (wait > 0) await sleep(wait);
        lastRequest = Date.now();
      },
      onRetry: () => {
        progress.retries++;
      },
    });
    const items = itemsOf(body, name, source, url);
    const pageNumber = state.pages + 1;
    const lines = items.map((item, i) =>
      JSON.stringify({ ...(item as object), _crawl_page: pageNumber, _crawl_item: i }),
    );
    await writeFileAtomically(
      join(pagesDir, `${String(pageNumber).padStart(6, '0')}.jsonl`),
      lines.join('\n'),
    );
    state.pages = pageNumber;
    state.items += items.length;
    state.next = nextRequest(source, state.next, body, items.length);
    await writeFileAtomically(stateFile, JSON.stringify(state));
    progress.pages = state.pages;
    progress.items = state.items;
    options.onProgress?.({ ...progress });
  }

  const rows = await mergePages(options, pagesDir, state);
  // Pages first: a kill in between leaves a finished state and no pages, whose re-merge changes nothing.
  await rm(pagesDir, { recursive: true, force: true });
  await rm(stateFile, { force: true });
  return { ...progress, rows, file: crawlDataFile(dir) };
}

/**
 * The settings that decide what the saved pages hold: where they come from, how they are paged, which
 * array is kept, and which headers and query parameters were sent (by variable name: values stay in the
 * environment). id_field and updated_field are not among them: they only steer the merge, which a
 * resumed crawl runs afresh over the same pages.
 */
function pagesFingerprint(source: CrawlSource): string {
  return JSON.stringify([
    source.url,
    source.paging,
    source.items_path,
    source.has_more_path ?? null,
    source.headers_from_env,
    source.query_from_env,
  ]);
}

/** A page's item array at items_path; a crawl and a test connection refuse a page without one alike. */
function itemsOf(body: unknown, name: string, source: CrawlSource, url: string): unknown[] {
  const items = pathValue(body, source.items_path);
  if (!Array.isArray(items)) {
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `Source "${name}": ${url} has no item array at "${source.items_path || '(top level)'}". Fix sources.${name}.items_path in lakehouse.yaml.`,
      { source: name, url },
    );
  }
  return items;
}

/** Fetches the first page only (for "test connection"): its URL and items, retried like a crawl. */
export async function fetchFirstPage(
  name: string,
  source: CrawlSource,
): Promise<{ url: string; items: unknown[] }> {
  const url = pageUrl(source, source.paging.type === 'page' ? { page: source.paging.start } : {});
  const headers = requestHeaders(name, source, false);
  const body = await fetchJson(url, headers, {
    name,
    query: requestQuery(name, source, false),
    retries: Math.min(source.max_retries, 2),
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5000))),
    waitTurn: async () => {},
    onRetry: () => {},
    // A test crawls nothing, so nothing resumes: say what to check instead.
    gaveUp: `Check that the API is up and sources.${name}.url is right, then test again.`,
  });
  const items = itemsOf(body, name, source, url);
  return { url, items };
}

/**
 * The request headers, values from the environment. The schema already refuses a variable outside
 * LAKEHOUSE_*; checked again here because this is where a value leaves the process.
 */
function requestHeaders(name: string, source: CrawlSource, requireAll: boolean): Record<string, string> {
  return {
    accept: 'application/json',
    ...fromEnvironment(name, source.headers_from_env, 'headers_from_env', 'header', requireAll),
  };
}

/** The query parameters added to each request (query_from_env), values from the environment. */
function requestQuery(name: string, source: CrawlSource, requireAll: boolean): Record<string, string> {
  return fromEnvironment(name, source.query_from_env, 'query_from_env', 'query parameter', requireAll);
}

/**
 * Each entry's value from its LAKEHOUSE_* variable. Without `requireAll` (testing a connection) an unset
 * variable is left out; otherwise it fails naming the variable to export.
 */
function fromEnvironment(
  name: string,
  entries: Record<string, string>,
  field: 'headers_from_env' | 'query_from_env',
  what: string,
  requireAll: boolean,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [entry, variable] of Object.entries(entries)) {
    if (!CRAWL_HEADER_VARIABLE.test(variable)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `Source "${name}": ${field}.${entry}: ${crawlHeaderVariableRefusal(variable, `a crawl ${what}`)}`,
        { source: name, field: `${field}.${entry}`, variable },
      );
    }
    const value = process.env[variable];
    if (value === undefined) {
      if (!requireAll) continue;
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `Source "${name}": ${what} ${entry} comes from the environment variable ${variable}, which is not set. Export it and retry.`,
        { source: name, variable },
      );
    }
    values[entry] = value;
  }
  return values;
}

/** `url` with the query_from_env parameters set: what is requested, never what is shown. */
function withQuery(url: string, query: Record<string, string>): string {
  const entries = Object.entries(query);
  if (entries.length === 0) return url;
  const withSecrets = new URL(url);
  for (const [param, value] of entries) withSecrets.searchParams.set(param, value);
  return withSecrets.href;
}

/** `url` as shown: without the query_from_env parameters (a redirect may echo them back). */
function shownUrl(url: string, query: Record<string, string>): string {
  const params = Object.keys(query);
  if (params.length === 0 || !URL.canParse(url)) return url;
  const shown = new URL(url);
  if (!params.some((p) => shown.searchParams.has(p))) return url;
  for (const param of params) shown.searchParams.delete(param);
  return shown.href;
}

/** `text` with every query_from_env value masked: an error from fetch may quote the URL it was given. */
function redacted(text: string, query: Record<string, string>): string {
  let out = text;
  for (const value of Object.values(query)) {
    if (value === '') continue;
    for (const form of new Set([
      value,
      encodeURIComponent(value),
      new URLSearchParams({ v: value }).toString().slice(2),
    ]))
      out = out.replaceAll(form, '***');
  }
  return out;
}

function pageUrl(source: CrawlSource, next: { page?: number; cursor?: string }): string {
  if (source.paging.type === 'page') {
    const page = String(next.page ?? source.paging.start);
    if (source.url.includes('{page}')) return source.url.replaceAll('{page}', page);
    const url = new URL(source.url);
    url.searchParams.set(source.paging.param, page);
    return url.toString();
  }
  const url = new URL(source.url);
  if (next.cursor !== undefined) url.searchParams.set(source.paging.param, next.cursor);
  return url.toString();
}

/** The request after this page, or null when the crawl has reached its end. */
function nextRequest(
  source: CrawlSource,
  current: { page?: number; cursor?: string },
  body: unknown,
  itemCount: number,
): CrawlState['next'] {
  if (itemCount === 0) return null;
  if (source.has_more_path !== undefined && pathValue(body, source.has_more_path) === false) return null;
  if (source.paging.type === 'page') return { page: (current.page ?? source.paging.start) + 1 };
  const cursor = pathValue(body, source.paging.cursor_path);
  if (cursor === undefined || cursor === null || cursor === '') return null;
  return { cursor: String(cursor) };
}

/** Reads `a.b.c` from a JSON value ('' is the value itself). */
export function pathValue(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.').filter(Boolean)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

interface FetchContext {
  name: string;
  /** Query parameters added to each request to the source's origin and never shown (query_from_env). */
  query: Record<string, string>;
  retries: number;
  sleep: (ms: number) => Promise<void>;
  signal?: AbortSignal;
  waitTurn: () => Promise<void>;
  onRetry: () => void;
  /** What to do once the retries are spent (default: a crawl's, which resumes at this page). */
  gaveUp?: string;
}

/**
 * GETs a JSON page within the rate limit. 429 waits for Retry-After (seconds or a date); 5xx and
 * network errors back off exponentially with jitter; other 4xx fail at once, naming the URL.
 */
async function fetchJson(url: string, headers: Record<string, string>, ctx: FetchContext): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    await ctx.waitTurn();
    let status = 0;
    let retryAfter: number | undefined;
    let reason: string;
    try {
      const response = await fetchFollowingRedirects(ctx.name, url, headers, ctx.query, ctx.signal);
      status = response.status;
      if (response.ok) {
        const text = await response.text();
        try {
          return JSON.parse(text);
        } catch {
          throw new LakehouseError(
            'SOURCE_UNREADABLE',
            `Source "${ctx.name}": ${url} answered with something that is not JSON (${text.slice(0, 80)}...).`,
            { source: ctx.name, url },
          );
        }
      }
      reason = `HTTP ${status}`;
      retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      await response.body?.cancel();
      if (status !== 429 && status !== 408 && status < 500) {
        throw new LakehouseError(
          status === 401 || status === 403 ? 'STORAGE_ACCESS_DENIED' : 'SOURCE_UNREADABLE',
          `Source "${ctx.name}": ${url} answered HTTP ${status}. ` +
            (status === 401 || status === 403
              ? `Check the credentials the API needs (sources.${ctx.name}.headers_from_env names the variables).`
              : `Check sources.${ctx.name}.url and its paging settings in lakehouse.yaml.`),
          { source: ctx.name, url, status },
        );
      }
    } catch (error) {
      if (error instanceof LakehouseError) throw error;
      if (ctx.signal?.aborted)
        throw new LakehouseError('RUN_CANCELLED', `The crawl of "${ctx.name}" was cancelled.`);
      reason = redacted(firstLine(error), ctx.query);
    }
    if (attempt >= ctx.retries) {
      throw new LakehouseError(
        'SOURCE_UNREADABLE',
        `Source "${ctx.name}": ${url} still failing after ${attempt + 1} attempts (${reason}). ` +
          (ctx.gaveUp ?? 'The crawl stopped where it was and resumes from this page on the next run.'),
        { source: ctx.name, url, status },
      );
    }
    ctx.onRetry();
    const backoff = Math.min(30_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
    await ctx.sleep(retryAfter !== undefined ? Math.max(retryAfter, 0) : backoff);
  }
}

/** Redirects a crawl follows per request, as fetch does by default. */
const MAX_REDIRECTS = 20;

/**
 * GET following redirects by hand: the headers from the environment (API keys) go to the source URL's
 * origin only. fetch itself drops only Authorization on a redirect to another origin, so an open
 * redirect on the API would hand an `X-Api-Key` to whatever host it names.
 */
async function fetchFollowingRedirects(
  name: string,
  url: string,
  headers: Record<string, string>,
  query: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<Response> {
  const origin = new URL(url).origin;
  let current = url;
  for (let hop = 0; ; hop++) {
    // The secrets from the environment, headers and query parameters alike, go to the source's origin only.
    const sameOrigin = new URL(current).origin === origin;
    const sent = sameOrigin ? headers : { accept: headers.accept ?? 'application/json' };
    const response = await fetch(sameOrigin ? withQuery(current, query) : current, {
      headers: sent,
      redirect: 'manual',
      ...(signal ? { signal } : {}),
    });
    const location = response.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(response.status) || location === null) return response;
    await response.body?.cancel();
    if (hop >= MAX_REDIRECTS) {
      throw new LakehouseError(
        'SOURCE_UNREADABLE',
        `Source "${name}": ${url} redirects more than ${MAX_REDIRECTS} times. Check sources.${name}.url.`,
        { source: name, url },
      );
    }
    const next = new URL(location, current);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new LakehouseError(
        'SOURCE_UNREADABLE',
        `Source "${name}": ${shownUrl(current, query)} redirects to a ${next.protocol} URL, which a crawl does not follow. Check sources.${name}.url.`,
        { source: name, url },
      );
    }
    current = next.href;
  }
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Merges this crawl's pages into the previous data.parquet, newest first per id, atomically. */
async function mergePages(options: CrawlOptions, pagesDir: string, state: CrawlState): Promise<number> {
  const { db, source, name, dir } = options;
  const pages = (await readdir(pagesDir)).filter((f) => f.endsWith('.jsonl')).sort();
  const target = crawlDataFile(dir);
  const previousExists = await stat(target).then(
    () => true,
    () => false,
  );
  const parts: string[] = [];
  const nonEmpty = [];
  for (const page of pages)
    if ((await stat(join(pagesDir, page))).size > 0) nonEmpty.push(join(pagesDir, page));
  if (nonEmpty.length > 0) {
    parts.push(
      `SELECT *, ${literal(state.startedAt)}::TIMESTAMP AS _crawled_at
       FROM read_json([${nonEmpty.map(pathLiteral).join(', ')}], format = 'newline_delimited', union_by_name = true, ${NO_HIVE_COLUMNS})`,
    );
  }
  if (previousExists) parts.push(`SELECT * FROM ${readParquet(target)}`);
  if (parts.length === 0) {
    throw new LakehouseError(
      'SOURCE_MISSING',
      `Source "${name}": the crawl of ${source.url} returned no items at all.`,
      {
        source: name,
      },
    );
  }
  const id = ident(source.id_field);
  const newest = [
    ...(source.updated_field ? [`${ident(source.updated_field)} DESC NULLS LAST`] : []),
    '_crawled_at DESC',
    '_crawl_page DESC',
    '_crawl_item DESC',
  ].join(', ');
  const temp = `${target}.tmp-${randomUUID().slice(0, 8)}`;
  try {
    await db.run(
      `COPY (
         SELECT * EXCLUDE (_newest) FROM (
           SELECT *, row_number() OVER (PARTITION BY ${id}::VARCHAR ORDER BY ${newest}) AS _newest
           FROM (${parts.join(' UNION ALL BY NAME ')})
           WHERE ${id} IS NOT NULL
         ) WHERE _newest = 1
       ) TO ${literal(temp)} (FORMAT PARQUET)`,
    );
  } catch (error) {
    await rm(temp, { force: true });
    throw new LakehouseError(
      'SOURCE_UNREADABLE',
      `Source "${name}": cannot merge the crawled items (${firstLine(error)}). Check sources.${name}.id_field ("${source.id_field}") and items_path.`,
      { source: name },
    );
  }
  await rename(temp, target);
  return Number((await db.scalar<bigint | number>(`SELECT count(*) FROM ${readParquet(target)}`)) ?? 0);
}

/**
 * Exposes the crawled data as `source.<name>`, crawling first when there is none yet or it is older
 * than `max_age_hours` (an interrupted crawl resumes).
 */
export async function bindCrawlSource(
  db: Db,
  name: string,
  source: CrawlSource,
  projectRoot: string,
  options: { signal?: AbortSignal; onProgress?: (progress: CrawlProgress) => void } = {},
): Promise<void> {
  const dir = crawlDir(projectRoot, name);
  const file = crawlDataFile(dir);
  const age = await stat(file).then(
    (s) => Date.now() - s.mtimeMs,
    () => Number.POSITIVE_INFINITY,
  );
  const unfinished = await stat(join(dir, 'state.json')).then(
    () => true,
    () => false,
  );
  if (unfinished || age > source.max_age_hours * 3_600_000) {
    await crawl({ db, name, source, dir, ...options });
  }
  const columns = (await db.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${readParquet(file)}`)).map(
    (c) => c.column_name,
  );
  const missing = source.required_columns.filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    throw new LakehouseError(
      'SOURCE_SCHEMA_MISMATCH',
      `Source "${name}": the crawled items lack required ${inNumber(missing.length, 'field')} ${missing.join(', ')} (found ${columns.join(', ')}). Check sources.${name}.items_path.`,
      { source: name, missing },
    );
  }
  await db.run(`CREATE OR REPLACE VIEW source.${ident(name)} AS SELECT * FROM ${readParquet(file)}`);
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
