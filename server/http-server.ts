import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BINARY_REPLY_TYPE, encodeBinaryReply } from '../engine/api/binary-reply.ts';
import type { ErrorCode, ErrorPayload } from '../engine/api/contract.ts';
import type { Dispatcher } from '../engine/api/dispatcher.ts';
import { LakehouseError } from '../engine/api/errors.ts';
import { createEventStreams } from './event-stream.ts';
import { createSessionToken, requestToken, tokenMatches } from './session-token.ts';
import { serveStatic } from './static-files.ts';

/** The renderer bundle `npm run build` writes. */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../dist/renderer/', import.meta.url));
// The largest body the contract accepts: model.apply's text and base of 1,000,000 characters each, every
// one escaped as \uXXXX (6 bytes) at worst, is 12 MB. At 1 MiB a model file over ~500 KB was refused.
const DEFAULT_MAX_BODY = 16 * 1024 * 1024;
// A body over the limit is still read (and dropped) up to this size so the client sees the 413.
const DRAIN_LIMIT = 64 * 1024 * 1024;

export interface ServerOptions {
  dispatcher: Dispatcher;
  /** Default 0: a free port chosen by the OS. */
  port?: number;
  /** Loopback only; there is no option to listen on other interfaces. */
  host?: '127.0.0.1';
  /** The built renderer; default dist/renderer of this package. */
  staticDir?: string;
  /** Largest /rpc request body in bytes; default 16 MiB, over the largest input the contract accepts. */
  maxBodyBytes?: number;
}

export interface RunningServer {
  /** Open this in a browser: the page's origin, with the session token in the fragment (never sent to servers). */
  url: string;
  /** http://127.0.0.1:<port> */
  origin: string;
  port: number;
  token: string;
  server: Server;
  /** Ends event streams and open connections, then stops listening. Leaves the dispatcher open. */
  close(): Promise<void>;
}

