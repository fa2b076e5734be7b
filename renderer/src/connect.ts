import { type Client, createClient } from './api/client.ts';
import { createHttpTransport, launchToken } from './api/http-transport.ts';
import { createIpcTransport } from './api/ipc-transport.ts';

/** The desktop app's bridge when the preload set one; otherwise browser mode against this page's origin. */
export function connectClient(): Client {
  if (window.lakehouse) return createClient(createIpcTransport(window.lakehouse));
  return createClient(createHttpTransport({ origin: location.origin, token: launchToken() ?? '' }));
}

/** An engine error as the UI shows it: `code: message`. */
export function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && 'message' in error) {
    return `${String(error.code)}: ${String(error.message)}`;
  }
  return error instanceof Error ? error.message : String(error);
}
