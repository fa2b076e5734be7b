import { mkdir, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { initProject } from '../../engine/project/init.ts';
import { type RunningServer, startServer } from '../../server/http-server.ts';
import { BROWSER_CSP } from '../../server/static-files.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// Browser mode's guard rails, on a real server over loopback. The project's source folder does not exist:
// nothing here runs it.

let work: string;
let engine: Engine;
let dispatcher: Dispatcher;
let server: RunningServer;

beforeAll(async () => {
  work = await tempDir('lakehouse-http-');
  await initProject({
    dir: join(work, 'project'),
    example: 'customer-search',
    source: join(work, 'no-source'),
  });
  engine = await createEngine({ projectDir: join(work, 'project') });
  dispatcher = createDispatcher(engine);
  const staticDir = join(work, 'static');
  await mkdir(join(staticDir, 'assets'), { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Lakehouse Explorer</title>');
  await writeFile(join(staticDir, 'assets', 'app.js'), 'console.log("app");');
  await writeFile(join(work, 'secret.txt'), 'outside the static folder');
  server = await startServer({ dispatcher, staticDir, maxBodyBytes: 64 * 1024 });
});

afterAll(async () => {
  await server?.close();
  await dispatcher?.close();
  engine?.close();
  if (work) await removeDir(work);
});

const rpc = (
  method: string,
  init: { token?: string | null; body?: string; headers?: Record<string, string> } = {},
) =>
  fetch(`${server.origin}/rpc/${method}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(init.token === null ? {} : { Authorization: `Bearer ${init.token ?? server.token}` }),
      ...init.headers,
    },
    body: init.body ?? '{}',
  });

/** A request with a raw path and headers fetch would normalise or refuse to send. */
function rawRequest(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the browser-mode server', () => {
  it('listens on 127.0.0.1 only, and refuses any other host', async () => {
    const address = server.server.address() as AddressInfo;
    expect(address).toMatchObject({ address: '127.0.0.1', family: 'IPv4', port: server.port });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/#token=${server.token}`);
    expect(server.token).toMatch(/^[\w-]{43}$/);
    await expect(startServer({ dispatcher, host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(
      /127\.0\.0\.1 only/,
    );
  });

  it('answers /rpc with the token, and 401 with {code, message, details} without it or with a wrong one', async () => {
    const ok = await rpc('project.info');
    expect(ok.status).toBe(200);
    // A missing source folder does not hide the project: the graph shows, with the reason there are no dates.
    expect(await ok.json()).toMatchObject({
      name: 'customer-search',
      availableDates: [],
      sourceError: { code: 'SOURCE_MISSING', details: { path: join(work, 'no-source') } },
    });

    for (const token of [null, 'wrong-token', `${server.token}x`]) {
      const refused = await rpc('project.info', { token });
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/session token/),
        details: { status: 401 },
      });
    }
    // The query-string token is for EventSource only; /rpc needs the header.
    const viaQuery = await fetch(`${server.origin}/rpc/project.info?token=${server.token}`, {
      method: 'POST',
      body: '{}',
    });
    expect(viaQuery.status).toBe(401);
    // Authentication comes first: an unknown method without the token is 401, not a method list.
    expect((await rpc('no.such.method', { token: null })).status).toBe(401);
  });

  it('answers /events with the token (header or ?token=) and 401 otherwise', async () => {
    for (const query of ['', '?token=wrong', `?token=${server.token}x`]) {
      const refused = await fetch(`${server.origin}/events${query}`);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    const ways: { url: string; headers: Record<string, string> }[] = [
      { url: `${server.origin}/events?token=${server.token}`, headers: {} },
      { url: `${server.origin}/events`, headers: { Authorization: `Bearer ${server.token}` } },
    ];
    for (const init of ways) {
      const controller = new AbortController();
      const stream = await fetch(init.url, { headers: init.headers, signal: controller.signal });
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      controller.abort();
    }
  });

  it('serves the renderer with a strict CSP and no sniffing', async () => {
    for (const [path, type] of [
      ['/', /^text\/html/],
      ['/index.html', /^text\/html/],
      ['/assets/app.js', /^text\/javascript/],
    ] as const) {
      const response = await fetch(`${server.origin}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(type);
      const csp = response.headers.get('content-security-policy');
      expect(csp).toBe(BROWSER_CSP);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    }
    const csp = BROWSER_CSP.split(';').map((d) => d.trim());
    expect(csp).toEqual(
      expect.arrayContaining([
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
      ]),
    );
    expect(BROWSER_CSP).not.toMatch(/unsafe-eval|\*|https?:/);
  });

  it('answers 404 for unknown paths, never serving a file outside the renderer', async () => {
    const missing = await fetch(`${server.origin}/no-such-file.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { path: '/no-such-file.js' },
    });
    for (const path of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/%00',
    ]) {
      const response = await rawRequest(path, { Host: `127.0.0.1:${server.port}` });
      expect(response.status, path).toBe(404);
      expect(response.body).not.toContain('outside the static folder');
    }
    const noMethod = await fetch(`${server.origin}/rpc/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.token}` },
    });
    expect(noMethod.status).toBe(404);
  });

  it('answers 413 to a body over the limit, 400 to a body that is not JSON, 405 to a wrong verb', async () => {
    const huge = await rpc('query.run', { body: JSON.stringify({ sql: `SELECT '${'x'.repeat(200_000)}'` }) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ code: 'INVALID_ARGUMENT', details: { limit: 64 * 1024 } });
    const notJson = await rpc('query.run', { body: '{"sql": ' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/not JSON/),
    });
    const get = await fetch(`${server.origin}/rpc/project.info`, {
      headers: { Authorization: `Bearer ${server.token}` },
    });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    // The server still answers after all that.
    expect((await rpc('project.info')).status).toBe(200);
  });

  it('refuses other Host headers (DNS rebinding) and cross-origin calls', async () => {
    const rebound = await rawRequest('/', { Host: `evil.example:${server.port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('Lakehouse Explorer');
    expect((await rawRequest('/', { Host: `localhost:${server.port}` })).status).toBe(200);
    const crossOrigin = await rpc('project.info', { headers: { Origin: 'https://evil.example' } });
    expect(crossOrigin.status).toBe(403);
    expect((await rpc('project.info', { headers: { Origin: server.origin } })).status).toBe(200);
  });

  it('maps error codes to HTTP statuses and keeps the payload', async () => {
    const unknown = await rpc('pipeline.explode');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { method: 'pipeline.explode' },
    });
    const query = await rpc('query.run', { body: JSON.stringify({ sql: 'SELECT * FROM nowhere' }) });
    expect(query.status).toBe(400);
    expect(await query.json()).toMatchObject({
      code: 'QUERY_ERROR',
      details: { sql: 'SELECT * FROM nowhere' },
    });
    // No source folder: the run fails before it starts, and the caller is told why.
    const run = await rpc('pipeline.run');
    expect(run.status).toBe(422);
    expect(await run.json()).toMatchObject({ code: 'SOURCE_MISSING' });
  });
});
