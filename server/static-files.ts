import { readFile, realpath, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { CONTENT_SECURITY_POLICY } from '../electron/security.ts';

/** The same policy as the desktop window: only the app's own bundle, no remote code, no eval. */
export const BROWSER_CSP = CONTENT_SECURITY_POLICY;

/** Headers on every static response: the CSP, and no sniffing, framing or referrer leaks. */
export const STATIC_HEADERS: Record<string, string> = {
  'Content-Security-Policy': BROWSER_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Lakehouse Explorer</title>
<p>The user interface is not built yet. Run <code>npm run build</code>, then reload this page.</p>`;

/**
 * Serves a file of the built renderer, never anything outside `root` (paths are resolved and checked,
 * encoded dots, NULs and symlinks included). Returns false when there is no such file, so the caller sends 404.
 */
export async function serveStatic(
  root: string,
  pathname: string,
  response: ServerResponse,
  headOnly: boolean,
): Promise<boolean> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  if (decoded.includes('\0')) return false;
  const base = resolve(root);
  const relative = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  const file = resolve(join(base, relative));
  if (!file.startsWith(base + sep)) return false;
  let body: Buffer;
  try {
    if (!(await stat(file)).isFile()) return false;
    // Where it really is: a symlink in the folder would otherwise serve whatever it points to (the
    // server answers files without the token, to any local user).
    const real = await realpath(file);
    if (!real.startsWith((await realpath(base)) + sep)) return false;
    body = await readFile(real);
  } catch {
    if (relative !== 'index.html') return false;
    response.writeHead(503, { ...STATIC_HEADERS, 'Content-Type': CONTENT_TYPES['.html'] });
    response.end(headOnly ? undefined : NOT_BUILT);
    return true;
  }
  response.writeHead(200, {
    ...STATIC_HEADERS,
    'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': String(body.length),
  });
  response.end(headOnly ? undefined : body);
  return true;
}
