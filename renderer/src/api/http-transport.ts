import { BINARY_REPLY_TYPE, decodeBinaryReply } from '../../../engine/api/binary-reply.ts';
import { ErrorPayload, type RpcResponse, type Transport } from '../../../engine/api/contract.ts';

/** The part of EventSource this transport uses; browsers have it built in, Node tests bring one. */
export interface EventSourceLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  close(): void;
}
export type EventSourceFactory = (url: string) => EventSourceLike;

export interface HttpTransportOptions {
  /** The server's origin, e.g. http://127.0.0.1:4173 (in the browser: location.origin). */
  origin: string;
  /** The per-launch session token (the `#token=` of the URL `lakehouse serve` prints). */
  token: string;
  fetch?: typeof fetch;
  eventSource?: EventSourceFactory;
}

/**
 * Browser mode: calls are `POST /rpc/<method>` with a Bearer token; events come over SSE from
 * `/events?token=` (EventSource cannot set headers). The stream opens on the first subscription.
 * Events sent while the stream is reconnecting are lost: after a `ready()` that follows an error, re-read
 * state (project.info carries the active run).
 */
export function createHttpTransport(options: HttpTransportOptions): Transport {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const makeEventSource =
    options.eventSource ??
    ((url: string): EventSourceLike => new EventSource(url) as unknown as EventSourceLike);
  const listeners = new Set<(event: unknown) => void>();
  let source: EventSourceLike | undefined;
  let opened: Promise<void> | undefined;

  const connect = (): Promise<void> => {
    if (opened) return opened;
    opened = new Promise<void>((resolveOpen, rejectOpen) => {
      const stream = makeEventSource(`${options.origin}/events?token=${encodeURIComponent(options.token)}`);
      source = stream;
      let isOpen = false;
      stream.onopen = () => {
        isOpen = true;
        resolveOpen();
      };
      stream.onerror = () => {
        // Before the first open this is a refusal (a wrong token, no server): report it.
        if (!isOpen) {
          stream.close();
          source = undefined;
          opened = undefined;
          rejectOpen(new Error(`Cannot open the event stream at ${options.origin}/events`));
        }
      };
      stream.onmessage = (message) => {
        let event: unknown;
        try {
          event = JSON.parse(message.data);
        } catch {
          return;
        }
        for (const listener of [...listeners]) listener(event);
      };
    });
    return opened;
  };

  return {
    async invoke(method, input) {
      const response = await doFetch(`${options.origin}/rpc/${encodeURIComponent(method)}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${options.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(input ?? {}),
      });
      if (response.ok && response.headers.get('Content-Type') === BINARY_REPLY_TYPE) {
        return { ok: true, value: decodeBinaryReply(await response.arrayBuffer()) } satisfies RpcResponse;
      }
      const text = await response.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = undefined;
      }
      if (response.ok) return { ok: true, value: body } satisfies RpcResponse;
      const error = ErrorPayload.safeParse(body);
      return {
        ok: false,
        error: error.success
          ? error.data
          : {
              code: 'INTERNAL',
              message: `HTTP ${response.status} from ${method}`,
              details: { status: response.status },
            },
      } satisfies RpcResponse;
    },
    subscribe(listener) {
      listeners.add(listener);
      connect().catch(() => undefined);
      return () => {
        listeners.delete(listener);
      };
    },
    ready: connect,
    close() {
      listeners.clear();
      source?.close();
      source = undefined;
      opened = undefined;
    },
  };
}

/**
 * The session token in a browser: taken from the page URL's `#token=` fragment on first load (and then
 * removed from the address bar), kept in sessionStorage so a reload of the tab still works.
 */
export function launchToken(
  win: Pick<Window, 'location' | 'history' | 'sessionStorage'> = window,
): string | null {
  const key = 'lakehouse.token';
  const fromHash = new URLSearchParams(win.location.hash.replace(/^#/, '')).get('token');
  if (fromHash) {
    win.sessionStorage.setItem(key, fromHash);
    win.history.replaceState(null, '', win.location.pathname + win.location.search);
    return fromHash;
  }
  return win.sessionStorage.getItem(key);
}
