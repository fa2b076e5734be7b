import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from '../engine/api/dispatcher.ts';

const HEARTBEAT_MS = 15_000;

export interface EventStreams {
  /** Turns the response into a Server-Sent Events stream of every dispatcher event until either side closes. */
  open(request: IncomingMessage, response: ServerResponse): void;
  /** Ends every open stream (server shutdown). */
  closeAll(): void;
}

/**
 * Server-Sent Events: one `data:` line of JSON per event, numbered by `id:`. Subscribing happens before
 * the headers go out, so a client whose EventSource reports `open` misses no event after it.
 */
export function createEventStreams(dispatcher: Dispatcher): EventStreams {
  const open = new Set<ServerResponse>();
  let sequence = 0;
  return {
    open(request, response) {
      const write = (chunk: string) => {
        if (!response.writableEnded && !response.destroyed) response.write(chunk);
      };
      const unsubscribe = dispatcher.subscribe((event) => {
        let data: string;
        try {
          data = JSON.stringify(event);
        } catch {
          return; // not JSON-safe: the dispatcher validates events, so this is a bug elsewhere
        }
        sequence++;
        write(`id: ${sequence}\ndata: ${data}\n\n`);
      });
      response.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Content-Type-Options': 'nosniff',
      });
      // The retry hint and a first comment flush the headers, which fires the client's `open`.
      write('retry: 2000\n: connected\n\n');
      const heartbeat = setInterval(() => write(': ping\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      open.add(response);
      const cleanup = () => {
        clearInterval(heartbeat);
        unsubscribe();
        open.delete(response);
      };
      request.on('close', cleanup);
      response.on('close', cleanup);
    },
    closeAll() {
      for (const response of open) response.end();
      open.clear();
    },
  };
}