/**
 * Browser mode: the dispatcher over HTTP on 127.0.0.1. `POST /rpc/<method>` takes the input as JSON and
 * answers the output (200) or `{code, message, details}` (4xx/5xx); `GET /events` streams events as SSE;
 * everything else is a file of the built renderer under a strict CSP. /rpc and /events need the per-launch
 * token; the Host header must name this server (no DNS rebinding).
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new Error(`startServer listens on 127.0.0.1 only, not ${String(host)}`);
  const token = createSessionToken();
  const staticDir = options.staticDir ?? DEFAULT_STATIC_DIR;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const streams = createEventStreams(options.dispatcher);
  let port = 0;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
    if (!allowedHosts.includes(request.headers.host ?? '')) {
      return sendError(response, 403, 'INVALID_ARGUMENT', 'This server answers to 127.0.0.1 only.', {
        host: request.headers.host ?? null,
      });
    }
    const target = request.url ?? '/';
    if (!target.startsWith('/')) return sendError(response, 400, 'INVALID_ARGUMENT', 'Bad request target');
    // Parsed against a fixed base: a path like //host/x stays a path.
    const url = new URL(`http://localhost${target}`);
    const path = url.pathname;

    if (path === '/events' || path === '/rpc' || path.startsWith('/rpc/')) {
      const isEvents = path === '/events';
      if (!tokenMatches(token, requestToken(request, url, isEvents))) {
        return sendError(
          response,
          401,
          'INVALID_ARGUMENT',
          'Missing or wrong session token. Open the URL that `lakehouse serve` or `lakehouse app --browser` printed: it carries the token.',
          { status: 401 },
        );
      }
      const origin = request.headers.origin;
      if (origin !== undefined && !allowedHosts.some((h) => origin === `http://${h}`)) {
        return sendError(response, 403, 'INVALID_ARGUMENT', 'Cross-origin calls are refused.', { origin });
      }
      if (isEvents) {
        if (request.method !== 'GET') return methodNotAllowed(response, 'GET');
        return streams.open(request, response);
      }
      const method = path.slice('/rpc/'.length);
      if (!method) return sendError(response, 404, 'INVALID_ARGUMENT', 'POST /rpc/<method>', { path });
      if (request.method !== 'POST') return methodNotAllowed(response, 'POST');
      return rpc(request, response, method);
    }

    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(response, 'GET, HEAD');
    if (await serveStatic(staticDir, path, response, request.method === 'HEAD')) return;
    sendError(response, 404, 'INVALID_ARGUMENT', `Nothing at ${path}`, { path });
  };

  const rpc = async (request: IncomingMessage, response: ServerResponse, method: string) => {
    const body = await readBody(request, maxBody);
    if (body === 'aborted') return;
    if (body === 'too-large') {
      response.setHeader('Connection', 'close');
      return sendError(response, 413, 'INVALID_ARGUMENT', `The request body is over ${maxBody} bytes.`, {
        limit: maxBody,
      });
    }
    let input: unknown;
    try {
      input = body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
    } catch (error) {
      return sendError(
        response,
        400,
        'INVALID_ARGUMENT',
        `The request body is not JSON: ${(error as Error).message}`,
      );
    }
    let name = method;
    try {
      name = decodeURIComponent(method);
    } catch {
      // Left encoded: the dispatcher then answers that no such method exists.
    }
    const reply = await options.dispatcher.invoke(name, input);
    if (reply.ok) sendReply(response, reply.value);
    else sendJson(response, statusOf(reply.error.code), reply.error);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) response.destroy();
      else sendError(response, 500, 'INTERNAL', error instanceof Error ? error.message : String(error));
    });
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    const failed = (error: Error & { code?: string }) => {
      // The port the user asked for: say what to do, not node's bare EADDRINUSE.
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') {
        const why =
          error.code === 'EADDRINUSE'
            ? 'is already in use (another lakehouse serve or app, or another program)'
            : 'needs privileges this user lacks (ports below 1024)';
        rejectListen(
          new LakehouseError(
            'INVALID_ARGUMENT',
            `Port ${options.port} on ${host} ${why}: pick another --port, or leave --port out to use any free one.`,
            { port: options.port ?? 0, reason: error.code },
          ),
        );
      } else rejectListen(error);
    };
    server.once('error', failed);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', failed);
      resolveListen();
    });
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://${host}:${port}`;
  return {
    url: `${origin}/#token=${token}`,
    origin,
    port,
    token,
    server,
    close: () =>
      new Promise<void>((resolveClose) => {
        streams.closeAll();
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}

/** Status codes are for HTTP tooling; clients branch on the payload's code. */
function statusOf(code: ErrorCode): number {
  switch (code) {
    case 'INVALID_ARGUMENT':
    case 'QUERY_ERROR':
      return 400;
    case 'RUN_LOCKED':
      return 409;
    case 'INTERNAL':
      return 500;
    default:
      return 422;
  }
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  let body: string;
  try {
    body = JSON.stringify(value ?? null);
  } catch (error) {
    status = 500;
    body = JSON.stringify({
      code: 'INTERNAL',
      message: `Reply is not JSON: ${(error as Error).message}`,
      details: {},
    });
  }
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(body);
}

/** A reply holding binary data (an Arrow window, an exported file) goes as a binary reply, others as JSON. */
function sendReply(response: ServerResponse, value: unknown): void {
  const binary = encodeBinaryReply(value);
  if (!binary) {
    sendJson(response, 200, value);
    return;
  }
  response.writeHead(200, {
    'Content-Type': BINARY_REPLY_TYPE,
    'Content-Length': String(binary.byteLength),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(binary);
}

function sendError(
  response: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): void {
  const payload: ErrorPayload = { code, message, details };
  sendJson(response, status, payload);
}

function methodNotAllowed(response: ServerResponse, allow: string): void {
  response.setHeader('Allow', allow);
  sendError(response, 405, 'INVALID_ARGUMENT', `Use ${allow}.`, { allow });
}

/**
 * The whole body; 'too-large' once it passes `limit` (the rest is read and dropped, so the client gets
 * to read the 413); 'aborted' when the client went away before the end.
 */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolveBody) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    let size = 0;
    let tooLarge = declared > limit;
    const chunks: Buffer[] = [];
    if (tooLarge && declared > DRAIN_LIMIT) {
      resolveBody('too-large');
      return;
    }
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (size > DRAIN_LIMIT) request.destroy();
      else if (!tooLarge) chunks.push(chunk);
    });
    request.on('end', () => resolveBody(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    request.on('close', () => resolveBody(request.complete ? Buffer.concat(chunks) : 'aborted'));
    request.on('error', () => resolveBody('aborted'));
  });
}
