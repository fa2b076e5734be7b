import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** `changed`: S3's answer to a GET whose If-Match no longer matches (the object was replaced since listed). */
export type Fault = 'slowdown' | 'internal' | 'drop' | 'truncate' | 'denied' | 'expired' | 'changed';

export interface FaultProxy {
  endpoint: string;
  /** Faults injected so far, by kind; requests forwarded. */
  stats: Record<Fault | 'forwarded', number>;
  /** Changes which requests fail: every `every`-th request gets the next fault of `faults`; 0 disables. */
  configure(options: {
    every: number;
    faults: Fault[];
    match?: (method: string, url: string) => boolean;
  }): void;
  /**
   * Answers as S3 does a request signed for another region than `region` (the bucket's): a 301
   * PermanentRedirect naming it in `x-amz-bucket-region`, or a 400 AuthorizationHeaderMalformed.
   * Undefined turns it off.
   */
  bucketRegion(region: string | undefined, answer?: 'redirect' | 'malformed'): void;
  /** Answers requests signed with this session token as S3 does once it expired (400 ExpiredToken). */
  expireSessionToken(token: string | undefined): void;
  /**
   * Cuts each ListObjectsV2 answer to its first `size` entries (keys and common prefixes) and says it is
   * truncated without a continuation token, as some S3-compatible servers page. Undefined turns it off.
   */
  pageListingsWithoutToken(size: number | undefined): void;
  /** Calls `listener` for each request before forwarding it (e.g. to kill a client mid-upload). */
  onRequest(listener: (method: string, url: string) => void): void;
  close(): Promise<void>;
}

const ERRORS: Record<Exclude<Fault, 'drop' | 'truncate'>, [number, string]> = {
  slowdown: [503, 'SlowDown'],
  internal: [500, 'InternalError'],
  denied: [403, 'AccessDenied'],
  expired: [400, 'ExpiredToken'],
  changed: [412, 'PreconditionFailed'],
};

