import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A fresh random token per launch: whoever holds it (the URL the server prints) may call the engine. */
export function createSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares in constant time (hashing first makes the lengths equal). */
export function tokenMatches(expected: string, given: string | undefined | null): boolean {
  if (!given) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

/**
 * The token a request carries: `Authorization: Bearer <token>`, or, where the client cannot set headers
 * (EventSource), the `token` query parameter when `allowQuery` is set.
 */
export function requestToken(request: IncomingMessage, url: URL, allowQuery: boolean): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (match) return match[1];
  return allowQuery ? (url.searchParams.get('token') ?? undefined) : undefined;
}
