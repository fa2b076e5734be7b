import type { EventSourceLike } from '../../renderer/src/api/http-transport.ts';

/**
 * A minimal EventSource over fetch for Node 20, which has none built in: it reads a real SSE stream
 * (open on a 200, `data:` lines joined per event, error otherwise) without reconnecting.
 */
export function nodeEventSource(url: string): EventSourceLike {
  const controller = new AbortController();
  const source: EventSourceLike = {
    onopen: null,
    onmessage: null,
    onerror: null,
    close: () => controller.abort(),
  };
  const read = async () => {
    const response = await fetch(url, {
      signal: controller.signal,
      headers: { Accept: 'text/event-stream' },
    });
    if (!response.ok || !response.body) {
      source.onerror?.({ status: response.status });
      return;
    }
    source.onopen?.({});
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''))
          .join('\n');
        if (data) source.onmessage?.({ data });
      }
    }
  };
  read().catch((error: unknown) => {
    if (!controller.signal.aborted) source.onerror?.(error);
  });
  return source;
}