const errorXml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>proxy</RequestId></Error>`;

/**
 * A loopback HTTP proxy in front of an S3 endpoint that fails a share of requests the way S3 and
 * networks do: 503 SlowDown, 500 InternalError, a connection dropped before any answer, or a body
 * cut off halfway. Deterministic (every n-th request), so a test's faults happen on every run.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const stats: FaultProxy['stats'] = {
    slowdown: 0,
    internal: 0,
    drop: 0,
    truncate: 0,
    denied: 0,
    expired: 0,
    changed: 0,
    forwarded: 0,
  };
  let every = 0;
  let faults: Fault[] = [];
  let match: (method: string, url: string) => boolean = () => true;
  let seen = 0;
  let nextFault = 0;
  let truncatePending = false;
  const listeners: ((method: string, url: string) => void)[] = [];
  let region: { name: string; answer: 'redirect' | 'malformed' } | undefined;
  let expiredToken: string | undefined;
  let listingPageSize: number | undefined;

  const server: Server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    for (const listener of listeners) listener(method, url);
    let fault: Fault | undefined;
    if (every > 0 && faults.length > 0 && match(method, url) && ++seen % every === 0) {
      fault = faults[nextFault++ % faults.length];
    }
    // A body cut off needs an answer with one: the fault waits for the next GET that has a body, so
    // it happens however the client orders its requests.
    if (fault === 'truncate') {
      truncatePending = true;
      fault = undefined;
    }
    if (expiredToken !== undefined && req.headers['x-amz-security-token'] === expiredToken) {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/xml' });
        res.end(method === 'HEAD' ? undefined : errorXml('ExpiredToken', 'The provided token has expired.'));
      });
      return;
    }
    const signedFor = /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\//.exec(req.headers.authorization ?? '')?.[1];
    if (region && signedFor && signedFor !== region.name) {
      req.resume();
      req.on('end', () => {
        const [status, code, message] =
          region?.answer === 'malformed'
            ? [
                400,
                'AuthorizationHeaderMalformed',
                `The authorization header is malformed; the region '${signedFor}' is wrong; expecting '${region.name}'`,
              ]
            : [
                301,
                'PermanentRedirect',
                'The bucket you are attempting to access must be addressed using the specified endpoint.',
              ];
        res.writeHead(status, {
          'content-type': 'application/xml',
          'x-amz-bucket-region': region?.name ?? '',
        });
        res.end(method === 'HEAD' ? undefined : errorXml(code, message));
      });
      return;
    }
    if (fault) stats[fault]++;
    if (fault === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault) {
      const [status, code] = ERRORS[fault];
      // Drain the body first, as S3 does, so the client sees the answer rather than a reset.
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(errorXml(code, `injected ${code}`));
      });
      return;
    }
    stats.forwarded++;
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method,
        path: url,
        headers: req.headers,
      },
      (answer) => {
        if (listingPageSize !== undefined && method === 'GET' && /[?&]list-type=2(&|$)/.test(url)) {
          const size = listingPageSize;
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            const body = cutListing(Buffer.concat(chunks).toString('utf8'), size);
            res.writeHead(answer.statusCode ?? 502, {
              ...answer.headers,
              'content-length': Buffer.byteLength(body),
            });
            res.end(body);
          });
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (truncatePending && method === 'GET' && Number(answer.headers['content-length'] ?? 0) > 1) {
          truncatePending = false;
          stats.truncate++;
          const length = Number(answer.headers['content-length'] ?? 0);
          let sent = 0;
          answer.on('data', (chunk: Buffer) => {
            const room = Math.floor(length / 2) - sent;
            if (room > 0) res.write(chunk.subarray(0, room));
            sent += chunk.length;
            if (sent >= length / 2) res.socket?.destroy();
          });
          return;
        }
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.socket?.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    configure(options) {
      every = options.every;
      faults = options.faults;
      match = options.match ?? (() => true);
      seen = 0;
      truncatePending = false;
    },
    expireSessionToken(token) {
      expiredToken = token;
    },
    bucketRegion(name, answer = 'redirect') {
      region = name === undefined ? undefined : { name, answer };
    },
    pageListingsWithoutToken(size) {
      listingPageSize = size;
    },
    onRequest(listener) {
      listeners.push(listener);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const unescapeXml = (text: string) =>
  text.replace(
    /&(lt|gt|quot|apos|amp);/g,
    (_, name: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[name] ?? '',
  );

/** A ListObjectsV2 answer keeping its first `size` entries in key order, marked truncated if any were cut. */
function cutListing(xml: string, size: number): string {
  const entries = [
    ...[...xml.matchAll(/<Contents>[\s\S]*?<\/Contents>/g)].map((m) => ({
      text: m[0],
      name: unescapeXml(/<Key>([\s\S]*?)<\/Key>/.exec(m[0])?.[1] ?? ''),
    })),
    ...[...xml.matchAll(/<CommonPrefixes>[\s\S]*?<\/CommonPrefixes>/g)].map((m) => ({
      text: m[0],
      name: unescapeXml(/<Prefix>([\s\S]*?)<\/Prefix>/.exec(m[0])?.[1] ?? ''),
    })),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (entries.length <= size) return xml;
  const kept = new Set(entries.slice(0, size).map((e) => e.text));
  return xml
    .replace(/<Contents>[\s\S]*?<\/Contents>|<CommonPrefixes>[\s\S]*?<\/CommonPrefixes>/g, (m) =>
      kept.has(m) ? m : '',
    )
    .replace(/<IsTruncated>false<\/IsTruncated>/, '<IsTruncated>true</IsTruncated>')
    .replace(/<NextContinuationToken>[\s\S]*?<\/NextContinuationToken>/, '')
    .replace(/<KeyCount>\d+<\/KeyCount>/, `<KeyCount>${size}</KeyCount>`);
}
